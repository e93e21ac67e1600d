"""The simulated backend honours the hypervisor protocol and the guest transport like a real one."""

from __future__ import annotations

from ipaddress import IPv4Interface

import pytest

from labkit.backends import open_lab
from labkit.errors import BackendError, TransportError
from labkit.protocols import Hypervisor
from labkit.inventory import load_inventory
from labkit.protocols import GuestTransport
from tests.conftest import REPO

IFCFG = "/etc/sysconfig/network-scripts/ifcfg-eth0"


def adapter(lab, vm):
    return lab.inventory.vm(vm).adapters[0]


def test_protocols_are_implemented(lab):
    assert isinstance(lab.transport("centos"), GuestTransport)
    hv: Hypervisor = lab.hypervisor
    assert hv.kind == "sim"


def test_boot_state_follows_the_guest_files_and_dhcp(lab):
    nics = {vm: lab.hypervisor.guest_nics(vm)[0] for vm in ("centos", "win7", "nat2")}
    assert nics["centos"].addresses == (IPv4Interface("10.0.0.101/24"),)  # from its static ifcfg-eth0
    assert nics["win7"].addresses[0].ip in lab.inventory.lan.subnet  # bridged: the home router's DHCP
    assert str(nics["nat2"].addresses[0]) == "10.0.0.128/24"  # first lease of VMnet8's pool


def test_set_adapter_network_is_idempotent_and_keeps_the_old_address(lab):
    hv, ad = lab.hypervisor, adapter(lab, "centos")
    assert hv.set_adapter_network("centos", ad, "bridged") is True
    assert hv.set_adapter_network("centos", ad, "bridged") is False
    assert hv.adapter_network("centos", ad) == "bridged"
    # like VMware: the guest still holds 10.0.0.101 until it re-addresses
    assert hv.guest_nics("centos")[0].addresses == (IPv4Interface("10.0.0.101/24"),)
    with pytest.raises(BackendError):
        hv.set_adapter_network("centos", ad, "nosuchnet")


def test_host_adapter_toggle(lab):
    hv = lab.hypervisor
    assert hv.host_adapter_enabled("nat")
    assert hv.set_host_adapter("nat", False) is True
    assert hv.set_host_adapter("nat", False) is False
    assert not hv.host_adapter_enabled("nat")
    with pytest.raises(BackendError):
        hv.set_host_adapter("bridged", False)


def test_power_off_drops_addresses_and_commands(lab):
    hv = lab.hypervisor
    assert hv.set_power("nat2", False) is True
    assert hv.guest_nics("nat2") == []
    with pytest.raises(TransportError, match="nat2 is powered off: no console"):  # as on netns
        lab.transport("nat2").run("hostname")
    assert hv.set_power("nat2", True) is True
    assert str(hv.guest_nics("nat2")[0].addresses[0]) == "10.0.0.128/24"  # same lease back


def test_transport_files_and_commands(lab):
    t = lab.transport("centos")
    text = t.read_file(IFCFG)
    assert "IPADDR=10.0.0.101" in text
    t.write_file("/tmp/x", "hello\n")
    assert t.read_file("/tmp/x") == "hello\n"
    with pytest.raises(FileNotFoundError):
        t.read_file("/etc/nope")
    r = t.run("no-such-tool --flag")
    assert r.exit_status == 127 and "not found" in r.stderr
    r = t.run("ip -4 -o addr show dev eth0")
    assert r.ok and "inet 10.0.0.101/24" in r.stdout
    assert t.run("ip -4 -o addr show dev eth9").exit_status == 1


def test_network_restart_reads_the_edited_file(lab):
    hv, t = lab.hypervisor, lab.transport("centos")
    hv.set_adapter_network("centos", adapter(lab, "centos"), "bridged")
    t.write_file(IFCFG, t.read_file(IFCFG).replace("BOOTPROTO=static", "BOOTPROTO=dhcp"))
    r = t.run("/etc/init.d/network restart")
    assert r.ok, r.stdout
    assert "Determining IP information for eth0... done." in r.stdout
    addr = hv.guest_nics("centos")[0].addresses[0]
    assert addr.ip in lab.inventory.lan.subnet


def test_dhcp_without_a_server_fails_like_dhclient(lab):
    # hostonly has a DHCP server in the seed lab; build a lab whose hostonly has none
    inv = lab.inventory
    nets = dict(inv.networks)
    nets["hostonly"] = nets["hostonly"].model_copy(update={"dhcp": None})
    lab2 = open_lab(inv.model_copy(update={"networks": nets}))
    t = lab2.transport("centos")
    lab2.hypervisor.set_adapter_network("centos", adapter(lab2, "centos"), "hostonly")
    t.write_file(IFCFG, t.read_file(IFCFG).replace("BOOTPROTO=static", "BOOTPROTO=dhcp"))
    r = t.run("/etc/init.d/network restart")
    assert r.exit_status == 1 and "failed." in r.stdout
    assert lab2.hypervisor.guest_nics("centos")[0].addresses == ()


def test_ping_answers_in_each_os_format(lab):
    linux = lab.transport("nat2").run("ping -n -c 2 -W 1 -w 3 10.0.0.1")
    assert linux.ok and "2 packets transmitted, 2 received" in linux.stdout
    windows = lab.transport("host").run("ping -n 2 -w 1000 10.0.0.128")
    assert windows.ok and "Packets: Sent = 2, Received = 2" in windows.stdout
    lost = lab.transport("host").run("ping -n 2 -w 1000 10.0.0.250")
    assert "Received = 0" in lost.stdout


def test_same_inputs_same_results():
    inv = load_inventory(REPO / "inventory" / "seed-lab.yml")
    outs = []
    for _ in range(2):
        lab = open_lab(inv)
        outs.append(lab.transport("nat2").run("fping -q -C 3 -t 500 -r 0 10.0.0.1 192.168.1.1 203.0.113.10"))
    assert outs[0] == outs[1]
