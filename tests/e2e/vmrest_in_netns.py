"""The fake vmrest served inside a netns lab's host namespace, with its NIC changes made real.

labkit decides that it runs on the Workstation host when vmrest is on loopback (placement.py), and
then the host's adapters and pings are its own. So the fake must answer at 127.0.0.1 *inside* the
lab's host namespace, where the test runs labkit. Its listening socket is made there: one
throwaway thread enters the namespace (labkit's own nsexec.in_netns: setns through ctypes;
Python 3.11 has no os.setns) and starts the server, whose serving thread, and the handler threads
that one starts, are born in that namespace. The fake stays in the test's process, so the test
reads its requests and violations directly; a subprocess under `ip netns exec` would have to ship
them back.

It is the validating fake (tests/backends/workstation/fake_vmrest.py), its VMware Tools answers
taken from the netns guests (GuestBackedVmrest), its VMs and VMnets those of the lab's inventory.
When labkit PUTs a NIC to another type or vmnet, the guest port with that MAC is moved to that
network's bridge by the netns backend's own NetnsHypervisor.set_adapter_network, so `set_mode`
really moves packets. A move that fails is kept in `failures`, which the test checks. The test
vmrun, run by labkit in that namespace too, asks this fake for the VMs' power (its map names it),
so the two stand-ins answer as the one VMware behind vmrest and vmrun does.
"""

from __future__ import annotations

import hashlib

from labkit.backends.netns.nsexec import in_netns
from labkit.errors import LabkitError
from labkit.model import Adapter, Inventory
from tests.backends.workstation.fake_vmrest import Contract, FakeVm
from tests.contract.guests import Guests
from tests.contract.workstation_lab import GuestBackedVmrest

# the VMnets of a Workstation host, and the adapter type that puts a NIC on each without `custom`
TYPE_OF_VNET = {"vmnet0": "bridged", "vmnet1": "hostonly", "vmnet8": "nat"}
VNET_KIND = {"bridged": "bridged", "hostonly": "hostOnly", "nat": "nat", "custom": "hostOnly"}  # /vmnet's spelling


def vmx_path(vm: str) -> str:
    """Where a Linux host keeps the VM (vmrest lists VMs by .vmx path)."""
    return f"/home/lab/vmware/{vm}/{vm}.vmx"


class LabVmrest(GuestBackedVmrest):
    """The fake vmrest whose VMs are the netns lab's, with their adapters where the lab has them."""

    def __init__(self, contract: Contract, guests: Guests) -> None:
        super().__init__(contract, guests)
        inv = guests.inventory
        self.failures: list[str] = []
        self.moves: list[tuple[str, str, str]] = []  # (VM, interface, network), in order
        self.network_of_vnet = {_vnet(inv, name): name for name in inv.networks}
        self.adapters: dict[str, tuple[str, Adapter]] = {}  # MAC -> (VM, adapter)
        for name, net in inv.networks.items():
            subnet = inv.lan.subnet if net.type == "bridged" else net.subnet
            assert subnet is not None  # every network but a bridged one has its subnet
            self.add_vnet(_vnet(inv, name), VNET_KIND[net.type], str(subnet.network_address), str(subnet.netmask))
        for vm in inv.vms:
            nics = []
            for ad in vm.adapters:
                assert ad.mac is not None, f"{vm.name}.{ad.interface}: the lab's inventory gives every MAC"
                vnet = _vnet(inv, ad.network)
                nics.append((TYPE_OF_VNET.get(vnet, "custom"), vnet, ad.mac.lower()))
                self.adapters[ad.mac.lower()] = (vm.name, ad)
            self.add_vm(_vm_id(vm.name), vmx_path(vm.name), vm.name, nics, power="poweredOn")

    def nic_changed(self, vm: FakeVm, nic: dict) -> None:
        mac, vnet = nic["macAddress"].lower(), self.effective_vnet(nic)
        found, network = self.adapters.get(mac), self.network_of_vnet.get(vnet)
        if found is None or network is None:
            self.failures.append(f"{vm.display_name}: no guest port for {mac} or no lab network on {vnet}")
            return
        name, adapter = found
        try:
            self.guests.hv.set_adapter_network(name, adapter, network)
        except LabkitError as exc:
            self.failures.append(f"{name}: moving {adapter.interface} to {network} failed: {exc}")
            return
        self.moves.append((name, adapter.interface, network))

    def start_in_netns(self, ns: str) -> LabVmrest:
        """Serve at 127.0.0.1 in network namespace `ns` (see the module's docstring)."""
        in_netns(ns, self.start)
        return self


def _vnet(inv: Inventory, network: str) -> str:
    vnet = inv.networks[network].backend_network
    assert vnet is not None, f"network {network}: the lab's inventory names every VMnet"
    return vnet.lower()


def _vm_id(name: str) -> str:
    """An id shaped like vmrest's (32 characters, upper case and digits), stable per VM name."""
    return hashlib.sha256(name.encode()).hexdigest()[:32].upper()


