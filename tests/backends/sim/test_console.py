"""The simulated lab's console and its VMs' transports take the real backends' paths: a Console
for every VM, and FallbackTransport (SSH while the host reaches the guest, else the console)."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from labkit.backends.transports.fallback import FallbackTransport
from labkit.errors import BackendError, TransportError, UnreachableError
from labkit.model import ConfigureGuest, PingMatrix, RestartNetwork, Step
from labkit.protocols import Console, GuestTransport
from labkit.runner import run_step

IFCFG = "/etc/sysconfig/network-scripts/ifcfg-eth0"


def test_console_reaches_every_vm_and_nothing_else(lab):
    console: Console = lab.console
    assert all(console.reaches(vm) for vm in ("centos", "win7", "nat2"))
    assert not any(console.reaches(n) for n in ("host", "router", "internet"))
    channel = console.open("nat2")
    assert isinstance(channel, GuestTransport) and channel.kind == "console"
    assert console.open("nat2") is channel  # one per VM for the run
    with pytest.raises(BackendError, match="'router' is not a VM"):
        console.open("router")


def test_console_works_whatever_the_guest_network(lab):
    hv = lab.hypervisor
    centos = lab.inventory.vm("centos").adapters[0]
    hv.set_adapter_network("centos", centos, "hostonly")  # its 10.0.0.101 is now on the wrong segment
    hv.set_adapter_network("nat2", lab.inventory.vm("nat2").adapters[0], "bridged")
    con = lab.console.open("centos")
    assert "IPADDR=10.0.0.101" in con.read_file(IFCFG)
    assert con.run("ip -4 -o addr show dev eth0").ok
    with pytest.raises(UnreachableError, match="connect timed out"):
        lab.network_transport("centos", IPv4Address("10.0.0.101"))


def test_console_refuses_a_powered_off_vm(lab):
    con = lab.console.open("nat2")
    lab.hypervisor.set_power("nat2", False)
    with pytest.raises(TransportError, match="nat2 is powered off: no console"):
        con.run("true")
    with pytest.raises(TransportError, match="nat2 is powered off: no console"):
        lab.console.open("nat2")
    lab.hypervisor.set_power("nat2", True)
    assert con.run("true").ok


def test_vm_transport_is_the_fallback_transport_over_ssh_then_console(lab):
    t = lab.transport("nat2")
    assert isinstance(t, FallbackTransport)
    assert t.run("hostname").stdout == "nat2\n" and t.kind == "ssh"
    lab.host_adapters.set_host_adapter("nat", False)  # the host loses its way into VMnet8
    assert t.run("hostname").ok and t.kind == "console"
    assert t.used == ["ssh", "console"]
    for node in ("host", "router", "internet"):
        assert lab.transport(node).kind == "sim"


def test_ssh_leg_follows_the_guest_address(lab):
    t = lab.transport("nat2")
    t.run("true")
    assert t.kind == "ssh"
    old = lab.guest_address("nat2", "eth0")
    t.write_file(IFCFG, t.read_file(IFCFG).replace("BOOTPROTO=dhcp", "BOOTPROTO=static\nIPADDR=10.0.0.77\n"
                                                   "NETMASK=255.255.255.0"))
    assert t.run("/etc/init.d/network restart").ok
    assert lab.guest_address("nat2", "eth0") == IPv4Address("10.0.0.77") != old
    assert t.run("true").ok and t.kind == "ssh"  # a new SSH connection at the new address
    with pytest.raises(UnreachableError, match="nothing of it answers at"):
        lab.network_transport("nat2", old)


def test_matrix_reports_the_channel_each_source_used(lab):
    lab.host_adapters.set_host_adapter("nat", False)
    spec = PingMatrix(sources=["host", "win7", "nat2"], targets=["internet"], count=1, expect="model")
    matrix = run_step(Step(name="m", kind="ping_matrix", spec=spec), lab).matrix
    assert {c.source: c.observed.via for c in matrix.cells} == {"host": "sim", "win7": "ssh", "nat2": "console"}


def test_runner_restarts_and_windows_changes_go_through_the_console(lab):
    restart = RestartNetwork(vms=["nat2"], interface="eth0")
    out = run_step(Step(name="r", kind="restart_network", spec=restart), lab).vms["nat2"]
    assert out.ok and out.detail == "eth0 restarted (via console)", out
    spec = ConfigureGuest(vms=["win7"], interface="eth0", address="192.168.1.60/24", gateway="192.168.1.1")
    out = run_step(Step(name="c", kind="configure_guest", spec=spec), lab).vms["win7"]
    assert out.ok and out.detail.endswith("via console)"), out
