"""Load an inventory file and check what one field alone cannot: that the lab is coherent.

Every rule here names the file, line and field of the value that breaks it. Nothing is touched
before an inventory passes, so a typo never half-changes a lab.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from labkit.errors import InputErrors
from labkit.model import RESERVED, Inventory
from labkit.validation import validate
from labkit.yamlsrc import Source, load


def load_inventory(path: str | Path) -> Inventory:
    return _checked(load(path))


def inventory_from_data(data: dict, name: str = "<data>") -> Inventory:
    """An inventory built in code (benchmarks, generators), held to the same rules as a file."""
    return _checked(Source(name, data, {}))


def _checked(source: Source) -> Inventory:
    if not isinstance(source.data, dict):
        raise source.error("an inventory is a mapping (lab, host, lan, networks, vms...)")
    inv = validate(Inventory, source.data, source)
    if inv.backend.type == "workstation":  # the host's real VMnet settings fill what the file leaves out
        from labkit.backends.workstation.hostnet import host_facts_applied

        inv = host_facts_applied(inv, source.path, source.error)
    errors = list(_coherence(inv, source))
    if errors:
        raise InputErrors(errors)
    return inv


def network_subnet(inv: Inventory, name: str) -> IPv4Network | None:
    """The subnet a network's members live in: bridged networks share the physical LAN's."""
    net = inv.networks[name]
    return inv.lan.subnet if net.type == "bridged" else net.subnet


def _coherence(inv: Inventory, src: Source):
    lan = inv.lan
    if inv.host.lan_address not in lan.subnet:
        yield src.error(f"{inv.host.lan_address} is outside the LAN {lan.subnet}", ("host", "lan_address"))
    if lan.router not in lan.subnet:
        yield src.error(f"{lan.router} is outside the LAN {lan.subnet}", ("lan", "router"))
    if lan.dhcp is not None:
        yield from _pool(lan.dhcp, lan.subnet, src, ("lan", "dhcp"))

    for name, net in inv.networks.items():
        loc = ("networks", name)
        if name in RESERVED:
            yield src.error(f"{name!r} is a reserved name ({', '.join(sorted(RESERVED))})", loc)
        if net.type == "bridged":
            if net.subnet is not None and net.subnet != lan.subnet:
                yield src.error(f"a bridged network shares the LAN's subnet {lan.subnet}", loc + ("subnet",))
            for key in ("host_adapter", "gateway", "dhcp"):
                if getattr(net, key) is not None:
                    yield src.error("a bridged network has no " + key.replace("_", " ")
                                    + " of its own (it is the LAN)", loc + (key,))
            continue
        if net.subnet is None:
            yield src.error("missing required key 'subnet'", loc, field=f"networks.{name}.subnet")
            continue
        if net.host_adapter is not None and net.host_adapter.address not in net.subnet:
            yield src.error(f"{net.host_adapter.address} is outside {net.subnet}", loc + ("host_adapter", "address"))
        if net.gateway is not None:
            if net.type != "nat":
                yield src.error("only a nat network has a NAT gateway", loc + ("gateway",))
            elif net.gateway not in net.subnet:
                yield src.error(f"gateway {net.gateway} is outside the subnet {net.subnet}", loc + ("gateway",))
        elif net.type == "nat":
            yield src.error("a nat network needs its NAT device's address (gateway, usually .2)", loc,
                            field=f"networks.{name}.gateway")
        if net.dhcp is not None:
            yield from _pool(net.dhcp, net.subnet, src, loc + ("dhcp",))

    taken: dict[str, tuple] = {}
    for name in inv.externals:
        if name in RESERVED:
            yield src.error(f"{name!r} is a reserved name ({', '.join(sorted(RESERVED))})", ("externals", name))
        if name in inv.networks:
            yield src.error(f"{name!r} is already a network's name", ("externals", name))
        taken[name] = ("externals", name)

    macs: dict[str, tuple] = {}
    statics: dict[IPv4Address, tuple] = {}
    for i, vm in enumerate(inv.vms):
        loc = ("vms", i)
        if vm.name in RESERVED:
            yield src.error(f"{vm.name!r} is a reserved name ({', '.join(sorted(RESERVED))})", loc + ("name",))
        elif vm.name in inv.networks:
            yield src.error(f"{vm.name!r} is already a network's name", loc + ("name",))
        if vm.name in taken:
            first = src.line_of(taken[vm.name])
            yield src.error(f"duplicate name {vm.name!r} (first used on line {first})", loc + ("name",))
        taken[vm.name] = loc + ("name",)
        if vm.dialect is not None and (vm.dialect == "netsh") != (vm.os == "windows"):
            yield src.error(f"dialect {vm.dialect} does not go with os {vm.os} (netsh is for windows guests, "
                            "the others for linux ones)", loc + ("dialect",))
        names = set()
        for j, ad in enumerate(vm.adapters):
            aloc = loc + ("adapters", j)
            if ad.interface in names:
                yield src.error(f"duplicate interface {ad.interface!r}", aloc + ("interface",))
            names.add(ad.interface)
            if ad.network not in inv.networks:
                known = ", ".join(sorted(inv.networks))
                yield src.error(f"unknown network {ad.network!r} (known: {known})", aloc + ("network",))
            if ad.mac is not None:
                mac = ad.mac.lower()
                if mac in macs:
                    yield src.error(f"duplicate MAC {ad.mac} (also on line {src.line_of(macs[mac])})",
                                    aloc + ("mac",))
                macs[mac] = aloc + ("mac",)
            if ad.config is not None and ad.config.address is not None:
                ip = ad.config.address.ip
                if ip in statics:
                    yield src.error(f"duplicate static address {ip} (also on line {src.line_of(statics[ip])})",
                                    aloc + ("config", "address"))
                statics[ip] = aloc + ("config", "address")


def _pool(pool, subnet: IPv4Network, src: Source, loc: tuple):
    for key in ("start", "end", "server"):
        value = getattr(pool, key)
        if value is not None and value not in subnet:
            yield src.error(f"{value} is outside {subnet}", loc + (key,))


