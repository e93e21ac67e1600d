"""VMware Workstation as a labkit backend: vmrest for everything, or .vmx files for powered-off VMs.

Which way the backend works is the inventory's choice, made once here and said once in the log:
- vmrest (backend.user / password_env given): VmrestHypervisor, every operation through the REST
  API. If vmrest is unreachable the operation fails with that reason; nothing silently falls back
  to files.
- .vmx files (neither given): VmxHypervisor, adapters read and edited in each VM's `path`; VMs must
  be powered off. No power changes and no guest addresses: those need VMware Tools through vmrest.
Neither API can switch the host's virtual adapters (VMnetX on the host), but when labkit runs on
the Workstation host (vmrest on loopback, or .vmx mode: placement.py) they are this machine's:
`host_adapters` switches them through the OS (hostadapters.py) and the hypervisor reads their state
there, and the matrix's "host" is this machine, through the local channel for its OS. How
networks map onto adapter settings is networks.py; the host's VMnet facts were merged into the
inventory before the lab was opened (hostnet.py, through labkit.backends.open_lab).
"""

from __future__ import annotations

import logging
from ipaddress import IPv4Address
from typing import TYPE_CHECKING

from labkit.backends.addresses import guest_address
from labkit.backends.transports.commands import CommandRunner
from labkit.backends.transports.bastions import Bastions
from labkit.backends.transports.ssh import to_vm
from labkit.backends.workstation.hostadapters import HostAdapterSwitch
from labkit.backends.workstation.placement import capabilities, on_the_host
from labkit.backends.workstation.vmx_hypervisor import VmxHypervisor
from labkit.clock import SYSTEM
from labkit.errors import TransportError
from labkit.model import Inventory
from labkit.osutil import host_family
from labkit.protocols import GuestTransport

if TYPE_CHECKING:
    from labkit.backends.workstation.vmrest import VmrestClient
    from labkit.backends.workstation.vmrest_hypervisor import VmrestHypervisor

log = logging.getLogger(__name__)


class WorkstationLab:
    """A run's view of a Workstation host: one of the two hypervisors, SSH to each VM at its inventory
    address, and this machine (its adapters, its pings) when it is the host.

    `runner` runs the host's commands (default: here, no shell) and `platform` is the OS labkit runs
    on (default: sys.platform): tests give captured outputs and another OS through them."""

    backend = "workstation"
    concurrency = None
    clock = SYSTEM
    console = None
    batch = None
    snapshots = None
    lost = None  # nothing to lose: the lab is local, or each call says what failed

    def __init__(self, inventory: Inventory, client: VmrestClient | None = None, *,
                 runner: CommandRunner | None = None, platform: str | None = None) -> None:
        self.inventory = inventory
        b = inventory.backend
        self._runner, self._platform = runner, platform
        # the host's adapters are this machine's exactly when capabilities() says so (labkit check relies on it)
        self.host_adapters: HostAdapterSwitch | None = (
            HostAdapterSwitch.for_this_machine(inventory, runner, platform)
            if "host_adapters" in capabilities(inventory) else None)
        host_view = self.host_adapters.enabled if self.host_adapters is not None else None
        self.hypervisor: VmrestHypervisor | VmxHypervisor
        self._vmrest_host: str | None = None  # where vmrest runs, in vmrest mode
        if client is None and (b.user or b.password_env):
            from labkit.backends.workstation.vmrest import VmrestClient  # httpx: only with vmrest

            client = VmrestClient.from_backend(b)
        # an adapter's cable: ethernetN.startConnected in .vmx mode; vmrest 1.3.0 has no call for it
        self.links: VmxHypervisor | None = None
        if client is None:
            log.warning("workstation backend without vmrest (no backend.user/password_env): editing .vmx files "
                        "directly; VMs must be powered off, and power and guest addresses are unavailable")
            self.hypervisor = self.links = VmxHypervisor(inventory, host_view)
        else:
            from labkit.backends.workstation.vmrest_hypervisor import VmrestHypervisor

            log.info("workstation backend: vmrest at %s", client.url)
            self.hypervisor = VmrestHypervisor(inventory, client, host_view)
            self._vmrest_host = b.host or "127.0.0.1"
        self._transports: dict[str, GuestTransport] = {}
        self._bastions = Bastions()  # one connection per jump host, shared by the guests behind it

    def transport(self, node: str) -> GuestTransport:
        if node not in self._transports:
            self._transports[node] = self._host() if node == "host" else to_vm(self.inventory, node, self.backend,
                                                                                   bastions=self._bastions)
        return self._transports[node]

    def _host(self) -> GuestTransport:
        """The matrix's "host" is this machine when labkit runs beside Workstation (vmrest on loopback,
        or .vmx files here): the tutorial's host-to-VM pings through the VMnet adapters, run the way
        this machine's OS runs programs (sh on Linux and macOS, ping.exe without a shell on Windows)."""
        from labkit.backends.transports.local import local_transport

        if not on_the_host(self.inventory):
            raise TransportError(f"host: vmrest is on {self._vmrest_host}, another machine, so labkit has no "
                                 "channel to the Workstation host; run labkit on that host to use it as a "
                                 "matrix source")
        here = host_family(self._platform)
        if here != self.inventory.host.os:
            raise TransportError(f"host: host.os is {self.inventory.host.os} in the inventory, but labkit runs on "
                                 f"{here or 'an OS it has no local channel on'} here; run labkit on the "
                                 "Workstation host, or correct host.os")
        return local_transport("host", self._platform, self._runner)

    def guest_address(self, node: str, interface: str) -> IPv4Address | None:
        return guest_address(self.inventory, self.hypervisor, node, interface)

    def network_transport(self, node: str, address: IPv4Address | str) -> GuestTransport:
        """SSH to `node` at `address` (safe apply's proof that the guest answers on the network)."""
        return to_vm(self.inventory, node, self.backend, str(address), bastions=self._bastions)

    def close(self) -> None:
        for t in self._transports.values():
            t.close()
        self._transports.clear()
        self._bastions.close()
        self.hypervisor.close()


def open_lab(inventory: Inventory) -> WorkstationLab:
    return WorkstationLab(inventory)
