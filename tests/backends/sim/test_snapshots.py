"""Snapshots in the simulated lab: a trainer's playbook that snapshots the lab, lets the class change
it and reverts it is checked offline, and ends with the lab as it was (adapters, guest files, cables,
addresses after the guest boots again), matrix included; a snapshot with memory resumes the guest
running with its addresses; a revert ends the guest's processes and drops labkit's channels to it."""

from __future__ import annotations

import json

import pytest

from labkit.errors import BackendError
from labkit.backends import open_lab
from labkit.model import ConfigureGuest, RevertSnapshot, SetLink, SetMode, Snapshot, Step, WaitForIp
from labkit.playbook import load_checked
from labkit.runner import run_playbook, run_step
from tests.conftest import REPO, TUTORIAL_IFCFG

IFCFG = "/etc/sysconfig/network-scripts/ifcfg-eth0"
INVENTORY = REPO / "inventory" / "seed-lab.yml"


def step(kind: str, spec) -> Step:
    return Step(name=f"{kind} {id(spec)}", kind=kind, spec=spec)


def ok(lab, kind: str, spec) -> dict[str, str]:
    out = run_step(step(kind, spec), lab)
    assert out.error is None and all(r.ok for r in out.vms.values()), out
    return {vm: r.detail or "" for vm, r in out.vms.items()}


def test_a_playbook_reverts_the_lab_to_its_first_state(tmp_path):
    """set_mode, snapshot, set_mode, revert_snapshot, then a matrix whose explicit cells hold only
    with win7 back on NAT (on host-only it reaches neither the internet nor nat2)."""
    pb = tmp_path / "pb.yml"
    pb.write_text(json.dumps({"name": "reset", "inventory": str(INVENTORY), "steps": [
        {"name": "to nat", "set_mode": {"vms": ["win7"], "mode": "nat"}},
        {"restart_network": {"vms": ["win7"]}},
        {"name": "before class", "snapshot": {"vms": ["win7", "centos"], "name": "before class"}},
        {"name": "the class", "set_mode": {"vms": ["win7"], "mode": "hostonly"}},
        {"configure_guest": {"vms": ["centos"], "interface": "eth0", "dhcp": True}},
        {"restart_network": {"vms": ["win7", "centos"]}},
        {"name": "reset", "revert_snapshot": {"vms": ["win7", "centos"], "name": "before class"}},
        {"wait_for_ip": {"vms": ["win7", "centos"], "timeout": 60}},
        {"name": "first state", "ping_matrix": {
            "sources": ["host", "win7", "nat2"], "targets": ["internet", "nat2", "win7", "centos"], "count": 1,
            "expect": {"cells": [{"from": "win7", "to": "internet", "result": "reachable"},
                                 {"from": "win7", "to": "nat2", "result": "reachable"},
                                 {"from": "nat2", "to": "win7", "result": "reachable"},
                                 {"from": "host", "to": "centos", "result": "reachable"}]}}}]}))
    playbook, inventory = load_checked(pb)
    lab = open_lab(inventory)
    try:
        result = run_playbook(playbook, lab)
        by_name = {s.name: s for s in result.steps}
        assert all(s.ok for s in result.steps), [(s.name, s.error, s.vms) for s in result.steps if not s.ok]
        assert by_name["reset"].vms["win7"].detail == "reverted to 'before class', powered on"
        assert lab.hypervisor.adapter_network("win7", inventory.vm("win7").adapters[0]) == "nat"
        assert lab.transport("centos").read_file(IFCFG) == TUTORIAL_IFCFG  # its disk as it was: static again
        assert str(lab.guest_address("centos", "eth0")) == "10.0.0.101"
        matrix = by_name["first state"].matrix
        assert matrix is not None and all(c.ok for c in matrix.cells if c.expected is not None)
    finally:
        lab.close()


def test_take_is_once_per_name_and_revert_restores_files_cables_and_power(lab):
    nic = lab.inventory.vm("nat2").adapters[0]
    assert ok(lab, "snapshot", Snapshot(vms=["nat2"], name="clean")) == {"nat2": "snapshot 'clean' taken"}
    assert ok(lab, "snapshot", Snapshot(vms=["nat2"], name="clean")) == {
        "nat2": "snapshot 'clean' already exists (nothing taken)"}
    guest = lab.transport("nat2")
    guest.write_file("/etc/motd", "class 1 was here\n")
    ok(lab, "set_link", SetLink(vms=["nat2"], connected=False))
    ok(lab, "set_mode", SetMode(vms=["nat2"], mode="hostonly"))  # moves with its cable out

    lab.snapshots.revert_snapshot("nat2", "clean")
    assert lab.hypervisor.powered_on("nat2") is False  # no memory kept: VMware leaves it off
    assert lab.links.link_connected("nat2", nic) is True and lab.hypervisor.adapter_network("nat2", nic) == "nat"
    lab.hypervisor.set_power("nat2", True)
    with pytest.raises(FileNotFoundError):
        lab.transport("nat2").read_file("/etc/motd")
    assert lab.transport("nat2") is not guest  # the channel to the reverted VM was dropped
    assert lab.guest_address("nat2", "eth0") is not None  # it booted and took a lease again
    assert lab.snapshots.snapshot_names("nat2") == ["clean"]


def test_a_snapshot_with_memory_resumes_the_guest_running(lab):
    before = lab.guest_address("centos", "eth0")
    assert ok(lab, "snapshot", Snapshot(vms=["centos"], name="live", memory=True)) == {
        "centos": "snapshot 'live' taken, with the guest's memory"}
    ok(lab, "configure_guest", ConfigureGuest(vms=["centos"], interface="eth0", address="10.0.0.77/24",
                                              gateway="10.0.0.2", apply=True))
    assert str(lab.guest_address("centos", "eth0")) == "10.0.0.77"
    late = "setsid -f sh -c 'sleep 300; echo late > /tmp/late' >/dev/null 2>&1 </dev/null"
    assert lab.transport("centos").run(late).ok  # a process the class left running in the guest

    detail = ok(lab, "revert_snapshot", RevertSnapshot(vms=["centos"], name="live", power_on=False))
    assert detail == {"centos": "reverted to 'live', running (the snapshot kept the guest's memory)"}
    assert lab.guest_address("centos", "eth0") == before
    assert "IPADDR=10.0.0.101" in lab.transport("centos").read_file(IFCFG)
    lab.clock.sleep(400)  # its time would have come: it died with the revert
    with pytest.raises(FileNotFoundError):
        lab.transport("centos").read_file("/tmp/late")


def test_power_on_false_leaves_it_off_and_a_missing_name_lists_the_names(lab):
    ok(lab, "snapshot", Snapshot(vms=["win7"], name="week 1"))
    ok(lab, "snapshot", Snapshot(vms=["win7"], name="week 2"))
    assert ok(lab, "revert_snapshot", RevertSnapshot(vms=["win7"], name="week 1", power_on=False)) == {
        "win7": "reverted to 'week 1', powered off (power_on: false)"}
    assert lab.hypervisor.powered_on("win7") is False
    out = run_step(step("revert_snapshot", RevertSnapshot(vms=["win7", "nat2"], name="week 3")), lab)
    assert out.vms["win7"].error == "no snapshot 'week 3' to revert to (its snapshots: 'week 1', 'week 2')"
    assert out.vms["nat2"].error == "no snapshot 'week 3' to revert to (it has no snapshots)"
    with pytest.raises(BackendError, match=r"no snapshot 'week 3' of win7 in the simulated lab \(its snapshots: "
                                           r"'week 1', 'week 2'\)"):
        lab.snapshots.revert_snapshot("win7", "week 3")


def test_the_wait_for_ip_timeout_says_why_in_the_labs_words(lab):
    ok(lab, "set_mode", SetMode(vms=["nat2"], mode="hostonly"))  # the guest keeps its NAT lease
    out = run_step(step("wait_for_ip", WaitForIp(vms=["nat2"], timeout=5)), lab)
    error = out.vms["nat2"].error or ""
    assert error.startswith("eth0 has no address in 192.168.56.0/24 after 5 s: the guest still holds 10.0.0.")
    assert error.endswith(", outside hostonly, until its network is restarted (as the simulated lab seed-lab has it)")

