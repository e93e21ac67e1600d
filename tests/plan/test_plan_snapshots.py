"""`labkit run --check` of the snapshot steps on the simulated lab: a snapshot is a change unless the
VM has one of that name (one planned earlier counts), a revert to a name the VM lacks is an unknown
(a run would fail), and after a planned revert the VM's adapters, power and files are unknowns, not
guesses from before it. Nothing is taken or reverted."""

from __future__ import annotations

from labkit.backends import open_lab
from labkit.plan import plan_playbook
from labkit.playbook import load_checked
from tests.plan.test_plan_sim import playbook


def test_the_snapshot_steps_are_planned_without_taking_anything(tmp_path):
    pb, inv = load_checked(playbook(tmp_path, [
        {"name": "take", "snapshot": {"vms": ["centos", "nat2"], "name": "before class"}},
        {"name": "again", "snapshot": {"vms": ["centos"], "name": "before class"}},
        {"name": "class", "set_mode": {"vms": ["centos"], "mode": "hostonly"}},
        {"name": "wrong", "revert_snapshot": {"vms": ["centos"], "name": "week 9"}},
        {"name": "reset", "revert_snapshot": {"vms": ["centos"], "name": "before class"}},
        {"name": "after", "set_mode": {"vms": ["centos", "nat2"], "mode": "bridged"}},
    ]))
    lab = open_lab(inv)
    try:
        lab.snapshots.take_snapshot("nat2", "before class")  # nat2 has it already
        plan = plan_playbook(pb, lab)
        lines = {s.name: [(i.status, i.text) for i in s.items] for s in plan.steps}
        assert lines["take"] == [("change", "centos: would take snapshot 'before class'"),
                                 ("same", "nat2: snapshot 'before class' already exists (nothing taken)")]
        assert lines["again"] == [("same", "centos: snapshot 'before class' already exists (nothing taken)")]
        assert lines["wrong"] == [("unknown", "centos: no snapshot 'week 9' to revert to (its snapshots: "
                                              "'before class'; a run would fail)")]
        assert lines["reset"] == [("change", "centos: would revert to snapshot 'before class', then power it on "
                                             "if the snapshot leaves it off")]
        assert lines["after"] == [
            ("unknown", "centos: cannot plan: a revert to snapshot 'before class' earlier in this plan gives it "
                        "the snapshot's adapters, power and files, which --check does not read"),
            ("change", "nat2: eth0 nat -> bridged")]
        assert lab.snapshots.snapshot_names("centos") == []  # nothing was taken
        assert lab.hypervisor.adapter_network("centos", inv.vm("centos").adapters[0]) == "nat"
    finally:
        lab.close()
