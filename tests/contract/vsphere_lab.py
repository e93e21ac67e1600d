"""vSphere under contract: vcsim (VMware's simulator) with netns guests behind its VMware Tools.

vcsim has VMs but no guests. As in tests/backends/vsphere/test_guestops.py, tests/vcsim's guest
operations run each mapped VM's programs and files inside a netns lab VM, so the VMware Tools
console is real and pings leave real guests. The lab here mirrors the guests' segments: port group
DC0_DVPG0 is their NAT segment (10.0.0.0/24), the standard "VM Network" their LAN. No VM has SSH
settings, so every guest channel is the console (transport kind "vmware-tools").

What VMware Tools reports (guest.net) is what vcsim is told: each VM's guest address is set, with
vcsim's SET.guest.ipAddress, to the one its netns guest really holds, as Tools would report it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from labkit.backends import open_lab
from labkit.inventory import inventory_from_data
from tests.backends.vsphere.conftest import Probe, Vcsim, sim_inventory_data, start_vcsim, stop_vcsim, vm_entry
from tests.contract.guests import Guests, netns_lab
from tests.contract.subject import Subject

VSPHERE_PASSWORD_ENV = "LABKIT_CONTRACT_VSPHERE_PASSWORD"
GUEST_PASSWORD_ENV = "LABKIT_CONTRACT_GUEST_PASSWORD"
VCSIM_VM = {"centos": 0, "win7": 1, "nat2": 2}  # inventory VM (and netns guest) -> DC0_C0_RP0_VM<n>
NETWORKS = {
    "natseg": {"type": "custom", "backend_network": "DC0_DVPG0", "subnet": "10.0.0.0/24"},
    "bridged": {"type": "bridged", "backend_network": "VM Network"},
    "standard": {"type": "custom", "backend_network": "LabNet", "subnet": "10.10.0.0/24"},
}
PLACES = {"centos": "natseg", "win7": "bridged", "nat2": "natseg"}  # where each guest really is


def inventory_data(sim: Vcsim, guests: Guests) -> dict:
    """inventory/vsphere-sim.yml pointed at `sim`, with the guests' LAN, internet and segments."""
    vms = []
    for name, n in VCSIM_VM.items():
        entry = vm_entry(name, n, network=PLACES[name])
        entry["guest_login"] = {"user": "root", "password_env": GUEST_PASSWORD_ENV}
        vms.append(entry)
    data = sim_inventory_data(sim, vms, password_env=VSPHERE_PASSWORD_ENV)
    data["lab"] = "contract-vsphere"
    src = guests.inventory
    data["host"] = {"lan_address": str(src.host.lan_address), "os": "linux"}
    data["lan"] = {"subnet": str(src.lan.subnet), "router": str(src.lan.router),
                   "wan_address": str(src.lan.wan_address)}
    data["externals"] = {name: {"address": str(ext.address)} for name, ext in src.externals.items()}
    data["networks"] = NETWORKS
    return data


@contextmanager
def open_vsphere(workdir: Path) -> Iterator[Subject]:
    with netns_lab("contract-vsphere") as guest_inv:
        guests = Guests(guest_inv)
        guest_password = secrets.token_urlsafe(12)
        mapping = ",".join(f"DC0_C0_RP0_VM{n}={guests.pid(name)}" for name, n in VCSIM_VM.items())
        sim = start_vcsim(workdir, "-vm", str(len(VCSIM_VM)), "-guest-exec", mapping, "-guest-user", "root",
                          env={"VCSIM_GUEST_PASSWORD": guest_password})
        env = pytest.MonkeyPatch()
        lab = None
        try:
            env.setenv(VSPHERE_PASSWORD_ENV, sim.password)
            env.setenv(GUEST_PASSWORD_ENV, guest_password)
            probe = Probe(sim)
            try:
                for name, n in VCSIM_VM.items():
                    address = guests.address(name)
                    assert address is not None, f"netns guest {name} has no address"
                    probe.set_guest_ip(n, str(address.ip))
            finally:
                probe.close()
            lab = open_lab(inventory_from_data(inventory_data(sim, guests), "contract-vsphere"), "vsphere")
            for vm in lab.inventory.vms:  # the simulator's VMs onto the port groups their guests are on
                lab.hypervisor.set_adapter_network(vm.name, vm.adapters[0], vm.adapters[0].network)
            yield Subject(lab, other_network="standard")
        finally:
            if lab is not None:
                lab.close()
            stop_vcsim(sim)
            env.undo()
