"""The model: would an echo request from A to B's address come back? And if not, why?

It walks the request hop by hop over the Topology (route lookup, ARP on the segment, forwarding,
NAT with connection tracking), then walks the reply back. Every reachability rule (docs/model.md)
falls out of that walk rather than being a special case:
  same segment -> direct; bridged VM on the LAN -> direct; NAT VM out -> NAT device -> the host's
  own stack (vmnat is a user-level proxy: the flow goes wherever the host goes, LAN, the host's
  addresses, other VMnets through enabled adapters, from the host's address on the way out);
  LAN -> NAT VM -> no route; host -> NAT/host-only VM -> only through its enabled VMnet adapter;
  host-only -> nothing forwards; wrong subnet/gateway -> no route or nobody answers ARP; firewall ->
  request dropped (but not what vmnat re-sends to the host itself: that is local); the host's OS
  decides whether it answers for an address of another adapter (Linux: weak host model, Windows:
  strong); two holders of one address -> conflict, reported, never guessed (a walk that meets a
  contested address stops with the conflict, and so does pinging one's own address when another
  holds it too: Verdict.conflict names the holders).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address

from labkit.results import AddressConflict, Expectation
from labkit.topology import LAN, WAN, Endpoint, Iface, Node, Topology

MAX_HOPS = 16


# a verdict's expectation by its `reachable` (a table: a million-cell matrix reads it per cell, in C)
EXPECTATION_OF: dict[bool | None, Expectation | None] = {True: "reachable", False: "unreachable", None: None}


@dataclass(frozen=True, slots=True)
class Verdict:
    reachable: bool | None  # None: cannot be predicted (address conflict)
    reason: str
    conflict: AddressConflict | None = None  # the conflict the walk met (set when reachable is None)

    @property
    def expectation(self) -> Expectation | None:
        return EXPECTATION_OF[self.reachable]


class Conflict(Exception):
    def __init__(self, conflict: AddressConflict) -> None:
        super().__init__(f"address conflict: {conflict}")
        self.conflict = conflict


class _Unreachable(Exception):
    pass


def _route(topo: Topology, node: Node, dst: IPv4Address) -> tuple[Iface, IPv4Address]:
    best: Iface | None = None
    for ifc in node.ifaces:
        if dst in ifc.network and (best is None or ifc.network.prefixlen > best.network.prefixlen):
            best = ifc
    if best is not None:
        return best, dst
    if node.kind == "host":
        for subnet, why in topo.absent_routes:
            if dst in subnet:
                raise _Unreachable(f"the host has no route to {dst}: {why}")
    if node.gateway is not None:
        for ifc in node.ifaces:
            if node.gateway in ifc.network:
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


def weak_host(topo: Topology) -> bool:
    """Rule 11: a Linux (or busybox) host answers ARP and echo for any of its addresses on any of its
    interfaces (weak host model, arp_ignore=0); Windows since Vista only for the addresses of the
    interface a request arrives on (strong host model)."""
    return topo.state.inventory.host.os != "windows"


def _neighbour(topo: Topology, ifc: Iface, ip: IPv4Address, me: Node) -> Node:
    holders = [n for n in topo.arp.get(ifc.segment, {}).get(ip, []) if n is not me]
    if not holders:
        host = topo.nodes.get("host")
        if (host is not None and host is not me and host.owns(ip) and weak_host(topo)
                and any(i.segment == ifc.segment for i in host.ifaces)):
            return host  # a weak-model host answers ARP on this segment for an address of another adapter
        if ip in topo.absent:
            raise _Unreachable(f"nothing answers at {ip}: {topo.absent[ip]}")
        if ifc.segment == WAN:
            raise _Unreachable(f"no route to {ip}: nothing on the internet has it"
                               + (" (a private address)" if ip.is_private else ""))
        raise _Unreachable(f"nothing answers ARP for {ip} on {ifc.segment}")
    if len(holders) > 1:
        raise Conflict(AddressConflict(str(ip), tuple(sorted(n.name for n in holders)), ifc.segment))
    return holders[0]


Trace = Callable[[str], None]  # told each hop of a walk in words (`labkit explain`); None: not asked


def _deliver(topo: Topology, node: Node, src: IPv4Address | None, dst: IPv4Address,
             nat: list[tuple[Node, IPv4Address]], reply: bool, trace: Trace | None = None) -> tuple[Node, IPv4Address]:
    """Carry one packet from `node` to whoever owns `dst`; return (that node, source seen there)."""
    arrived: str | None = None  # the segment the packet came in on (None: it starts here, or is local)
    for _ in range(MAX_HOPS):
        if node.owns(dst):
            if reply and nat and nat[-1][0].kind == "natdev" and node.kind == "host":
                # the host's stack hands a NATed flow's reply back to the NAT device
                natdev, orig = nat.pop()
                if trace is not None:
                    trace(f"host: the reply belongs to {natdev.name}'s connection; it sends the reply on to {orig}")
                node, dst, arrived = natdev, orig, None
                continue
            if reply and nat and nat[-1][0] is node:
                _, orig = nat.pop()
                if trace is not None:
                    trace(f"{node.name}: connection tracking turns the reply's destination {dst} back into {orig}")
                dst = orig
                continue
            if node.kind == "host" and arrived is not None and not weak_host(topo) and not any(
                    i.segment == arrived and i.ip == dst for i in node.ifaces):
                raise _Unreachable(f"the host (os: windows, strong host model) answers only for the addresses "
                                   f"of the adapter a packet arrives on; {dst} is not on its {arrived} adapter")
            if trace is not None:
                trace(f"{node.name} has {dst}: the {'reply' if reply else 'echo request'} arrives (from {src})")
            return node, src  # type: ignore[return-value]
        if node.kind == "natdev" and not reply:
            # Rule 3: vmnat is a user-level proxy; the host's own stack re-sends the flow, so it goes
            # wherever the host goes (LAN, its own addresses, other VMnets through enabled adapters),
            # from the host's address on the way out (its own address when it is the target)
            host = topo.nodes["host"]
            nat.append((node, src))  # type: ignore[arg-type]
            src = dst if host.owns(dst) else _route(topo, host, dst)[0].ip
            if trace is not None:
                trace(f"{node.name} (the NAT device, a proxy) re-sends it from the host's own stack, source {src}")
            node, arrived = host, None
            continue
        ifc, hop = _route(topo, node, dst)
        if src is None:
            src = ifc.ip
        if trace is not None:
            via = "directly" if hop == dst else f"through its gateway {hop}"
            trace(f"{node.name}: route to {dst} {via}, out of its {ifc.name} ({ifc.address}) on {ifc.segment}")
        nxt = _neighbour(topo, ifc, hop, node)
        if trace is not None:
            trace(f"ARP on {ifc.segment}: {hop} is {nxt.name}")
        if not nxt.owns(dst):
            if nxt.kind not in ("router", "natdev"):
                raise _Unreachable(f"{nxt.name} does not forward (packet for {dst} sent to {hop})")
            if trace is not None and nxt.kind == "router":
                trace(f"{nxt.name} forwards it")
            if nxt.kind == "router" and not reply:
                out, _ = _route(topo, nxt, dst)
                if out.segment != LAN:  # masquerade towards the internet
                    nat.append((nxt, src))
                    if trace is not None:
                        trace(f"{nxt.name} masquerades it towards the internet: source {src} -> {out.ip}")
                    src = out.ip
            if nxt.kind == "router" and dst in topo.state.inventory.lan.subnet and ifc.segment != LAN:
                raise _Unreachable(f"the router drops unsolicited traffic for {dst} from the internet")
        node, arrived = nxt, ifc.segment
    raise _Unreachable("routing loop")


def ping(topo: Topology, source: str, target: Endpoint, trace: Trace | None = None) -> Verdict:
    """Predict one cell: `source` node pings `target.address`; `trace` is told each hop in words."""
    if target.address is None:
        return Verdict(False, target.why_none or f"{target.ref} has no address")
    src_node = topo.nodes[source]
    if src_node.owns(target.address):
        for ifc in src_node.ifaces:  # its own address, but someone else's too on one of its segments?
            if ifc.ip == target.address and len(topo.arp.get(ifc.segment, {}).get(ifc.ip, ())) > 1:
                conflict = topo.conflict_of(source, ifc.ip)
                return Verdict(None, f"address conflict: {conflict}", conflict)
        return Verdict(True, "own address")
    nat: list[tuple[Node, IPv4Address]] = []
    try:
        dst_node, seen_src = _deliver(topo, src_node, None, target.address, nat, reply=False, trace=trace)
        natted = bool(nat)
        # the host's firewall does not see what the NAT device re-sends to the host's own addresses:
        # that traffic never crosses an interface (it is local to the host's stack)
        local = dst_node.kind == "host" and any(n.kind == "natdev" for n, _ in nat)
        if dst_node.icmp_firewall and not local:
            return Verdict(False, f"{dst_node.name}'s firewall drops inbound ICMP echo")
        if trace is not None:
            trace(f"the reply: {dst_node.name} answers {seen_src}")
        back, _ = _deliver(topo, dst_node, target.address, seen_src, nat, reply=True, trace=trace)
        if back is not src_node:
            return Verdict(False, f"the reply for {seen_src} went to {back.name}")
    except Conflict as exc:
        return Verdict(None, str(exc), exc.conflict)
    except _Unreachable as exc:
        why = [topo.misaddressed[n] for n in (source, target.node) if n in topo.misaddressed]
        return Verdict(False, "; ".join([*why, str(exc)]))
    return Verdict(True, f"reachable, source translated to {seen_src}" if natted else "reachable")


def _swapped(at: tuple[int, ...], new_addrs: list[str], word: str) -> str:
    """The address a representative's word becomes (`at`: where the word is among its addresses,
    last first; only a place the cell's node has an address at counts, as zip pairs them)."""
    for i in at:
        if i < len(new_addrs):
            return new_addrs[i]
    return word


def conflicts(topo: Topology) -> list[str]:
    """Every address held by more than one node on one segment."""
    return [f"{ip} on {seg}: " + ", ".join(sorted(h.name for h in holders))
            for (seg, ip), holders in sorted(topo.contested.items())]


# What decides a VM's verdicts (gateway, firewall, segments, which subnets its addresses are in),
# or ("node", name[, ref]) for a node that is a class of its own; hashable.
ClassKey = tuple[object, ...]
PairKey = tuple[int, int]  # (source class id, target class id)
# (verdict, source, target, pattern matching the endpoints' names in the reason or None, which side
# the reason names: "source", "target" or "both")
_Entry = tuple[Verdict, str, Endpoint, re.Pattern[str] | None, str]
# a word of a reason to re-word: (its text, whether it is t0's reference, where it is among s0's
# addresses and among t0's, last first)
_Word = tuple[str, bool, tuple[int, ...], tuple[int, ...]]


class Predictor:
    """Verdicts for many cells of one Topology, each class of equivalent endpoints walked once.

    A matrix over a thousand VMs has a million cells but few kinds of VM: same segment, same
    subnet, same gateway, same firewall, same standing in every subnet of the lab. Two VMs of one
    kind answer identically (addresses are unique; VMs in an address conflict are never pooled),
    so one walk serves the class pair; its reason is re-worded with the names and addresses of the
    cell at hand. Infrastructure (host, router, NAT devices, externals) is never pooled.
    """

    def __init__(self, topo: Topology) -> None:
        self.topo = topo
        self.networks = sorted({i.network for n in topo.nodes.values() for i in n.ifaces},
                               key=lambda net: (int(net.network_address), net.prefixlen))
        self.conflicted = {n.name for holders in topo.contested.values() for n in holders}
        self._ids: dict[ClassKey, int] = {}
        self._skeys: dict[str, int] = {}
        self._tkeys: dict[str, int] = {}
        self._strs: dict[str, list[str]] = {}
        self._ref_strs: dict[str, str] = {}
        self._reworded: dict[tuple[PairKey, str], Verdict] = {}
        self._same_words: dict[tuple[object, ...], Verdict] = {}  # (reason, ..., t0, target) -> reworded
        self._cuts: dict[tuple[str, ...], tuple[list[str], list[_Word]]] = {}  # reason cut into words: _cut
        # (source class, target class) -> (verdict, source, target, pattern or None when the
        # reason names neither endpoint and is the same for the whole class pair, scope)
        self._cache: dict[PairKey, _Entry] = {}

    def _class(self, name: str) -> ClassKey | None:
        node = self.topo.nodes.get(name)
        if node is None or node.kind != "vm" or name in self.conflicted:
            return None
        return (node.gateway, node.icmp_firewall, name in self.topo.misaddressed, not node.ifaces,
                tuple((i.segment, i.network, tuple(i.ip in net for net in self.networks)) for i in node.ifaces))

    def _intern(self, key: ClassKey) -> int:
        """Class keys hold ipaddress objects, slow to hash: each distinct key gets a small int once."""
        return self._ids.setdefault(key, len(self._ids))

    def _skey(self, name: str) -> int:
        key = self._skeys.get(name)
        if key is None:
            key = self._skeys[name] = self._intern(self._class(name) or ("node", name))
        return key

    def _tkey(self, target: Endpoint) -> int:
        key = self._tkeys.get(target.ref)
        if key is None:
            cls = self._class(target.node)
            full: ClassKey
            if cls is None:
                full = ("node", target.node, target.ref)
            else:
                index = next((k for k, i in enumerate(self.topo.nodes[target.node].ifaces) if i.ip == target.address), -1)
                full = (cls, index)
            key = self._tkeys[target.ref] = self._intern(full)
        return key

    def _addr_strs(self, name: str) -> list[str]:
        strs = self._strs.get(name)
        if strs is None:
            node = self.topo.nodes.get(name)
            strs = self._strs[name] = [str(i.ip) for i in node.ifaces] if node else []
        return strs

    def _ref_str(self, target: Endpoint) -> str:
        text = self._ref_strs.get(target.ref)
        if text is None:
            text = self._ref_strs[target.ref] = str(target.address)
        return text

    def verdict(self, source: str, target: Endpoint) -> Verdict:
        if target.address is None or target.node == source:
            return ping(self.topo, source, target)
        key = (self._skey(source), self._tkey(target))
        hit = self._cache.get(key)
        if hit is None:
            verdict = ping(self.topo, source, target)
            self._cache[key] = self._entry(verdict, source, target)
            return verdict
        return self._from_entry(key, hit, source, target)

    def _entry(self, verdict: Verdict, source: str, target: Endpoint) -> _Entry:
        """Cache entry for a class pair: which of the reason's words name the source or the target."""
        src_tokens = [t for t in (source, *self._addr_strs(source)) if t in verdict.reason]
        dst_tokens = [t for t in (target.node, self._ref_str(target), *self._addr_strs(target.node))
                      if t in verdict.reason]
        pattern = None
        if src_tokens or dst_tokens:
            pattern = re.compile("|".join(rf"(?<![\w.-]){re.escape(t)}(?![\w-]|\.\d)"
                                          for t in sorted(set(src_tokens + dst_tokens), key=len, reverse=True)))
        # a reason naming only one side is shared by every cell with that side: reword it once
        scope = "both" if src_tokens and dst_tokens else "source" if src_tokens else "target"
        return verdict, source, target, pattern, scope

    def classify(self, source: str, target: Endpoint) -> Verdict:
        """Like `verdict`, but the reason may name another member of the same classes.

        For callers that need only reachable/unreachable (the simulated ping): skips re-wording.
        """
        if target.address is None or target.node == source:
            return ping(self.topo, source, target)
        hit = self._cache.get((self._skey(source), self._tkey(target)))
        return hit[0] if hit is not None else self.verdict(source, target)

    def source_class(self, name: str) -> int:
        """The class of equivalent sources `name` is in: sources of one class get the same verdict
        (`classify`) for every target, except where the target is one of them."""
        return self._skey(name)

    def target_class(self, target: Endpoint) -> int:
        """The class of equivalent targets `target` is in: for any one source, targets of one class
        get the same verdict (`classify`), except a source's own address."""
        return self._tkey(target)

    def _from_entry(self, key: PairKey, hit: _Entry, source: str, target: Endpoint) -> Verdict:
        verdict, s0, t0, pattern, scope = hit
        if pattern is None or (s0 == source and t0.ref == target.ref):
            return verdict
        memo = None if scope == "both" else (key, source if scope == "source" else target.ref)
        if memo is not None:
            done = self._reworded.get(memo)
            if done is not None:
                return done
        if scope == "target":  # many class pairs give one target the same reason: reword it once
            same = (verdict.reason, verdict.reachable, verdict.conflict, t0.ref, target.ref)
            done = self._same_words.get(same)
            if done is None:
                done = self._same_words[same] = self._reword(verdict, pattern, s0, t0, source, target)
        else:
            done = self._reword(verdict, pattern, s0, t0, source, target)
        if memo is not None:
            self._reworded[memo] = done
        return done

    def conflict(self, source: Endpoint, target: Endpoint, verdict: Verdict | None = None) -> AddressConflict | None:
        """The address conflict a cell is caught in (None: none): one the model's walk met (its
        `verdict`, computed when not given), else the target's address held by more than one node,
        else a VM source's. The host and the router send from whichever of their addresses the
        route picks, so theirs count only where the walk meets them."""
        topo = self.topo
        if not topo.contested:
            return None
        if verdict is None:
            verdict = self.verdict(source.node, target)
        if verdict.conflict is not None:
            return verdict.conflict
        found = topo.conflict_of(target.node, target.address)
        if found is None and source.node in topo.nodes and topo.nodes[source.node].kind == "vm":
            found = topo.conflict_of(source.node, source.address)
        return found

    def rows(self, sources: list[str], targets: list[Endpoint]) -> Iterator[tuple[str, list[Verdict]]]:
        """For each source node, the verdicts against every target: `verdict` without per-cell overhead.

        Yields (source, [verdict per target]); the list is the caller's to keep, never changed later.
        A row none of whose reasons names its source is the same for every source of its class,
        except where a target is the source itself (or the class's first member): it is computed
        once per class and copied, with those few cells recomputed. A thousand sources fall into a
        few dozen classes, so a million-cell matrix walks about one row per class.
        """
        tkeys = [self._tkey(t) if t.address is not None else None for t in targets]
        at_node: dict[str, list[int]] = {}  # node -> positions of the targets it answers as
        for j, t in enumerate(targets):
            at_node.setdefault(t.node, []).append(j)
        shared: dict[int, tuple[str, list[Verdict]]] = {}  # class -> (the member it was walked for, its row)
        for source in sources:
            skey = self._skey(source)
            first = shared.get(skey)
            if first is not None:
                row = first[1].copy()
                for j in (*at_node.get(first[0], ()), *at_node.get(source, ())):
                    row[j] = self._cell(source, targets[j], skey, tkeys[j])
                yield source, row
                continue
            row, personal = self._row(source, skey, targets, tkeys)
            if not personal:
                shared[skey] = (source, row.copy())
            yield source, row

    def _cell(self, source: str, t: Endpoint, skey: int, tkey: int | None) -> Verdict:
        if tkey is None or t.node == source:
            return self.verdict(source, t)
        hit = self._cache.get((skey, tkey))
        if hit is None:
            return self.verdict(source, t)
        return hit[0] if hit[3] is None else self._from_entry((skey, tkey), hit, source, t)

    def _row(self, source: str, skey: int, targets: list[Endpoint],
             tkeys: list[int | None]) -> tuple[list[Verdict], bool]:
        """One source's row, and whether a reason in it names the source (then no other member of
        its class may share it)."""
        cache = self._cache
        row: list[Verdict] = []
        personal = False
        for t, tkey in zip(targets, tkeys, strict=True):
            if tkey is None or t.node == source:
                row.append(self.verdict(source, t))
                continue
            hit = cache.get((skey, tkey))
            if hit is None:
                row.append(self.verdict(source, t))
                hit = cache[(skey, tkey)]
            elif hit[3] is None:
                row.append(hit[0])
                continue
            else:
                row.append(self._from_entry((skey, tkey), hit, source, t))
            personal = personal or (hit[3] is not None and hit[4] != "target")
        return row, personal

    def _reword(self, verdict: Verdict, pattern: re.Pattern[str], s0: str, t0: Endpoint, source: str,
                target: Endpoint) -> Verdict:
        """The class representative's reason, with its names and addresses swapped for this cell's:
        each word the pattern finds becomes the last that applies of this cell's target reference
        (for t0's), source name or address (for s0's, when another source), target node name or
        address (for t0's, when another node). The reason is cut into words once per entry."""
        parts, words = self._cut(verdict.reason, pattern, s0, t0)
        out = [parts[0]]
        other_source, other_target = s0 != source, t0.node != target.node
        s_addrs = self._addr_strs(source) if other_source else []
        t_addrs = self._addr_strs(target.node) if other_target else []
        t_node = target.node
        for (word, is_ref, s_at, t_at), part in zip(words, parts[1:], strict=True):
            new = self._ref_str(target) if is_ref else word
            if other_source:
                if word == s0:
                    new = source
                if s_at:
                    new = _swapped(s_at, s_addrs, new)
            if other_target:
                if word == t0.node:
                    new = t_node
                if t_at:
                    new = _swapped(t_at, t_addrs, new)
            out.append(new)
            out.append(part)
        return Verdict(verdict.reachable, "".join(out), verdict.conflict)

    def _cut(self, reason: str, pattern: re.Pattern[str], s0: str, t0: Endpoint) -> tuple[list[str], list[_Word]]:
        """A reason as the text between the pattern's words, and each word with what it is of the
        class representatives: t0's reference, and where it is among s0's and t0's addresses (last first)."""
        key = (reason, pattern.pattern, s0, t0.ref, t0.node)
        cut = self._cuts.get(key)
        if cut is None:
            s_addrs, t_addrs, ref = self._addr_strs(s0), self._addr_strs(t0.node), self._ref_str(t0)
            parts, words, pos = [], [], 0
            for m in pattern.finditer(reason):
                word = m.group(0)
                parts.append(reason[pos:m.start()])
                words.append((word, word == ref, tuple(i for i in reversed(range(len(s_addrs))) if s_addrs[i] == word),
                              tuple(i for i in reversed(range(len(t_addrs))) if t_addrs[i] == word)))
                pos = m.end()
            parts.append(reason[pos:])
            cut = self._cuts[key] = (parts, words)
        return cut
