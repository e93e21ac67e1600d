"""What a run looks things up in, read once when its session opens: the inventory's networks
resolved to vSphere networks, the index of the datacenter's VMs, and (as VMs are moved) which
networks each ESXi host carries.

Every network problem of the inventory is reported at once, located at its file and line.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyVmomi import vmodl

from labkit.errors import BackendError, InputError, InputErrors
from labkit.inventory import source_of
from labkit.model import Inventory
from labkit.backends.vsphere.connection import Session
from labkit.backends.vsphere.finder import VmFinder, VmIndex
from labkit.backends.vsphere.lookup import HostNetworks, NetTarget, datacenter, list_networks, resolve_network
from labkit.backends.vsphere.props import fault_message


@dataclass(frozen=True)
class Catalog:
    targets: dict[str, NetTarget]  # inventory network name -> vSphere network
    finder: VmFinder
    hosts: HostNetworks


def read_catalog(session: Session, inventory: Inventory) -> Catalog:
    content = session.content
    try:
        with session.link.doing("reading the datacenter's networks and VMs"):
            dc = datacenter(content, inventory.backend.datacenter)
            found = list_networks(content, dc or content.rootFolder)
            targets: dict[str, NetTarget] = {}
            problems: list[InputError] = []
            for mode, net in inventory.networks.items():
                try:
                    targets[mode] = resolve_network(found, mode, net)
                except InputError as exc:
                    problems.append(source_of(inventory).error(exc.message, ("networks", mode, "backend_network"),
                                                               field=exc.field))
            if problems:
                raise problems[0] if len(problems) == 1 else InputErrors(problems)
            return Catalog(targets, VmFinder(VmIndex(content, dc), inventory), HostNetworks(content))
    except vmodl.MethodFault as exc:
        raise BackendError(f"vSphere {session.link.where}: reading its inventory failed: "
                           f"{fault_message(exc) or type(exc).__name__}") from None
