"""Ubuntu netplan YAML (`/etc/netplan/*.yaml`, 18.04+): parse, edit, render. Pure: text in, text out.

The file is loaded with ruamel.yaml's round-trip mode, so comments, key order, flow/block style and
quoting survive, and edited only where labkit owns a value. The indentation is measured from the file
(mapping indent, and where a block sequence puts its dash and its item relative to the parent key)
and given back to ruamel, so an unedited file renders byte-identical, and an edited one changes only
the lines of the values that moved. What ruamel cannot give back byte-identical (`test_netplan.py`
holds one example of each, and checks that the meaning survives):
- a file mixing indentations (mappings indented 2 here and 4 there, or two sequence styles): every
  line takes the most common style. PyYAML's indent=4 output, which cloud-init writes for static
  configurations, is such a file: `- 10.0.0.5/24` but `-   to: default`; ruamel writes both `- `;
- a `---` line is kept, but a comment *before* it moves after it; a `...` end marker is dropped;
- blanks beyond one between a key's colon and its value (`key:  {}`) shrink to one;
- CRLF line ends become LF. (A comment-only or empty file has nothing to load and renders as it is.)
A file without a final newline stays without one.

Names. An entry under a device section (`ethernets`, `bonds`, `bridges`, `vlans`, `wifis`, ...) is a
netplan ID. For a virtual device, or a physical one (`ethernets`/`wifis`/`modems`) with no `match`,
the ID is the interface name. A `match` makes the ID a mere label: the interface is `set-name` when
given (cloud-init writes `eth0: {match: {macaddress: ...}, set-name: eth0}`), else `match.name` when
that is a literal name (NetworkManager's `NM-<uuid>: {match: {name: enp1s0}}`). A `match` that is a
name pattern (`en*`) or a MAC/driver without set-name may or may not be the interface: labkit cannot
tell from the file, so read_config and apply_config refuse, rather than edit a definition that also
configures other devices or add a second one that netplan would merge with it. An interface listed
in a bond's or bridge's `interfaces` is refused too: its addresses belong to the bond or bridge.

Owned keys of the interface's definition (everything else, including other definitions, search
domains, match blocks, IPv6 settings, `optional`, `dhcp6`, `dhcp4-overrides`, stays as it is):
- `dhcp4`: read as netplan reads a boolean (true/on/yes/y, false/off/no/n, any case; absent = false).
  Rewritten only when its meaning changes, in the file's spelling (`yes` becomes `no`); absent under
  static stays absent (the Ubuntu installer writes no `dhcp4` for a static interface);
- `addresses`, IPv4 entries only (`A/P` strings, or newer netplan's `A/P: {label: ...}` mappings).
  Static: exactly cfg.address, in place of the first IPv4 entry; dhcp: none (netplan would configure
  a static address next to the lease). IPv6 entries stay where they are;
- the IPv4 default route: `gateway4` (deprecated since netplan 0.103, still read) or a `routes` entry
  with `to: default` or `to: 0.0.0.0/0` and an IPv4 `via` (entries with `table`, `from`, `type` or
  `scope` are policy routes, not the default route, and are left alone). The file's style is kept:
  `gateway4` is updated if used, else the route's `via` (its `metric`, `on-link` stay); a new route
  is written `to: 0.0.0.0/0`, which every netplan reads (`to: default` came with 0.103), unless the
  file already says `to: default`. A gateway under dhcp is honoured by netplan, so it is written and
  read in both modes;
- `nameservers.addresses`, IPv4 entries: exactly cfg.dns in both modes (netplan adds them to the
  lease's under dhcp); IPv6 entries follow them; `search` stays. Emptied lists and mappings are
  removed.
Applying a file's own configuration changes nothing. apply_config refuses to edit through a YAML
anchor, alias or merge key (the edit would reach every definition sharing the node). read_config refuses what InterfaceConfig cannot
say: dhcp4 with static IPv4 addresses, several IPv4 addresses or default routes, no IPv4 at all,
`activation-mode`; and both functions refuse a NetworkManager `networkmanager.passthrough` holding
ipv4.method/addresses/gateway/dns/routes, which NetworkManager applies over netplan's own keys.

onboot: netplan has no such setting. Every definition is brought up; `optional: true` only stops
boot from waiting for it, and `activation-mode: manual|off` (recent netplan only) is a
different thing. read_config reports onboot=True, and apply_config *raises* GuestConfigError for
onboot=False rather than drop it silently: the caller asked for something this guest cannot do.

Files. netplan reads /lib, /etc and /run/netplan/*.yaml in the lexical order of their basenames (a
/run file shadows an /etc one of the same basename, which shadows /lib), merging definitions with the
same ID, later files winning. find_file picks the one file that defines an interface; an interface
defined in several files is refused (one file's edit cannot say what the merge means). A new
interface goes to path_for()'s /etc/netplan/01-netcfg.yaml. Written files should be mode 0600
(netplan 0.106+ warns about readable ones). cloud-init regenerates 50-cloud-init.yaml on some
datasources unless its network configuration is disabled, as that file's header says.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterator
from fnmatch import fnmatchcase
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface, ip_address
from pathlib import PurePosixPath
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import ScalarString

from labkit.errors import GuestConfigError
from labkit.netconfig import InterfaceConfig

DEFAULT_PATH = "/etc/netplan/01-netcfg.yaml"
_IFNAME = re.compile(r"[A-Za-z0-9_.:@-]{1,15}")
_PHYSICAL = ("ethernets", "wifis", "modems")
_SECTIONS = ("ethernets", "wifis", "modems", "bonds", "bridges", "vlans", "tunnels", "vrfs",
             "dummy-devices", "virtual-ethernets")
_TRUE, _FALSE = ("true", "on", "yes", "y"), ("false", "off", "no", "n")
_DEFAULT_TO = ("default", "0.0.0.0/0")
_POLICY = ("table", "from", "type", "scope")
_PREFIX = re.compile(r"[0-9]{1,3}")
_NM_OWNED = re.compile(r"ipv4\.(?:method|gateway|dns|addresses|address[0-9]+|routes?[0-9]*|never-default)")
_DIRS = {"/lib/netplan": 0, "/etc/netplan": 1, "/run/netplan": 2}


class NetplanDoc:
    """One netplan file: its ruamel round-trip tree (None for an empty or comment-only file)."""

    def __init__(self, text: str, name: str, data: CommentedMap | None, yaml: YAML) -> None:
        self.text = text
        self.name = name
        self.data = data
        self._yaml = yaml
        self._created = False  # data was built by apply_config on an empty or comment-only file

    def render(self) -> str:
        if self.data is None:
            return self.text
        out = io.StringIO()
        self._yaml.dump(self.data, out)
        body = out.getvalue()
        if self._created:
            head = self.text if not self.text or self.text.endswith("\n") else self.text + "\n"
            return head + body
        return body if self.text.endswith("\n") else body.removesuffix("\n")


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096  # never fold a long line that was not folded
    return y


def _indents(data: Any) -> tuple[int, int, int]:
    """(mapping, sequence, offset) as ruamel's YAML.indent takes them, the most common in the file."""
    maps: Counter[int] = Counter()
    seqs: Counter[tuple[int, int]] = Counter()

    def walk(node: Any) -> None:
        if isinstance(node, CommentedMap) and not node.fa.flow_style():
            for key, value in node.items():
                kpos = node.lc.key(key)  # None for a key that came in through a merge (<<)
                if kpos is None:
                    continue
                if isinstance(value, CommentedMap) and value and not value.fa.flow_style():
                    pos = value.lc.key(next(iter(value)))
                    if pos is not None and pos[0] > kpos[0]:
                        maps[pos[1] - kpos[1]] += 1
                elif isinstance(value, CommentedSeq) and value and not value.fa.flow_style():
                    dash, pos = node.lc.value(key), value.lc.item(0)
                    if dash is not None and pos is not None and dash[0] > kpos[0] and pos[0] == dash[0]:
                        seqs[(pos[1] - kpos[1], dash[1] - kpos[1])] += 1
                walk(value)
        elif isinstance(node, CommentedSeq) and not node.fa.flow_style():
            for item in node:
                walk(item)

    walk(data)
    mapping = maps.most_common(1)[0][0] if maps else 2
    sequence, offset = seqs.most_common(1)[0][0] if seqs else (2, 0)
    return max(mapping, 1), max(sequence, offset + 2), max(offset, 0)


def _fail(doc: NetplanDoc, where: str, message: str, line: int | None = None) -> GuestConfigError:
    at = doc.name if line is None else f"{doc.name}:{line}"
    return GuestConfigError(f"{at}: {where}: {message}" if where else f"{at}: {message}")


def _line(node: Any, key: Any) -> int | None:
    """1-based line of node[key] (a mapping key or a sequence index), None for what labkit added."""
    try:
        return (node.lc.key(key) if isinstance(node, CommentedMap) else node.lc.item(key))[0] + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return None


def parse(text: str, name: str = DEFAULT_PATH) -> NetplanDoc:
    """Load one netplan file; GuestConfigError `name:line: reason` for YAML netplan would not read."""
    y = _yaml()
    try:
        data = y.load(text)
    except YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        raise GuestConfigError(f"{where}: {problem}") from None
    doc = NetplanDoc(text, name, data, y)
    if data is None:
        return doc
    if not isinstance(data, CommentedMap):
        raise _fail(doc, "", "the top level is not a mapping", 1)
    net = data.get("network")
    if "network" in data and not isinstance(net, CommentedMap):
        raise _fail(doc, "network", "is not a mapping", _line(data, "network"))
    for section in _SECTIONS if net is not None else ():
        defs = net.get(section)
        if section in net and not isinstance(defs, CommentedMap):
            raise _fail(doc, f"network.{section}", "is not a mapping", _line(net, section))
        for key, body in (defs or {}).items():
            if not isinstance(body, CommentedMap):
                raise _fail(doc, f"network.{section}.{key}", "is not a mapping", _line(defs, key))
    mapping, sequence, offset = _indents(data)
    y.indent(mapping=mapping, sequence=sequence, offset=offset)
    y.explicit_start = re.match(r"(?:[ \t]*(?:#[^\n]*)?\n)*---[ \t]*(?:#[^\n]*)?(?:\n|$)", text) is not None
    return doc


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


# ---------------------------------------------------------------- finding the definition

def _defs(doc: NetplanDoc) -> Iterator[tuple[str, str, CommentedMap]]:
    net = doc.data.get("network") if doc.data is not None else None
    if net is None:
        return
    for section in _SECTIONS:
        for key, body in (net.get(section) or {}).items():
            yield section, str(key), body


def _section(doc: NetplanDoc, section: str) -> CommentedMap:
    """network.<section> of a document a definition was found in (so it has data and that section)."""
    assert doc.data is not None, "a definition was found, so the file is not empty"
    return doc.data["network"][section]


def _names(section: str, key: str, body: CommentedMap, interface: str) -> str:
    """Whether the definition is `interface`: "yes", "no", or why labkit cannot tell."""
    match = body.get("match") if section in _PHYSICAL else None
    if match is None:
        return "yes" if key == interface else "no"
    if "set-name" in body:
        return "yes" if str(body["set-name"]) == interface else "no"
    pattern = match.get("name") if isinstance(match, CommentedMap) else None
    if pattern is not None and not fnmatchcase(interface, str(pattern)):
        return "no"
    if pattern is not None and str(pattern) == interface:
        return "yes"
    if pattern is not None:
        return f"matches {interface} by the name pattern {str(pattern)!r}, and editing it would change " \
               "every interface that pattern matches"
    keys = ", ".join(map(str, match)) if isinstance(match, CommentedMap) else repr(match)
    return f"matches devices by {keys or 'nothing'} without a set-name, " \
           f"so the file does not say whether it is {interface}"


def _find(doc: NetplanDoc, interface: str) -> tuple[str, str, CommentedMap] | None:
    yes, maybe = [], []
    for section, key, body in _defs(doc):
        verdict = _names(section, key, body, interface)
        if verdict == "yes":
            yes.append((section, key, body))
        elif verdict != "no":
            maybe.append((section, key, body, verdict))
    if len(yes) > 1:
        raise _fail(doc, interface, "defined more than once: "
                    + ", ".join(f"network.{s}.{k}" for s, k, _ in yes))
    if not yes and maybe:
        section, key, body, why = maybe[0]
        raise _fail(doc, f"network.{section}.{key}", why, _line(_section(doc, section), key))
    if not yes:
        return None
    section, key, body = yes[0]
    _not_a_member(doc, key, f"network.{section}.{key}", _line(_section(doc, section), key))
    return yes[0]


def _not_a_member(doc: NetplanDoc, key: str, where: str, line: int | None) -> None:
    net = doc.data.get("network") if doc.data is not None else None
    for kind in ("bonds", "bridges"):
        for parent, pbody in ((net or {}).get(kind) or {}).items():
            members = pbody.get("interfaces")
            if isinstance(members, list) and key in map(str, members):
                raise _fail(doc, where, f"is a member of network.{kind}.{parent}: "
                            f"its IP configuration belongs to {parent}", line)


def _no_nm_override(doc: NetplanDoc, body: CommentedMap, where: str) -> None:
    """NetworkManager applies `networkmanager.passthrough` after netplan's own keys: an ipv4 setting
    there would override what labkit writes."""
    nm = body.get("networkmanager")
    passthrough = nm.get("passthrough") if isinstance(nm, CommentedMap) else None
    for key in passthrough if isinstance(passthrough, CommentedMap) else ():
        if _NM_OWNED.fullmatch(str(key)):
            raise _fail(doc, f"{where}.networkmanager.passthrough.{key}", "overrides netplan's IPv4 "
                        "settings in NetworkManager; labkit cannot describe or edit it", _line(passthrough, key))


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
             if _find(parse(files[path], path), interface) is not None]
    if len(found) > 1:
        raise GuestConfigError(f"{interface}: defined in {', '.join(found)}; netplan merges them, and "
                               "labkit edits one file: keep the definition in one of them")
    return found[0] if found else None


# ---------------------------------------------------------------- values

def _bool(doc: NetplanDoc, body: CommentedMap, key: str, where: str) -> bool | None:
    if key not in body:
        return None
    value = body[key]
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
        return value.lower() in _TRUE
    raise _fail(doc, f"{where}.{key}", f"{value!r} is not a boolean", _line(body, key))


def _spelled(old: Any, want: bool) -> Any:
    """`want` in the spelling of the value it replaces: yes -> no, On -> Off, 'true' -> 'false'."""
    if not isinstance(old, str):
        return want
    word = (_TRUE if want else _FALSE)[(_TRUE + _FALSE).index(old.lower()) % 4]
    word = word.upper() if old.isupper() else word.capitalize() if old[:1].isupper() else word
    return type(old)(word) if isinstance(old, ScalarString) else word


def _address_text(entry: Any) -> Any:
    if isinstance(entry, CommentedMap) and len(entry) == 1:  # `- 10.0.0.5/24: {label: ...}`
        return next(iter(entry))
    return entry


def _addresses(doc: NetplanDoc, body: CommentedMap, where: str) -> list[tuple[int, IPv4Interface | None]]:
    """(index, IPv4 address) of each entry; None for an IPv6 one."""
    seq = body.get("addresses")
    if seq is None:
        return []
    if not isinstance(seq, list):
        raise _fail(doc, f"{where}.addresses", "is not a list", _line(body, "addresses"))
    out: list[tuple[int, IPv4Interface | None]] = []
    for i, entry in enumerate(seq):
        text = _address_text(entry)
        addr, _, prefix = str(text).partition("/")
        try:
            if not isinstance(text, str) or not _PREFIX.fullmatch(prefix):
                raise ValueError
            if ":" in addr:
                IPv6Interface(str(text))
                out.append((i, None))
            else:
                out.append((i, IPv4Interface(str(text))))
        except ValueError:
            raise _fail(doc, f"{where}.addresses[{i}]", f"{text!r} is not an address/prefix",
                        _line(seq, i)) from None
    return out


def _routes(doc: NetplanDoc, body: CommentedMap, where: str) -> list[tuple[int, IPv4Address]]:
    """(index, gateway) of each routes entry that is the IPv4 default route of the main table."""
    seq = body.get("routes")
    if seq is None:
        return []
    if not isinstance(seq, list):
        raise _fail(doc, f"{where}.routes", "is not a list", _line(body, "routes"))
    out = []
    for i, route in enumerate(seq):
        if not isinstance(route, CommentedMap):
            raise _fail(doc, f"{where}.routes[{i}]", "is not a mapping", _line(seq, i))
        to = str(route.get("to", "")).strip()
        if to not in _DEFAULT_TO or "via" not in route or any(k in route for k in _POLICY):
            continue
        via = str(route["via"])
        try:
            out.append((i, IPv4Address(via)))
        except ValueError:
            if to == "default" and _is_ipv6(via):
                continue  # IPv6's default route
            raise _fail(doc, f"{where}.routes[{i}].via", f"{via!r} is not an IPv4 address",
                        _line(route, "via")) from None
    return out


def _is_ipv6(text: str) -> bool:
    try:
        return isinstance(ip_address(text), IPv6Address)
    except ValueError:
        return False


def _gateways(doc: NetplanDoc, body: CommentedMap, where: str) -> list[IPv4Address]:
    found = [gw for _, gw in _routes(doc, body, where)]
    if "gateway4" in body:
        try:
            found.insert(0, IPv4Address(str(body["gateway4"])))
        except ValueError:
            raise _fail(doc, f"{where}.gateway4", f"{body['gateway4']!r} is not an IPv4 address",
                        _line(body, "gateway4")) from None
    return found


def _nameservers(doc: NetplanDoc, body: CommentedMap, where: str) -> tuple[CommentedMap | None, list[Any]]:
    ns = body.get("nameservers")
    if ns is None:
        return None, []
    if not isinstance(ns, CommentedMap):
        raise _fail(doc, f"{where}.nameservers", "is not a mapping", _line(body, "nameservers"))
    seq = ns.get("addresses")
    if seq is None:
        return ns, []
    if not isinstance(seq, list):
        raise _fail(doc, f"{where}.nameservers.addresses", "is not a list", _line(ns, "addresses"))
    for i, entry in enumerate(seq):
        try:
            ip_address(str(entry))
        except ValueError:
            raise _fail(doc, f"{where}.nameservers.addresses[{i}]", f"{entry!r} is not an IP address",
                        _line(seq, i)) from None
    return ns, list(seq)


def _v4(entry: Any) -> IPv4Address | None:
    address = ip_address(str(entry))
    return address if isinstance(address, IPv4Address) else None


# ---------------------------------------------------------------- read and apply

def _definition(doc: NetplanDoc, interface: str) -> tuple[CommentedMap, str]:
    _check_name(interface)
    found = _find(doc, interface)
    if found is None:
        _not_a_member(doc, interface, interface, None)
        raise _fail(doc, interface, "is not defined in this file")
    section, key, body = found
    return body, f"network.{section}.{key}"


def read_config(doc: NetplanDoc, interface: str) -> InterfaceConfig:
    """The interface's IPv4 configuration; GuestConfigError says what labkit cannot represent, and where."""
    body, where = _definition(doc, interface)
    if "activation-mode" in body:
        raise _fail(doc, f"{where}.activation-mode", "is not supported (labkit's onboot cannot say it)",
                    _line(body, "activation-mode"))
    _no_nm_override(doc, body, where)
    dhcp = _bool(doc, body, "dhcp4", where) or False
    addresses = [a for _, a in _addresses(doc, body, where) if a is not None]
    gateways = list(dict.fromkeys(_gateways(doc, body, where)))
    dns = tuple(a for a in map(_v4, _nameservers(doc, body, where)[1]) if a is not None)
    _, section, key = where.split(".", 2)
    line = _line(_section(doc, section), key)
    if len(gateways) > 1:
        raise _fail(doc, where, f"has several IPv4 default routes ({', '.join(map(str, gateways))})", line)
    gateway = gateways[0] if gateways else None
    if dhcp and addresses:
        raise _fail(doc, where, "has dhcp4 and static IPv4 addresses together", line)
    if dhcp:
        return InterfaceConfig("dhcp", gateway=gateway, dns=dns)
    if not addresses:
        raise _fail(doc, where, "has neither dhcp4 nor an IPv4 address: no IPv4 configuration "
                    "labkit can describe", line)
    if len(addresses) > 1:
        raise _fail(doc, where, f"has {len(addresses)} IPv4 addresses "
                    f"({', '.join(map(str, addresses))}); labkit describes one", line)
    try:
        return InterfaceConfig("static", addresses[0], gateway, dns)
    except ValueError as e:
        raise _fail(doc, where, str(e), line) from None


def _drop(seq: CommentedSeq, indices: list[int]) -> None:
    for i in sorted(indices, reverse=True):
        del seq[i]


def _unshared(doc: NetplanDoc, body: CommentedMap, where: str) -> None:
    """Refuse to edit through YAML anchors, aliases or merge keys: the change would reach every user."""
    if len(getattr(body, "merge", ())):
        raise _fail(doc, where, "uses a YAML merge key (<<); labkit will not edit a shared definition")
    ns = body.get("nameservers")
    nodes = [(where, body)] + [(f"{where}.{k}", body.get(k)) for k in ("addresses", "routes", "nameservers")]
    nodes += [(f"{where}.routes[{i}]", r) for i, r in enumerate(body.get("routes") or ())]
    nodes += [(f"{where}.nameservers.addresses", ns.get("addresses"))] if isinstance(ns, CommentedMap) else []
    for path, node in nodes:
        anchor = getattr(getattr(node, "anchor", None), "value", None)
        if anchor is not None:
            raise _fail(doc, path, f"is shared through the YAML anchor &{anchor}; labkit will not edit "
                        "what other definitions refer to")


def _new_interface(doc: NetplanDoc, interface: str, dhcp: bool) -> CommentedMap:
    if doc.data is None:
        doc.data = CommentedMap()
        doc._created = True
    net = doc.data.get("network")
    if net is None:
        net = doc.data["network"] = CommentedMap([("version", 2)])
    if net.get("ethernets") is None:
        net["ethernets"] = CommentedMap()
    body = net["ethernets"][interface] = CommentedMap([("dhcp4", dhcp)])
    return body


def apply_config(doc: NetplanDoc, interface: str, cfg: InterfaceConfig) -> None:
    """Edit doc in place so the interface is configured as cfg; the module docstring says what moves."""
    _check_name(interface)
    if not cfg.onboot:
        raise GuestConfigError(f"{doc.name}: {interface}: netplan has no onboot setting (every definition "
                               "is brought up; optional: true only stops boot from waiting for it)")
    want_dhcp = cfg.mode == "dhcp"
    found = _find(doc, interface)
    if found is None:
        _not_a_member(doc, interface, interface, None)
        body, where = _new_interface(doc, interface, want_dhcp), f"network.ethernets.{interface}"
    else:
        body, where = found[2], f"network.{found[0]}.{found[1]}"
        _no_nm_override(doc, body, where)
    # validate everything before the first change, so a refused file is left untouched
    _unshared(doc, body, where)
    dhcp = _bool(doc, body, "dhcp4", where)
    addresses = _addresses(doc, body, where)
    routes = _routes(doc, body, where)
    gateways = _gateways(doc, body, where)
    ns, servers = _nameservers(doc, body, where)

    if (dhcp or False) != want_dhcp:
        if "dhcp4" in body:
            body["dhcp4"] = _spelled(body["dhcp4"], want_dhcp)
        else:  # before the static keys it replaces, as the installers order them
            keys = list(body)
            at = min((keys.index(k) for k in ("addresses", "gateway4", "routes", "nameservers") if k in body),
                     default=len(keys))
            body.insert(at, "dhcp4", want_dhcp)

    v4 = [(i, a) for i, a in addresses if a is not None]
    wanted = [cfg.address] if cfg.mode == "static" and cfg.address is not None else []
    if [a for _, a in v4] != wanted:
        seq = body.get("addresses")
        if seq is None and wanted:
            seq = body["addresses"] = CommentedSeq()
        at = v4[0][0] if v4 else 0
        _drop(seq, [i for i, _ in v4])
        for address in reversed(wanted):
            seq.insert(at, str(address))
        if not seq:
            del body["addresses"]

    if set(gateways) != ({cfg.gateway} if cfg.gateway is not None else set()):
        seq = body.get("routes")
        if cfg.gateway is None or "gateway4" in body:  # gateway4 (or nothing) says it: drop the routes
            if cfg.gateway is None:
                body.pop("gateway4", None)
            else:
                body["gateway4"] = str(cfg.gateway)
            if seq is not None:
                _drop(seq, [i for i, _ in routes])
        elif routes:
            seq[routes[0][0]]["via"] = str(cfg.gateway)
            _drop(seq, [i for i, _ in routes[1:]])
        else:
            if seq is None:
                seq = body["routes"] = CommentedSeq()
            seq.append(CommentedMap([("to", _default_spelling(doc)), ("via", str(cfg.gateway))]))
        if seq is not None and not seq and "routes" in body:
            del body["routes"]

    old_v4 = [a for a in map(_v4, servers) if a is not None]
    if old_v4 != list(cfg.dns):
        new = [str(a) for a in cfg.dns] + [s for s in servers if _v4(s) is None]
        seq = ns.get("addresses") if ns is not None else None
        if seq is not None:
            del seq[:]
            seq.extend(new)
        elif new:
            if ns is None:
                ns = body["nameservers"] = CommentedMap()
            ns["addresses"] = CommentedSeq(new)
        if ns is not None and not new:
            ns.pop("addresses", None)
            if not ns:
                del body["nameservers"]


def _default_spelling(doc: NetplanDoc) -> str:
    """`default` if the file already writes it (so its netplan knows it), else the portable 0.0.0.0/0."""
    for _, _, body in _defs(doc):
        routes = body.get("routes")
        if isinstance(routes, list) and any(isinstance(r, CommentedMap) and str(r.get("to")) == "default"
                                            for r in routes):
            return "default"
    return "0.0.0.0/0"
