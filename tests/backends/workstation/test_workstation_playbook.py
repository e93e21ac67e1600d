"""`labkit run` end to end on the Workstation backend: the real CLI in a subprocess, the fake vmrest in this one."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from labkit.yamlsrc import load
from tests.conftest import REPO
from tests.backends.workstation.conftest import PASSWORD, PASSWORD_ENV

PLAYBOOK = "playbooks/workstation-switch.yml"
CENTOS = "8VQ2J4AS0PFKC2PFQ1H6O8B6L1B3TSKE"
WIN7 = "F0B3MKSDR2GT9FV0JPTM6I2EIS39VVNK"


def labkit(*args: str, password: str | None = PASSWORD) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "NO_COLOR": "1", **({PASSWORD_ENV: password} if password else {})}
    return subprocess.run([sys.executable, "-m", "labkit.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env=env)


def inventory_for(fake, tmp_path) -> str:
    """The shipped inventory with the fake's port: the CLI has no port option, so a copy carries it."""
    text = (REPO / "inventory" / "workstation-vmrest.yml").read_text()
    assert "port: 8697" in text and load(REPO / "inventory" / "workstation-vmrest.yml").data["backend"]["port"] == 8697
    path = tmp_path / "workstation.yml"
    path.write_text(text.replace("port: 8697", f"port: {fake.port}"))
    return str(path)


def test_switch_playbook_runs_end_to_end(fake_vmrest, tmp_path):
    report = tmp_path / "r.json"
    proc = labkit("run", PLAYBOOK, "-i", inventory_for(fake_vmrest, tmp_path), "--json", str(report))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "centos: eth0 -> lab2 (changed)" in proc.stdout
    assert "centos: eth0: 192.168.100." in proc.stdout  # an address on VMnet2, read from nicips
    assert "win7: eth0: 10.0.0." in proc.stdout
    steps = json.loads(report.read_text())["steps"]
    assert len(steps) == 8
    # every move was one PUT: centos four times, win7 once; the fake saw every request well formed
    assert fake_vmrest.count("PUT", f"/vms/{CENTOS}/nic/1$") == 4
    assert fake_vmrest.count("PUT", f"/vms/{WIN7}/nic/1$") == 1
    assert fake_vmrest.vms[CENTOS].nics[0]["type"] == fake_vmrest.vms[WIN7].nics[0]["type"] == "nat"
    assert PASSWORD not in proc.stdout + proc.stderr + report.read_text()


def test_set_mode_twice_sends_one_change(fake_vmrest, tmp_path):
    inv = inventory_for(fake_vmrest, tmp_path)
    first = labkit("set-mode", "-i", inv, "centos", "hostonly")
    assert first.returncode == 0 and "centos eth0 -> hostonly (changed)" in first.stdout, first.stderr
    again = labkit("set-mode", "-i", inv, "centos", "hostonly")
    assert again.returncode == 0 and again.stdout.strip().endswith("(unchanged)")
    assert fake_vmrest.count("PUT") == 1


def test_missing_password_variable_is_an_input_error(fake_vmrest, tmp_path):
    proc = labkit("run", PLAYBOOK, "-i", inventory_for(fake_vmrest, tmp_path), password=None)
    assert proc.returncode == 2 and f"environment variable {PASSWORD_ENV} is not set" in proc.stderr
    assert "Traceback" not in proc.stderr and fake_vmrest.requests == []


def test_wrong_password_fails_each_vm_clearly(fake_vmrest, tmp_path):
    wrong = "Wr0ng-" + PASSWORD
    proc = labkit("run", PLAYBOOK, "-i", inventory_for(fake_vmrest, tmp_path), password=wrong)
    assert proc.returncode == 1
    assert "centos: cannot list VMs: vmrest at http://127.0.0.1:" in proc.stdout
    assert "refused the credentials" in proc.stdout and "Traceback" not in proc.stderr
    assert wrong not in proc.stdout + proc.stderr and fake_vmrest.count("PUT") == 0


def test_predict_takes_missing_subnets_from_vmrest(fake_vmrest, vmrest_password, tmp_path, monkeypatch):
    """No networking files on this machine (vmrest elsewhere, or a Windows host): the inventory
    leaves the NAT network's facts out and `labkit predict` gets them from vmrest's /vmnet."""
    import re

    monkeypatch.setattr("labkit.backends.workstation.hostnet.DEFAULT_NETWORKING_DIR", tmp_path / "no-such-dir")
    text = open(inventory_for(fake_vmrest, tmp_path)).read()
    bare, n = re.subn(r"(    backend_network: VMnet8[^\n]*\n)(    [a-z_]+: [^\n]*\n)+", r"\1", text)
    assert n == 1 and "10.0.0.2" not in bare.split("vms:")[0]
    path = tmp_path / "bare.yml"
    path.write_text(bare)
    from labkit.backends import complete_inventory
    from labkit.inventory import load_inventory

    inv = load_inventory(path)
    assert inv.networks["nat"].subnet is None and fake_vmrest.requests == []  # loading asks nobody
    nat = complete_inventory(inv).networks["nat"]
    assert (str(nat.subnet), str(nat.gateway), str(nat.host_adapter.address)) == ("10.0.0.0/24", "10.0.0.2", "10.0.0.1")
    assert fake_vmrest.count("GET", r"/vmnet$") == 1


@pytest.mark.parametrize("command", [["predict"], ["set-mode", "centos", "nat"]])
def test_unreachable_vmrest_for_missing_facts_is_an_input_error(tmp_path, monkeypatch, command):
    import re
    from pathlib import Path

    if Path("/etc/vmware/networking").exists():
        pytest.skip("this machine has Workstation's networking files, which come before vmrest")

    monkeypatch.setattr("labkit.backends.workstation.hostnet.DEFAULT_NETWORKING_DIR", tmp_path / "no-such-dir")
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    text = (REPO / "inventory" / "workstation-vmrest.yml").read_text().replace("port: 8697", "port: 9")
    bare = re.sub(r"(    backend_network: VMnet8[^\n]*\n)(    [a-z_]+: [^\n]*\n)+", r"\1", text)
    path = tmp_path / "bare.yml"
    path.write_text(bare)
    proc = labkit(*command, "-i", str(path))
    assert proc.returncode == 2, proc.stderr
    assert "networks.nat.subnet: no subnet given" in proc.stderr and "vmrest" in proc.stderr
    assert "Traceback" not in proc.stderr
