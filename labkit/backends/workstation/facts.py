"""What a Workstation host says about one of its virtual networks, in one shape for every source.

The host's networking files (hostfiles.py) and vmrest's /vmnet (vmrest.py) describe the same
VMnets; both produce these types and hostnet.py merges them into an inventory. They live here, in
a module that imports neither reader nor the merger, so none of the three depends on another.
`HostNic` is the host OS's view of its own adapter on a VMnet (winadapters.py, linuxadapters.py).
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
    # fields that are Workstation's defaults, not read from the host (vmrest does not report them):
    # they fill what the inventory leaves out but never contradict what it says
    assumed: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class HostNic:
    """The host's own virtual adapter on a VMnet, as the host's OS reports it now."""

    vnet: str  # "vmnet8"
    name: str  # the OS's name for it: "VMware Network Adapter VMnet8" (Windows), "vmnet8" (Linux)
    enabled: bool  # administratively up (Windows: not "Disabled"; Linux: the UP flag)
    status: str  # the OS's own word for its state ("Up", "Disabled", "UNKNOWN"...), for messages
