"""VMware Workstation: vmrest (its REST API, vmrest.py), .vmx files (vmx.py, vmxedit.py) and the
host's own networking files (hostfiles.py, hostnet.py); lab.py puts them behind the Lab protocol.
httpx is imported only here.
"""

from __future__ import annotations

from labkit.model import Inventory


def open_lab(inventory: Inventory):
    from labkit.backends.workstation.lab import WorkstationLab

    return WorkstationLab(inventory)
