"""The netns lab with real packets: build and teardown, the model against what ping sees, the
tutorial's playbooks, live mode switches, and the console path when SSH cannot reach a guest."""

from __future__ import annotations

import json
import subprocess
import sys
from ipaddress import IPv4Address

import pytest

from labkit.backends import open_lab
from labkit.errors import TransportError
from labkit.matrix.engine import run_matrix
from labkit.model import PingMatrix
from labkit.backends.netns import build as netlab
from labkit.observe import observe
from labkit.playbook import load_checked
from labkit.runner import run_playbook
from tests.conftest import REPO
from tests.backends.netns.conftest import NETNS_INVENTORY, root_namespace_snapshot

EVERYONE = ["host", "host.nat", "host.hostonly", "nat.gateway", "router", "internet", "centos", "win7", "nat2"]


def full_matrix(lab, sources=("host", "router", "internet", "centos", "win7", "nat2")):
    spec = PingMatrix(sources=list(sources), targets=EVERYONE, count=1, timeout=1, expect="model")
    return run_matrix(lab, "fidelity", spec, observe(lab))


def mismatches(matrix):
    return [(c.source, c.target, c.expected, c.observed.verdict, c.observed.reason, c.expected_reason)
            for c in matrix.cells if not c.ok]


def test_up_and_down_leave_the_root_namespace_as_it_was(netns_inventory):
    netlab.down(netns_inventory)
    before = root_namespace_snapshot()
    state = netlab.up(netns_inventory)
    pids = [vm["init_pid"] for vm in state["vms"].values()]
    assert all(pid for pid in pids)
    assert root_namespace_snapshot() == before  # the lab lives in its namespaces only
    done = netlab.down(netns_inventory)
    assert done["namespaces"] == len(state["namespaces"]) and done["killed"] > 0
    assert root_namespace_snapshot() == before
    for pid in pids:
        assert subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode != 0
    leftovers = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert state["prefix"] not in leftovers
    assert netlab.down(netns_inventory)["namespaces"] == 0  # idempotent


def test_down_cleans_up_after_a_crashed_run(netns_inventory):
    netlab.down(netns_inventory)
    state = netlab.up(netns_inventory)
    (netlab.state_dir(netns_inventory) / "state.json").unlink()  # as if labkit died mid-way
    done = netlab.down(netns_inventory)
    assert done["namespaces"] == len(state["namespaces"])
    assert state["prefix"] not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def test_the_model_predicts_every_cell_of_the_real_lab(fresh_lab):
    lab = open_lab(fresh_lab)
    try:
        matrix = full_matrix(lab)
        assert len(matrix.cells) == 6 * 9 - 6  # every source is also a target
        assert mismatches(matrix) == []
        # and with the host's VMnet8 adapter disabled, the tutorial's key point
        lab.hypervisor.set_host_adapter("nat", False)
        assert mismatches(full_matrix(lab)) == []
    finally:
        lab.close()


def test_seed_nat_playbook_with_real_packets(fresh_lab, tmp_path):
    out = tmp_path / "nat.json"
    proc = subprocess.run([sys.executable, "-m", "labkit.cli", "run", "playbooks/seed-nat.yml", "-i",
                           str(NETNS_INVENTORY), "--json", str(out)], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    assert report["backend"] == "netns" and report["ok"]
    cells = {(c["source"], c["target"]): c for c in report["matrices"][1]["cells"]}
    assert cells[("host", "win7")]["observed"] == "unreachable"
    assert cells[("win7", "internet")]["observed"] == "reachable"


def test_seed_bridged_playbook_goes_through_the_console(fresh_lab):
    pb, inv = load_checked(REPO / "playbooks" / "seed-bridged.yml", NETNS_INVENTORY)
    lab = open_lab(inv)
    try:
        result = run_playbook(pb, lab)
        assert result.ok, [(s.name, s.error, s.vms) for s in result.steps]
        configure = result.steps[1].vms["centos"]
        assert configure.ok
        # centos still held 10.0.0.101 on the LAN: SSH could not reach it, the console did the edit
        assert "console" in lab.transport("centos").used
        text = lab.console.open("centos").read_file("/etc/sysconfig/network-scripts/ifcfg-eth0")
        assert "BOOTPROTO=dhcp" in text and "IPADDR=10.0.0.101" in text and "UUID=5ae16ecc" in text
        addr = lab.hypervisor.guest_nics("centos")[0].addresses[0]
        assert addr.ip in inv.lan.subnet
    finally:
        lab.close()


def test_mode_switch_nat_bridged_nat_with_renew(fresh_lab):
    lab = open_lab(fresh_lab)
    try:
        hv = lab.hypervisor
        ad = fresh_lab.vm("nat2").adapters[0]
        first = hv.guest_nics("nat2")[0].addresses[0]
        assert first.ip in fresh_lab.networks["nat"].subnet
        for mode, subnet in (("bridged", fresh_lab.lan.subnet), ("nat", fresh_lab.networks["nat"].subnet)):
            assert hv.set_adapter_network("nat2", ad, mode) is True
            assert hv.adapter_network("nat2", ad) == mode
            res = lab.console.open("nat2").run("/etc/init.d/network restart")
            assert res.ok, res.stdout + res.stderr
            addr = hv.guest_nics("nat2")[0].addresses[0]
            assert addr.ip in subnet, (mode, addr)
        assert mismatches(full_matrix(lab, sources=("host", "nat2"))) == []
    finally:
        lab.close()


def test_one_ssh_connection_per_guest_for_a_whole_matrix(fresh_lab):
    lab = open_lab(fresh_lab)
    try:
        matrix = full_matrix(lab, sources=("centos", "win7", "nat2"))
        assert mismatches(matrix) == []
        for vm in ("centos", "win7", "nat2"):
            transport = lab.transport(vm)
            assert transport.handshakes == 1 and set(transport.used) == {"ssh"}, vm
        assert {c.observed.via for c in matrix.cells} == {"ssh"}
    finally:
        lab.close()


def test_a_changed_host_key_is_refused_not_bypassed(fresh_lab):
    known = netlab.state_dir(fresh_lab) / "known_hosts"
    lines = known.read_text().splitlines()
    other = next(line for line in lines if line.startswith("win7 ")).split(" ", 1)[1]
    known.write_text("\n".join(f"nat2 {other}" if line.startswith("nat2 ") else line for line in lines) + "\n")
    lab = open_lab(fresh_lab)
    try:
        with pytest.raises(TransportError, match="host key mismatch"):
            lab.transport("nat2").run("true")
        assert "console" not in lab.transport("nat2").used  # a mismatch never falls back to the console
    finally:
        lab.close()


def test_simulated_and_real_labs_agree_cell_for_cell(fresh_lab):
    """The same playbook on the simulated backend and on real packets: every observed cell equal."""
    pb, inv = load_checked(REPO / "playbooks" / "seed-nat.yml", NETNS_INVENTORY)
    verdicts = {}
    for backend in ("sim", "netns"):
        lab = open_lab(inv, backend)
        try:
            result = run_playbook(pb, lab)
        finally:
            lab.close()
        assert result.ok, (backend, [(s.name, s.error, s.vms) for s in result.steps if not s.ok])
        verdicts[backend] = [{(c.source, c.target): c.observed.verdict for c in m.cells} for m in result.matrices]
    assert verdicts["sim"] == verdicts["netns"]


class _WithoutFping:
    """A guest's transport as if fping were not installed: labkit falls back to background pings."""

    def __init__(self, inner) -> None:
        self.inner, self.kind, self.commands = inner, inner.kind, []

    def run(self, command, timeout=None):
        from labkit.protocols import CommandResult

        self.commands.append(command)
        if command == "command -v fping" or command.removeprefix("LC_ALL=C ").startswith("fping "):
            return CommandResult(1 if command.startswith("command") else 127, "", "sh: 1: fping: not found\n")
        return self.inner.run(command, timeout)

    def close(self):
        self.inner.close()


def test_without_fping_background_pings_see_the_same(fresh_lab):
    lab = open_lab(fresh_lab)
    try:
        lab._transports["nat2"] = wrapped = _WithoutFping(lab.transport("nat2"))
        matrix = full_matrix(lab, sources=("nat2",))
        assert mismatches(matrix) == []
        assert any(c.startswith("d=$(mktemp -d)") for c in wrapped.commands)
        assert not any(c.startswith("d=$(mktemp -d)") and "fping" in c for c in wrapped.commands)
    finally:
        lab.close()


def test_lab_commands(netns_inventory):
    def labkit(*args):
        return subprocess.run([sys.executable, "-m", "labkit.cli", "lab", *args, "-i", str(NETNS_INVENTORY)],
                              cwd=REPO, capture_output=True, text=True, timeout=300)

    netlab.down(netns_inventory)
    assert labkit("status").returncode == 1  # not up: a clear error, exit 1
    up = labkit("up")
    assert up.returncode == 0 and "3 VMs" in up.stdout, up.stderr
    again = labkit("up")
    assert again.returncode == 1 and "already up" in again.stderr
    status = labkit("status")
    assert status.returncode == 0 and "centos" in status.stdout and "10.0.0.101/24" in status.stdout
    down = labkit("down")
    assert down.returncode == 0 and "10 namespaces removed" in down.stdout


def test_power_off_and_on(fresh_lab):
    lab = open_lab(fresh_lab)
    try:
        hv = lab.hypervisor
        assert hv.set_power("nat2", False) is True and not hv.powered_on("nat2")
        assert hv.guest_nics("nat2") == []
        with pytest.raises(TransportError, match="powered off"):
            lab.console.open("nat2")
        assert hv.set_power("nat2", False) is False
        assert hv.set_power("nat2", True) is True and hv.powered_on("nat2")
        addr = hv.guest_nics("nat2")[0].addresses[0]
        assert addr.ip in fresh_lab.networks["nat"].subnet
        assert lab.console.open("nat2").run("hostname").stdout.strip() == "nat2"
    finally:
        lab.close()


def test_debian_guest_readdressed_for_real(fresh_lab):
    pb, inv = load_checked(REPO / "tests" / "data" / "debian-readdress.yml", NETNS_INVENTORY)
    lab = open_lab(inv)
    try:
        result = run_playbook(pb, lab)
        assert result.ok, [(s.name, s.error, s.vms) for s in result.steps if not s.ok]
        assert result.steps[3].vms["win7"].detail == "eth0: 192.168.1.50/24"
        last = lab.hypervisor.guest_nics("win7")[0].addresses
        assert len(last) == 1 and last[0].ip != IPv4Address("192.168.1.50")  # DHCP again, nothing left over
        assert last[0].ip in inv.lan.subnet
    finally:
        lab.close()


def test_dialects_are_detected_on_the_guests(fresh_lab):
    from labkit.guest.detect import detect

    lab = open_lab(fresh_lab)
    try:
        assert detect(lab.transport("centos")) == "ifcfg"  # the RHEL-style guest
        assert detect(lab.transport("win7")) == "ifupdown"  # the Debian guest
    finally:
        lab.close()


def test_down_also_stops_strays_whose_namespace_is_gone(netns_inventory):
    netlab.down(netns_inventory)
    state = netlab.up(netns_inventory)
    dnsmasq = list(state["pids"].values())
    for ns in state["namespaces"]:  # as if a crashed run had deleted the namespaces but not killed
        subprocess.run(["ip", "netns", "del", ns], check=True)
    netlab.down(netns_inventory)
    for pid in dnsmasq:
        assert subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode != 0
