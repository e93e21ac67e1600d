"""The hypervisor protocol: what labkit asks of VMware (or of its stand-ins).

Small on purpose: move an adapter to a network, power, read what VMware Tools reports about the
guest's NICs, and switch the host's virtual adapter for a network on or off. Each backend
(sim, netns, vSphere, Workstation) implements exactly this, so steps are written once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface
from typing import Protocol

from labkit.model import Adapter


@dataclass(frozen=True, slots=True)
class GuestNic:
    """One guest NIC as the hypervisor sees it (VMware Tools' guest.net / vmrest nicips)."""

    mac: str | None
    addresses: tuple[IPv4Interface, ...] = field(default_factory=tuple)
    gateway: IPv4Address | None = None


class Hypervisor(Protocol):
    kind: str

    def adapter_network(self, vm: str, adapter: Adapter) -> str | None:
        """The inventory network name the adapter is on now (None: disconnected)."""
        ...

    def set_adapter_network(self, vm: str, adapter: Adapter, network: str) -> bool:
        """Move the adapter to `network` (an inventory network name); False when already there."""
        ...

    def powered_on(self, vm: str) -> bool: ...

    def set_power(self, vm: str, on: bool) -> bool: ...

    def guest_nics(self, vm: str) -> list[GuestNic]: ...

    def host_adapter_enabled(self, network: str) -> bool: ...

    def set_host_adapter(self, network: str, enabled: bool) -> bool: ...

    def close(self) -> None: ...
