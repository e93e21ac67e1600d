"""vSphere (ESXi/vCenter) through pyvmomi: the session and its guard against a lost vCenter,
lookups of networks and VMs, NIC edits, task waiting and the VMware Tools console (guestops.py).
pyvmomi is imported only in this package; lab.py puts the pieces behind the Lab protocol.
"""

from __future__ import annotations

from collections.abc import Callable

from labkit.errors import InputError
from labkit.model import Inventory
from labkit.protocols import Lab


def capabilities(inventory: Inventory) -> frozenset[str]:
    """What a lab opened from `inventory` will have, without I/O: a batch set-mode (reconfigure tasks
    from a bounded pool), an adapter's cable (connectable.connected) and snapshots always, the VMware
    Tools console when some VM has a guest_login, and never the host's adapters (vSphere gives the
    machine running labkit none on its port groups)."""
    caps = {"batch", "links", "snapshots"}
    if any(vm.guest_login is not None for vm in inventory.vms):
        caps.add("console")
    return frozenset(caps)


def open_lab(inventory: Inventory) -> Lab:
    """The lab, with every network and VM of the inventory already found: a name several VMs or
    networks fit is bad input (InputError, nothing touched). vSphere being unreachable is not:
    the steps report it."""
    from labkit.backends.vsphere.lab import VsphereLab

    lab = VsphereLab(inventory)
    try:
        lab.resolve_all()
    except BaseException:
        lab.close()
        raise
    return lab


def complete_inventory(inventory: Inventory, *, file: str | None = None,
                       error: Callable[..., InputError] | None = None) -> Inventory:
    """Nothing to fill in: networks and VMs are looked up when the lab opens."""
    return inventory
