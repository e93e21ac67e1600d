"""`labkit run` end to end on vcsim: playbooks/vsphere-switch.yml with inventory/vsphere-sim.yml
pointed at the test's simulator (a temporary copy with its host, port and CA), and a wait_for_ip
that times out, which must fail the run (exit 1), unlike govc's vm.ip."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from tests.conftest import REPO
from tests.backends.vsphere.conftest import PASSWORD_ENV, sim_inventory_data, vm_entry


def labkit_run(vcsim, playbook, inventory, report):
    env = {**os.environ, PASSWORD_ENV: vcsim.password, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "labkit.cli", "run", str(playbook), "-i", str(inventory),
                           "--json", str(report)], capture_output=True, text=True, env=env, timeout=300)


def write_inventory(tmp_path, data):
    path = tmp_path / "inventory.yml"
    path.write_text(json.dumps(data))  # JSON is YAML
    return path


def test_switch_playbook_end_to_end(vcsim, probe, tmp_path):
    probe.set_guest_ip(0, "10.10.0.5")  # what VMware Tools would report for web once on LabNet
    inv = write_inventory(tmp_path, sim_inventory_data(vcsim))
    done = labkit_run(vcsim, REPO / "playbooks" / "vsphere-switch.yml", inv, tmp_path / "r.json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    details = [{vm: r["detail"] for vm, r in step["vms"].items()} for step in report["steps"]]
    assert [d["web"] for d in details[:6]] == [
        "eth0 -> standard (changed)", "eth0 -> distributed (changed)", "eth0 -> nsx (changed)",
        "eth0 -> opaque (changed)", "eth0 -> standard (changed)", "eth0 -> standard (unchanged)"]
    assert set(details[5].values()) == {"eth0 -> standard (unchanged)"}
    assert details[6] == {"web": "eth0: 10.10.0.5/24"}
    assert probe.vm(1).network[0].name == "LabNet"  # db, found by its inventory path


def test_wait_for_ip_timeout_fails_the_run(vcsim, tmp_path):
    inv = write_inventory(tmp_path, sim_inventory_data(vcsim, [vm_entry("quiet", 2)]))
    pb = tmp_path / "wait.yml"
    pb.write_text(json.dumps({"name": "wait", "steps": [
        {"wait_for_ip": {"vms": ["quiet"], "interface": "eth0", "timeout": 1}}]}))
    done = labkit_run(vcsim, pb, inv, tmp_path / "r.json")
    assert done.returncode == 1, done.stdout + done.stderr
    vm = json.loads((tmp_path / "r.json").read_text())["steps"][0]["vms"]["quiet"]
    assert vm["ok"] is False
    # what vSphere says about it, naming the vCenter asked: vcsim's VMs run no VMware Tools
    assert re.fullmatch(rf"eth0 has no address in 10\.[0-9]+\.0\.0/24 after 1 s: VMware Tools is not running in "
                        rf"VM DC0_C0_RP0_VM2 \(vm-[0-9]+, at DC0/vm/DC0_C0_RP0_VM2\) \(guestToolsNotRunning, as "
                        rf"vCenter 127\.0\.0\.1:{vcsim.port} reports\)", vm["error"]), vm["error"]


def test_bad_password_fails_every_vm_without_a_traceback(vcsim, tmp_path):
    data = sim_inventory_data(vcsim)
    data["backend"]["password_env"] = "LABKIT_TEST_WRONG_PASSWORD"
    inv = write_inventory(tmp_path, data)
    env_done = subprocess.run([sys.executable, "-m", "labkit.cli", "run", str(REPO / "playbooks" / "vsphere-switch.yml"),
                               "-i", str(inv)], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "LABKIT_TEST_WRONG_PASSWORD": "s3cret-value-xyz", "NO_COLOR": "1"})
    assert env_done.returncode == 1
    assert "login refused for user labkit" in env_done.stdout
    assert "Traceback" not in env_done.stdout + env_done.stderr and "s3cret" not in env_done.stdout


def test_a_vm_error_names_the_vm_once(vcsim, tmp_path):
    """The terminal report puts each failure under its VM's name: the backend's message does not
    repeat it (no 'ghost: ghost: ...'), it names the vSphere side instead."""
    inv = write_inventory(tmp_path, sim_inventory_data(vcsim, [vm_entry("ghost", 2) | {"backend_name": "gone"}]))
    pb = tmp_path / "pb.yml"
    pb.write_text(json.dumps({"name": "pb", "steps": [{"set_mode": {"vms": ["ghost"], "mode": "standard"}}]}))
    done = labkit_run(vcsim, pb, inv, tmp_path / "r.json")
    assert done.returncode == 1
    assert "    ghost: no VM named 'gone' in datacenter DC0\n" in done.stdout and "ghost: ghost" not in done.stdout


def test_a_console_error_names_the_vm_once(vcsim, tmp_path):
    """A VMware Tools console names its VM in its errors (a matrix or a fallback needs it); under the
    VM's own name in a report it is said once."""
    quiet = vm_entry("quiet", 29) | {"guest_login": {"user": "root", "password_env": "LABKIT_TEST_GUEST_PW"},
                                     "dialect": "ifupdown"}
    inv = write_inventory(tmp_path, sim_inventory_data(vcsim, [quiet]))
    pb = tmp_path / "pb.yml"
    pb.write_text(json.dumps({"name": "pb", "steps": [{"restart_network": {"vms": ["quiet"]}}]}))
    env = {**os.environ, PASSWORD_ENV: vcsim.password, "LABKIT_TEST_GUEST_PW": "not-used", "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "labkit.cli", "run", str(pb), "-i", str(inv), "--json",
                           str(tmp_path / "r.json")], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    error = json.loads((tmp_path / "r.json").read_text())["steps"][0]["vms"]["quiet"]["error"]
    assert error == "VMware Tools is not running in the guest (guestToolsNotRunning); the console needs it"
    assert "    quiet: VMware Tools is not running" in done.stdout and "quiet: quiet" not in done.stdout
