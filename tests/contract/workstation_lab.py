"""Workstation under contract: the fake vmrest (held to VMware's swagger) with netns guests behind it.

The fake has VMs but no guests. Here its three VMs (the tutorial's centos, win7 and nat2, as
inventory/workstation-vmrest.yml has them) stand for the guests of a netns lab with the same MACs:
- VMware Tools' answers (GET /vms/{id}/nicips) are what the guest with that MAC really holds;
- each VM's `ssh` leads to its guest through a local port forwarded from the lab's host namespace,
  so labkit's own SSH transport (kind "ssh") carries files, commands and pings;
- each VM's `os` and `dialect` are its guest's (win7's guest is Debian, as in seed-netns.yml).
Workstation has no console, no batch set-mode and cannot switch the host's virtual adapters.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from functools import partial
from contextlib import contextmanager
from pathlib import Path

import pytest

from labkit.backends import complete_inventory
from labkit.backends.transports.commands import LocalRunner
from labkit.backends.workstation.lab import WorkstationLab
from labkit.inventory import inventory_from_data
from labkit.yamlsrc import load
from tests.backends.workstation.conftest import PASSWORD, load_contract
from tests.backends.workstation.fake_vmrest import Contract, FakeVm, FakeVmrest, default_world
from tests.conftest import REPO
from tests.contract.guests import Guests, SshForwarder, netns_lab
from tests.contract.subject import Subject

INVENTORY = REPO / "inventory" / "workstation-vmrest.yml"
VMREST_PASSWORD_ENV = "LABKIT_CONTRACT_VMREST_PASSWORD"


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


def inventory_data(port: int, guests: Guests, known_hosts: Path, forwarders: dict[str, SshForwarder]) -> dict:
    """inventory/workstation-vmrest.yml pointed at the fake, each VM's SSH at its forwarder."""
    data = copy.deepcopy(load(INVENTORY).data)
    data["lab"] = "contract-workstation"
    data["backend"].update(port=port, password_env=VMREST_PASSWORD_ENV)
    data["host"]["os"] = "linux"  # the Workstation host here is the netns lab's host namespace, a Linux host
    for vm in data["vms"]:
        guest = guests.inventory.vm(vm["name"])
        vm.update(os=guest.os, dialect=guest.dialect)  # what really runs there (win7's guest is Debian)
        vm.pop("powered_on", None)  # nat2's guest runs here
        vm["ssh"] = {"address": "127.0.0.1", "port": forwarders[vm["name"]].port, "user": "root",
                     "key_file": guests.key_file, "known_hosts": str(known_hosts), "connect_timeout": 5}
    return data


@contextmanager
def open_workstation(workdir: Path) -> Iterator[Subject]:
    contract = load_contract()
    with netns_lab("contract-workstation") as guest_inv:
        guests = Guests(guest_inv)
        fake = default_world(GuestBackedVmrest(contract, guests))
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
            data = inventory_data(fake.port, guests, known_hosts, forwarders)
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


def _ip(guests: Guests, vm: str) -> str | None:
    address = guests.address(vm)
    return str(address.ip) if address else None
