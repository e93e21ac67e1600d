"""Find the inventory's VMs and networks in vSphere, refusing to guess when a name repeats.

A VM is found by instance UUID, else inventory path, else name; a network by name, narrowed by
switch name and managed object id. Several matches are an error that lists them, so the user can
add the field that breaks the tie. Network types and opaque ids come from vSphere itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyVmomi import vim

from labkit.errors import BackendError, InputError
from labkit.model import VM, Network
from labkit.backends.vsphere.props import moid, retrieve, retrieve_all


@dataclass(frozen=True)
class NetTarget:
    """One vSphere network a NIC can be attached to, with what its backing needs."""

    obj: vim.Network
    moid: str
    name: str
    kind: str  # standard | distributed | opaque
    switch: str | None = None  # distributed: the switch's name
    switch_uuid: str | None = None
    portgroup_key: str | None = None
    opaque_id: str | None = None
    opaque_type: str | None = None

    def describe(self) -> str:
        on = f" on {self.switch}" if self.switch else ""
        return f"{self.name} ({self.kind}{on}, moid {self.moid})"


def datacenter(si: vim.ServiceInstance, name: str | None) -> vim.Datacenter | None:
    """The datacenter lookups are limited to (None: the whole vCenter)."""
    if name is None:
        return None
    for dc, props in retrieve_all(si, si.content.rootFolder, vim.Datacenter, ["name"]):
        if props.get("name") == name:
            return dc
    raise BackendError(f"no datacenter named {name!r}")


def list_networks(si: vim.ServiceInstance, root: vim.ManagedEntity) -> list[NetTarget]:
    """Standard port groups, distributed port groups (not uplinks) and opaque networks below `root`."""
    switches = {moid(s): p for s, p in retrieve_all(si, root, vim.DistributedVirtualSwitch, ["name", "uuid"])}
    out: list[tuple[vim.Network, str]] = []
    for net, p in retrieve_all(si, root, vim.Network, ["name"]):
        out.append((net, p["name"]))
    targets = []
    pgs = {moid(o): p for o, p in retrieve(si, [n for n, _ in out if isinstance(n, vim.dvs.DistributedVirtualPortgroup)],
                                            vim.dvs.DistributedVirtualPortgroup,
                                            ["key", "config.distributedVirtualSwitch", "config.uplink"])}
    opaque = {moid(o): p for o, p in retrieve(si, [n for n, _ in out if isinstance(n, vim.OpaqueNetwork)],
                                               vim.OpaqueNetwork, ["summary"])}
    for net, name in out:
        net_id = moid(net)
        if net_id in pgs:
            p = pgs[net_id]
            if p.get("config.uplink"):
                continue
            dvs = p.get("config.distributedVirtualSwitch")
            sw = switches.get(moid(dvs), {}) if dvs is not None else {}
            targets.append(NetTarget(net, net_id, name, "distributed", sw.get("name"), sw.get("uuid"),
                                     p.get("key")))
        elif net_id in opaque:
            s = opaque[net_id]["summary"]
            targets.append(NetTarget(net, net_id, name, "opaque", opaque_id=s.opaqueNetworkId,
                                     opaque_type=s.opaqueNetworkType))
        else:
            targets.append(NetTarget(net, net_id, name, "standard"))
    return targets


def resolve_network(targets: list[NetTarget], mode: str, net: Network) -> NetTarget:
    """The one network inventory mode `mode` maps to; none or several is an input error."""
    field = f"networks.{mode}"
    if not net.backend_network:
        raise InputError("the vsphere backend needs backend_network (the port group's name)",
                         field=f"{field}.backend_network")
    found = [t for t in targets if t.name == net.backend_network]
    if net.switch:
        found = [t for t in found if t.switch == net.switch]
    if net.moid:
        found = [t for t in found if t.moid == net.moid]
    if len(found) == 1:
        return found[0]
    named = [t for t in targets if t.name == net.backend_network]
    if not found:
        narrowing = " and ".join(f"{k} {v!r}" for k, v in (("switch", net.switch), ("moid", net.moid)) if v)
        have = "; ".join(t.describe() for t in named) if named else "none by that name"
        raise InputError(f"no vSphere network named {net.backend_network!r}"
                         + (f" with {narrowing} (by that name: {have})" if narrowing else ""),
                         field=f"{field}.backend_network")
    listing = "; ".join(t.describe() for t in found)
    raise InputError(f"{net.backend_network!r} names {len(found)} vSphere networks: {listing}. Add switch "
                     f"or moid to pick one", field=f"{field}.backend_network")


class VmFinder:
    """Finds VMs for a run; the name index is built once, on the first lookup by name."""

    def __init__(self, si: vim.ServiceInstance, dc: vim.Datacenter | None) -> None:
        self.si = si
        self.dc = dc
        self._by_name: dict[str, list[vim.VirtualMachine]] | None = None

    def find(self, vm: VM) -> vim.VirtualMachine:
        if vm.uuid:
            found = self._index(vm).FindByUuid(self.dc, vm.uuid, True, True)
            if not isinstance(found, vim.VirtualMachine):  # None: no such VM (vmSearch finds only VMs)
                raise BackendError(f"{vm.name}: no VM with instance UUID {vm.uuid}")
            return found
        if vm.path:
            found = self._index(vm).FindByInventoryPath(vm.path)
            if not isinstance(found, vim.VirtualMachine):
                raise BackendError(f"{vm.name}: no VM at inventory path {vm.path}")
            return found
        name = vm.backend_name or vm.name
        named = self._names().get(name, [])
        if not named:
            raise BackendError(f"{vm.name}: no VM named {name!r} in vSphere")
        if len(named) > 1:
            where = "; ".join(f"{moid(o)} at {inventory_path(self.si, o)}" for o in named)
            raise BackendError(f"{vm.name}: {len(named)} VMs are named {name!r} ({where}); set path or uuid")
        return named[0]

    def _index(self, vm: VM) -> vim.SearchIndex:
        index = self.si.content.searchIndex
        if index is None:
            raise BackendError(f"{vm.name}: this vSphere server offers no SearchIndex: cannot look the VM up "
                               f"by uuid or path")
        return index

    def _names(self) -> dict[str, list[vim.VirtualMachine]]:
        if self._by_name is None:
            by_name: dict[str, list[vim.VirtualMachine]] = {}
            root = self.dc or self.si.content.rootFolder
            for obj, p in retrieve_all(self.si, root, vim.VirtualMachine, ["name"]):
                name = p.get("name")
                if name is not None:  # every VM has one; a nameless one could not be looked up anyway
                    by_name.setdefault(name, []).append(obj)
            self._by_name = by_name
        return self._by_name


def inventory_path(si: vim.ServiceInstance, obj: vim.ManagedEntity | None) -> str:
    """The object's inventory path (DC/vm/folder/name), for messages only."""
    parts: list[str] = []
    while obj is not None and not (isinstance(obj, vim.Folder) and obj == si.content.rootFolder):
        p = dict(retrieve(si, [obj], type(obj), ["name", "parent"])[0][1])
        parts.append(p.get("name", moid(obj)))
        obj = p.get("parent")
    return "/".join(reversed(parts))
