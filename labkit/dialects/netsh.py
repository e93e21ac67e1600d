r"""Windows IPv4 configuration through netsh: read `show config` / `ipconfig /all`, write netsh commands.

Windows keeps no configuration file labkit could edit: it reads the interfaces' state from the output
of `netsh interface ip show config` (English, Windows 7 to 10, CRLF or LF) or, as an alternative,
`ipconfig /all`, and changes it with `netsh interface ip set ...` commands, which take effect at once.

What a reader reports per interface, as an InterfaceConfig:
- mode: `DHCP enabled: Yes` is dhcp, `No` is static;
- address, gateway: what the interface has. Under dhcp that is the lease, informational only
  (apply_commands ignores it); no lease yet, or only an autoconfiguration (169.254.0.0/16) address,
  gives address None;
- dns: the statically configured servers, the ones apply_commands writes, in both modes (as in
  ifcfg, dhcp with servers means "DHCP address, these DNS servers"). `show config` says where each
  server comes from, and servers `configured through DHCP` are lease state, not configuration: they
  are not reported, so applying what was read changes nothing. `ipconfig /all` does not say where its
  `DNS Servers` come from: parse_ipconfig reports them as listed, in both modes (for a dhcp adapter
  these may be the lease's); prefer `show config` when the answer is fed back to apply_commands;
- onboot: always True. Windows has no boot-time switch for an interface's IPv4 configuration.

An interface whose state labkit cannot describe (static with no IPv4 address, as a disconnected
adapter shows; several addresses or gateways, which `set address` would silently drop; a gateway
outside the subnet; only IPv6 or tunnel adapters in ipconfig; any adapter of plain `ipconfig`
output, which lists addresses but not whether DHCP gave them) is left out of the parsers' dicts;
read_config(text, interface) and read_ipconfig name the reason. Output that is not of the expected shape (a line
that is neither header, field nor continuation, a value that is not an address) raises
GuestConfigError `line N: field: reason` for the whole text.

Writing: each command is one cmd.exe line with the interface name in double quotes, the only quoting
cmd.exe and netsh share. Inside quotes cmd.exe still expands `%VAR%` and, with delayed expansion,
`!VAR!`; `"` would end the quote and `^ & | < >` are refused too, so a name cannot become a command
whatever the quoting; so are control characters and an empty name. `*` and `?` are taken literally
inside the quotes (cmd.exe never expands them; netsh matches the name exactly), and Windows names
its own virtual adapters with them (`Local Area Connection* 2`): they are accepted, and
restart_command says what ipconfig makes of them. Every other value written comes from
InterfaceConfig's ipaddress objects. DNS follows the rule of docs/format.md: servers cfg.dns names
are set; naming none, a static configuration sets `source=dhcp` (no servers) and a switch to DHCP
leaves the DNS setting as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from labkit.errors import GuestConfigError
from labkit.netconfig import InterfaceConfig

_REFUSED = frozenset('"%^&|<>!')
_MAX_NAME = 256  # IF_MAX_STRING_SIZE: the longest interface alias Windows stores
_LINK_LOCAL = IPv4Network("169.254.0.0/16")
_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")

# `netsh interface ip show config`
_SC_HEADER = re.compile(r'Configuration for interface "(.*)"')
_SC_FIELD = re.compile(r" +([A-Za-z][^:]*):(.*)")
_SC_MORE = re.compile(r" +([^ :]+) *")
_SC_PREFIX = re.compile(r"(\S+)/([0-9]{1,2}) \(mask (\S+)\)")

# `ipconfig /all`
_IC_HEADER = re.compile(r"(\S.*?) adapter (.+):")
_IC_FIELD = re.compile(r" {1,3}([A-Za-z][^:]*?)[ .]*:(.*)")
_IC_MORE = re.compile(r" {4,}(\S+)")
_IC_ADDRESS = re.compile(r"(\S+?)(?:\((\w+)\))?")


# ---------------------------------------------------------------- writing

def check_name(interface: str) -> str:
    """The interface name, if cmd.exe, netsh and ipconfig take it literally inside double quotes."""
    if not interface:
        raise GuestConfigError("interface name is empty")
    if len(interface) > _MAX_NAME:
        raise GuestConfigError(f"interface name is longer than {_MAX_NAME} characters")
    for c in interface:
        if c in _REFUSED or not c.isprintable():
            raise GuestConfigError(f"interface name {interface!r}: {c!r} would be interpreted by cmd.exe "
                                   "(refused: control characters and \" % ^ & | < > !)")
    return interface


def read_command() -> str:
    """The command whose output parse_show_config reads."""
    return "netsh interface ip show config"


def apply_commands(interface: str, cfg: InterfaceConfig) -> list[str]:
    """The netsh commands, in order, that give `interface` the configuration cfg.

    static: the address with its mask and gateway (`gateway=none` removes it; metric 1 as the
    Windows dialog sets it), then DNS exactly cfg.dns (none: source=dhcp, which serves nothing on a
    static interface). dhcp: address from DHCP, then cfg.dns when it names servers; naming none, the
    DNS setting is left as it is (docs/format.md, the DNS rule, the same for every dialect).
    """
    quoted = f'"{check_name(interface)}"'
    if not cfg.onboot:
        raise GuestConfigError(f"{interface}: onboot=False cannot be expressed on Windows "
                               "(netsh applies the configuration at once and keeps it)")
    if cfg.mode == "static":
        assert cfg.address is not None  # InterfaceConfig guarantees it
        gateway = f"gateway={cfg.gateway} gwmetric=1" if cfg.gateway is not None else "gateway=none"
        commands = [f"netsh interface ip set address name={quoted} source=static "
                    f"addr={cfg.address.ip} mask={cfg.address.netmask} {gateway}"]
    else:
        commands = [f"netsh interface ip set address name={quoted} source=dhcp"]
    if not cfg.dns and cfg.mode == "dhcp":
        return commands
    if not cfg.dns:
        return commands + [f"netsh interface ip set dnsservers name={quoted} source=dhcp"]
    commands.append(f"netsh interface ip set dnsservers name={quoted} source=static "
                    f"addr={cfg.dns[0]} register=primary")
    commands += [f"netsh interface ip add dnsservers name={quoted} addr={server} index={n}"
                 for n, server in enumerate(cfg.dns[1:], 2)]
    return commands


def restart_command(interface: str) -> str:
    """netsh applies at once; after a switch to dhcp this asks the DHCP server for a lease now.
    (On a static interface ipconfig /renew fails: run it for dhcp only.) ipconfig reads `*` and `?`
    in the name as wildcards, and Windows names its own virtual adapters so (`Local Area Connection*
    2`): the pattern matches the adapter itself, and any other adapter it matches is asked to renew
    its lease too, which changes nothing on a DHCP adapter."""
    return f'ipconfig /renew "{check_name(interface)}"'


# ---------------------------------------------------------------- reading

@dataclass(slots=True)
class _Field:
    label: str
    values: list[str]
    line: int
    lines: list[int] = field(default_factory=list)  # the line of each value (continuation lines)

    def each(self) -> list[tuple[str, int]]:
        return list(zip(self.values, self.lines, strict=True))


@dataclass(slots=True)
class _Block:
    name: str
    line: int
    fields: list[_Field] = field(default_factory=list)

    def all(self, *labels: str) -> list[_Field]:
        return [f for f in self.fields if f.label in labels]

    def one(self, label: str) -> _Field | None:
        found = self.all(label)
        if len(found) > 1:
            raise GuestConfigError(f"line {found[1].line}: {label}: appears twice for {self.name!r}")
        return found[0] if found else None


class _Unrepresentable(Exception):
    """An interface labkit cannot describe; the others are still read."""


def _lines(text: str) -> list[str]:
    if "\0" in text:
        raise GuestConfigError("output holds a NUL character")
    return re.split(r"\r?\n", text)


def _address(f: _Field, value: str, line: int | None = None) -> IPv4Address:
    try:
        if not _IPV4.fullmatch(value):
            raise ValueError
        return IPv4Address(value)
    except ValueError:
        raise GuestConfigError(f"line {line or f.line}: {f.label}: {value!r} is not an IPv4 address") from None


def _yes_no(f: _Field | None, block: _Block) -> bool:
    if f is None:
        raise GuestConfigError(f"line {block.line}: interface {block.name!r} has no DHCP enabled line")
    return _yes_no_value(f)


def _yes_no_value(f: _Field) -> bool:
    value = f.values[0] if f.values else ""
    if value not in ("Yes", "No"):
        raise GuestConfigError(f"line {f.line}: {f.label}: {value!r} is neither Yes nor No")
    return value == "Yes"


def _config(block: _Block, dhcp: bool, addresses: list[IPv4Interface], autoconf: bool,
            gateways: list[IPv4Address], dns: list[IPv4Address]) -> InterfaceConfig:
    if len(addresses) > 1:
        raise _Unrepresentable(f"{len(addresses)} IPv4 addresses (labkit describes one)")
    if len(gateways) > 1:
        raise _Unrepresentable(f"{len(gateways)} default gateways (labkit describes one)")
    address = addresses[0] if addresses else None
    gateway = gateways[0] if gateways else None
    if dhcp:
        if autoconf or (address is not None and address.ip in _LINK_LOCAL):
            address = None  # an autoconfiguration address: DHCP gave no lease
        return InterfaceConfig("dhcp", address, gateway, tuple(dns))
    if address is None:
        raise _Unrepresentable("static with no IPv4 address (a disconnected adapter shows none)")
    try:
        return InterfaceConfig("static", address, gateway, tuple(dns))
    except ValueError as e:
        raise _Unrepresentable(str(e)) from None


def _show_config_blocks(text: str) -> list[_Block]:
    blocks: list[_Block] = []
    for number, line in enumerate(_lines(text), 1):
        if not line.strip():
            continue
        if m := _SC_HEADER.fullmatch(line.rstrip(" ")):
            blocks.append(_Block(m.group(1), number))
        elif blocks and (m := _SC_FIELD.fullmatch(line)):
            value = m.group(2).strip()
            blocks[-1].fields.append(_Field(m.group(1).strip(), [value] if value else [], number,
                                            [number] if value else []))
        elif blocks and blocks[-1].fields and (m := _SC_MORE.fullmatch(line)):
            blocks[-1].fields[-1].values.append(m.group(1))
            blocks[-1].fields[-1].lines.append(number)
        else:
            raise GuestConfigError(f"line {number}: not English `netsh interface ip show config` output: "
                                   f"{line.strip()[:60]!r}")
    return blocks


def _from_show_config(block: _Block) -> InterfaceConfig:
    dhcp = _yes_no(block.one("DHCP enabled"), block)
    ips = [(f, _address(f, v, n)) for f in block.all("IP Address") for v, n in f.each()]
    prefixes = block.all("Subnet Prefix")
    if len(prefixes) != len(ips):
        where = prefixes[-1].line if prefixes else ips[-1][0].line if ips else block.line
        raise GuestConfigError(f"line {where}: {len(ips)} IP Address lines but {len(prefixes)} Subnet Prefix")
    addresses = []
    for (_, ip), f in zip(ips, prefixes, strict=True):
        m = _SC_PREFIX.fullmatch(" ".join(f.values))
        if m is None:
            raise GuestConfigError(f"line {f.line}: {f.label}: {' '.join(f.values)!r} is not NETWORK/LEN (mask M)")
        network, length, mask = _address(f, m.group(1)), int(m.group(2)), _address(f, m.group(3))
        try:
            address = IPv4Interface((ip, length))
        except ValueError:
            raise GuestConfigError(f"line {f.line}: {f.label}: /{length} is not a prefix length") from None
        if address.network.network_address != network or address.netmask != mask:
            raise GuestConfigError(f"line {f.line}: {f.label}: {' '.join(f.values)!r} does not match "
                                   f"{ip}/{length}")
        addresses.append(address)
    gateways = [_address(f, v, n) for f in block.all("Default Gateway") for v, n in f.each()]
    static_dns = block.one("Statically Configured DNS Servers")
    dns = [_address(static_dns, v, n) for v, n in static_dns.each() if v != "None"] if static_dns else []
    return _config(block, dhcp, addresses, False, gateways, dns)


def _read_all(blocks: list[_Block], convert: Callable[[_Block], InterfaceConfig]) -> dict[str, InterfaceConfig | _Unrepresentable]:
    out: dict[str, InterfaceConfig | _Unrepresentable] = {}
    for block in blocks:
        if block.name in out:
            raise GuestConfigError(f"line {block.line}: interface {block.name!r} appears twice")
        try:
            out[block.name] = convert(block)
        except _Unrepresentable as e:
            out[block.name] = e
    return out


def _representable(found: dict[str, InterfaceConfig | _Unrepresentable]) -> dict[str, InterfaceConfig]:
    return {name: cfg for name, cfg in found.items() if isinstance(cfg, InterfaceConfig)}


def parse_show_config(text: str) -> dict[str, InterfaceConfig]:
    """Each interface of `netsh interface ip show config` output that labkit can describe, by name."""
    return _representable(_read_all(_show_config_blocks(text), _from_show_config))


def _ipconfig_blocks(text: str) -> list[_Block]:
    blocks: list[_Block] = []
    preamble = True  # "Windows IP Configuration" and its host-wide fields
    for number, line in enumerate(_lines(text), 1):
        if not line.strip():
            continue
        if not line[0].isspace():
            if m := _IC_HEADER.fullmatch(line.rstrip(" ")):
                blocks.append(_Block(m.group(2), number))
                preamble = False
                continue
            if preamble and not blocks:
                continue
        elif preamble:
            continue
        elif m := _IC_FIELD.fullmatch(line):
            value = m.group(2).strip()
            blocks[-1].fields.append(_Field(m.group(1), [value] if value else [], number,
                                            [number] if value else []))
            continue
        elif blocks[-1].fields and (m := _IC_MORE.fullmatch(line)):
            blocks[-1].fields[-1].values.append(m.group(1))
            blocks[-1].fields[-1].lines.append(number)
            continue
        raise GuestConfigError(f"line {number}: not English `ipconfig /all` output: {line.strip()[:60]!r}")
    return blocks


def _ipconfig_address(f: _Field) -> IPv4Address:
    m = _IC_ADDRESS.fullmatch(f.values[0] if f.values else "")
    if m is None:
        raise GuestConfigError(f"line {f.line}: {f.label}: no address")
    return _address(f, m.group(1))


def _from_ipconfig(block: _Block) -> InterfaceConfig:
    enabled = block.one("DHCP Enabled")
    if enabled is None:  # plain `ipconfig` (without /all): addresses, but not where they come from
        raise _Unrepresentable("the output does not say whether DHCP is enabled (plain ipconfig; "
                               "ipconfig /all or netsh interface ip show config says it)")
    dhcp = _yes_no_value(enabled)
    ips = [_ipconfig_address(f) for f in block.all("IPv4 Address", "IP Address")]
    autoconf = bool(block.all("Autoconfiguration IPv4 Address", "Autoconfiguration IP Address"))
    masks = block.all("Subnet Mask")
    masks = masks[:len(ips)] if autoconf else masks  # the autoconfiguration address has its own mask
    if len(masks) != len(ips):
        raise GuestConfigError(f"line {block.line}: adapter {block.name!r}: {len(ips)} IPv4 Address lines "
                               f"but {len(masks)} Subnet Mask")
    addresses = []
    for ip, f in zip(ips, masks, strict=True):
        try:
            addresses.append(IPv4Interface(f"{ip}/{_address(f, f.values[0] if f.values else '')}"))
        except ValueError:
            raise GuestConfigError(f"line {f.line}: {f.label}: {f.values[0]!r} is not a netmask") from None
    # IPv6 entries (fe80::1%12) share these lists with the IPv4 ones; they belong to IPv6.
    gateways = [_address(f, v, n) for f in block.all("Default Gateway") for v, n in f.each() if ":" not in v]
    dns = [_address(f, v, n) for f in block.all("DNS Servers") for v, n in f.each() if ":" not in v]
    return _config(block, dhcp, addresses, autoconf, gateways, dns)


def parse_ipconfig(text: str) -> dict[str, InterfaceConfig]:
    """Each adapter of `ipconfig /all` output that labkit can describe, by connection name."""
    return _representable(_read_all(_ipconfig_blocks(text), _from_ipconfig))


def read_ipconfig(text: str, interface: str) -> InterfaceConfig:
    """`interface` from `ipconfig /all` output; GuestConfigError says why when it is absent or left out."""
    return _one(_read_all(_ipconfig_blocks(text), _from_ipconfig), interface)


def ipconfig_names(text: str) -> list[str]:
    """Every adapter `ipconfig` (with or without /all) lists, in order, described or not."""
    return [block.name for block in _ipconfig_blocks(text)]


def read_config(text: str, interface: str) -> InterfaceConfig:
    """`interface` from `show config` output; GuestConfigError says why when it is absent or left out."""
    return _one(_read_all(_show_config_blocks(text), _from_show_config), interface)


def _one(found: dict[str, InterfaceConfig | _Unrepresentable], interface: str) -> InterfaceConfig:
    if interface not in found:
        raise GuestConfigError(f"interface {interface!r} is not in the output "
                               f"(found: {', '.join(map(repr, found)) or 'none'})")
    cfg = found[interface]
    if isinstance(cfg, _Unrepresentable):
        raise GuestConfigError(f"interface {interface!r}: {cfg}")
    return cfg
