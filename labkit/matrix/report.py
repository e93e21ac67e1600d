"""Reports of a run: the JSON contract (docs/report-json.md), JUnit XML, and the terminal view.

All three are computed from a RunResult alone. Terminal output uses colour only (never bold or
italic), so a console with colour turned off (NO_COLOR, not a TTY) prints plain text; the words
and glyphs carry the meaning on their own.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from labkit.matrix.result import Cell, MatrixResult, RunResult, StepResult

SCHEMA = "labkit-report/1"

# --- JSON -------------------------------------------------------------------------------------


def _cell_json(cell: Cell) -> dict[str, Any]:
    obs = cell.observed
    return {
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
    return {
        "schema": SCHEMA,
        "playbook": run.playbook,
        "backend": run.backend,
        "ok": run.ok,
        "steps": steps,
        "matrices": matrices,
        "summary": {
            "cells": sum(len(m.cells) for m in run.matrices),
            "failed_cells": sum(len(m.failed_cells()) for m in run.matrices),
            "failed_steps": sum(1 for s in run.steps if not s.ok),
        },
    }


def _write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write through a temp file in the same directory, then os.replace: readers never see half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            os.fchmod(f.fileno(), 0o644)  # mkstemp makes 0600; a report is meant to be read
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


# --- JUnit ------------------------------------------------------------------------------------


def cell_message(cell: Cell) -> str:
    """'expected reachable, observed unreachable: <reason>' (expected 'nothing' when None)."""
    msg = f"expected {cell.expected or 'nothing'}, observed {cell.observed.verdict}"
    return f"{msg}: {cell.observed.reason}" if cell.observed.reason else msg


def _cell_detail(cell: Cell) -> str:
    obs = cell.observed
    parts = [f"address: {cell.address or '-'}", f"via: {obs.via or '-'}"]
    if obs.loss_pct is not None:
        parts.append(f"loss: {obs.loss_pct:g}%")
    if obs.rtt_avg_ms is not None:
        parts.append(f"rtt avg: {obs.rtt_avg_ms:g} ms")
    if cell.expected_reason:
        parts.append(f"expected because: {cell.expected_reason}")
    return "\n".join(parts)


def _case(suite: ET.Element, classname: str, name: str, kind: str | None, message: str, text: str) -> None:
    case = ET.SubElement(suite, "testcase", classname=classname, name=name)
    if kind is not None:
        ET.SubElement(case, kind, message=message).text = text or None


def _suite(parent: ET.Element, run: RunResult, step: StepResult) -> ET.Element:
    suite = ET.SubElement(parent, "testsuite", name=step.name)
    classname = f"labkit.{run.playbook}.{step.name}"
    if step.error:  # the step failed as a whole: without this case JUnit would call it passed
        _case(suite, classname, step.name, "error", step.error, step.error)
    # VM cases for every step (spec: non-matrix steps) so a VM failure inside a matrix step is not lost.
    for vm, r in step.vms.items():
        _case(suite, classname, vm, None if r.ok else "failure", r.error or "failed", r.detail or "")
    if step.matrix is not None:
        for c in step.matrix.cells:
            kind = None if c.ok else ("error" if c.observed.verdict == "error" else "failure")
            _case(suite, classname, f"{c.source} -> {c.target}", kind, cell_message(c), _cell_detail(c))
    return suite


def _count(elem: ET.Element, cases: list[ET.Element]) -> tuple[int, int, int]:
    tests = len(cases)
    failures = sum(1 for c in cases if c.find("failure") is not None)
    errors = sum(1 for c in cases if c.find("error") is not None)
    elem.set("tests", str(tests))
    elem.set("failures", str(failures))
    elem.set("errors", str(errors))
    return tests, failures, errors


def to_junit(run: RunResult) -> str:
    root = ET.Element("testsuites", name=f"labkit.{run.playbook}")
    for step in run.steps:
        suite = _suite(root, run, step)
        _count(suite, suite.findall("testcase"))
    _count(root, root.findall("testsuite/testcase"))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(run: RunResult, path: str | os.PathLike[str]) -> None:
    _write_atomic(path, to_junit(run))


# --- terminal ---------------------------------------------------------------------------------

_WORD = {"reachable": "● reach", "unreachable": "○ unreach", "error": "! error"}
_SHORT = {"reachable": "reach", "unreachable": "unreach"}


def make_console(file: IO[str] | None = None) -> Console:
    """A Console that keeps Rich's own colour rules (NO_COLOR, TTY detection, FORCE_COLOR).

    When the output is not a terminal, the width is at least 120 so a 6x6 matrix does not wrap.
    """
    console = Console(file=file)
    if not console.is_terminal:
        console = Console(file=file, width=max(shutil.get_terminal_size().columns, 120))
    return console


def _cell_text(cell: Cell | None) -> Text:
    if cell is None:
        return Text("·")
    text = _WORD[cell.observed.verdict]
    if not cell.ok:
        if cell.expected is not None:
            text += f" (want {_SHORT[cell.expected]})"
        return Text(text, style="red")
    return Text(text, style="green" if cell.expected is not None else "")


def render_matrix(matrix: MatrixResult, console: Console) -> None:
    """Sources as rows, targets as columns; then the failing cells with address and reason."""
    by_pair = {(c.source, c.target): c for c in matrix.cells}
    table = Table(title=Text(matrix.step), title_style="", header_style="")
    table.add_column(Text("from \\ to"))
    for target in matrix.targets:
        table.add_column(Text(target))
    for source in matrix.sources:
        table.add_row(Text(source), *(_cell_text(by_pair.get((source, t))) for t in matrix.targets))
    console.print(table)
    for c in matrix.failed_cells():
        line = f"  ✗ {c.source} -> {c.target} ({c.address or 'no address'}): {cell_message(c)}"
        console.print(Text(line, style="red"), highlight=False)


def render_run(run: RunResult, console: Console) -> None:
    """One line per step (with per-VM failures under it), each matrix, then a summary line."""
    console.print(Text(f"{run.playbook} on {run.backend}"), highlight=False)
    for step in run.steps:
        mark, style = ("✓", "green") if step.ok else ("✗", "red")
        console.print(Text(f"{mark} {step.kind} {step.name}", style=style), highlight=False)
        if step.error:
            console.print(Text(f"    step: {step.error}", style="red"), highlight=False)
        for vm, r in step.vms.items():
            if not r.ok:
                console.print(Text(f"    {vm}: {r.error or 'failed'}", style="red"), highlight=False)
            elif r.detail:
                console.print(Text(f"    {vm}: {r.detail}"), highlight=False)
        if step.matrix is not None:
            render_matrix(step.matrix, console)
    data = to_json(run)["summary"]
    summary = (
        f"{len(run.steps)} steps, {data['failed_steps']} failed; "
        f"{data['cells']} cells, {data['failed_cells']} failed"
    )
    console.print(Text(summary, style="green" if run.ok else "red"), highlight=False)
