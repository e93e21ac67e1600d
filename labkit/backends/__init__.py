"""The backends, one package each, picked by name and imported only when used.

`labkit check` on a simulated lab must not import pyvmomi or httpx, so the registry names each
backend by its package, whose __init__ imports nothing heavy, and imports it on first use (as
pytest-testinfra does). Every backend returns a `labkit.protocols.Lab` from `open_lab`.

Every backend package also fills in facts an inventory leaves to the real lab (Workstation reads
the host's VMnet settings; labkit.inventory.deferred_facts says which; the others have none and
return the inventory as it is). That is I/O, so it never happens while a file is loaded or
checked: the package offers
`complete_inventory(inventory, *, file, error) -> Inventory`, which `open_lab` runs first, and
which `complete_inventory` here runs for commands that use the facts without opening a lab
(`labkit predict`).

Each package also says, as a pure function `capabilities(inventory) -> frozenset[str]`, which of
a Lab's optional abilities ("console", "batch", "host_adapters", "links", "snapshots") a lab opened from that
inventory will have, so `labkit check` can refuse a step the backend could not do before anything runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, cast

from labkit.errors import InputError
from labkit.inventory import checked_complete, source_of
from labkit.model import Inventory
from labkit.protocols import Lab

BACKENDS = {
    "sim": "labkit.backends.sim",
    "netns": "labkit.backends.netns",
    "vsphere": "labkit.backends.vsphere",
    "workstation": "labkit.backends.workstation",
}


class BackendPackage(Protocol):
    """What every backend package's __init__ offers (checked by mypy against each package)."""

    def open_lab(self, inventory: Inventory) -> Lab: ...

    def capabilities(self, inventory: Inventory) -> frozenset[str]: ...

    def complete_inventory(self, inventory: Inventory, *, file: str | None = None,
                           error: Callable[..., InputError] | None = None) -> Inventory: ...


if TYPE_CHECKING:  # mypy holds every package to BackendPackage; nothing is imported at run time
    from labkit.backends import netns, sim, vsphere, workstation

    _PACKAGES: tuple[BackendPackage, ...] = (sim, netns, vsphere, workstation)


def backend_module(name: str) -> BackendPackage:
    target = BACKENDS.get(name)
    if target is None:
        known = ", ".join(sorted(BACKENDS))
        raise InputError(f"backend {name!r} is not available in this version (available: {known})",
                         field="backend")
    return cast(BackendPackage, importlib.import_module(target))


# Every optional ability of a Lab (labkit.protocols), as the backends name them in capabilities().
CAPABILITIES = frozenset({"console", "batch", "host_adapters", "links", "snapshots"})


def capabilities(inventory: Inventory, backend: str | None = None) -> frozenset[str]:
    """The optional abilities of a lab opened from `inventory` on `backend` (default: the inventory's
    own), from the inventory alone: no file, host or network is touched, and only the backend's
    light package __init__ is imported. InputError for an unknown backend."""
    return backend_module(backend or inventory.backend.type).capabilities(inventory)


def complete_inventory(inventory: Inventory) -> Inventory:
    """`inventory` with what its backend fills in from the real lab (a Workstation host's VMnets:
    its networking files, or vmrest), then held to every coherence rule, the ones that needed
    those facts included.

    Does I/O: run it when a lab is opened, never to check a file. The backend is the inventory's
    own (its host is the one the facts describe), whichever backend then runs the lab. Raises
    InputError naming the inventory's file, line and field, or a host file's line. Running it on
    an inventory it already completed changes nothing."""
    source = source_of(inventory)
    completed = backend_module(inventory.backend.type).complete_inventory(inventory, file=source.path,
                                                                          error=source.error)
    return checked_complete(completed)


def open_lab(inventory: Inventory, backend: str | None = None, *, completed: bool = False) -> Lab:
    """Open `inventory` on `backend` (default: the inventory's own backend.type), completed first
    unless the caller already did (`completed`: completing reads the host's files or asks vmrest)."""
    if not completed:
        inventory = complete_inventory(inventory)
    lab: Lab = backend_module(backend or inventory.backend.type).open_lab(inventory)
    return lab
