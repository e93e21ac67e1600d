"""The simulated lab as a Lab (labkit.protocols): its hypervisor, console and transports.

It takes the paths a real lab takes. A VM's transport is the real backends' FallbackTransport:
SSH at the guest's current address while the lab's host reaches it there, else the console;
the console (VMware Tools or nsenter on real labs) reaches every powered-on VM whatever its
network state, so the runner sends restarts and Windows netsh changes through it as it does on
netns and vSphere, and reports say `via ssh` or `via console` alike. The host, the router and
the externals get a plain shell (kind "sim").
"""

from __future__ import annotations

from ipaddress import IPv4Address

from labkit.backends.sim.boot import start_network
from labkit.backends.sim.guest import ConsoleTransport, GuestViews, SimTransport, SshTransport
from labkit.backends.sim.snapshots import SimSnapshots
from labkit.backends.sim.world import SimWorld
from labkit.backends.transports.fallback import FallbackTransport
from labkit.errors import BackendError
from labkit.model import Adapter, Inventory
from labkit.protocols import GuestNic, GuestTransport
from labkit.state import IfaceState

__all__ = ["SimConsole", "SimHypervisor", "SimLab", "SimVmTransport", "SimWorld", "open_lab"]


class SimHypervisor:
    """The Hypervisor protocol (and HostAdapters, LinkControl, ExplainsNoAddress) over a SimWorld."""

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
            key = (vm, adapter.interface)
            if key in self.world.cable_out:  # the port moves, the cable stays out
                if self.world.cable_out[key] == network:
                    return False
                self.world.cable_out[key] = network
                return True
            if st.network == network:
                return False
            # Like VMware: the port moves, the guest keeps its old address until it re-addresses.
            st.network = network
            self.world.changed()
            return True

    def set_link(self, vm: str, adapter: Adapter, connected: bool) -> bool:
        """LinkControl: the port keeps its network; while the cable is out the adapter has none, and
        the guest keeps its address (a DHCP guest renews only when its network is restarted)."""
        with self.world.lock:
            st = self._iface(vm, adapter)
            key = (vm, adapter.interface)
            if (key not in self.world.cable_out) == connected:
                return False
            if connected:
                st.network = self.world.cable_out.pop(key)
            else:
                self.world.cable_out[key] = st.network or adapter.network
                st.network = None
            self.world.changed()
            return True

    def link_connected(self, vm: str, adapter: Adapter) -> bool:
        with self.world.lock:
            self._iface(vm, adapter)
            return (vm, adapter.interface) not in self.world.cable_out

    def powered_on(self, vm: str) -> bool:
        return self.world.state.vms[vm].powered_on

    def set_power(self, vm: str, on: bool) -> bool:
        with self.world.lock:
            st = self.world.state.vms[vm]
            if st.powered_on == on:
                return False
            st.powered_on = on
            self.world.changed()
            if on:
                start_network(self.world, vm)
            else:
                self.world.power_off(vm)
            return True

    def guest_nics(self, vm: str) -> list[GuestNic]:
        self.world.tick()
        with self.world.lock:
            st = self.world.state.vms[vm]
            if not st.powered_on:
                return []
            return [GuestNic(i.mac, (i.address,) if i.address else (), i.gateway) for i in st.ifaces]

    def no_address_reason(self, vm: str, adapter: Adapter) -> str:
        """Why the guest has no address on the adapter's network (ExplainsNoAddress), naming the lab."""
        where = f"as the simulated lab {self.world.inventory.lab} has it"
        with self.world.lock:
            st = self._iface(vm, adapter)
            if not self.world.state.vms[vm].powered_on:
                return f"VM {vm} is powered off ({where})"
            if st.network is None:
                return f"{adapter.interface} has no link: its virtual cable is out ({where})"
            if st.address is not None:
                return (f"the guest still holds {st.address}, outside {st.network}, until its network is "
                        f"restarted ({where})")
            return f"{st.note or f'the guest has not brought {adapter.interface} up'} ({where})"

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


class SimConsole:
    """Every VM's console (the Console protocol): one per VM for the run."""

    def __init__(self, world: SimWorld) -> None:
        self.world = world
        self._open: dict[str, ConsoleTransport] = {}

    def reaches(self, node: str) -> bool:
        return node in self.world.state.vms

    def open(self, node: str) -> ConsoleTransport:
        if not self.reaches(node):
            raise BackendError(f"{node!r} is not a VM of the simulated lab: it has no console")
        console = self._open.get(node)
        if console is None:
            console = self._open[node] = ConsoleTransport(self.world.guest(node))
        else:
            console._enter()  # a console kept from before refuses a VM powered off since
        return console


class SimVmTransport(GuestViews, FallbackTransport):
    """FallbackTransport exactly as the real backends use it, plus read-only views of the guest
    behind it (its files and the commands it ran) for tests and --verbose."""

    def __init__(self, world: SimWorld, console: SimConsole, node: str) -> None:
        self.guest = world.guest(node)
        self._shown: tuple[object, str | None] = (None, None)  # (interface address, its text)
        super().__init__(node, self._current_address, lambda address: SshTransport(self.guest, address),
                         lambda: console.open(node))

    def _current_address(self) -> str | None:
        """The guest's first address, as VMware Tools reports it (none while powered off)."""
        world = self.guest.world
        world.tick()
        vm = world.state.vms[self.name]
        if not vm.powered_on:
            return None
        for ifc in vm.ifaces:
            if ifc.address is not None:
                if self._shown[0] is not ifc.address:  # asked before every operation: text it once
                    self._shown = (ifc.address, str(ifc.address.ip))
                return self._shown[1]
        return None


class SimLab:
    """A run's view of the simulated lab."""

    backend = "sim"
    concurrency = 1  # every command runs under the world's lock: threads would only add contention
    batch = None
    lost = None  # nothing to lose: the lab is local, or each call says what failed

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.world = SimWorld(inventory)
        self.clock = self.world.clock
        self.hypervisor = SimHypervisor(self.world)
        self.host_adapters = self.hypervisor
        self.links = self.hypervisor
        self.console = SimConsole(self.world)
        self.snapshots = SimSnapshots(self.world, on_revert=self._forget)
        self._transports: dict[str, GuestTransport] = {}

    def _forget(self, node: str) -> None:
        """Drop the channel to a reverted VM: its SSH session is gone, what it learnt is out of date."""
        channel = self._transports.pop(node, None)
        if channel is not None:
            channel.close()

    def transport(self, node: str) -> GuestTransport:
        if node not in self._transports:
            if node in self.world.state.vms:
                self._transports[node] = SimVmTransport(self.world, self.console, node)
            elif node in ("host", "router") or node in self.inventory.externals:
                self._transports[node] = SimTransport(self.world.guest(node))
            else:
                raise BackendError(f"no transport for {node!r} in the simulated lab")
        return self._transports[node]

    def guest_address(self, node: str, interface: str) -> IPv4Address | None:
        self.world.tick()
        st = self.world.state.vms[node].iface(interface)
        return st.address.ip if st.address else None

    def network_transport(self, node: str, address: IPv4Address) -> GuestTransport:
        """SSH to the guest at `address` from the host: refused unless the model says it gets there."""
        return SshTransport(self.world.guest(node), address)

    def close(self) -> None:
        for t in self._transports.values():
            t.close()
        self._transports.clear()


def open_lab(inventory: Inventory) -> SimLab:
    return SimLab(inventory)
