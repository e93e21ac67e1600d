"""A revert timer left armed by a run that died is settled by the next run (labkit/guest/pending.py):
waited for, or cancelled, and never reported `unchanged` against a file about to be reverted.
On the simulated lab (its guests run the timer on the virtual clock); tests/backends/netns has the
same with real guests."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface

import pytest

from labkit.backends import open_lab
from labkit.guest.pending import armed, record
from labkit.guest.safeapply import safe_apply
from labkit.inventory import load_inventory
from labkit.model import ConfigureGuest, Step
from labkit.netconfig import InterfaceConfig
from labkit.runner import run_step
from tests.conftest import REPO

IFCFG = "/etc/sysconfig/network-scripts/ifcfg-eth0"
NEW = InterfaceConfig("static", IPv4Interface("10.0.0.60/24"), IPv4Address("10.0.0.2"))


class Killed(BaseException):
    """labkit's run ends mid-apply (a kill, Ctrl-C): nothing after this line of it runs."""


def abandon(lab, vm: str, rollback_after: int) -> str:
    """Apply NEW with safe apply and die before confirming it: the guest's timer stays armed (its
    token is returned)."""
    def die(_address):
        raise Killed

    with pytest.raises(Killed):
        safe_apply(lab.transport(vm), "ifcfg", "eth0", NEW, rollback_after=rollback_after,
                   find_address=lambda: None, reach=die, console=lambda: lab.console.open(vm), clock=lab.clock)
    assert "IPADDR=10.0.0.60" in lab.transport(vm).read_file(IFCFG)  # changed, unconfirmed
    timers = armed(lab.transport(vm), IFCFG)
    assert [a.seconds for a in timers] == [rollback_after]
    return timers[0].token


def configure(lab, vm: str, apply: bool):
    spec = ConfigureGuest(vms=[vm], interface="eth0", address="10.0.0.60/24", gateway="10.0.0.2", apply=apply,
                          rollback_after=30)
    return run_step(Step(name="again", kind="configure_guest", spec=spec), lab).vms[vm]


@pytest.fixture
def lab():
    opened = open_lab(load_inventory(REPO / "inventory" / "seed-lab.yml"))
    yield opened
    opened.close()


@pytest.mark.parametrize("apply", [True, False])
def test_a_later_run_waits_for_the_timer_then_makes_the_change_itself(lab, apply):
    abandon(lab, "nat2", rollback_after=60)
    result = configure(lab, "nat2", apply)
    assert result.ok, result
    assert "unchanged" not in result.detail and "already so" not in result.detail
    assert "an earlier run left ifcfg-eth0 unconfirmed: waited 60 s for its revert timer, which restored " \
           f"{IFCFG}.labkit-" in result.detail
    assert ("10.0.0.60 confirmed" if apply else "(written, via") in result.detail
    assert armed(lab.transport("nat2"), IFCFG) == []
    lab.clock.sleep(600)  # nothing left to revert what this run reports
    assert "IPADDR=10.0.0.60" in lab.transport("nat2").read_file(IFCFG)


def test_a_long_timer_is_cancelled_and_its_backup_restored_first(lab):
    token = abandon(lab, "nat2", rollback_after=900)
    result = configure(lab, "nat2", apply=True)
    assert result.ok, result
    assert "cancelled its revert timer (900 s) and restored" in result.detail
    assert "10.0.0.60 confirmed" in result.detail
    assert not any(token in job.cmdline for job in lab.world.jobs)  # the old timer is gone
    lab.clock.sleep(1800)
    assert "IPADDR=10.0.0.60" in lab.transport("nat2").read_file(IFCFG)


def test_a_record_without_its_timer_is_settled_by_restoring_the_backup(lab):
    """The timer was killed (and labkit with it): nothing would ever revert; the record is still
    there, so the next run restores the backup itself rather than trust the unconfirmed file."""
    before = lab.transport("nat2").read_file(IFCFG)
    token = abandon(lab, "nat2", rollback_after=60)
    assert lab.console.open("nat2").run(f"pkill -f 'labkit-revert-[{token[0]}]{token[1:]}'").ok
    backup = lab.transport("nat2").read_file(f"{IFCFG}.labkit-{token}.bak")
    assert backup == before
    result = configure(lab, "nat2", apply=False)
    assert result.ok and "written" in result.detail and f"restored {IFCFG}.labkit-{token}.bak" in result.detail, result
    assert armed(lab.transport("nat2"), IFCFG) == []


def test_records_of_other_files_and_half_written_ones_are_left_alone(lab):
    t = lab.transport("nat2")
    t.write_file("/run/labkit-armed-x1", record("x1", "/etc/sysconfig/network-scripts/ifcfg-eth1", "/b", 60))
    t.write_file("/run/labkit-armed-x2", "token=x2\npath=" + IFCFG + "\n")  # its run died writing it
    assert armed(t, IFCFG) == []
    result = configure(lab, "nat2", apply=False)
    assert result.ok and "earlier run" not in result.detail, result
