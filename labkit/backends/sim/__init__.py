"""The simulated lab: an in-memory VMware that runs anywhere (`--backend sim`, the default).

A product feature, not a test double: playbooks are checked offline and in CI. It implements the
same boundaries as the real backends (labkit.protocols): lab.py holds the world and its
hypervisor, guest.py the guests' shell, ping.py and windows.py the real tools' output formats,
clock.py virtual time.
"""

from __future__ import annotations

from labkit.model import Inventory


def open_lab(inventory: Inventory):
    from labkit.backends.sim.lab import SimLab

    return SimLab(inventory)
