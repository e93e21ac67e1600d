"""A run on vSphere as a Lab: the hypervisor (hypervisor.py), SSH to the VMs whose inventory entry
says how, the VMware Tools console (guestops.py) to the VMs that have a guest_login, and the
abilities built on the hypervisor's session (links.py, snapshots.py).

Opening the lab resolves every network and VM at once (`resolve_all`), so a name several VMs fit
is bad input before anything changes; `lost` tells a runner that vCenter stopped answering, so
the steps left can be reported as not run instead of each failing on its own.
"""

from __future__ import annotations

import threading
from ipaddress import IPv4Address
from typing import TYPE_CHECKING

from labkit.clock import SYSTEM
from labkit.backends.addresses import guest_address
from labkit.protocols import GuestTransport, Lab
from labkit.model import Inventory
from labkit.backends.transports.fallback import FallbackTransport
from labkit.backends.transports.bastions import Bastions
from labkit.backends.transports.ssh import to_vm
from labkit.backends.transports.sshinventory import SshAddresses, effective_ssh
from labkit.backends.consoles import LabConsoles, guest_login_of, one_per_vm
from labkit.backends.vsphere.hypervisor import VsphereHypervisor
from labkit.backends.vsphere.links import VsphereLinks
from labkit.backends.vsphere.snapshots import VsphereSnapshots

if TYPE_CHECKING:  # guestops is imported on first use: only VMs with a guest_login need it
    from labkit.backends.vsphere.guestops import ToolsConsole

__all__ = ["VsphereHypervisor", "VsphereLab", "open_lab"]


class VsphereLab:
    """A run on vSphere: the hypervisor, SSH to the VMs whose inventory entry says how, and the
    VMware Tools console to the VMs that have a guest_login."""

    backend = "vsphere"
    concurrency = None
    clock = SYSTEM
    host_adapters = None  # vSphere gives the machine running labkit no virtual adapter on its port groups

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.hypervisor = VsphereHypervisor(inventory)
        self.batch = self.hypervisor
        self.links = VsphereLinks(self.hypervisor)
        self.snapshots = VsphereSnapshots(self.hypervisor, on_revert=self._forget)
        # a console only where VMware Tools can log in (capabilities() says the same at check time)
        self.console: LabConsoles | None = (LabConsoles(self) if any(vm.guest_login for vm in inventory.vms)
                                              else None)
        self._transports: dict[str, GuestTransport] = {}
        self._consoles: dict[str, ToolsConsole] = {}
        self._lock = threading.Lock()
        self._addresses = SshAddresses(inventory)  # names resolved once per run
        self._bastions = Bastions()  # one connection per jump host, shared by the guests behind it

    @property
    def lost(self) -> str | None:
        """Why vCenter is unreachable since some step (every vSphere call now fails at once), or None."""
        return self.hypervisor.lost

    def resolve_all(self) -> None:
        """Find every inventory network and VM in vSphere now; raises InputError(s) on bad input
        (see VsphereHypervisor.resolve_all)."""
        self.hypervisor.resolve_all()

    def has_console(self, node: str) -> bool:
        """Only VMs with a guest_login have a VMware Tools console; the others are driven over SSH."""
        return node in self.inventory.vm_names and self.inventory.vm(node).guest_login is not None

    def open_console(self, node: str) -> ToolsConsole:
        """One VMware Tools console per VM for the run (its guest temp directory is removed on close)."""
        from labkit.backends.vsphere.guestops import ToolsConsole

        login = guest_login_of(self.inventory, node, "VMware Tools console")

        def make() -> ToolsConsole:
            session, found = self.hypervisor._vm(node)
            return ToolsConsole(node, session, found.obj, login, self.inventory.backend)

        return one_per_vm(self._consoles, self._lock, node, make)

    def _forget(self, node: str) -> None:
        """Close and drop the channels to a VM about to be reverted: its SSH session and its VMware
        Tools temp directory do not survive the revert; the next use opens new ones."""
        with self._lock:
            channels = [c for c in (self._transports.pop(node, None), self._consoles.pop(node, None)) if c is not None]
        for channel in channels:
            channel.close()

    def transport(self, node: str) -> GuestTransport:
        """SSH to the VM; for a VM with a guest_login, VMware Tools when SSH cannot get there (the
        guest is on another network, or misconfigured), as an administrator would use the console."""
        with self._lock:
            if node not in self._transports:
                if self.has_console(node):
                    self._transports[node] = FallbackTransport(
                        node, lambda: self._ssh_address(node),
                        lambda address: to_vm(self.inventory, node, self.backend, address,
                                              bastions=self._bastions),
                        lambda: self.open_console(node))
                else:
                    self._transports[node] = to_vm(self.inventory, node, self.backend, bastions=self._bastions)
            return self._transports[node]

    def _ssh_address(self, node: str) -> str | None:
        """The inventory's SSH address, else what VMware Tools reports for the first adapter."""
        vm = self.inventory.vm(node)
        if effective_ssh(self.inventory, node) is None:
            return None
        named = self._addresses.of(node)
        if named is not None:
            return named
        found = self.guest_address(node, vm.adapters[0].interface)
        return str(found) if found else None

    def network_transport(self, node: str, address: IPv4Address) -> GuestTransport:
        """SSH to `node` at `address` (safe apply's proof that the new address answers)."""
        return to_vm(self.inventory, node, self.backend, str(address), bastions=self._bastions)

    def guest_address(self, node: str, interface: str) -> IPv4Address | None:
        return guest_address(self.inventory, self.hypervisor, node, interface)

    def close(self) -> None:
        with self._lock:
            for t in [*self._transports.values(), *self._consoles.values()]:
                t.close()
            self._transports.clear()
            self._consoles.clear()
        self._bastions.close()
        self.hypervisor.close()


def open_lab(inventory: Inventory) -> Lab:
    return VsphereLab(inventory)
