"""VMware Workstation as a labkit backend: vmrest for everything, or .vmx files for powered-off VMs.

Workstation has no port groups: an adapter is `nat`, `bridged`, `hostonly` (VMnet8, VMnet0, VMnet1
by default) or `custom` on a named VMnet. An inventory network maps onto that by its type and
`backend_network`: the type's own VMnet (or none given) -> that type; any other VMnet -> custom on it
(`hostonly` + VMnet2 -> custom vmnet2). Reading back works on the VMnet an adapter is really on, so
a NIC set to "custom vmnet8" is on the NAT network and is not changed again.

Which way the backend works is the inventory's choice, said once in the log:
- vmrest (backend.user / password_env given): every operation through the REST API. If vmrest is
  unreachable the operation fails with that reason; nothing silently falls back to files.
- .vmx files (neither given): adapters are read and edited in each VM's `path` with
  labkit.backends.workstation.vmxedit, which refuses while the VM runs (its .lck folder). No power changes and
  no guest addresses: those need VMware Tools through vmrest.
The host's virtual adapters (VMnetX on the host) cannot be switched through vmrest at all.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path, PureWindowsPath

from labkit.clock import SYSTEM
from labkit.errors import BackendError, InputError, TransportError
from labkit.backends.addresses import guest_address
from labkit.protocols import GuestNic
from labkit.model import VM, Adapter, Inventory
from labkit.backends.transports.ssh import to_vm
from labkit.backends.workstation.vmrest import Nic, VmEntry, VmrestClient, VmrestError, is_loopback
from labkit.backends.workstation.vmx import VmxFile, adapter_settings, vnet_name
from labkit.backends.workstation.vmxedit import edit_vmx, lock_dirs

log = logging.getLogger(__name__)

DEFAULT_VNET = {"bridged": "vmnet0", "hostonly": "vmnet1", "nat": "vmnet8"}
_LABEL = re.compile(r"^network adapter (\d+)$", re.IGNORECASE)


def vnet_of(setting_type: str, vmnet: str | None) -> str | None:
    """The VMnet an adapter setting really puts the NIC on ("custom vmnet8" is the NAT VMnet)."""
    if setting_type == "custom":
        return vnet_name(vmnet)
    return DEFAULT_VNET.get(setting_type)


class NetworkMap:
    """Inventory network name <-> Workstation adapter setting (type, vmnet), checked once at open."""

    def __init__(self, inventory: Inventory) -> None:
        self.setting: dict[str, tuple[str, str]] = {}
        by_vnet: dict[str, str] = {}
        for name, net in inventory.networks.items():
            where = f"networks.{name}.backend_network"
            if net.backend_network is None:
                if net.type == "custom":
                    raise InputError("a custom network needs its VMnet (e.g. VMnet2)", field=where)
                vnet = DEFAULT_VNET[net.type]
            else:
                vnet = vnet_name(net.backend_network)
                if vnet is None:
                    raise InputError(f"{net.backend_network!r} is not a Workstation VMnet (VMnet0 .. VMnet19)",
                                     field=where)
            if vnet in by_vnet:
                raise InputError(f"{vnet} is already network {by_vnet[vnet]!r}: an adapter on it could not be "
                                 "told apart", field=where)
            by_vnet[vnet] = name
            kind = net.type if DEFAULT_VNET.get(net.type) == vnet else "custom"
            self.setting[name] = (kind, vnet)
        self.network_of_vnet = by_vnet


class WorkstationHypervisor:
    """The Hypervisor protocol on Workstation; `client` None means .vmx-file mode (see the module doc)."""

    kind = "workstation"

    def __init__(self, inventory: Inventory, client: VmrestClient | None) -> None:
        self.inventory = inventory
        self.client = client
        self.networks = NetworkMap(inventory)
        self._lock = threading.Lock()
        self._library: list[VmEntry] | None = None
        self._names: dict[str, str | None] = {}  # vmrest id -> display name
        self._ids: dict[str, str] = {}  # inventory VM name -> vmrest id

    # ---- finding things -------------------------------------------------------------------------

    def vm_id(self, name: str) -> str:
        """vmrest's id for an inventory VM: by its .vmx path when given, else by display name."""
        with self._lock:
            if name not in self._ids:
                self._ids[name] = self._find(self.inventory.vm(name))
            return self._ids[name]

    def _find(self, vm: VM) -> str:
        client = self._vmrest(vm.name)
        if self._library is None:
            self._library = self._ask(vm.name, client.list_vms)
        if vm.path:
            want, what = _path_key(vm.path), f"the path {vm.path}"
            matches = [e for e in self._library if _path_key(e.path) == want]
        else:
            want = vm.backend_name or vm.name
            what = f"the display name {want!r}"
            matches = [e for e in self._library if self._display_name(vm.name, e) == want]
        if not matches:
            known = ", ".join(f"{self._display_name(vm.name, e)!r} ({e.path})" for e in self._library[:10])
            more = f" and {len(self._library) - 10} more" if len(self._library) > 10 else ""
            raise BackendError(f"{vm.name}: no VM with {what} in vmrest's library"
                               + (f" (it has: {known}{more})" if known else " (it is empty)"))
        if len(matches) > 1:
            listed = "; ".join(f"id {e.id} at {e.path}" for e in matches)
            raise BackendError(f"{vm.name}: {len(matches)} VMs have {what}: {listed}; "
                               "give vms[].path (the .vmx) to pick one")
        return matches[0].id

    def _display_name(self, vm: str, entry: VmEntry) -> str:
        if entry.id not in self._names:
            self._names[entry.id] = self._ask(vm, self.client.display_name, entry.id)
        return self._names[entry.id] or _stem(entry.path)

    def _nic(self, vm: VM, adapter: Adapter) -> Nic:
        """The adapter's NIC: by MAC when the inventory gives one and vmrest lists it, else by
        "Network adapter N" (vmrest's index N, counted from 1), else by position in the inventory."""
        nics = self._ask(vm.name, self.client.nics, self.vm_id(vm.name))
        if adapter.mac:
            for nic in nics:
                if nic.mac == adapter.mac.lower():
                    return nic
        index = nic_index(vm, adapter)
        for nic in nics:
            if nic.index == index:
                return nic
        have = ", ".join(str(n.index) for n in nics) or "none"
        raise BackendError(f"{vm.name}: no network adapter {index} for {adapter.interface} (vmrest lists: {have})")

    # ---- the protocol ---------------------------------------------------------------------------

    def adapter_network(self, vm: str, adapter: Adapter) -> str | None:
        spec = self.inventory.vm(vm)
        if self.client is None:
            kind, vmnet = _vmx_read(spec, adapter)
        else:
            nic = self._nic(spec, adapter)
            kind, vmnet = nic.type, nic.vmnet
        vnet = vnet_of(kind, vmnet)
        name = self.networks.network_of_vnet.get(vnet)
        if name is None:
            log.warning("%s: %s is on %s %s, which no inventory network names", vm, adapter.interface, kind, vmnet)
        return name

    def set_adapter_network(self, vm: str, adapter: Adapter, network: str) -> bool:
        if network not in self.networks.setting:
            raise BackendError(f"{vm}: no network {network!r} in the inventory")
        kind, vnet = self.networks.setting[network]
        spec = self.inventory.vm(vm)
        if self.client is None:
            return _vmx_write(spec, adapter, kind, vnet)
        nic = self._nic(spec, adapter)
        if vnet_of(nic.type, nic.vmnet) == vnet:
            return False
        vm_id = self.vm_id(vm)
        self._ask(vm, self.client.set_nic, vm_id, nic.index, kind, vnet)
        after = self._nic(spec, adapter)
        if vnet_of(after.type, after.vmnet) != vnet:
            raise BackendError(f"{vm}: vmrest accepted {kind} {vnet} for network adapter {nic.index}, "
                               f"but it reads back as {after.type} {after.vmnet}")
        log.info("%s: network adapter %d -> %s %s (%s)", vm, nic.index, kind, vnet, network)
        return True

    def powered_on(self, vm: str) -> bool:
        if self.client is None:
            return _vmx_locked(self.inventory.vm(vm))
        state = self._ask(vm, self.client.power_state, self.vm_id(vm))
        return state in ("poweredOn", "paused")

    def set_power(self, vm: str, on: bool) -> bool:
        client = self._vmrest(vm, "power a VM on or off")
        if self.powered_on(vm) == on:
            return False
        self._ask(vm, client.set_power, self.vm_id(vm), "on" if on else "off")
        if self.powered_on(vm) != on:
            raise BackendError(f"{vm}: vmrest accepted power {'on' if on else 'off'} but the VM did not follow")
        return True

    def guest_nics(self, vm: str) -> list[GuestNic]:
        client = self._vmrest(vm, "read guest addresses (VMware Tools)")
        return self._ask(vm, client.nic_ips, self.vm_id(vm))

    def host_adapter_enabled(self, network: str) -> bool:
        """vmrest cannot see the host's virtual adapters: the inventory's word is taken."""
        net = self.inventory.networks[network]
        return bool(net.host_adapter and net.host_adapter.enabled)

    def vnet_facts(self):
        """The host's VMnets as vmrest reports them ([] in .vmx mode)."""
        return [] if self.client is None else self._ask("host", self.client.vmnets)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()

    # ---- helpers --------------------------------------------------------------------------------

    def _vmrest(self, vm: str, action: str = "find a VM") -> VmrestClient:
        if self.client is None:
            raise BackendError(f"{vm}: to {action} the Workstation backend needs vmrest "
                               "(backend.user and backend.password_env); the inventory configures .vmx files only")
        return self.client

    @staticmethod
    def _ask(vm: str, fn, *args):
        """Call vmrest; its error gains the VM's name (runner reports it per VM)."""
        try:
            return fn(*args)
        except VmrestError as exc:
            raise VmrestError(f"{vm}: {exc}", exc.status, exc.code) from None
        except BackendError as exc:
            raise BackendError(f"{vm}: {exc}") from None


def nic_index(vm: VM, adapter: Adapter) -> int:
    """vmrest's NIC index (from 1): "Network adapter N" -> N, else the adapter's position + 1."""
    m = _LABEL.match(adapter.label or "")
    if m:
        return int(m.group(1))
    return next(k for k, a in enumerate(vm.adapters, 1) if a.interface == adapter.interface)


def _path_key(path: str) -> str:
    """.vmx paths compare without case and separator differences (Windows hosts report C:\\...)."""
    return str(PureWindowsPath(path)).lower()


def _stem(path: str) -> str:
    return PureWindowsPath(path).stem


# ---- .vmx mode -----------------------------------------------------------------------------------

def _vmx_path(vm: VM) -> Path:
    if not vm.path:
        raise BackendError(f"{vm.name}: without vmrest the Workstation backend edits the .vmx file: "
                           "give vms[].path")
    return Path(vm.path).expanduser()


def _vmx_locked(vm: VM) -> bool:
    """Workstation holds `*.lck/` folders (the .vmx's, the disks') next to the .vmx while the VM runs."""
    return bool(lock_dirs(_vmx_path(vm)))


def _vmx_read(vm: VM, adapter: Adapter) -> tuple[str, str | None]:
    path = _vmx_path(vm)
    try:
        vmx = VmxFile.parse(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BackendError(f"{vm.name}: cannot read {path}: {exc.strerror or exc}") from None
    now = adapter_settings(vmx, nic_index(vm, adapter) - 1)
    return now["connection_type"] or "bridged", now["vnet"]  # none written: VMware bridges


def _vmx_write(vm: VM, adapter: Adapter, kind: str, vnet: str) -> bool:
    try:
        return edit_vmx(str(_vmx_path(vm)), nic_index(vm, adapter) - 1, kind, vnet if kind == "custom" else None)
    except OSError as exc:
        raise BackendError(f"{vm.name}: cannot edit {vm.path}: {exc.strerror or exc}") from None


# ---- the Lab --------------------------------------------------------------------------------------

class WorkstationLab:
    """A run's view of a Workstation host: the hypervisor above, SSH to each VM at its inventory address."""

    backend = "workstation"
    concurrency = None
    clock = SYSTEM
    console = None
    batch = None
    host_adapters = None  # vmrest has no call for the host's VMnet adapters

    def __init__(self, inventory: Inventory, client: VmrestClient | None = None) -> None:
        self.inventory = inventory
        b = inventory.backend
        if client is None and (b.user or b.password_env):
            client = VmrestClient.from_backend(b)
        if client is None:
            log.warning("workstation backend without vmrest (no backend.user/password_env): editing .vmx files "
                        "directly; VMs must be powered off, and power and guest addresses are unavailable")
        else:
            log.info("workstation backend: vmrest at %s", client.url)
        self.hypervisor = WorkstationHypervisor(inventory, client)
        self._transports: dict = {}

    def transport(self, node: str):
        if node not in self._transports:
            self._transports[node] = self._host() if node == "host" else to_vm(self.inventory, node, self.backend)
        return self._transports[node]

    def _host(self):
        """The matrix's "host" is this machine when labkit runs beside Workstation (vmrest on loopback,
        or .vmx files here): the tutorial's host-to-VM pings through the VMnet adapters."""
        from labkit.backends.transports.local import LocalTransport

        b = self.inventory.backend
        if self.hypervisor.client is not None and not is_loopback(b.host or "127.0.0.1"):
            raise TransportError(f"host: vmrest is on {b.host}, another machine, so labkit has no channel to the "
                                 "Workstation host; run labkit on that host to use it as a matrix source")
        if os.name != "posix" or self.inventory.host.os != "linux":
            raise TransportError(f"host: labkit runs local commands with sh on Linux hosts; this host is "
                                 f"{self.inventory.host.os} (host.os in the inventory)")
        return LocalTransport("host")

    def guest_address(self, node: str, interface: str):
        return guest_address(self.inventory, self.hypervisor, node, interface)

    def network_transport(self, node: str, address):
        """SSH to `node` at `address` (safe apply's proof that the guest answers on the network)."""
        return to_vm(self.inventory, node, self.backend, str(address))

    def close(self) -> None:
        for t in self._transports.values():
            t.close()
        self._transports.clear()
        self.hypervisor.close()


def open_lab(inventory: Inventory) -> WorkstationLab:
    return WorkstationLab(inventory)
