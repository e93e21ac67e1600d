"""A local VMware-like lab of Linux network namespaces: real sshd, DHCP, NAT, bridges and ping.

plan.py derives every namespace, link and address from an inventory (pure); build.py builds and
tears it down with iproute2, iptables and dnsmasq (`labkit lab up|down|status`); stack.py sets the
routing, NAT and firewalls that make it behave as the model says a VMware host does; nsexec.py enters
namespaces (sockets for SSH, the out-of-band console); lab.py puts the Lab protocol on top.
"""

from __future__ import annotations

from collections.abc import Callable

from labkit.errors import InputError
from labkit.model import Inventory
from labkit.protocols import Lab


def open_lab(inventory: Inventory) -> Lab:
    from labkit.backends.netns.lab import NetnsLab

    return NetnsLab(inventory)


def capabilities(inventory: Inventory) -> frozenset[str]:
    """Every VM has a console (nsenter), the host's adapters are links in the host namespace, and a
    VM's cable is its switch port."""
    return frozenset({"console", "host_adapters", "links"})


def complete_inventory(inventory: Inventory, *, file: str | None = None,
                       error: Callable[..., InputError] | None = None) -> Inventory:
    """Nothing to fill in: the lab is built from the inventory itself."""
    return inventory
