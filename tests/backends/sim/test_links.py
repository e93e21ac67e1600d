"""set_link on the simulated lab: an unplugged adapter keeps its network and its guest keeps its
address, but nothing hears it; the matrix and the model both say so, with "disconnected" as the
reason, and plugging the cable back in brings a static guest back at once (a DHCP guest renews
only when its network is restarted, as a real one)."""

from __future__ import annotations

from ipaddress import IPv4Interface


from labkit.model import PingMatrix, RestartNetwork, SetLink, SetMode, Step, WaitForIp
from labkit.observe import observe
from labkit.runner import run_step


def step(kind: str, spec) -> Step:
    return Step(name=f"{kind} {id(spec)}", kind=kind, spec=spec)


def matrix(lab) -> dict[tuple[str, str], object]:
    spec = PingMatrix(sources=["host", "nat2", "centos"], targets=["centos", "nat2", "host"], count=1)
    out = run_step(step("ping_matrix", spec), lab)
    assert out.error is None and out.matrix is not None
    return {(c.source, c.target): c for c in out.matrix.cells}


def plug(lab, vm: str, connected: bool) -> str:
    out = run_step(step("set_link", SetLink(vms=[vm], connected=connected)), lab)
    assert out.vms[vm].ok, out.vms[vm].error
    return out.vms[vm].detail


def test_unplugged_vm_is_unreachable_for_the_model_and_the_matrix(lab):
    before = matrix(lab)
    assert before[("host", "centos")].observed.verdict == "reachable"

    assert plug(lab, "centos", False) == "eth0 cable unplugged (changed)"
    assert plug(lab, "centos", False) == "eth0 cable unplugged (unchanged)"
    state = observe(lab)
    assert state.vms["centos"].ifaces[0].network is None  # no link, as the model reads it
    assert state.vms["centos"].ifaces[0].address == IPv4Interface("10.0.0.101/24")  # the guest keeps it
    cells = matrix(lab)
    for (src, tgt), cell in cells.items():
        assert cell.ok, (src, tgt, cell)  # observed == the model's expectation, everywhere
        if "centos" in (src, tgt):
            assert cell.expected == cell.observed.verdict == "unreachable"
            assert "centos's eth0 is disconnected" in (cell.expected_reason or "")
    assert cells[("host", "centos")].address == "10.0.0.101"  # probed at the address it keeps
    assert cells[("nat2", "host")].observed.verdict == "reachable"  # the others are untouched

    assert plug(lab, "centos", True) == "eth0 cable plugged in (nat) (changed)"
    after = matrix(lab)
    assert {k: c.observed.verdict for k, c in after.items()} == {k: c.observed.verdict for k, c in before.items()}
    assert all(c.ok for c in after.values())


def test_set_mode_moves_an_unplugged_adapter_and_leaves_it_unplugged(lab):
    plug(lab, "centos", False)
    out = run_step(step("set_mode", SetMode(vms=["centos"], mode="hostonly")), lab)
    assert out.vms["centos"].ok and out.vms["centos"].detail == "eth0 -> hostonly (changed), cable unplugged"
    ad = lab.inventory.vm("centos").adapters[0]
    assert lab.hypervisor.adapter_network("centos", ad) is None
    assert plug(lab, "centos", True) == "eth0 cable plugged in (hostonly) (changed)"
    assert lab.hypervisor.adapter_network("centos", ad) == "hostonly"


def test_static_guest_works_again_when_plugged_back_without_a_restart(lab):
    plug(lab, "centos", False)
    assert str(lab.guest_address("centos", "eth0")) == "10.0.0.101"  # unplugging does not touch the guest
    assert matrix(lab)[("host", "centos")].observed.verdict == "unreachable"
    plug(lab, "centos", True)
    assert matrix(lab)[("host", "centos")].observed.verdict == "reachable"  # no restart needed


def test_dhcp_guest_renews_only_when_its_network_restarts(lab):
    plug(lab, "nat2", False)
    restarted = run_step(step("restart_network", RestartNetwork(vms=["nat2"])), lab)
    assert lab.guest_address("nat2", "eth0") is None, restarted.vms["nat2"]  # no lease without a link
    cells = matrix(lab)
    assert cells[("host", "nat2")].observed.verdict == "error"  # no address to probe
    assert "nat2's eth0 is disconnected" in (cells[("host", "nat2")].observed.reason or "")
    plug(lab, "nat2", True)
    assert lab.guest_address("nat2", "eth0") is None  # plugged back: still none until it asks again
    assert run_step(step("restart_network", RestartNetwork(vms=["nat2"])), lab).vms["nat2"].ok
    waited = run_step(step("wait_for_ip", WaitForIp(vms=["nat2"], timeout=30)), lab)
    assert waited.vms["nat2"].ok, waited.vms["nat2"].error
    assert matrix(lab)[("host", "nat2")].observed.verdict == "reachable"
