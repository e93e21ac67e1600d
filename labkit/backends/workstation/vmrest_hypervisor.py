"""The Hypervisor protocol on Workstation through vmrest: every operation is a REST call.

Chosen by WorkstationLab when the inventory gives backend.user / password_env. If vmrest is
unreachable an operation fails with that reason; nothing silently falls back to .vmx files.
VMs are found once per run in vmrest's library (by .vmx path, else display name), and each error
vmrest returns gains the VM's name, so the runner reports it for that VM alone.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import PureWindowsPath
from typing import TypeVar

from labkit.backends.workstation.facts import VnetFacts
from labkit.backends.workstation.networks import NetworkMap, host_adapter_enabled, nic_index, vnet_of
from labkit.backends.workstation.vmrest import Nic, VmEntry, VmrestClient, VmrestError
from labkit.errors import BackendError
from labkit.model import VM, Adapter, Inventory
from labkit.protocols import GuestNic

log = logging.getLogger(__name__)
T = TypeVar("T")


class VmrestHypervisor:
    """Adapters, power and guest NICs of Workstation VMs, through one VmrestClient."""

    kind = "workstation"

    def __init__(self, inventory: Inventory, client: VmrestClient,
                 host_view: Callable[[str], bool] | None = None) -> None:
        self.inventory = inventory
        self.client = client
        self.host_view = host_view  # the host OS's word on its adapters, when labkit runs there
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
        if self._library is None:
            self._library = self._ask(vm.name, self.client.list_vms)
        library = self._library
        if vm.path:
            want, what = _path_key(vm.path), f"the path {vm.path}"
            matches = [e for e in library if _path_key(e.path) == want]
        else:
            want = vm.backend_name or vm.name
            what = f"the display name {want!r}"
            matches = [e for e in library if self._display_name(vm.name, e) == want]
        if not matches:
            known = ", ".join(f"{self._display_name(vm.name, e)!r} ({e.path})" for e in library[:10])
            more = f" and {len(library) - 10} more" if len(library) > 10 else ""
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
        return self._names[entry.id] or PureWindowsPath(entry.path).stem

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
        nic = self._nic(self.inventory.vm(vm), adapter)
        return self.networks.network_of(vm, adapter, nic.type, nic.vmnet)

    def set_adapter_network(self, vm: str, adapter: Adapter, network: str) -> bool:
        if network not in self.networks.setting:
            raise BackendError(f"{vm}: no network {network!r} in the inventory")
        kind, vnet = self.networks.setting[network]
        spec = self.inventory.vm(vm)
        nic = self._nic(spec, adapter)
        if vnet_of(nic.type, nic.vmnet) == vnet:
            return False
        self._ask(vm, self.client.set_nic, self.vm_id(vm), nic.index, kind, vnet)
        after = self._nic(spec, adapter)
        if vnet_of(after.type, after.vmnet) != vnet:
            raise BackendError(f"{vm}: vmrest accepted {kind} {vnet} for network adapter {nic.index}, "
                               f"but it reads back as {after.type} {after.vmnet}")
        log.info("%s: network adapter %d -> %s %s (%s)", vm, nic.index, kind, vnet, network)
        return True

    def powered_on(self, vm: str) -> bool:
        state = self._ask(vm, self.client.power_state, self.vm_id(vm))
        return state in ("poweredOn", "paused")

    def set_power(self, vm: str, on: bool) -> bool:
        if self.powered_on(vm) == on:
            return False
        self._ask(vm, self.client.set_power, self.vm_id(vm), "on" if on else "off")
        if self.powered_on(vm) != on:
            raise BackendError(f"{vm}: vmrest accepted power {'on' if on else 'off'} but the VM did not follow")
        return True

    def guest_nics(self, vm: str) -> list[GuestNic]:
        return self._ask(vm, self.client.nic_ips, self.vm_id(vm))

    def host_adapter_enabled(self, network: str) -> bool:
        """vmrest cannot see the host's virtual adapters: the host's OS says, when labkit runs there
        (hostadapters.py), else the inventory's word is taken."""
        if self.host_view is not None:
            return self.host_view(network)
        return host_adapter_enabled(self.inventory, network)

    def vnet_facts(self) -> list[VnetFacts]:
        """The host's VMnets as vmrest reports them."""
        return self._ask("host", self.client.vmnets)

    def close(self) -> None:
        self.client.close()

    @staticmethod
    def _ask(vm: str, fn: Callable[..., T], *args: object) -> T:
        """Call vmrest; its error gains the VM's name (runner reports it per VM)."""
        try:
            return fn(*args)
        except VmrestError as exc:
            raise VmrestError(f"{vm}: {exc}", exc.status, exc.code) from None
        except BackendError as exc:
            raise BackendError(f"{vm}: {exc}") from None


def _path_key(path: str) -> str:
    """.vmx paths compare without case and separator differences (Windows hosts report C:\\...)."""
    return str(PureWindowsPath(path)).lower()
