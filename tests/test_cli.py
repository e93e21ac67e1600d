"""The CLI's contract: exit statuses, clear errors without tracebacks, reports where asked."""

from __future__ import annotations

import json

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
