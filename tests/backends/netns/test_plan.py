"""The lab plan is pure: checked here without root."""

from __future__ import annotations

import pytest

from labkit.errors import InputError
from labkit.inventory import load_inventory
from labkit.backends.netns.plan import make_plan, neighbour_entries
from tests.conftest import REPO


def test_seed_plan_shape():
    plan = make_plan(load_inventory(REPO / "inventory" / "seed-netns.yml"))
    assert len(plan.namespaces) == 10  # sw, inet, router, host, nat device, 2 DHCP servers, 3 VMs
    assert all(ns.startswith(plan.prefix + "-") for ns in plan.namespaces)
    names = [p.ifname for p in plan.ports] + [p.port for p in plan.ports]
    names += [p.port for vm in plan.vms.values() for p in vm.ports]
    assert all(len(n) <= 15 for n in names)  # Linux interface names
    assert plan.segments["bridged"].bridge == plan.segments["lan"].bridge
    assert {vm.flavour for vm in plan.vms.values()} == {"rhel", "debian"}
    ns, host_side, nat_side = plan.natdevs["nat"]
    assert host_side.network == nat_side.network and host_side.ip != nat_side.ip


def test_windows_guests_are_refused_with_the_field():
    with pytest.raises(InputError, match="runs Linux") as err:
        make_plan(load_inventory(REPO / "inventory" / "seed-lab.yml"))
    assert err.value.field == "host.os"


def test_neighbour_entries_count_on_link_peers_and_gateways():
    inv = load_inventory(REPO / "inventory" / "seed-netns.yml")
    # centos and nat2 share VMnet8 (1 peer each + the NAT gateway), win7 is alone on the LAN (+ router)
    assert neighbour_entries(inv) == (1 + 1) * 2 + (0 + 1)


def test_firewalls_are_carried_into_the_plan():
    inv = load_inventory(REPO / "tests" / "backends" / "netns" / "model-rules.yml")
    plan = make_plan(inv)
    assert {name for name, vm in plan.vms.items() if vm.icmp_firewall} == {"fw"}
    assert plan.host_icmp_firewall is False
    host = inv.host.model_copy(update={"icmp_firewall": True})
    assert make_plan(inv.model_copy(update={"host": host})).host_icmp_firewall is True
