"""`labkit run --check` on vcsim: playbooks/vsphere-switch.yml is planned and vSphere is not touched.

A vcsim of this module's own, started with -log-requests, logs every SOAP method it receives, so
"no task was submitted" is checked on the wire (no `*_Task` method at all) as well as in vCenter's
own task list (taskManager.recentTask) and on the adapters. The real run afterwards is the control:
the same counters do see its tasks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.backends.vsphere.conftest import PASSWORD_ENV, Probe, sim_inventory_data, start_vcsim, stop_vcsim
from tests.conftest import REPO

PLAYBOOK = REPO / "playbooks" / "vsphere-switch.yml"
VMS = (0, 1, 2)  # web, db, app in inventory/vsphere-sim.yml


@pytest.fixture(scope="module")
def logged_vcsim(tmp_path_factory):
    sim = start_vcsim(tmp_path_factory.mktemp("vcsim-check"), "-vm", "4", "-log-requests")
    yield sim
    stop_vcsim(sim)


def labkit_run(sim, inventory, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, PASSWORD_ENV: sim.password, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "labkit.cli", "run", str(PLAYBOOK), "-i", str(inventory), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def tasks_in(methods: list[str]) -> list[str]:
    return [m for m in methods if m.endswith("_Task")]


def plug_in_every_card(sim, monkeypatch) -> None:
    """vcsim starts its VMs' cards not connected (connected false, startConnected true), whose network
    a plan cannot read (docs/format.md: set_link); plugged in, as on a lab in use, every line is definite."""
    from labkit.backends import open_lab
    from labkit.inventory import inventory_from_data

    monkeypatch.setenv(PASSWORD_ENV, sim.password)
    inv = inventory_from_data(sim_inventory_data(sim))
    lab = open_lab(inv)
    try:
        for vm in inv.vms:
            assert lab.links is not None
            lab.links.set_link(vm.name, vm.adapters[0], True)
    finally:
        lab.close()


def test_check_submits_no_task_and_changes_no_adapter(logged_vcsim, tmp_path, monkeypatch):
    sim = logged_vcsim
    plug_in_every_card(sim, monkeypatch)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps(sim_inventory_data(sim)))  # JSON is YAML
    probe = Probe(sim)
    try:
        networks = {n: [net.name for net in probe.vm(n).network] for n in VMS}
        task_ids = probe.task_ids()
        logged = len(sim.requests())

        done = labkit_run(sim, inventory, "--check", "--json", str(tmp_path / "plan.json"))
        during = sim.requests()[logged:]

        assert done.returncode == 1, done.stdout + done.stderr  # the playbook would move every adapter
        assert during, "vcsim logged no request: the wire check would see nothing"
        assert tasks_in(during) == [], during
        assert probe.task_ids() == task_ids
        assert {n: [net.name for net in probe.vm(n).network] for n in VMS} == networks
        assert "web: eth0 distributed -> standard" in done.stdout  # vcsim puts its VMs on DC0_DVPG0
        assert "web: eth0 standard -> distributed" in done.stdout
        assert "web: eth0 opaque -> standard" in done.stdout  # planned against the step before
        for vm in ("web", "db", "app"):
            assert f"{vm}: eth0 already on standard (no change)" in done.stdout  # "again, nothing to do"
        assert "would run wait_for_ip on web (observes only, not run in --check)" in done.stdout
        plan = json.loads((tmp_path / "plan.json").read_text())
        assert plan["schema"] == "labkit-plan/1" and plan["backend"] == "vsphere"
        assert plan["summary"] == {"change": 15, "same": 3, "unknown": 0, "observe": 1}

        # the control: a real run of the same playbook is seen by the same counters
        logged = len(sim.requests())
        labkit_run(sim, inventory)
        assert "ReconfigVM_Task" in tasks_in(sim.requests()[logged:])
        assert probe.task_ids() != task_ids
    finally:
        probe.close()
