"""Read a Linux Workstation host's networking files into VnetFacts.

Three files say what the Virtual Network Editor set (vmware-networks regenerates the last two
from the first, so they normally agree; when they do not, labkit says where, rather than guess):

- `networking` (read here): `VERSION=1,0`, then commands applied in order: `answer
  VNET_<n>_<KEY> <value>` (HOSTONLY_SUBNET, HOSTONLY_NETMASK, NAT, DHCP, VIRTUAL_ADAPTER,
  VIRTUAL_ADAPTER_ADDR...), `remove_answer`, `add_bridge_mapping <iface> <n>`, `add_nat_portfwd
  <n> tcp|udp <port> <ip> <port>` and their `remove_` forms, plus DHCP reservations and NAT
  prefixes labkit does not need.
- `vmnet<n>/nat/nat.conf` and `vmnet<n>/dhcpd/dhcpd.conf` (parsed by vmnetconf.py): the NAT
  device and port forwards, the DHCP pool and the host adapter's address.

Malformed content is an InputError naming the file and line; a missing nat.conf or dhcpd.conf
only means those facts stay unknown (None).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from ipaddress import IPv4Network, NetmaskValueError
from pathlib import Path

from labkit.backends.workstation.facts import PortForward, VnetFacts, VnetType
from labkit.backends.workstation.vmnetconf import (
    DhcpConf,
    LineErr,
    NatConf,
    parse_int,
    parse_ip,
    parse_protocol,
    read_text,
)
from labkit.errors import InputError

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
    vnets = _parse_networking(path, read_text(path))
    facts = []
    for number in sorted(vnets):
        facts.append(_facts(folder, vnets[number]))
    return facts


def _lines(text: str) -> Iterator[tuple[int, list[str]]]:
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
        n = parse_int(number, 0, 255, partial(err, line=line), "VMnet number ")
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
            proto = parse_protocol(args[1], partial(err, line=line))
            port = parse_int(args[2], 1, 65535, partial(err, line=line), "host port ")
            guest = parse_ip(args[3], partial(err, line=line))
            guest_port = parse_int(args[4], 1, 65535, partial(err, line=line), "guest port ")
            vnet(args[0], line).forwards[(proto, port)] = (PortForward(proto, port, guest, guest_port), line)
        elif head == "remove_nat_portfwd":
            _arity(head, args, 3, err, line)
            proto = parse_protocol(args[1], partial(err, line=line))
            vnet(args[0], line).forwards.pop((proto, parse_int(args[2], 1, 65535, partial(err, line=line))), None)
        elif head not in _IGNORED:
            raise err(f"unknown command {head!r}", line)
    if not version_seen and vnets:
        raise InputError("no VERSION=1,0 line: not a VMware networking file", file=str(path), line=1)
    return vnets


def _arity(head: str, args: list[str], count: int, err: LineErr, line: int) -> None:
    if len(args) != count:
        raise err(f"{head} takes {count} values, found {len(args)}", line)


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
    kind: VnetType
    if nat:
        kind = "nat"
    elif v.bridged_to or (v.number == 0 and subnet is None):
        kind = "bridged"
    else:
        kind = "hostonly" if subnet is not None else "custom"

    host_address = None
    if "VIRTUAL_ADAPTER_ADDR" in v.answers:
        value, line = v.answers["VIRTUAL_ADAPTER_ADDR"]
        host_address = parse_ip(value, lambda m: InputError(m, file=str(path), line=line))
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
