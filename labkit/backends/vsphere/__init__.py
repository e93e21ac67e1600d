"""vSphere (ESXi/vCenter) through pyvmomi: connection, lookups, NIC edits, task waiting and the
VMware Tools console (guestops.py). pyvmomi is imported only in this package; lab.py puts the
pieces behind the Lab protocol.
"""

from __future__ import annotations

from labkit.model import Inventory
from labkit.protocols import Lab


def open_lab(inventory: Inventory) -> Lab:
    from labkit.backends.vsphere.lab import VsphereLab

    return VsphereLab(inventory)
