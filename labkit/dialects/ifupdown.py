"""Debian's `/etc/network/interfaces` (ifupdown, interfaces(5)): read and edit an interface's IPv4 settings.

Pure: text in, text out. The file's syntax, as ifupdown reads it, and the line edits (an unedited file
renders byte-identical, CRLF included) are labkit/dialects/interfaces_file.py; this module says what
labkit owns, for `iface IF inet METHOD` only (inet6 and other families are never touched):
- the METHOD word: dhcp or static. read_config refuses any other (loopback, manual, bootp, ppp...),
  naming it; apply_config replaces dhcp, static and manual, and refuses the others (the loopback, ppp,
  a tunnel are not network adapters);
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
skipped. A repeated address, netmask or gateway is refused (ifupdown uses the first and ignores the
rest), so is resolvconf's singular `dns-nameserver`, which labkit does not edit. Under dhcp,
address/netmask/gateway are not read.

apply_config, as a Debian user expects it:
- static: method static; `address A/P`, unless the stanza uses `netmask`, whose style is then kept
  (`address A` plus `netmask` as a dotted quad or a prefix length, whichever the file used; an
  address line already naming the address is kept, a /P on it included, when the netmask says the
  prefix); gateway set or removed for None. A dotted-quad `broadcast` or `network` is recomputed for
  the new address, since ifupdown would otherwise pass the stale one to `ip addr add` (`+`, `-` and
  the rest stay);
- dhcp: method dhcp; address, netmask and gateway are removed: ifupdown's dhcp method ignores them
  (dhclient asks the server for everything), so keeping them would only make the file lie about the
  running configuration;
- dns-nameservers follows the DNS rule of docs/format.md: servers cfg.dns names replace the IPv4 ones
  (IPv6 servers stay, after them); none removes them under static and leaves the line under dhcp;
- a value already meaning the wanted one is not rewritten, so applying a file's own configuration
  changes nothing. New option lines go after the owned options that precede them in the order
  address, netmask, gateway, dns-nameservers (else right under the `iface` line), indented like the
  stanza's first option (else the file's, else a tab, as the Debian installer writes);
- an interface without a stanza gets one appended, in the file's line ending: a blank line, `auto IF`
  when onboot, then `iface IF inet METHOD` and its options. If the file has `source` lines, the
  interface may be defined in an included file, and the new stanza would then be a second one:
  read_config names those lines, so call it first.
Refused, for read_config and apply_config alike, naming what to do instead: several `iface IF inet`
stanzas (ifupdown configures them all); an interface a `mapping` stanza matches (ifup configures
whatever logical interface the mapping script picks); a port of a bond, bridge or Open vSwitch bridge
(`bond-master`/`ovs_bridge` on its stanza, or named by the master's `bond-slaves`, `bridge_ports`,
`ovs_ports`: its address belongs to the master, which the message names); a stanza another one
`inherits` (ifupdown copies the parent's options into the child first and uses the first value of
an option, so the child would get the same address and gateway: Debian's testcase 16); and a child
`inherits`-ing a parent that holds an owned option (the parent's would win), or whose method comes
from the parent. A child whose parent holds none of them (a template of mtu, hwaddress...) is edited
like any stanza. edit_warnings names the routes an `up`/`post-up` command adds (`route add ... gw G`,
`ip route add ... via G`) whose gateway a new static address cannot reach: they are not labkit's,
and stay.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from ipaddress import IPv4Address, IPv4Interface, IPv6Address

from labkit.dialects.interfaces_file import (
    PATH,
    SPLIT,
    InterfacesFile,
    append_stanza,
    onboot_lines,
    options,
    parse,
    render,
    rewrite,
    set_method,
    set_onboot,
    set_option,
    unset_option,
)
from labkit.errors import GuestConfigError
from labkit.netconfig import InterfaceConfig

__all__ = ["PATH", "InterfacesFile", "apply_config", "edit_warnings", "parse", "path_for", "read_config", "render",
           "restart_command"]

_IFNAME = re.compile(r"[A-Za-z0-9_.:@][A-Za-z0-9_.:@-]{0,14}")
_ADDRESS = re.compile(r"([0-9.]+)(?:/([0-9]{1,2}))?")


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

def _inet(doc: InterfacesFile, interface: str) -> list[int]:
    return [n for n, s in enumerate(doc._stmts)
            if s.key == "iface" and s.words[1] == interface and s.words[2] in ("inet", "inherits")]


def _stanza(doc: InterfacesFile, interface: str) -> int | None:
    """The index of the one `iface IF inet METHOD` line, None if there is none; raises what labkit cannot edit."""
    found = _inet(doc, interface)
    if len(found) > 1:
        lines = ", ".join(str(doc.line_of(n)) for n in found)
        raise GuestConfigError(f"{doc.name}: {interface} has {len(found)} inet stanzas (lines {lines}): "
                               "ifupdown configures them all, labkit describes one")
    for n, s in enumerate(doc._stmts):
        if s.key == "mapping" and any(fnmatchcase(interface, p) for p in s.words[1:]):
            raise GuestConfigError(f"{doc.where(n)}: {interface} is mapped: ifup configures the logical "
                                   "interface the mapping script picks, which labkit cannot follow")
    _not_a_port(doc, interface, found[0] if found else None)
    if not found:
        return None
    words = doc._stmts[found[0]].words
    if words[2] != "inet" or len(words) not in (4, 6) or (len(words) == 6 and words[4] != "inherits"):
        raise GuestConfigError(f"{doc.where(found[0])}: the method comes from 'inherits' or the line has extra "
                               "words: labkit edits `iface IF inet METHOD [inherits PARENT]`")
    if len(words) == 6:
        _parent_owns_nothing(doc, found[0], words[5])
    _not_inherited(doc, interface)
    return found[0]


_MASTER_OPTIONS = ("bond-master", "bond_master", "ovs_bridge")
_PORT_LISTS = ("bond-slaves", "bond_slaves", "slaves", "bridge_ports", "bridge-ports", "ovs_ports", "ovs-ports")


def _lists_port(words: list[str], interface: str) -> bool:
    if words[:1] == ["regex"]:
        return any(re.fullmatch(w, interface) for w in words[1:])
    return interface in words or (words == ["all"] and not interface.startswith(("lo", "br", "bond")))


def _not_a_port(doc: InterfacesFile, interface: str, at: int | None) -> None:
    """A bond's or bridge's port has no address of its own: refuse, naming the master to configure."""
    owners = doc._owners()
    for n, s in enumerate(doc._stmts):
        owner = owners[n]
        if owner is None or not s.key or len(s.words) < 2:
            continue
        stanza = doc._stmts[owner].words
        mine = stanza[0] == "iface" and stanza[1] == interface
        if mine and s.key in _MASTER_OPTIONS:
            master = s.words[1]
        elif stanza[0] == "iface" and s.key in _PORT_LISTS and _lists_port(s.words[1:], interface):
            master = stanza[1]
        else:
            continue
        raise GuestConfigError(f"{doc.where(n)}: {interface} is a port of {master}: its address belongs to "
                               f"{master}; configure {master} instead")


def _parent_owns_nothing(doc: InterfacesFile, at: int, parent: str) -> None:
    """ifupdown copies the parent's options first and reads the first value of an option: an address
    on the parent would win over the child's."""
    for p in _inet(doc, parent):
        for key in ("address", "netmask", "gateway", "dns-nameservers"):
            if key in options(doc, p):
                raise GuestConfigError(f"{doc.where(at)}: inherits {parent}, whose {key} (line "
                                       f"{doc.line_of(options(doc, p)[key][0])}) ifupdown would use before this "
                                       "stanza's own: configure it without inherits, or edit the parent")


def _not_inherited(doc: InterfacesFile, interface: str) -> None:
    heirs = [n for n, s in enumerate(doc._stmts) if s.key == "iface" and "inherits" in s.words[2:]
             and s.words[s.words.index("inherits", 2) + 1:][:1] == [interface]]
    if heirs:
        names = ", ".join(f"{doc._stmts[n].words[1]} (line {doc.line_of(n)})" for n in heirs)
        raise GuestConfigError(f"{doc.name}: {names} inherits {interface}'s options: an address or gateway "
                               f"written to {interface} would go to it as well (a duplicate address)")


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
        for word in SPLIT.split(doc._stmts[n].value):
            try:
                out.append(IPv4Address(word) if ":" not in word else IPv6Address(word))
            except ValueError:
                raise GuestConfigError(f"{doc.where(n)}: {word!r} is not an IP address") from None
    return out


def _single(doc: InterfacesFile, opts: dict[str, list[int]], key: str) -> int | None:
    found = opts.get(key, [])
    if len(found) > 1:
        raise GuestConfigError(f"{doc.where(found[1])}: given again (first at line {doc.line_of(found[0])}): "
                               "ifupdown uses the first and ignores the others; labkit does not guess which was meant")
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
    opts = options(doc, at)
    if "dns-nameserver" in opts:
        raise GuestConfigError(f"{doc.where(opts['dns-nameserver'][0])}: labkit reads and writes only "
                               "dns-nameservers (plural)")
    dns = tuple(a for a in _servers(doc, opts.get("dns-nameservers", [])) if isinstance(a, IPv4Address))
    onboot = bool(onboot_lines(doc, interface))
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

def apply_config(doc: InterfacesFile, interface: str, cfg: InterfaceConfig) -> None:
    """Edit doc in place so the interface's inet stanza configures cfg; the module docstring says what moves."""
    _check_name(interface)
    at = _stanza(doc, interface)
    if at is None:
        at = append_stanza(doc, interface, cfg.mode)
    method = doc._stmts[at].words[3]
    if method not in ("dhcp", "static", "manual") or interface == "lo":
        raise GuestConfigError(f"{doc.where(at)}: method {method!r}: labkit replaces only a dhcp, static or "
                               "manual method of a network adapter (not the loopback, ppp or a tunnel)")
    opts = options(doc, at)
    try:
        old_dns: list[IPv4Address | IPv6Address] | None = _servers(doc, opts.get("dns-nameservers", []))
    except GuestConfigError:
        old_dns = None  # a bad server list is replaced whole
    set_method(doc, at, cfg.mode)
    if cfg.mode == "static" and cfg.address is not None:
        _set_static(doc, at, cfg.address, opts)
        if cfg.gateway is not None:
            set_option(doc, at, "gateway", str(cfg.gateway))
        else:
            unset_option(doc, at, "gateway")
    else:
        for key in ("address", "netmask", "gateway"):
            unset_option(doc, at, key)
    servers = [*cfg.dns, *(a for a in old_dns or () if isinstance(a, IPv6Address))]
    if cfg.mode == "dhcp" and not cfg.dns:
        pass  # docs/format.md, the DNS rule: DHCP naming no servers leaves the file's as they are
    elif not servers:
        unset_option(doc, at, "dns-nameservers")
    elif servers != old_dns:
        set_option(doc, at, "dns-nameservers", " ".join(map(str, servers)))
    set_onboot(doc, at, interface, cfg.onboot)


def _ip_of(value: str) -> IPv4Address | None:
    m = _ADDRESS.fullmatch(value)
    try:
        return IPv4Address(m.group(1)) if m else None
    except ValueError:
        return None


_ROUTE_GATEWAY = re.compile(r"\broute\b.*?\b(?:gw|via)[ \t]+([0-9]{1,3}(?:\.[0-9]{1,3}){3})\b")


def edit_warnings(doc: InterfacesFile, interface: str, cfg: InterfaceConfig) -> list[str]:
    """Routes the stanza adds with `up`/`post-up` commands (`route add ... gw G`, `ip route add ... via
    G`) whose gateway the new static address cannot reach: labkit does not own them, so it says so."""
    at = _stanza(doc, interface) if cfg.mode == "static" and cfg.address is not None else None
    if at is None or cfg.address is None:
        return []
    out = []
    for key in ("up", "post-up", "pre-up"):
        for n in options(doc, at).get(key, []):
            for m in _ROUTE_GATEWAY.finditer(doc._stmts[n].value):
                try:
                    gateway = IPv4Address(m.group(1))
                except ValueError:
                    continue
                if gateway not in cfg.address.network:
                    out.append(f"{doc.where(n)}: `{doc._stmts[n].value}` is kept, but {gateway} is outside "
                               f"{cfg.address.network}: unreachable (fix or remove it)")
    return out


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
        # the netmask says the prefix: an address line naming this address stays, a /P on it included
        keep = _same_address(old, address, False) or (same and _ip_of(old) == address.ip)
        set_option(doc, at, "address", str(address.ip), keep=keep)
        mask = str(address.network.prefixlen) if bits else str(address.netmask)
        set_option(doc, at, "netmask", mask, keep=same)
    else:
        set_option(doc, at, "address", str(address), keep=_same_address(old, address, True))
    for key, wanted in (("broadcast", address.network.broadcast_address),
                        ("network", address.network.network_address)):
        for n in options(doc, at).get(key, []):
            try:
                current = IPv4Address(doc._stmts[n].value)
            except ValueError:
                continue  # `+`, `-` or something labkit does not own
            if current != wanted:
                rewrite(doc._stmts[n], key, str(wanted))
