"""Ask a backend what the lab looks like now, as a LabState the model can reason about.

Adapter networks and the host's adapters come from the hypervisor; guest addresses from what
VMware Tools (or the backend's equivalent) reports, matched to adapters by MAC. A DHCP guest whose
gateway is not reported gets the one its network's DHCP server hands out.

The VMs are asked in parallel (a few each at once, as the runner's steps already use a
hypervisor): every ping_matrix step observes first, and one VM's questions are a few round trips
(`ip` in a namespace, a vmrest or vSphere call), which add up over fifty VMs one after another.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Address

from labkit.protocols import Hypervisor, Lab
from labkit.errors import LabkitError
from labkit.model import VM, Inventory
from labkit.state import IfaceState, LabState, VMState

WORKERS = 8  # VMs asked at once (the lab's `concurrency` may say fewer)


def observe(lab: Lab) -> LabState:
    inv, hv = lab.inventory, lab.hypervisor
    host_adapters = {name: hv.host_adapter_enabled(name) for name, net in inv.networks.items() if net.host_adapter}
    workers = min(WORKERS, lab.concurrency or WORKERS, len(inv.vms))
    if workers <= 1:
        states = [_vm_state(inv, hv, vm) for vm in inv.vms]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            states = list(pool.map(lambda vm: _vm_state(inv, hv, vm), inv.vms))
    return LabState(inv, host_adapters, {st.name: st for st in states})


def _vm_state(inv: Inventory, hv: Hypervisor, vm: VM) -> VMState:
    try:
        on = hv.powered_on(vm.name)
        nics = hv.guest_nics(vm.name) if on else []
    except LabkitError as exc:
        return VMState(vm.name, vm.os, vm.icmp_firewall, False,
                       [IfaceState(a.interface, a.mac, None, note=str(exc)) for a in vm.adapters])
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
    return VMState(vm.name, vm.os, vm.icmp_firewall, on, ifaces)


def _dhcp_gateway(inv: Inventory, network: str | None) -> IPv4Address | None:
    if network is None:
        return None
    net = inv.networks[network]
    return inv.lan.router if net.type == "bridged" else net.gateway
