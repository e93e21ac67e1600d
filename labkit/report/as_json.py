"""The JSON report: the stable contract of a run (docs/report-json.md), written atomically.

Computed from a RunResult alone, so every front end (CLI, pytest plugin, API) writes the same file.
`write_json` streams the document to disk, cell by cell, as the very text `json.dumps(to_json(run),
indent=2)` would be: a million-cell matrix's report as one in-memory document would take more
memory than the run itself (a dict per cell, then the whole text).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from labkit.osutil import set_mode
from labkit.results import Cell, Observation, RunResult

SCHEMA = "labkit-report/1"
# /2 adds one value to a cell's `expected` and `observed`: "no_address". A report says /2 only when
# a cell uses it, so every report that /1 readers can read still says /1 (docs/report-json.md).
SCHEMA_NO_ADDRESS = "labkit-report/2"
# /3 adds a cell's `conflict` (an address held twice, rule 10), which also makes a cell without an
# expectation ok whatever it observed, and the summary's `conflict_cells`. Said only when a cell has one.
SCHEMA_CONFLICT = "labkit-report/3"


def schema_of(run: RunResult) -> str:
    """The oldest schema the report satisfies."""
    schema = SCHEMA
    for m in run.matrices:
        for c in m.cells:
            if c.conflict is not None:
                return SCHEMA_CONFLICT
            if c.expected == "no_address" or c.observed.verdict == "no_address":
                schema = SCHEMA_NO_ADDRESS
    return schema


def _cell_json(cell: Cell) -> dict[str, Any]:
    obs = cell.observed
    out: dict[str, Any] = {
        "source": cell.source,
        "target": cell.target,
        "address": cell.address,
        "expected": cell.expected,
        "observed": obs.verdict,
        "ok": cell.ok,
        "loss_pct": obs.loss_pct,
        "rtt_avg_ms": obs.rtt_avg_ms,
        "reason": obs.reason,
        "via": obs.via,
        "expected_reason": cell.expected_reason,
    }
    if cell.conflict is not None:  # absent when there is none: /1 and /2 reports stay as they were
        c = cell.conflict
        out["conflict"] = {"address": c.address, "holders": list(c.holders), "segment": c.segment}
    return out


def to_json(run: RunResult) -> dict[str, Any]:
    """The report as plain data, in the documented key order (see docs/report-json.md)."""
    doc = to_json_summary(run)
    doc["matrices"] = [
        {
            "step": m.step,
            "ok": m.ok,
            "sources": list(m.sources),
            "targets": list(m.targets),
            "cells": [_cell_json(c) for c in m.cells],
        }
        for m in run.matrices
    ]
    doc["summary"] = doc.pop("summary")  # after "matrices", as documented
    return doc


def to_json_summary(run: RunResult) -> dict[str, Any]:
    """Every part of the report but the matrices (whose place it leaves out), in the documented order."""
    steps = [
        {
            "name": s.name,
            "kind": s.kind,
            "ok": s.ok,
            "error": s.error,
            "vms": {vm: {"ok": r.ok, "error": r.error, "detail": r.detail} for vm, r in s.vms.items()},
        }
        for s in run.steps
    ]
    summary = {
        "cells": sum(len(m.cells) for m in run.matrices),
        "failed_cells": sum(len(m.failed_cells()) for m in run.matrices),
        "failed_steps": sum(1 for s in run.steps if not s.ok),
    }
    schema = schema_of(run)
    if schema == SCHEMA_CONFLICT:
        summary["conflict_cells"] = sum(len(m.conflict_cells()) for m in run.matrices)
    return {
        "schema": schema,
        "playbook": run.playbook,
        "backend": run.backend,
        "ok": run.ok,
        "steps": steps,
        "summary": summary,
    }


def write_atomic(path: str | os.PathLike[str], text: str | Iterable[str]) -> None:
    """Write through a temp file in the same directory, then os.replace: readers never see half.
    `text` may come in pieces, written as they come."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace", newline="\n", buffering=1 << 20) as f:
            set_mode(f.fileno(), tmp, 0o644)  # mkstemp makes 0600; a report is meant to be read
            if isinstance(text, str):
                f.write(text)
            else:
                for piece in text:
                    f.write(piece)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(run: RunResult, path: str | os.PathLike[str]) -> None:
    write_atomic(path, json_text(run))


def _dumps(value: object, depth: int) -> str:
    """`value` as json.dumps(indent=2) writes it `depth` levels down in a document."""
    return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + "  " * depth)


class _CellText:
    """A cell as json.dumps(indent=2) writes it four levels down (a matrix's "cells"), made from
    pieces kept per distinct value: a million cells share a few thousand strings and observations."""

    def __init__(self) -> None:
        self._strings: dict[str | None, str] = {}
        self._seen: dict[tuple[int, bool], tuple[Observation, str]] = {}

    def string(self, value: str | None) -> str:
        done = self._strings.get(value)
        if done is None:
            done = self._strings[value] = json.dumps(value, ensure_ascii=False)
        return done

    def observed(self, obs: Observation, ok: bool) -> str:
        """The lines from "observed" to "via" (the same for every cell with this observation)."""
        hit = self._seen.get((id(obs), ok))
        if hit is None:
            pad = " " * 10
            text = (f'{pad}"observed": {self.string(obs.verdict)},\n{pad}"ok": {"true" if ok else "false"},\n'
                    f'{pad}"loss_pct": {json.dumps(obs.loss_pct)},\n{pad}"rtt_avg_ms": {json.dumps(obs.rtt_avg_ms)},\n'
                    f'{pad}"reason": {self.string(obs.reason)},\n{pad}"via": {self.string(obs.via)},\n')
            hit = self._seen[(id(obs), ok)] = (obs, text)
        return hit[1]

    def __call__(self, c: Cell) -> str:
        if c.conflict is not None:
            return "        " + _dumps(_cell_json(c), 4)
        s = self.string
        return (f'        {{\n          "source": {s(c.source)},\n          "target": {s(c.target)},\n'
                f'          "address": {s(c.address)},\n          "expected": {s(c.expected)},\n'
                f'{self.observed(c.observed, c.ok)}          "expected_reason": {s(c.expected_reason)}\n        }}')


def json_text(run: RunResult) -> Iterator[str]:
    """The report's text in pieces: exactly json.dumps(to_json(run), indent=2) + a newline."""
    doc = to_json_summary(run)
    yield "{\n"
    for key in ("schema", "playbook", "backend", "ok", "steps"):
        yield f'  {json.dumps(key)}: {_dumps(doc[key], 1)},\n'
    if not run.matrices:
        yield '  "matrices": [],\n'
    else:
        yield '  "matrices": [\n'
        cell_text = _CellText()
        for n, m in enumerate(run.matrices):
            head = {"step": m.step, "ok": m.ok, "sources": list(m.sources), "targets": list(m.targets)}
            yield "    {\n"
            for key, value in head.items():
                yield f'      {json.dumps(key)}: {_dumps(value, 3)},\n'
            if not m.cells:
                yield '      "cells": []\n'
            else:
                yield '      "cells": [\n'
                batch: list[str] = []
                for c in m.cells:
                    batch.append(cell_text(c))
                    if len(batch) >= 4096:
                        yield ",\n".join(batch) + ",\n"
                        batch.clear()
                yield ",\n".join(batch) + "\n      ]\n"
            yield "    }" + (",\n" if n < len(run.matrices) - 1 else "\n")
        yield "  ],\n"
    yield f'  "summary": {_dumps(doc["summary"], 1)}\n}}\n'


