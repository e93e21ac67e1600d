"""Load an inventory file and check what one field alone cannot: that the lab is coherent.

Every rule here names the file, line and field of the value that breaks it. Nothing is touched
before an inventory passes, so a typo never half-changes a lab.

Loading reads the named file and nothing else. Some facts are the real lab's to say, read when a
lab is opened: a Workstation network on a named VMnet may leave out its subnet, host adapter, NAT
gateway and DHCP pool (docs/format.md), and what it states is compared with the host's. Those are
not missing here: `deferred_facts` lists them, `offline_notes` words them for `labkit check`, and
`labkit.backends.complete_inventory` fills them in, then holds the result to every rule
(`checked_complete`), still naming this file's lines.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from pydantic import PrivateAttr

from labkit.dialects import plainconfig
from labkit.errors import InputError, InputErrors
from labkit.model import RESERVED, DhcpPool, Inventory
from labkit.validation import validate
from labkit.yamlsrc import MAX_BYTES, Loc, Source, dotted, load

VMNET_FACTS = ("subnet", "host_adapter", "gateway", "dhcp")  # what a Workstation VMnet tells a network


class LoadedInventory(Inventory):
    """An Inventory that keeps the document it came from, so that rules checked after loading
    (once a backend completed it) still name file and line. Copies (model_copy) keep it too."""

    _source: Source | None = PrivateAttr(default=None)


@dataclass(frozen=True, slots=True)
class Deferred:
    """Facts of one inventory entry that only the real lab settles, when it is opened.

    `left`: keys the inventory leaves out, to be filled in then; `compared`: keys it states, to be
    checked against the real thing then; `by`: what says (e.g. "the Workstation host's vmnet8")."""

    loc: Loc  # ("networks", "nat")
    left: tuple[str, ...]
    compared: tuple[str, ...]
    by: str


def load_inventory(path: str | Path) -> Inventory:
    return _checked(load(path))


def inventory_from_data(data: dict, name: str = "<data>") -> Inventory:
    """An inventory built in code (benchmarks, generators), held to the same rules as a file."""
    return _checked(Source(name, data, {}))


def _checked(source: Source) -> Inventory:
    if not isinstance(source.data, dict):
        raise source.error("an inventory is a mapping (lab, host, lan, networks, vms...)")
    inv = validate(LoadedInventory, source.data, source)
    inv._source = source
    errors = list(_coherence(inv, source, left_to_backend(inv)))
    if errors:
        raise InputErrors(errors)
    return inv


def source_of(inv: Inventory) -> Source:
    """The document `inv` was loaded from (an empty stand-in for one built in code)."""
    source = inv._source if isinstance(inv, LoadedInventory) else None
    return source if source is not None else Source("<data>", None, {})


def checked_complete(inv: Inventory) -> Inventory:
    """`inv` after its backend completed it, held to every rule: what is still missing is an error."""
    errors = list(_coherence(inv, source_of(inv), frozenset()))
    if errors:
        raise InputErrors(errors)
    return inv


def deferred_facts(inv: Inventory) -> list[Deferred]:
    """What only the real lab settles, found without reading anything. Workstation: per network on a
    named VMnet, the VMnet facts it leaves out (the host fills them in) and those it states, type
    included (compared with the host's). Networks on no named VMnet, and other backends: nothing."""
    if inv.backend.type != "workstation":
        return []
    named = inv.backend.networking_dir is not None
    out = []
    for name, net in inv.networks.items():
        if net.backend_network is None:
            continue
        vnet = net.backend_network.lower()
        by = f"{vnet} in the host's files (backend.networking_dir)" if named else f"the Workstation host's {vnet}"
        keys = () if net.type == "bridged" else tuple(k for k in VMNET_FACTS if k != "gateway" or net.type == "nat")
        left = tuple(k for k in keys if getattr(net, k) is None)
        out.append(Deferred(("networks", name), left, ("type",) + tuple(k for k in keys if k not in left), by))
    return out


def left_to_backend(inv: Inventory) -> frozenset[tuple[str | int, str]]:
    """(network, key) pairs the real lab fills in when it is opened: not missing until then."""
    return frozenset((d.loc[1], key) for d in deferred_facts(inv) if d.loc[:1] == ("networks",) for key in d.left)


def offline_notes(inv: Inventory) -> list[str]:
    """What checking the file alone could not verify, one line each ("file:line: field: ...")."""
    source = source_of(inv)
    notes = []
    for d in deferred_facts(inv):
        line = source.line_of(d.loc)
        where = source.path if line is None else f"{source.path}:{line}"
        said = []
        if d.left:
            said.append(f"{_listed(d.left)} left to {d.by}")
        if d.compared:
            said.append(f"{_listed(d.compared)} checked against {'it' if d.left else d.by}")
        notes.append(f"{where}: {dotted(d.loc)}: {' and '.join(said)} (read when the lab is opened)")
    return notes


def _listed(keys: tuple[str, ...]) -> str:
    return f"{keys[0]} is" if len(keys) == 1 else f"{', '.join(keys[:-1])} and {keys[-1]} are"


def network_subnet(inv: Inventory, name: str) -> IPv4Network | None:
    """The subnet a network's members live in: bridged networks share the physical LAN's."""
    net = inv.networks[name]
    return inv.lan.subnet if net.type == "bridged" else net.subnet


def _coherence(inv: Inventory, src: Source, left: frozenset[tuple[str | int, str]]) -> Iterator[InputError]:
    """Every cross-field problem; a subnet or NAT gateway in `left` (network, key) is not missing yet."""
    lan = inv.lan
    if inv.host.lan_address not in lan.subnet:
        yield src.error(f"{inv.host.lan_address} is outside the LAN {lan.subnet}", ("host", "lan_address"))
    if lan.router not in lan.subnet:
        yield src.error(f"{lan.router} is outside the LAN {lan.subnet}", ("lan", "router"))
    if lan.dhcp is not None:
        yield from _pool(lan.dhcp, lan.subnet, src, ("lan", "dhcp"))

    for name, net in inv.networks.items():
        loc: Loc = ("networks", name)
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
            if (name, "subnet") not in left:
                yield src.error("missing required key 'subnet'", loc, field=f"networks.{name}.subnet")
            continue
        if net.host_adapter is not None and net.host_adapter.address not in net.subnet:
            yield src.error(f"{net.host_adapter.address} is outside {net.subnet}", loc + ("host_adapter", "address"))
        if net.gateway is not None:
            if net.type != "nat":
                yield src.error("only a nat network has a NAT gateway", loc + ("gateway",))
            elif net.gateway not in net.subnet:
                yield src.error(f"gateway {net.gateway} is outside the subnet {net.subnet}", loc + ("gateway",))
        elif net.type == "nat" and (name, "gateway") not in left:
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
    infra = infrastructure(inv)
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
        ssh = vm.ssh.over(inv.ssh) if vm.ssh is not None else inv.ssh
        if vm.os == "windows" and ssh is not None and ssh.become:
            # OpenSSH for Windows runs cmd.exe as the account that logged in: there is no sudo, and
            # labkit's staged writes and sudo wrapping are POSIX sh
            where = loc + ("ssh", "become") if vm.ssh is not None and "become" in vm.ssh.model_fields_set \
                else ("ssh", "become")
            yield src.error(f"{vm.name} is a windows guest: become (sudo) is for linux guests; log in as an "
                            "administrator instead (set become: null for this VM)", where)
        if inv.backend.type != "sim":  # a real guest (or the netns lab, as root here) runs what its files say
            yield from _seed_files(vm.files, loc + ("files",), src)
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
                if ip in infra:  # two holders of one address (rule 10): refused before anything runs
                    yield src.error(f"{ip} is {infra[ip]}: a VM holding it too is an address conflict",
                                    aloc + ("config", "address"))
                elif ip in statics:
                    yield src.error(f"duplicate static address {ip} (also on line {src.line_of(statics[ip])})",
                                    aloc + ("config", "address"))
                statics[ip] = aloc + ("config", "address")


def seed_file_errors(inv: Inventory) -> list[InputError]:
    """Every `files:` value that is not plain configuration, whatever the inventory's backend: the
    netns lab checks it before it builds guests from any inventory (`lab up`)."""
    src = source_of(inv)
    return [err for i, vm in enumerate(inv.vms) for err in _seed_files(vm.files, ("vms", i, "files"), src)]


def _seed_files(files: dict[str, str], loc: Loc, src: Source) -> Iterator[InputError]:
    """`files:` content that is not plain configuration for its dialect (labkit.dialects.plainconfig),
    each at the inventory line it is written on."""
    for path, text in files.items():
        for n, why in plainconfig.problems(path, text):
            yield InputError(f"line {n} of the file: {why}", file=src.path,
                             line=_content_line(src, loc + (path,), n), field=dotted(loc + (path,)))


def _content_line(src: Source, loc: Loc, n: int) -> int | None:
    """The inventory line holding line `n` of a `files:` value: below the key for a literal block
    scalar (`path: |`), else the value's own line. The file is read again only for this, on error."""
    line = src.line_of(loc)
    if line is None or not os.path.isfile(src.path):
        return line
    try:
        with open(src.path, encoding="utf-8", errors="replace") as f:
            rows = f.read(MAX_BYTES + 1).split("\n")
    except OSError:
        return line
    if 0 < line <= len(rows) and _BLOCK_SCALAR.search(rows[line - 1]):
        return line + n
    return line


_BLOCK_SCALAR = re.compile(r"[|][0-9+-]*[ \t]*(?:#.*)?$")


def infrastructure(inv: Inventory) -> dict[IPv4Address, str]:
    """The addresses the lab's own devices hold, each with whose it is ("the host's LAN address"):
    never a VM's to take."""
    out = {inv.host.lan_address: "the host's LAN address", inv.lan.router: "the LAN router's address"}
    if inv.lan.dhcp is not None and inv.lan.dhcp.server is not None:
        out.setdefault(inv.lan.dhcp.server, "the LAN's DHCP server's address")
    for name, net in inv.networks.items():
        if net.gateway is not None:
            out.setdefault(net.gateway, f"{name}'s NAT device's address")
        if net.host_adapter is not None:
            out.setdefault(net.host_adapter.address, f"the host's {name} adapter's address")
        if net.dhcp is not None and net.dhcp.server is not None:
            out.setdefault(net.dhcp.server, f"{name}'s DHCP server's address")
    return out


def _pool(pool: DhcpPool, subnet: IPv4Network, src: Source, loc: Loc) -> Iterator[InputError]:
    for key in ("start", "end", "server"):
        value = getattr(pool, key)
        if value is not None and value not in subnet:
            yield src.error(f"{value} is outside {subnet}", loc + (key,))


