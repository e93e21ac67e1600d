"""The Hypervisor protocol on Workstation without vmrest: each VM's .vmx file, edited in place.

Chosen by WorkstationLab when the inventory gives neither backend.user nor password_env. Adapters
(their network, and their cable: ethernetN.startConnected) are read and edited in each VM's `path`
with vmxedit, which refuses while the VM runs (its .lck folder), and a VM counts as powered on
while that folder is there.

Power and the guest's address come from vmrun (vmrun.py), which is on this machine in .vmx mode
(labkit edits the .vmx files here, so the VMs are here): `vmrun start PATH nogui` and `vmrun stop
PATH soft` (a shutdown through VMware Tools; `hard`, a power off as vmrest's "off" is, when the
soft one is refused), the state read back from the .lck folder; getGuestIPAddress gives the
guest's one primary address, which is reported for the VM's first adapter (vmrun cannot say
which NIC holds it), with its network's prefix. Without vmrun (not found) both are errors that say
what would do it. So a snapshot's revert (vmrun too) can power the VM on again in .vmx mode.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import NoReturn

from labkit.backends.workstation.facts import VnetFacts
from labkit.backends.workstation.networks import NetworkMap, host_adapter_enabled, needs_vmrest, nic_index
from labkit.backends.workstation.vmrun import Vmrun, VmrunFailed
from labkit.backends.workstation.vmx import VmxFile, adapter_settings, start_connected
from labkit.backends.workstation.vmxedit import edit_vmx, edit_vmx_link, lock_dirs
from labkit.clock import SYSTEM, Clock
from labkit.errors import BackendError
from labkit.model import VM, Adapter, Inventory
from labkit.protocols import GuestNic

log = logging.getLogger(__name__)
POWER_SETTLE = 60.0  # seconds for the .lck folder to follow a vmrun start or stop that returned


class VmxHypervisor:
    """Adapters of powered-off Workstation VMs, straight from their .vmx files; power and the guest's
    address through vmrun."""

    kind = "workstation"

    def __init__(self, inventory: Inventory, host_view: Callable[[str], bool] | None = None,
                 vmrun: Callable[[], Vmrun] | None = None, clock: Clock = SYSTEM) -> None:
        """`vmrun()` finds vmrun when first needed (BackendError naming where it looked); None: no vmrun."""
        self.inventory = inventory
        self.networks = NetworkMap(inventory)
        self.host_view = host_view  # the host OS's word on its adapters (.vmx mode: labkit runs there)
        self._vmrun, self._clock = vmrun, clock

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
        """vmrun start (no window) or stop (soft, else hard); False when the VM is already so."""
        if self.powered_on(vm) == on:
            return False
        tool, path = self._tool(vm, "power a VM on or off"), str(_path(self.inventory.vm(vm)))
        try:
            if on:
                tool.start(path)
            else:
                self._stop(vm, tool, path)
        except VmrunFailed as exc:
            raise BackendError(f"{vm}: {exc}") from None
        deadline = self._clock.monotonic() + POWER_SETTLE
        while self.powered_on(vm) != on:
            if self._clock.monotonic() >= deadline:
                raise BackendError(f"{vm}: vmrun {'start' if on else 'stop'} succeeded, but after {POWER_SETTLE:g} s "
                                   f"the VM's .lck folder says it is still {'off' if on else 'on'}")
            self._clock.sleep(0.2)
        return True

    @staticmethod
    def _stop(vm: str, tool: Vmrun, path: str) -> None:
        try:
            tool.stop(path)
        except VmrunFailed as exc:  # a soft stop needs VMware Tools in the guest
            log.warning("%s: vmrun stop soft was refused (%s); powering it off (stop hard)", vm, exc.reason)
            tool.stop(path, hard=True)

    def guest_nics(self, vm: str) -> list[GuestNic]:
        """vmrun getGuestIPAddress: the guest's primary address, given for its first adapter (none: [])."""
        spec = self.inventory.vm(vm)
        tool = self._tool(vm, "read guest addresses (VMware Tools)")
        try:
            ip = tool.guest_ip(str(_path(spec)))
        except VmrunFailed as exc:
            raise BackendError(f"{vm}: {exc}") from None
        if ip is None:
            return []
        first = spec.adapters[0]
        return [GuestNic(first.mac.lower() if first.mac else None, (self._with_prefix(vm, first, ip),))]

    def _with_prefix(self, vm: str, adapter: Adapter, ip: IPv4Address) -> IPv4Interface:
        """The address with its network's prefix, when the network the adapter is on holds it (vmrun
        gives no prefix); else (or when the .vmx cannot be read) as a host address (/32), claiming no subnet."""
        try:
            network = self.adapter_network(vm, adapter)
        except BackendError as exc:
            log.debug("%s: %s; its address is given without a prefix", vm, exc)
            network = None
        net = self.inventory.networks.get(network) if network else None
        subnet = None if net is None else self.inventory.lan.subnet if net.type == "bridged" else net.subnet
        return IPv4Interface(f"{ip}/{subnet.prefixlen if subnet is not None and ip in subnet else 32}")

    def _tool(self, vm: str, action: str) -> Vmrun:
        """vmrun, or an error saying what would do `action`: vmrest, or (in .vmx mode) vmrun."""
        if self._vmrun is None:
            raise BackendError(needs_vmrest(vm, action))
        try:
            return self._vmrun()
        except BackendError as exc:
            raise BackendError(f"{vm}: to {action} the Workstation backend needs vmrest (backend.user and "
                               f"backend.password_env) or, with .vmx files, vmrun: {exc}") from None

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
