"""The truth of a simulated lab: state, DHCP servers, every machine's files, and running jobs.

One SimWorld per lab. Its state starts as `labkit.described.described_state` says (the guests
boot through their own network services, boot.py, taking leases from the same `Leases`), and
changes only through what labkit does to it: the hypervisor moves adapters, plugs their cables
in and out and powers VMs, the guests' tools re-address themselves. An unplugged adapter's state
says network None (its port's network is kept in `cable_out`); its guest keeps the address it
has. Reachability is the model's (predict.py) over that state.

Address conflicts (two holders of one address on one segment) are where the model stops (rule 10);
a real segment does not stop, and neither does the sim. Its rule, deterministic and the one a real
segment shows: the most recent holder answers ARP. Whoever brought the address up last (every
`bring_up` is stamped) has sent the last gratuitous ARP and wins the neighbour caches, so a ping
to the address gets that holder's reply, subject to the usual rules from the pinging source to it,
and the replies other nodes send to that address go to it as well (a losing holder's own pings
get no answer back). The lab's own devices (host, router, NAT devices, DHCP servers) hold their
addresses from the start: a VM that brings one of them up later wins it. `topology()` is the
model's Topology with the ARP tables settled that way; the conflicts stay on record in it.

Detached jobs (a revert timer sleeping in a guest) wait here with their wake-up time on the
virtual clock; `tick()`, called by every transport operation and hypervisor read, resumes those
that are due, so they fire exactly when the next look at the lab could notice.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
import threading
from ipaddress import IPv4Address, ip_address

from labkit.backends.sim.answers import Answers
from labkit.backends.sim.clock import VirtualClock
from labkit.backends.sim.guest import SimGuest
from labkit.backends.sim.shell import Job
from labkit.described import Leases, address_interface, described_state, initial_iface
from labkit.model import Inventory, OsFamily
from labkit.netconfig import InterfaceConfig
from labkit.predict import Predictor, weak_host
from labkit.results import AddressConflict
from labkit.state import IfaceState, LabState, VMState, initial_host_adapters
from labkit.topology import Endpoint, Node, Topology


class SimWorld:
    def __init__(self, inv: Inventory) -> None:
        from labkit.backends.sim.boot import boot

        self.inventory = inv
        self.lock = threading.RLock()
        self.clock = VirtualClock()  # the guests' timers and labkit's waits share it
        self.leases = Leases(inv)
        described_state(inv, self.leases)  # reserves the leases in inventory order: predict agrees
        vms = {vm.name: VMState(vm.name, vm.os, vm.icmp_firewall, vm.powered_on,
                                [initial_iface(a) for a in vm.adapters]) for vm in inv.vms}
        self.state = LabState(inv, initial_host_adapters(inv), vms)
        self.files: dict[str, dict[str, str]] = {vm.name: dict(vm.files) for vm in inv.vms}
        self.guests: dict[str, SimGuest] = {}
        self.guest_config: dict[tuple[str, str], InterfaceConfig] = {}  # what each guest is configured with
        self.dialects: dict[str, str | None] = {}  # how each VM's init configures its network
        self.jobs: list[Job] = []  # detached jobs waiting on the clock
        self.answers = Answers(self)  # what pings get back and print, per topology (answers.py)
        self._next_wake = math.inf
        self._topo: Topology | None = None
        self._predictor: Predictor | None = None
        self._reach: dict[tuple[str, IPv4Address], str | None] = {}
        self._reach_topo: Topology | None = None
        self._addresses: dict[str, IPv4Address | None] = {}
        self._devices: set[int] | None = None  # the lab devices' addresses, as ints (_maybe_held)
        self._stamps = itertools.count(1)
        self._raised: dict[tuple[str, str], int] = {}  # (vm, interface) -> when it last brought its address up
        # (vm, interface) -> the network its port stays on while its cable is out (its state says network None)
        self.cable_out: dict[tuple[str, str], str] = {
            (vm.name, a.interface): a.network for vm in inv.vms for a in vm.adapters if not a.connected}
        for vm in inv.vms:
            boot(self, vm)

    def guest(self, node: str) -> SimGuest:
        """The machine behind a node (a VM, the host, the router, an external), made on first use."""
        with self.lock:
            g = self.guests.get(node)
            if g is None:
                inv = self.inventory
                os_family: OsFamily = inv.host.os if node == "host" else (
                    inv.vm(node).os if node in self.state.vms else "linux")
                g = self.guests[node] = SimGuest(self, node, os_family)
            return g

    # ---- the model's view ----
    def topology(self) -> Topology:
        """The wires as they are now, conflicts settled (the most recent holder answers ARP);
        rebuilt only after something changed."""
        with self.lock:
            if self._topo is None:
                topo = Topology(self.state)
                if topo.contested:
                    topo.settle(self._most_recent)
                self._topo = topo
            return self._topo

    def _raised_at(self, node: Node, segment: str, ip: IPv4Address) -> int:
        """When `node` last brought `ip` up on `segment` (0: the lab's devices, there from the start)."""
        if node.kind != "vm":
            return 0
        return max((self._raised.get((node.name, i.name), 0) for i in node.ifaces if i.segment == segment and i.ip == ip),
                   default=0)

    def _most_recent(self, segment: str, ip: IPv4Address, holders: list[Node]) -> Node:
        """Who answers ARP for a contested address: the holder that brought it up last (ties, which
        only state built by hand has: the first in the lab's order)."""
        return max(holders, key=lambda n: self._raised_at(n, segment, ip))

    def answering_mac(self, vm: str, iface: str, ip: IPv4Address) -> str | None:
        """The MAC of whoever else answers ARP for `ip` on the segment of `vm`'s `iface` (None:
        nobody): what RHEL's duplicate address detection (`arping -D`) hears before it takes `ip`."""
        with self.lock:
            st = self.state.vms[vm].iface(iface)
            if st.network is None or not self.state.vms[vm].powered_on:
                return None
            if not self._maybe_held(vm, ip):  # nobody else has it: no need to rebuild the topology
                return None
            topo = self.topology()
            segment = topo.segment_of(st.network)
            others = [n for n in topo.by_ip.get(ip, []) if n.name != vm
                      and any(i.segment == segment and i.ip == ip for i in n.ifaces)]
            host = topo.nodes.get("host")
            if not others and host is not None and host.owns(ip) and weak_host(topo) and any(
                    i.segment == segment for i in host.ifaces):
                others = [host]  # a weak-model host answers for an address of its other adapters
            if not others:
                return None
            who = self._most_recent(segment, ip, others)
            mac = None
            if who.kind == "vm":
                mac = self.state.vms[who.name].iface(next(i.name for i in who.ifaces if i.ip == ip)).mac
            return (mac or _made_up_mac(who.name, segment)).upper()

    def _maybe_held(self, vm: str, ip: IPv4Address) -> bool:
        """Whether anyone but `vm` might hold `ip`: a lab device's address (host, router, NAT device,
        DHCP server, external), or another VM's. A booting lab asks for every static address; the
        answer is almost always no, and this is much cheaper than the topology it would rebuild."""
        if self._devices is None:
            topo = self.topology()
            self._devices = {int(a) for n in topo.nodes.values() if n.kind != "vm" for a in n.addrs}
            net = (self.inventory.networks[name] for name in self.inventory.networks)
            self._devices |= {int(n.host_adapter.address) for n in net if n.host_adapter is not None}
        want = int(ip)
        if want in self._devices:
            return True
        return any(i.address is not None and int(i.address) == want
                   for name, other in self.state.vms.items() if name != vm for i in other.ifaces)

    def predictor(self) -> Predictor:
        with self.lock:
            if self._predictor is None or self._predictor.topo is not self.topology():
                self._predictor = Predictor(self.topology())
            return self._predictor

    def changed(self) -> None:
        self._topo = None

    def address(self, text: str) -> IPv4Address | None:
        """Parse an address once: a big matrix names each target in every source's commands."""
        if text not in self._addresses:
            try:
                parsed = ip_address(text)
            except ValueError:
                parsed = None
            self._addresses[text] = parsed if isinstance(parsed, IPv4Address) else None
        return self._addresses[text]

    def host_cannot_reach(self, node: str, address: IPv4Address) -> str | None:
        """Why the lab's host cannot open a connection to `node` at `address` (None: it can).
        Answers are kept until the topology changes."""
        with self.lock:
            topo = self.topology()
            if topo is not self._reach_topo:
                self._reach, self._reach_topo = {}, topo
            key = (node, address)
            if key not in self._reach:
                holders = topo.by_ip.get(address, [])
                conflict = topo.conflict_of(node, address)
                why = None
                if conflict is not None:
                    why = self._other_holder(topo, node, address, conflict)
                elif [h.name for h in holders] != [node]:
                    why = f"{node}: nothing of it answers at {address}"
                if why is None:
                    verdict = self.predictor().classify("host", Endpoint(str(address), node, address))
                    if verdict.reachable is False:
                        why = f"{node} ({address}): connect timed out ({verdict.reason})"
                self._reach[key] = why
            return self._reach[key]

    @staticmethod
    def _other_holder(topo: Topology, node: str, address: IPv4Address, conflict: AddressConflict) -> str | None:
        """Why the host's connection to a contested address does not reach `node` (None: it does)."""
        if "host" in conflict.holders:  # the host's own address: its connection stays local to it
            return f"{node} ({address}): the host holds that address itself (address conflict: {conflict})"
        who = topo.arp[conflict.segment or ""][address][0].name  # settled: the most recent holder
        if who == node:
            return None
        return (f"{node} ({address}): {who} answers at that address (address conflict: {conflict}; "
                "the most recent holder answers ARP)")

    # ---- guest networking, as the guest's own network service does it ----
    def bring_up(self, vm: str, iface: str) -> IfaceState:
        """Apply the guest's configuration to one interface (what `network restart` ends in)."""
        with self.lock:
            self.changed()
            st = self.state.vms[vm].iface(iface)
            cfg = self.guest_config.get((vm, iface))
            if cfg is None or st.network is None or not self.state.vms[vm].powered_on:
                st.address = st.gateway = None
                st.note = None if cfg else f"{vm}'s {iface} is not configured"
                return st
            address_interface(self.inventory, self.leases, vm, st, cfg.mode == "dhcp", cfg.address, cfg.gateway)
            if st.address is not None:
                self._raised[(vm, iface)] = next(self._stamps)  # its gratuitous ARP: the newest holder
            return st

    def refuse_address(self, vm: str, iface: str, why: str) -> IfaceState:
        """The interface stays down without an address (a network service refused to bring it up)."""
        with self.lock:
            self.changed()
            st = self.state.vms[vm].iface(iface)
            st.address = st.gateway = None
            st.note = why
            return st

    # ---- detached jobs ----
    def park(self, job: Job) -> None:
        """A job sleeping until job.until: resumed by the first tick() after that."""
        with self.lock:
            self.jobs.append(job)
            self._next_wake = min(self._next_wake, job.until)

    def tick(self) -> None:
        """Resume every job whose wake-up time has come (cheap when none has)."""
        if self._next_wake > self.clock.monotonic():
            return
        with self.lock:
            while True:
                now = self.clock.monotonic()
                due = [j for j in self.jobs if j.until <= now]
                if not due:
                    break
                for job in due:
                    self.jobs.remove(job)
                for job in due:
                    if job.step():
                        self.jobs.append(job)
            self._next_wake = min((j.until for j in self.jobs), default=math.inf)

    def wait_until(self, until: float) -> None:
        """A foreground `sleep`: the lab's time moves on, and what falls due meanwhile runs."""
        now = self.clock.monotonic()
        if until > now:
            self.clock.sleep(until - now)
        self.tick()

    def kill_jobs(self, node: str, pattern: re.Pattern[str], full: bool) -> int:
        """pkill: end `node`'s waiting jobs whose name (full: command line or script) matches."""
        with self.lock:
            hit = [j for j in self.jobs if j.node == node and (
                pattern.search(j.cmdline) or pattern.search(j.script) if full
                else pattern.search(j.cmdline.split()[0].rsplit("/", 1)[-1] if j.cmdline else ""))]
            for job in hit:
                self.jobs.remove(job)
                job.kill()
            self._next_wake = min((j.until for j in self.jobs), default=math.inf)
            return len(hit)

    def power_off(self, node: str) -> None:
        """Every process of the VM ends; its interfaces lose their addresses."""
        with self.lock:
            for job in [j for j in self.jobs if j.node == node]:
                self.jobs.remove(job)
                job.kill()
            self._next_wake = min((j.until for j in self.jobs), default=math.inf)
            for ifc in self.state.vms[node].ifaces:
                ifc.address = ifc.gateway = None
            self.changed()


def _made_up_mac(node: str, segment: str) -> str:
    """A stable MAC in VMware's OUI for a device the inventory gives none (host adapters, NAT devices)."""
    digest = hashlib.sha256(f"{node}/{segment}".encode()).digest()
    return "00:50:56:" + ":".join(f"{b:02x}" for b in digest[:3])
