"""The model: would an echo request from A to B's address come back? And if not, why?

It walks the request hop by hop over the Topology (route lookup, ARP on the segment, forwarding,
NAT with connection tracking), then walks the reply back. Every rule of ../shared/DOMAIN.md §4
falls out of that walk rather than being a special case:
  same segment -> direct; bridged VM on the LAN -> direct; NAT VM out -> NAT device -> host stack
  (source rewritten to the host's LAN address) -> router; LAN -> NAT VM -> no route; host -> NAT/
  host-only VM -> only through its enabled VMnet adapter; host-only -> nothing forwards; wrong
  subnet/gateway -> no route or nobody answers ARP; firewall -> request dropped; two holders of
  one address -> conflict, reported, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from labkit.topology import LAN, WAN, Endpoint, Iface, Node, Topology

MAX_HOPS = 16


@dataclass(frozen=True, slots=True)
class Verdict:
    reachable: bool | None  # None: cannot be predicted (address conflict)
    reason: str

    @property
    def expectation(self) -> str | None:
        return None if self.reachable is None else ("reachable" if self.reachable else "unreachable")


class Conflict(Exception):
    pass


class _Unreachable(Exception):
    pass


def _route(topo: Topology, node: Node, dst: IPv4Address, lan_only: bool = False) -> tuple[Iface, IPv4Address]:
    best: Iface | None = None
    for ifc in node.ifaces:
        if lan_only and ifc.segment != LAN:
            continue
        if dst in ifc.address.network and (best is None or ifc.address.network.prefixlen > best.address.network.prefixlen):
            best = ifc
    if best is not None:
        return best, dst
    if node.kind == "host":
        for subnet, why in topo.absent_routes:
            if dst in subnet:
                raise _Unreachable(f"the host has no route to {dst}: {why}")
    if node.gateway is not None:
        for ifc in node.ifaces:
            if lan_only and ifc.segment != LAN:
                continue
            if node.gateway in ifc.address.network:
                return ifc, node.gateway
        raise _Unreachable(f"{node.name}'s gateway {node.gateway} is not in any of its subnets")
    why = f"{node.name} has no route to {dst}"
    if node.kind == "vm" and not node.ifaces:
        why = "; ".join(node.notes) or f"{node.name} has no address"
    elif node.kind == "vm" and node.gateway is None:
        why += " (no default gateway)"
    elif node.notes:
        why += f" ({'; '.join(node.notes)})"
    raise _Unreachable(why)


def _neighbour(topo: Topology, ifc: Iface, ip: IPv4Address, me: Node) -> Node:
    holders = [n for n in topo.arp.get(ifc.segment, {}).get(ip, []) if n is not me]
    if not holders:
        if ip in topo.absent:
            raise _Unreachable(f"nothing answers at {ip}: {topo.absent[ip]}")
        if ifc.segment == WAN:
            raise _Unreachable(f"no route to {ip}: nothing on the internet has it"
                               + (" (a private address)" if ip.is_private else ""))
        raise _Unreachable(f"nothing answers ARP for {ip} on {ifc.segment}")
    if len(holders) > 1:
        names = " and ".join(sorted(n.name for n in holders))
        raise Conflict(f"address conflict: {names} both use {ip} on {ifc.segment}")
    return holders[0]


def _deliver(topo: Topology, node: Node, src: IPv4Address | None, dst: IPv4Address,
             nat: list[tuple[Node, IPv4Address]], reply: bool) -> tuple[Node, IPv4Address]:
    """Carry one packet from `node` to whoever owns `dst`; return (that node, source seen there)."""
    lan_only = False
    for _ in range(MAX_HOPS):
        if node.owns(dst):
            if reply and nat and nat[-1][0].kind == "natdev" and node.kind == "host":
                # the host's stack hands a NATed flow's reply back to the NAT device
                natdev, orig = nat.pop()
                node, dst, lan_only = natdev, orig, False
                continue
            if reply and nat and nat[-1][0] is node:
                _, orig = nat.pop()
                dst = orig
                continue
            return node, src  # type: ignore[return-value]
        if node.kind == "natdev" and not reply:
            # vmnat re-originates the flow from the host: source becomes the host's LAN address
            host = topo.nodes["host"]
            nat.append((node, src))  # type: ignore[arg-type]
            src = host.ifaces[0].address.ip
            node, lan_only = host, True
            continue
        ifc, hop = _route(topo, node, dst, lan_only)
        if src is None:
            src = ifc.address.ip
        nxt = _neighbour(topo, ifc, hop, node)
        if not nxt.owns(dst):
            if nxt.kind not in ("router", "natdev"):
                raise _Unreachable(f"{nxt.name} does not forward (packet for {dst} sent to {hop})")
            if nxt.kind == "router" and not reply:
                out, _ = _route(topo, nxt, dst)
                if out.segment != LAN:  # masquerade towards the internet
                    nat.append((nxt, src))
                    src = out.address.ip
            if nxt.kind == "router" and dst in topo.state.inventory.lan.subnet and ifc.segment != LAN:
                raise _Unreachable(f"the router drops unsolicited traffic for {dst} from the internet")
        node, lan_only = nxt, False
    raise _Unreachable("routing loop")


def ping(topo: Topology, source: str, target: Endpoint) -> Verdict:
    """Predict one cell: `source` node pings `target.address`."""
    if target.address is None:
        return Verdict(False, target.why_none or f"{target.ref} has no address")
    src_node = topo.nodes[source]
    if src_node.owns(target.address):
        return Verdict(True, "own address")
    nat: list[tuple[Node, IPv4Address]] = []
    try:
        dst_node, seen_src = _deliver(topo, src_node, None, target.address, nat, reply=False)
        natted = bool(nat)
        if dst_node.icmp_firewall:
            return Verdict(False, f"{dst_node.name}'s firewall drops inbound ICMP echo")
        back, _ = _deliver(topo, dst_node, target.address, seen_src, nat, reply=True)
        if back is not src_node:
            return Verdict(False, f"the reply for {seen_src} went to {back.name}")
    except Conflict as exc:
        return Verdict(None, str(exc))
    except _Unreachable as exc:
        why = [topo.misaddressed[n] for n in (source, target.node) if n in topo.misaddressed]
        return Verdict(False, "; ".join([*why, str(exc)]))
    return Verdict(True, f"reachable, source translated to {seen_src}" if natted else "reachable")


def conflicts(topo: Topology) -> list[str]:
    """Every address held by more than one node on one segment."""
    out = []
    for seg, table in sorted(topo.arp.items()):
        for ip, holders in sorted(table.items()):
            if len(holders) > 1:
                out.append(f"{ip} on {seg}: " + ", ".join(sorted(h.name for h in holders)))
    return out
