"""The vSphere backend (ESXi/vCenter through pyvmomi) behind the Hypervisor protocol.

One session per run, opened on first use and logged out in close(). A login or lookup failure is
remembered, so 50 VMs do not try a wrong password 50 times (and lock the account). Moving many
VMs is one batch: reconfigure tasks are submitted from a bounded pool of `backend.workers`
threads (vCenter answers a submit at once, vcsim only after its delay: threads are right for
both), then waited for together; each VM gets its own outcome and is read back to verify.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, ip_address
from typing import TYPE_CHECKING, Any

from pyVmomi import vim, vmodl

from labkit.clock import SYSTEM
from labkit.errors import BackendError, LabkitError, TransportError
from labkit.backends.addresses import guest_address
from labkit.protocols import GuestNic, GuestTransport, Lab
from labkit.model import Adapter, Inventory
from labkit.backends.transports.fallback import FallbackTransport
from labkit.backends.transports.ssh import to_vm
from labkit.backends.vsphere import nics
from labkit.backends.vsphere.connection import connect, disconnect
from labkit.backends.vsphere.lookup import NetTarget, VmFinder, datacenter, list_networks, resolve_network
from labkit.backends.vsphere.props import fault_message, retrieve
from labkit.backends.vsphere.tasks import wait_all

if TYPE_CHECKING:  # guestops is imported on first use: only VMs with a guest_login need it
    from labkit.backends.vsphere.guestops import ToolsConsole

Request = tuple[str, Adapter, str]  # (VM name, adapter, inventory network name)


class VsphereHypervisor:
    kind = "vsphere"

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.workers = inventory.backend.workers
        # the subnets the inventory knows, narrowest first: the prefix of a bare guest address
        self._subnets = sorted({s for s in [inventory.lan.subnet, *(n.subnet for n in inventory.networks.values())]
                                if s is not None}, key=lambda s: -s.prefixlen)
        self._lock = threading.Lock()
        self._si: vim.ServiceInstance | None = None
        self._failure: LabkitError | None = None
        self._targets: dict[str, NetTarget] = {}
        self._finder: VmFinder | None = None
        self._vms: dict[str, vim.VirtualMachine] = {}

    # ---- session and lookups ----

    def _session(self) -> vim.ServiceInstance:
        with self._lock:
            if self._failure is not None:
                raise self._failure
            if self._si is None:
                try:
                    self._si = self._open()
                except LabkitError as exc:
                    self._failure = exc
                    raise
            return self._si

    def _open(self) -> vim.ServiceInstance:
        si = connect(self.inventory.backend, pool=self.workers)
        try:
            dc = datacenter(si, self.inventory.backend.datacenter)
            found = list_networks(si, dc or si.content.rootFolder)
            self._targets = {mode: resolve_network(found, mode, net) for mode, net in self.inventory.networks.items()}
            self._finder = VmFinder(si, dc)
        except vmodl.MethodFault as exc:
            disconnect(si)
            raise BackendError(f"vSphere: listing networks failed: {fault_message(exc)}") from None
        except LabkitError:
            disconnect(si)
            raise
        return si

    def _vm(self, name: str) -> tuple[vim.ServiceInstance, vim.VirtualMachine]:
        si = self._session()
        with self._lock:
            if name not in self._vms:
                assert self._finder is not None  # _session() opened the session, which made the finder
                try:
                    self._vms[name] = self._finder.find(self.inventory.vm(name))
                except vmodl.MethodFault as exc:
                    raise BackendError(f"{name}: looking the VM up failed: {fault_message(exc)}") from None
            return si, self._vms[name]

    def _card(self, name: str, adapter: Adapter) -> tuple[vim.ServiceInstance, vim.VirtualMachine,
                                                          nics.EthernetCard, bool]:
        si, vm = self._vm(name)
        props = _props(si, vm, name, ["config.hardware.device", "runtime.powerState"])
        card = nics.pick(name, props.get("config.hardware.device") or [], adapter)
        return si, vm, card, props.get("runtime.powerState") == vim.VirtualMachine.PowerState.poweredOn

    # ---- the Hypervisor protocol ----

    def adapter_network(self, vm: str, adapter: Adapter) -> str | None:
        _, _, card, on = self._card(vm, adapter)
        if not nics.connected(card, on):
            return None
        return next((mode for mode, t in self._targets.items() if nics.on_target(card, t)), None)

    def set_adapter_network(self, vm: str, adapter: Adapter, network: str) -> bool:
        outcome = self.set_adapter_networks([(vm, adapter, network)])[vm]
        if isinstance(outcome, LabkitError):
            raise outcome
        return outcome

    def set_adapter_networks(self, requests: list[Request],
                             on_done: Callable[[str], None] | None = None) -> dict[str, bool | LabkitError]:
        """Move many adapters; per VM: True (changed and verified), False (already so) or the error."""
        outcomes: dict[str, bool | LabkitError] = {}
        wanted = {vm: (adapter, network) for vm, adapter, network in requests}

        def finish(vm: str, outcome: bool | LabkitError) -> None:
            outcomes[vm] = outcome
            if on_done:
                on_done(vm)

        tasks: dict[str, vim.Task] = {}
        with ThreadPoolExecutor(max_workers=max(1, min(self.workers, len(requests)))) as pool:
            submitted = {vm: pool.submit(self._submit, vm, adapter, network) for vm, adapter, network in requests}
            for vm, future in submitted.items():
                try:
                    task = future.result()
                except (LabkitError, OSError) as exc:
                    finish(vm, _as_error(vm, exc))
                    continue
                if task is None:
                    finish(vm, False)
                else:
                    tasks[vm] = task
            failed: dict[str, str] = {}

            def record(vm: str, error: str | None) -> None:
                if error:
                    failed[vm] = error

            if tasks:
                try:
                    wait_all(self._session(), tasks, record)
                except (vmodl.MethodFault, OSError) as exc:
                    why = getattr(exc, "msg", None) or str(exc)
                    failed.update({vm: f"waiting for the task failed: {why}" for vm in tasks if vm not in failed})
            checks = {vm: pool.submit(self._verify, vm, *wanted[vm]) for vm in tasks if vm not in failed}
            for vm in tasks:
                if vm in failed:
                    finish(vm, BackendError(f"{vm}: reconfigure failed: {failed[vm]}"))
                    continue
                try:
                    checks[vm].result()
                    finish(vm, True)
                except (LabkitError, OSError) as exc:
                    finish(vm, _as_error(vm, exc))
        return {vm: outcomes[vm] for vm in wanted}

    def _submit(self, vm: str, adapter: Adapter, network: str) -> vim.Task | None:
        """Submit the reconfigure task, or None when the adapter is already there and connected."""
        target = self._target(network)
        _, obj, card, on = self._card(vm, adapter)
        if nics.on_target(card, target) and nics.connected(card, on):
            return None
        try:
            return obj.Reconfigure(spec=nics.edit_spec(card, target))  # ReconfigVM_Task
        except vmodl.MethodFault as exc:
            raise BackendError(f"{vm}: reconfigure refused: {fault_message(exc)}") from None

    def _verify(self, vm: str, adapter: Adapter, network: str) -> None:
        now = self.adapter_network(vm, adapter)
        if now != network:
            raise BackendError(f"{vm}: {adapter.interface} is on {now!r} after the change, not {network!r}")

    def _target(self, network: str) -> NetTarget:
        self._session()
        try:
            return self._targets[network]
        except KeyError:
            raise BackendError(f"no inventory network {network!r}") from None

    def powered_on(self, vm: str) -> bool:
        si, obj = self._vm(vm)
        return _props(si, obj, vm, ["runtime.powerState"]).get("runtime.powerState") == "poweredOn"

    def set_power(self, vm: str, on: bool) -> bool:
        if self.powered_on(vm) == on:
            return False
        si, obj = self._vm(vm)
        try:
            task = obj.PowerOn(host=None) if on else obj.PowerOff()  # PowerOnVM_Task, PowerOffVM_Task
        except vmodl.MethodFault as exc:
            raise BackendError(f"{vm}: power {'on' if on else 'off'} refused: {fault_message(exc)}") from None
        errors: list[str] = []

        def record(_: str, error: str | None) -> None:
            if error:
                errors.append(error)

        wait_all(si, {vm: task}, record)
        if errors:
            raise BackendError(f"{vm}: power {'on' if on else 'off'} failed: {errors[0]}")
        return True

    def guest_nics(self, vm: str) -> list[GuestNic]:
        """What VMware Tools reports (guest.net): IPv4 addresses per MAC, with prefixes when known."""
        si, obj = self._vm(vm)
        out: list[GuestNic] = []
        for nic in _props(si, obj, vm, ["guest.net"]).get("guest.net") or []:
            out.append(GuestNic((nic.macAddress or "").lower() or None, tuple(_addresses(nic, self._subnets))))
        return out

    def host_adapter_enabled(self, network: str) -> bool:
        """vSphere gives the machine running labkit no virtual adapter on its port groups."""
        return False

    def close(self) -> None:
        with self._lock:
            si, self._si = self._si, None
            self._vms.clear()
        if si is not None:
            disconnect(si)


def _as_error(vm: str, exc: Exception) -> LabkitError:
    """A dropped connection is that VM's failure, worded like the others."""
    if isinstance(exc, LabkitError):
        return exc
    return BackendError(f"{vm}: vSphere connection failed: {type(exc).__name__}: {exc}")


def _props(si: vim.ServiceInstance, obj: vim.VirtualMachine, vm: str, paths: list[str]) -> dict[str, Any]:
    try:
        found = retrieve(si, [obj], vim.VirtualMachine, paths)
    except vmodl.fault.ManagedObjectNotFound:
        raise BackendError(f"{vm}: the VM is gone from vSphere") from None
    except vmodl.MethodFault as exc:
        raise BackendError(f"{vm}: reading {', '.join(paths)} failed: {fault_message(exc)}") from None
    return found[0][1] if found else {}


def _addresses(nic: vim.vm.GuestInfo.NicInfo, subnets: list[IPv4Network]) -> list[IPv4Interface]:
    """The NIC's IPv4 addresses. VMware Tools gives a prefix only with ipConfig (old Tools and vcsim
    report bare addresses): then the prefix is the one of the inventory network the address is in,
    since a /32 would make every peer look off-link to the model."""
    prefixes: dict[str, int] = {}
    if nic.ipConfig is not None:
        prefixes = {a.ipAddress: a.prefixLength for a in nic.ipConfig.ipAddress or []}
    out: list[IPv4Interface] = []
    for text in nic.ipAddress or []:
        try:
            addr = ip_address(text)
        except ValueError:
            continue
        if isinstance(addr, IPv4Address) and not addr.is_link_local:
            known = prefixes.get(text)
            if known is None:
                known = next((s.prefixlen for s in subnets if addr in s), 32)
            out.append(IPv4Interface(f"{addr}/{known}"))
    return out


class ToolsConsoles:
    """The Console capability on vSphere: VMware Tools guest operations, for VMs with a guest_login."""

    def __init__(self, lab: VsphereLab) -> None:
        self._lab = lab

    def reaches(self, node: str) -> bool:
        return self._lab.has_console(node)

    def open(self, node: str) -> GuestTransport:
        return self._lab.open_console(node)


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
        self.console = ToolsConsoles(self)
        self._transports: dict[str, GuestTransport] = {}
        self._consoles: dict[str, ToolsConsole] = {}
        self._lock = threading.Lock()

    def has_console(self, node: str) -> bool:
        """Only VMs with a guest_login have a VMware Tools console; the others are driven over SSH."""
        return node in self.inventory.vm_names and self.inventory.vm(node).guest_login is not None

    def open_console(self, node: str) -> ToolsConsole:
        """One VMware Tools console per VM for the run (its guest temp directory is removed on close)."""
        from labkit.backends.vsphere.guestops import ToolsConsole

        if node not in self.inventory.vm_names:
            raise TransportError(f"{node}: the VMware Tools console reaches only VMs, not {node!r}")
        vm = self.inventory.vm(node)
        if vm.guest_login is None:
            raise TransportError(f"{node}: the inventory gives no guest_login (user, password_env), which the "
                                 f"VMware Tools console needs")
        with self._lock:
            console = self._consoles.get(node)
        if console is not None:
            return console
        si, obj = self.hypervisor._vm(node)
        console = ToolsConsole(node, si, obj, vm.guest_login, self.inventory.backend)
        with self._lock:
            if node in self._consoles:  # another thread won: keep one
                other, console = console, self._consoles[node]
                other.close()
            else:
                self._consoles[node] = console
        return console

    def transport(self, node: str) -> GuestTransport:
        """SSH to the VM; for a VM with a guest_login, VMware Tools when SSH cannot get there (the
        guest is on another network, or misconfigured), as an administrator would use the console."""
        with self._lock:
            if node not in self._transports:
                if self.has_console(node):
                    self._transports[node] = FallbackTransport(
                        node, lambda: self._ssh_address(node),
                        lambda address: to_vm(self.inventory, node, self.backend, address),
                        lambda: self.open_console(node))
                else:
                    self._transports[node] = to_vm(self.inventory, node, self.backend)
            return self._transports[node]

    def _ssh_address(self, node: str) -> str | None:
        """The inventory's SSH address, else what VMware Tools reports for the first adapter."""
        vm = self.inventory.vm(node)
        if vm.ssh is not None and vm.ssh.address is not None:
            return str(vm.ssh.address)
        if vm.ssh is None:
            return None
        found = self.guest_address(node, vm.adapters[0].interface)
        return str(found) if found else None

    def network_transport(self, node: str, address: IPv4Address) -> GuestTransport:
        """SSH to `node` at `address` (safe apply's proof that the new address answers)."""
        return to_vm(self.inventory, node, self.backend, str(address))

    def guest_address(self, node: str, interface: str) -> IPv4Address | None:
        return guest_address(self.inventory, self.hypervisor, node, interface)

    def close(self) -> None:
        with self._lock:
            for t in [*self._transports.values(), *self._consoles.values()]:
                t.close()
            self._transports.clear()
            self._consoles.clear()
        self.hypervisor.close()


def open_lab(inventory: Inventory) -> Lab:
    return VsphereLab(inventory)
