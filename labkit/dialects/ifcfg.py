r"""RHEL/CentOS `/etc/sysconfig/network-scripts/ifcfg-*`: read and edit an interface's IPv4 settings.

Pure: text in, text out. The file's syntax, and why a file bash and NetworkManager would read
differently is refused, is labkit/dialects/shvar.py; this module says which keys labkit owns.

apply_config, as a RHEL user expects it (the tutorial's CentOS 6.5 switch to DHCP):
- it touches only BOOTPROTO, ONBOOT, IPADDR, PREFIX/NETMASK, GATEWAY, DNSn (and a BROADCAST or
  NETWORK the file already has, recomputed for a new address: the network service passes them to
  `ip addr add`); HWADDR, UUID, NM_CONTROLLED, PEERDNS, TYPE, DEVICE, comments and the rest stay
  byte-identical. A key already meaning the wanted value (ONBOOT=YES, BOOTPROTO=bootp for dhcp, none
  or no BOOTPROTO at all for static) is not rewritten, so applying a file's own configuration
  changes nothing;
- dhcp: BOOTPROTO=dhcp. IPADDR, NETMASK/PREFIX, GATEWAY stay (the network service ignores them under
  dhcp; switching back is one edit);
- static: BOOTPROTO=static (`none` or none kept), IPADDR set, netmask style kept (NETMASK if the file
  has it, PREFIX if it has PREFIX or neither, both when both), GATEWAY set or removed for None. The
  primary address is IPADDR, else the lowest IPADDRn, with its PREFIXn/NETMASKn/GATEWAYn; other
  IPADDRn are left alone;
- DNSn follow the DNS rule of docs/format.md: servers cfg.dns names replace the file's (DNS1..DNSn set,
  surplus DNSk removed); none removes them under static, and leaves them as they are under dhcp (the
  tutorial's CentOS file keeps DNS1/DNS2 after its switch to DHCP). RHEL's ifup-post applies DNSn
  under dhcp too (unless PEERDNS=no), which is why read_config reports them in both modes. DNSn
  holding an IPv6 address belong to IPv6 (NM reads them so): read_config skips them, apply_config
  keeps them, renumbered after the IPv4 servers;
- ONBOOT=yes/no; only yes/no (any case) are read, the values NM and initscripts agree on.
Refused by both read_config and apply_config: a port of a bond, bridge, team or Open vSwitch bridge
(MASTER, BRIDGE, TEAM_MASTER, OVS_BRIDGE and their _UUID forms: its address belongs to the master,
which the message names), and apply_config refuses the loopback (DEVICE=lo). Static routes live in
route-IF beside the file: labkit does not edit them, and route_file_warnings names those whose
gateway a new static address cannot reach.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Interface, IPv6Address

from labkit.dialects.shvar import IfcfgFile as IfcfgFile
from labkit.dialects.shvar import quote as quote
from labkit.dialects.shvar import unquote as unquote
from labkit.errors import GuestConfigError
from labkit.netconfig import InterfaceConfig

_DNS = re.compile(r"DNS([1-9][0-9]*)")


def _address(f: IfcfgFile, key: str) -> IPv4Address:
    try:
        return IPv4Address(f.get(key))
    except ValueError:
        raise GuestConfigError(f"{f.where(key)}: {f.get(key)!r} is not an IPv4 address") from None


def _prefix(f: IfcfgFile, suffix: str) -> int:
    if raw := f.get("PREFIX" + suffix):
        if not re.fullmatch("[0-9]{1,2}", raw) or int(raw) > 32:
            raise GuestConfigError(f"{f.where('PREFIX' + suffix)}: {raw!r} is not a prefix length (0-32)")
        return int(raw)
    if f.get("NETMASK" + suffix):
        hosts = ~int(_address(f, "NETMASK" + suffix)) & 0xFFFFFFFF
        if hosts & (hosts + 1):
            raise GuestConfigError(f"{f.where('NETMASK' + suffix)}: {f.get('NETMASK' + suffix)!r} "
                                   "is not a contiguous netmask")
        return 32 - hosts.bit_length()
    raise GuestConfigError(f"{f.where('IPADDR' + suffix)}: neither PREFIX{suffix} nor NETMASK{suffix} "
                           "is set (labkit does not guess a classful netmask)")


def _primary(f: IfcfgFile) -> str | None:
    """The suffix of the address that counts: IPADDR, else the lowest-numbered IPADDRn."""
    found = [k[6:] for k in f.keys() if re.fullmatch("IPADDR[0-9]*", k) and f.get(k)]
    return min(found, key=lambda s: (s != "", int(s or 0), s), default=None)


def _onboot(f: IfcfgFile) -> bool | None:
    """yes/no in any case, the two values NM and every initscripts version agree on; unset means yes."""
    return {"yes": True, "no": False}.get((f.get("ONBOOT") or "yes").lower())


def _dns_keys(f: IfcfgFile) -> list[str]:
    return sorted((k for k in f.keys() if _DNS.fullmatch(k)), key=lambda k: int(k[3:]))


def _ipv6(value: str | None) -> bool:
    try:
        return bool(value) and IPv6Address(value) is not None
    except ValueError:
        return False


_PORT_KEYS = (("MASTER", "bond"), ("MASTER_UUID", "bond"), ("BRIDGE", "bridge"), ("BRIDGE_UUID", "bridge"),
              ("TEAM_MASTER", "team"), ("OVS_BRIDGE", "Open vSwitch bridge"))


def _not_a_port(f: IfcfgFile) -> None:
    """A bond's, bridge's or team's port has no address of its own (NetworkManager drops one, initscripts
    enslaves the device): refuse, naming the master whose file to configure instead."""
    for key, kind in _PORT_KEYS:
        if master := f.get(key):
            raise GuestConfigError(f"{f.where(key)}: the interface is a port of the {kind} {master}: its "
                                   f"address belongs to {master}; configure {master} instead")


def read_config(f: IfcfgFile) -> InterfaceConfig:
    """What the file configures, validated; GuestConfigError names the key and line of a bad value."""
    _not_a_port(f)
    onboot = _onboot(f)
    if onboot is None:
        raise GuestConfigError(f"{f.where('ONBOOT')}: {f.get('ONBOOT')!r} is neither yes nor no")
    dns = tuple(_address(f, k) for k in _dns_keys(f) if f.get(k) and not _ipv6(f.get(k)))
    proto = f.get("BOOTPROTO") or "none"
    if proto.lower() in ("dhcp", "bootp") and proto != proto.lower():
        raise GuestConfigError(f"{f.where('BOOTPROTO')}: {proto!r} is dhcp to NetworkManager but static "
                               "to the network service, which compares case-sensitively")
    proto = proto.lower()
    if proto in ("dhcp", "bootp"):
        return InterfaceConfig("dhcp", dns=dns, onboot=onboot)
    if proto not in ("static", "none"):
        raise GuestConfigError(f"{f.where('BOOTPROTO')}: {proto!r} is not supported "
                               "(dhcp, bootp, static, none)")
    suffix = _primary(f)
    if suffix is None:
        raise GuestConfigError(f"{f.where('BOOTPROTO')}: BOOTPROTO={proto} and no IPADDR: "
                               "no IPv4 configuration labkit can describe")
    address = IPv4Interface((_address(f, "IPADDR" + suffix), _prefix(f, suffix)))
    gw_key = "GATEWAY" + suffix if f.get("GATEWAY" + suffix) else "GATEWAY"
    gateway = _address(f, gw_key) if f.get(gw_key) else None
    try:
        return InterfaceConfig("static", address, gateway, dns, onboot)
    except ValueError as e:
        raise GuestConfigError(f"{f.where(gw_key)}: {e}") from None


def apply_config(f: IfcfgFile, cfg: InterfaceConfig) -> None:
    """Edit f in place to configure cfg; the module docstring says which keys move and which stay."""
    _not_a_port(f)
    if f.get("DEVICE") == "lo":
        raise GuestConfigError(f"{f.where('DEVICE')}: lo is the loopback: labkit configures network adapters")
    if _onboot(f) != cfg.onboot:
        f.set("ONBOOT", "yes" if cfg.onboot else "no")
    proto = f.get("BOOTPROTO")
    if cfg.mode == "dhcp" and proto not in ("dhcp", "bootp"):
        f.set("BOOTPROTO", "dhcp")
    if cfg.mode == "static" and (proto or "none").lower() not in ("static", "none"):
        f.set("BOOTPROTO", "static")
    if cfg.mode == "static" and cfg.address is not None:
        s = _primary(f) or ""
        f.set("IPADDR" + s, str(cfg.address.ip))
        has_mask, has_prefix = f.get("NETMASK" + s) is not None, f.get("PREFIX" + s) is not None
        if has_mask:
            f.set("NETMASK" + s, str(cfg.address.netmask))
        if has_prefix or not has_mask:
            f.set("PREFIX" + s, str(cfg.address.network.prefixlen))
        for key, derived in (("BROADCAST", cfg.address.network.broadcast_address),
                             ("NETWORK", cfg.address.network.network_address)):
            if f.get(key + s) and f.get(key + s) != str(derived):  # the network service passes them to ip
                f.set(key + s, str(derived))
        gw_key = "GATEWAY" + s if f.get("GATEWAY" + s) is not None else "GATEWAY"
        if cfg.gateway is not None:
            f.set(gw_key, str(cfg.gateway))
        else:
            f.unset("GATEWAY" + s)
            f.unset("GATEWAY")
    if cfg.mode == "dhcp" and not cfg.dns:
        return  # docs/format.md, the DNS rule: DHCP naming no servers leaves the file's as they are
    keys = _dns_keys(f)
    servers = [str(a) for a in cfg.dns] + [v for k in keys if (v := f.get(k)) is not None and _ipv6(v)]
    for n, server in enumerate(servers, 1):
        f.set(f"DNS{n}", server)
    for key in keys:
        if int(key[3:]) > len(servers):
            f.unset(key)


_ROUTE_VIA = re.compile(r"\bvia[ \t]+([0-9]{1,3}(?:\.[0-9]{1,3}){3})\b")


def route_file_warnings(text: str, name: str, cfg: InterfaceConfig) -> list[str]:
    """The routes of a `route-IF` file (ADDRESSn/NETMASKn/GATEWAYn, or `NET via GW` lines) whose gateway
    the new static address cannot reach. labkit does not edit that file: it says so instead."""
    if cfg.mode != "static" or cfg.address is None:
        return []
    f = IfcfgFile.parse(text, name)
    found = [(f.where(k), f"{f.get('ADDRESS' + k[7:])} via {f.get(k)}", f.get(k) or "")
             for k in f.keys() if re.fullmatch("GATEWAY[0-9]+", k)]
    found += [(f"{name}:{n}", line.text.split("#")[0].strip(), m.group(1))
              for n, line in enumerate(f._lines, 1) if line.key is None and (m := _ROUTE_VIA.search(line.text))
              and not line.text.lstrip().startswith("#")]
    out = []
    for where, route, gateway in found:
        try:
            unreachable = IPv4Address(gateway) not in cfg.address.network
        except ValueError:
            continue
        if unreachable:
            out.append(f"{where}: route {route} is kept, but {gateway} is outside {cfg.address.network}: "
                       "unreachable (fix or remove it)")
    return out


def restart_command(device: str) -> str:
    """RHEL/CentOS 6's SysV network service, as the tutorial runs it. It restarts every ONBOOT
    interface, not only `device` (accepted so all dialects share one signature): `ifdown; ifup` of
    one device would be narrower but loses the session half-way on the interface that carries it."""
    return "/etc/init.d/network restart"
