"""A local VMware-like lab of Linux network namespaces: real sshd, DHCP, NAT, bridges and ping.

plan.py derives every namespace, link and address from an inventory (pure); build.py builds and
tears it down with iproute2, iptables and dnsmasq (`labkit lab up|down|status`); stack.py sets the
routing, NAT and firewalls that make it behave as the model says a VMware host does; nsexec.py enters
namespaces (sockets for SSH, the out-of-band console); lab.py puts the Lab protocol on top.
"""

from __future__ import annotations

from labkit.model import Inventory
from labkit.protocols import Lab


def open_lab(inventory: Inventory) -> Lab:
    from labkit.backends.netns.lab import NetnsLab

    return NetnsLab(inventory)
