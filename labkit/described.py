"""The lab as the inventory describes it, before anything has run: one pure LabState.

`labkit predict` reasons about this state, and the simulated lab boots to exactly it: its guests'
network services take their leases from the same `Leases`, reserved here in inventory order, so
the prediction and the simulation agree to the address. Static addresses come from each adapter's
`config`, a DHCP adapter gets a deterministic lease from its network's pool (handed out in order,
never released; the router, gateways, DHCP servers and the host's adapters are never leased), and
the host's virtual adapters start as the inventory says.

This is the model's view, not a simulation: nothing here imports a backend. Where a simulated
guest's seeded files say something else than its adapter's `config`, the guest follows its files
(as a real one would) and the two differ; that is the inventory contradicting itself.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface

from labkit.inventory import network_subnet
from labkit.model import Adapter, AddressConfig, Inventory
from labkit.state import IfaceState, LabState, VMState, initial_host_adapters


class Leases:
    """Every DHCP server of one lab: per pool, owner (a MAC) -> address, never released."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.table: dict[str, dict[str, IPv4Address]] = {}  # pool ("lan" or a network) -> owner -> address
        self._taken: dict[str, set[IPv4Address]] = {}
        self._next_free: dict[str, int] = {}

    def lease(self, network: str, owner: str) -> tuple[IPv4Interface, IPv4Address | None] | None:
        """The address and gateway `owner` gets on `network` (the same one every time), or None
        when the network has no DHCP server or its pool is used up."""
        inv = self.inventory
        net = inv.networks[network]
        gateway: IPv4Address | None
        if net.type == "bridged":  # bridged guests ask the home router, like everything on the LAN
            pool, gateway, key = inv.lan.dhcp, inv.lan.router, "lan"
        else:
            pool, gateway, key = net.dhcp, net.gateway, network
        if pool is None:
            return None
        subnet = network_subnet(inv, network)
        assert subnet is not None  # validated: a network with a DHCP pool has a subnet
        table = self.table.setdefault(key, {})
        if owner not in table:
            taken = self._taken.setdefault(key, infrastructure_addresses(inv))
            start = self._next_free.get(key, int(pool.start))
            for n in range(start, int(pool.end) + 1):
                if IPv4Address(n) not in taken:
                    table[owner] = IPv4Address(n)
                    taken.add(table[owner])
                    self._next_free[key] = n + 1  # leases are never released: the scan resumes here
                    break
            else:
                return None
        return IPv4Interface(f"{table[owner]}/{subnet.prefixlen}"), gateway


def infrastructure_addresses(inv: Inventory) -> set[IPv4Address]:
    """Addresses no DHCP server hands out: the host's, the router's, gateways, servers, host adapters."""
    out = {inv.host.lan_address, inv.lan.router}
    for net in inv.networks.values():
        if net.gateway is not None:
            out.add(net.gateway)
        if net.host_adapter is not None:
            out.add(net.host_adapter.address)
        if net.dhcp is not None and net.dhcp.server is not None:
            out.add(net.dhcp.server)
    return out


def lease_owner(vm: str, iface: IfaceState) -> str:
    """Who a DHCP server knows an interface by: its MAC, else (no MAC in the inventory) its name."""
    return iface.mac or f"{vm}/{iface.name}"


def no_lease_note(vm: str, iface: str, network: str) -> str:
    return f"{vm}'s {iface}: no DHCP server answered on {network}"


def address_interface(inv: Inventory, leases: Leases, vm: str, st: IfaceState, dhcp: bool,
                      address: IPv4Interface | None, gateway: IPv4Address | None) -> IfaceState:
    """Give a connected interface of a running guest its address: the static one, or a lease
    (with a note saying why there is none). Shared by described_state and the simulated guests'
    network services, so both word and allocate it identically."""
    st.address = st.gateway = None
    st.note = None
    st.dhcp = dhcp
    if not dhcp:
        st.address, st.gateway = address, gateway
        return st
    assert st.network is not None
    lease = leases.lease(st.network, lease_owner(vm, st))
    if lease is None:
        st.note = no_lease_note(vm, st.name, st.network)
        return st
    st.address, st.gateway = lease
    return st


def initial_iface(adapter: Adapter) -> IfaceState:
    """An adapter as the hypervisor starts it: its network if connected, no address yet."""
    return IfaceState(adapter.interface, (adapter.mac or "").lower() or None,
                      adapter.network if adapter.connected else None)


def described_state(inv: Inventory, leases: Leases | None = None) -> LabState:
    """The lab at the start, as the inventory describes it (pure: reads nothing but `inv`).

    `leases`: the lab's DHCP servers, when the caller keeps them (the simulated lab does, so its
    guests' later requests get these same leases); else a fresh set used only for this state."""
    leases = leases if leases is not None else Leases(inv)
    vms = {}
    for vm in inv.vms:
        ifaces = []
        for a in vm.adapters:
            st = initial_iface(a)
            ac: AddressConfig | None = a.config
            if ac is not None and vm.powered_on and st.network is not None:
                address_interface(inv, leases, vm.name, st, ac.dhcp, ac.address, ac.gateway)
            ifaces.append(st)
        vms[vm.name] = VMState(vm.name, vm.os, vm.icmp_firewall, vm.powered_on, ifaces)
    return LabState(inv, initial_host_adapters(inv), vms)
