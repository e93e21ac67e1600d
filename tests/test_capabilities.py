"""What a backend's lab will be able to do, known from the inventory alone, and the check that uses it:
a step needing an ability the backend lacks is refused before anything runs (file:line:field, exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.backends import CAPABILITIES, capabilities, open_lab
from labkit.errors import InputError, InputErrors
from labkit.inventory import inventory_from_data, load_inventory
from labkit.playbook import load_checked
from labkit.yamlsrc import load
from tests.conftest import REPO

BROKEN = REPO / "tests" / "broken"


def data_of(name: str) -> dict:
    return load(REPO / "inventory" / name).data


@pytest.mark.parametrize("backend, expected", [
    # on the host, vmrun's snapshots too (no guest_login in this inventory: no vmrun console)
    ({"type": "workstation"}, {"host_adapters", "links", "snapshots"}),  # .vmx files: on the host, startConnected
    ({"type": "workstation", "host": "127.0.0.1", "user": "u", "password_env": "PW"}, {"host_adapters", "snapshots"}),
    ({"type": "workstation", "host": "localhost", "user": "u", "password_env": "PW"}, {"host_adapters", "snapshots"}),
    ({"type": "workstation", "user": "u", "password_env": "PW"}, {"host_adapters", "snapshots"}),  # loopback default
    ({"type": "workstation", "host": "192.0.2.10", "user": "u", "password_env": "PW"}, set()),
    ({"type": "workstation", "host": "ws.example.org", "user": "u", "password_env": "PW"}, set()),
])
def test_workstation_switches_host_adapters_only_on_its_own_host(backend, expected):
    data = data_of("workstation-vmrest.yml")
    data["backend"] = backend
    assert capabilities(inventory_from_data(data, "x")) == frozenset(expected)


@pytest.mark.parametrize("os, has", [("windows", True), ("linux", True), ("macos", False)])
def test_workstation_host_adapters_per_host_os(os, has):
    data = data_of("workstation-vmrest.yml")
    data["host"]["os"] = os
    assert ("host_adapters" in capabilities(inventory_from_data(data, "x"))) is has


def test_vsphere_has_batch_and_a_console_where_a_vm_has_a_guest_login():
    inv = load_inventory(REPO / "inventory" / "vsphere-sim.yml")
    with_login = any(vm.guest_login for vm in inv.vms)
    assert capabilities(inv) == frozenset({"batch", "links", "snapshots"} | ({"console"} if with_login else set()))
    bare = inv.model_copy(update={"vms": [vm.model_copy(update={"guest_login": None}) for vm in inv.vms]})
    assert capabilities(bare) == frozenset({"batch", "links", "snapshots"})
    # the lab agrees with what check was told (its constructor opens no session)
    from labkit.backends.vsphere.lab import VsphereLab

    assert VsphereLab(bare).console is None
    assert (VsphereLab(inv).console is not None) is with_login


def test_the_sim_lab_has_what_its_package_declares():
    inv = load_inventory(REPO / "inventory" / "seed-lab.yml")
    lab = open_lab(inv)
    present = {name for name in CAPABILITIES if getattr(lab, name) is not None}
    assert present == capabilities(inv) == {"console", "host_adapters", "links", "snapshots"}


def test_the_backend_given_wins_over_the_inventorys():
    inv = load_inventory(BROKEN / "vsphere-inventory.yml")
    assert "host_adapters" not in capabilities(inv)
    assert capabilities(inv, "workstation") <= CAPABILITIES
    with pytest.raises(InputError, match="backend 'hyperv' is not available"):
        capabilities(inv, "hyperv")


def labkit(*args: str) -> subprocess.CompletedProcess:
    """The real CLI, in this environment (Windows' Python needs its SYSTEMROOT)."""
    return subprocess.run([sys.executable, "-m", "labkit.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "NO_COLOR": "1"}, check=False)


def test_capabilities_import_no_hypervisor_client():
    code = ("import sys; from labkit.backends import capabilities; from labkit.inventory import load_inventory; "
            "[capabilities(load_inventory(p)) for p in sys.argv[1:]]; "
            "print(sorted(m for m in ('httpx', 'pyVmomi', 'paramiko') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code, "tests/broken/vsphere-inventory.yml",
                           "tests/broken/remote-vmrest-inventory.yml", "inventory/workstation-vmrest.yml"],
                          cwd=REPO, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_load_checked_refuses_a_step_the_backend_cannot_do():
    path = BROKEN / "playbook" / "host-adapter-vsphere.yml"
    load_checked(path)  # without capabilities: nothing is said about them
    with pytest.raises(InputErrors) as err:
        load_checked(path, capabilities=capabilities)
    (e,) = err.value.errors
    assert (Path(e.file).name, e.line, e.field) == ("host-adapter-vsphere.yml", 19, "steps[4].set_host_adapter")
    assert "the vsphere backend cannot switch the host's virtual adapters" in str(e)


def test_the_run_backend_is_the_one_judged(tmp_path):
    """The seed playbook disables VMnet8: fine on the simulated lab, refused before a run on vSphere."""
    seed = REPO / "playbooks" / "seed-nat.yml"
    load_checked(seed, capabilities=capabilities)
    with pytest.raises(InputErrors, match="the vsphere backend cannot switch"):
        load_checked(seed, capabilities=lambda inv: capabilities(inv, "vsphere"), backend="vsphere")


def test_cli_check_and_run_refuse_with_exit_2_before_touching_anything():
    proc = labkit("check", "tests/broken/playbook/host-adapter-remote-vmrest.yml")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: tests/broken/playbook/host-adapter-remote-vmrest.yml:19: "
                                  "steps[4].set_host_adapter: the workstation backend cannot switch")
    run = labkit("run", "playbooks/seed-nat.yml", "--backend", "vsphere")
    assert run.returncode == 2
    assert "steps[4].set_host_adapter: the vsphere backend cannot switch" in run.stderr
    assert "cannot connect" not in run.stderr  # refused at check time: no vCenter was asked
