"""Snapshots on vSphere against vcsim: CreateSnapshot_Task and RevertToSnapshot_Task through labkit's
session and task waiting, the tree read by name (a name taken twice takes nothing; a name vSphere
holds twice is refused with both), a revert that brings back the adapter's earlier network (read
back through the hypervisor) and the snapshot's power state, and the steps through the real CLI.

vcsim 0.24.2's own revert only moves the current snapshot; tests/vcsim/snapshots.go makes it restore
the VM's devices and power state as vSphere does. The simulator here is this module's own (four
VMs, DC0_C0_RP0_VM0..3, one per test), so the session simulator's VMs keep no snapshots.
"""

from __future__ import annotations

import json
import re

import pytest

from labkit.backends.vsphere.lab import VsphereLab
from labkit.errors import BackendError
from labkit.model import RevertSnapshot, Snapshot, Step
from labkit.runner import run_step
from tests.backends.vsphere.conftest import (PASSWORD_ENV, Probe, sim_inventory, sim_inventory_data, start_vcsim,
                                             stop_vcsim, vm_entry)
from tests.backends.vsphere.test_backend import backing_type
from tests.backends.vsphere.test_playbook import labkit_run, write_inventory


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    started = start_vcsim(tmp_path_factory.mktemp("vcsim-snapshots"), "-vm", "4", "-log-requests")
    yield started
    stop_vcsim(started)


@pytest.fixture(scope="module")
def probe(sim):
    p = Probe(sim)
    yield p
    p.close()


@pytest.fixture
def lab(sim, monkeypatch):
    """open(name, n): a lab of one VM, DC0_C0_RP0_VM<n>; closed after the test."""
    monkeypatch.setenv(PASSWORD_ENV, sim.password)
    opened: list[VsphereLab] = []

    def open_one(name: str, n: int) -> VsphereLab:
        opened.append(VsphereLab(sim_inventory(sim, [vm_entry(name, n)])))
        return opened[-1]

    yield open_one
    for one in opened:
        one.close()


def step(kind: str, spec) -> Step:
    return Step(name=kind, kind=kind, spec=spec)


def calls(sim, method: str) -> int:
    """How many times the simulator was asked `method` so far (its request log; vcsim's own revert
    tasks name the snapshot as their entity, which pyVmomi refuses to read back)."""
    return sim.requests().count(method)


def test_take_once_then_revert_brings_the_adapter_back_powered_off(sim, lab, probe):
    one = lab("a", 0)
    hv, snaps, nic = one.hypervisor, one.snapshots, one.inventory.vm("a").adapters[0]
    hv.set_adapter_network("a", nic, "standard")
    assert snaps.snapshot_names("a") == []

    assert snaps.take_snapshot("a", "before class", "the lab as the trainer set it up") is True
    assert calls(sim, "CreateSnapshot_Task") == 1
    assert snaps.take_snapshot("a", "before class") is False  # the name is there: nothing is taken
    assert calls(sim, "CreateSnapshot_Task") == 1
    assert [t.name for t in probe.vm(0).snapshot.rootSnapshotList] == ["before class"]
    assert probe.vm(0).snapshot.rootSnapshotList[0].description == "the lab as the trainer set it up"

    assert hv.set_adapter_network("a", nic, "distributed") is True  # the class moves it
    assert hv.adapter_network("a", nic) == "distributed"
    snaps.revert_snapshot("a", "before class")
    assert hv.adapter_network("a", nic) == "standard"  # read back through the hypervisor
    assert backing_type(probe, 0)[0].endswith("NetworkBackingInfo")
    assert not backing_type(probe, 0)[0].startswith("Distributed")
    assert hv.powered_on("a") is False  # taken without memory: vSphere leaves the VM off
    assert snaps.snapshot_names("a") == ["before class"]


def test_the_steps_report_each_vm_and_power_the_vm_on(lab, probe):
    one = lab("b", 1)
    hv, nic = one.hypervisor, one.inventory.vm("b").adapters[0]
    hv.set_adapter_network("b", nic, "standard")

    out = run_step(step("snapshot", Snapshot(vms=["b"], name="clean")), one)
    assert (out.vms["b"].ok, out.vms["b"].detail) == (True, "snapshot 'clean' taken")
    again = run_step(step("snapshot", Snapshot(vms=["b"], name="clean")), one)
    assert again.vms["b"].detail == "snapshot 'clean' already exists (nothing taken)"
    live = run_step(step("snapshot", Snapshot(vms=["b"], name="live", memory=True)), one)
    assert live.vms["b"].detail == "snapshot 'live' taken, with the guest's memory"

    hv.set_adapter_network("b", nic, "opaque")
    back = run_step(step("revert_snapshot", RevertSnapshot(vms=["b"], name="clean")), one)
    assert (back.vms["b"].ok, back.vms["b"].detail) == (True, "reverted to 'clean', powered on")
    assert probe.vm(1).runtime.powerState == "poweredOn" and hv.adapter_network("b", nic) == "standard"

    off = run_step(step("revert_snapshot", RevertSnapshot(vms=["b"], name="clean", power_on=False)), one)
    assert off.vms["b"].detail == "reverted to 'clean', powered off (power_on: false)"
    assert probe.vm(1).runtime.powerState == "poweredOff"

    resumed = run_step(step("revert_snapshot", RevertSnapshot(vms=["b"], name="live", power_on=False)), one)
    assert resumed.vms["b"].detail == "reverted to 'live', running (the snapshot kept the guest's memory)"
    assert probe.vm(1).runtime.powerState == "poweredOn"
    assert [t.name for t in probe.vm(1).snapshot.rootSnapshotList] == ["clean"]
    assert one.snapshots.snapshot_names("b") == ["clean", "live"]  # oldest first, every branch


def test_a_missing_name_lists_the_names_there_are_and_a_doubled_one_both(sim, lab, probe):
    from pyVim.task import WaitForTask

    one = lab("c", 2)
    reverts = calls(sim, "RevertToSnapshot_Task")
    none = run_step(step("revert_snapshot", RevertSnapshot(vms=["c"], name="before class")), one)
    assert (none.vms["c"].ok, none.vms["c"].error) == (False, "no snapshot 'before class' to revert to (it has "
                                                              "no snapshots)")
    one.snapshots.take_snapshot("c", "week 1")
    one.snapshots.take_snapshot("c", "week 2")
    missing = run_step(step("revert_snapshot", RevertSnapshot(vms=["c"], name="week 3")), one)
    assert missing.vms["c"].error == "no snapshot 'week 3' to revert to (its snapshots: 'week 1', 'week 2')"
    with pytest.raises(BackendError, match=r"^no snapshot 'week 3' of VM DC0_C0_RP0_VM2 \(vm-\d+, at "
                                           r"DC0/vm/DC0_C0_RP0_VM2\) \(its snapshots: 'week 1', 'week 2'\)$"):
        one.snapshots.revert_snapshot("c", "week 3")

    # vSphere lets a name be given twice (labkit never does): which one is meant cannot be told
    WaitForTask(probe.vm(2).CreateSnapshot_Task(name="week 1", memory=False, quiesce=False))
    assert one.snapshots.take_snapshot("c", "week 1") is False
    with pytest.raises(BackendError) as err:
        one.snapshots.revert_snapshot("c", "week 1")
    assert re.fullmatch(r"2 snapshots of VM DC0_C0_RP0_VM2 \(vm-\d+, at DC0/vm/DC0_C0_RP0_VM2\) are named "
                        r"'week 1' \(id 1, taken [0-9-]+ [0-9:]+; id 3, taken [0-9-]+ [0-9:]+\); rename all but one "
                        r"in vSphere to revert to it by name", str(err.value)), str(err.value)
    assert calls(sim, "RevertToSnapshot_Task") == reverts  # refused before anything was submitted


def test_a_trainer_playbook_through_the_cli(sim, probe, tmp_path):
    inv = write_inventory(tmp_path, sim_inventory_data(sim, [vm_entry("lab1", 3)]))
    pb = tmp_path / "reset.yml"
    pb.write_text(json.dumps({"name": "reset", "steps": [
        {"set_mode": {"vms": ["lab1"], "mode": "standard"}},
        {"name": "before class", "snapshot": {"vms": ["lab1"], "name": "before class", "description": "clean"}},
        {"name": "the class", "set_mode": {"vms": ["lab1"], "mode": "nsx"}},
        {"name": "reset", "revert_snapshot": {"vms": ["lab1"], "name": "before class"}},
        {"name": "again", "set_mode": {"vms": ["lab1"], "mode": "standard"}}]}))
    done = labkit_run(sim, pb, inv, tmp_path / "r.json")
    assert done.returncode == 0, done.stdout + done.stderr
    details = [step["vms"]["lab1"]["detail"] for step in json.loads((tmp_path / "r.json").read_text())["steps"]]
    assert details == ["eth0 -> standard (changed)", "snapshot 'before class' taken", "eth0 -> nsx (changed)",
                       "reverted to 'before class', powered on", "eth0 -> standard (unchanged)"]
    assert probe.vm(3).network[0].name == "LabNet" and probe.vm(3).runtime.powerState == "poweredOn"
