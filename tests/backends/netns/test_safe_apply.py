"""Safe apply with real guests: a change that strands a VM undoes itself; a good one stays."""

from __future__ import annotations

import time
from ipaddress import IPv4Address, IPv4Interface

import pytest

from labkit.backends import open_lab
from labkit.model import ConfigureGuest, Step
from labkit.runner import run_step

IFCFG = "/etc/sysconfig/network-scripts/ifcfg-eth0"


def apply(lab, vm, **kw):
    spec = ConfigureGuest(vms=[vm], interface="eth0", apply=True, rollback_after=8, **kw)
    return run_step(Step(name="apply", kind="configure_guest", spec=spec), lab).vms[vm]


def address(lab, vm):
    nics = lab.hypervisor.guest_nics(vm)
    return nics[0].addresses[0].ip if nics and nics[0].addresses else None


def backups(lab, vm):
    return lab.console.open(vm).run("ls /etc/sysconfig/network-scripts/ | grep -c labkit- || true").stdout.strip()


def test_good_static_change_is_confirmed_and_stays(fresh_lab):
    lab = open_lab(fresh_lab)
    try:
        result = apply(lab, "nat2", address="10.0.0.60/24", gateway="10.0.0.2")
        assert result.ok, result.error
        assert "10.0.0.60 confirmed" in result.detail
        assert address(lab, "nat2") == IPv4Address("10.0.0.60")
        assert lab.transport("nat2").run("true").ok
        assert backups(lab, "nat2") == "1"  # the previous file is kept
    finally:
        lab.close()


def test_wrong_subnet_and_wrong_gateway_roll_back_by_themselves(fresh_lab):
    lab = open_lab(fresh_lab)
    try:
        before = address(lab, "nat2")
        original = lab.console.open("nat2").read_file(IFCFG)
        others = {vm: address(lab, vm) for vm in ("centos", "win7")}
        for kw in ({"address": "172.31.0.5/24", "gateway": "172.31.0.1"},
                   {"address": "10.0.0.61/24", "gateway": "10.0.0.99"}):
            result = apply(lab, "nat2", **kw)
            assert not result.ok and "rolled back" in result.error, result
            assert "answers again" in result.error
            assert lab.console.open("nat2").read_file(IFCFG) == original  # never half-written, restored
            assert address(lab, "nat2") == before
        assert {vm: address(lab, vm) for vm in ("centos", "win7")} == others  # nobody else touched
        assert backups(lab, "nat2") == "2"
    finally:
        lab.close()


def test_static_to_dhcp_is_confirmed(fresh_lab):
    lab = open_lab(fresh_lab)
    try:
        result = apply(lab, "centos", dhcp=True)
        assert result.ok, result.error
        now = address(lab, "centos")
        assert now != IPv4Address("10.0.0.101") and now in fresh_lab.networks["nat"].subnet
        assert "BOOTPROTO=dhcp" in lab.console.open("centos").read_file(IFCFG)
    finally:
        lab.close()


def test_debian_guest_good_then_wrong_gateway(fresh_lab):
    lab = open_lab(fresh_lab)
    try:
        good = apply(lab, "win7", address="192.168.1.60/24", gateway="192.168.1.1")
        assert good.ok, good.error
        assert address(lab, "win7") == IPv4Address("192.168.1.60")
        bad = apply(lab, "win7", address="192.168.1.61/24", gateway="192.168.1.99")
        assert not bad.ok and "rolled back" in bad.error
        assert address(lab, "win7") == IPv4Address("192.168.1.60")
        assert "address 192.168.1.60" in lab.console.open("win7").read_file("/etc/network/interfaces")
    finally:
        lab.close()


def test_losing_labkit_session_mid_apply_rolls_back(fresh_lab):
    """labkit never gets through to the guest after the change (a cut SSH session, a crash): the
    guest's own timer restores it."""
    from labkit.errors import TransportError
    from labkit.netconfig import InterfaceConfig
    from labkit.guest.safeapply import RolledBack, safe_apply

    lab = open_lab(fresh_lab)
    try:
        before = address(lab, "nat2")
        cfg = InterfaceConfig("static", IPv4Interface("10.0.0.62/24"), IPv4Address("10.0.0.2"))

        def cut(_address):
            raise TransportError("connection cut")

        with pytest.raises(RolledBack, match="connection cut"):
            safe_apply(lab.transport("nat2"), "ifcfg", "eth0", cfg, rollback_after=6,
                       find_address=lambda: address(lab, "nat2"), reach=cut)
        for _ in range(50):  # the guest reverts by itself, whatever labkit does
            if address(lab, "nat2") == before:
                break
            time.sleep(0.2)
        assert address(lab, "nat2") == before
    finally:
        lab.close()


def test_dead_revert_timer_is_covered_by_the_console(fresh_lab):
    """The guest's timer dies before it fires (killed, as an OOM kill or a reboot of the shell would):
    labkit sees no "reverted" marker through the console and restores the guest there itself."""
    from labkit.errors import TransportError
    from labkit.netconfig import InterfaceConfig
    from labkit.guest.safeapply import RolledBack, safe_apply

    lab = open_lab(fresh_lab)
    try:
        before = address(lab, "nat2")
        original = lab.console.open("nat2").read_file(IFCFG)
        cfg = InterfaceConfig("static", IPv4Interface("172.31.0.5/24"), IPv4Address("172.31.0.1"))
        killed = []

        def kill_timer_then_fail(_address):
            if not killed:  # the bracket keeps pkill from matching its own shell
                killed.append(lab.console.open("nat2").run("pkill -f 'labkit-revert-[2]'").exit_status)
            raise TransportError("no route to the new address")

        with pytest.raises(RolledBack, match="did not fire, so labkit restored") as err:
            safe_apply(lab.transport("nat2"), "ifcfg", "eth0", cfg, rollback_after=6,
                       find_address=lambda: address(lab, "nat2"),
                       reach=lambda a: kill_timer_then_fail(a) if a == cfg.address.ip else lab.network_transport("nat2", a),
                       console=lambda: lab.console.open("nat2"))
        assert killed == [0]  # a timer was running and was killed
        assert f"answers again at {before}" in str(err.value)
        assert lab.console.open("nat2").read_file(IFCFG) == original
        assert address(lab, "nat2") == before
    finally:
        lab.close()
