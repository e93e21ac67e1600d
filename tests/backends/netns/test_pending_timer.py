"""A run killed in safe apply's rollback window, then another run, on real guests
(labkit/guest/pending.py): the second never reports `unchanged` against the file the first left
unconfirmed; it waits for the guest's revert timer (or cancels a long one) and what it reports is
the guest's final state."""

from __future__ import annotations

import time
from ipaddress import IPv4Address, IPv4Interface

import pytest

from labkit.backends import open_lab
from labkit.guest.pending import armed
from labkit.guest.safeapply import safe_apply
from labkit.model import ConfigureGuest, Step
from labkit.netconfig import InterfaceConfig
from labkit.runner import run_step

IFCFG = "/etc/sysconfig/network-scripts/ifcfg-eth0"
NEW = InterfaceConfig("static", IPv4Interface("10.0.0.63/24"), IPv4Address("10.0.0.2"))


class Killed(BaseException):
    """The first run dies after applying, before its proof: nothing after that line of it runs."""


def address(lab, vm):
    nics = lab.hypervisor.guest_nics(vm)
    return nics[0].addresses[0].ip if nics and nics[0].addresses else None


def abandon(lab, vm: str, rollback_after: int) -> str:
    def die(_address):
        raise Killed

    with pytest.raises(Killed):
        safe_apply(lab.transport(vm), "ifcfg", "eth0", NEW, rollback_after=rollback_after,
                   find_address=lambda: address(lab, vm), reach=die, console=lambda: lab.console.open(vm))
    timers = armed(lab.console.open(vm), IFCFG)
    assert [t.seconds for t in timers] == [rollback_after]
    return timers[0].token


def again(lab, vm: str, apply: bool):
    spec = ConfigureGuest(vms=[vm], interface="eth0", address=str(NEW.address), gateway=str(NEW.gateway),
                          apply=apply, rollback_after=10)
    return run_step(Step(name="again", kind="configure_guest", spec=spec), lab).vms[vm]


def settled_state(lab, vm: str):
    """The guest's file and address, after long enough for any timer that was left to fire."""
    time.sleep(12)
    console = lab.console.open(vm)
    assert armed(console, IFCFG) == []
    return console.read_file(IFCFG), address(lab, vm)


def test_a_later_apply_waits_for_the_armed_timer(fresh_lab):
    lab = open_lab(fresh_lab)
    try:
        abandon(lab, "nat2", rollback_after=8)
        started = time.monotonic()
        result = again(lab, "nat2", apply=True)
        assert result.ok, result.error
        assert "unchanged" not in result.detail
        assert "an earlier run left ifcfg-eth0 unconfirmed: waited" in result.detail
        assert "10.0.0.63 confirmed" in result.detail
        assert time.monotonic() - started >= 3  # it did wait for the guest's own timer
        text, now = settled_state(lab, "nat2")
        assert "IPADDR=10.0.0.63" in text and now == IPv4Address("10.0.0.63")  # what it reported
    finally:
        lab.close()


def test_a_later_write_cancels_a_long_armed_timer(fresh_lab):
    lab = open_lab(fresh_lab)
    try:
        token = abandon(lab, "centos", rollback_after=600)
        result = again(lab, "centos", apply=False)
        assert result.ok, result.error
        assert "already so" not in result.detail and "(written, via" in result.detail
        assert f"cancelled its revert timer (600 s) and restored {IFCFG}.labkit-{token}.bak now" in result.detail
        console = lab.console.open("centos")
        assert not console.run(f"pgrep -f 'labkit-revert-[{token[0]}]{token[1:]}'").ok  # gone, not sleeping
        assert "IPADDR=10.0.0.63" in console.read_file(IFCFG)
        assert armed(console, IFCFG) == []
    finally:
        lab.close()
