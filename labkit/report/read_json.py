"""A JSON report read back into a RunResult, for `labkit diff` and `labkit report`.

The file is another program's output as far as labkit knows (an older labkit, a CI artefact, a
hand edit), so it is checked against the contract in docs/report-json.md before it is used: a bad
file is an InputError naming the file, the line for a JSON syntax error, and the field
(`matrices[0].cells[3].observed`), never a KeyError half way through a diff. Only what the
readers here need is required; unknown keys are ignored, as the contract asks of every reader.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

from labkit.errors import InputError
from labkit.report.as_json import SCHEMA, SCHEMA_CONFLICT, SCHEMA_NO_ADDRESS
from labkit.results import (
    AddressConflict,
    Cell,
    Expectation,
    MatrixResult,
    Observation,
    RunResult,
    StepResult,
    Verdict,
    VMResult,
)

SCHEMAS = (SCHEMA, SCHEMA_NO_ADDRESS, SCHEMA_CONFLICT)
_VERDICTS: tuple[str, ...] = get_args(Verdict)
_EXPECTATIONS: tuple[str, ...] = get_args(Expectation)


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file

    def error(self, where: str, message: str) -> InputError:
        return InputError(message, file=self.file, field=where or None)

    def get(self, obj: dict[str, Any], key: str, where: str, kind: type | tuple[type, ...],
            optional: bool = False) -> Any:
        path = f"{where}.{key}" if where else key
        if key not in obj:
            if optional:
                return None
            raise self.error(path, "missing")
        value = obj[key]
        if value is None and optional:
            return None
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
            raise self.error(path, f"{_shape(value)}, but {_names(kind)} is expected")
        return value

    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(where, f"{_shape(value)}, but an object is expected")
        return value

    def strings(self, obj: dict[str, Any], key: str, where: str) -> list[str]:
        items = self.get(obj, key, where, list)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise self.error(f"{where}.{key}[{i}]", f"{_shape(item)}, but a string is expected")
        return items

    def choice(self, obj: dict[str, Any], key: str, where: str, allowed: tuple[str, ...],
               optional: bool = False) -> Any:
        value = self.get(obj, key, where, str, optional)
        if value is not None and value not in allowed:
            raise self.error(f"{where}.{key}", f"{value!r} is not one of {', '.join(allowed)}")
        return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _names(kind: type | tuple[type, ...]) -> str:
    words = {str: "a string", int: "a number", float: "a number", bool: "true or false", list: "an array",
             dict: "an object"}
    return " or ".join(dict.fromkeys(words[k] for k in _as_tuple(kind)))


def _shape(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    for kind, word in ((str, "a string"), ((int, float), "a number"), (list, "an array"), (dict, "an object")):
        if isinstance(value, kind):
            return word
    return type(value).__name__


def _cell(r: _Reader, data: Any, where: str) -> Cell:
    c = r.mapping(data, where)
    conflict = None
    raw = r.get(c, "conflict", where, dict, optional=True)
    if raw is not None:
        holders = r.strings(raw, "holders", f"{where}.conflict")
        conflict = AddressConflict(r.get(raw, "address", f"{where}.conflict", str), tuple(holders),
                                   r.get(raw, "segment", f"{where}.conflict", str, optional=True))
    observed = Observation(
        r.choice(c, "observed", where, _VERDICTS),
        loss_pct=r.get(c, "loss_pct", where, (int, float), optional=True),
        rtt_avg_ms=r.get(c, "rtt_avg_ms", where, (int, float), optional=True),
        reason=r.get(c, "reason", where, str, optional=True),
        via=r.get(c, "via", where, str, optional=True))
    return Cell(r.get(c, "source", where, str), r.get(c, "target", where, str),
                r.get(c, "address", where, str, optional=True),
                r.choice(c, "expected", where, _EXPECTATIONS, optional=True), observed,
                expected_reason=r.get(c, "expected_reason", where, str, optional=True), conflict=conflict)


def _step(r: _Reader, data: Any, where: str) -> StepResult:
    s = r.mapping(data, where)
    vms = {}
    for vm, raw in (r.get(s, "vms", where, dict, optional=True) or {}).items():
        v = r.mapping(raw, f"{where}.vms.{vm}")
        vms[vm] = VMResult(r.get(v, "ok", f"{where}.vms.{vm}", bool),
                           r.get(v, "error", f"{where}.vms.{vm}", str, optional=True),
                           r.get(v, "detail", f"{where}.vms.{vm}", str, optional=True))
    return StepResult(r.get(s, "name", where, str), r.get(s, "kind", where, str), vms=vms,
                      error=r.get(s, "error", where, str, optional=True))


def report_from_data(data: Any, file: str = "<data>") -> RunResult:
    """A RunResult from a report's parsed JSON (InputError naming `file` and the field when it is
    not a labkit report). Each matrix is attached to the step of its name."""
    r = _Reader(file)
    top = r.mapping(data, "")
    schema = top.get("schema")
    if schema == "labkit-plan/1":
        raise r.error("schema", "this is a plan (labkit run --check), not a report of a run")
    if schema not in SCHEMAS:
        known = ", ".join(SCHEMAS)
        raise r.error("schema", f"{schema!r} is not a labkit report schema (known: {known})" if "schema" in top
                      else f"missing: not a labkit report (its schema is one of {known})")
    steps = [_step(r, s, f"steps[{i}]") for i, s in enumerate(r.get(top, "steps", "", list))]
    by_name = {s.name: s for s in steps}
    for i, raw in enumerate(r.get(top, "matrices", "", list)):
        where = f"matrices[{i}]"
        m = r.mapping(raw, where)
        cells = [_cell(r, c, f"{where}.cells[{j}]") for j, c in enumerate(r.get(m, "cells", where, list))]
        matrix = MatrixResult(r.get(m, "step", where, str), r.strings(m, "sources", where),
                              r.strings(m, "targets", where), cells)
        step = by_name.get(matrix.step)
        if step is None:
            step = StepResult(matrix.step, "ping_matrix")
            steps.append(step)
        step.matrix = matrix
    return RunResult(r.get(top, "playbook", "", str), r.get(top, "backend", "", str), steps)


def read_report(path: str | Path) -> RunResult:
    """The report in the JSON file at `path` (InputError naming the file, and the line or field)."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", file=name) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a report", file=name) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read it: {exc}", file=name) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc.msg} (column {exc.colno})", file=name, line=exc.lineno) from None
    return report_from_data(data, name)
