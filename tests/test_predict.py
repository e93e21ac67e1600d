"""Each reachability rule of ../shared/DOMAIN.md §4, one test each, on hand-built lab states.

The states are built directly (no backend), so these tests pin the model itself: if a rule breaks,
the failing test names it.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface

import pytest

from labkit.inventory import load_inventory
from labkit.predict import Predictor, conflicts, ping
from labkit.state import IfaceState, LabState, VMState, initial_host_adapters
from labkit.topology import Topology
from tests.conftest import REPO


@pytest.fixture(scope="module")
def inv():
    return load_inventory(REPO / "inventory" / "seed-lab.yml")


def vm(name, network, address=None, gateway=None, firewall=False):
    iface = IfaceState("eth0", None, network,
                       IPv4Interface(address) if address else None,
                       IPv4Address(gateway) if gateway else None)
    return VMState(name, "linux", firewall, True, [iface])


def lab(inv, *vms, **host_adapters):
    adapters = initial_host_adapters(inv)
    adapters.update(host_adapters)
    return Topology(LabState(inv, adapters, {v.name: v for v in vms}))


def verdict(topo, src, dst):
    return ping(topo, src, topo.resolve(dst))


NAT_A = ("a", "nat", "10.0.0.128/24", "10.0.0.2")
NAT_B = ("b", "nat", "10.0.0.129/24", "10.0.0.2")
BRIDGED = ("br", "bridged", "192.168.1.106/24", "192.168.1.1")
HOSTONLY = ("ho", "hostonly", "192.168.56.128/24", None)


def test_rule1_same_segment_both_ways(inv):
    t = lab(inv, vm(*NAT_A), vm(*NAT_B))
    assert verdict(t, "a", "b").reachable and verdict(t, "b", "a").reachable
    assert verdict(t, "a", "b").reason == "reachable"  # no translation on one segment


def test_rule2_bridged_vm_and_lan_hosts_both_ways(inv):
    t = lab(inv, vm(*BRIDGED))
    for other in ("host", "router"):
        assert verdict(t, "br", other).reachable, other
        assert verdict(t, other, "br").reachable, other
    assert verdict(t, "br", "internet").reachable


def test_rule3_nat_vm_reaches_what_the_lan_reaches_with_source_translated(inv):
    t = lab(inv, vm(*NAT_A), vm(*BRIDGED))
    for target in ("host", "router", "internet", "br"):
        v = verdict(t, "a", target)
        assert v.reachable, (target, v.reason)
        assert "translated" in v.reason
    assert "192.168.1.100" in verdict(t, "a", "router").reason  # the host's LAN address, not 10.0.0.x


def test_rule4_lan_and_bridged_cannot_reach_a_nat_vm(inv):
    t = lab(inv, vm(*NAT_A), vm(*BRIDGED))
    for src in ("router", "br", "internet"):
        v = verdict(t, src, "a")
        assert v.reachable is False, (src, v.reason)
        assert "10.0.0.128" in v.reason


def test_rule5_host_reaches_nat_and_hostonly_vms_only_through_an_enabled_adapter(inv):
    on = lab(inv, vm(*NAT_A), vm(*HOSTONLY))
    assert verdict(on, "host", "a").reachable and verdict(on, "host", "ho").reachable
    assert verdict(on, "a", "host.nat").reachable
    off = lab(inv, vm(*NAT_A), vm(*HOSTONLY), nat=False, hostonly=False)
    for target in ("a", "ho"):
        v = verdict(off, "host", target)
        assert v.reachable is False and "adapter is disabled" in v.reason
    assert verdict(off, "a", "host.nat").reachable is False
    # ...while the NAT device, which is not the host adapter, still carries the VM out (tutorial §3)
    assert verdict(off, "a", "internet").reachable
    assert verdict(off, "a", "host").reachable


def test_rule6_hostonly_vm_reaches_nothing_beyond_the_host(inv):
    t = lab(inv, vm(*HOSTONLY), vm(*NAT_A))
    assert verdict(t, "ho", "host.hostonly").reachable
    for target in ("router", "internet", "a"):
        assert verdict(t, "ho", target).reachable is False, target
    # even with the host adapter set as its gateway: the host does not forward
    t2 = lab(inv, vm("ho", "hostonly", "192.168.56.128/24", "192.168.56.1"))
    v = verdict(t2, "ho", "internet")
    assert v.reachable is False and "does not forward" in v.reason


def test_rule7_wrong_subnet_or_no_dhcp_is_unreachable_and_says_why(inv):
    wrong = lab(inv, vm("w", "bridged", "10.0.0.101/24", "10.0.0.2"))  # the tutorial before its fix
    v = verdict(wrong, "w", "host")
    assert v.reachable is False and v.reason.startswith("wrong subnet: w's eth0 has 10.0.0.101/24")
    v = verdict(wrong, "host", "w")
    assert v.reachable is False and "wrong subnet" in v.reason
    nodhcp = VMState("n", "linux", False, True,
                     [IfaceState("eth0", None, "hostonly", note="n's eth0: no DHCP server answered on hostonly")])
    t = lab(inv, nodhcp)
    v = verdict(t, "n", "host.hostonly")
    assert v.reachable is False and "no DHCP server" in v.reason
    target = t.resolve("n")
    assert target.address is None and "no DHCP server" in ping(t, "host", target).reason


def test_rule8_wrong_gateway_keeps_the_segment_but_loses_the_rest(inv):
    t = lab(inv, vm("g", "nat", "10.0.0.130/24", "10.0.0.99"), vm(*NAT_A))
    assert verdict(t, "g", "a").reachable
    assert verdict(t, "g", "host.nat").reachable
    v = verdict(t, "g", "internet")
    assert v.reachable is False and "10.0.0.99" in v.reason
    nogw = lab(inv, vm("g", "nat", "10.0.0.130/24", None))
    v = verdict(nogw, "g", "internet")
    assert v.reachable is False and "no default gateway" in v.reason


def test_rule9_guest_firewall_blocks_inbound_echo_only(inv):
    t = lab(inv, vm("fw", "nat", "10.0.0.140/24", "10.0.0.2", firewall=True), vm(*NAT_A))
    v = verdict(t, "a", "fw")
    assert v.reachable is False and "firewall" in v.reason
    assert verdict(t, "fw", "a").reachable
    assert verdict(t, "fw", "internet").reachable


def test_rule10_duplicate_addresses_are_a_conflict_not_a_guess(inv):
    t = lab(inv, vm("x", "nat", "10.0.0.150/24", "10.0.0.2"), vm("y", "nat", "10.0.0.150/24", "10.0.0.2"),
            vm(*NAT_A))
    v = verdict(t, "a", "x")
    assert v.reachable is None and v.expectation is None
    assert "conflict" in v.reason and "x" in v.reason and "y" in v.reason
    assert conflicts(t) == ["10.0.0.150 on nat: x, y"]
    assert v.conflict is not None and (v.conflict.address, v.conflict.holders, v.conflict.segment) == (
        "10.0.0.150", ("x", "y"), "nat")
    # a holder pinging the address is not "own address" either: the other holder has it too
    v = verdict(t, "x", "y")
    assert v.reachable is None and v.conflict.holders == ("x", "y")
    # a holder's own pings: the replies come back to an address two hosts answer for
    v = verdict(t, "x", "a")
    assert v.reachable is None and v.conflict.holders == ("x", "y")


def test_rule10_a_vm_holding_the_hosts_lan_address_is_a_conflict_not_own_address(inv):
    t = lab(inv, vm("squat", "bridged", "192.168.1.100/24", "192.168.1.1"), vm(*BRIDGED))
    for src, dst in (("host", "squat"), ("squat", "host"), ("router", "host"), ("br", "squat")):
        v = verdict(t, src, dst)
        assert v.reachable is None and v.expectation is None, (src, dst, v)
        assert v.conflict.holders == ("host", "squat") and v.conflict.segment == "lan", (src, dst)
    assert "own address" not in verdict(t, "host", "squat").reason
    assert conflicts(t) == ["192.168.1.100 on lan: host, squat"]
    assert verdict(t, "br", "router").reachable  # what does not touch the address is not affected


def test_rule10_a_vm_holding_the_nat_device_address_is_met_on_the_way(inv):
    t = lab(inv, vm("gw", "nat", "10.0.0.2/24", None), vm(*NAT_A))
    v = verdict(t, "a", "internet")  # a's gateway is 10.0.0.2: two hosts answer for it
    assert v.reachable is None and v.conflict.holders == ("gw", "nat.gateway")
    predictor = Predictor(t)
    assert predictor.conflict(t.resolve("a"), t.resolve("internet")) == v.conflict


def test_rule10_a_cell_whose_target_is_contested_is_marked_even_when_the_walk_stops_before(inv):
    t = lab(inv, vm("x", "nat", "10.0.0.150/24", "10.0.0.2"), vm("y", "nat", "10.0.0.150/24", "10.0.0.2"),
            vm(*HOSTONLY))
    predictor = Predictor(t)
    v = predictor.verdict("ho", t.resolve("x"))
    assert v.reachable is False  # nothing forwards out of host-only: the conflict is never reached
    c = predictor.conflict(t.resolve("ho"), t.resolve("x"), v)
    assert c is not None and c.holders == ("x", "y")
    assert predictor.conflict(t.resolve("ho"), t.resolve("host")) is None
    assert predictor.conflict(t.resolve("x"), t.resolve("ho")) == c  # a VM source's own address
    assert {"x", "y"} <= predictor.conflicted


def test_settled_topology_follows_the_chosen_holder_and_keeps_the_conflict(inv):
    """A lab that decides who answers (the sim: the most recent holder) settles the ARP tables."""
    def make():
        return lab(inv, vm("x", "nat", "10.0.0.150/24", "10.0.0.2", firewall=True),
                   vm("y", "nat", "10.0.0.150/24", "10.0.0.2"), vm(*NAT_A))
    for winner, seen in (("x", False), ("y", True)):
        t = make()
        t.settle(lambda seg, ip, holders: next(h for h in holders if h.name == winner))
        assert verdict(t, "a", "x").reachable is seen  # x's firewall drops what reaches x
        loser = "y" if winner == "x" else "x"
        back = verdict(t, loser, "host.nat")
        assert back.reachable is False and f"went to {winner}" in back.reason
        assert verdict(t, winner, "host.nat").reachable
        assert conflicts(t) == ["10.0.0.150 on nat: x, y"]
        assert t.conflict_of("x", IPv4Address("10.0.0.150")).holders == ("x", "y")


def test_host_and_nat_device_are_separate_devices(inv):
    """The NAT device (.2) answers whatever the host adapter's state is."""
    t = lab(inv, vm(*NAT_A), nat=False)
    assert verdict(t, "a", "nat.gateway").reachable


def with_host(inv, **changes):
    """The same lab with the host changed (its OS, its firewall)."""
    return inv.model_copy(update={"host": inv.host.model_copy(update=changes)})


def test_rule3_nat_goes_through_the_hosts_own_stack_to_other_vmnets(inv):
    """vmnat re-sends from the host: a NAT VM reaches a host-only VM (source = the host's VMnet1
    address) while the host's adapter there is enabled, and the host's own adapter addresses."""
    t = lab(inv, vm(*NAT_A), vm(*HOSTONLY))
    v = verdict(t, "a", "ho")
    assert v.reachable and v.reason == "reachable, source translated to 192.168.56.1", v.reason
    assert verdict(t, "a", "host.hostonly").reachable
    assert verdict(t, "a", "hostonly.dhcp").reachable  # another VMnet's DHCP server, through the host
    off = lab(inv, vm(*NAT_A), vm(*HOSTONLY), hostonly=False)
    v = verdict(off, "a", "ho")
    assert v.reachable is False and "the host has no route to 192.168.56.128" in v.reason, v.reason
    assert "adapter is disabled" in v.reason
    # the way back is not symmetric: the host-only VM has no gateway, so it cannot start a flow to the NAT VM
    assert verdict(t, "ho", "a").reachable is False


def test_rule3_nat_to_another_nat_segment(inv):
    data = inv.model_dump()
    data["networks"]["natb"] = {"type": "nat", "subnet": "10.0.9.0/24", "gateway": "10.0.9.2",
                                "host_adapter": {"address": "10.0.9.1", "enabled": True}}
    from labkit.inventory import inventory_from_data

    inv2 = inventory_from_data({k: v for k, v in data.items() if v is not None}, "natb")
    t = lab(inv2, vm(*NAT_A), vm("c", "natb", "10.0.9.50/24", "10.0.9.2"))
    assert verdict(t, "a", "c").reason == "reachable, source translated to 10.0.9.1"
    assert verdict(t, "a", "natb.gateway").reachable  # the other NAT device answers the host
    assert verdict(lab(inv2, vm(*NAT_A), vm("c", "natb", "10.0.9.50/24", "10.0.9.2"), natb=False),
                   "a", "c").reachable is False


BRIDGED_VIA_HOST = ("bh", "bridged", "192.168.1.107/24", "192.168.1.100")  # its gateway is the host
WIDE_HOSTONLY = ("wide", "hostonly", "192.168.56.60/16", None)  # a prefix wider than the segment's


@pytest.mark.parametrize(("os", "reachable"), [("linux", True), ("windows", False)])
def test_rule11_host_answers_on_other_adapters_only_with_the_weak_host_model(inv, os, reachable):
    t = lab(with_host(inv, os=os), vm(*BRIDGED_VIA_HOST), vm(*WIDE_HOSTONLY))
    v = verdict(t, "bh", "host.hostonly")  # arrives on the LAN adapter for the VMnet1 address
    assert v.reachable is reachable, v.reason
    w = verdict(t, "wide", "host")  # 192.168.1.100 is "on-link" for a /16: ARP on VMnet1 for the LAN address
    assert w.reachable is reachable, w.reason
    if not reachable:
        assert "strong host model" in v.reason and "nothing answers ARP for 192.168.1.100 on hostonly" in w.reason
    # the host's address on the adapter the packet arrives on answers either way
    assert verdict(t, "bh", "host").reachable and verdict(t, "wide", "host.hostonly").reachable


def test_host_firewall_does_not_see_what_the_nat_device_resends_to_the_host(inv):
    """With the host's firewall on, echo from outside is dropped, but a NAT VM's echo to the host's
    own addresses is re-sent by vmnat on the host itself: local traffic, not filtered."""
    t = lab(with_host(inv, icmp_firewall=True), vm(*NAT_A), vm(*BRIDGED))
    assert verdict(t, "a", "host").reachable  # via the NAT device: local
    assert verdict(t, "a", "host.hostonly").reachable
    for src, target in (("br", "host"), ("a", "host.nat")):  # these cross an interface
        v = verdict(t, src, target)
        assert v.reachable is False and "host's firewall drops" in v.reason, (src, target, v.reason)
