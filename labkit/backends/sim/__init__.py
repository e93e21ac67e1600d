"""The simulated lab: an in-memory VMware that runs anywhere (`--backend sim`, the default).

A product feature, not a test double: playbooks are checked offline and in CI, through the same
paths as on a real lab (FallbackTransport over SSH and a console, dialect detection, safe apply's
detached timer). lab.py is the Lab (hypervisor, console, transports), world.py the lab's truth,
boot.py a VM's first boot, guest.py a machine and the channels into it, shparse.py/shell.py/
builtins.py its sh, tools.py/coreutils.py/windows.py its tools, ping.py the real tools' output
formats, clock.py virtual time, snapshots.py VM snapshots.
"""

from __future__ import annotations

from collections.abc import Callable

from typing import TYPE_CHECKING

from labkit.errors import InputError
from labkit.model import Inventory

if TYPE_CHECKING:
    from labkit.backends.sim.lab import SimLab


def open_lab(inventory: Inventory) -> SimLab:
    from labkit.backends.sim.lab import SimLab

    return SimLab(inventory)


def capabilities(inventory: Inventory) -> frozenset[str]:
    """Every simulated lab has a console to each VM, switches the host's adapters, plugs cables and
    takes snapshots."""
    return frozenset({"console", "host_adapters", "links", "snapshots"})


def complete_inventory(inventory: Inventory, *, file: str | None = None,
                       error: Callable[..., InputError] | None = None) -> Inventory:
    """Nothing to fill in: the inventory is the whole simulated lab."""
    return inventory
