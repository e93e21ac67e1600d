"""The simulated network's answers to pings (answers.py): what a source reads from its class's
memo must be what it would get asked target by target, its own addresses included."""

from __future__ import annotations

import pytest

from labkit.backends import open_lab
from labkit.backends.sim.answers import Answers
from labkit.inventory import inventory_from_data


def _lab_data(n: int) -> dict:
    """n VMs, most of them alike (so sources share classes): NAT with DHCP, a few static, some
    host-only and bridged, some Windows, some with an ICMP firewall."""
    vms = []
    for i in range(n):
        net = "hostonly" if i % 6 == 0 else "bridged" if i % 6 == 1 else "nat"
        config: dict = {"dhcp": True}
        if net == "nat" and i % 4 == 3:
            config = {"address": f"10.0.0.{i + 3}/24", "gateway": "10.0.0.2", "dns": ["10.0.0.2"]}
        windows = i % 5 == 4
        vms.append({"name": f"vm{i:02d}", "os": "windows" if windows else "linux",
                    "dialect": "netsh" if windows else "ifcfg", "icmp_firewall": i % 3 == 2,
                    "adapters": [{"interface": "eth0", "label": "Network adapter 1", "network": net,
                                  "mac": f"00:0c:29:00:00:{i:02x}", "config": config}]})
    nets = {
        "bridged": {"type": "bridged", "backend_network": "VMnet0"},
        "nat": {"type": "nat", "backend_network": "VMnet8", "subnet": "10.0.0.0/24", "gateway": "10.0.0.2",
                "host_adapter": {"address": "10.0.0.1"},
                "dhcp": {"server": "10.0.0.254", "start": "10.0.0.128", "end": "10.0.0.253"}},
        "hostonly": {"type": "hostonly", "backend_network": "VMnet1", "subnet": "192.168.56.0/24",
                     "host_adapter": {"address": "192.168.56.1"},
                     "dhcp": {"server": "192.168.56.254", "start": "192.168.56.128", "end": "192.168.56.253"}}}
    lan = {"subnet": "192.168.1.0/24", "router": "192.168.1.1", "wan_address": "198.51.100.7",
           "dhcp": {"start": "192.168.1.101", "end": "192.168.1.199"}}
    return {"lab": "answers", "backend": {"type": "sim"}, "host": {"lan_address": "192.168.1.100", "os": "windows"},
            "lan": lan, "externals": {"internet": {"address": "203.0.113.10"}}, "networks": nets, "vms": vms}


@pytest.fixture(scope="module")
def world():
    lab = open_lab(inventory_from_data(_lab_data(36), "<answers>"))
    yield lab.world
    lab.close()


def _addresses(world) -> list[str]:
    topo = world.topology()
    return sorted({str(i.ip) for n in topo.nodes.values() for i in n.ifaces}) + ["127.0.0.1"]


@pytest.mark.parametrize("own, odd", [(False, False), (True, False), (False, True)],
                         ids=["without its own address", "with its own addresses", "with a name among them"])
def test_a_class_memo_answers_as_asking_one_by_one(world, own, odd):
    nodes = sorted(n for n in world.topology().nodes if "." not in n)  # a matrix's sources: no lab device
    everyone = _addresses(world) + (["not-an-address"] if odd else [])
    shared = Answers(world)
    seen_memo = 0
    for node in nodes * 2:  # the second round reads every class's memo
        mine = {str(i.ip) for i in world.topology().nodes[node].ifaces}
        targets = everyone if own else [a for a in everyone if a not in mine]
        fresh = Answers(world)  # nothing kept: every target walked
        assert shared.fping(node, targets, 2) == fresh.fping(node, targets, 2), node
        assert shared.pings(node, "windows", targets, 1) == fresh.pings(node, "windows", targets, 1), node
        memo = shared._by_source.get((("fping", 2, max(map(len, targets))), world.predictor().source_class(node)))
        seen_memo += memo is not None and all(t in memo[0] for t in targets)
    assert seen_memo >= len(nodes) or odd  # the second round read memos (a name is never in one)


def test_a_source_pinging_itself_is_not_given_its_class_answer(world):
    """A VM behind an ICMP firewall answers nobody, but its own pings of itself come back: the
    class memo, filled by its equivalent VMs, must not decide its own address."""
    topo = world.topology()
    walled = [n for n, node in topo.nodes.items() if node.icmp_firewall and node.ifaces]
    predictor = world.predictor()
    alike = [n for n in walled if predictor.source_class(n) == predictor.source_class(walled[0])]
    assert len(alike) >= 3
    a, b, c = alike[:3]
    addrs = [str(topo.nodes[n].ifaces[0].ip) for n in (a, b, c)]
    answers = Answers(world)
    for node in (b, c, a):  # b and c fill the class memo with a's address (walled off for them)
        lines, lost, _ = answers.fping(node, addrs, 1)
        assert [" : -" not in line for line in lines] == [n == node for n in (a, b, c)], node
        assert lost
    memo = answers._by_source[(("fping", 1, max(map(len, addrs))), predictor.source_class(a))]
    assert all(t in memo[0] for t in addrs)  # a read the memo
