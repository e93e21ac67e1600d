"""Ubuntu netplan YAML (`/etc/netplan/*.yaml`, 18.04+): parse, edit, render. Pure: text in, text out.

The file is edited as text (labkit/dialects/yamltext.py): a file labkit did not need to change renders
byte for byte as it came (trailing blanks, `[ a ]`, quoted keys, `key :`, CRLF, long lines, comments,
a missing final newline), and an edit rewrites only the values that move, in the file's own style
(flow stays flow, quoting and boolean spelling are kept: `yes` becomes `no`), with new lines
indented as the file indents. netplan_defs.py reads the document as netplan does: a key given twice
where netplan merges (two `bridges:` blocks) is read, a per-type `renderer:` inside a section is not
a definition.

Names. A definition under a section (`ethernets`, `bonds`, `bridges`, `vlans`, `wifis`, ...) has a
netplan ID. For a virtual device, or a physical one (`ethernets`/`wifis`/`modems`) with no `match`,
the ID is the interface name. With a `match`, the interface is `set-name` when given (cloud-init
writes `eth0: {match: {macaddress: ...}, set-name: eth0}`), else `match.name` when it is a literal
name (NetworkManager's `NM-<uuid>: {match: {name: enp1s0}}`). An interface named by a definition's
ID edits that definition in place, whatever its match (keys labkit does not own, `match` and `mtu`
among them, stay), with a warning when the match may select several devices. An interface that only
a name pattern (`en*`) or a MAC without set-name may select is refused, naming the ID to use: a new
definition would be a second one for that device. Refused too: a port of a bond or bridge (listed in
its `interfaces`; its address belongs to the bond or bridge, which the message names), a VRF (netplan
refuses addresses and DHCP there), a NetworkManager passthrough device, a wifi access point
(`mode: ap`) switched to DHCP (NetworkManager shares that connection, `method=shared`, whatever
dhcp4 says), and a new definition whose ID another section already holds.

Owned keys of the interface's definition (everything else, other definitions, search domains,
match blocks, IPv6 settings, `optional`, `dhcp6`, `dhcp4-overrides`, stays as it is):
- `dhcp4`: read as netplan reads a boolean (true/on/yes/y, false/off/no/n, any case; absent =
  false); rewritten only when its meaning changes; absent under static stays absent (the Ubuntu
  installer writes no `dhcp4` for a static interface), added before the static keys otherwise;
- `addresses`, IPv4 entries only (`A/P` strings, or `A/P: {label: ...}` mappings). Static: exactly
  cfg.address, in place of the first IPv4 entry; dhcp: none (netplan would configure a static
  address next to the lease). IPv6 entries stay where they are;
- the IPv4 default route: `gateway4` (deprecated since netplan 0.103, still read) or a `routes`
  entry with `to: default` or `to: 0.0.0.0/0` and an IPv4 `via` (entries with `table`, `from`,
  `type` or `scope` are policy routes and left alone). `gateway4` is updated if used, else the
  route's `via` (its `metric`, `on-link` stay); a new route is written `to: 0.0.0.0/0`, which every
  netplan reads (`to: default` came with 0.103), unless the file already says `to: default`. A
  gateway under dhcp is honoured by netplan, so it is read and written in both modes;
- `nameservers.addresses`, IPv4 entries, by the DNS rule of docs/format.md: servers cfg.dns names
  replace them, each in place of an old IPv4 entry; none removes them under static and leaves them
  under dhcp (netplan adds them to the lease's). IPv6 entries and `search` stay. Emptied lists and
  mappings are removed;
- onboot is `activation-mode`: absent is onboot, `manual` (netplan 0.103+: not brought up by
  itself) is not; onboot removes `manual`, and not-onboot is written only where the definition
  already says `manual` (labkit cannot tell whether an older netplan reads the key). `off` (kept
  down) is refused by both read_config and apply_config.
Applying a file's own configuration changes nothing. apply_config refuses to edit through a YAML
anchor, alias or merge key (the edit would reach every definition sharing the node), and leaves a
refused document untouched. read_config refuses what InterfaceConfig cannot say: dhcp4 with static
IPv4 addresses, several IPv4 addresses or default routes, no IPv4 at all, dhcp4 on an access point;
and both refuse a NetworkManager `networkmanager.passthrough` holding ipv4.method/addresses/gateway/
dns/routes, which NetworkManager applies over netplan's own keys.

Files. netplan reads /lib, /etc and /run/netplan/*.yaml in the lexical order of their basenames (a
/run file shadows an /etc one of the same basename, which shadows /lib), merging definitions with
the same ID, later files winning. find_file picks the one file that defines an interface; an
interface defined in several files is refused. A new interface goes to path_for()'s
/etc/netplan/01-netcfg.yaml. Written files should be mode 0600 (netplan 0.106+ warns about readable
ones). cloud-init regenerates 50-cloud-init.yaml on some datasources unless its network
configuration is disabled, as that file's header says.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from labkit.dialects import netplan_defs as defs
from labkit.dialects import netplan_edit as edit
from labkit.dialects.netplan_defs import Definition, fail
from labkit.dialects.yamltext import Editor, load, shared, text_of
from labkit.errors import GuestConfigError
from labkit.netconfig import InterfaceConfig

DEFAULT_PATH = "/etc/netplan/01-netcfg.yaml"
_IFNAME = re.compile(r"[A-Za-z0-9_.:@-]{1,15}")
_NM_OWNED = re.compile(r"ipv4\.(?:method|gateway|dns|addresses|address[0-9]+|routes?[0-9]*|never-default)")
_DIRS = {"/lib/netplan": 0, "/etc/netplan": 1, "/run/netplan": 2}


class NetplanDoc:
    """One netplan file: its text and the composed document (None for an empty or comment-only file)."""

    def __init__(self, text: str, name: str) -> None:
        self.text = text
        self.name = name
        self.root = load(text, name)
        self.defs = defs.definitions(name, self.root)  # refuses what netplan would not read

    def render(self) -> str:
        return self.text


def parse(text: str, name: str = DEFAULT_PATH) -> NetplanDoc:
    """Load one netplan file; GuestConfigError `name:line: reason` for YAML netplan would not read."""
    return NetplanDoc(text, name)


def render(doc: NetplanDoc) -> str:
    return doc.render()


def path_for(interface: str) -> str:
    """Where a new definition goes (find_file says which existing file to edit): netplan's own example
    name, ordered before cloud-init's 50-cloud-init.yaml, which would therefore override it."""
    _check_name(interface)
    return DEFAULT_PATH


def restart_command(interface: str) -> str:
    """`netplan apply` regenerates the backend configuration and reconfigures every changed device.

    Not `netplan try`: it reverts after its timeout unless someone confirms at a terminal (or signals
    it), it refuses to revert bond and bridge changes, and it only exists on netplan. labkit keeps its
    own copy of the file and its own confirm-or-roll-back step, the same for every dialect."""
    _check_name(interface)
    return "netplan apply"


def _check_name(interface: str) -> None:
    if not isinstance(interface, str) or not _IFNAME.fullmatch(interface):
        raise GuestConfigError(f"{interface!r} is not a valid interface name "
                               "(1-15 characters from A-Z a-z 0-9 _ . : @ -)")


def interfaces(doc: NetplanDoc) -> list[str]:
    """The interface each definition configures, as far as the file says (its ID for a pattern match)."""
    return list(dict.fromkeys(defs.names(d) for d in doc.defs if d.section not in ("nm-devices",)))


def find_file(files: dict[str, str], interface: str) -> str | None:
    """Which of the guest's netplan files (path -> text) defines `interface`; None if none does.

    Follows netplan's reading: basenames in lexical order, /run shadowing /etc shadowing /lib.
    GuestConfigError if a file does not parse, or the interface is defined in several files."""
    _check_name(interface)
    chosen: dict[str, str] = {}
    for path in files:
        p = PurePosixPath(path)
        if p.suffix != ".yaml":
            continue
        old = chosen.get(p.name)
        if old is None or _DIRS.get(str(p.parent), 1) >= _DIRS.get(str(PurePosixPath(old).parent), 1):
            chosen[p.name] = path
    found = [path for _, path in sorted(chosen.items())
             if defs.find(path, load(files[path], path), interface) is not None]
    if len(found) > 1:
        raise GuestConfigError(f"{interface}: defined in {', '.join(found)}; netplan merges them, and "
                               "labkit edits one file: keep the definition in one of them")
    return found[0] if found else None


# ---------------------------------------------------------------- reading

def _definition(doc: NetplanDoc, interface: str) -> tuple[Definition, str | None]:
    _check_name(interface)
    found = defs.find(doc.name, doc.root, interface)
    if found is None:
        defs.not_a_member(doc.name, doc.root, interface, interface, None)
        raise fail(doc.name, interface, "is not defined in this file")
    _no_nm_override(doc, found[0])
    return found


def _no_nm_override(doc: NetplanDoc, d: Definition) -> None:
    """NetworkManager applies `networkmanager.passthrough` after netplan's own keys: an ipv4 setting
    there would override what labkit writes."""
    nm = defs.value(doc.name, d.body, "networkmanager", d.where)
    passthrough = defs.value(doc.name, nm, "passthrough", d.where) if isinstance(nm, MappingNode) else None
    for key, _ in defs.entries(passthrough) if isinstance(passthrough, MappingNode) else ():
        if _NM_OWNED.fullmatch(str(key.value)):
            raise fail(doc.name, f"{d.where}.networkmanager.passthrough.{key.value}", "overrides netplan's IPv4 "
                       "settings in NetworkManager; labkit cannot describe or edit it", defs.line(key))


def _onboot(doc: NetplanDoc, d: Definition) -> tuple[bool, Node | None]:
    node = defs.value(doc.name, d.body, "activation-mode", d.where)
    mode = text_of(node)
    if node is not None and mode != "manual":
        raise fail(doc.name, f"{d.where}.activation-mode", f"{mode!r} is not supported (labkit's onboot is "
                   "absent or manual; off keeps the link down)", defs.line(node))
    return node is None, node


def read_config(doc: NetplanDoc, interface: str) -> InterfaceConfig:
    """The interface's IPv4 configuration; GuestConfigError says what labkit cannot represent, and where."""
    d, _ = _definition(doc, interface)
    name, where, body = doc.name, d.where, d.body
    onboot, _ = _onboot(doc, d)
    dhcp = defs.boolean(name, body, "dhcp4", where)[0] or False
    addresses = [a for _, _, a in defs.addresses(name, body, where) if a is not None]
    gateways = [g for _, _, g in defs.default_routes(name, body, where)]
    gateway4 = defs.gateway4(name, body, where)[1]
    gateways = list(dict.fromkeys(([gateway4] if gateway4 else []) + gateways))
    servers = defs.nameservers(name, body, where)[1]
    dns = tuple(a for a in map(defs.v4, servers.value if servers else []) if a is not None)
    if len(gateways) > 1:
        raise fail(name, where, f"has several IPv4 default routes ({', '.join(map(str, gateways))})", d.line)
    gateway = gateways[0] if gateways else None
    if dhcp and addresses:
        raise fail(name, where, "has dhcp4 and static IPv4 addresses together", d.line)
    if dhcp and (points := defs.access_points(name, body, where)):
        raise fail(name, where, f"dhcp4 does not apply to the access point {points[0]!r} (mode: ap): "
                   "NetworkManager shares that connection instead", d.line)
    if dhcp:
        return InterfaceConfig("dhcp", gateway=gateway, dns=dns, onboot=onboot)
    if not addresses:
        raise fail(name, where, "has neither dhcp4 nor an IPv4 address: no IPv4 configuration "
                   "labkit can describe", d.line)
    if len(addresses) > 1:
        raise fail(name, where, f"has {len(addresses)} IPv4 addresses "
                   f"({', '.join(map(str, addresses))}); labkit describes one", d.line)
    try:
        return InterfaceConfig("static", addresses[0], gateway, dns, onboot)
    except ValueError as e:
        raise fail(name, where, str(e), d.line) from None


def edit_warnings(doc: NetplanDoc, interface: str, cfg: InterfaceConfig) -> list[str]:
    """What editing the interface to cfg leaves that its user should know: a definition whose match may
    select other devices too, and static routes whose gateway the new static address cannot reach."""
    found = defs.find(doc.name, doc.root, interface)
    if found is None:
        return []
    d, note = found
    out = [f"{doc.name}: {note}"] if note else []
    if cfg.mode == "static" and cfg.address is not None:
        out += [f"{doc.name}:{defs.line(d.key)}: {d.where}: route to {to} via {via} is kept, but {via} is "
                f"outside {cfg.address.network}: unreachable (fix or remove it)"
                for to, via, on_link in defs.other_routes(d.body) if via not in cfg.address.network and not on_link]
    return out


# ---------------------------------------------------------------- editing

def _unshared(doc: NetplanDoc, d: Definition) -> None:
    """Refuse to edit through YAML anchors, aliases or merge keys: the change would reach every user."""
    if defs.merge_keys(d.body):
        raise fail(doc.name, d.where, "uses a YAML merge key (<<); labkit will not edit a shared definition")
    reached = shared(doc.root)
    ns = defs.value(doc.name, d.body, "nameservers", d.where)
    nodes: list[tuple[str, Any]] = [(d.where, d.body)]
    nodes += [(f"{d.where}.{k}", defs.value(doc.name, d.body, k, d.where))
              for k in ("addresses", "routes", "nameservers")]
    routes = defs.value(doc.name, d.body, "routes", d.where)
    nodes += [(f"{d.where}.routes[{i}]", r) for i, r in enumerate(routes.value)] \
        if isinstance(routes, SequenceNode) else []
    nodes += [(f"{d.where}.nameservers.addresses", defs.value(doc.name, ns, "addresses", d.where))] \
        if isinstance(ns, MappingNode) else []
    for path, node in nodes:
        if node is None:
            continue
        anchor = defs.anchored(node)
        if anchor is not None or id(node) in reached:
            how = f"the YAML anchor &{anchor}" if anchor else "a YAML alias"
            raise fail(doc.name, path, f"is shared through {how}; labkit will not edit what other "
                       "definitions refer to")


def apply_config(doc: NetplanDoc, interface: str, cfg: InterfaceConfig) -> None:
    """Edit doc so the interface is configured as cfg; the module docstring says what moves (and
    edit_warnings what it leaves that the user should know)."""
    _check_name(interface)
    found = defs.find(doc.name, doc.root, interface)
    ed = Editor(doc.text, doc.root)
    if found is None:
        defs.not_a_member(doc.name, doc.root, interface, interface, None)
        if (other := defs.owns_id(doc.name, doc.root, interface)) is not None:
            raise fail(doc.name, other.where, f"holds the ID {interface} (as a match label); a new "
                       f"definition of {interface} would collide with it", other.line)
        if not cfg.onboot:
            raise fail(doc.name, interface, "a new definition cannot be not-onboot (activation-mode: manual "
                       "needs netplan 0.103+, which labkit cannot tell from the file)")
        _new_definition(doc, ed, interface, cfg)
    else:
        d, _ = found
        _no_nm_override(doc, d)
        _unshared(doc, d)
        _edit(doc, ed, d, cfg)
    new = NetplanDoc(ed.render(), doc.name)  # what labkit wrote must read back; refuse rather than write it
    doc.text, doc.root, doc.defs = new.text, new.root, new.defs


def _new_definition(doc: NetplanDoc, ed: Editor, interface: str, cfg: InterfaceConfig) -> None:
    body: dict[str, Any] = {"dhcp4": cfg.mode == "dhcp"}
    if cfg.address is not None and cfg.mode == "static":
        body["addresses"] = [str(cfg.address)]
    if cfg.gateway is not None:
        body["routes"] = [{"to": edit.default_spelling(doc), "via": str(cfg.gateway)}]
    if cfg.dns:
        body["nameservers"] = {"addresses": [str(a) for a in cfg.dns]}
    nets = defs.networks(doc.name, doc.root)
    if not nets:
        ed.append_document({"network": {"version": 2, "ethernets": {interface: body}}})
        return
    sections = defs.sections(doc.name, doc.root, "ethernets")
    if sections:
        ed.add(sections[-1], body, key=interface)
    else:
        ed.add(nets[-1], {interface: body}, key="ethernets")


def _edit(doc: NetplanDoc, ed: Editor, d: Definition, cfg: InterfaceConfig) -> None:
    """Validate every owned value first (a refused file stays untouched), then record the edits."""
    name, where, body = doc.name, d.where, d.body
    want_dhcp = cfg.mode == "dhcp"
    onboot, mode = _onboot(doc, d)
    dhcp, dhcp_node = defs.boolean(name, body, "dhcp4", where)
    addresses = defs.addresses(name, body, where)
    routes = defs.default_routes(name, body, where)
    gw_node, gateway4 = defs.gateway4(name, body, where)
    ns, servers = defs.nameservers(name, body, where)
    if want_dhcp and (points := defs.access_points(name, body, where)):
        raise fail(name, where, f"is an access point ({points[0]!r}, mode: ap): NetworkManager shares the "
                   "connection (method=shared) and takes no DHCP lease on it", d.line)
    if not cfg.onboot and onboot:
        raise fail(name, where, "netplan's not-onboot is activation-mode: manual (netplan 0.103+), which labkit "
                   "writes only where the definition already has it", d.line)
    keys = edit.key_list(body)
    if cfg.onboot and mode is not None:
        ed.drop(body, keys.index("activation-mode"))

    if (dhcp or False) != want_dhcp:
        if dhcp_node is not None:
            ed.replace(dhcp_node, edit.spelled(text_of(dhcp_node) or "", want_dhcp))
        else:  # before the static keys it replaces, as the installers order them
            at = min((keys.index(k) for k in ("addresses", "gateway4", "routes", "nameservers") if k in keys),
                     default=None)
            ed.add(body, want_dhcp, key="dhcp4", before=at)

    edit.addresses(ed, body, keys, addresses, cfg)
    edit.gateway(doc, ed, body, keys, routes, gw_node, gateway4, cfg)
    edit.dns(ed, body, keys, ns, servers, cfg)
