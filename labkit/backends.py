"""Pick a backend by name and open a Lab on it; backends are imported only when used.

A Lab bundles what a run needs from one backend: its Hypervisor, and a guest transport per node
(one per run, reused). Real backends bring SSH; the simulated one answers in memory.
"""

from __future__ import annotations

import importlib
from typing import Protocol

from labkit.errors import InputError
from labkit.hypervisor.base import Hypervisor
from labkit.model import Inventory
from labkit.transport.base import GuestTransport

BACKENDS = {
    "sim": "labkit.hypervisor.sim:open_lab",
    "netns": "labkit.hypervisor.netns:open_lab",
    "vsphere": "labkit.hypervisor.vsphere:open_lab",
    "workstation": "labkit.hypervisor.workstation:open_lab",
}


class Lab(Protocol):
    inventory: Inventory
    hypervisor: Hypervisor
    backend: str
    concurrency: int | None  # most sources worth probing at once (None: the caller's choice)

    def transport(self, node: str) -> GuestTransport:
        """The channel to `node` (a VM name, "host", "router" or an external), opened once per run."""
        ...

    # Optional, where the backend has them (the runner and safe apply look for them):
    #   console(node) -> GuestTransport     out-of-band, needs no guest networking (netns, VMware Tools)
    #   has_console(node) -> bool           when only some VMs have one (vSphere: those with guest_login)
    #   network_transport(node, address)    the guest over the network at `address` (safe apply's proof)
    #   guest_address(node, interface)      the address the hypervisor reports for that interface
    #   clock                               the lab's time (labkit.clock; virtual in the simulated lab)

    def close(self) -> None: ...


def open_lab(inventory: Inventory, backend: str | None = None) -> Lab:
    name = backend or inventory.backend.type
    target = BACKENDS.get(name)
    if target is None:
        known = ", ".join(sorted(BACKENDS))
        raise InputError(f"backend {name!r} is not available in this version (available: {known})",
                         field="backend")
    module, _, func = target.partition(":")
    return getattr(importlib.import_module(module), func)(inventory)
