"""Reports: JSON contract, JUnit XML and terminal output, against golden files and by behaviour.

Golden files live in tests/report/golden/. After an intended change of output, regenerate them with
    LABKIT_UPDATE_GOLDEN=1 .venv/bin/pytest tests/report/test_reports.py
then review the diff of the golden files before committing.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from labkit.report.as_json import SCHEMA, SCHEMA_CONFLICT, SCHEMA_NO_ADDRESS, to_json, write_json
from labkit.report.as_junit import to_junit, write_junit
from labkit.report.terminal import make_console, render_run
from labkit.results import (
    AddressConflict,
    Cell,
    MatrixResult,
    Observation,
    RunResult,
    StepResult,
    VMResult,
)

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("LABKIT_UPDATE_GOLDEN") == "1"


def reach(loss: float = 0.0, rtt: float = 0.4) -> Observation:
    return Observation("reachable", loss_pct=loss, rtt_avg_ms=rtt, via="sim")


def make_run() -> RunResult:
    unreach = Observation("unreachable", loss_pct=100.0, reason="100% packet loss", via="sim")
    error = Observation("error", reason="could not connect", via="ssh")
    cells = [
        Cell("a", "b", "10.0.0.2", "reachable", reach()),
        Cell("a", "c", "10.0.1.3", "unreachable", unreach, expected_reason="c is host-only"),
        Cell("b", "a", "10.0.0.1", "reachable", reach(rtt=0.5)),
        Cell("b", "c", "10.0.1.3", "reachable", unreach, expected_reason="b routes to c"),  # mismatch
        Cell("c", "a", "10.0.1.1", "unreachable", error),
        Cell("c", "b", None, None, reach(rtt=1.25)),  # no expectation
    ]
    matrix = MatrixResult("ping", ["a", "b", "c"], ["a", "b", "c"], cells)
    return RunResult(
        playbook="lab1",
        backend="sim",
        steps=[
            StepResult(
                "modes",
                "set_mode",
                vms={"a": VMResult(True, detail="changed"), "b": VMResult(False, error="task failed: busy")},
            ),
            StepResult("ping", "ping_matrix", matrix=matrix),
        ],
    )


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == actual


def plain_output(run: RunResult) -> str:
    console = Console(file=StringIO(), width=120, color_system=None, force_terminal=False)
    render_run(run, console)
    return console.file.getvalue()


# --- golden -----------------------------------------------------------------------------------


def test_json_golden(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    write_json(make_run(), out)
    check_golden("report.json", out.read_text(encoding="utf-8"))
    assert to_json(make_run()) == json.loads((GOLDEN / "report.json").read_text(encoding="utf-8"))


def test_junit_golden(tmp_path: Path) -> None:
    out = tmp_path / "junit.xml"
    write_junit(make_run(), out)
    assert out.read_text(encoding="utf-8") == to_junit(make_run())
    check_golden("junit.xml", to_junit(make_run()))


def test_terminal_golden() -> None:
    # Rich pads centred titles with spaces; strip them so an editor's whitespace cleanup is harmless.
    text = "".join(line.rstrip() + "\n" for line in plain_output(make_run()).splitlines())
    check_golden("terminal.txt", text)


# --- behaviour --------------------------------------------------------------------------------


def test_json_contract() -> None:
    data = to_json(make_run())
    assert list(data) == ["schema", "playbook", "backend", "ok", "steps", "matrices", "summary"]
    assert data["schema"] == SCHEMA
    for step in data["steps"]:
        assert list(step) == ["name", "kind", "ok", "error", "vms"]
        for vm in step["vms"].values():
            assert list(vm) == ["ok", "error", "detail"]
    cell_keys = ["source", "target", "address", "expected", "observed", "ok", "loss_pct", "rtt_avg_ms",
                 "reason", "via", "expected_reason"]  # fmt: skip
    for m in data["matrices"]:
        assert list(m) == ["step", "ok", "sources", "targets", "cells"]
        for c in m["cells"]:
            assert list(c) == cell_keys
            assert c["expected"] in ("reachable", "unreachable", None)
            assert c["observed"] in ("reachable", "unreachable", "error")
            assert isinstance(c["ok"], bool)
    assert data["summary"] == {"cells": 6, "failed_cells": 2, "failed_steps": 2}
    error_cell = data["matrices"][0]["cells"][4]
    assert error_cell["observed"] == "error" and error_cell["reason"] == "could not connect"


def test_ok_false_when_any_cell_fails() -> None:
    run = make_run()
    run.steps[0].vms["b"] = VMResult(True)
    assert not to_json(run)["ok"] and not to_json(run)["matrices"][0]["ok"]
    run.steps[1].matrix.cells[:] = [c for c in run.steps[1].matrix.cells if c.ok]
    assert to_json(run)["ok"] and to_json(run)["summary"]["failed_cells"] == 0


def test_junit_counts_error_cells_as_errors() -> None:
    root = ET.fromstring(to_junit(make_run()).encode())
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("8", "2", "1")
    modes, ping = root.findall("testsuite")
    assert modes.get("name") == "modes"
    assert (modes.get("tests"), modes.get("failures"), modes.get("errors")) == ("2", "1", "0")
    assert (ping.get("tests"), ping.get("failures"), ping.get("errors")) == ("6", "1", "1")
    by_name = {c.get("name"): c for c in ping.findall("testcase")}
    assert by_name["c -> a"].find("failure") is None
    error = by_name["c -> a"].find("error")
    assert error.get("message") == "expected unreachable, observed error: could not connect"
    assert by_name["b -> c"].find("failure").get("message") == (
        "expected reachable, observed unreachable: 100% packet loss"
    )
    assert by_name["a -> b"].get("classname") == "labkit.lab1.ping"
    assert modes.find("testcase[@name='b']/failure").get("message") == "task failed: busy"


def test_step_error_is_reported_in_junit() -> None:
    run = RunResult("lab1", "sim", [StepResult("up", "power", error="vmrun not found")])
    root = ET.fromstring(to_junit(run).encode())
    assert root.get("errors") == "1" and root.find("testsuite/testcase/error") is not None


def test_no_color_env_gives_no_ansi(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    console = Console(file=StringIO(), width=120, force_terminal=True)
    render_run(make_run(), console)
    assert "\x1b[" not in console.file.getvalue()
    assert console.file.getvalue() == plain_output(make_run())


def test_colour_marks_failures_when_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    console = Console(file=StringIO(), width=120, force_terminal=True, color_system="standard")
    render_run(make_run(), console)
    assert re.search(r"\x1b\[31m[^\x1b]*unreach \(want reach\)", console.file.getvalue())


def test_make_console_not_a_tty_is_plain_and_wide(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    console = make_console(StringIO())
    assert not console.is_terminal and console.color_system is None and console.width >= 120


def test_write_is_atomic_and_leaves_no_temp(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    out.write_text("old")
    write_json(make_run(), out)
    assert out.read_text(encoding="utf-8").endswith("}\n")
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


# --- no_address -------------------------------------------------------------------------------


def no_address_run() -> RunResult:
    none = Observation("no_address", reason="source has no address: no DHCP server answered")
    cells = [
        Cell("a", "b", "10.0.0.2", "no_address", none),  # held
        Cell("b", "a", "10.0.0.1", "no_address", reach()),  # a had an address after all
        Cell("a", "c", None, "unreachable", Observation("error", reason="no address: a has none")),
    ]
    matrix = MatrixResult("broken dhcp", ["a", "b"], ["a", "b", "c"], cells)
    return RunResult("lab1", "sim", [StepResult("broken dhcp", "ping_matrix", matrix=matrix)])


def test_json_says_schema_2_only_when_a_cell_uses_no_address() -> None:
    data = to_json(no_address_run())
    assert data["schema"] == SCHEMA_NO_ADDRESS == "labkit-report/2"
    held, wrong, error = data["matrices"][0]["cells"]
    assert (held["expected"], held["observed"], held["ok"]) == ("no_address", "no_address", True)
    assert held["reason"] == "source has no address: no DHCP server answered"
    assert (wrong["expected"], wrong["observed"], wrong["ok"]) == ("no_address", "reachable", False)
    assert data["summary"] == {"cells": 3, "failed_cells": 2, "failed_steps": 1}
    assert to_json(make_run())["schema"] == SCHEMA == "labkit-report/1"


def test_junit_passes_a_held_no_address_cell() -> None:
    root = ET.fromstring(to_junit(no_address_run()).encode())
    by_name = {c.get("name"): c for c in root.findall("testsuite/testcase")}
    assert len(by_name["a -> b"]) == 0
    assert by_name["b -> a"].find("failure").get("message") == "expected no_address, observed reachable"
    assert by_name["a -> c"].find("error") is not None


def test_terminal_shows_no_address() -> None:
    text = plain_output(no_address_run())
    assert "∅ no addr" in text and "● reach (want no addr)" in text
    assert "✗ b -> a (10.0.0.1): expected no_address, observed reachable" in text
    assert "a -> b" not in text  # a held cell is not listed as failing


# --- address conflicts ------------------------------------------------------------------------


def conflict_run() -> RunResult:
    c = AddressConflict("10.0.0.128", ("deb1", "deb2"), "nat")
    cells = [
        Cell("host", "deb1", "10.0.0.128", None, reach(), "address conflict: 10.0.0.128 is held by deb1 and deb2 on nat", c),
        Cell("host", "deb2", "10.0.0.128", None, Observation("error", reason="could not connect", via="ssh"), None, c),
        Cell("host", "rh", "10.0.0.130", "reachable", reach()),
        Cell("rh", "deb1", "10.0.0.128", "unreachable", reach(), None, c),  # the playbook's own expectation
    ]
    matrix = MatrixResult("dup", ["host", "rh"], ["deb1", "deb2", "rh"], cells)
    return RunResult("lab1", "sim", [StepResult("dup", "ping_matrix", matrix=matrix)])


def test_json_says_schema_3_and_names_the_holders_only_when_a_cell_is_in_a_conflict() -> None:
    data = to_json(conflict_run())
    assert data["schema"] == SCHEMA_CONFLICT == "labkit-report/3"
    seen, error, clean, explicit = data["matrices"][0]["cells"]
    assert list(seen)[-1] == "conflict" and "conflict" not in clean
    assert seen["conflict"] == {"address": "10.0.0.128", "holders": ["deb1", "deb2"], "segment": "nat"}
    assert (seen["expected"], seen["observed"], seen["ok"]) == (None, "reachable", True)
    assert (error["observed"], error["ok"]) == ("error", True)  # not judged: never counted as failed
    assert (explicit["expected"], explicit["observed"], explicit["ok"]) == ("unreachable", "reachable", False)
    assert data["summary"] == {"cells": 4, "failed_cells": 1, "failed_steps": 1, "conflict_cells": 3}
    # no conflict: no key, no count, the schema of before
    plain = to_json(make_run())
    assert "conflict_cells" not in plain["summary"]
    assert all("conflict" not in c for m in plain["matrices"] for c in m["cells"])
    assert to_json(no_address_run())["schema"] == SCHEMA_NO_ADDRESS


def test_junit_skips_unjudged_conflict_cells_with_the_reason() -> None:
    root = ET.fromstring(to_junit(conflict_run()).encode())
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("4", "1", "0", "2")
    by_name = {c.get("name"): c for c in root.findall("testsuite/testcase")}
    skipped = by_name["host -> deb1"].find("skipped")
    assert skipped.get("message") == ("address conflict: 10.0.0.128 is held by deb1 and deb2 on nat; "
                                      "expected nothing, observed reachable")
    assert by_name["host -> deb2"].find("skipped") is not None and by_name["host -> deb2"].find("error") is None
    assert len(by_name["host -> rh"]) == 0
    failure = by_name["rh -> deb1"].find("failure")
    assert failure.get("message").startswith("address conflict: 10.0.0.128 is held by deb1 and deb2 on nat; "
                                             "expected unreachable, observed reachable")
    assert ET.fromstring(to_junit(make_run()).encode()).get("skipped") is None


def test_terminal_shows_conflicts_as_conflicts() -> None:
    text = plain_output(conflict_run())
    assert "? conflict (reach)" in text and "? conflict (error)" in text
    assert "● reach ?conflict (want unreach)" in text  # explicit expectation: judged, and still marked
    assert ("? address conflict: 10.0.0.128 is held by deb1 and deb2 on nat, not judged: "
            "3 cells (host -> deb1, host -> deb2, rh -> deb1)") in " ".join(text.split())  # however it wraps
    assert "✗ rh -> deb1" in text and "✗ host -> deb1" not in text
    assert text.rstrip().endswith("4 cells, 1 failed, 3 in an address conflict")
