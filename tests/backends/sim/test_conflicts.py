"""Address conflicts on the simulated lab (rule 10): reported, never guessed.

The sim decides who answers a contested address the way a real segment does, deterministically
(the most recent holder answers ARP), so what it observes changes with the order the holders
brought the address up. The matrix reports such cells as conflicts: no expectation from the model,
not failed, shown in every report. RHEL's network service refuses an address another host
answers for (duplicate address detection), as the netns lab's RHEL emulation does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import pytest

from labkit.backends import open_lab
from labkit.guest import config as guestnet
from labkit.inventory import load_inventory
from labkit.matrix.engine import run_matrix
from labkit.model import PingMatrix
from labkit.netconfig import InterfaceConfig
from labkit.observe import observe
from labkit.playbook import load_checked
from labkit.predict import conflicts
from labkit.runner import run_playbook
from labkit.topology import Topology
from tests.conftest import REPO

IFCFG = "/etc/sysconfig/network-scripts/ifcfg-eth0"
DEB1_MAC = "00:0c:29:00:03:01"
MATRIX = "{sources: [host, deb1, deb2, rh], targets: [host.nat, deb1, deb2, rh], count: 1, expect: model}"


def nat_vm(name: str, n: int, dialect: str, **extra: object) -> dict:
    return {"name": name, "os": "linux", "dialect": dialect, **extra,
            "adapters": [{"interface": "eth0", "mac": f"00:0c:29:00:03:{n:02x}", "network": "nat",
                          "config": {"dhcp": True}}]}


@pytest.fixture
def inv_path(tmp_path: Path) -> Path:
    """Three DHCP guests on VMnet8: deb1 (Debian, firewalled) leases 10.0.0.128, deb2 (Debian)
    .129, rh (RHEL) .130. Debian's ifup does no duplicate address detection; RHEL's does."""
    data = load_inventory(REPO / "inventory" / "seed-lab.yml").model_dump(mode="json", exclude={"vms"})
    data["vms"] = [nat_vm("deb1", 1, "ifupdown", icmp_firewall=True), nat_vm("deb2", 2, "ifupdown"),
                   nat_vm("rh", 3, "ifcfg")]
    path = tmp_path / "inv.yml"
    path.write_text(json.dumps(data))  # JSON is YAML
    return path


def playbook(tmp_path: Path, steps: str) -> Path:
    path = tmp_path / "pb.yml"
    path.write_text(f"name: conflict\ninventory: inv.yml\nsteps:\n{steps}")
    return path


# deb2 is given deb1's lease (a static address inside the DHCP pool), then deb1 renews its lease
SWAP = f"""\
  - configure_guest: {{vms: [deb2], interface: eth0, address: 10.0.0.128/24, gateway: 10.0.0.2}}
  - restart_network: {{vms: [deb2], interface: eth0}}
  - name: deb2 brought it up last
    ping_matrix: {MATRIX}
  - restart_network: {{vms: [deb1], interface: eth0}}
  - name: deb1 brought it up last
    ping_matrix: {MATRIX}
"""


def test_the_most_recent_holder_answers_and_the_cells_are_conflicts(inv_path, tmp_path):
    pb, inv = load_checked(playbook(tmp_path, SWAP))
    result = run_playbook(pb, open_lab(inv))
    assert all(s.ok for s in result.steps), [(s.name, s.error, s.vms) for s in result.steps if not s.ok]
    first, second = result.matrices

    for m in (first, second):
        for target in ("deb1", "deb2"):
            cell = m.cell("host", target)
            assert cell.address == "10.0.0.128"
            assert cell.conflict is not None and cell.conflict.holders == ("deb1", "deb2")
            assert (cell.conflict.address, cell.conflict.segment) == ("10.0.0.128", "nat")
            assert cell.expected is None and cell.ok and cell.unjudged_conflict
        clean = m.cell("rh", "host.nat")
        assert clean.conflict is None and clean.expected == "reachable" and clean.ok
        assert m.cell("host", "rh").conflict is None
        # every cell from a holder is caught too: its replies come back to the contested address
        assert all(c.conflict is not None for c in m.cells if c.source in ("deb1", "deb2"))
        assert m.ok

    # deb2 brought 10.0.0.128 up last: it answers (no firewall), and replies to .128 go to it
    assert first.cell("host", "deb1").observed.verdict == "reachable"
    assert first.cell("rh", "deb1").observed.verdict == "reachable"
    assert first.cell("deb2", "host.nat").observed.verdict == "reachable"
    assert first.cell("deb1", "host.nat").observed.verdict == "unreachable"
    # deb1 renewed its lease last: now it answers, and its firewall drops the echo requests
    assert second.cell("host", "deb1").observed.verdict == "unreachable"
    assert second.cell("host", "deb2").observed.verdict == "unreachable"
    assert second.cell("deb1", "host.nat").observed.verdict == "reachable"
    assert second.cell("deb2", "host.nat").observed.verdict == "unreachable"


def test_ssh_from_the_host_reaches_only_the_holder_that_answers(inv_path, tmp_path):
    pb, inv = load_checked(playbook(tmp_path, SWAP.split("  - name: deb2 brought")[0]))
    lab = open_lab(inv)
    run_playbook(pb, lab)
    address = IPv4Address("10.0.0.128")
    assert lab.world.host_cannot_reach("deb2", address) is None
    why = lab.world.host_cannot_reach("deb1", address)
    assert why is not None and "deb2 answers at that address" in why and "most recent holder" in why


def test_reports_show_the_conflict_without_failing(inv_path, tmp_path):
    pb = playbook(tmp_path, SWAP)
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-m", "labkit.cli", "run", str(pb), "--json", "r.json", "--junit", "r.xml"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "? conflict (reach)" in proc.stdout and "? conflict (unreach)" in proc.stdout
    assert "? address conflict: 10.0.0.128 is held by deb1 and deb2 on nat, not judged" in " ".join(proc.stdout.split())
    assert "in an address conflict" in proc.stdout.splitlines()[-1]

    report = json.loads((tmp_path / "r.json").read_text())
    assert report["schema"] == "labkit-report/3" and report["ok"] is True
    cells = {(c["source"], c["target"]): c for c in report["matrices"][1]["cells"]}
    cell = cells[("host", "deb1")]
    assert cell["conflict"] == {"address": "10.0.0.128", "holders": ["deb1", "deb2"], "segment": "nat"}
    assert (cell["expected"], cell["observed"], cell["ok"]) == (None, "unreachable", True)
    assert "conflict" not in cells[("rh", "host.nat")]
    assert report["summary"]["failed_cells"] == 0
    assert report["summary"]["conflict_cells"] == sum(1 for c in cells.values() if "conflict" in c) * 2

    root = ET.fromstring((tmp_path / "r.xml").read_bytes())
    assert root.get("failures") == "0" and root.get("errors") == "0"
    assert int(root.get("skipped")) == report["summary"]["conflict_cells"]
    skipped = root.find(".//testcase[@name='host -> deb1']/skipped")
    assert skipped is not None and skipped.get("message").startswith(
        "address conflict: 10.0.0.128 is held by deb1 and deb2 on nat; expected nothing, observed ")


def test_an_explicit_expectation_for_a_conflict_cell_still_applies(inv_path, tmp_path):
    steps = SWAP.split("  - name: deb2 brought")[0] + """\
  - ping_matrix:
      sources: [host]
      targets: [deb1]
      count: 1
      expect: {cells: [{from: host, to: deb1, result: unreachable}]}
"""
    pb, inv = load_checked(playbook(tmp_path, steps))
    result = run_playbook(pb, open_lab(inv))
    cell = result.matrices[0].cell("host", "deb1")
    assert cell.conflict is not None and cell.expected == "unreachable"
    assert cell.observed.verdict == "reachable" and not cell.ok  # deb2 answers: the user's expectation fails
    assert not cell.unjudged_conflict and not result.ok


def test_rhel_refuses_an_address_another_host_answers_for(inv_path, tmp_path):
    steps = """\
  - configure_guest: {vms: [rh], interface: eth0, address: 10.0.0.128/24, gateway: 10.0.0.2}
  - restart_network: {vms: [rh], interface: eth0}
"""
    pb, inv = load_checked(playbook(tmp_path, steps))
    lab = open_lab(inv)
    result = run_playbook(pb, lab)
    assert result.steps[0].ok
    restart = result.steps[1].vms["rh"]
    assert not restart.ok
    assert f"Error, some other host ({DEB1_MAC.upper()}) already uses address 10.0.0.128." in restart.error
    assert lab.guest_address("rh", "eth0") is None  # the address is not taken
    assert lab.guest_address("deb1", "eth0") == IPv4Address("10.0.0.128")
    assert conflicts(Topology(observe(lab))) == []


def test_rhel_network_restart_prints_what_ifup_prints(inv_path):
    lab = open_lab(load_inventory(inv_path))
    t = lab.transport("rh")
    t.write_file(IFCFG, "DEVICE=eth0\nONBOOT=yes\nBOOTPROTO=static\nIPADDR=10.0.0.2\nPREFIX=24\n")
    res = lab.console.open("rh").run("/etc/init.d/network restart")
    assert res.exit_status == 1
    assert "Bringing up interface eth0:  [FAILED]" in res.stdout
    mac = res.stderr.split("(")[1].split(")")[0]  # the NAT device answers for its own address
    assert res.stderr == f"Error, some other host ({mac}) already uses address 10.0.0.2.\n"
    assert mac.startswith("00:50:56:") and mac == mac.upper()
    assert lab.guest_address("rh", "eth0") is None
    # a free address is taken as before
    t.write_file(IFCFG, "DEVICE=eth0\nONBOOT=yes\nBOOTPROTO=static\nIPADDR=10.0.0.50\nPREFIX=24\n")
    assert lab.console.open("rh").run("/etc/init.d/network restart").ok
    assert lab.guest_address("rh", "eth0") == IPv4Address("10.0.0.50")


def test_arpcheck_no_skips_the_probe_and_the_lab_has_a_conflict(inv_path):
    lab = open_lab(load_inventory(inv_path))
    lab.transport("rh").write_file(IFCFG, "DEVICE=eth0\nONBOOT=yes\nBOOTPROTO=static\nIPADDR=10.0.0.128\n"
                                          "PREFIX=24\nGATEWAY=10.0.0.2\nARPCHECK=no\n")
    assert lab.console.open("rh").run("/etc/init.d/network restart").ok
    assert lab.guest_address("rh", "eth0") == IPv4Address("10.0.0.128")
    assert conflicts(Topology(observe(lab))) == ["10.0.0.128 on nat: deb1, rh"]


def test_configure_guest_with_apply_reports_the_refusal_for_that_vm(inv_path, tmp_path):
    steps = """\
  - configure_guest: {vms: [rh], interface: eth0, address: 10.0.0.128/24, gateway: 10.0.0.2, apply: true}
"""
    pb, inv = load_checked(playbook(tmp_path, steps))
    lab = open_lab(inv)
    result = run_playbook(pb, lab)
    outcome = result.steps[0].vms["rh"]
    assert not outcome.ok and "rolled back" in outcome.error and "10.0.0.128" in outcome.error
    assert lab.guest_address("rh", "eth0") == IPv4Address("10.0.0.130")  # its lease, back after the revert
    assert lab.guest_address("deb1", "eth0") == IPv4Address("10.0.0.128")


def test_debian_ifup_takes_the_address_anyway(inv_path, tmp_path):
    """ifupdown's inet static does no duplicate address detection: the lab gets a conflict."""
    pb, inv = load_checked(playbook(tmp_path, SWAP.split("  - name: deb2 brought")[0]))
    lab = open_lab(inv)
    result = run_playbook(pb, lab)
    assert result.ok
    assert lab.guest_address("deb2", "eth0") == IPv4Address("10.0.0.128")
    assert conflicts(Topology(observe(lab))) == ["10.0.0.128 on nat: deb1, deb2"]


def test_a_vm_holding_the_nat_device_address_takes_its_traffic_and_cells_through_it_are_conflicts(inv_path):
    """Debian's ifup takes 10.0.0.2 (the playbook and inventory would refuse it; a hand-edited guest
    does not ask). deb2 brought it up last, so it answers ARP for the NAT device's address: the
    other NAT guests' way out now ends at a guest that does not forward."""
    lab = open_lab(load_inventory(inv_path))
    console = lab.console.open("deb2")
    guestnet.configure(console, "ifupdown", "eth0", None, InterfaceConfig("static", IPv4Interface("10.0.0.2/24")))
    guestnet.restart(console, "ifupdown", "linux", "eth0")
    assert lab.guest_address("deb2", "eth0") == IPv4Address("10.0.0.2")

    spec = PingMatrix(sources=["rh", "host"], targets=["internet", "nat.gateway", "deb1"], count=1, expect="model")
    m = run_matrix(lab, "m", spec, observe(lab))
    out = m.cell("rh", "internet")
    assert out.conflict is not None and out.conflict.holders == ("deb2", "nat.gateway")
    assert out.expected is None and out.ok and out.observed.verdict == "unreachable"
    gateway = m.cell("host", "nat.gateway")
    assert gateway.conflict is not None and gateway.observed.verdict == "reachable"  # deb2 answers the echo
    clean = m.cell("rh", "deb1")
    assert clean.conflict is None and clean.expected == "unreachable"  # deb1's firewall: judged as before
    assert clean.ok and m.ok
