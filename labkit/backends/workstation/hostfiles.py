"""Read a Linux Workstation host's networking files into VnetFacts.

Three files say what the Virtual Network Editor set (vmware-networks regenerates the last two
from the first, so they normally agree; when they do not, labkit says where, rather than guess):

- `networking`: `VERSION=1,0`, then commands applied in order: `answer VNET_<n>_<KEY> <value>`
  (HOSTONLY_SUBNET, HOSTONLY_NETMASK, NAT, DHCP, VIRTUAL_ADAPTER, VIRTUAL_ADAPTER_ADDR...),
  `remove_answer`, `add_bridge_mapping <iface> <n>`, `add_nat_portfwd <n> tcp|udp <port> <ip>
  <port>` and their `remove_` forms, plus DHCP reservations and NAT prefixes labkit does not need.
- `vmnet<n>/nat/nat.conf`: INI-like; `[host] ip` is the NAT device (the VMs' gateway), port
  forwards are `[incomingtcp]` / `[incomingudp]` lines `<host port> = <guest ip>:<guest port>`.
- `vmnet<n>/dhcpd/dhcpd.conf`: ISC dhcpd syntax; `subnet ... { range A B; option routers G; }`
  and `host vmnet<n> { fixed-address <the host adapter>; }`.

Malformed content is an InputError naming the file and line; a missing nat.conf or dhcpd.conf
only means those facts stay unknown (None).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import partial
from ipaddress import AddressValueError, IPv4Address, IPv4Interface, IPv4Network, NetmaskValueError
from pathlib import Path

from labkit.errors import InputError
from labkit.backends.workstation.hostnet import DhcpRange, PortForward, VnetFacts

_ANSWER = re.compile(r"^VNET_(\d{1,3})_([A-Z0-9_]+)$")
_IGNORED = {"add_dhcp_mac_to_ip", "remove_dhcp_mac_to_ip", "add_nat_prefix", "remove_nat_prefix"}


@dataclass
class _Vnet:
    """One VMnet while `networking` is being read: each answer with the line it came from."""

    number: int
    answers: dict[str, tuple[str, int]] = field(default_factory=dict)
    bridged_to: list[str] = field(default_factory=list)
    forwards: dict[tuple[str, int], tuple[PortForward, int]] = field(default_factory=dict)


def read_host_networks(networking_dir: str | Path) -> list[VnetFacts]:
    """Every VMnet `networking_dir/networking` defines, with its nat.conf and dhcpd.conf facts."""
    folder = Path(networking_dir)
    path = folder / "networking"
    vnets = _parse_networking(path, _read(path))
    facts = []
    for number in sorted(vnets):
        facts.append(_facts(folder, vnets[number]))
    return facts


def _read(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("no such file (is VMware Workstation installed on this host?)", file=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 text (byte 0x{data[exc.start]:02x})", file=str(path), line=line) from None


def _read_optional(path: Path) -> str | None:
    return _read(path) if path.is_file() else None


def _lines(text: str):
    """(line number, tokens) for every line with content; `#` starts a comment."""
    for number, raw in enumerate(text.splitlines(), 1):
        tokens = raw.split("#", 1)[0].split()
        if tokens:
            yield number, tokens


def _parse_networking(path: Path, text: str) -> dict[int, _Vnet]:
    vnets: dict[int, _Vnet] = {}

    def err(message: str, line: int) -> InputError:
        return InputError(message, file=str(path), line=line)

    def vnet(number: str, line: int) -> _Vnet:
        n = _int(number, 0, 255, partial(err, line=line), "VMnet number ")
        return vnets.setdefault(n, _Vnet(n))

    version_seen = False
    for line, tokens in _lines(text):
        head, args = tokens[0], tokens[1:]
        if head.startswith("VERSION="):
            if head.split("=", 1)[1].split(",")[0] != "1":
                raise err(f"unsupported {head} (labkit reads VERSION=1,x)", line)
            version_seen = True
        elif head in ("answer", "remove_answer"):
            if not args:
                raise err(f"{head} without a key", line)
            m = _ANSWER.match(args[0])
            if m is None:
                continue  # host-wide answers (VNL_DEFAULT_BRIDGE_VNET...) say nothing about one VMnet
            v = vnet(m.group(1), line)
            if head == "remove_answer":
                v.answers.pop(m.group(2), None)
            elif len(args) < 2:
                raise err(f"answer {args[0]} has no value", line)
            else:
                v.answers[m.group(2)] = (" ".join(args[1:]), line)
        elif head == "add_bridge_mapping":
            _arity(head, args, 2, err, line)
            if args[1] != "-1":
                vnet(args[1], line).bridged_to.append(args[0])
        elif head == "remove_bridge_mapping":
            _arity(head, args, 1, err, line)
            for v in vnets.values():
                v.bridged_to = [i for i in v.bridged_to if i != args[0]]
        elif head == "add_nat_portfwd":
            _arity(head, args, 5, err, line)
            proto = _proto(args[1], partial(err, line=line))
            port = _int(args[2], 1, 65535, partial(err, line=line), "host port ")
            guest = _ip(args[3], partial(err, line=line))
            guest_port = _int(args[4], 1, 65535, partial(err, line=line), "guest port ")
            vnet(args[0], line).forwards[(proto, port)] = (PortForward(proto, port, guest, guest_port), line)
        elif head == "remove_nat_portfwd":
            _arity(head, args, 3, err, line)
            proto = _proto(args[1], partial(err, line=line))
            vnet(args[0], line).forwards.pop((proto, _int(args[2], 1, 65535, partial(err, line=line))), None)
        elif head not in _IGNORED:
            raise err(f"unknown command {head!r}", line)
    if not version_seen and vnets:
        raise InputError("no VERSION=1,0 line: not a VMware networking file", file=str(path), line=1)
    return vnets


def _arity(head: str, args: list[str], count: int, err, line: int) -> None:
    if len(args) != count:
        raise err(f"{head} takes {count} values, found {len(args)}", line)


def _int(text: str, low: int, high: int, err, what: str = "") -> int:
    if not re.fullmatch(r"-?\d{1,6}", text) or not low <= int(text) <= high:
        raise err(f"{what}{text!r} is not a number from {low} to {high}")
    return int(text)


def _ip(text: str, err) -> IPv4Address:
    try:
        return IPv4Address(text)
    except AddressValueError:
        raise err(f"{text!r} is not an IPv4 address") from None


def _proto(text: str, err) -> str:
    if text.lower() not in ("tcp", "udp"):
        raise err(f"protocol {text!r} is not tcp or udp")
    return text.lower()


def _yes(v: _Vnet, key: str, path: Path) -> bool | None:
    if key not in v.answers:
        return None
    value, line = v.answers[key]
    if value.lower() not in ("yes", "no"):
        raise InputError(f"VNET_{v.number}_{key} is {value!r}, expected yes or no", file=str(path), line=line)
    return value.lower() == "yes"


def _facts(folder: Path, v: _Vnet) -> VnetFacts:
    path = folder / "networking"
    name = f"vmnet{v.number}"
    subnet = _subnet(v, path)
    nat = bool(_yes(v, "NAT", path))
    adapter = _yes(v, "VIRTUAL_ADAPTER", path)
    if nat:
        kind = "nat"
    elif v.bridged_to or (v.number == 0 and subnet is None):
        kind = "bridged"
    else:
        kind = "hostonly" if subnet is not None else "custom"

    host_address = None
    if "VIRTUAL_ADAPTER_ADDR" in v.answers:
        value, line = v.answers["VIRTUAL_ADAPTER_ADDR"]
        host_address = _ip(value, lambda m: InputError(m, file=str(path), line=line))
    dhcp = gateway = None
    if _yes(v, "DHCP", path) and subnet is not None:
        conf = DhcpConf.read(folder / name / "dhcpd" / "dhcpd.conf", name, subnet)
        if conf is not None:
            dhcp, gateway = conf.range, conf.routers
            host_address = host_address or conf.host_address
    forwards = {key: fwd for key, (fwd, _) in v.forwards.items()}
    if nat:
        natconf = NatConf.read(folder / name / "nat" / "nat.conf", name, subnet)
        if natconf is not None:
            gateway = natconf.gateway or gateway
            for key, (fwd, line) in natconf.forwards.items():
                if key in forwards and forwards[key] != fwd:
                    raise InputError(f"{fwd.protocol} port {fwd.host_port} forwards to {fwd.guest}:{fwd.guest_port} "
                                     f"here but to {forwards[key].guest}:{forwards[key].guest_port} in {path} "
                                     f"(line {v.forwards[key][1]})", file=str(natconf.path), line=line)
                forwards.setdefault(key, fwd)
    if host_address is None and subnet is not None and adapter is not None:
        host_address = subnet.network_address + 1  # Workstation gives the host adapter .1
    if subnet is not None:
        for what, addr in (("host adapter", host_address), ("NAT gateway", gateway)):
            if addr is not None and addr not in subnet:
                raise InputError(f"{name}'s {what} {addr} is outside its subnet {subnet}", file=str(path))
    return VnetFacts(name=name, type=kind, subnet=subnet, host_address=host_address,
                     host_adapter_enabled=adapter, gateway=gateway if nat else None, dhcp=dhcp,
                     port_forwards=tuple(forwards[k] for k in sorted(forwards)))


def _subnet(v: _Vnet, path: Path) -> IPv4Network | None:
    if "HOSTONLY_SUBNET" not in v.answers:
        return None
    address, line = v.answers["HOSTONLY_SUBNET"]
    mask, mask_line = v.answers.get("HOSTONLY_NETMASK", ("255.255.255.0", line))
    try:
        netmask = IPv4Network(f"0.0.0.0/{mask}").prefixlen
    except (ValueError, NetmaskValueError):
        raise InputError(f"VNET_{v.number}_HOSTONLY_NETMASK {mask!r} is not a netmask",
                         file=str(path), line=mask_line) from None
    try:
        return IPv4Network(f"{address}/{netmask}")
    except ValueError as exc:
        raise InputError(f"VNET_{v.number}_HOSTONLY_SUBNET {address!r}: {exc}", file=str(path), line=line) from None


@dataclass(frozen=True)
class NatConf:
    """The facts of one vmnet's nat.conf: the NAT device and its port forwards (with their lines)."""

    path: Path
    gateway: IPv4Address | None
    forwards: dict[tuple[str, int], tuple[PortForward, int]]

    @classmethod
    def read(cls, path: Path, name: str, subnet: IPv4Network | None) -> NatConf | None:
        text = _read_optional(path)
        return None if text is None else cls.parse(text, path, name, subnet)

    @classmethod
    def parse(cls, text: str, path: Path, name: str, subnet: IPv4Network | None) -> NatConf:
        def err(message: str, line: int) -> InputError:
            return InputError(message, file=str(path), line=line)

        section, gateway, forwards = None, None, {}
        for line, raw in enumerate(text.splitlines(), 1):
            body = raw.split("#", 1)[0].strip()
            if not body or body.startswith(";"):
                continue
            if body.startswith("["):
                if not body.endswith("]"):
                    raise err(f"section header {body!r} has no closing ']'", line)
                section = body[1:-1].strip().lower()
                continue
            key, eq, value = (s.strip() for s in body.partition("="))
            if not eq or not key:
                raise err(f"not a 'key = value' line: {body[:60]!r}", line)
            if section == "host" and key.lower() == "ip":
                try:
                    iface = IPv4Interface(value)
                except ValueError:
                    raise err(f"ip {value!r} is not an IPv4 address", line) from None
                gateway = iface.ip
                if subnet is not None and gateway not in subnet:
                    raise err(f"the NAT device {gateway} is outside {name}'s subnet {subnet}", line)
            elif section == "host" and key.lower() == "device":
                if value.rsplit("/", 1)[-1].lower() != name:
                    raise err(f"device {value!r} is not {name}, whose folder this file is in", line)
            elif section in ("incomingtcp", "incomingudp"):
                proto = section.removeprefix("incoming")
                port = _int(key, 1, 65535, partial(err, line=line), "host port ")
                guest, colon, guest_port = value.rpartition(":")
                if not colon:
                    raise err(f"{value!r} is not <guest address>:<port>", line)
                fwd = PortForward(proto, port, _ip(guest.strip(), partial(err, line=line)),
                                  _int(guest_port.strip(), 1, 65535, partial(err, line=line), "guest port "))
                if (proto, port) in forwards:
                    raise err(f"{proto} port {port} is forwarded twice (also line {forwards[(proto, port)][1]})", line)
                forwards[(proto, port)] = (fwd, line)
        return cls(path, gateway, forwards)


@dataclass(frozen=True)
class DhcpConf:
    """The facts of one vmnet's dhcpd.conf: its pool, the routers it hands out, the host's address."""

    range: DhcpRange | None
    routers: IPv4Address | None
    host_address: IPv4Address | None

    @classmethod
    def read(cls, path: Path, name: str, subnet: IPv4Network) -> DhcpConf | None:
        text = _read_optional(path)
        return None if text is None else cls.parse(text, path, name, subnet)

    @classmethod
    def parse(cls, text: str, path: Path, name: str, subnet: IPv4Network) -> DhcpConf:
        def err(message: str, line: int) -> InputError:
            return InputError(message, file=str(path), line=line)

        pool = routers = host_address = None
        found = False
        for words, block, line in _statements(_tokens(text, err), err):
            head = [w for w, _ in words]
            if head[:1] == ["subnet"] and block is not None:
                if len(head) != 4 or head[2] != "netmask":
                    raise err("expected 'subnet <address> netmask <mask> {'", line)
                try:
                    declared = IPv4Network(f"{head[1]}/{head[3]}")
                except ValueError as exc:
                    raise err(f"subnet {head[1]} netmask {head[3]}: {exc}", line) from None
                if declared != subnet:
                    continue  # another subnet's declaration (VMware writes one; a user may add more)
                found = True
                pool, routers = _subnet_block(block, subnet, err)
            elif head[:1] == ["host"] and block is not None and len(head) == 2 and head[1].lower() == name:
                for inner, _, iline in block:
                    iw = [w for w, _ in inner]
                    if iw[:1] == ["fixed-address"] and len(iw) == 2:
                        host_address = _ip(iw[1], lambda m, ln=iline: err(m, ln))
        if not found:
            raise err(f"no 'subnet {subnet.network_address} netmask {subnet.netmask}' declaration, "
                      f"but the networking file gives {name} that subnet", 1)
        return cls(pool, routers, host_address)


def _subnet_block(block, subnet: IPv4Network, err):
    pool = routers = None
    for words, _, line in block:
        w = [t for t, _ in words]
        if w[:1] == ["range"]:
            addrs = w[2:] if w[1:2] == ["dynamic-bootp"] else w[1:]
            if len(addrs) not in (1, 2):
                raise err("expected 'range <first> <last>;'", line)
            first = _ip(addrs[0], partial(err, line=line))
            last = _ip(addrs[-1], partial(err, line=line))
            for a in (first, last):
                if a not in subnet:
                    raise err(f"range address {a} is outside the subnet {subnet}", line)
            if int(first) > int(last):
                raise err(f"range {first} {last} ends before it starts", line)
            pool = DhcpRange(first, last)
        elif w[:2] == ["option", "routers"] and len(w) >= 3:
            routers = _ip(w[2].rstrip(","), partial(err, line=line))
    return pool, routers


def _tokens(text: str, err):
    """ISC dhcpd's lexemes with their lines: words, quoted strings, and ; { } ,."""
    token = re.compile(r'"(?:[^"\\\n]|\\.)*"|[;{},]|[^\s;{},"#]+|#[^\n]*|\n|[ \t\r\f\v]+|"')
    line = 1
    for m in token.finditer(text):
        t = m.group()
        if t == "\n":
            line += 1
        elif t == '"':
            raise err("a quote opened here is never closed", line)
        elif not t.isspace() and not t.startswith("#"):
            yield t, line


def _statements(tokens, err, opened: int | None = None):
    """Nested (words, block or None, line) statements; a block is the same list, one level down."""
    out, words = [], []
    for tok, line in tokens:
        if tok == ";":
            if words:
                out.append((words, None, words[0][1]))
            words = []
        elif tok == "{":
            start = words[0][1] if words else line
            out.append((words, _statements(tokens, err, line), start))
            words = []
        elif tok == "}":
            if opened is None:
                raise err("a '}' without its '{'", line)
            if words:
                raise err(f"missing ';' after {' '.join(w for w, _ in words)!r}", words[0][1])
            return out
        elif tok != ",":
            words.append((tok, line))
    if opened is not None:
        raise err("a '{' opened here is never closed", opened)
    if words:
        raise err(f"missing ';' after {' '.join(w for w, _ in words)!r}", words[0][1])
    return out
