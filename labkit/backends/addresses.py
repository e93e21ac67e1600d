"""A guest's address as the hypervisor reports it, matched to an adapter by MAC.

Shared by the backends whose guests can change address under labkit (netns, vSphere,
Workstation): safe apply and the fallback transport follow a DHCP guest by it.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from labkit.model import Inventory
from labkit.protocols import GuestNic, Hypervisor


def address_on(nics: list[GuestNic], mac: str | None) -> IPv4Address | None:
    """The first IPv4 address of the NIC with this MAC (any case); without a MAC, only a lone NIC
    can be meant, so several NICs give None rather than a guess."""
    if mac is None:
        candidates = nics if len(nics) == 1 else []
    else:
        candidates = [n for n in nics if (n.mac or "").lower() == mac.lower()]
    return next((n.addresses[0].ip for n in candidates if n.addresses), None)


def guest_address(inventory: Inventory, hypervisor: Hypervisor, node: str, interface: str) -> IPv4Address | None:
    """What the hypervisor reports for a VM's interface (None: nothing yet, or no such adapter)."""
    adapter = inventory.vm(node).adapter(interface)
    return address_on(hypervisor.guest_nics(node), adapter.mac if adapter else None)
