"""The CLI's contract: exit statuses, clear errors without tracebacks, reports where asked."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO
from tests.e2e.test_playbooks import labkit

INV = "inventory/seed-lab.yml"


def test_check_valid_files():
    proc = labkit("check", INV, "playbooks/seed-nat.yml", "playbooks/seed-bridged.yml")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("ok: ") == 3


def test_usage_errors_exit_2():
    assert labkit("run").returncode == 2
    assert labkit("run", "playbooks/seed-nat.yml", "--no-such-flag").returncode == 2
    proc = labkit("run", "playbooks/missing.yml")
    assert proc.returncode == 2 and "playbooks/missing.yml: no such file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_backend_is_an_input_error():
    proc = labkit("run", "playbooks/seed-nat.yml", "--backend", "hyperv")
    assert proc.returncode == 2 and "backend 'hyperv' is not available" in proc.stderr


def test_predict_prints_the_matrix_and_reasons(tmp_path):
    out = tmp_path / "p.json"
    proc = labkit("predict", "-i", INV, "--sources", "win7", "--targets", "host,centos", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "win7 -> centos (10.0.0.101): no route to 10.0.0.101" in proc.stdout
    cell = json.loads(out.read_text())["matrices"][0]["cells"][1]
    assert (cell["source"], cell["target"], cell["observed"]) == ("win7", "centos", "unreachable")


def test_predict_rejects_unknown_endpoints():
    proc = labkit("predict", "-i", INV, "--targets", "nosuch")
    assert proc.returncode == 2 and "unknown endpoint 'nosuch'" in proc.stderr


def test_matrix_command_probes_now(tmp_path):
    out = tmp_path / "m.xml"
    proc = labkit("matrix", "-i", INV, "--sources", "host,nat2", "--targets", "nat2,internet", "--junit", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'failures="0"' in out.read_text()


def test_matrix_names_every_bad_endpoint_under_its_option():
    proc = labkit("matrix", "-i", INV, "--sources", "host,win7.", "--targets", "nosuch,hostonly.gateway")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [
        "error: --sources: malformed endpoint 'win7.': a name, or NAME.PART with both sides given "
        "(NET.gateway, host.NET, VM.IFACE, an address)",
        "error: --targets: unknown endpoint 'nosuch' (known: host, router, centos, win7, nat2, internet, "
        "or NET.gateway, host.NET, VM.IFACE, an address)",
        "error: --targets: network 'hostonly' has no gateway",
    ]


def test_endpoints_may_name_what_the_backend_settles(tmp_path):
    """inventory/workstation.yml leaves the NAT network's host adapter and NAT device to the host's
    files: `matrix` and `run` check endpoints against the inventory as the lab is opened with it."""
    ws = "inventory/workstation.yml"
    proc = labkit("matrix", "-i", ws, "--backend", "sim", "--sources", "host", "--targets", "host.nat,nat.gateway")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pb = tmp_path / "pb.yml"
    pb.write_text("name: nat endpoints\nsteps:\n  - ping_matrix: {sources: [host, win7], targets: [host.nat, "
                  "nat.gateway], expect: model}\n")
    proc = labkit("run", str(pb), "-i", ws, "--backend", "sim")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "4 cells, 0 failed" in proc.stdout


def test_set_mode_reports_changed_and_validates():
    proc = labkit("set-mode", "-i", INV, "centos", "bridged", "--adapter", "eth0")
    assert proc.returncode == 0 and "centos eth0 -> bridged (changed)" in proc.stdout
    assert labkit("set-mode", "-i", INV, "centos", "nat").stdout.strip().endswith("(unchanged)")
    bad = labkit("set-mode", "-i", INV, "nosuch", "nat")
    assert bad.returncode == 2 and "unknown VM 'nosuch'" in bad.stderr
    bad = labkit("set-mode", "-i", INV, "centos", "nat", "--adapter", "eth7")
    assert bad.returncode == 2 and "no adapter 'eth7'" in bad.stderr


def test_no_colour_when_not_a_terminal():
    proc = labkit("run", "playbooks/seed-bridged.yml")
    assert proc.returncode == 0
    assert "\x1b[" not in proc.stdout


def test_set_mode_reads_the_adapter_back(monkeypatch):
    """set-mode runs the set_mode step: a hypervisor that says yes but leaves the adapter where it was
    is caught by the read-back, and the command exits 1 naming the VM."""
    from typer.testing import CliRunner

    import labkit.backends
    from labkit.cli import app
    from tests.conftest import REPO

    real_open = labkit.backends.open_lab

    def open_lying_lab(inv, backend=None, **kw):
        lab = real_open(inv, backend, **kw)
        monkeypatch.setattr(lab.hypervisor, "set_adapter_network", lambda vm, adapter, network: True)
        return lab

    monkeypatch.setattr(labkit.backends, "open_lab", open_lying_lab)
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(app, ["set-mode", "-i", INV, "centos", "bridged"])
    assert result.exit_code == 1, result.output
    assert result.stderr == "error: centos: eth0 is on 'nat' after the change, not 'bridged'\n"
    assert result.stdout == ""


def test_run_on_a_netns_lab_that_is_not_up_is_one_line_and_exit_2(tmp_path, monkeypatch):
    """No traceback: the lab is not there, which is a usage problem, and the message names the fix."""
    monkeypatch.setenv("LABKIT_STATE", str(tmp_path / "no-labs-here"))
    proc = subprocess.run([sys.executable, "-m", "labkit.cli", "run", "playbooks/seed-nat.yml",
                           "-i", "inventory/seed-netns.yml", "--backend", "netns"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "is not up" in lines[0] and "labkit lab up -i" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_run_and_matrix_complete_the_inventory_once(monkeypatch, tmp_path):
    """Completing reads the Workstation host's files or asks vmrest: once per command, not again
    when the lab is opened."""
    from typer.testing import CliRunner

    import labkit.backends as backends
    from labkit.cli import app

    calls = []
    real = backends.complete_inventory

    def counting(inv):
        calls.append(inv.lab)
        return real(inv)

    monkeypatch.setattr(backends, "complete_inventory", counting)
    result = CliRunner().invoke(app, ["run", "playbooks/seed-nat.yml", "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    assert len(calls) == 1
    result = CliRunner().invoke(app, ["matrix", "-i", INV, "--sources", "host", "--targets", "router"])
    assert result.exit_code == 0, result.output
    assert len(calls) == 2
