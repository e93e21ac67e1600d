"""The simulated lab: an in-memory VMware that runs anywhere (`--backend sim`, the default).

It is a product feature, not a test double: playbooks can be checked offline and in CI. It holds
the lab's true state (SimWorld) and offers the same two boundaries as real backends: the
Hypervisor protocol (this module) and the guest transport (transport/sim.py), whose guests answer
the very commands labkit sends to real ones. Reachability comes from the model (predict.py), which
is what VMware's networking would do; DHCP hands out leases deterministically from each pool.
"""

from __future__ import annotations

import re
import threading
from ipaddress import IPv4Address, IPv4Interface

from labkit.backends.sim.clock import VirtualClock
from labkit.errors import BackendError
from labkit.guest.config import config_path, render_new, to_interface_config
from labkit.protocols import GuestNic
from labkit.inventory import network_subnet
from labkit.model import VM, Adapter, Inventory, Network
from labkit.netconfig import InterfaceConfig
from labkit.predict import Predictor
from labkit.state import IfaceState, LabState, VMState, initial_host_adapters
from labkit.topology import Topology


class SimWorld:
    """Truth of the simulated lab: state, DHCP leases and every guest's file system."""

    def __init__(self, inv: Inventory) -> None:
        self.inventory = inv
        self.lock = threading.RLock()
        vms = {}
        self.files: dict[str, dict[str, str]] = {}
        for vm in inv.vms:
            ifaces = [IfaceState(a.interface, (a.mac or "").lower() or None, a.network if a.connected else None)
                      for a in vm.adapters]
            vms[vm.name] = VMState(vm.name, vm.os, vm.icmp_firewall, vm.powered_on, ifaces)
            self.files[vm.name] = dict(vm.files)
        self.state = LabState(inv, initial_host_adapters(inv), vms)
        self.leases: dict[str, dict[str, IPv4Address]] = {}  # network -> mac -> address
        self._taken: dict[str, set[IPv4Address]] = {}
        self._next_free: dict[str, int] = {}
        self.guest_config: dict[tuple[str, str], InterfaceConfig] = {}  # what each guest is configured with
        self._topo: Topology | None = None
        self.timers: list[tuple[float, str, str]] = []  # (due, node, script): armed revert timers
        self.clock = VirtualClock()  # the guests' timers and labkit's waits share it
        self._predictor: Predictor | None = None
        for vm in inv.vms:
            self._boot(vm)

    def _boot(self, vm: VM) -> None:
        """Seed the guest's files from the inventory and start its network as its OS would."""
        from labkit.backends.sim.guest import SimTransport, ifcfg_service

        files = self.files[vm.name]
        dialect = vm.dialect
        if dialect is None and vm.os != "windows":  # what the seeded files say, else Debian's default
            dialect = "ifcfg" if any("/network-scripts/ifcfg-" in p for p in files) else "ifupdown"
        if dialect in _OS_RELEASE:
            files.setdefault("/etc/os-release", _OS_RELEASE[dialect])
        for a in vm.adapters:
            if a.config is None:
                continue
            cfg = to_interface_config(a.config)
            if dialect == "ifcfg":
                path = config_path("ifcfg", a.interface)
                if path not in files:
                    files[path] = render_new("ifcfg", a.interface, a.mac, cfg)
            elif dialect == "ifupdown":
                path = config_path("ifupdown", a.interface)
                files[path] = _with_stanza(files.get(path), a.interface, cfg)
            else:  # no file format simulated (Windows, netplan, keyfiles): the guest holds the configuration
                self.guest_config[(vm.name, a.interface)] = cfg
                self.bring_up(vm.name, a.interface)
        if dialect == "ifcfg" and vm.powered_on:
            ifcfg_service(SimTransport(self, vm.name, vm.os))
        if dialect == "ifupdown" and vm.powered_on:
            SimTransport(self, vm.name, vm.os).run("ifup -a")

    def arm_timer(self, node: str, script: str) -> None:
        """A labkit revert timer (safeapply.py's script), run by the simulated guest when it is due."""
        seconds = float(re.search(r"^sleep (\d+)", script, re.M).group(1))
        self.timers.append((self.clock.monotonic() + seconds, node, script))

    def fire_timers(self) -> None:
        due = [t for t in self.timers if t[0] <= self.clock.monotonic()]
        if not due:
            return
        from labkit.backends.sim.guest import SimTransport

        for timer in due:
            self.timers.remove(timer)
            _, node, script = timer
            files = self.files[node]
            confirm = re.search(r"^\[ -e (\S+) \] && exit 0", script, re.M).group(1)
            if confirm in files:
                continue
            backup, target = re.search(r"^cp (\S+) (\S+)\.labkit-revert", script, re.M).groups()
            files[target] = files[backup]
            restart = script.strip().splitlines()[3]
            SimTransport(self, node, self.state.vms[node].os).run(restart)

    def topology(self) -> Topology:
        """The wires as they are now; rebuilt only after something changed."""
        with self.lock:
            if self._topo is None:
                self._topo = Topology(self.state)
            return self._topo

    def predictor(self) -> Predictor:
        with self.lock:
            if self._predictor is None or self._predictor.topo is not self.topology():
                self._predictor = Predictor(self.topology())
            return self._predictor

    def changed(self) -> None:
        self._topo = None

    # ---- guest networking, as the guest's own network service would do it ----

    def bring_up(self, vm: str, iface: str) -> IfaceState:
        """Apply the guest's configuration to one interface (what `network restart` ends in)."""
        with self.lock:
            self.changed()
            st = self.state.vms[vm].iface(iface)
            cfg = self.guest_config.get((vm, iface))
            st.address = st.gateway = None
            st.note = None
            if cfg is None or st.network is None or not self.state.vms[vm].powered_on:
                st.note = None if cfg else f"{vm}'s {iface} is not configured"
                return st
            st.dhcp = cfg.mode == "dhcp"
            if cfg.mode == "static":
                st.address, st.gateway = cfg.address, cfg.gateway
                return st
            net = self.inventory.networks[st.network]
            lease = self._lease(st.network, net, st.mac or f"{vm}/{iface}")
            if lease is None:
                st.note = f"{vm}'s {iface}: no DHCP server answered on {st.network}"
                return st
            st.address, st.gateway = lease
            return st

    def _lease(self, name: str, net: Network, mac: str) -> tuple[IPv4Interface, IPv4Address | None] | None:
        inv = self.inventory
        if net.type == "bridged":
            pool, gateway, key = inv.lan.dhcp, inv.lan.router, "lan"
        else:
            pool, gateway, key = net.dhcp, net.gateway, name
        if pool is None:
            return None
        subnet = network_subnet(inv, name)
        table = self.leases.setdefault(key, {})
        if mac not in table:
            taken = self._taken.setdefault(key, set(self._static_addresses()))
            start = self._next_free.get(key, int(pool.start))
            for n in range(start, int(pool.end) + 1):
                if IPv4Address(n) not in taken:
                    table[mac] = IPv4Address(n)
                    taken.add(table[mac])
                    self._next_free[key] = n + 1  # leases are never released: the scan resumes here
                    break
            else:
                return None
        return IPv4Interface(f"{table[mac]}/{subnet.prefixlen}"), gateway

    def _static_addresses(self) -> set[IPv4Address]:
        inv = self.inventory
        out = {inv.host.lan_address, inv.lan.router}
        for net in inv.networks.values():
            for a in (net.gateway, net.host_adapter and net.host_adapter.address, net.dhcp and net.dhcp.server):
                if a is not None:
                    out.add(a)
        return out


_OS_RELEASE = {
    "ifcfg": 'NAME="CentOS"\nVERSION="6.5 (Final)"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="6"\n',
    "ifupdown": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n',
}


def _with_stanza(text: str | None, interface: str, cfg: InterfaceConfig) -> str:
    """/etc/network/interfaces with this interface's stanza, as a Debian installer leaves it."""
    from labkit.dialects import ifupdown

    doc = ifupdown.parse(text if text is not None else "auto lo\niface lo inet loopback\n\n")
    ifupdown.apply_config(doc, interface, cfg)
    return ifupdown.render(doc)


class SimHypervisor:
    """The Hypervisor protocol over a SimWorld."""

    kind = "sim"

    def __init__(self, world: SimWorld) -> None:
        self.world = world

    def _iface(self, vm: str, adapter: Adapter) -> IfaceState:
        try:
            return self.world.state.vms[vm].iface(adapter.interface)
        except KeyError:
            raise BackendError(f"no VM named {vm!r} with adapter {adapter.interface!r}") from None

    def adapter_network(self, vm: str, adapter: Adapter) -> str | None:
        with self.world.lock:
            return self._iface(vm, adapter).network

    def set_adapter_network(self, vm: str, adapter: Adapter, network: str) -> bool:
        if network not in self.world.inventory.networks:
            raise BackendError(f"no network {network!r}")
        with self.world.lock:
            st = self._iface(vm, adapter)
            if st.network == network:
                return False
            # Like VMware: the port moves, the guest keeps its old address until it re-addresses.
            st.network = network
            self.world.changed()
            return True

    def powered_on(self, vm: str) -> bool:
        return self.world.state.vms[vm].powered_on

    def set_power(self, vm: str, on: bool) -> bool:
        with self.world.lock:
            st = self.world.state.vms[vm]
            if st.powered_on == on:
                return False
            st.powered_on = on
            self.world.changed()
            for ifc in st.ifaces:
                if on:
                    self.world.bring_up(vm, ifc.name)
                else:
                    ifc.address = ifc.gateway = None
            return True

    def guest_nics(self, vm: str) -> list[GuestNic]:
        with self.world.lock:
            st = self.world.state.vms[vm]
            if not st.powered_on:
                return []
            return [GuestNic(i.mac, (i.address,) if i.address else (), i.gateway) for i in st.ifaces]

    def host_adapter_enabled(self, network: str) -> bool:
        return self.world.state.host_adapters.get(network, False)

    def set_host_adapter(self, network: str, enabled: bool) -> bool:
        net = self.world.inventory.networks.get(network)
        if net is None or net.host_adapter is None:
            raise BackendError(f"network {network!r} has no host virtual adapter")
        with self.world.lock:
            if self.world.state.host_adapters.get(network) == enabled:
                return False
            self.world.state.host_adapters[network] = enabled
            self.world.changed()
            return True

    def close(self) -> None:
        pass


class SimLab:
    """A run's view of the simulated lab: its hypervisor and one transport per node."""

    backend = "sim"
    concurrency = 1  # every command runs under the world's lock: threads would only add contention
    batch = None

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.world = SimWorld(inventory)
        self.clock = self.world.clock
        self.hypervisor = SimHypervisor(self.world)
        self.host_adapters = self.hypervisor
        self.console = None
        self._transports: dict = {}

    def transport(self, node: str):
        from labkit.backends.sim.guest import SimTransport

        if node not in self._transports:
            self._transports[node] = SimTransport(self.world, node, self.inventory.os_of(node))
        return self._transports[node]

    def guest_address(self, node: str, interface: str):
        self.world.fire_timers()
        st = self.world.state.vms[node].iface(interface)
        return st.address.ip if st.address else None

    def network_transport(self, node: str, address):
        """The guest over the network from the host: only if the model says the host gets there."""
        from labkit.errors import UnreachableError
        from labkit.topology import Endpoint

        self.world.fire_timers()
        topo = self.world.topology()
        holders = topo.by_ip.get(address, [])
        if [h.name for h in holders] != [node]:
            raise UnreachableError(f"{node}: nothing of it answers at {address}")
        verdict = self.world.predictor().classify("host", Endpoint(str(address), node, address))
        if verdict.reachable is False:
            raise UnreachableError(f"{node} ({address}): connect timed out ({verdict.reason})")
        return self.transport(node)

    def close(self) -> None:
        self._transports.clear()


def open_lab(inventory: Inventory) -> SimLab:
    return SimLab(inventory)
