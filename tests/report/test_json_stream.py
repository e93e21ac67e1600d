"""The JSON report is streamed to disk piece by piece: the file must be, byte for byte, the document
json.dumps(to_json(run), indent=2) would write (the contract in docs/report-json.md)."""

from __future__ import annotations

import json

import pytest

from labkit.backends import open_lab
from labkit.inventory import load_inventory
from labkit.matrix.engine import run_matrix
from labkit.model import PingMatrix
from labkit.observe import observe
from labkit.report.as_json import json_text, to_json, write_json
from labkit.results import AddressConflict, Cell, MatrixResult, Observation, RunResult, StepResult
from tests.conftest import REPO
from tests.report.test_reports import make_run


def whole(run: RunResult) -> str:
    return json.dumps(to_json(run), indent=2, ensure_ascii=False) + "\n"


def simulated_run() -> RunResult:
    """A sim run whose matrix has a conflict (nat2 given centos's address), no-address cells and
    every kind of observation, plus an empty matrix and a failed step."""
    lab = open_lab(load_inventory(REPO / "inventory" / "seed-lab.yml"))
    state = observe(lab).copy()
    state.vms["nat2"].ifaces[0].address = state.vms["centos"].ifaces[0].address
    spec = PingMatrix(sources=["host", "win7", "centos", "nat2"], targets=["host.nat", "centos", "nat2", "router"],
                      count=1)
    matrix = run_matrix(lab, "m", spec, state)
    odd = MatrixResult("odd", ["a"], ["b", "c"], [
        Cell("a", "b", None, "no_address", Observation("no_address", reason="target has no address: \u00fcber \"x\"")),
        Cell("a", "c", "10.0.0.1", None, Observation("error", reason="tab\tand newline\n"),
             conflict=AddressConflict("10.0.0.1", ("x", "y"), None))])
    return RunResult("pb \u2713", "sim", [StepResult("m", "ping_matrix", matrix=matrix),
                                          StepResult("empty", "ping_matrix", matrix=MatrixResult("e", ["a"], ["b"], [])),
                                          StepResult("odd", "ping_matrix", matrix=odd),
                                          StepResult("s", "set_mode", error="failed: \"quoted\"")])


@pytest.mark.parametrize("make", [make_run, simulated_run, lambda: RunResult("none", "sim", [])],
                         ids=["golden-run", "simulated-with-conflicts", "no-steps"])
def test_streamed_report_is_the_document_byte_for_byte(make, tmp_path):
    run = make()
    assert "".join(json_text(run)) == whole(run)
    write_json(run, tmp_path / "r.json")
    assert (tmp_path / "r.json").read_text(encoding="utf-8") == whole(run)
