"""The hypervisor protocol: what labkit asks of VMware (or of its stand-ins).

Small on purpose: move an adapter to a network, power, read what VMware Tools reports about the
guest's NICs, and switch the host's virtual adapter for a network on or off. Each backend
(sim, netns, vSphere, Workstation) implements exactly this, so steps are written once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface
from typing import Protocol

from labkit.model import Adapter, Inventory


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


def address_on(nics: list[GuestNic], mac: str | None) -> IPv4Address | None:
    """The first IPv4 address of the NIC with this MAC (any case); without a MAC, only a lone NIC
    can be meant, so several NICs give None rather than a guess."""
    if mac is None:
        candidates = nics if len(nics) == 1 else []
    else:
        candidates = [n for n in nics if (n.mac or "").lower() == mac.lower()]
    return next((n.addresses[0].ip for n in candidates if n.addresses), None)


def guest_address(inventory: Inventory, hypervisor: Hypervisor, node: str, interface: str) -> IPv4Address | None:
    """What the hypervisor reports for a VM's interface, matched by the adapter's MAC (a Lab's
    guest_address: safe apply finds a DHCP guest by it)."""
    adapter = inventory.vm(node).adapter(interface)
    return address_on(hypervisor.guest_nics(node), adapter.mac if adapter else None)
