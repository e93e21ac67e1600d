"""VMware Workstation as a labkit backend: vmrest for everything, or .vmx files for powered-off VMs.

Which way the backend works is the inventory's choice, made once here and said once in the log:
- vmrest (backend.user / password_env given): VmrestHypervisor, every operation through the REST
  API. If vmrest is unreachable the operation fails with that reason; nothing silently falls back
  to files.
- .vmx files (neither given): VmxHypervisor, adapters read and edited in each VM's `path`; VMs must
  be powered off. No power changes and no guest addresses: those need VMware Tools through vmrest.
The host's virtual adapters (VMnetX on the host) cannot be switched through either. How networks
map onto adapter settings is networks.py; the host's VMnet facts were merged into the inventory
before the lab was opened (hostnet.py, through labkit.backends.open_lab).
"""

from __future__ import annotations

import logging
import os
from ipaddress import IPv4Address
from typing import TYPE_CHECKING

from labkit.backends.addresses import guest_address
from labkit.backends.transports.ssh import to_vm
from labkit.backends.workstation.vmx_hypervisor import VmxHypervisor
from labkit.clock import SYSTEM
from labkit.errors import TransportError
from labkit.model import Inventory
from labkit.protocols import GuestTransport

if TYPE_CHECKING:
    from labkit.backends.workstation.vmrest import VmrestClient
    from labkit.backends.workstation.vmrest_hypervisor import VmrestHypervisor

log = logging.getLogger(__name__)


class WorkstationLab:
    """A run's view of a Workstation host: one of the two hypervisors, SSH to each VM at its inventory address."""

    backend = "workstation"
    concurrency = None
    clock = SYSTEM
    console = None
    batch = None
    host_adapters = None  # neither vmrest nor a .vmx can switch the host's VMnet adapters

    def __init__(self, inventory: Inventory, client: VmrestClient | None = None) -> None:
        self.inventory = inventory
        b = inventory.backend
        self.hypervisor: VmrestHypervisor | VmxHypervisor
        self._vmrest_host: str | None = None  # where vmrest runs, in vmrest mode
        if client is None and (b.user or b.password_env):
            from labkit.backends.workstation.vmrest import VmrestClient  # httpx: only with vmrest

            client = VmrestClient.from_backend(b)
        if client is None:
            log.warning("workstation backend without vmrest (no backend.user/password_env): editing .vmx files "
                        "directly; VMs must be powered off, and power and guest addresses are unavailable")
            self.hypervisor = VmxHypervisor(inventory)
        else:
            from labkit.backends.workstation.vmrest_hypervisor import VmrestHypervisor

            log.info("workstation backend: vmrest at %s", client.url)
            self.hypervisor = VmrestHypervisor(inventory, client)
            self._vmrest_host = b.host or "127.0.0.1"
        self._transports: dict[str, GuestTransport] = {}

    def transport(self, node: str) -> GuestTransport:
        if node not in self._transports:
            self._transports[node] = self._host() if node == "host" else to_vm(self.inventory, node, self.backend)
        return self._transports[node]

    def _host(self) -> GuestTransport:
        """The matrix's "host" is this machine when labkit runs beside Workstation (vmrest on loopback,
        or .vmx files here): the tutorial's host-to-VM pings through the VMnet adapters."""
        from labkit.backends.transports.local import LocalTransport

        if self._vmrest_host is not None:
            from labkit.backends.workstation.vmrest import is_loopback

            if not is_loopback(self._vmrest_host):
                raise TransportError(f"host: vmrest is on {self._vmrest_host}, another machine, so labkit has no "
                                     "channel to the Workstation host; run labkit on that host to use it as a "
                                     "matrix source")
        if os.name != "posix" or self.inventory.host.os != "linux":
            raise TransportError(f"host: labkit runs local commands with sh on Linux hosts; this host is "
                                 f"{self.inventory.host.os} (host.os in the inventory)")
        return LocalTransport("host")

    def guest_address(self, node: str, interface: str) -> IPv4Address | None:
        return guest_address(self.inventory, self.hypervisor, node, interface)

    def network_transport(self, node: str, address: IPv4Address | str) -> GuestTransport:
        """SSH to `node` at `address` (safe apply's proof that the guest answers on the network)."""
        return to_vm(self.inventory, node, self.backend, str(address))

    def close(self) -> None:
        for t in self._transports.values():
            t.close()
        self._transports.clear()
        self.hypervisor.close()


def open_lab(inventory: Inventory) -> WorkstationLab:
    return WorkstationLab(inventory)
