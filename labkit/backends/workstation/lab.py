"""VMware Workstation as a labkit backend: vmrest for everything, or .vmx files for powered-off VMs.

Which way the backend works is the inventory's choice, made once here and said once in the log:
- vmrest (backend.user / password_env given): VmrestHypervisor, every operation through the REST
  API. If vmrest is unreachable the operation fails with that reason; nothing silently falls back
  to files.
- .vmx files (neither given): VmxHypervisor, adapters read and edited in each VM's `path`; VMs must
  be powered off. Power and guest addresses through vmrun (start/stop; its one primary address).
When labkit runs on the Workstation host, vmrun (vmrun.py) adds what neither way has: VMware Tools'
guest operations as the lab's console (vmrun_console.py) for VMs with a guest_login, and snapshots
(vmrun_snapshots.py). A VM with a guest_login is reached over SSH while the guest answers there, at
the address the hypervisor reports (vmrest's nicips by MAC, or vmrun getGuestIPAddress) when the
inventory's is one of the guest's own and may have gone stale after a mode switch, and through the
console when SSH cannot reach it (or the inventory gives it no `ssh`, as the tutorial's win7 has no
sshd); the other VMs over SSH at the inventory's address, as before.
Neither API can switch the host's virtual adapters (VMnetX on the host), but when labkit runs on
the Workstation host (vmrest on loopback, or .vmx mode: placement.py) they are this machine's:
`host_adapters` switches them through the OS (hostadapters.py) and the hypervisor reads their state
there, and the matrix's "host" is this machine, through the local channel for its OS. How
networks map onto adapter settings is networks.py; the host's VMnet facts were merged into the
inventory before the lab was opened (hostnet.py, through labkit.backends.open_lab).
"""

from __future__ import annotations

import logging
import os
import threading
from ipaddress import AddressValueError, IPv4Address, IPv4Network
from pathlib import PureWindowsPath
from typing import TYPE_CHECKING

from labkit.backends.addresses import guest_address
from labkit.backends.transports.bastions import Bastions
from labkit.backends.transports.commands import CommandRunner
from labkit.backends.transports.fallback import FallbackTransport
from labkit.backends.transports.ssh import to_vm
from labkit.backends.transports.sshinventory import SshAddresses, effective_ssh
from labkit.backends.workstation.hostadapters import HostAdapterSwitch
from labkit.backends.consoles import LabConsoles, guest_login_of, one_per_vm
from labkit.backends.workstation.placement import capabilities, on_the_host
from labkit.backends.workstation.vmrun import Vmrun, VmrunFailed, locate_vmrun
from labkit.backends.workstation.vmrun_console import VmrunConsole
from labkit.backends.workstation.vmrun_snapshots import VmrunSnapshots
from labkit.backends.workstation.vmx_hypervisor import VmxHypervisor
from labkit.clock import SYSTEM
from labkit.errors import BackendError, LabkitError, TransportError
from labkit.model import Adapter, Inventory
from labkit.osutil import host_family
from labkit.protocols import GuestTransport

if TYPE_CHECKING:
    from labkit.backends.workstation.vmrest import VmrestClient
    from labkit.backends.workstation.vmrest_hypervisor import VmrestHypervisor

log = logging.getLogger(__name__)


class WorkstationLab:
    """A run's view of a Workstation host: one of the two hypervisors, SSH to each VM, vmrun's
    console and snapshots when labkit runs on the host, and this machine (its adapters, its pings)
    when it is the host.

    `runner` runs the host's commands (default: here, no shell), `vmrun_runner` runs vmrun (default:
    here, no shell) and `platform` is the OS labkit runs on (default: sys.platform): tests give
    captured outputs and another OS through them."""

    backend = "workstation"
    concurrency = None
    clock = SYSTEM
    batch = None
    lost = None  # nothing to lose: the lab is local, or each call says what failed

    def __init__(self, inventory: Inventory, client: VmrestClient | None = None, *,
                 runner: CommandRunner | None = None, platform: str | None = None,
                 vmrun_runner: CommandRunner | None = None) -> None:
        self.inventory = inventory
        b = inventory.backend
        self._runner, self._platform = runner, platform
        caps = capabilities(inventory)
        # the host's adapters are this machine's exactly when capabilities() says so (labkit check relies on it)
        self.host_adapters: HostAdapterSwitch | None = (
            HostAdapterSwitch.for_this_machine(inventory, runner, platform)
            if "host_adapters" in caps else None)
        host_view = self.host_adapters.enabled if self.host_adapters is not None else None
        self.hypervisor: VmrestHypervisor | VmxHypervisor
        self._vmrest: VmrestHypervisor | None = None
        self._vmrest_host: str | None = None  # where vmrest runs, in vmrest mode
        if client is None and (b.user or b.password_env):
            from labkit.backends.workstation.vmrest import VmrestClient  # httpx: only with vmrest

            client = VmrestClient.from_backend(b)
        # vmrun is on this machine when labkit is (placement.py): looked for when first needed (a
        # missing one is that operation's error, naming where it looked)
        self._vmrun_runner = vmrun_runner
        self._vmrun: Vmrun | None = None
        self._vmrun_lock = threading.Lock()
        self._vmx_paths: dict[str, str] = {}
        # an adapter's cable: ethernetN.startConnected in .vmx mode; vmrest 1.3.0 has no call for it
        self.links: VmxHypervisor | None = None
        if client is None:
            log.warning("workstation backend without vmrest (no backend.user/password_env): editing .vmx files "
                        "directly; VMs must be powered off to edit, and power and guest addresses go through "
                        "vmrun (one address per VM)")
            self.hypervisor = self.links = VmxHypervisor(inventory, host_view, vmrun=self.vmrun)
        else:
            from labkit.backends.workstation.vmrest_hypervisor import VmrestHypervisor

            log.info("workstation backend: vmrest at %s", client.url)
            self.hypervisor = self._vmrest = VmrestHypervisor(inventory, client, host_view)
            self._vmrest_host = b.host or "127.0.0.1"
        # vmrun's console and snapshots exactly when capabilities() says so
        self.console: LabConsoles | None = LabConsoles(self) if "console" in caps else None
        self.snapshots: VmrunSnapshots | None = (VmrunSnapshots(self.vmrun, self.vmx_path)
                                                 if "snapshots" in caps else None)
        self._consoles: dict[str, VmrunConsole] = {}
        self._transports: dict[str, GuestTransport] = {}
        self._lock = threading.Lock()
        self._addresses = SshAddresses(inventory)  # names resolved once per run
        self._bastions = Bastions()  # one connection per jump host, shared by the guests behind it

    # ---- vmrun ----

    def vmrun(self) -> Vmrun:
        """vmrun on this machine (backend.vmrun, PATH, the install folders); VmrunNotFound says where it looked."""
        with self._vmrun_lock:
            if self._vmrun is None:
                path = locate_vmrun(self.inventory.backend.vmrun, platform=self._platform)
                log.info("workstation backend: vmrun at %s", path)
                self._vmrun = Vmrun(path, self._vmrun_runner)
            return self._vmrun

    def vmx_path(self, node: str) -> str:
        """The VM's .vmx path, by which vmrun finds it: the inventory's, else the one vmrest lists for it."""
        vm = self.inventory.vm(node)
        if vm.path:
            return vm.path
        if self._vmrest is None:
            raise BackendError(f"{node}: vmrun finds a VM by its .vmx file: give vms[].path")
        with self._vmrun_lock:
            known = self._vmx_paths.get(node)
        if known is None:
            vm_id = self._vmrest.vm_id(node)
            try:
                entries = self._vmrest.client.list_vms()
            except BackendError as exc:
                raise BackendError(f"{node}: {exc}") from None
            known = next((e.path for e in entries if e.id == vm_id), None)
            if known is None:
                raise BackendError(f"{node}: vmrest lists no .vmx path for VM {vm_id}")
            with self._vmrun_lock:
                self._vmx_paths[node] = known
        return known

    def has_console(self, node: str) -> bool:
        """Only VMs with a guest_login (and a .vmx path, or vmrest to tell it) have a vmrun console."""
        if self.console is None or node not in self.inventory.vm_names:
            return False
        vm = self.inventory.vm(node)
        return vm.guest_login is not None and (vm.path is not None or self._vmrest is not None)

    def open_console(self, node: str) -> VmrunConsole:
        """One vmrun console per VM for the run (its guest temp folder is removed on close)."""
        login = guest_login_of(self.inventory, node, "vmrun console")
        if self.console is None:
            raise TransportError(f"{node}: no vmrun console: vmrest is on {self._vmrest_host}, and vmrun reaches "
                                 "only the VMs of the machine labkit runs on")

        def make() -> VmrunConsole:
            try:
                tool, vmx = self.vmrun(), self.vmx_path(node)
            except BackendError as exc:
                raise TransportError(f"{node}: no vmrun console: {exc}") from None
            _check_running(node, tool, vmx)
            return VmrunConsole(node, tool, vmx, login, self.inventory.vm(node).os)

        return one_per_vm(self._consoles, self._lock, node, make)

    # ---- channels ----

    def transport(self, node: str) -> GuestTransport:
        """SSH to a VM; for a VM with a guest_login, vmrun's console when SSH cannot get there (or the
        inventory gives no `ssh`), as an administrator would use the VM's console."""
        with self._lock:
            if node not in self._transports:
                self._transports[node] = self._channel(node)
            return self._transports[node]

    def _channel(self, node: str) -> GuestTransport:
        if node == "host":
            return self._host()
        if not self.has_console(node):
            return to_vm(self.inventory, node, self.backend, bastions=self._bastions)
        return FallbackTransport(node, lambda: self._ssh_address(node),
                                 lambda address: to_vm(self.inventory, node, self.backend, address,
                                                       bastions=self._bastions),
                                 lambda: self.open_console(node))

    def _ssh_address(self, node: str) -> str | None:
        """Where to SSH to now: the inventory's address when it is not one of the guest's own (a port
        forward, a name a jump host resolves); else what the hypervisor reports for that adapter,
        which follows the guest after a mode switch, and the inventory's while it reports nothing."""
        if effective_ssh(self.inventory, node) is None:
            return None
        named = self._addresses.of(node)
        adapter = self._adapter_at(node, named)
        if named is not None and adapter is None:
            return named
        try:
            reported = self.guest_address(node, (adapter or self.inventory.vm(node).adapters[0]).interface)
        except LabkitError as exc:
            log.debug("%s: no address from the hypervisor (%s); SSH goes to the inventory's", node, exc)
            reported = None
        return str(reported) if reported is not None else named

    def _adapter_at(self, node: str, address: str | None) -> Adapter | None:
        """The VM's adapter whose network holds `address` (None: no lab network holds it; no address:
        the first adapter)."""
        vm = self.inventory.vm(node)
        if address is None:
            return vm.adapters[0]
        try:
            ip = IPv4Address(address)
        except AddressValueError:
            return None
        for adapter in vm.adapters:
            subnet = _subnet_of(self.inventory, adapter.network)
            if subnet is not None and ip in subnet:
                return adapter
        return None

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
        """The address of the guest's NIC with the adapter's MAC, as the hypervisor reports it. In
        .vmx mode that is vmrun getGuestIPAddress, the guest's primary address only, given for the
        VM's first adapter (None for the others); without vmrun, the hypervisor's error says so."""
        vm = self.inventory.vm(node)
        if self._vmrest is None and vm.adapter(interface) is not vm.adapters[0]:
            return None
        return guest_address(self.inventory, self.hypervisor, node, interface)

    def network_transport(self, node: str, address: IPv4Address | str) -> GuestTransport:
        """SSH to `node` at `address` (safe apply's proof that the guest answers on the network)."""
        return to_vm(self.inventory, node, self.backend, str(address), bastions=self._bastions)

    def close(self) -> None:
        with self._lock:
            for t in [*self._transports.values(), *self._consoles.values()]:
                t.close()
            self._transports.clear()
            self._consoles.clear()
        self._bastions.close()
        self.hypervisor.close()


def _subnet_of(inventory: Inventory, network: str) -> IPv4Network | None:
    """An inventory network's subnet; a bridged network's is the LAN's."""
    net = inventory.networks.get(network)
    if net is None:
        return None
    return net.subnet or (inventory.lan.subnet if net.type == "bridged" else None)


def _check_running(node: str, tool: Vmrun, vmx: str) -> None:
    """Fail early and clearly when `vmrun list` shows the VM is not running. Only when the .vmx is a
    file here, and a listed path counts when it is the same file or merely has the same file name
    (the inventory may spell the path otherwise): in doubt, vmrun itself decides."""
    if not os.path.isfile(vmx):
        return
    try:
        running = tool.running()
    except VmrunFailed as exc:
        log.debug("%s: vmrun list failed (%s); the console will say what vmrun says", node, exc)
        return
    if not any(_same_file(vmx, path) for path in running):
        raise TransportError(f"{node} is not running: vmrun list does not show {vmx} (no vmrun console)")


def _same_file(ours: str, listed: str) -> bool:
    try:
        if os.path.samefile(ours, listed):
            return True
    except OSError:
        pass
    return PureWindowsPath(ours).name.lower() == PureWindowsPath(listed).name.lower()


def open_lab(inventory: Inventory) -> WorkstationLab:
    return WorkstationLab(inventory)
