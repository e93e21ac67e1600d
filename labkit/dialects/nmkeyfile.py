r"""NetworkManager keyfiles (`/etc/NetworkManager/system-connections/NAME.nmconnection`): read and edit IPv4.

Pure: text in, text out. One file is one connection profile (nm-settings-keyfile(5)); NetworkManager reads
it with GLib's GKeyFile, and labkit/dialects/gkeyfile.py reads and edits it the same way. This module says
what labkit owns, and only that: every other key, group, comment, blank line and the order stay
byte-identical, and a value already meaning the wanted thing is not rewritten, so applying a file's own
configuration changes nothing. GuestConfigError `name:line: [group] key: reason` names what it refuses.
- `[connection] interface-name` binds the profile to the interface: read_config and apply_config refuse a
  file whose interface-name is another interface, or that has none (a profile bound by MAC address, or to
  any device, is not something labkit can tie to an interface name). It is never written by apply_config.
  A port profile (`controller=`/`master=` with `port-type=`/`slave-type=`) is refused too, naming the
  controller: NetworkManager ignores a port's IP settings, its address belongs to the controller's profile.
  So is the loopback profile.
- `[connection] autoconnect` is cfg.onboot; absent means true (NM's default), so true is only written over an
  existing `false`. Only `true`/`false`/`1`/`0` are read: the spellings every GLib and NM version agree on.
- `[ipv4] method`: `auto` is dhcp, `manual` is static; `disabled`, `link-local` and `shared` are refused by
  read_config (labkit cannot represent them). No `[ipv4]` group means `auto` (NM adds it when it normalizes an
  ethernet profile); a `[ipv4]` group without `method` is refused rather than guessed at.
- addresses: `addressN` (also the older spellings `address`, `addresses`, `addressesN`), in NM's order: by
  number (none first), `address` before `addresses`; the first is the primary address. NM's reader takes
  the fields address, prefix length and gateway separated by any of `/ ; ,`, so `A/P`, `A/P,GW` and the
  legacy `A;P;GW;` all read. A missing prefix is refused: NM would default to /24, labkit does not guess.
  A gateway on a non-primary address, or a `gateway=` key disagreeing with the primary address's gateway,
  is refused as ambiguous.
- `[ipv4] gateway` and `[ipv4] dns` (IPv4 addresses only; `1.2.3.4#server-name` is refused).

apply_config:
- dhcp: `method=auto`; every address key and `gateway` removed (under `auto` NM would still add them as static
  addresses next to the lease).
- static: `method=manual`; the primary address key is rewritten (`address1` created when there is none; other
  addresses are left alone, as the ifcfg dialect leaves IPADDRn), in its own separators (`A;P;GW;` stays in
  that form). A file that wrote the gateway in the address, `address1=A/P,GW`, keeps that form (a `gateway=`
  key that says the same stays, another goes); otherwise `address1=A/P` plus `gateway=G`, removed when
  cfg.gateway is None.
- `dns` follows the DNS rule of docs/format.md: servers cfg.dns names replace it; none removes it under
  static and leaves it under dhcp. read_config reports `dns` in both modes, as NM uses them under `auto`.
- `[ipv4]` is created at the end when absent (not for dhcp without DNS servers: no `[ipv4]` already means
  auto), and new keys go where NetworkManager would write them.
edit_warnings names the static routes (`routeN=NET,GW`) whose gateway a new static address cannot reach:
they are not labkit's, and stay.
"""

from __future__ import annotations

import re
import uuid as uuid_module
from ipaddress import IPv4Address, IPv4Interface

from labkit.dialects.gkeyfile import DEFAULT_NAME, Keyfile, escape, escape_list, unescape, unescape_list
from labkit.errors import GuestConfigError
from labkit.netconfig import InterfaceConfig

__all__ = ["DEFAULT_NAME", "Keyfile", "apply_config", "edit_warnings", "escape", "escape_list", "new_connection",
           "parse", "path_for", "read_config", "render", "restart_command", "unescape", "unescape_list"]
_INTERFACE = re.compile(r"[A-Za-z0-9_.:@-]{1,15}")
_ADDRESS_KEY = re.compile(r"address(es)?(0|[1-9][0-9]{0,8})?")
_ROUTE_KEY = re.compile(r"routes?(0|[1-9][0-9]{0,8})?")
# NM's reader: an address, a prefix length, a gateway, separated by any of / ; , (a trailing one allowed)
_FIELDS = re.compile(r"([0-9a-fA-F:.%]+)(?:([/;,])([0-9]+))?(?:([/;,])([0-9a-fA-F:.%]+))?([/;,]?)")
_PREFIX = re.compile(r"[0-9]{1,2}")
_TRUE, _FALSE = ("true", "1"), ("false", "0")


def parse(text: str, name: str = DEFAULT_NAME) -> Keyfile:
    """The file as GKeyFile reads it; GuestConfigError `name:line: ...` where GKeyFile would refuse it."""
    return Keyfile.parse(text, name)


def render(doc: Keyfile) -> str:
    return doc.render()


# ---------------------------------------------------------------- the mapping

def _check_interface(interface: str) -> str:
    if not isinstance(interface, str) or not _INTERFACE.fullmatch(interface):
        raise GuestConfigError(f"{interface!r} is not an interface name labkit accepts "
                               "([A-Za-z0-9_.:@-], 1 to 15 characters)")
    return interface


def _check_bound(doc: Keyfile, interface: str) -> None:
    """The profile must be bound to exactly this interface by `[connection] interface-name`, and not be a
    port of a bond, bridge or team (NetworkManager drops a port profile's IP settings)."""
    _check_interface(interface)
    if not doc.has_group("connection"):
        raise GuestConfigError(f"{doc.name}: no [connection] group: not a NetworkManager connection profile")
    if doc.get("connection", "type") == "loopback" or interface == "lo":
        raise GuestConfigError(f"{doc.name}: [connection]: the loopback profile: labkit configures network adapters")
    for key in ("controller", "master"):
        if master := doc.get("connection", key):
            kind = doc.get("connection", "port-type") or doc.get("connection", "slave-type") or "controller"
            raise GuestConfigError(f"{doc.where('connection', key)}: the profile is a port of the {kind} {master}: "
                                   f"its address belongs to {master}; configure {master} instead")
    bound = doc.get("connection", "interface-name")
    if bound is None:
        raise GuestConfigError(f"{doc.name}: [connection] has no interface-name: the profile is not bound to "
                               f"an interface name, so labkit cannot tell whether it configures {interface}")
    if bound != interface:
        raise GuestConfigError(f"{doc.where('connection', 'interface-name')}: the profile is for {bound!r}, "
                               f"not {interface}")


def _autoconnect(doc: Keyfile) -> bool | None:
    raw = doc.get("connection", "autoconnect")
    if raw is None:
        return True
    return True if raw in _TRUE else False if raw in _FALSE else None


def _address_keys(doc: Keyfile) -> list[str]:
    """The [ipv4] address keys in NM's order, primary first: by number (none counts as -1), then
    `address` before `addresses` (nm-keyfile.c ip_address_or_route_parser)."""
    found = [(int(m.group(2) or -1), bool(m.group(1)), k) for k in doc.keys("ipv4")
             if (m := _ADDRESS_KEY.fullmatch(k))]
    return [k for *_, k in sorted(found)]


def _ipv4(doc: Keyfile, key: str, text: str | None = None) -> IPv4Address:
    value = doc.get("ipv4", key) if text is None else text
    try:
        return IPv4Address(value)
    except ValueError:
        raise GuestConfigError(f"{doc.where('ipv4', key)}: {value!r} is not an IPv4 address") from None


def _address(doc: Keyfile, key: str) -> tuple[IPv4Interface, IPv4Address | None, bool]:
    """An address key's address, its gateway, and whether the value has the gateway field at all.

    NM reads `A/P`, `A/P,GW` and the older `A;P;GW;` alike (any of / ; , between the fields)."""
    value = doc.get("ipv4", key) or ""
    m = _FIELDS.fullmatch(value)
    if m is None:
        raise GuestConfigError(f"{doc.where('ipv4', key)}: {value!r} is not A/P or A/P,GW")
    if m.group(3) is None:
        raise GuestConfigError(f"{doc.where('ipv4', key)}: {value!r} has no prefix length "
                               "(NM would assume /24; labkit does not guess)")
    if not _PREFIX.fullmatch(m.group(3)) or int(m.group(3)) > 32:
        raise GuestConfigError(f"{doc.where('ipv4', key)}: {m.group(3)!r} is not a prefix length (0-32)")
    gateway = _ipv4(doc, key, m.group(5)) if m.group(5) else None
    return IPv4Interface((_ipv4(doc, key, m.group(1)), int(m.group(3)))), gateway, bool(m.group(5))


def _address_value(old: str | None, address: IPv4Interface, gateway: IPv4Address | None) -> str:
    """`A/P` (`A/P,GW` with a gateway), or the old value's own separators (`A;P;GW;`)."""
    m = _FIELDS.fullmatch(old or "")
    if m is None or m.group(2) is None:
        return f"{address.ip}/{address.network.prefixlen}" + (f",{gateway}" if gateway is not None else "")
    value = f"{address.ip}{m.group(2)}{address.network.prefixlen}"
    if gateway is not None:
        value += f"{m.group(4) or ','}{gateway}"
    return value + (m.group(6) if m.group(6) and (gateway is None) == (m.group(5) is None) else "")


def _dns(doc: Keyfile) -> tuple[IPv4Address, ...]:
    return tuple(_ipv4(doc, "dns", item) for item in doc.get_list("ipv4", "dns") or [])


def read_config(doc: Keyfile, interface: str) -> InterfaceConfig:
    """What the profile configures for interface, validated; GuestConfigError names the line and key."""
    _check_bound(doc, interface)
    onboot = _autoconnect(doc)
    if onboot is None:
        raise GuestConfigError(f"{doc.where('connection', 'autoconnect')}: "
                               f"{doc.get('connection', 'autoconnect')!r} is neither true nor false")
    if not doc.has_group("ipv4"):
        return InterfaceConfig("dhcp", onboot=onboot)
    method = doc.get("ipv4", "method")
    dns = _dns(doc)
    keys = _address_keys(doc)
    if method == "auto":
        extra = keys + (["gateway"] if doc.raw("ipv4", "gateway") is not None else [])
        if extra:
            raise GuestConfigError(f"{doc.where('ipv4', extra[0])}: method=auto with static "
                                   f"{', '.join(extra)}: DHCP plus static addresses, which labkit cannot represent")
        return InterfaceConfig("dhcp", dns=dns, onboot=onboot)
    if method is None:
        raise GuestConfigError(f"{doc.name}: [ipv4] has no method (labkit does not guess one)")
    if method != "manual":
        raise GuestConfigError(f"{doc.where('ipv4', 'method')}: method={method} is not supported "
                               "(labkit represents auto and manual)")
    if not keys:
        raise GuestConfigError(f"{doc.where('ipv4', 'method')}: method=manual and no address1")
    address, gateway, _ = _address(doc, keys[0])
    for key in keys[1:]:
        if _address(doc, key)[1] is not None:
            raise GuestConfigError(f"{doc.where('ipv4', key)}: a gateway on a secondary address is ambiguous")
    gw_key = keys[0]
    if doc.raw("ipv4", "gateway") is not None:
        separate = _ipv4(doc, "gateway")
        if gateway is not None and separate != gateway:
            raise GuestConfigError(f"{doc.where('ipv4', 'gateway')}: {separate} disagrees with the gateway "
                                   f"{gateway} of {keys[0]}")
        gateway, gw_key = separate, "gateway"
    try:
        return InterfaceConfig("static", address, gateway, dns, onboot)
    except ValueError as e:
        raise GuestConfigError(f"{doc.where('ipv4', gw_key)}: {e}") from None


def apply_config(doc: Keyfile, interface: str, cfg: InterfaceConfig) -> None:
    """Edit doc in place to configure cfg for interface; the module docstring says which keys move."""
    _check_bound(doc, interface)
    if _autoconnect(doc) != cfg.onboot:
        doc.set("connection", "autoconnect", "true" if cfg.onboot else "false")
    keys = _address_keys(doc) if doc.has_group("ipv4") else []
    if cfg.mode == "dhcp":
        if doc.has_group("ipv4") or cfg.dns:  # no [ipv4] already means auto
            doc.set("ipv4", "method", "auto")
        for key in keys + ["gateway"]:
            doc.unset("ipv4", key)
    else:
        assert cfg.address is not None  # InterfaceConfig guarantees it for static
        doc.set("ipv4", "method", "manual")
        primary = keys[0] if keys else "address1"
        old = doc.get("ipv4", primary) if keys else None
        m = _FIELDS.fullmatch(old or "")
        if m is not None and m.group(5):  # the gateway is written in the address's own value
            doc.set("ipv4", primary, _address_value(old, cfg.address, cfg.gateway))
            if cfg.gateway is None or doc.get("ipv4", "gateway") != str(cfg.gateway):
                doc.unset("ipv4", "gateway")
        else:
            doc.set("ipv4", primary, _address_value(old, cfg.address, None))
            if cfg.gateway is not None:
                doc.set("ipv4", "gateway", str(cfg.gateway))
            else:
                doc.unset("ipv4", "gateway")
    # docs/format.md, the DNS rule: named servers replace the file's; none removes them under static only
    if cfg.dns:
        doc.set_list("ipv4", "dns", [str(a) for a in cfg.dns])
    elif cfg.mode == "static":
        doc.unset("ipv4", "dns")


def edit_warnings(doc: Keyfile, interface: str, cfg: InterfaceConfig) -> list[str]:
    """[ipv4] routeN (and the older routesN) whose gateway the new static address cannot reach: they
    are not labkit's to drop, so it says so."""
    _check_bound(doc, interface)
    if cfg.mode != "static" or cfg.address is None or not doc.has_group("ipv4"):
        return []
    out = []
    for key in doc.keys("ipv4"):
        m = _FIELDS.fullmatch(doc.get("ipv4", key) or "") if _ROUTE_KEY.fullmatch(key) else None
        gateway = m.group(5) if m else None
        try:
            unreachable = gateway is not None and IPv4Address(gateway) not in cfg.address.network
        except ValueError:
            continue
        if unreachable:
            out.append(f"{doc.where('ipv4', key)}: route {doc.get('ipv4', key)} is kept, but {gateway} is "
                       f"outside {cfg.address.network}: unreachable (fix or remove it)")
    return out


def new_connection(interface: str, cfg: InterfaceConfig, uuid: uuid_module.UUID | str) -> str:
    """A fresh profile for interface, laid out as NetworkManager writes one (id = interface name).

    The caller must install it owned by root with mode 0600: NM ignores a keyfile that any other user can
    read or write (it may hold secrets), and this pure function writes no file."""
    _check_interface(interface)
    try:
        canonical = str(uuid_module.UUID(str(uuid)))
    except ValueError:
        raise GuestConfigError(f"{uuid!r} is not a UUID") from None
    doc = parse(f"[connection]\nid={interface}\nuuid={canonical}\ntype=ethernet\ninterface-name={interface}\n"
                "\n[ethernet]\n\n[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=auto\n", path_for(interface))
    apply_config(doc, interface, cfg)
    return doc.render()


def path_for(interface: str) -> str:
    """Where labkit's profile for interface lives (named after the interface, as the profile id is)."""
    return f"/etc/NetworkManager/system-connections/{_check_interface(interface)}.nmconnection"


def restart_command(interface: str) -> str:
    """Reload the profiles from disk, then activate one on the device.

    `up ifname IF` rather than `up id NAME`: the profile's id is free text (spaces, quotes, non-ASCII, and
    not unique: two profiles may share "Wired connection 1"), which would have to be shell-quoted and could
    pick the wrong profile, whereas the interface name is validated to a shell-safe character set and is what
    the edited profile is bound to (`interface-name`). With `ifname` and no id, nmcli asks NM for the best
    available profile for that device; if several profiles are bound to the same interface NM may choose
    another one (the one with the highest autoconnect-priority, then the most recently used). The activation
    is done by the NetworkManager daemon, so it completes even if the SSH session over that link drops."""
    return f"nmcli connection reload && nmcli connection up ifname {_check_interface(interface)}"
