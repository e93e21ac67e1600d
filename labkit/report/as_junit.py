"""JUnit XML of a run: one suite per step, one case per VM and per matrix cell, for CI dashboards.

A cell caught in an address conflict that nobody stated an expectation for is a skipped case with
the conflict as its reason: the model will not guess it, and it is not a failure either.

Names, reasons and guest output may hold characters XML 1.0 cannot carry at all (NUL, ESC and the
other C0 controls but tab, newline and CR; lone surrogates; U+FFFE, U+FFFF): one of them makes the
whole file unreadable to a CI server. They, and what a CI page should not be handed raw (DEL, C1
controls, bidi overrides), are written as their Python escapes (`\\x1b`), so the text still says what
the guest printed.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET

from labkit.report.as_json import write_atomic
from labkit.results import Cell, RunResult, StepResult



def cell_message(cell: Cell) -> str:
    """'expected reachable, observed unreachable: <reason>' (expected 'nothing' when None), after
    'address conflict: <address> is held by <holders>; ' for a conflict cell."""
    msg = f"expected {cell.expected or 'nothing'}, observed {cell.observed.verdict}"
    msg = f"{msg}: {cell.observed.reason}" if cell.observed.reason else msg
    return f"address conflict: {cell.conflict}; {msg}" if cell.conflict is not None else msg


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
            if c.unjudged_conflict:
                kind: str | None = "skipped"
            else:
                kind = None if c.ok else ("error" if c.observed.verdict == "error" else "failure")
            _case(suite, classname, f"{c.source} -> {c.target}", kind, cell_message(c), _cell_detail(c))
    return suite


def _count(elem: ET.Element, cases: list[ET.Element]) -> tuple[int, int, int]:
    tests = len(cases)
    failures = sum(1 for c in cases if c.find("failure") is not None)
    errors = sum(1 for c in cases if c.find("error") is not None)
    skipped = sum(1 for c in cases if c.find("skipped") is not None)
    elem.set("tests", str(tests))
    elem.set("failures", str(failures))
    elem.set("errors", str(errors))
    if skipped:  # only then: reports without a conflict stay as they were
        elem.set("skipped", str(skipped))
    return tests, failures, errors


def to_junit(run: RunResult) -> str:
    root = ET.Element("testsuites", name=f"labkit.{run.playbook}")
    for step in run.steps:
        suite = _suite(root, run, step)
        _count(suite, suite.findall("testcase"))
    _count(root, root.findall("testsuite/testcase"))
    ET.indent(root)
    return xml_safe('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n")


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u202a-\u202e\u2066-\u2069]")


def xml_safe(text: str) -> str:
    """`text` with every character XML 1.0 cannot carry (or a CI page should not show raw) escaped."""
    return _NOT_XML.sub(lambda m: repr(m.group())[1:-1], text)


def write_junit(run: RunResult, path: str | os.PathLike[str]) -> None:
    write_atomic(path, to_junit(run))


