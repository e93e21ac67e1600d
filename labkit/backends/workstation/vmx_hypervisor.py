"""The Hypervisor protocol on Workstation without vmrest: each VM's .vmx file, edited in place.

Chosen by WorkstationLab when the inventory gives neither backend.user nor password_env. Adapters
(their network, and their cable: ethernetN.startConnected) are read and edited in each VM's `path`
with vmxedit, which refuses while the VM runs (its .lck folder), and a VM counts as powered on
while that folder is there. Power changes and guest
addresses need VMware Tools through vmrest: asking for them is an error that says so.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from labkit.backends.workstation.facts import VnetFacts
from labkit.backends.workstation.networks import NetworkMap, host_adapter_enabled, needs_vmrest, nic_index
from labkit.backends.workstation.vmx import VmxFile, adapter_settings, start_connected
from labkit.backends.workstation.vmxedit import edit_vmx, edit_vmx_link, lock_dirs
from labkit.errors import BackendError
from labkit.model import VM, Adapter, Inventory
from labkit.protocols import GuestNic


class VmxHypervisor:
    """Adapters of powered-off Workstation VMs, straight from their .vmx files."""

    kind = "workstation"

    def __init__(self, inventory: Inventory, host_view: Callable[[str], bool] | None = None) -> None:
        self.inventory = inventory
        self.networks = NetworkMap(inventory)
        self.host_view = host_view  # the host OS's word on its adapters (.vmx mode: labkit runs there)

    def vm_id(self, name: str) -> NoReturn:
        raise BackendError(needs_vmrest(name, "find a VM"))

    def adapter_network(self, vm: str, adapter: Adapter) -> str | None:
        """None while the cable is out (ethernetN.startConnected FALSE): no link at power on."""
        kind, vmnet, plugged = _read(self.inventory.vm(vm), adapter)
        return self.networks.network_of(vm, adapter, kind, vmnet) if plugged else None

    def set_adapter_network(self, vm: str, adapter: Adapter, network: str) -> bool:
        if network not in self.networks.setting:
            raise BackendError(f"{vm}: no network {network!r} in the inventory")
        kind, vnet = self.networks.setting[network]
        spec = self.inventory.vm(vm)
        try:
            return edit_vmx(str(_path(spec)), nic_index(spec, adapter) - 1, kind, vnet if kind == "custom" else None)
        except OSError as exc:
            raise BackendError(f"{vm}: cannot edit {spec.path}: {exc.strerror or exc}") from None

    def link_connected(self, vm: str, adapter: Adapter) -> bool:
        """LinkControl: whether the adapter connects when the VM powers on (its startConnected)."""
        return _read(self.inventory.vm(vm), adapter)[2]

    def set_link(self, vm: str, adapter: Adapter, connected: bool) -> bool:
        """Plug the cable in or out for the next power on (ethernetN.startConnected), VM powered off;
        the file is read back."""
        spec = self.inventory.vm(vm)
        try:
            changed = edit_vmx_link(str(_path(spec)), nic_index(spec, adapter) - 1, connected)
        except OSError as exc:
            raise BackendError(f"{vm}: cannot edit {spec.path}: {exc.strerror or exc}") from None
        if self.link_connected(vm, adapter) != connected:
            raise BackendError(f"{vm}: {spec.path} does not say startConnected {connected} after the edit")
        return changed

    def powered_on(self, vm: str) -> bool:
        """Workstation holds `*.lck/` folders (the .vmx's, the disks') next to the .vmx while the VM runs."""
        return bool(lock_dirs(_path(self.inventory.vm(vm))))

    def set_power(self, vm: str, on: bool) -> bool:
        raise BackendError(needs_vmrest(vm, "power a VM on or off"))

    def guest_nics(self, vm: str) -> list[GuestNic]:
        raise BackendError(needs_vmrest(vm, "read guest addresses (VMware Tools)"))

    def host_adapter_enabled(self, network: str) -> bool:
        if self.host_view is not None:
            return self.host_view(network)
        return host_adapter_enabled(self.inventory, network)

    def vnet_facts(self) -> list[VnetFacts]:
        """Nothing: the host's VMnets are reported by vmrest (or read from its files, hostnet.py)."""
        return []

    def close(self) -> None:
        pass


def _path(vm: VM) -> Path:
    if not vm.path:
        raise BackendError(f"{vm.name}: without vmrest the Workstation backend edits the .vmx file: "
                           "give vms[].path")
    return Path(vm.path).expanduser()


def _read(vm: VM, adapter: Adapter) -> tuple[str, str | None, bool]:
    """(connection type, VMnet, whether it connects at power on) of the adapter, from the .vmx."""
    path = _path(vm)
    try:
        vmx = VmxFile.parse(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BackendError(f"{vm.name}: cannot read {path}: {exc.strerror or exc}") from None
    index = nic_index(vm, adapter) - 1
    now = adapter_settings(vmx, index)
    # none written: VMware bridges
    return now["connection_type"] or "bridged", now["vnet"], not now["present"] or start_connected(vmx, index)
