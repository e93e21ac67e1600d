"""playbooks/reset-lab.yml, a trainer's reset between classes, as `make demo` runs the shipped
playbooks: checked, then run on the simulated lab through the real CLI with its reports."""

from __future__ import annotations

import html
import json

from tests.e2e.test_playbooks import cells, labkit


def test_reset_lab_is_checked_and_run_offline(tmp_path):
    check = labkit("check", "inventory/seed-lab.yml", "playbooks/reset-lab.yml")
    assert check.returncode == 0 and "ok: playbooks/reset-lab.yml" in check.stdout, check.stdout + check.stderr
    report = tmp_path / "reset-lab.json"
    run = labkit("run", "playbooks/reset-lab.yml", "--json", str(report), "--html", str(tmp_path / "reset-lab.html"))
    assert run.returncode == 0, run.stdout + run.stderr
    done = json.loads(report.read_text())
    steps = {s["name"]: s for s in done["steps"]}
    vms = ("centos", "win7", "nat2")
    assert {vm: steps["before class"]["vms"][vm]["detail"] for vm in vms} == dict.fromkeys(
        vms, "snapshot 'before class' taken")
    assert steps["win7 onto NAT"]["vms"]["win7"]["detail"] == "eth0 -> nat (changed)"
    assert {vm: steps["back to before class"]["vms"][vm]["detail"] for vm in vms} == dict.fromkeys(
        vms, "reverted to 'before class', powered on")
    addresses = {vm: steps["every VM has its address again"]["vms"][vm]["detail"] for vm in vms}
    assert addresses["centos"] == "eth0: 10.0.0.101/24"  # its static address, from the reverted disk
    assert addresses["win7"].startswith("eth0: 192.168.1.")  # bridged onto the LAN again
    c = cells(done, 0)
    assert c[("router", "win7")]["observed"] == "reachable" and c[("win7", "centos")]["observed"] == "unreachable"
    assert done["ok"] is True
    assert html.escape("reverted to 'before class', powered on") in (tmp_path / "reset-lab.html").read_text()
