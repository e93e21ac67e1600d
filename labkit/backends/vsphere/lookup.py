"""Find the inventory's networks in vSphere, refusing to guess when a name repeats, and tell
whether a VM's host can carry one.

A network is found by name (as vCenter stores it or as the vSphere Client shows it: names.py),
narrowed by switch name and managed object id. Several matches are an error that lists them, so
the user can add the field that breaks the tie. Network types and opaque ids come from vSphere
itself.

A VM can only be attached to a network its ESXi host has: a standard port group must be one of
the host's networks (HostSystem.network), a distributed port group's switch must have the host
as a member. vCenter itself may accept the reconfigure anyway and leave the VM cut off, so this
is checked before anything is submitted. Opaque (NSX) networks are left to NSX to place.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from pyVmomi import vim

from labkit.errors import InputError
from labkit.model import Network
from labkit.backends.vsphere import names
from labkit.backends.vsphere.props import moid, retrieve, retrieve_all


@dataclass(frozen=True)
class NetTarget:
    """One vSphere network a NIC can be attached to, with what its backing needs."""

    obj: vim.Network
    moid: str
    name: str  # as vCenter stores it
    kind: str  # standard | distributed | opaque
    switch: str | None = None  # distributed: the switch's name
    switch_uuid: str | None = None
    portgroup_key: str | None = None
    opaque_id: str | None = None
    opaque_type: str | None = None
    switch_hosts: frozenset[str] = field(default_factory=frozenset)  # distributed: member hosts' moids

    def describe(self) -> str:
        on = f" on {self.switch}" if self.switch else ""
        return f"{names.shown(self.name)} ({self.kind}{on}, moid {self.moid})"


def datacenter(content: vim.ServiceInstanceContent, name: str | None) -> vim.Datacenter | None:
    """The datacenter lookups are limited to (None: the whole vCenter)."""
    if name is None:
        return None
    found = retrieve_all(content, content.rootFolder, vim.Datacenter, ["name"])
    for dc, props in found:
        if names.same(name, props.get("name", "")):
            return dc
    have = ", ".join(sorted(names.shown(p.get("name", "?")) for _, p in found)) or "none"
    raise InputError(f"no vSphere datacenter named {name!r} (there: {have})", field="backend.datacenter")


def list_networks(content: vim.ServiceInstanceContent, root: vim.ManagedEntity) -> list[NetTarget]:
    """Standard port groups, distributed port groups (not uplinks) and opaque networks below `root`."""
    switches = {moid(s): p for s, p in retrieve_all(content, root, vim.DistributedVirtualSwitch,
                                                    ["name", "uuid", "summary.hostMember"])}
    out: list[tuple[vim.Network, str]] = []
    for net, p in retrieve_all(content, root, vim.Network, ["name"]):
        out.append((net, p["name"]))
    targets = []
    pgs = {moid(o): p for o, p in retrieve(content, [n for n, _ in out if isinstance(n, vim.dvs.DistributedVirtualPortgroup)],
                                            vim.dvs.DistributedVirtualPortgroup,
                                            ["key", "config.distributedVirtualSwitch", "config.uplink"])}
    opaque = {moid(o): p for o, p in retrieve(content, [n for n, _ in out if isinstance(n, vim.OpaqueNetwork)],
                                               vim.OpaqueNetwork, ["summary"])}
    for net, name in out:
        net_id = moid(net)
        if net_id in pgs:
            p = pgs[net_id]
            if p.get("config.uplink"):
                continue
            dvs = p.get("config.distributedVirtualSwitch")
            sw = switches.get(moid(dvs), {}) if dvs is not None else {}
            members = frozenset(moid(h) for h in sw.get("summary.hostMember") or [])
            targets.append(NetTarget(net, net_id, name, "distributed", sw.get("name"), sw.get("uuid"),
                                     p.get("key"), switch_hosts=members))
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
    named = [t for t in targets if names.same(net.backend_network, t.name)]
    found = named
    if net.switch:
        found = [t for t in found if t.switch is not None and names.same(net.switch, t.switch)]
    if net.moid:
        found = [t for t in found if t.moid == net.moid]
    if len(found) == 1:
        return found[0]
    if not found:
        narrowing = " and ".join(f"{k} {v!r}" for k, v in (("switch", net.switch), ("moid", net.moid)) if v)
        have = "; ".join(t.describe() for t in named) if named else "none by that name"
        raise InputError(f"no vSphere network named {net.backend_network!r}"
                         + (f" with {narrowing} (by that name: {have})" if narrowing else ""),
                         field=f"{field}.backend_network")
    listing = "; ".join(t.describe() for t in found)
    raise InputError(f"{net.backend_network!r} names {len(found)} vSphere networks: {listing}. Add switch "
                     f"or moid to pick one", field=f"{field}.backend_network")


class HostNetworks:
    """Which networks each ESXi host has, read once per host and run."""

    def __init__(self, content: vim.ServiceInstanceContent) -> None:
        self._content = content
        self._lock = threading.Lock()
        self._hosts: dict[str, tuple[str, frozenset[str]]] = {}  # host moid -> (name, network moids)

    def _host(self, host: vim.HostSystem) -> tuple[str, frozenset[str]]:
        key = moid(host)
        with self._lock:
            if key not in self._hosts:
                found = retrieve(self._content, [host], vim.HostSystem, ["name", "network"])
                props = found[0][1] if found else {}
                self._hosts[key] = (props.get("name", key), frozenset(moid(n) for n in props.get("network") or []))
            return self._hosts[key]

    def refusal(self, vm: str, host: vim.HostSystem | None, target: NetTarget) -> str | None:
        """Why `vm` (its vSphere name and moid) cannot be put on `target` from `host`, or None."""
        if host is None or target.kind == "opaque":
            return None
        host_name, networks = self._host(host)
        where = f"{vm} runs on ESXi host {names.shown(host_name)} ({moid(host)})"
        if target.kind == "standard" and target.moid not in networks:
            return (f"{where}, which has no standard port group {names.shown(target.name)!r} ({target.moid}): "
                    f"nothing was changed (add the port group to that host, or move the VM to a host that has it)")
        if target.kind == "distributed" and moid(host) not in target.switch_hosts:
            return (f"{where}, which is not a member of distributed switch {target.switch or '?'}, so it cannot "
                    f"carry port group {names.shown(target.name)!r} ({target.moid}): nothing was changed (add the "
                    f"host to the switch, or move the VM to a member host)")
        return None
