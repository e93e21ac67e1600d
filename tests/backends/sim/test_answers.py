"""The simulated network's answers to pings (answers.py): what a source reads from its class's
memo must be what it would get asked target by target, its own addresses included."""

from __future__ import annotations

import pytest

from labkit.backends import open_lab
from labkit.backends.sim.answers import Answers
from tests.generated_lab import build_inventory


@pytest.fixture(scope="module")
def world():
    lab = open_lab(build_inventory(40))  # a few dozen VMs, most of them alike (classes of several)
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
