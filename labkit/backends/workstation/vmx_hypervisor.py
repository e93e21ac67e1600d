"""The Hypervisor protocol on Workstation without vmrest: each VM's .vmx file, edited in place.

Chosen by WorkstationLab when the inventory gives neither backend.user nor password_env. Adapters
are read and edited in each VM's `path` with vmxedit, which refuses while the VM runs (its .lck
folder), and a VM counts as powered on while that folder is there. Power changes and guest
addresses need VMware Tools through vmrest: asking for them is an error that says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

from labkit.backends.workstation.facts import VnetFacts
from labkit.backends.workstation.networks import NetworkMap, host_adapter_enabled, needs_vmrest, nic_index
from labkit.backends.workstation.vmx import VmxFile, adapter_settings
from labkit.backends.workstation.vmxedit import edit_vmx, lock_dirs
from labkit.errors import BackendError
from labkit.model import VM, Adapter, Inventory
from labkit.protocols import GuestNic


class VmxHypervisor:
    """Adapters of powered-off Workstation VMs, straight from their .vmx files."""

    kind = "workstation"

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.networks = NetworkMap(inventory)

    def vm_id(self, name: str) -> NoReturn:
        raise BackendError(needs_vmrest(name, "find a VM"))

    def adapter_network(self, vm: str, adapter: Adapter) -> str | None:
        kind, vmnet = _read(self.inventory.vm(vm), adapter)
        return self.networks.network_of(vm, adapter, kind, vmnet)

    def set_adapter_network(self, vm: str, adapter: Adapter, network: str) -> bool:
        if network not in self.networks.setting:
            raise BackendError(f"{vm}: no network {network!r} in the inventory")
        kind, vnet = self.networks.setting[network]
        spec = self.inventory.vm(vm)
        try:
            return edit_vmx(str(_path(spec)), nic_index(spec, adapter) - 1, kind, vnet if kind == "custom" else None)
        except OSError as exc:
            raise BackendError(f"{vm}: cannot edit {spec.path}: {exc.strerror or exc}") from None

    def powered_on(self, vm: str) -> bool:
        """Workstation holds `*.lck/` folders (the .vmx's, the disks') next to the .vmx while the VM runs."""
        return bool(lock_dirs(_path(self.inventory.vm(vm))))

    def set_power(self, vm: str, on: bool) -> bool:
        raise BackendError(needs_vmrest(vm, "power a VM on or off"))

    def guest_nics(self, vm: str) -> list[GuestNic]:
        raise BackendError(needs_vmrest(vm, "read guest addresses (VMware Tools)"))

    def host_adapter_enabled(self, network: str) -> bool:
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


def _read(vm: VM, adapter: Adapter) -> tuple[str, str | None]:
    path = _path(vm)
    try:
        vmx = VmxFile.parse(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BackendError(f"{vm.name}: cannot read {path}: {exc.strerror or exc}") from None
    now = adapter_settings(vmx, nic_index(vm, adapter) - 1)
    return now["connection_type"] or "bridged", now["vnet"]  # none written: VMware bridges
