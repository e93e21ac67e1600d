"""Debian's `/etc/network/interfaces` (ifupdown, interfaces(5)): parse, edit, render. Pure: text in, text out.

Reading follows ifupdown's own reader (config.c, 0.8): a line whose first non-blank character is `#`
is a comment (even inside a stanza, even ending in a backslash); any other line ending in a backslash
is joined with the next one; blanks are C's isspace. The first word of a logical line is either a
stanza keyword (`iface`, `mapping`, `auto`, `allow-*`, `source`, `source-dir*`, `no-auto-down`,
`no-scripts`) or the name of an option of the `iface`/`mapping` stanza above it; the option's value
is the rest of the line, blanks trimmed. There is no quoting and no trailing comment: `address
10.0.0.1 # lab` is the value `10.0.0.1 # lab`, which read_config refuses. What ifupdown itself
refuses (an option outside any stanza or after an `auto`/`source` line, an option without a value,
an `iface` line without a name or an address family) makes `parse` raise GuestConfigError at that
line, since ifupdown would not bring up anything from such a file. Every line, blank and comment
is kept; an unedited file renders byte-identical (CRLF, missing final newline, continuations too).

What labkit owns, for `iface IF inet METHOD` only (inet6 and other families are never touched):
- the METHOD word: dhcp or static. read_config refuses any other (loopback, manual, bootp, ppp...),
  naming it; apply_config replaces it;
- the options `address`, `netmask`, `gateway` and resolvconf's `dns-nameservers`. Every other option
  (mtu, hwaddress, pre-up/post-up, bridge_ports, dns-search, metric...) and comment stays as it is;
- onboot: the interface named on an `auto` (or its synonym `allow-auto`) or `allow-hotplug` line.
  allow-hotplug counts as onboot because ifupdown brings such an interface up as soon as the kernel
  reports it, which for a VM's NIC is at boot (it is what the Debian installer writes). onboot=False
  removes the name from all three kinds of line (a line left empty goes); onboot=True adds
  `auto IF` just above the stanza when neither names it. Note that `auto IF` also brings up the
  interface's inet6 stanza: onboot=False stops that too. Only this file is looked at.

Reading: `address A/P`, or `address A` with `netmask M` (dotted quad or prefix length). When both
give a prefix, the netmask wins, as in ifupdown (its `compute_v4_mask =netmask?` only fills netmask in
from the address when netmask is unset). `address A` alone is refused: ifupdown 0.8 adds it as /32,
older versions refuse the stanza, and labkit does not guess. `dns-nameservers` may span several
lines (ifupdown joins repeated options, resolvconf splits them on blanks); its IPv6 servers are
skipped. A repeated address, netmask or gateway is refused (ifupdown would join them into one
multi-line value), so is resolvconf's singular `dns-nameserver`, which labkit does not edit. Under
dhcp, address/netmask/gateway are not read.

apply_config, as a Debian user expects it:
- static: method static; `address A/P`, unless the stanza uses `netmask`, whose style is then kept
  (`address A` plus `netmask` as a dotted quad or a prefix length, whichever the file used); gateway
  set or removed for None; dns-nameservers exactly cfg.dns (removed when empty). A dotted-quad
  `broadcast` or `network` is recomputed for the new address, since ifupdown would otherwise pass the
  stale one to `ip addr add` (`+`, `-` and the rest stay);
- dhcp: method dhcp; address, netmask and gateway are removed: ifupdown's dhcp method ignores them
  (dhclient asks the server for everything), so keeping them would only make the file lie about the
  running configuration. dns-nameservers stays only when cfg.dns is given, and is then cfg.dns;
- IPv6 servers found in dns-nameservers are kept, after cfg.dns, in both modes;
- a value already meaning the wanted one is not rewritten, so applying a file's own configuration
  changes nothing. New option lines go after the owned options that precede them in the order
  address, netmask, gateway, dns-nameservers (else right under the `iface` line), indented like the
  stanza's first option (else the file's, else a tab, as the Debian installer writes);
- an interface without a stanza gets one appended: a blank line, `auto IF` when onboot, then
  `iface IF inet METHOD` and its options. If the file has `source` lines, the interface may be
  defined in an included file, and the new stanza would then be a second one: read_config names
  those lines, so call it first;
- refused, for read_config and apply_config alike: several `iface IF inet` stanzas (ifupdown
  configures them all), `inherits` or extra words on the iface line, and an interface a `mapping`
  stanza matches (ifup then configures whatever logical interface the mapping script picks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from ipaddress import IPv4Address, IPv4Interface, IPv6Address

from labkit.errors import GuestConfigError
from labkit.netconfig import InterfaceConfig

PATH = "/etc/network/interfaces"

_WS = " \t\n\v\f\r"  # C's isspace in the C locale: what ifupdown splits and trims on
_SPLIT = re.compile(r"[ \t\n\v\f\r]+")
_OPTION = re.compile(r"([^ \t\n\v\f\r]+)[ \t\n\v\f\r]*(.*)", re.S)
_LEAD = re.compile(r"[ \t\n\v\f\r]*")
_KEY_SEP = re.compile(r"([ \t\v\f]*)([^ \t\n\v\f\r]+)([ \t\v\f]+)")
_METHOD = re.compile(r"([ \t\v\f]*iface[ \t\v\f]+[^ \t\v\f\r]+[ \t\v\f]+inet[ \t\v\f]+)([^ \t\v\f\r]+)(.*)", re.S)
_IFNAME = re.compile(r"[A-Za-z0-9_.:@][A-Za-z0-9_.:@-]{0,14}")
_FAMILIES = frozenset({"inet", "inet6", "ipx", "can", "link", "meta"})
_OWNED = ("address", "netmask", "gateway", "dns-nameservers")
_ONBOOT = frozenset({"auto", "allow-auto", "allow-hotplug"})
_ADDRESS = re.compile(r"([0-9.]+)(?:/([0-9]{1,2}))?")


@dataclass(slots=True, eq=False)
class _Stmt:
    """One logical line: its physical lines (verbatim, without "\\n") and, unless blank or comment, its words."""

    lines: list[str]
    words: list[str] = field(default_factory=list)
    value: str = ""  # for an option line: the text after its name, as ifupdown reads it

    @property
    def key(self) -> str | None:
        return self.words[0] if self.words else None

    @property
    def eol(self) -> str:
        return "\r" if self.lines[-1].endswith("\r") else ""


def _stmt(lines: list[str]) -> _Stmt:
    first = lines[0].lstrip(_WS)
    if first.startswith("#"):
        return _Stmt(lines)
    logical = "".join(line[:-1] if n < len(lines) - 1 or line.endswith("\\") else line
                      for n, line in enumerate(lines)).strip(_WS)
    m = _OPTION.fullmatch(logical)
    if m is None:
        return _Stmt(lines)
    return _Stmt(lines, [m.group(1), *_SPLIT.split(m.group(2))] if m.group(2) else [m.group(1)], m.group(2))


def _keyword(key: str) -> bool:
    return (key in ("iface", "mapping", "auto", "source", "no-auto-down", "no-scripts")
            or key.startswith("source-dir") or (key.startswith("allow-") and len(key) > 6))


class InterfacesFile:
    """/etc/network/interfaces as logical lines; only the lines labkit edits ever change."""

    def __init__(self, stmts: list[_Stmt], name: str) -> None:
        self._stmts = stmts
        self.name = name
        self._owners()

    def line_of(self, index: int) -> int:
        return 1 + sum(len(s.lines) for s in self._stmts[:index])

    def where(self, index: int) -> str:
        key = self._stmts[index].key
        return f"{self.name}:{self.line_of(index)}: {key}"

    def _owners(self) -> list[int | None]:
        """For each statement, the index of the iface/mapping stanza it is an option of; raises as ifupdown does."""
        owners: list[int | None] = []
        current: int | None = None
        for n, s in enumerate(self._stmts):
            key = s.key
            owners.append(None)
            if key is None:
                continue
            if _keyword(key):
                current = n if key in ("iface", "mapping") else None
                if key == "iface" and (len(s.words) < 3 or (len(s.words) < 4 and s.words[2] in _FAMILIES)):
                    raise GuestConfigError(f"{self.where(n)}: an iface line needs a name, an address family "
                                           "and a method (ifupdown refuses the file)")
            elif current is None:
                raise GuestConfigError(f"{self.where(n)}: option outside an iface stanza "
                                       "(ifupdown refuses the file: misplaced option)")
            elif not s.value:
                raise GuestConfigError(f"{self.where(n)}: option without a value (ifupdown refuses the file)")
            else:
                owners[n] = current
        return owners

    def render(self) -> str:
        return "\n".join(line for s in self._stmts for line in s.lines)


def parse(text: str, name: str = PATH) -> InterfacesFile:
    """Read the file as ifupdown does; GuestConfigError `name:line: word: reason` where ifupdown would refuse it."""
    if "\0" in text:
        raise GuestConfigError(f"{name}: holds a NUL character")
    physical = text.split("\n")
    stmts: list[_Stmt] = []
    i = 0
    while i < len(physical):
        group = [physical[i]]
        i += 1
        if not group[0].lstrip(_WS).startswith("#"):
            while group[-1].endswith("\\") and i < len(physical):
                group.append(physical[i])
                i += 1
        stmts.append(_stmt(group))
    return InterfacesFile(stmts, name)


def render(doc: InterfacesFile) -> str:
    return doc.render()


def path_for(interface: str) -> str:
    """Every interface lives in the one file (included files are never written by labkit)."""
    _check_name(interface)
    return PATH


def restart_command(interface: str) -> str:
    """ifdown then ifup, `;` so that ifup runs even when ifupdown did not bring the interface up.

    Pitfall: ifdown deconfigures what the file says *now* (`ip addr del` of the file's address, the
    dhcp method's `dhclient -r`), not what is running. When the file was already rewritten (dhcp ->
    static, or a new address), ifdown leaves the old DHCP client or address behind. So between the
    two, the restart also releases any dhclient of the interface and flushes its IPv4 addresses:
    whatever the file said before, ifup then starts from a clean interface."""
    _check_name(interface)
    return (f"ifdown {interface}; dhclient -4 -r -pf /run/dhclient.{interface}.pid {interface} 2>/dev/null; "
            f"ip -4 addr flush dev {interface}; ifup {interface}")


def _check_name(interface: str) -> None:
    # A leading '-' would be read as an option by ifup/ifdown.
    if not isinstance(interface, str) or not _IFNAME.fullmatch(interface):
        raise GuestConfigError(f"{interface!r} is not an interface name labkit accepts "
                               "([A-Za-z0-9_.:@-], 1-15 characters, not starting with '-')")


# ---------------------------------------------------------------- finding the stanza

def _stanza(doc: InterfacesFile, interface: str) -> int | None:
    """The index of the one `iface IF inet METHOD` line, None if there is none; raises what labkit cannot edit."""
    found = [n for n, s in enumerate(doc._stmts)
             if s.key == "iface" and s.words[1] == interface and s.words[2] in ("inet", "inherits")]
    if len(found) > 1:
        lines = ", ".join(str(doc.line_of(n)) for n in found)
        raise GuestConfigError(f"{doc.name}: {interface} has {len(found)} inet stanzas (lines {lines}): "
                               "ifupdown configures them all, labkit describes one")
    for n, s in enumerate(doc._stmts):
        if s.key == "mapping" and any(fnmatchcase(interface, p) for p in s.words[1:]):
            raise GuestConfigError(f"{doc.where(n)}: {interface} is mapped: ifup configures the logical "
                                   "interface the mapping script picks, which labkit cannot follow")
    if found and (len(doc._stmts[found[0]].words) != 4 or doc._stmts[found[0]].words[2] != "inet"):
        raise GuestConfigError(f"{doc.where(found[0])}: extra words or 'inherits' on the iface line: "
                               "labkit edits only `iface IF inet METHOD`")
    return found[0] if found else None


def _options(doc: InterfacesFile, at: int) -> dict[str, list[int]]:
    opts: dict[str, list[int]] = {}
    for n, owner in enumerate(doc._owners()):
        if owner == at:
            opts.setdefault(doc._stmts[n].key or "", []).append(n)
    return opts


def _onboot_lines(doc: InterfacesFile, interface: str) -> list[int]:
    return [n for n, s in enumerate(doc._stmts) if s.key in _ONBOOT and interface in s.words[1:]]


# ---------------------------------------------------------------- reading

def _ipv4(doc: InterfacesFile, n: int, text: str) -> IPv4Address:
    try:
        return IPv4Address(text)
    except ValueError:
        raise GuestConfigError(f"{doc.where(n)}: {text!r} is not an IPv4 address") from None


def _prefix_of_netmask(doc: InterfacesFile, n: int) -> int:
    raw = doc._stmts[n].value
    if re.fullmatch("[0-9]{1,2}", raw):
        if int(raw) > 32:
            raise GuestConfigError(f"{doc.where(n)}: {raw!r} is not a prefix length (0-32)")
        return int(raw)
    hosts = ~int(_ipv4(doc, n, raw)) & 0xFFFFFFFF
    if hosts & (hosts + 1):
        raise GuestConfigError(f"{doc.where(n)}: {raw!r} is not a contiguous netmask")
    return 32 - hosts.bit_length()


def _servers(doc: InterfacesFile, lines: list[int]) -> list[IPv4Address | IPv6Address]:
    out: list[IPv4Address | IPv6Address] = []
    for n in lines:
        for word in _SPLIT.split(doc._stmts[n].value):
            try:
                out.append(IPv4Address(word) if ":" not in word else IPv6Address(word))
            except ValueError:
                raise GuestConfigError(f"{doc.where(n)}: {word!r} is not an IP address") from None
    return out


def _single(doc: InterfacesFile, opts: dict[str, list[int]], key: str) -> int | None:
    found = opts.get(key, [])
    if len(found) > 1:
        raise GuestConfigError(f"{doc.where(found[1])}: given again (first at line {doc.line_of(found[0])}): "
                               "ifupdown joins repeated options into one value labkit cannot represent")
    return found[0] if found else None


def read_config(doc: InterfacesFile, interface: str) -> InterfaceConfig:
    """What the file configures for the interface, validated; GuestConfigError names the line of a bad value."""
    _check_name(interface)
    at = _stanza(doc, interface)
    if at is None:
        sources = [f"line {doc.line_of(n)} ({' '.join(s.words)})" for n, s in enumerate(doc._stmts)
                   if s.key and (s.key == "source" or s.key.startswith("source-dir"))]
        hint = f"; it may be in a file included by {', '.join(sources)}" if sources else ""
        raise GuestConfigError(f"{doc.name}: no 'iface {interface} inet' stanza{hint}")
    opts = _options(doc, at)
    if "dns-nameserver" in opts:
        raise GuestConfigError(f"{doc.where(opts['dns-nameserver'][0])}: labkit reads and writes only "
                               "dns-nameservers (plural)")
    dns = tuple(a for a in _servers(doc, opts.get("dns-nameservers", [])) if isinstance(a, IPv4Address))
    onboot = bool(_onboot_lines(doc, interface))
    method = doc._stmts[at].words[3]
    if method == "dhcp":
        return InterfaceConfig("dhcp", dns=dns, onboot=onboot)
    if method != "static":
        raise GuestConfigError(f"{doc.where(at)}: method {method!r} is neither dhcp nor static: "
                               "labkit cannot describe it")
    a, m, g = (_single(doc, opts, k) for k in ("address", "netmask", "gateway"))
    if a is None:
        raise GuestConfigError(f"{doc.where(at)}: static stanza without an address")
    match = _ADDRESS.fullmatch(doc._stmts[a].value)
    if match is None:
        raise GuestConfigError(f"{doc.where(a)}: {doc._stmts[a].value!r} is not an IPv4 address[/prefix]")
    ip = _ipv4(doc, a, match.group(1))
    if m is not None:
        prefix = _prefix_of_netmask(doc, m)
    elif match.group(2) is not None:
        prefix = int(match.group(2))
        if prefix > 32:
            raise GuestConfigError(f"{doc.where(a)}: /{prefix} is not a prefix length (0-32)")
    else:
        raise GuestConfigError(f"{doc.where(a)}: no prefix and no netmask (ifupdown 0.8 would use /32, "
                               "older versions refuse it; labkit does not guess)")
    gateway = _ipv4(doc, g, doc._stmts[g].value) if g is not None else None
    try:
        return InterfaceConfig("static", IPv4Interface((ip, prefix)), gateway, dns, onboot)
    except ValueError as e:
        raise GuestConfigError(f"{doc.where(g if g is not None else a)}: {e}") from None


# ---------------------------------------------------------------- editing

def _lead(line: str) -> str:
    """The line's leading whitespace (_LEAD matches the empty string too, so it always matches)."""
    m = _LEAD.match(line)
    return m.group() if m else ""


def _indent(doc: InterfacesFile, at: int) -> str:
    owners = doc._owners()
    for wanted in (at, None):
        for n, owner in enumerate(owners):
            if owner is not None and (wanted is None or owner == wanted):
                return _lead(doc._stmts[n].lines[0])
    return "\t"


def _rewrite(s: _Stmt, key: str, value: str) -> None:
    m = _KEY_SEP.match(s.lines[0])
    indent, sep = (m.group(1), m.group(3)) if m and len(s.lines) == 1 else (_lead(s.lines[0]), " ")
    eol = s.eol
    s.lines, s.words, s.value = [f"{indent}{key}{sep}{value}{eol}"], [key, *value.split(" ")], value


def _set(doc: InterfacesFile, at: int, key: str, value: str, keep: bool = False) -> None:
    """One `key value` option in the stanza: the first one rewritten (unless keep), the others removed."""
    opts = _options(doc, at)
    found = opts.get(key, [])
    if found:
        for n in reversed(found[1:]):
            del doc._stmts[n]
        if not keep and doc._stmts[found[0]].value != value:
            _rewrite(doc._stmts[found[0]], key, value)
        return
    before = _OWNED[:_OWNED.index(key)] if key in _OWNED else _OWNED
    where = max((n for k in before for n in opts.get(k, [])), default=at)
    s = _Stmt([""])
    _rewrite(s, key, value)
    s.lines = [_indent(doc, at) + s.lines[0].lstrip(_WS) + doc._stmts[at].eol]
    doc._stmts.insert(where + 1, s)


def _unset(doc: InterfacesFile, at: int, key: str) -> None:
    for n in reversed(_options(doc, at).get(key, [])):
        del doc._stmts[n]


def _set_method(doc: InterfacesFile, at: int, method: str) -> None:
    s = doc._stmts[at]
    if s.words[3] == method:
        return
    m = _METHOD.fullmatch(s.lines[0]) if len(s.lines) == 1 else None
    if m:
        s.lines = [m.group(1) + method + m.group(3)]
    else:
        s.lines = [f"{_lead(s.lines[0])}iface {s.words[1]} inet {method}{s.eol}"]
    s.words[3] = method


def _set_onboot(doc: InterfacesFile, at: int, interface: str, onboot: bool) -> None:
    lines = _onboot_lines(doc, interface)
    if onboot and not lines:
        s = doc._stmts[at]
        doc._stmts.insert(at, _Stmt([f"{_lead(s.lines[0])}auto {interface}{s.eol}"],
                                    ["auto", interface], interface))
    if not onboot:
        for n in reversed(lines):
            s = doc._stmts[n]
            names = [w for w in s.words[1:] if w != interface]
            if not names:
                del doc._stmts[n]
            else:
                s.lines = [f"{_lead(s.lines[0])}{s.words[0]} {' '.join(names)}{s.eol}"]
                s.words, s.value = [s.words[0], *names], " ".join(names)


def _append_stanza(doc: InterfacesFile, interface: str, method: str) -> int:
    stmts = doc._stmts
    end = len(stmts) - (bool(stmts) and stmts[-1].lines == [""])  # keep the final newline last
    new = [_Stmt([f"iface {interface} inet {method}"], ["iface", interface, "inet", method],
                 f"{interface} inet {method}")]
    if end > 0 and stmts[end - 1].lines[-1].strip(_WS):
        new.insert(0, _Stmt([""]))
    stmts[end:] = [*new, _Stmt([""])]
    return end + len(new) - 1


def apply_config(doc: InterfacesFile, interface: str, cfg: InterfaceConfig) -> None:
    """Edit doc in place so the interface's inet stanza configures cfg; the module docstring says what moves."""
    _check_name(interface)
    at = _stanza(doc, interface)
    if at is None:
        at = _append_stanza(doc, interface, cfg.mode)
    opts = _options(doc, at)
    try:
        old_dns: list[IPv4Address | IPv6Address] | None = _servers(doc, opts.get("dns-nameservers", []))
    except GuestConfigError:
        old_dns = None  # a bad server list is replaced whole
    _set_method(doc, at, cfg.mode)
    if cfg.mode == "static" and cfg.address is not None:
        _set_static(doc, at, cfg.address, opts)
        if cfg.gateway is not None:
            _set(doc, at, "gateway", str(cfg.gateway))
        else:
            _unset(doc, at, "gateway")
    else:
        for key in ("address", "netmask", "gateway"):
            _unset(doc, at, key)
    servers = [*cfg.dns, *(a for a in old_dns or () if isinstance(a, IPv6Address))]
    if not servers:
        _unset(doc, at, "dns-nameservers")
    elif servers != old_dns:
        _set(doc, at, "dns-nameservers", " ".join(map(str, servers)))
    _set_onboot(doc, at, interface, cfg.onboot)


def _same_address(value: str, address: IPv4Interface, with_prefix: bool) -> bool:
    m = _ADDRESS.fullmatch(value)
    return (m is not None and m.group(1) == str(address.ip)
            and (not with_prefix or m.group(2) == str(address.network.prefixlen))
            and (m.group(2) is None or m.group(2) == str(address.network.prefixlen)))


def _set_static(doc: InterfacesFile, at: int, address: IPv4Interface, opts: dict[str, list[int]]) -> None:
    old = doc._stmts[opts["address"][0]].value if "address" in opts else ""
    if "netmask" in opts:  # read before any edit moves the indices
        bits = doc._stmts[opts["netmask"][0]].value.isascii() and doc._stmts[opts["netmask"][0]].value.isdigit()
        try:
            same = _prefix_of_netmask(doc, opts["netmask"][0]) == address.network.prefixlen
        except GuestConfigError:
            same = False
        _set(doc, at, "address", str(address.ip), keep=_same_address(old, address, False))
        mask = str(address.network.prefixlen) if bits else str(address.netmask)
        _set(doc, at, "netmask", mask, keep=same)
    else:
        _set(doc, at, "address", str(address), keep=_same_address(old, address, True))
    for key, wanted in (("broadcast", address.network.broadcast_address),
                        ("network", address.network.network_address)):
        for n in _options(doc, at).get(key, []):
            try:
                current = IPv4Address(doc._stmts[n].value)
            except ValueError:
                continue  # `+`, `-` or something labkit does not own
            if current != wanted:
                _rewrite(doc._stmts[n], key, str(wanted))
