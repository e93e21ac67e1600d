"""The tutorial's two playbooks, unchanged, on a lab reached through a jump host as a user with sudo
(tests/backends/netns/seed-bastion.yml, lab `h11-seed-bastion`): real sshd refusing root, real sudo,
real packets."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from labkit.backends import open_lab
from labkit.backends.netns import build as netlab
from labkit.inventory import load_inventory
from labkit.playbook import load_checked
from labkit.runner import run_playbook
from tests.backends.netns.conftest import lab_built, require_lab_host
from tests.conftest import REPO, require

SEED_BASTION = Path(__file__).with_name("seed-bastion.yml")


@pytest.fixture
def bastion_seed_lab():
    require_lab_host()
    require(shutil.which("sudo") is not None, "the guests' sudo comes from this machine (make lab-deps)")
    inv = load_inventory(SEED_BASTION)
    with lab_built(inv):
        yield inv


def logins(inv, vm: str) -> list[str]:
    """Who logged in to the VM's sshd, as its log says."""
    log = (netlab.state_dir(inv) / f"vm-{vm}" / "sshd.log").read_text()
    return re.findall(r"Accepted publickey for (\S+) from", log)


def run(playbook: str):
    pb, inv = load_checked(REPO / "playbooks" / playbook, SEED_BASTION)
    lab = open_lab(inv)
    try:
        result = run_playbook(pb, lab)
        assert result.ok, [(s.name, s.error, s.vms) for s in result.steps if not s.ok]
        return result, {vm: lab.transport(vm) for vm in ("centos", "win7", "nat2")}, lab.bastions.connections()
    finally:
        lab.close()


def test_seed_nat_through_a_jump_host_as_a_sudo_user(bastion_seed_lab):
    result, transports, jumps = run("seed-nat.yml")
    cells = {(c.source, c.target): c.observed.verdict for c in result.matrices[1].cells}
    assert cells[("host", "win7")] == "unreachable" and cells[("win7", "internet")] == "reachable"
    assert {c.observed.via for m in result.matrices for c in m.cells if c.source in ("win7", "nat2")} == {"ssh"}
    assert transports["nat2"].handshakes == 1  # one connection for every probe of the run
    # win7 renewed its lease through the console (restart_network); then one connection at its
    # VMnet8 address for every probe
    assert transports["win7"].handshakes == 1 and set(transports["win7"].used) == {"ssh"}
    assert jumps == {"jump host jump": 1}  # and one to the jump host, shared by both
    assert set(logins(bastion_seed_lab, "nat2")) == {"labkit"} and set(logins(bastion_seed_lab, "jump")) == {"hopper"}


def test_seed_bridged_through_a_jump_host_as_a_sudo_user(bastion_seed_lab):
    result, transports, jumps = run("seed-bridged.yml")
    # centos kept 10.0.0.101 on the LAN: the jump host could not reach it, the console did the edit
    assert "console" in transports["centos"].used and transports["centos"].used[-1] == "ssh"
    cells = {(c.source, c.target): c.observed.verdict for c in result.matrices[0].cells}
    assert cells[("centos", "internet")] == "reachable" and cells[("host", "centos")] == "reachable"
    assert jumps == {"jump host jump": 1}
    assert set(logins(bastion_seed_lab, "centos")) == {"labkit"}
