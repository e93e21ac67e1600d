"""A netplan file's definitions, read as netplan reads them: which one is an interface, and its values.

Pure. netplan/netplan.py holds the rules (what labkit reads and writes); this module holds the reading
that both its read_config and apply_config need: the sections, the definition an interface name
refers to, and each owned value with the node it came from (so an edit can replace exactly it).

netplan's reader merges a key given twice in a mapping where that makes sense (two `bridges:`
sections, two `network:` blocks) and lets a later scalar win elsewhere, so a file with duplicate
keys is read here too; only a duplicate in what labkit reads for the interface it edits (its
definition given twice, dhcp4 twice) is refused, since then one edit cannot say what the merge means.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface, ip_address
from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from labkit.dialects.yamltext import MERGE_TAG, line, text_of
from labkit.errors import GuestConfigError

PHYSICAL = ("ethernets", "wifis", "modems")
SECTIONS = ("ethernets", "wifis", "modems", "bonds", "bridges", "vlans", "tunnels", "vrfs",
            "dummy-devices", "virtual-ethernets", "nm-devices")
TRUE, FALSE = ("true", "on", "yes", "y"), ("false", "off", "no", "n")
DEFAULT_TO = ("default", "0.0.0.0/0")
POLICY = ("table", "from", "type", "scope")


def fail(name: str, where: str, message: str, at: int | None = None) -> GuestConfigError:
    head = name if at is None else f"{name}:{at}"
    return GuestConfigError(f"{head}: {where}: {message}" if where else f"{head}: {message}")


@dataclass(slots=True)
class Definition:
    section: str
    id: str
    key: ScalarNode
    body: MappingNode

    @property
    def where(self) -> str:
        return f"network.{self.section}.{self.id}"

    @property
    def line(self) -> int:
        return line(self.key)


def entries(node: MappingNode, *keys: str) -> list[tuple[ScalarNode, Node]]:
    return [(k, v) for k, v in node.value if isinstance(k, ScalarNode) and (not keys or k.value in keys)]


def value(name: str, node: MappingNode, key: str, where: str) -> Node | None:
    """The one value of `key` in the mapping; refused when given twice (which one counts is unclear)."""
    found = entries(node, key)
    if len(found) > 1:
        raise fail(name, f"{where}.{key}", f"given twice (lines {line(found[0][0])} and {line(found[1][0])}); "
                   "labkit cannot tell which one counts", line(found[1][0]))
    return found[0][1] if found else None


def networks(name: str, root: Node | None) -> list[MappingNode]:
    """The `network:` blocks (merged by netplan when given twice); GuestConfigError for what netplan refuses."""
    if root is None:
        return []
    if not isinstance(root, MappingNode):
        raise fail(name, "", "the top level is not a mapping", 1)
    out = []
    for key, net in entries(root, "network"):
        if not isinstance(net, MappingNode):
            raise fail(name, "network", "is not a mapping", line(key))
        out.append(net)
    return out


def definitions(name: str, root: Node | None) -> list[Definition]:
    """Every definition of every section, in file order; a definition that is not a mapping is refused."""
    out = []
    for net in networks(name, root):
        for skey, defs in entries(net, *SECTIONS):
            if not isinstance(defs, MappingNode):
                raise fail(name, f"network.{skey.value}", "is not a mapping", line(skey))
            for key, body in defs.value:
                if not isinstance(key, ScalarNode):
                    raise fail(name, f"network.{skey.value}", "has a definition whose name is not a string", line(key))
                if key.value == "renderer" and skey.value != "nm-devices":  # a renderer for the whole section
                    continue
                if not isinstance(body, MappingNode):
                    raise fail(name, f"network.{skey.value}.{key.value}", "is not a mapping", line(key))
                out.append(Definition(skey.value, key.value, key, body))
    return out


def sections(name: str, root: Node | None, section: str) -> list[MappingNode]:
    return [defs for net in networks(name, root) for _, defs in entries(net, section)
            if isinstance(defs, MappingNode)]


# ---------------------------------------------------------------- which definition is the interface

def _match(d: Definition) -> Node | None:
    """A physical definition's `match` (any node: a mapping, or what netplan would refuse), else None."""
    return value("", d.body, "match", d.where) if d.section in PHYSICAL else None


def _pattern(match: Node) -> str | None:
    return text_of(value("", match, "name", "")) if isinstance(match, MappingNode) else None


def _glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def names(d: Definition) -> str:
    """The interface a definition configures as far as the file says: set-name, a literal match.name,
    else its ID (which for a `match` without either is only a label)."""
    match = _match(d)
    if match is None:
        return d.id
    set_name = text_of(value("", d.body, "set-name", d.where))
    pattern = _pattern(match)
    return set_name or (pattern if pattern and not _glob(pattern) else d.id)


def _verdict(d: Definition, interface: str) -> str:
    """"yes" (the definition is the interface), "id" (named by its ID only), "no", or why it may be."""
    match = _match(d)
    if match is None:
        return "yes" if d.id == interface else "no"
    if names(d) == interface:
        return "yes"
    if d.id == interface:
        return "id"
    pattern = _pattern(match)
    if value("", d.body, "set-name", d.where) is not None or (pattern and not fnmatchcase(interface, pattern)):
        return "no"
    if pattern and not _glob(pattern):
        return "no"
    if pattern:
        return f"matches {interface} by the name pattern {pattern!r}; configure it by its ID {d.id} (every " \
               f"device the pattern matches gets the change), or give {interface} a definition of its own"
    keys = ", ".join(str(k.value) for k, _ in entries(match)) if isinstance(match, MappingNode) else "?"
    return f"matches devices by {keys or 'nothing'} without a set-name, so the file does not say whether " \
           f"it is {interface}; configure it by its ID {d.id}"


def find(name: str, root: Node | None, interface: str) -> tuple[Definition, str | None] | None:
    """The definition `interface` names, and a note when it is named by an ID whose match may select
    other devices; None when none does. Refuses what is ambiguous or not labkit's to edit."""
    defs = definitions(name, root)
    verdicts = [(d, _verdict(d, interface)) for d in defs]
    yes = [d for d, v in verdicts if v == "yes"] or [d for d, v in verdicts if v == "id"]
    maybe = [(d, v) for d, v in verdicts if v not in ("yes", "id", "no")]
    ids = {(d.section, d.id) for d in yes}
    if len(ids) > 1:
        raise fail(name, interface, "defined more than once: " + ", ".join(d.where for d in yes))
    if len(yes) > 1:
        raise fail(name, yes[0].where, f"given {len(yes)} times (lines {', '.join(str(d.line) for d in yes)}); "
                   "netplan merges them, labkit edits one definition", yes[1].line)
    if not yes and maybe:
        d, why = maybe[0]
        raise fail(name, d.where, why, d.line)
    if not yes:
        return None
    d = yes[0]
    not_a_member(name, root, d.id, d.where, d.line)
    if names(d) == "lo":
        raise fail(name, d.where, "lo is the loopback: labkit configures network adapters", d.line)
    if text_of(value(name, d.body, "renderer", d.where)) == "sriov":
        raise fail(name, d.where, "renderer: sriov makes it a VLAN filter in the SR-IOV card, not an interface: "
                   "netplan configures no address or DHCP on it", d.line)
    if d.section in ("vrfs", "nm-devices"):
        what = "a VRF takes no address or DHCP of its own (netplan refuses them): configure an " \
               "interface of it" if d.section == "vrfs" else "a NetworkManager passthrough device: labkit " \
               "cannot describe its settings"
        raise fail(name, d.where, what, d.line)
    note = None
    match = _match(d)
    if match is not None and names(d) != interface:
        note = f"{d.where} configures {names(d)} (set-name), not a device named {interface}"
    elif match is not None and names(d) == d.id and text_of(value("", d.body, "set-name", d.where)) != d.id:
        keys = ", ".join(str(k.value) for k, _ in entries(match)) if isinstance(match, MappingNode) else "?"
        note = f"{d.where} selects devices by {keys or 'nothing'}: every device it matches gets this configuration"
    return d, note


def not_a_member(name: str, root: Node | None, ident: str, where: str, at: int | None) -> None:
    """A bond's or bridge's port has no address of its own: its master's name is the one to configure."""
    for kind in ("bonds", "bridges"):
        for defs in sections(name, root, kind):
            for key, body in defs.value:
                members = value(name, body, "interfaces", "") if isinstance(body, MappingNode) else None
                if isinstance(members, SequenceNode) and ident in map(text_of, members.value):
                    raise fail(name, where, f"is a port of network.{kind}.{key.value}: its IP configuration "
                               f"belongs to {key.value}; configure {key.value} instead", at)


def owns_id(name: str, root: Node | None, ident: str) -> Definition | None:
    return next((d for d in definitions(name, root) if d.id == ident), None)


# ---------------------------------------------------------------- values

def boolean(name: str, body: MappingNode, key: str, where: str) -> tuple[bool | None, Node | None]:
    node = value(name, body, key, where)
    if node is None:
        return None, None
    text = text_of(node)
    if text is not None and text.lower() in TRUE + FALSE:
        return text.lower() in TRUE, node
    raise fail(name, f"{where}.{key}", f"{text if text is not None else 'a collection'!r} is not a boolean", line(node))


def seq(name: str, body: MappingNode, key: str, where: str) -> SequenceNode | None:
    node = value(name, body, key, where)
    if node is not None and not isinstance(node, SequenceNode):
        raise fail(name, f"{where}.{key}", "is not a list", line(node))
    return node


def address_node(entry: Node) -> Node:
    """The scalar that holds an addresses entry: itself, or the key of `- 10.0.0.5/24: {label: ...}`."""
    if isinstance(entry, MappingNode) and len(entry.value) == 1:
        return entry.value[0][0]
    return entry


def addresses(name: str, body: MappingNode, where: str) -> list[tuple[int, Node, IPv4Interface | None]]:
    """(index, scalar, IPv4 address) of each entry; None for an IPv6 one."""
    items = seq(name, body, "addresses", where)
    out: list[tuple[int, Node, IPv4Interface | None]] = []
    for i, entry in enumerate(items.value if items else []):
        node = address_node(entry)
        text = text_of(node) or ""
        addr, slash, prefix = text.partition("/")
        try:
            if not slash or not prefix.isdigit() or len(prefix) > 3:
                raise ValueError
            if ":" in addr:
                IPv6Interface(text)
                out.append((i, node, None))
            else:
                out.append((i, node, IPv4Interface(text)))
        except ValueError:
            raise fail(name, f"{where}.addresses[{i}]", f"{text!r} is not an address/prefix", line(node)) from None
    return out


def default_routes(name: str, body: MappingNode, where: str) -> list[tuple[int, Node, IPv4Address]]:
    """(index, via node, gateway) of each routes entry that is the main table's IPv4 default route."""
    items = seq(name, body, "routes", where)
    out = []
    for i, route in enumerate(items.value if items else []):
        if not isinstance(route, MappingNode):
            raise fail(name, f"{where}.routes[{i}]", "is not a mapping", line(route))
        to, via = value(name, route, "to", f"{where}.routes[{i}]"), value(name, route, "via", f"{where}.routes[{i}]")
        if (text_of(to) or "").strip() not in DEFAULT_TO or via is None or entries(route, *POLICY):
            continue
        gateway = text_of(via) or ""
        try:
            out.append((i, via, IPv4Address(gateway)))
        except ValueError:
            if text_of(to) == "default" and is_ipv6(gateway):
                continue  # IPv6's default route
            raise fail(name, f"{where}.routes[{i}].via", f"{gateway!r} is not an IPv4 address", line(via)) from None
    return out


def other_routes(body: MappingNode) -> list[tuple[str, IPv4Address, bool]]:
    """(destination, gateway, on-link) of the IPv4 routes that are not the default route, for warnings."""
    items = value("", body, "routes", "")
    out = []
    for route in items.value if isinstance(items, SequenceNode) else []:
        if not isinstance(route, MappingNode):
            continue
        to, via = text_of(value("", route, "to", "")), text_of(value("", route, "via", ""))
        on_link = (text_of(value("", route, "on-link", "")) or "").lower() in TRUE
        try:
            gateway = IPv4Address(via or "")
        except ValueError:
            continue
        if (to or "") not in DEFAULT_TO or entries(route, *POLICY):
            out.append((to or "?", gateway, on_link))
    return out


def is_ipv6(text: str) -> bool:
    try:
        return isinstance(ip_address(text), IPv6Address)
    except ValueError:
        return False


def gateway4(name: str, body: MappingNode, where: str) -> tuple[Node | None, IPv4Address | None]:
    node = value(name, body, "gateway4", where)
    if node is None:
        return None, None
    try:
        return node, IPv4Address(text_of(node) or "")
    except ValueError:
        raise fail(name, f"{where}.gateway4", f"{text_of(node)!r} is not an IPv4 address", line(node)) from None


def nameservers(name: str, body: MappingNode, where: str) -> tuple[MappingNode | None, SequenceNode | None]:
    ns = value(name, body, "nameservers", where)
    if ns is None:
        return None, None
    if not isinstance(ns, MappingNode):
        raise fail(name, f"{where}.nameservers", "is not a mapping", line(ns))
    items = seq(name, ns, "addresses", f"{where}.nameservers")
    for i, entry in enumerate(items.value if items else []):
        try:
            ip_address(text_of(entry) or "")
        except ValueError:
            raise fail(name, f"{where}.nameservers.addresses[{i}]", f"{text_of(entry)!r} is not an IP address",
                       line(entry)) from None
    return ns, items


def v4(node: Node) -> IPv4Address | None:
    address = ip_address(text_of(node) or "")
    return address if isinstance(address, IPv4Address) else None


def access_points(name: str, body: MappingNode, where: str) -> list[str]:
    """The SSIDs of a wifi definition's access points in `mode: ap` (NetworkManager shares those)."""
    points = value(name, body, "access-points", where)
    out = []
    for key, point in entries(points) if isinstance(points, MappingNode) else []:
        mode = value(name, point, "mode", f"{where}.access-points") if isinstance(point, MappingNode) else None
        if text_of(mode) == "ap":
            out.append(str(key.value))
    return out


def merge_keys(node: Node) -> bool:
    return isinstance(node, MappingNode) and any(k.tag == MERGE_TAG for k, _ in node.value)


def anchored(node: Any) -> str | None:
    anchor = getattr(node, "anchor", None)
    return getattr(anchor, "value", anchor) if anchor is not None else None
