"""Safe apply on the simulated lab: the same protocol the real guests run (timer, detached apply,
network proof, rollback), so playbooks with `apply: true` can be checked offline."""

from __future__ import annotations

from ipaddress import IPv4Address

from labkit.backends import open_lab
from labkit.inventory import load_inventory
from labkit.model import ConfigureGuest, Step
from labkit.runner import run_step
from tests.conftest import REPO

IFCFG = "/etc/sysconfig/network-scripts/ifcfg-eth0"


def apply(lab, vm, **kw):
    spec = ConfigureGuest(vms=[vm], interface="eth0", apply=True, rollback_after=5, **kw)
    return run_step(Step(name="apply", kind="configure_guest", spec=spec), lab).vms[vm]


def test_good_change_confirmed_and_bad_one_rolled_back():
    lab = open_lab(load_inventory(REPO / "inventory" / "seed-lab.yml"))
    good = apply(lab, "nat2", address="10.0.0.60/24", gateway="10.0.0.2")
    assert good.ok and "10.0.0.60 confirmed" in good.detail, good
    confirmed = lab.transport("nat2").read_file(IFCFG)
    bad = apply(lab, "nat2", address="172.31.0.5/24", gateway="172.31.0.1")
    assert not bad.ok and "rolled back" in bad.error and "answers again at 10.0.0.60" in bad.error, bad
    assert lab.transport("nat2").read_file(IFCFG) == confirmed
    assert lab.guest_address("nat2", "eth0") == IPv4Address("10.0.0.60")
    kept = [p for p in lab.transport("nat2").files if ".labkit-" in p and p.endswith(".bak")]
    assert len(kept) == 2  # every change keeps its backup


def test_rollback_after_comes_from_the_step_then_the_vm_then_the_default():
    from labkit.inventory import inventory_from_data
    from labkit.yamlsrc import load

    data = load(REPO / "inventory" / "seed-lab.yml").data
    next(vm for vm in data["vms"] if vm["name"] == "nat2")["rollback_after"] = 7
    lab = open_lab(inventory_from_data(data))
    bad = {"address": "172.31.0.5/24", "gateway": "172.31.0.1"}
    spec = ConfigureGuest(vms=["nat2"], interface="eth0", apply=True, **bad)
    from_vm = run_step(Step(name="a", kind="configure_guest", spec=spec), lab).vms["nat2"]
    assert "within 7 s" in from_vm.error, from_vm
    from_step = apply(lab, "nat2", **bad)  # rollback_after=5 in the step wins
    assert "within 5 s" in from_step.error, from_step
    plain = open_lab(load_inventory(REPO / "inventory" / "seed-lab.yml"))
    default = run_step(Step(name="a", kind="configure_guest", spec=spec), plain).vms["nat2"]
    assert "within 60 s" in default.error, default
