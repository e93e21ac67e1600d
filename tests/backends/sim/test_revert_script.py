"""Safe apply's revert timer is a script the simulated guest runs with its sh, not a shape it knows:
reworded but equivalent timers behave the same, and the console safety net works on sim."""

from __future__ import annotations

from labkit.backends import open_lab
from labkit.inventory import load_inventory
from labkit.model import ConfigureGuest, Step
from labkit.runner import run_step
from tests.conftest import REPO

IFCFG = "/etc/sysconfig/network-scripts/ifcfg-eth0"
BAD = {"address": "172.31.0.5/24", "gateway": "172.31.0.1"}


class Rewording:
    """The VM's transport, with every revert timer safe apply writes replaced by `reword(text)`."""

    def __init__(self, inner, reword) -> None:
        self.inner, self.reword, self.rewritten = inner, reword, []
        self.kind = inner.kind

    def write_file(self, path, data, mode=0o644):
        if "/labkit-revert-" in path and path.endswith(".sh"):
            data = self.reword(data)
            self.rewritten.append(data)
        self.inner.write_file(path, data, mode)
        self.kind = self.inner.kind

    def read_file(self, path):
        return self.inner.read_file(path)

    def run(self, command, timeout=None):
        result = self.inner.run(command, timeout)
        self.kind = self.inner.kind
        return result

    def close(self):
        self.inner.close()


def equivalent(revert: str) -> str:
    """The same steps in other words: a shebang and comments, variables, the marker's name set
    first, `test` for `[`, the copy and the move on separate lines, the restart quiet."""
    guard, copy, restart, mark, forget = revert.strip().splitlines()
    confirm, armed = guard.split()[2], guard.split()[6]
    backup, staged = copy.split()[1:3]
    target = staged.removesuffix(".labkit-revert")
    marker = mark.split("> ")[1]
    return (f"#!/bin/sh\n# labkit revert timer, reworded\nmarker='{marker}'\nconfirm=\"{confirm}\"\n"
            f"armed={armed}   # its record, until it is settled\n\n"
            f"test -e \"$confirm\" && rm -f \"$armed\" && exit 0\n"
            f"cp {backup} {staged} || exit 1\nmv -f {staged} {target}\n"
            f"( {restart} ) >/dev/null 2>&1\necho reverted >\"$marker\"\n{forget}\n")


def apply(lab, vm, reword=None, **kw):
    if reword is not None and not isinstance(lab.transport(vm), Rewording):
        lab._transports[vm] = Rewording(lab.transport(vm), reword)
    spec = ConfigureGuest(vms=[vm], interface="eth0", apply=True, rollback_after=5, **kw)
    return run_step(Step(name="apply", kind="configure_guest", spec=spec), lab).vms[vm]


def test_a_reworded_timer_confirms_a_good_change_and_rolls_back_a_bad_one():
    lab = open_lab(load_inventory(REPO / "inventory" / "seed-lab.yml"))
    good = apply(lab, "nat2", equivalent, address="10.0.0.60/24", gateway="10.0.0.2")
    assert good.ok and "10.0.0.60 confirmed" in good.detail, good
    confirmed = lab.transport("nat2").read_file(IFCFG)
    bad = apply(lab, "nat2", equivalent, **BAD)
    assert not bad.ok and "rolled back to its previous configuration" in bad.error, bad
    assert "answers again at 10.0.0.60" in bad.error, bad
    assert lab.transport("nat2").read_file(IFCFG) == confirmed
    assert all(text.startswith("#!/bin/sh\n# labkit revert timer, reworded") for text in
               lab.transport("nat2").rewritten) and len(lab.transport("nat2").rewritten) == 2
    lab.clock.sleep(120)  # the confirmed change's timer has long exited: nothing reverts it later
    assert "IPADDR=10.0.0.60" in lab.transport("nat2").read_file(IFCFG)


def test_a_timer_that_never_fires_is_replaced_by_the_console_safety_net():
    lab = open_lab(load_inventory(REPO / "inventory" / "seed-lab.yml"))
    before = lab.transport("nat2").read_file(IFCFG)
    stuck = apply(lab, "nat2", lambda timer: "sleep 86400\n" + timer, **BAD)  # its guest clock "stopped"
    assert not stuck.ok and "restored the previous configuration through the console" in stuck.error, stuck
    assert lab.transport("nat2").read_file(IFCFG) == before
    assert lab.world.jobs == []  # pkill -f ended the stuck timer: it will not revert anything later
    assert lab.guest_address("nat2", "eth0") is not None


def test_the_timer_is_a_job_on_the_guest_clock():
    lab = open_lab(load_inventory(REPO / "inventory" / "seed-lab.yml"))
    t = lab.transport("nat2")
    t.write_file("/run/t.sh", "# not labkit's wording at all\nsleep 30\n[ -e /run/ok ] || echo fired > /run/marker\n")
    assert t.run("setsid -f sh /run/t.sh >/dev/null 2>&1 </dev/null").ok
    assert [j.cmdline for j in lab.world.jobs] == ["sh /run/t.sh"]
    lab.clock.sleep(29)
    assert not t.run("[ -e /run/marker ]").ok
    lab.clock.sleep(1)
    assert t.read_file("/run/marker") == "fired\n" and lab.world.jobs == []
