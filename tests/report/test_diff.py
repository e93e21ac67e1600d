"""`labkit diff A.json B.json`: which cells changed, exit 1 when any did, and bad reports refused.

Regenerate the golden files after an intended change with
    LABKIT_UPDATE_GOLDEN=1 .venv/bin/pytest tests/report/test_diff.py
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from labkit.report.as_json import to_json, write_json
from labkit.report.diff import diff_runs
from labkit.report.read_json import read_report, report_from_data
from labkit.results import AddressConflict, Cell, MatrixResult, Observation, RunResult, StepResult
from tests.e2e.test_playbooks import labkit
from tests.report.test_reports import check_golden, make_run


def later_run() -> RunResult:
    """make_run() the next night: b -> c now holds, a -> b broke, c -> a answers, c -> b has a new
    address but the same verdict, a -> c is no longer probed and c -> c is; a matrix was added."""
    run = make_run()
    m = run.steps[1].matrix
    assert m is not None
    cells = {(c.source, c.target): c for c in m.cells}
    cells[("b", "c")] = Cell("b", "c", "10.0.1.3", "reachable", Observation("reachable", 0.0, 0.3, via="sim"))
    cells[("a", "b")] = Cell("a", "b", "10.0.0.2", "reachable",
                             Observation("unreachable", 100.0, reason="100% packet loss", via="sim"))
    cells[("c", "a")] = Cell("c", "a", "10.0.1.1", "unreachable", Observation("reachable", 0.0, 0.2, via="sim"))
    cells[("c", "b")] = Cell("c", "b", "10.0.0.9", None, Observation("reachable", 0.0, 1.0, via="sim"))
    del cells[("a", "c")]
    cells[("c", "c")] = Cell("c", "c", "10.0.1.3", None, Observation("reachable", via="sim"))
    m.cells = list(cells.values())
    extra = MatrixResult("after the switch", ["a"], ["b"], [Cell("a", "b", "10.0.0.2", None, Observation("reachable"))])
    run.steps.append(StepResult("after the switch", "ping_matrix", matrix=extra))
    return run


@pytest.fixture()
def reports(tmp_path: Path) -> tuple[Path, Path]:
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    write_json(make_run(), first)
    write_json(later_run(), second)
    return first, second


def test_the_same_report_twice_is_no_change_and_exit_0(reports) -> None:
    first, _ = reports
    proc = labkit("diff", str(first), str(first))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "no cell changed (6 cells compared)"


def test_changed_cells_are_listed_and_exit_1_golden(reports) -> None:
    first, second = reports
    proc = labkit("diff", "first.json", "second.json", "--markdown", "diff.md", cwd=first.parent)
    assert proc.returncode == 1, proc.stderr
    check_golden("diff.txt", proc.stdout)
    check_golden("diff.md", (first.parent / "diff.md").read_text(encoding="utf-8"))


def test_what_counts_as_a_change() -> None:
    diff = diff_runs(make_run(), later_run())
    ping = diff.matrices[0]
    changed = {(c.source, c.target) for c in ping.changes}
    assert changed == {("a", "b"), ("b", "c"), ("c", "a"), ("a", "c"), ("c", "c")}  # not c -> b: its address only
    assert ping.cells == 7
    assert [m.one_sided for m in diff.matrices] == [None, "second"]
    assert diff.changed


def test_a_new_conflict_is_a_change() -> None:
    before = make_run()
    after = make_run()
    m = after.steps[1].matrix
    assert m is not None
    m.cells[5].conflict = AddressConflict("10.0.0.2", ("b", "x"), "nat")
    changes = diff_runs(before, after).matrices[0].changes
    assert [(c.source, c.target) for c in changes] == [("c", "b")]
    assert "? conflict (reach)" in changes[0].words()


def test_single_matrices_are_paired_whatever_their_names() -> None:
    def one(step: str, seen: str) -> RunResult:
        cell = Cell("a", "b", "10.0.0.2", None, Observation(seen))  # type: ignore[arg-type]
        return RunResult("p", "sim", [StepResult(step, "ping_matrix", matrix=MatrixResult(step, ["a"], ["b"], [cell]))])

    diff = diff_runs(one("before", "reachable"), one("after", "unreachable"))
    assert len(diff.matrices) == 1 and diff.matrices[0].title == "before -> after"
    assert diff.matrices[0].changes[0].words() == "a -> b (10.0.0.2): ● reach -> ○ unreach"


def test_a_report_reads_back_as_the_run_that_wrote_it() -> None:
    data = to_json(later_run())
    assert to_json(report_from_data(copy.deepcopy(data))) == data


@pytest.mark.parametrize("content, message", [
    ("{\n  \"schema\": \"labkit-report/1\",\n  oops\n}", "bad.json:3: not JSON: Expecting property name"),
    ('{"schema": "labkit-plan/1"}', "bad.json: schema: this is a plan (labkit run --check), not a report"),
    ('{"schema": "labkit-report/9"}', "bad.json: schema: 'labkit-report/9' is not a labkit report schema"),
    ("[1, 2]", "bad.json: an array, but an object is expected"),
    ('{"playbook": "p"}', "bad.json: schema: missing: not a labkit report"),
])
def test_a_file_that_is_not_a_report_is_exit_2_naming_file_line_and_field(tmp_path: Path, reports, content,
                                                                         message) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    proc = labkit("diff", str(reports[0]), "bad.json", "--markdown", "out.md", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {message}"), proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "out.md").exists()


@pytest.mark.parametrize("edit, field, message", [
    (lambda d: d["matrices"][0]["cells"][3].update(observed="maybe"), "matrices[0].cells[3].observed",
     "'maybe' is not one of reachable, unreachable, error, no_address"),
    (lambda d: d["matrices"][0]["cells"][1].pop("target"), "matrices[0].cells[1].target", "missing"),
    (lambda d: d["matrices"][0].update(sources="a"), "matrices[0].sources", "a string, but an array is expected"),
    (lambda d: d["steps"][0]["vms"]["a"].update(ok="yes"), "steps[0].vms.a.ok", "a string, but true or false"),
    (lambda d: d["matrices"][0]["cells"][0].update(loss_pct=True), "matrices[0].cells[0].loss_pct",
     "true or false, but a number is expected"),
])
def test_each_bad_field_is_named(tmp_path: Path, edit, field, message) -> None:
    data = to_json(make_run())
    edit(data)
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    with pytest.raises(Exception) as err:
        read_report(path)
    assert str(err.value).startswith(f"{path}: {field}: {message}")


def test_both_bad_reports_are_named_at_once(tmp_path: Path) -> None:
    proc = labkit("diff", "missing.json", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["error: missing.json: no such file",
                                        f"error: {tmp_path}: is a directory, not a report"]
