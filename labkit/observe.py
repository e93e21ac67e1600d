"""Ask a backend what the lab looks like now, as a LabState the model can reason about.

Adapter networks and the host's adapters come from the hypervisor; guest addresses from what
VMware Tools (or the backend's equivalent) reports, matched to adapters by MAC. A DHCP guest whose
gateway is not reported gets the one its network's DHCP server hands out.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from labkit.protocols import Lab
from labkit.errors import LabkitError
from labkit.model import Inventory
from labkit.state import IfaceState, LabState, VMState


def observe(lab: Lab) -> LabState:
    inv, hv = lab.inventory, lab.hypervisor
    host_adapters = {name: hv.host_adapter_enabled(name) for name, net in inv.networks.items() if net.host_adapter}
    vms: dict[str, VMState] = {}
    for vm in inv.vms:
        try:
            on = hv.powered_on(vm.name)
            nics = hv.guest_nics(vm.name) if on else []
        except LabkitError as exc:
            vms[vm.name] = VMState(vm.name, vm.os, vm.icmp_firewall, False,
                                   [IfaceState(a.interface, a.mac, None, note=str(exc)) for a in vm.adapters])
            continue
        by_mac = {n.mac.lower(): n for n in nics if n.mac}
        ifaces: list[IfaceState] = []
        for k, ad in enumerate(vm.adapters):
            nic = by_mac.get((ad.mac or "").lower()) or (nics[k] if k < len(nics) and not ad.mac else None)
            network = hv.adapter_network(vm.name, ad)
            st = IfaceState(ad.interface, ad.mac, network)
            if nic is not None and nic.addresses:
                st.address = nic.addresses[0]
                st.gateway = nic.gateway or _dhcp_gateway(inv, network)
            ifaces.append(st)
        vms[vm.name] = VMState(vm.name, vm.os, vm.icmp_firewall, on, ifaces)
    return LabState(inv, host_adapters, vms)


def _dhcp_gateway(inv: Inventory, network: str | None) -> IPv4Address | None:
    if network is None:
        return None
    net = inv.networks[network]
    return inv.lan.router if net.type == "bridged" else net.gateway
