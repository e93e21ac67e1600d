"""What a Workstation host says about its virtual networks, in one shape for every source.

The host's networking files (/etc/vmware/networking, vmnetN/nat.conf, vmnetN/dhcpd.conf) and
vmrest's /vmnets both describe the same VMnets; both are turned into `VnetFacts` so the lab model
is fed the host's real subnets, DHCP pools and NAT settings whichever source was readable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Literal

VnetType = Literal["nat", "hostonly", "bridged", "custom"]


@dataclass(frozen=True, slots=True)
class PortForward:
    """An [incomingtcp]/[incomingudp] rule of a NAT network: host port -> guest address:port."""

    protocol: Literal["tcp", "udp"]
    host_port: int
    guest: IPv4Address
    guest_port: int
    description: str | None = None


@dataclass(frozen=True, slots=True)
class DhcpRange:
    start: IPv4Address
    end: IPv4Address
    server: IPv4Address | None = None


@dataclass(frozen=True, slots=True)
class VnetFacts:
    """One VMnet as the host has it; None: the source did not say."""

    name: str  # "vmnet8" (lower case, as the files and vmrest spell it)
    type: VnetType
    subnet: IPv4Network | None = None
    host_address: IPv4Address | None = None  # the host's virtual adapter on this VMnet
    host_adapter_enabled: bool | None = None
    gateway: IPv4Address | None = None  # the NAT device (nat networks)
    dhcp: DhcpRange | None = None
    port_forwards: tuple[PortForward, ...] = field(default_factory=tuple)
