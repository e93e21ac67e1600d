"""Snapshots in the simulated lab (the Snapshots capability), so a trainer's playbook that resets
the lab with revert_snapshot is checked offline like any other.

A snapshot keeps what VMware keeps of one VM: its "disk" (the guest's files, and the configuration
a Windows or netplan guest holds outside simulated files), its adapters' ports (network and
cable), its power state, and with `memory` the running guest: its addresses as they were. A revert
ends the VM's processes first (a revert timer sleeping in the guest dies with it, on a real VM too),
then restores all that. A snapshot taken without memory, or of a powered-off VM, leaves the VM
powered off, as VMware does: the next power-on boots it from the restored files, through its own
network service, as the first boot did. What stays outside any snapshot stays as it is: the host's
adapters and the DHCP servers' leases.

The lab's channels to a reverted VM are dropped (`on_revert`): an SSH session does not survive a
revert, and what a channel learnt about the guest (an address that did not answer) is out of date.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace

from labkit.backends.sim.world import SimWorld
from labkit.errors import BackendError
from labkit.netconfig import InterfaceConfig
from labkit.state import IfaceState


@dataclass(frozen=True)
class SimSnapshot:
    name: str
    description: str
    memory: bool  # the guest was running and its memory was kept
    ifaces: tuple[IfaceState, ...]
    cables_out: dict[str, str]  # interface -> the network its port stays on while unplugged
    files: dict[str, str]
    dirs: frozenset[str]
    configs: dict[str, InterfaceConfig]  # interface -> what the guest is configured with


class SimSnapshots:
    """Take and revert named snapshots of the simulated VMs (one list per VM, oldest first)."""

    def __init__(self, world: SimWorld, on_revert: Callable[[str], None] | None = None) -> None:
        self.world = world
        self._on_revert = on_revert
        self._taken: dict[str, list[SimSnapshot]] = {}

    def _check(self, vm: str) -> None:
        if vm not in self.world.state.vms:
            raise BackendError(f"no VM named {vm!r} in the simulated lab")

    def snapshot_names(self, vm: str) -> list[str]:
        self._check(vm)
        with self.world.lock:
            return [s.name for s in self._taken.get(vm, [])]

    def take_snapshot(self, vm: str, name: str, description: str = "", memory: bool = False) -> bool:
        self._check(vm)
        world = self.world
        world.tick()  # what is due in the guest happens before the moment kept
        with world.lock:
            taken = self._taken.setdefault(vm, [])
            if any(s.name == name for s in taken):
                return False
            state = world.state.vms[vm]
            guest = world.guest(vm)
            taken.append(SimSnapshot(
                name, description, memory and state.powered_on,
                tuple(replace(i) for i in state.ifaces),
                {iface: net for (owner, iface), net in world.cable_out.items() if owner == vm},
                dict(guest.files), frozenset(guest.dirs),
                {iface: cfg for (owner, iface), cfg in world.guest_config.items() if owner == vm}))
            return True

    def revert_snapshot(self, vm: str, name: str) -> None:
        self._check(vm)
        world = self.world
        with world.lock:
            found = [s for s in self._taken.get(vm, []) if s.name == name]
            if len(found) != 1:
                names = ", ".join(repr(s.name) for s in self._taken.get(vm, [])) or "none"
                raise BackendError(f"no snapshot {name!r} of {vm} in the simulated lab (its snapshots: {names})")
            snap = found[0]
            world.power_off(vm)  # its processes end; the addresses come back only with the memory
            guest = world.guest(vm)
            guest.files.clear()  # the same dict the world and every channel hold
            guest.files.update(snap.files)
            guest.dirs.clear()
            guest.dirs.update(snap.dirs)
            for key in [k for k in world.cable_out if k[0] == vm]:
                del world.cable_out[key]
            world.cable_out.update({(vm, iface): net for iface, net in snap.cables_out.items()})
            for key in [k for k in world.guest_config if k[0] == vm]:
                del world.guest_config[key]
            world.guest_config.update({(vm, iface): cfg for iface, cfg in snap.configs.items()})
            state = world.state.vms[vm]
            for ifc, kept in zip(state.ifaces, snap.ifaces, strict=True):  # the same objects: others hold them
                for f in fields(IfaceState):
                    setattr(ifc, f.name, getattr(kept, f.name))
                if not snap.memory:
                    ifc.address = ifc.gateway = None
                    ifc.note = None
            state.powered_on = snap.memory
            world.changed()
        if self._on_revert is not None:
            self._on_revert(vm)
