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
