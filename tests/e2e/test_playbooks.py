"""The tutorial's two experiments, end to end on the simulated lab, through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.backends import open_lab
from labkit.playbook import load_checked
from labkit.runner import run_playbook
from tests.conftest import REPO, TUTORIAL_IFCFG

TUTORIAL_IFCFG_AFTER = TUTORIAL_IFCFG.replace("BOOTPROTO=static\n", "BOOTPROTO=dhcp\n")


def labkit(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labkit.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"})


def cells(report: dict, step: int) -> dict[tuple[str, str], dict]:
    return {(c["source"], c["target"]): c for c in report["matrices"][step]["cells"]}


@pytest.fixture(scope="module")
def nat_report(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("nat") / "r.json"
    proc = labkit("run", "playbooks/seed-nat.yml", "--json", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(out.read_text())


def test_seed_nat_matrix_with_adapter_enabled(nat_report):
    assert nat_report["ok"] is True and nat_report["backend"] == "sim"
    c = cells(nat_report, 0)
    for pair in [("host", "win7"), ("win7", "host.nat"), ("win7", "nat.gateway"), ("win7", "internet"),
                 ("win7", "nat2"), ("nat2", "win7")]:
        assert c[pair]["observed"] == "reachable" and c[pair]["ok"], pair
    assert c[("router", "win7")]["observed"] == "unreachable"
    assert c[("win7", "internet")]["loss_pct"] == 0.0 and c[("win7", "internet")]["rtt_avg_ms"] > 0
    assert "192.168.1.100" in c[("win7", "router")]["expected_reason"]  # NAT source translation


def test_seed_nat_dhcp_address_from_the_pool(nat_report):
    detail = nat_report["steps"][2]["vms"]["win7"]["detail"]
    last_octet = int(detail.split()[-1].split("/")[0].rsplit(".", 1)[1])
    assert detail.startswith("eth0: 10.0.0.") and 128 <= last_octet <= 253


def test_seed_nat_disabled_host_adapter(nat_report):
    c = cells(nat_report, 1)
    assert c[("host", "win7")]["observed"] == "unreachable"
    assert c[("win7", "host.nat")]["observed"] == "unreachable"
    assert c[("win7", "internet")]["observed"] == "reachable"
    assert c[("win7", "nat2")]["observed"] == "reachable"
    back = cells(nat_report, 2)
    assert back[("host", "win7")]["observed"] == "reachable"


def test_seed_bridged_rewrites_ifcfg_in_place_and_reaches_the_lan():
    pb, inv = load_checked(REPO / "playbooks" / "seed-bridged.yml")
    lab = open_lab(inv)
    result = run_playbook(pb, lab)
    assert result.ok, [(s.name, s.error, s.vms) for s in result.steps]
    assert lab.transport("centos").read_file("/etc/sysconfig/network-scripts/ifcfg-eth0") == TUTORIAL_IFCFG_AFTER
    addr = lab.hypervisor.guest_nics("centos")[0].addresses[0]
    assert addr.ip in inv.lan.subnet
    m = result.matrices[0]
    for src, dst in [("host", "centos"), ("centos", "host"), ("centos", "router"), ("centos", "internet")]:
        assert m.cell(src, dst).observed.verdict == "reachable"


def test_runs_are_deterministic(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert labkit("run", "playbooks/seed-bridged.yml", "--json", str(a)).returncode == 0
    assert labkit("run", "playbooks/seed-bridged.yml", "--json", str(b)).returncode == 0
    assert a.read_text() == b.read_text()


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_wrong_expectation_fails_with_exit_1_and_junit(tmp_path):
    pb = write(tmp_path / "pb.yml", f"""
name: wrong
inventory: {REPO}/inventory/seed-lab.yml
steps:
  - ping_matrix:
      sources: [router]
      targets: [nat2]
      expect: {{cells: [{{from: router, to: nat2, result: reachable}}]}}
""")
    junit = tmp_path / "j.xml"
    proc = labkit("run", str(pb), "--junit", str(junit))
    assert proc.returncode == 1
    assert "want reach" in proc.stdout
    assert "<failure" in junit.read_text()


def test_one_vm_failing_does_not_stop_the_others(tmp_path):
    inv_text = (REPO / "inventory" / "seed-lab.yml").read_text()
    assert "  - name: win7\n    os: windows\n" in inv_text
    write(tmp_path / "inv.yml", inv_text.replace("  - name: win7\n    os: windows\n",
                                                 "  - name: win7\n    os: windows\n    powered_on: false\n"))
    pb = write(tmp_path / "pb.yml", """
name: partial
inventory: inv.yml
steps:
  - configure_guest: {vms: [win7, centos], interface: eth0, dhcp: true}
  - restart_network: {vms: [centos], interface: eth0}
""")
    pb_, inv = load_checked(pb)
    result = run_playbook(pb_, open_lab(inv))
    step = result.steps[0]
    assert not step.ok
    assert step.vms["win7"].ok is False and "powered off" in step.vms["win7"].error
    assert step.vms["centos"].ok is True
    assert result.steps[1].ok  # later steps still run


def test_unreachable_target_without_address_is_an_error_not_unreachable(tmp_path):
    inv = (REPO / "inventory" / "seed-lab.yml").read_text().replace(
        "    dhcp: {server: 192.168.56.254, start: 192.168.56.128, end: 192.168.56.253}\n", "")
    write(tmp_path / "inv.yml", inv)
    pb = write(tmp_path / "pb.yml", """
name: nodhcp
inventory: inv.yml
steps:
  - set_mode: {vms: [nat2], mode: hostonly}
  - restart_network: {vms: [nat2]}
  - ping_matrix: {sources: [host], targets: [nat2], expect: model}
""")
    pb_, inv_ = load_checked(pb)
    result = run_playbook(pb_, open_lab(inv_))
    assert "no DHCP server" in (result.steps[1].vms["nat2"].error or "") or not result.steps[1].ok
    cell = result.matrices[0].cell("host", "nat2")
    assert cell.observed.verdict == "error" and "no address" in cell.observed.reason
    assert not cell.ok


def test_debian_guest_readdressed_through_its_interfaces_file():
    pb, inv = load_checked(REPO / "tests" / "data" / "debian-readdress.yml", REPO / "inventory" / "seed-netns.yml")
    lab = open_lab(inv, "sim")
    result = run_playbook(pb, lab)
    assert result.ok, [(s.name, s.error, s.vms) for s in result.steps if not s.ok]
    assert result.steps[3].vms["win7"].detail == "eth0: 192.168.1.50/24"
    text = lab.transport("win7").read_file("/etc/network/interfaces")
    assert "iface eth0 inet dhcp" in text and "192.168.1.50" not in text
    assert result.steps[7].vms["win7"].detail != "eth0: 192.168.1.50/24"
