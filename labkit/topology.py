"""From a LabState to the wires: nodes with interfaces on segments, routes, forwarders and NATs.

This is VMware Workstation's networking spelled out (docs/model.md): one segment per
VMnet, the physical LAN that bridged adapters join, the host with its virtual adapters, one NAT
device per NAT network whose traffic leaves through the host's stack (so it survives the host's
VMnet8 adapter being disabled), the LAN router that masquerades to the internet, and the named
external targets out there. predict.py walks packets across it.

Two holders of one address on one segment are recorded as contested (rule 10): the model reports
them and never guesses who answers. A lab that does decide it (the simulated one: the most recent
holder answers ARP) settles the ARP tables with `settle`, and the conflicts stay on record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from labkit.endpoints import EndpointParser, dhcp_ref, gateway_ref
from labkit.inventory import network_subnet
from labkit.results import AddressConflict
from labkit.state import LabState

LAN, WAN = "lan", "wan"
DEFAULT_WAN = IPv4Address("100.64.0.1")


@dataclass(slots=True)
class Iface:
    name: str
    segment: str
    address: IPv4Interface
    ip: IPv4Address = field(init=False)  # ipaddress builds a new object on every .ip/.network access:
    network: IPv4Network = field(init=False)  # keep them, the model's walk reads them per hop

    def __post_init__(self) -> None:
        self.ip = self.address.ip
        self.network = self.address.network


@dataclass(slots=True)
class Node:
    name: str
    kind: str  # vm | host | router | natdev | dhcp | external
    ifaces: list[Iface] = field(default_factory=list)
    gateway: IPv4Address | None = None
    icmp_firewall: bool = False
    notes: list[str] = field(default_factory=list)  # why an interface has no address
    unplugged: dict[str, IPv4Address] = field(default_factory=dict)  # iface -> address it keeps, cable out

    addrs: frozenset[IPv4Address] = frozenset()

    def owns(self, ip: IPv4Address) -> bool:
        return ip in self.addrs


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A matrix row or column: the node that sends or answers, and the address pinged."""

    ref: str
    node: str
    address: IPv4Address | None
    why_none: str | None = None


class Topology:
    def __init__(self, state: LabState) -> None:
        self.state = state
        self.nodes: dict[str, Node] = {}
        self.arp: dict[str, dict[IPv4Address, list[Node]]] = {}
        self.by_ip: dict[IPv4Address, list[Node]] = {}  # every holder of an address, any segment
        self.misaddressed: dict[str, str] = {}  # node -> why its address does not fit its segment
        self.absent_routes: list = []  # (subnet, why) the host would reach through a disabled adapter
        self.absent: dict[IPv4Address, str] = {}  # addresses that would answer but do not, and why
        self._build()
        # (segment, address) -> every holder there, where there is more than one (rule 10)
        self.contested: dict[tuple[str, IPv4Address], list[Node]] = {
            (seg, ip): list(holders) for seg, table in self.arp.items() for ip, holders in table.items()
            if len(holders) > 1}
        self._conflict_of: dict[tuple[str, IPv4Address], AddressConflict] = {}  # (holder, address) -> conflict
        for (seg, ip), holders in self.contested.items():
            conflict = AddressConflict(str(ip), tuple(sorted(h.name for h in holders)), seg)
            for h in holders:
                self._conflict_of.setdefault((h.name, ip), conflict)
        self.endpoints = EndpointParser(state.inventory,
                                        {name: [i.name for i in vm.ifaces] for name, vm in state.vms.items()})

    def segment_of(self, network: str) -> str:
        return LAN if self.state.inventory.networks[network].type == "bridged" else network

    def add(self, node: Node) -> Node:
        node.addrs = frozenset(i.ip for i in node.ifaces)
        for ip in node.addrs:
            self.by_ip.setdefault(ip, []).append(node)
        self.nodes[node.name] = node
        for ifc in node.ifaces:
            self.arp.setdefault(ifc.segment, {}).setdefault(ifc.address.ip, []).append(node)
        return node

    def _build(self) -> None:
        inv, state = self.state.inventory, self.state
        lan = inv.lan
        host = Node("host", "host", gateway=lan.router, icmp_firewall=inv.host.icmp_firewall)
        host.ifaces.append(Iface("lan", LAN, IPv4Interface(f"{inv.host.lan_address}/{lan.subnet.prefixlen}")))
        router = Node("router", "router")
        router.ifaces.append(Iface("lan", LAN, IPv4Interface(f"{lan.router}/{lan.subnet.prefixlen}")))
        router.ifaces.append(Iface("wan", WAN, IPv4Interface(f"{lan.wan_address or DEFAULT_WAN}/0")))
        for name, net in inv.networks.items():
            if net.type == "bridged" or net.subnet is None:
                continue
            plen = net.subnet.prefixlen
            if net.host_adapter is not None:
                if state.host_adapters.get(name, net.host_adapter.enabled):
                    host.ifaces.append(Iface(name, name, IPv4Interface(f"{net.host_adapter.address}/{plen}")))
                else:
                    why = f"the host's {net.backend_network or name} adapter is disabled"
                    host.notes.append(why)
                    self.absent[net.host_adapter.address] = why
                    self.absent_routes.append((net.subnet, why))
            if net.type == "nat" and net.gateway is not None:
                self.add(Node(gateway_ref(name), "natdev",
                              ifaces=[Iface(name, name, IPv4Interface(f"{net.gateway}/{plen}"))]))
            if net.dhcp is not None and net.dhcp.server is not None:
                self.add(Node(dhcp_ref(name), "dhcp",
                              ifaces=[Iface(name, name, IPv4Interface(f"{net.dhcp.server}/{plen}"))]))
        self.add(host)
        self.add(router)
        for name, ext in inv.externals.items():
            self.add(Node(name, "external", ifaces=[Iface("wan", WAN, IPv4Interface(f"{ext.address}/0"))]))
        for vm in state.vms.values():
            node = Node(vm.name, "vm", icmp_firewall=vm.icmp_firewall)
            if not vm.powered_on:
                node.notes.append(f"{vm.name} is powered off")
            else:
                for ifc in vm.ifaces:
                    if ifc.network is None:
                        why = f"{vm.name}'s {ifc.name} is disconnected"
                        node.notes.append(why)
                        if ifc.address is not None:  # the guest keeps its address; nothing hears it
                            node.unplugged[ifc.name] = ifc.address.ip
                            self.absent.setdefault(ifc.address.ip, why)
                    elif ifc.address is None:
                        node.notes.append(ifc.note or f"{vm.name}'s {ifc.name} has no address")
                    else:
                        node.ifaces.append(Iface(ifc.name, self.segment_of(ifc.network), ifc.address))
                        subnet = network_subnet(inv, ifc.network)
                        if subnet is not None and ifc.address.ip not in subnet:
                            self.misaddressed[vm.name] = (f"wrong subnet: {vm.name}'s {ifc.name} has "
                                                          f"{ifc.address} but {ifc.network} is {subnet}")
                        if node.gateway is None and ifc.gateway is not None:
                            node.gateway = ifc.gateway
            self.add(node)

    # ---- address conflicts (rule 10) --------------------------------------------------------

    def conflict_of(self, node: str, address: IPv4Address | None) -> AddressConflict | None:
        """The conflict over `address` on a segment where `node` holds it (None: it holds it alone
        there, or not at all)."""
        if address is None or not self._conflict_of:
            return None
        return self._conflict_of.get((node, address))

    def settle(self, answers: Callable[[str, IPv4Address, list[Node]], Node]) -> None:
        """Decide who answers ARP for each contested address, for a lab that decides it (the simulated
        one): `answers(segment, address, holders)` picks the holder; the ARP table keeps it alone, so
        the model's walk follows it. `contested` and `conflict_of` still report every conflict."""
        for (seg, ip), holders in self.contested.items():
            self.arp[seg][ip] = [answers(seg, ip, list(holders))]

    # ---- names in playbooks -> endpoints ----------------------------------------------------

    def resolve(self, ref: str) -> Endpoint:
        """The node and address a matrix endpoint name stands for (grammar: labkit/endpoints.py).

        EndpointError when the lab has no such endpoint. A VM's address is its state's: the first
        addressed interface (or the one named), else the address an unplugged interface keeps (the
        guest still has it; nothing answers there), else none, with why.
        """
        name = self.endpoints.parse(ref)
        if name.kind == "address":
            assert name.address is not None
            holders = self.by_ip.get(name.address, [])
            return Endpoint(ref, holders[0].name if holders else ref, name.address)
        if name.vm is not None:
            node = self.nodes[name.vm]
            found = [i for i in node.ifaces if name.interface is None or i.name == name.interface]
            if found:
                return Endpoint(ref, name.vm, found[0].ip)
            kept = [ip for iface, ip in node.unplugged.items() if name.interface in (None, iface)]
            if kept:  # its cable is out: the address is still pinged, and nothing answers there
                return Endpoint(ref, name.vm, kept[0])
            return Endpoint(ref, name.vm, None, "; ".join(node.notes) or f"{ref} has no address")
        assert name.node is not None
        return Endpoint(ref, name.node, name.address)
