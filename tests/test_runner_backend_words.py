"""What the runner says for a backend that lacks something: a Lab without snapshots fails the
snapshot steps per VM (labkit check refuses them first; a Lab built in code may still lack them), a
hypervisor that cannot explain a missing address still gets a wait_for_ip timeout naming the
backend, and an error that starts with the VM's name (as transports' do) is said under it once."""

from __future__ import annotations

from labkit.backends import open_lab
from labkit.errors import TransportError
from labkit.inventory import load_inventory
from labkit.model import RestartNetwork, RevertSnapshot, SetMode, Snapshot, Step, WaitForIp
from labkit.protocols import ExplainsNoAddress
from labkit.runner import run_step
from tests.conftest import REPO


class Plain:
    """The simulated lab with some of it hidden: no snapshots, a hypervisor without its
    no_address_reason, and transports that fail the way an SSH transport words it."""

    def __init__(self) -> None:
        self.inner = open_lab(load_inventory(REPO / "inventory" / "seed-lab.yml"))
        self.snapshots = None
        self.console = None
        self.hypervisor = PlainHypervisor(self.inner.hypervisor)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def transport(self, node: str):
        raise TransportError(f"{node}: {node} (root@10.0.0.101:22): connection refused")


class PlainHypervisor:
    def __init__(self, inner) -> None:
        self.inner = inner

    def __getattr__(self, name: str):
        if name == "no_address_reason":
            raise AttributeError(name)
        return getattr(self.inner, name)


def step(kind: str, spec) -> Step:
    return Step(name=kind, kind=kind, spec=spec)


def test_a_lab_without_snapshots_fails_the_steps_per_vm():
    lab = Plain()
    for spec in (Snapshot(vms=["centos"], name="x"), RevertSnapshot(vms=["centos"], name="x")):
        out = run_step(step("snapshot", spec), lab)  # type: ignore[arg-type]
        assert (out.vms["centos"].ok, out.vms["centos"].error) == (
            False, "the sim backend cannot take or revert VM snapshots")


def test_a_wait_for_ip_timeout_names_the_backend_when_the_hypervisor_cannot_say_more():
    lab = Plain()
    assert not isinstance(lab.hypervisor, ExplainsNoAddress)
    assert isinstance(lab.inner.hypervisor, ExplainsNoAddress)
    run_step(step("set_mode", SetMode(vms=["nat2"], mode="hostonly")), lab)  # type: ignore[arg-type]
    out = run_step(step("wait_for_ip", WaitForIp(vms=["nat2"], timeout=3)), lab)  # type: ignore[arg-type]
    assert out.vms["nat2"].error == ("eth0 has no address in 192.168.56.0/24 after 3 s: the sim backend reports "
                                     "no IPv4 address on the NIC with MAC 00:0c:29:00:00:02")


def test_an_error_starting_with_the_vms_name_names_it_once():
    out = run_step(step("restart_network", RestartNetwork(vms=["nat2"])), Plain())  # type: ignore[arg-type]
    assert out.vms["nat2"].error == "nat2 (root@10.0.0.101:22): connection refused"
