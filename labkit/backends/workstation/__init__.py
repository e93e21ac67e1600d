"""VMware Workstation: vmrest (its REST API, vmrest.py), .vmx files (vmx.py, vmxedit.py) and the
host's own networking files (hostfiles.py). hostnet.py merges the host's VMnet facts (facts.py)
into an inventory when a lab is opened (`complete_inventory`, below); lab.py puts the rest behind
the Lab protocol, with one hypervisor class per way of working (vmrest_hypervisor.py,
vmx_hypervisor.py).

labkit.backends imports this module to find the backend's hooks (open_lab, complete_inventory,
capabilities), so it imports nothing heavy: httpx is imported only where vmrest is really used.
When labkit runs on the Workstation host, the host's own VMnet adapters are switched through its
OS (hostadapters.py with winadapters.py or linuxadapters.py; where that is, placement.py).
"""

from __future__ import annotations

from collections.abc import Callable

from labkit.errors import InputError
from labkit.model import Inventory
from labkit.protocols import Lab


def capabilities(inventory: Inventory) -> frozenset[str]:
    """What a lab opened from `inventory` will have, without I/O: "host_adapters" when labkit runs
    on the Workstation host (vmrest on loopback, or .vmx files) and host.os is windows or linux."""
    from labkit.backends.workstation.placement import capabilities as placed

    return placed(inventory)


def open_lab(inventory: Inventory) -> Lab:
    from labkit.backends.workstation.lab import WorkstationLab

    return WorkstationLab(inventory)


def complete_inventory(inventory: Inventory, *, file: str | None = None,
                       error: Callable[..., InputError] | None = None) -> Inventory:
    """`inventory` fed with the host's VMnet facts: its networking files (backend.networking_dir, a
    relative one from `file`, else /etc/vmware), else vmrest's /vmnet when a subnet is missing.
    `error(message, loc, field=None)` places a contradiction in the inventory (Source.error)."""
    from labkit.backends.workstation.hostnet import host_facts_applied

    if error is None:
        return host_facts_applied(inventory, file)
    return host_facts_applied(inventory, file, error)

