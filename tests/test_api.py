"""labkit's public API (labkit/api.py, exported by labkit/__init__.py), on the simulated lab.

What a Python user meets: loading and checking (InputError with file, line and field), a lab
session that closes, playbooks, steps and matrices run on it, results looked up by cell, the model
asked about the described and the observed lab, and assert_matrix's message.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import labkit
from labkit.model import Step
from labkit.yamlsrc import load
from tests.conftest import REPO

INV = REPO / "inventory" / "seed-lab.yml"
NAT = REPO / "playbooks" / "seed-nat.yml"
DISABLED = "NAT with the host's VMnet8 adapter disabled"


@pytest.fixture
def lab():
    with labkit.open_lab(INV) as session:
        yield session


@pytest.fixture(scope="module")
def nat_run():
    with labkit.open_lab(INV) as session:
        return session.run(NAT)


def wrong_cell_playbook(expect_model: bool = True) -> dict:
    """router -> centos expected reachable: the LAN cannot reach a NAT VM's private address (rule 4)."""
    return {"name": "wrong on purpose", "steps": [
        {"name": "the LAN reaches a NAT VM", "ping_matrix": {
            "sources": ["router"], "targets": ["centos", "internet"],
            "expect": {"model": expect_model, "cells": [{"from": "router", "to": "centos", "result": "reachable"}]}}}]}


# ---- the package ---------------------------------------------------------------------------------


def test_import_labkit_is_light_and_the_api_loads_no_hypervisor_client():
    code = ("import sys, labkit\n"
            "print(sorted(m for m in sys.modules if m.startswith('labkit')))\n"
            "labkit.open_lab, labkit.assert_matrix, labkit.RunResult\n"
            "print(sorted(m for m in ('httpx', 'pyVmomi', 'paramiko') if m in sys.modules))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["['labkit']", "[]"]


def test_every_exported_name_resolves_and_nothing_else_does():
    for name in labkit.__all__:
        assert getattr(labkit, name) is not None, name
        assert name in dir(labkit)
    assert labkit.RunResult.__module__ == "labkit.results"
    with pytest.raises(AttributeError, match="no attribute 'run_playbook'"):
        labkit.run_playbook  # noqa: B018 - internal: not exported


def test_predict_matrix_is_not_shadowed_by_the_predict_module():
    import labkit.predict  # noqa: F401 - a submodule import sets labkit.predict: the API's name differs

    assert callable(labkit.predict_matrix)


# ---- loading and checking ------------------------------------------------------------------------


def test_load_inventory_from_a_file_from_data_and_as_it_is():
    from_file = labkit.load_inventory(INV)
    from_data = labkit.load_inventory(load(INV).data)
    assert from_file.vm_names == from_data.vm_names == ["centos", "win7", "nat2"]
    assert labkit.load_inventory(from_file) is from_file


def test_load_inventory_names_the_field_of_bad_data():
    data = load(INV).data
    data["vms"][1]["adapters"][0]["network"] = "nowhere"
    with pytest.raises(labkit.InputErrors) as err:
        labkit.load_inventory(data)
    (problem,) = err.value.errors
    assert (problem.file, problem.field) == ("<data>", "vms[1].adapters[0].network")
    assert "unknown network 'nowhere'" in problem.message


def test_load_playbook_checks_against_the_inventory_with_file_and_line(tmp_path):
    pb = tmp_path / "pb.yml"
    pb.write_text(textwrap.dedent(f"""\
        name: two problems
        inventory: {INV}
        steps:
          - set_mode: {{vms: [win8], mode: nat}}
          - ping_matrix: {{sources: [host], targets: [nosuch]}}
        """))
    with pytest.raises(labkit.InputErrors) as err:
        labkit.load_playbook(pb)
    assert [(e.file, e.line, e.field) for e in err.value.errors] == [
        (str(pb), 4, "steps[0].set_mode.vms[0]"), (str(pb), 5, "steps[1].ping_matrix.targets[0]")]


def test_load_playbook_against_an_inventory_in_hand_and_a_backend_that_cannot():
    data = load(INV).data
    playbook, inventory = labkit.load_playbook(NAT, data)
    assert (playbook.name, inventory.lab) == ("seed-nat", "seed-lab")
    with pytest.raises(labkit.InputErrors) as err:
        labkit.load_playbook(NAT, backend="vsphere")
    assert [e.line for e in err.value.errors] == [34, 51]
    assert "the vsphere backend cannot switch the host's virtual adapters" in str(err.value)


# ---- the session ---------------------------------------------------------------------------------


def test_the_session_closes_its_lab_once_and_refuses_work_after(monkeypatch):
    session = labkit.open_lab(INV)
    closed = []
    monkeypatch.setattr(session.lab, "close", lambda: closed.append(True))
    with session:
        assert not session.closed
    assert session.closed and closed == [True]
    session.close()
    assert closed == [True]
    with pytest.raises(labkit.LabkitError, match="closed"):
        session.matrix(["host"], ["router"])


def test_the_session_is_closed_when_the_block_raises(monkeypatch):
    session = labkit.open_lab(INV)
    closed = []
    monkeypatch.setattr(session.lab, "close", lambda: closed.append(True))
    with pytest.raises(RuntimeError), session:
        raise RuntimeError("boom")
    assert closed == [True]


def test_open_lab_on_an_unknown_backend_is_an_input_error():
    with pytest.raises(labkit.InputError, match="backend 'hyperv' is not available"):
        labkit.open_lab(INV, "hyperv")


def test_run_a_playbook_file(nat_run):
    assert nat_run.ok and nat_run.playbook == "seed-nat" and nat_run.backend == "sim"
    assert [s.kind for s in nat_run.steps].count("ping_matrix") == 3
    assert nat_run.failed_steps() == [] and nat_run.failed_cells() == []


def test_a_cell_in_two_matrices_is_asked_for_by_step(nat_run):
    with pytest.raises(KeyError, match="in 2 matrices"):
        nat_run.cell("win7", "internet")
    cell = nat_run.cell("host", "win7", step=DISABLED)
    assert (cell.verdict, cell.expected, cell.ok) == ("unreachable", "unreachable", True)
    assert cell.observed.reason == cell.reason == "4 sent, no reply"  # what the probe said comes first
    assert "VMnet8 adapter is disabled" in cell.expected_reason
    with pytest.raises(KeyError, match="no matrix step 'nosuch'"):
        nat_run.cell("host", "win7", step="nosuch")
    with pytest.raises(KeyError, match="no matrix of this run has host -> centos"):
        nat_run.cell("host", "centos")


def test_a_reachable_cell_gives_its_rtt_and_the_models_reason(nat_run):
    cell = nat_run.cell("win7", "internet", step=DISABLED)
    assert cell.verdict == "reachable" and cell.rtt == cell.observed.rtt_avg_ms and cell.rtt is not None
    assert cell.observed.reason is None and cell.reason == cell.expected_reason
    assert cell.reason.startswith("reachable, source translated to")


def test_run_takes_data_and_playbook_objects_alike(lab):
    playbook, _ = labkit.load_playbook(NAT)
    from_object = lab.run(playbook)
    with labkit.open_lab(INV) as fresh:
        from_data = fresh.run(load(NAT).data | {"inventory": None})
    def seen(run: labkit.RunResult) -> list[tuple[str, str, str, str]]:
        return [(m.step, c.source, c.target, c.verdict) for m in run.matrices for c in m.cells]

    assert from_object.ok and from_data.ok
    assert seen(from_object) == seen(from_data) and len({m for m, *_ in seen(from_data)}) == 3


def test_a_playbook_is_checked_against_the_sessions_inventory(lab):
    other = {"name": "other lab", "steps": [{"set_mode": {"vms": ["web"], "mode": "nat"}}]}
    with pytest.raises(labkit.InputErrors, match=r"<data>: steps\[0\]\.set_mode\.vms\[0\]: unknown VM 'web'"):
        lab.run(other)


def test_run_steps_runs_each_step_when_asked(lab):
    steps = lab.run_steps(NAT)
    first = next(steps)
    assert (first.name, first.ok) == ("put win7 on NAT (VMnet8)", True)
    state = lab.observe().state
    assert state.vms["win7"].ifaces[0].network == "nat"
    assert state.vms["win7"].ifaces[0].address.ip.compressed.startswith("192.168.1.")  # not renewed yet
    second = next(steps)
    assert second.kind == "restart_network"
    assert lab.observe().state.vms["win7"].ifaces[0].address.ip.compressed.startswith("10.0.0.")
    assert len(list(steps)) == 6


def test_run_step_takes_a_playbook_step_or_a_step_object(lab):
    done = lab.run_step({"name": "VMnet8 off", "set_host_adapter": {"network": "nat", "enabled": False}})
    assert (done.name, done.ok, done.vms["host"].detail) == ("VMnet8 off", True, "changed")
    again = lab.run_step(Step(name="again", kind="set_host_adapter",
                              spec=labkit.load_playbook(NAT)[0].steps[4].spec))
    assert again.vms["host"].detail == "unchanged"
    with pytest.raises(labkit.InputErrors, match=r"<step>: steps\[0\]\.set_mode\.colour: unknown key"):
        lab.run_step({"set_mode": {"vms": ["win7"], "mode": "nat", "colour": "red"}})


def test_matrix_probes_now_against_the_lab_as_it_is(lab):
    before = lab.matrix(["host"], ["win7", "centos"])
    assert [c.verdict for c in before.cells] == ["reachable", "reachable"]
    lab.run_step({"set_host_adapter": {"network": "nat", "enabled": False}})
    after = lab.matrix(["host"], ["win7", "centos"])
    assert [c.verdict for c in after.cells] == ["reachable", "unreachable"] and after.ok
    assert "VMnet8 adapter is disabled" in after.cell("host", "centos").expected_reason


def test_matrix_defaults_to_every_source_and_target(lab):
    full = lab.matrix()
    assert full.sources == ["host", "centos", "win7", "nat2"] and "nat.gateway" in full.targets
    assert full.ok


def test_matrix_reports_every_bad_endpoint_and_value(lab):
    with pytest.raises(labkit.InputErrors) as err:
        lab.matrix(["nat.gateway", "win7."], ["nosuch"])
    assert [e.field for e in err.value.errors] == ["sources", "sources", "targets"]
    with pytest.raises(labkit.InputErrors) as err:
        lab.matrix(["host"], ["router"], count=0)
    assert [e.field for e in err.value.errors] == ["count"]


# ---- the model -----------------------------------------------------------------------------------


def test_describe_predict_and_explain_the_lab_as_described():
    model = labkit.describe(INV)
    predicted = model.predict(["win7"], ["host", "centos"])
    assert [(c.target, c.verdict, c.observed.via) for c in predicted.cells] == [
        ("host", "reachable", "model"), ("centos", "unreachable", "model")]
    assert predicted.cells == labkit.predict_matrix(INV, ["win7"], ["host", "centos"]).cells
    assert model.conflicts == []
    assert model.explain("router", "centos") == labkit.explain(INV, "router", "centos") == (
        "router -> centos (10.0.0.101): unreachable: no route to 10.0.0.101: nothing on the internet has it "
        "(a private address)")
    assert model.explain("host", "host.nat") == "host -> host.nat (10.0.0.1): reachable: own address"
    with pytest.raises(labkit.InputErrors, match="targets: unknown endpoint 'nosuch'"):
        model.explain("host", "nosuch")


def test_observe_explains_the_lab_as_it_is_now(lab):
    assert lab.observe().explain("host", "centos").startswith("host -> centos (10.0.0.101): reachable")
    lab.run_step({"set_host_adapter": {"network": "nat", "enabled": False}})
    assert lab.observe().explain("host", "centos") == (
        "host -> centos (10.0.0.101): unreachable: the host has no route to 10.0.0.101: the host's VMnet8 "
        "adapter is disabled")
    assert labkit.explain(INV, "host", "centos").endswith("reachable")  # the described lab is unchanged


# ---- assert_matrix -------------------------------------------------------------------------------


def test_assert_matrix_passes_on_a_run_that_held(nat_run):
    labkit.assert_matrix(nat_run)
    labkit.assert_matrix(nat_run.matrices[0])
    labkit.assert_matrix(nat_run.steps[0])


def test_assert_matrix_draws_the_failing_matrix_with_cells_and_reasons(lab):
    wrong = lab.run(wrong_cell_playbook())
    for result in (wrong, wrong.steps[0], wrong.matrices[0]):
        with pytest.raises(AssertionError) as err:
            labkit.assert_matrix(result)
        text = str(err.value)
        assert text.startswith("step 'the LAN reaches a NAT VM' (ping_matrix) failed: 1 of 2 cells did not hold\n")
        assert "│ router    │ ○ unreach (want reach) │ ● reach  │" in text
        assert "  ✗ router -> centos (10.0.0.101): expected reachable, observed unreachable: 2 sent, no reply" in text
        assert text.endswith("  the model on router -> centos: no route to 10.0.0.101: nothing on the internet has "
                             "it (a private address)")
        assert "\x1b[" not in text


def test_assert_matrix_names_a_failed_vm_step_and_only_failed_steps(lab):
    result = lab.run({"name": "not renewed", "steps": [
        {"name": "win7 to host-only", "set_mode": {"vms": ["win7"], "mode": "hostonly"}},
        {"name": "win7 has a host-only address", "wait_for_ip": {"vms": ["win7"], "timeout": 5}},
        {"ping_matrix": {"sources": ["host"], "targets": ["router"], "expect": "none"}}]})
    assert [s.ok for s in result.steps] == [True, False, True]
    with pytest.raises(AssertionError) as err:
        labkit.assert_matrix(result)
    why = result.steps[1].vms["win7"].error
    assert "192.168.56.0/24" in why
    assert str(err.value).splitlines() == ["step 'win7 has a host-only address' (wait_for_ip) failed", f"  win7: {why}"]


def test_run_steps_checks_before_the_first_step(lab):
    with pytest.raises(labkit.InputErrors, match="unknown VM 'web'"):
        lab.run_steps({"name": "x", "steps": [{"set_mode": {"vms": ["web"], "mode": "nat"}}]})
    assert repr(lab) == "<LabSession seed-lab on sim>"


def test_a_session_holds_the_labs_lock_against_other_processes_until_closed():
    """A script's session and a `labkit run` never interleave on one lab (labkit/lablock.py)."""
    run = [sys.executable, "-m", "labkit.cli", "run", str(NAT)]
    with labkit.open_lab(INV):
        busy = subprocess.run(run, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert busy.returncode == 2 and "lab seed-lab is in use by PID" in busy.stderr
        with labkit.open_lab(INV) as nested:  # the same program's second session nests
            assert nested.run_step({"set_mode": {"vms": ["win7"], "adapter": "eth0", "mode": "nat"}}).ok
    done = subprocess.run(run, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_no_module_of_the_package_shadows_a_public_name():
    """Importing labkit/NAME.py sets the package's attribute NAME to the module: a public function
    of that name (labkit.explain) would then stop being callable once the CLI imported the module."""
    package = REPO / "labkit"
    shadowed = [name for name in labkit.__all__ if (package / f"{name}.py").exists() or (package / name).is_dir()]
    assert shadowed == []
