"""How inventory networks and adapters map onto Workstation's adapter settings, for both ways of
driving it (vmrest_hypervisor.py, vmx_hypervisor.py): the same VMnet rules whichever one runs.

Workstation has no port groups: an adapter is `nat`, `bridged`, `hostonly` (VMnet8, VMnet0, VMnet1
by default) or `custom` on a named VMnet. An inventory network maps onto that by its type and
`backend_network`: the type's own VMnet (or none given) -> that type; any other VMnet -> custom on it
(`hostonly` + VMnet2 -> custom vmnet2). Reading back works on the VMnet an adapter is really on, so
a NIC set to "custom vmnet8" is on the NAT network and is not changed again.
"""

from __future__ import annotations

import logging
import re

from labkit.backends.workstation.vmx import vnet_name
from labkit.errors import InputError
from labkit.model import VM, Adapter, Inventory

log = logging.getLogger(__name__)

DEFAULT_VNET = {"bridged": "vmnet0", "hostonly": "vmnet1", "nat": "vmnet8"}
_LABEL = re.compile(r"^network adapter (\d+)$", re.IGNORECASE)


def vnet_of(setting_type: str, vmnet: str | None) -> str | None:
    """The VMnet an adapter setting really puts the NIC on ("custom vmnet8" is the NAT VMnet)."""
    if setting_type == "custom":
        return vnet_name(vmnet)
    return DEFAULT_VNET.get(setting_type)


class NetworkMap:
    """Inventory network name <-> Workstation adapter setting (type, vmnet), checked once at open."""

    def __init__(self, inventory: Inventory) -> None:
        self.setting: dict[str, tuple[str, str]] = {}
        by_vnet: dict[str, str] = {}
        for name, net in inventory.networks.items():
            where = f"networks.{name}.backend_network"
            if net.backend_network is None:
                if net.type == "custom":
                    raise InputError("a custom network needs its VMnet (e.g. VMnet2)", field=where)
                vnet = DEFAULT_VNET[net.type]
            else:
                found = vnet_name(net.backend_network)
                if found is None:
                    raise InputError(f"{net.backend_network!r} is not a Workstation VMnet (VMnet0 .. VMnet19)",
                                     field=where)
                vnet = found
            if vnet in by_vnet:
                raise InputError(f"{vnet} is already network {by_vnet[vnet]!r}: an adapter on it could not be "
                                 "told apart", field=where)
            by_vnet[vnet] = name
            kind = net.type if DEFAULT_VNET.get(net.type) == vnet else "custom"
            self.setting[name] = (kind, vnet)
        self.network_of_vnet = by_vnet

    def network_of(self, vm: str, adapter: Adapter, kind: str, vmnet: str | None) -> str | None:
        """The inventory network an adapter setting is on (None, logged: a VMnet no network names)."""
        vnet = vnet_of(kind, vmnet)
        name = self.network_of_vnet.get(vnet) if vnet is not None else None
        if name is None:
            log.warning("%s: %s is on %s %s, which no inventory network names", vm, adapter.interface, kind, vmnet)
        return name


def nic_index(vm: VM, adapter: Adapter) -> int:
    """vmrest's NIC index (from 1): "Network adapter N" -> N, else the adapter's position + 1.
    The .vmx calls the same NIC ethernet(N-1)."""
    m = _LABEL.match(adapter.label or "")
    if m:
        return int(m.group(1))
    return next(k for k, a in enumerate(vm.adapters, 1) if a.interface == adapter.interface)


def host_adapter_enabled(inventory: Inventory, network: str) -> bool:
    """The inventory's word on the host's virtual adapter (neither vmrest nor a .vmx can see it; the
    host's OS can, when labkit runs there: hostadapters.py)."""
    net = inventory.networks[network]
    return bool(net.host_adapter and net.host_adapter.enabled)


def needs_vmrest(vm: str, action: str) -> str:
    """The message for what only vmrest can do, in .vmx-file mode."""
    return (f"{vm}: to {action} the Workstation backend needs vmrest "
            "(backend.user and backend.password_env); the inventory configures .vmx files only")
