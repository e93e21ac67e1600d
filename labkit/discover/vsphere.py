"""Discover a vSphere lab: the VMs of a datacenter (or of one folder), their NICs, and the networks
those are on (standard, distributed and opaque).

Read through the vSphere backend's own session, index and lookups (labkit.backends.vsphere), so
TLS, the password from an environment variable, the limits on a slow or lost vCenter and the
treatment of names are the ones a run has, and pyvmomi stays inside the backend. Only property
reads are made, through the property collector: a few round trips for any number of VMs.

Each VM is written with its inventory path (what finds it again, its twins in other folders
included) and labkit's name for it; each NIC with its label, MAC and network; each network with
its name, plus the switch (and moid) only when its name alone would be ambiguous. A network's
subnet is what VMware Tools' prefix says of a guest on it, else left to fill in; every network
is `custom` (a segment of its own): vSphere cannot say which port group is the physical LAN.
"""

from __future__ import annotations

from collections import Counter
from ipaddress import IPv4Address, IPv4Interface
from typing import Any

from labkit.backends.vsphere import names, nics
from labkit.backends.vsphere.connection import connect, disconnect, link_for
from labkit.backends.vsphere.finder import FoundVm as VsVm
from labkit.backends.vsphere.finder import VmIndex
from labkit.backends.vsphere.lookup import NetTarget, datacenter, list_networks
from labkit.backends.vsphere.props import moid, retrieve
from labkit.discover.found import Found, FoundNet, FoundNic, FoundVm
from labkit.discover.guestos import guest_os
from labkit.errors import BackendError, InputError, LabkitError
from labkit.model import Backend

PROPS = ["config.hardware.device", "config.guestId", "runtime.powerState", "guest.net"]


def discover(backend: Backend, folder: str | None = None) -> Found:
    """The VMs of backend.datacenter (all datacenters without one), under `folder` (an inventory
    path) when given. InputError: bad settings, no such datacenter or folder; BackendError: vCenter
    unreachable or refusing."""
    link = link_for(backend)
    session = connect(backend, link)
    try:
        content = session.content
        with link.doing("reading the VMs and networks"):
            dc = datacenter(content, backend.datacenter)
            index = VmIndex(content, dc)
            targets = list_networks(content, dc or content.rootFolder)
            picked = index.vms if folder is None else _in_folder(content, index, folder)
            # the property collector is asked for the VMs' own type (pyvmomi's class stays in the backend)
            props = {moid(obj): p for obj, p in retrieve(content, [v.obj for v in picked], type(picked[0].obj),
                                                         PROPS)} if picked else {}
    except LabkitError:
        raise
    except Exception as exc:
        if not hasattr(exc, "faultCause"):  # only vSphere's own faults are its answers; anything else is a bug
            raise
        said = getattr(exc, "msg", None) or type(exc).__name__  # a fault's message, as props.fault_message reads it
        raise BackendError(f"vSphere {link.where}: reading its inventory failed: {said}") from None
    finally:
        disconnect(session)
    return _found(backend, folder, link.where, picked, props, targets)


def _in_folder(content: Any, index: VmIndex, folder: str) -> list[VsVm]:
    search = content.searchIndex
    path = names.inventory_path(folder)
    found = search.FindByInventoryPath(path) if search is not None else None
    if found is None:
        raise InputError(f"no folder at inventory path {path} (write it as datacenter/vm/folder...)", field="--folder")
    wanted = moid(found)
    vms = [v for v in index.vms if wanted in v.folders]
    if not vms:
        raise InputError(f"{path} holds no VM (is it a VM folder?)", field="--folder")
    return vms


def _found(backend: Backend, folder: str | None, where: str, picked: list[VsVm], props: dict[str, dict],
           targets: list[NetTarget]) -> Found:
    settings = backend.model_dump(exclude_defaults=True, exclude={"tls", "networking_dir", "vmrun"})
    settings["type"] = "vsphere"
    found = Found(source=f"vCenter {where}" + (f", folder {folder}" if folder else ""),
                  command="labkit discover vsphere", system="vSphere", backend=settings)
    found.notes.append("vSphere says nothing of subnets or of which port group is the physical LAN: each network "
                       "is custom with its subnet to fill in (bridged, without a subnet, for the LAN's).")
    used: dict[str, NetTarget] = {}
    for vm in picked:
        found.vms.append(_vm(vm, props.get(vm.moid, {}), targets, used))
    found.networks = _networks(list(used.values()), targets, found.vms)
    return found


def _vm(vm: VsVm, props: dict[str, Any], targets: list[NetTarget], used: dict[str, NetTarget]) -> FoundVm:
    guest = guest_os(props.get("config.guestId"), "guestId")
    out = FoundVm(name=names.shown(vm.name), ids={"path": vm.path}, os=guest.os, os_note=guest.note,
                  dialect_hint=guest.dialect_hint, powered_on=props.get("runtime.powerState") == "poweredOn")
    out.notes.append(f"moid {vm.moid}")
    tools = {(n.macAddress or "").lower(): n for n in props.get("guest.net") or []}
    for card in props.get("config.hardware.device") or []:
        if not isinstance(card, nics.EthernetCard):
            continue
        target = next((t for t in targets if nics.on_target(card, t)), None)
        mac = (card.macAddress or "").lower() or None
        label = card.deviceInfo.label if card.deviceInfo else None
        nic = FoundNic(network=target.moid if target else None, label=label, mac=mac, connected=not nics.unplugged(card))
        if target is not None:
            used[target.moid] = target
        else:
            nic.notes.append("on a network this datacenter does not list")
        _tools_addresses(nic, tools.get(mac or ""))
        out.nics.append(nic)
    return out


def _tools_addresses(nic: FoundNic, info: Any) -> None:
    """What VMware Tools reports for the NIC: addresses with their prefix go to `seen`; bare ones
    (old Tools) only to its comment, since a prefix cannot be guessed."""
    if info is None:
        return
    prefixes = {a.ipAddress: a.prefixLength for a in (info.ipConfig.ipAddress or [])} if info.ipConfig else {}
    seen, bare = [], []
    for text in info.ipAddress or []:
        try:
            address = IPv4Address(text)
        except ValueError:
            continue  # IPv6
        if address.is_link_local:
            continue
        if text in prefixes:
            seen.append(IPv4Interface(f"{address}/{prefixes[text]}"))
        else:
            bare.append(text)
    nic.seen = tuple(seen)
    if bare:
        nic.notes.append(f"VMware Tools reports {', '.join(bare)} (no prefix)")


def _networks(used: list[NetTarget], targets: list[NetTarget], vms: list[FoundVm]) -> list[FoundNet]:
    shared = Counter(names.key(t.name) for t in targets)
    out = []
    for t in sorted(used, key=lambda t: (names.key(t.name), t.moid)):
        net = FoundNet(key=t.moid, name=names.shown(t.name), type="custom", backend_network=names.shown(t.name))
        net.notes.append(t.describe())
        if shared[names.key(t.name)] > 1:
            same_switch = [u for u in targets if names.key(u.name) == names.key(t.name) and u.switch == t.switch]
            net.switch = t.switch
            net.moid = t.moid if t.switch is None or len(same_switch) > 1 else None
        seen = [(vm.name, a) for vm in vms for nic in vm.nics if nic.network == t.moid for a in nic.seen]
        if seen:
            subnet = Counter(a.network for _, a in seen).most_common(1)[0][0]
            vm_name, address = next((n, a) for n, a in seen if a.network == subnet)
            net.subnet = subnet
            net.subnet_note = f"from {vm_name}'s address {address} (VMware Tools): check it"
        out.append(net)
    return out
