"""Power, guest addresses and a snapshot's revert in .vmx mode (no vmrest), through vmrun.

labkit/backends/workstation/vmx_hypervisor.py powers a VM with `vmrun start PATH nogui` and `vmrun
stop PATH soft` (hard when the soft one is refused) and reads the state back from the .lck folder
Workstation holds beside a running VM's .vmx; its guest address is vmrun getGuestIPAddress. Here
vmrun is the test vmrun (fake_vmrun.py), which keeps power in its map and makes or removes the
.lck folder as Workstation does, and keeps the .vmx text in each snapshot: no guest is needed for
any of it. A VM whose "guest" is this test process has VMware Tools running (a soft stop works);
one with no guest process has none (a soft stop is refused). Only the guest's address is answered
by a stand-in runner, since the test vmrun would read it from a netns guest.
"""

from __future__ import annotations

import json
import logging
import os
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from types import SimpleNamespace

import pytest

from labkit.backends.workstation.lab import WorkstationLab
from labkit.errors import BackendError
from labkit.inventory import inventory_from_data
from labkit.model import RevertSnapshot, SetMode, Snapshot, Step
from labkit.protocols import CommandResult, GuestNic
from labkit.runner import run_step
from labkit.yamlsrc import load
from tests.backends.workstation import fake_vmrun
from tests.backends.workstation.test_vmrun import Vmrunner
from tests.conftest import REPO

INVENTORY = REPO / "inventory" / "workstation-vmrest.yml"
VMX_TEXT = """\
.encoding = "UTF-8"
displayName = "{name}"
ethernet0.present = "TRUE"
ethernet0.connectionType = "nat"
ethernet0.addressType = "generated"
ethernet0.generatedAddress = "{mac}"
"""


def vmx_data(folder: Path, vmrun: str | None) -> dict:
    """inventory/workstation-vmrest.yml in .vmx mode (no vmrest), each VM a real .vmx in `folder`."""
    data = load(INVENTORY).data
    data["backend"] = {"type": "workstation", **({"vmrun": vmrun} if vmrun else {})}
    data["host"]["os"] = "macos"  # no host adapters to find on this machine
    for vm in data["vms"]:
        path = folder / vm["name"] / f"{vm['name']}.vmx"
        path.parent.mkdir(parents=True)
        path.write_text(VMX_TEXT.format(name=vm["name"], mac=vm["adapters"][0]["mac"]))
        vm["path"] = str(path)
        vm.pop("backend_name", None)
    return data


@pytest.fixture
def vmx_lab(tmp_path, monkeypatch):
    """A .vmx-mode lab whose vmrun is the test vmrun; every VM off, centos's "guest" this process."""
    program = fake_vmrun.install(tmp_path / "bin")
    data = vmx_data(tmp_path / "Virtual Machines", str(program))
    paths = {vm["name"]: vm["path"] for vm in data["vms"]}
    guests = fake_vmrun.write_guests(tmp_path / "guests.json", {
        paths["centos"]: {"pid": os.getpid(), "power": "off"}, paths["win7"]: {"power": "off"}})
    log = tmp_path / "vmrun.jsonl"
    monkeypatch.setenv(fake_vmrun.GUESTS_ENV, str(guests))
    monkeypatch.setenv(fake_vmrun.LOG_ENV, str(log))
    lab = WorkstationLab(inventory_from_data(data, "x"), platform="linux")
    yield SimpleNamespace(lab=lab, vmx={k: Path(v) for k, v in paths.items()}, log=log)
    lab.close()


def calls(log: Path) -> list[tuple[str, list[str]]]:
    return [(c["verb"], c["params"][1:]) for c in map(json.loads, log.read_text().splitlines())] if log.exists() else []


def lck(vmx: Path) -> Path:
    return vmx.with_name(vmx.name + ".lck")


def test_power_on_and_off_go_through_vmrun_and_read_back_from_the_lck_folder(vmx_lab):
    hv, vmx = vmx_lab.lab.hypervisor, vmx_lab.vmx["centos"]
    assert hv.powered_on("centos") is False
    assert hv.set_power("centos", True) is True
    assert lck(vmx).is_dir() and hv.powered_on("centos") is True
    assert hv.set_power("centos", True) is False  # already on: vmrun not asked
    assert hv.set_power("centos", False) is True
    assert not lck(vmx).exists() and hv.powered_on("centos") is False
    assert hv.set_power("centos", False) is False
    assert calls(vmx_lab.log) == [("start", ["nogui"]), ("stop", ["soft"])]


def test_a_refused_soft_stop_becomes_a_power_off(vmx_lab, caplog):
    hv = vmx_lab.lab.hypervisor
    assert hv.set_power("win7", True) is True  # no guest process: no VMware Tools to shut it down
    with caplog.at_level(logging.WARNING):
        assert hv.set_power("win7", False) is True
    assert hv.powered_on("win7") is False
    assert calls(vmx_lab.log)[1:] == [("stop", ["soft"]), ("stop", ["hard"])]
    assert "win7: vmrun stop soft was refused (The VMware Tools are not running in the virtual machine)" in caplog.text


def test_a_vm_vmrun_cannot_open_is_an_error_naming_it(vmx_lab):
    vmx_lab.vmx["nat2"].unlink()
    with pytest.raises(BackendError, match=r"nat2: vmrun start: Cannot open VM: .*nat2.vmx, The virtual machine "
                                           "cannot be found"):
        vmx_lab.lab.hypervisor.set_power("nat2", True)


def test_without_vmrun_power_says_what_would_do_it(tmp_path):
    data = vmx_data(tmp_path, str(tmp_path / "no" / "vmrun"))
    lab = WorkstationLab(inventory_from_data(data, "x"), platform="linux")
    try:
        with pytest.raises(BackendError, match=r"centos: to power a VM on or off the Workstation backend needs "
                                               r"vmrest .* or, with .vmx files, vmrun: backend.vmrun: there is no "
                                               "program at"):
            lab.hypervisor.set_power("centos", True)
        with pytest.raises(BackendError, match="centos: to read guest addresses .* needs vmrest"):
            lab.hypervisor.guest_nics("centos")
    finally:
        lab.close()


def test_revert_puts_the_vmx_back_leaves_the_vm_off_and_power_on_starts_it(vmx_lab):
    lab, vmx = vmx_lab.lab, vmx_lab.vmx["win7"]
    eth0 = lab.inventory.vm("win7").adapters[0]
    before = vmx.read_text()
    taken = run_step(Step(name="s", kind="snapshot", spec=Snapshot(vms=["win7"], name="before class")), lab)
    assert taken.vms["win7"].ok and taken.vms["win7"].detail == "snapshot 'before class' taken"
    moved = run_step(Step(name="m", kind="set_mode", spec=SetMode(vms=["win7"], mode="hostonly")), lab)
    assert moved.vms["win7"].ok and lab.hypervisor.adapter_network("win7", eth0) == "hostonly"
    lab.hypervisor.set_power("win7", True)

    back = run_step(Step(name="r", kind="revert_snapshot", spec=RevertSnapshot(vms=["win7"], name="before class")),
                    lab)
    assert back.vms["win7"].ok, back.vms["win7"].detail
    assert back.vms["win7"].detail == "reverted to 'before class', powered on"
    assert vmx.read_text() == before and lab.hypervisor.adapter_network("win7", eth0) == "nat"
    assert lab.hypervisor.powered_on("win7") is True and lck(vmx).is_dir()
    assert [verb for verb, _ in calls(vmx_lab.log)][-3:] == ["listSnapshots", "revertToSnapshot", "start"]

    lab.hypervisor.set_power("win7", False)
    left = run_step(Step(name="r2", kind="revert_snapshot",
                         spec=RevertSnapshot(vms=["win7"], name="before class", power_on=False)), lab)
    assert left.vms["win7"].detail == "reverted to 'before class', powered off (power_on: false)"
    assert lab.hypervisor.powered_on("win7") is False


def test_the_guest_address_is_vmruns_for_the_first_adapter_with_its_networks_prefix(tmp_path):
    data = vmx_data(tmp_path, str(fake_vmrun.install(tmp_path / "bin")))
    answers = {"getGuestIPAddress": CommandResult(0, "10.0.0.150\n")}
    runner = Vmrunner(lambda argv: answers.get(argv[3], CommandResult(0, "")))
    lab = WorkstationLab(inventory_from_data(data, "x"), platform="linux", vmrun_runner=runner)
    try:
        mac = lab.inventory.vm("centos").adapters[0].mac
        assert lab.hypervisor.guest_nics("centos") == [GuestNic(mac, (IPv4Interface("10.0.0.150/24"),))]
        assert lab.guest_address("centos", "eth0") == IPv4Address("10.0.0.150")
        answers["getGuestIPAddress"] = CommandResult(0, "192.168.56.7\n")  # not in the adapter's network (NAT)
        assert lab.hypervisor.guest_nics("centos")[0].addresses == (IPv4Interface("192.168.56.7/32"),)
        answers["getGuestIPAddress"] = CommandResult(255, "Error: Unable to get the IP address\n")
        assert lab.hypervisor.guest_nics("centos") == [] and lab.guest_address("centos", "eth0") is None
        answers["getGuestIPAddress"] = CommandResult(255, "Error: Invalid argument\n")
        with pytest.raises(BackendError, match="centos: vmrun getGuestIPAddress: Invalid argument"):
            lab.hypervisor.guest_nics("centos")
    finally:
        lab.close()
