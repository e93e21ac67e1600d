"""set_link on the netns lab with real packets: the VM's switch port goes down (the guest's veth
loses its carrier, its address stays), real pings to and from it fail, observe() says its adapter
has no network and the model predicts exactly the cells ping sees, with "disconnected" as the
reason; the port comes back up and so does the traffic. Built as its own lab (links-netns)."""

from __future__ import annotations

from ipaddress import IPv4Interface

import pytest

from labkit.backends import open_lab
from labkit.model import PingMatrix, SetLink, Step
from labkit.observe import observe
from labkit.runner import run_step
from tests.contract.guests import netns_lab

SOURCES = ["host", "nat2", "centos", "win7"]
TARGETS = ["centos", "nat2", "host", "router"]


@pytest.fixture(scope="module")
def lab():
    with netns_lab("links-netns") as inv:
        lab = open_lab(inv, "netns")
        try:
            yield lab
        finally:
            lab.close()


def matrix(lab) -> dict[tuple[str, str], object]:
    spec = PingMatrix(sources=SOURCES, targets=TARGETS, count=1, timeout=1)
    out = run_step(Step(name="m", kind="ping_matrix", spec=spec), lab)
    assert out.error is None and out.matrix is not None
    return {(c.source, c.target): c for c in out.matrix.cells}


def set_link(lab, connected: bool) -> str:
    out = run_step(Step(name="link", kind="set_link", spec=SetLink(vms=["centos"], connected=connected)), lab)
    assert out.vms["centos"].ok, out.vms["centos"].error
    return out.vms["centos"].detail


def test_unplugged_vm_loses_its_link_and_gets_it_back(lab):
    ad = lab.inventory.vm("centos").adapters[0]
    before = matrix(lab)
    assert before[("host", "centos")].observed.verdict == "reachable"
    assert before[("centos", "nat2")].observed.verdict == "reachable"

    assert set_link(lab, False) == "eth0 cable unplugged (changed)"
    try:
        assert lab.links.link_connected("centos", ad) is False
        assert lab.hypervisor.adapter_network("centos", ad) is None
        state = observe(lab)
        assert state.vms["centos"].ifaces[0].network is None
        assert state.vms["centos"].ifaces[0].address == IPv4Interface("10.0.0.101/24")  # the guest keeps it
        cells = matrix(lab)
        wrong = [(k, c.expected, c.observed.verdict, c.observed.reason) for k, c in cells.items() if not c.ok]
        assert not wrong  # the model predicts every cell real ping sees
        for (src, tgt), cell in cells.items():
            if "centos" in (src, tgt):
                assert cell.observed.verdict == "unreachable", (src, tgt, cell.observed)
                assert "centos's eth0 is disconnected" in (cell.expected_reason or "")
        assert cells[("nat2", "host")].observed.verdict == "reachable"  # its segment still works
    finally:
        assert set_link(lab, True) == "eth0 cable plugged in (nat) (changed)"
    assert lab.hypervisor.adapter_network("centos", ad) == "nat"
    after = matrix(lab)
    assert {k: c.observed.verdict for k, c in after.items()} == {k: c.observed.verdict for k, c in before.items()}
