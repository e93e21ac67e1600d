"""The JSON report: the stable contract of a run (docs/report-json.md), written atomically.

Computed from a RunResult alone, so every front end (CLI, pytest plugin, API) writes the same file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from labkit.osutil import set_mode
from labkit.results import Cell, RunResult

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
    matrices = [
        {
            "step": m.step,
            "ok": m.ok,
            "sources": list(m.sources),
            "targets": list(m.targets),
            "cells": [_cell_json(c) for c in m.cells],
        }
        for m in run.matrices
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
        "matrices": matrices,
        "summary": summary,
    }


def _write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write through a temp file in the same directory, then os.replace: readers never see half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            set_mode(f.fileno(), tmp, 0o644)  # mkstemp makes 0600; a report is meant to be read
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(run: RunResult, path: str | os.PathLike[str]) -> None:
    _write_atomic(path, json.dumps(to_json(run), indent=2, ensure_ascii=False) + "\n")


