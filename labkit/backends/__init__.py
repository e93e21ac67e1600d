"""The backends, one package each, picked by name and imported only when used.

`labkit check` on a simulated lab must not import pyvmomi or httpx, so the registry names each
backend by the dotted path of its `open_lab` and imports it on first use (as pytest-testinfra
does). Every backend returns a `labkit.protocols.Lab`; `complete_inventory` lets a backend fill
in facts the inventory left out (Workstation reads the host's VMnet settings) when a lab is
opened, never while a file is only being checked.
"""

from __future__ import annotations

import importlib

from labkit.errors import InputError
from labkit.model import Inventory
from labkit.protocols import Lab

BACKENDS = {
    "sim": "labkit.backends.sim",
    "netns": "labkit.backends.netns",
    "vsphere": "labkit.backends.vsphere",
    "workstation": "labkit.backends.workstation",
}


def backend_module(name: str):
    target = BACKENDS.get(name)
    if target is None:
        known = ", ".join(sorted(BACKENDS))
        raise InputError(f"backend {name!r} is not available in this version (available: {known})",
                         field="backend")
    return importlib.import_module(target)


def open_lab(inventory: Inventory, backend: str | None = None) -> Lab:
    """Open `inventory` on `backend` (default: the inventory's own backend.type)."""
    lab: Lab = backend_module(backend or inventory.backend.type).open_lab(inventory)
    return lab
