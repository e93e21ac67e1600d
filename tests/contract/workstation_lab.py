"""Workstation under contract: the fake vmrest (held to VMware's swagger) and the test vmrun, with
netns guests behind them.

The fake vmrest has VMs but no guests. Here its three VMs (the tutorial's centos, win7 and nat2, as
inventory/workstation-vmrest.yml has them) stand for the guests of a netns lab with the same MACs:
- VMware Tools' answers (GET /vms/{id}/nicips) are what the guest with that MAC really holds;
- each VM's `ssh` leads to its guest through a local port forwarded from the lab's host namespace,
  so labkit's own SSH transport (kind "ssh") carries files, commands and pings;
- each VM's `os` and `dialect` are its guest's (win7's guest is Debian, as in seed-netns.yml).
labkit runs beside vmrest (loopback), so it is on the Workstation host and uses vmrun there: the
test vmrun (tests/backends/workstation/fake_vmrun.py, named as backend.vmrun). The fake vmrest lists
each VM at a real .vmx file in the scratch folder, the path vmrun is given; the test vmrun maps it
to the VM's netns guest, so each VM's guest_login gives the console (VMware Tools' guest operations,
run in the guest), and asks the fake vmrest for power and NICs, so a snapshot keeps the VM's NICs
and a revert puts them back and leaves the VM off, as vmrest then reports. No batch set-mode, no links.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest

from labkit.backends import complete_inventory
from labkit.backends.transports.commands import LocalRunner
from labkit.backends.workstation.lab import WorkstationLab
from labkit.inventory import inventory_from_data
from labkit.yamlsrc import load
from tests.backends.workstation import fake_vmrun
from tests.backends.workstation.conftest import PASSWORD, load_contract
from tests.backends.workstation.fake_vmrest import Contract, FakeVm, FakeVmrest, default_world
from tests.conftest import REPO
from tests.contract.guests import Guests, SshForwarder, netns_lab
from tests.contract.subject import Subject

INVENTORY = REPO / "inventory" / "workstation-vmrest.yml"
VMREST_PASSWORD_ENV = "LABKIT_CONTRACT_VMREST_PASSWORD"
GUEST_PASSWORD_ENV = "LABKIT_CONTRACT_GUEST_PASSWORD"
GUEST_PASSWORD = "contract guest-Pw 7"
VMX_TEXT = '.encoding = "UTF-8"\ndisplayName = "{name}"\n'


class GuestBackedVmrest(FakeVmrest):
    """The fake vmrest whose VMware Tools report, for a powered-on VM, what the netns guest with the
    NIC's MAC holds (the fake's own guests would invent an address from the MAC)."""

    def __init__(self, contract: Contract, guests: Guests) -> None:
        super().__init__(contract, password=PASSWORD)
        self.guests = guests

    def guest_address(self, vm: FakeVm, nic: dict) -> tuple[str, str | None] | None:
        if vm.power != "poweredOn":
            return None
        found = self.guests.by_mac(nic["macAddress"])
        if found is None or not found.addresses:
            return None
        return str(found.addresses[0]), str(found.gateway) if found.gateway else None


def inventory_data(port: int, guests: Guests, known_hosts: Path, forwarders: dict[str, SshForwarder],
                   vmrun: Path, vmx: dict[str, str]) -> dict:
    """inventory/workstation-vmrest.yml pointed at the fake and the test vmrun, each VM's SSH at its
    forwarder and its guest account for the console; centos found by its (real) .vmx path."""
    data = copy.deepcopy(load(INVENTORY).data)
    data["lab"] = "contract-workstation"
    data["backend"].update(port=port, password_env=VMREST_PASSWORD_ENV, vmrun=str(vmrun))
    data["host"]["os"] = "linux"  # the Workstation host here is the netns lab's host namespace, a Linux host
    for vm in data["vms"]:
        guest = guests.inventory.vm(vm["name"])
        vm.update(os=guest.os, dialect=guest.dialect)  # what really runs there (win7's guest is Debian)
        vm.pop("powered_on", None)  # nat2's guest runs here
        if "path" in vm:
            vm["path"] = vmx[vm["name"]]
        vm["guest_login"] = {"user": "root", "password_env": GUEST_PASSWORD_ENV}
        vm["ssh"] = {"address": "127.0.0.1", "port": forwarders[vm["name"]].port, "user": "root",
                     "key_file": guests.key_file, "known_hosts": str(known_hosts), "connect_timeout": 5}
    return data


@contextmanager
def open_workstation(workdir: Path) -> Iterator[Subject]:
    contract = load_contract()
    with netns_lab("contract-workstation") as guest_inv:
        guests = Guests(guest_inv)
        fake = default_world(GuestBackedVmrest(contract, guests))
        vmx = _vmx_files(fake, workdir / "Virtual Machines")
        for vm in fake.vms.values():
            vm.power = "poweredOn"
        fake.start()
        forwarders: dict[str, SshForwarder] = {}
        env = pytest.MonkeyPatch()
        lab = None
        try:
            for name in guests.state["vms"]:
                forwarders[name] = SshForwarder(guests.state["host"], partial(_ip, guests, name))
            known_hosts = workdir / "known_hosts"
            known_hosts.write_text("".join(f"[127.0.0.1]:{fwd.port} {guests.host_key(name)}\n"
                                           for name, fwd in forwarders.items()))
            env.setenv(VMREST_PASSWORD_ENV, PASSWORD)
            # the test vmrun: each .vmx to its guest, the guests' root account, the same VMs' vmrest
            vmrun = fake_vmrun.install(workdir / "bin")
            mapped = fake_vmrun.write_guests(workdir / "vmrun-guests.json",
                                             {path: {"pid": guests.pid(name)} for name, path in vmx.items()},
                                             vmrest={"url": fake.url, "user": fake.user})
            env.setenv(fake_vmrun.GUESTS_ENV, str(mapped))
            env.setenv(fake_vmrun.PASSWORD_ENV, GUEST_PASSWORD)
            env.setenv(fake_vmrun.VMREST_PASSWORD_ENV, PASSWORD)
            env.setenv(fake_vmrun.LOG_ENV, str(workdir / "vmrun-calls.jsonl"))
            env.setenv(GUEST_PASSWORD_ENV, GUEST_PASSWORD)
            data = inventory_data(fake.port, guests, known_hosts, forwarders, vmrun, vmx)
            inv = complete_inventory(inventory_from_data(data, "contract-workstation"))
            # labkit runs beside vmrest, so it is on the Workstation host: the host's VMnet adapters are
            # the paired netns lab's (vmnet8, vmnet1 in its host namespace), driven as on a Linux host
            host = LocalRunner(["ip", "netns", "exec", guests.state["host"]])
            lab = WorkstationLab(inv, runner=host, platform="linux")
            yield Subject(lab, other_network="hostonly", host_network="nat", violations=fake.take_violations)
        finally:
            if lab is not None:
                lab.close()
            for fwd in forwarders.values():
                fwd.close()
            fake.stop()
            env.undo()


def _vmx_files(fake: FakeVmrest, folder: Path) -> dict[str, str]:
    """Each VM of the fake at a real .vmx file in `folder` (snapshots are kept beside it), by lab VM name."""
    names = {"CentOS 6.5": "centos", "Windows 7": "win7", "nat2": "nat2"}  # display name -> inventory name
    out = {}
    for vm in fake.vms.values():
        path = folder / vm.display_name / f"{vm.display_name}.vmx"
        path.parent.mkdir(parents=True)
        path.write_text(VMX_TEXT.format(name=vm.display_name))
        vm.path = str(path)
        out[names[vm.display_name]] = str(path)
    return out


def _ip(guests: Guests, vm: str) -> str | None:
    address = guests.address(vm)
    return str(address.ip) if address else None
