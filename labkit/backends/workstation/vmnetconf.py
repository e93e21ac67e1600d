"""Parse the per-VMnet files of a Linux Workstation host: nat.conf and dhcpd.conf.

- `vmnet<n>/nat/nat.conf`: INI-like; `[host] ip` is the NAT device (the VMs' gateway), port
  forwards are `[incomingtcp]` / `[incomingudp]` lines `<host port> = <guest ip>:<guest port>`.
- `vmnet<n>/dhcpd/dhcpd.conf`: ISC dhcpd syntax; `subnet ... { range A B; option routers G; }`
  and `host vmnet<n> { fixed-address <the host adapter>; }`.

Both are optional (None when absent); malformed content is an InputError naming the file and
line. The small readers here (text, numbers, addresses) are shared with hostfiles.py, which reads
the `networking` file that names the VMnets.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from ipaddress import AddressValueError, IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Literal, Protocol

from labkit.backends.workstation.facts import DhcpRange, PortForward
from labkit.errors import InputError

Err = Callable[[str], InputError]  # message -> the error, its place already known


class LineErr(Protocol):
    """(message, line) -> the error, its file already known."""

    def __call__(self, message: str, line: int) -> InputError: ...


Words = list[tuple[str, int]]  # a dhcpd.conf statement's words with their lines
Statement = tuple[Words, "list[Statement] | None", int]  # words, block (nested statements), line


def read_text(path: Path) -> str:
    """A host file's text; missing, unreadable or not UTF-8 is an InputError naming it."""
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


def read_optional(path: Path) -> str | None:
    """None when the file is not there: its facts stay unknown."""
    return read_text(path) if path.is_file() else None


def parse_int(text: str, low: int, high: int, err: Err, what: str = "") -> int:
    if not re.fullmatch(r"-?\d{1,6}", text) or not low <= int(text) <= high:
        raise err(f"{what}{text!r} is not a number from {low} to {high}")
    return int(text)


def parse_ip(text: str, err: Err) -> IPv4Address:
    try:
        return IPv4Address(text)
    except AddressValueError:
        raise err(f"{text!r} is not an IPv4 address") from None


def parse_protocol(text: str, err: Err) -> Literal["tcp", "udp"]:
    if text.lower() not in ("tcp", "udp"):
        raise err(f"protocol {text!r} is not tcp or udp")
    return "tcp" if text.lower() == "tcp" else "udp"


@dataclass(frozen=True)
class NatConf:
    """The facts of one vmnet's nat.conf: the NAT device and its port forwards (with their lines)."""

    path: Path
    gateway: IPv4Address | None
    forwards: dict[tuple[str, int], tuple[PortForward, int]]

    @classmethod
    def read(cls, path: Path, name: str, subnet: IPv4Network | None) -> NatConf | None:
        text = read_optional(path)
        return None if text is None else cls.parse(text, path, name, subnet)

    @classmethod
    def parse(cls, text: str, path: Path, name: str, subnet: IPv4Network | None) -> NatConf:
        def err(message: str, line: int) -> InputError:
            return InputError(message, file=str(path), line=line)

        section: str | None = None
        gateway: IPv4Address | None = None
        forwards: dict[tuple[str, int], tuple[PortForward, int]] = {}
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
                proto = parse_protocol(section.removeprefix("incoming"), partial(err, line=line))
                port = parse_int(key, 1, 65535, partial(err, line=line), "host port ")
                guest, colon, guest_port = value.rpartition(":")
                if not colon:
                    raise err(f"{value!r} is not <guest address>:<port>", line)
                fwd = PortForward(proto, port, parse_ip(guest.strip(), partial(err, line=line)),
                                  parse_int(guest_port.strip(), 1, 65535, partial(err, line=line), "guest port "))
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
        text = read_optional(path)
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
                        host_address = parse_ip(iw[1], partial(err, line=iline))
        if not found:
            raise err(f"no 'subnet {subnet.network_address} netmask {subnet.netmask}' declaration, "
                      f"but the networking file gives {name} that subnet", 1)
        return cls(pool, routers, host_address)


def _subnet_block(block: list[Statement], subnet: IPv4Network,
                  err: LineErr) -> tuple[DhcpRange | None, IPv4Address | None]:
    pool: DhcpRange | None = None
    routers: IPv4Address | None = None
    for words, _, line in block:
        w = [t for t, _ in words]
        if w[:1] == ["range"]:
            addrs = w[2:] if w[1:2] == ["dynamic-bootp"] else w[1:]
            if len(addrs) not in (1, 2):
                raise err("expected 'range <first> <last>;'", line)
            first = parse_ip(addrs[0], partial(err, line=line))
            last = parse_ip(addrs[-1], partial(err, line=line))
            for a in (first, last):
                if a not in subnet:
                    raise err(f"range address {a} is outside the subnet {subnet}", line)
            if int(first) > int(last):
                raise err(f"range {first} {last} ends before it starts", line)
            pool = DhcpRange(first, last)
        elif w[:2] == ["option", "routers"] and len(w) >= 3:
            routers = parse_ip(w[2].rstrip(","), partial(err, line=line))
    return pool, routers


def _tokens(text: str, err: LineErr) -> Iterator[tuple[str, int]]:
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


def _statements(tokens: Iterator[tuple[str, int]], err: LineErr, opened: int | None = None) -> list[Statement]:
    """Nested (words, block or None, line) statements; a block is the same list, one level down."""
    out: list[Statement] = []
    words: Words = []
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
