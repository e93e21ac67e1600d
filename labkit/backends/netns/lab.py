"""The Hypervisor protocol over a network-namespace lab built by `labkit lab up`.

An adapter's network is the bridge its switch port is enslaved to, changed live as VMware does;
power is the VM's PID 1; the host's VMnet adapters are links in the host namespace; guest
addresses are read from the VM's namespace, as VMware Tools would report them.
"""

from __future__ import annotations

import json
import subprocess
import time
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labkit.clock import SYSTEM
from labkit.errors import BackendError
from labkit.backends.addresses import guest_address
from labkit.protocols import GuestNic, GuestTransport, Lab
from labkit.model import Adapter, Inventory, Ssh
from labkit.backends.netns import build as netlab
from labkit.backends.netns.nsexec import ConsoleTransport, NsExecTransport, socket_in_netns
from labkit.backends.netns.stack import run
from labkit.backends.netns import users
from labkit.backends.transports.bastions import Bastions
from labkit.backends.transports.fallback import FallbackTransport
from labkit.backends.transports.sshinventory import InventoryLogins

if TYPE_CHECKING:
    from labkit.backends.transports.ssh import SshTransport


FRESH_S = 2.0  # how long the address guest_nics read may stand in for a new look-up (once)


def _ip_json(*argv: str) -> list[dict[str, Any]]:
    """`ip -j` output: a list of objects whose keys depend on the subcommand (link, addr, route)."""
    proc = subprocess.run(["ip", "-j", *argv], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BackendError(f"ip {' '.join(argv)}: {proc.stderr.strip()}")
    return json.loads(proc.stdout or "[]")


class NetnsHypervisor:
    kind = "netns"

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.state = netlab.load_state(inventory)
        self.dir = Path(self.state["dir"])
        self.just_read: dict[str, tuple[float, str | None]] = {}  # vm -> (when, its first address): guest_nics

    def _save(self) -> None:
        netlab.save_state(self.dir, self.state)

    def _vm(self, vm: str) -> netlab.VmState:
        try:
            return self.state["vms"][vm]
        except KeyError:
            raise BackendError(f"no VM named {vm!r} in the netns lab") from None

    def _port(self, vm: str, adapter: Adapter) -> str:
        return self._vm(vm)["ports"][adapter.interface]["port"]

    def _placed(self, vm: str, adapter: Adapter) -> tuple[bool, list[str]]:
        """(whether the VM's switch port is up: its cable is in, the networks of the bridge it is on)."""
        link = _ip_json("-n", self.state["switch"], "link", "show", "dev", self._port(vm, adapter))[0]
        bridge = link.get("master")
        names = [n for n, b in self.state["bridges"].items() if b == bridge and n != "lan"]
        return "UP" in link.get("flags", []), names

    def adapter_network(self, vm: str, adapter: Adapter) -> str | None:
        up, names = self._placed(vm, adapter)
        if not up:
            return None
        if adapter.network in names:
            return adapter.network
        return names[0] if names else None

    def set_adapter_network(self, vm: str, adapter: Adapter, network: str) -> bool:
        """Enslave the port to the network's bridge; a port that is down (set_link took the cable
        out) moves and stays down."""
        if network not in self.inventory.networks:
            raise BackendError(f"no network {network!r}")
        if network in self._placed(vm, adapter)[1]:
            return False
        port = self._port(vm, adapter)
        run("ip", "-n", self.state["switch"], "link", "set", port, "master", self.state["bridges"][network])
        return True

    def link_connected(self, vm: str, adapter: Adapter) -> bool:
        """LinkControl: the cable is in while the VM's port on the switch is up."""
        return self._placed(vm, adapter)[0]

    def set_link(self, vm: str, adapter: Adapter, connected: bool) -> bool:
        """Set the VM's switch port up or down (the guest's end sees its carrier come and go, and
        keeps its addresses); read back."""
        if self.link_connected(vm, adapter) == connected:
            return False
        run("ip", "-n", self.state["switch"], "link", "set", self._port(vm, adapter), "up" if connected else "down")
        if self.link_connected(vm, adapter) != connected:
            raise BackendError(f"{vm}: the switch port of {adapter.interface} is not "
                               f"{'up' if connected else 'down'} after the change")
        return True

    def powered_on(self, vm: str) -> bool:
        pid = self._vm(vm).get("init_pid")
        return bool(pid) and Path(f"/proc/{pid}").exists()

    def set_power(self, vm: str, on: bool) -> bool:
        if self.powered_on(vm) == on:
            return False
        self.just_read.pop(vm, None)
        if on:
            netlab.boot(self.state, vm)
        else:
            netlab.power_off(self.state, vm)
        self._save()
        return True

    def guest_nics(self, vm: str) -> list[GuestNic]:
        if not self.powered_on(vm):
            return []
        ns = self._vm(vm)["ns"]
        routes = _ip_json("-n", ns, "-4", "route", "show", "default")
        out: list[GuestNic] = []
        for link in _ip_json("-n", ns, "addr", "show"):
            if link.get("ifname") == "lo":
                continue
            addrs = tuple(IPv4Interface(f"{a['local']}/{a['prefixlen']}") for a in link.get("addr_info", [])
                          if a.get("family") == "inet")
            gw = next((IPv4Address(r["gateway"]) for r in routes if r.get("dev") == link["ifname"] and "gateway" in r),
                      None)
            out.append(GuestNic(link.get("address"), addrs, gw))
        first = next((str(a.ip) for nic in out for a in nic.addresses), None)
        self.just_read[vm] = (time.monotonic(), first)
        return out

    def first_address(self, vm: str) -> str | None:
        """The first IPv4 address on any of the VM's links but lo, in one `ip` call (None: none, or off)."""
        if not self.powered_on(vm):
            return None
        for link in _ip_json("-n", self._vm(vm)["ns"], "-4", "addr", "show"):
            if link.get("ifname") != "lo":
                for a in link.get("addr_info", []):
                    if a.get("family") == "inet":
                        return str(a["local"])
        return None

    def host_adapter_enabled(self, network: str) -> bool:
        ifname = self.state["host_adapters"].get(network)
        if ifname is None:
            return False
        return "UP" in _ip_json("-n", self.state["host"], "link", "show", "dev", ifname)[0].get("flags", [])

    def set_host_adapter(self, network: str, enabled: bool) -> bool:
        ifname = self.state["host_adapters"].get(network)
        if ifname is None:
            raise BackendError(f"network {network!r} has no host virtual adapter")
        if self.host_adapter_enabled(network) == enabled:
            return False
        host, net = self.state["host"], self.inventory.networks[network]
        # a disabled adapter has no address at all (as on Windows and with vmnet-netifup down),
        # so even the host itself no longer answers on it
        if enabled:
            adapter, subnet = net.host_adapter, net.subnet
            if adapter is None or subnet is None:  # the lab was built with both from this inventory
                raise BackendError(f"network {network!r} has no host virtual adapter or no subnet in the inventory")
            run("ip", "-n", host, "link", "set", ifname, "up")
            run("ip", "-n", host, "addr", "replace",
                       f"{adapter.address}/{subnet.prefixlen}", "dev", ifname)
        else:
            run("ip", "-n", host, "addr", "flush", "dev", ifname)
            run("ip", "-n", host, "link", "set", ifname, "down")
        return True

    def close(self) -> None:
        pass


class NetnsConsole:
    """Every VM's console: nsenter into its init's namespaces, so no guest networking is needed."""

    def __init__(self, hypervisor: NetnsHypervisor) -> None:
        self.hypervisor = hypervisor

    def reaches(self, node: str) -> bool:
        return node in self.hypervisor.state["vms"]

    def open(self, node: str) -> ConsoleTransport:
        if not self.reaches(node):
            raise BackendError(f"{node!r} is not a VM of the netns lab: it has no console")
        return ConsoleTransport(node, self.hypervisor.state["vms"][node].get("init_pid"))


class NetnsLab:
    """A run's view of the netns lab: hypervisor, SSH (with console fallback) to VMs, shells elsewhere."""

    backend = "netns"
    concurrency = None
    clock = SYSTEM
    batch = None
    snapshots = None  # a namespace has no disk image to snapshot
    lost = None  # nothing to lose: the lab is local, or each call says what failed

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.hypervisor = NetnsHypervisor(inventory)
        self.host_adapters = self.hypervisor
        self.links = self.hypervisor
        self.console = NetnsConsole(self.hypervisor)
        self._transports: dict[str, GuestTransport] = {}
        # jump hosts: one connection each for the run, shared by every guest behind them; a VM named
        # as a jump host is found at its current address, its key pinned under its name
        self.bastions = Bastions()
        self._logins = InventoryLogins(inventory, self._vm_address, str(self.hypervisor.dir / "known_hosts"),
                                       keys_by_name=True)

    def _vm_address(self, name: str) -> str | None:
        """The guest's first IPv4 address now: the fallback transport asks before every operation,
        so this is one `ip` call (guest_nics makes two: addresses and the default route). Right
        after guest_nics read it (a matrix step's `observe`), that answer, once: fifty sources'
        lookups at once would delay their first probe by most of a second."""
        seen = self.hypervisor.just_read.pop(name, None)
        if seen is not None and time.monotonic() - seen[0] < FRESH_S:
            return seen[1]
        return self.hypervisor.first_address(name)

    def transport(self, node: str) -> GuestTransport:
        if node in self._transports:
            return self._transports[node]
        state = self.hypervisor.state
        t: GuestTransport
        if node in state["vms"]:
            t = FallbackTransport(node, lambda: self._vm_address(node), lambda addr: self._ssh(node, addr),
                                  lambda: self.console.open(node))
        elif node == "host":
            t = NsExecTransport("host", state["host"])
        elif node == "router":
            t = NsExecTransport("router", state["router"])
        elif node in self.inventory.externals:
            t = NsExecTransport(node, state["inet"])
        else:
            raise BackendError(f"no transport for {node!r} in the netns lab")
        self._transports[node] = t
        return t

    def network_transport(self, node: str, address: IPv4Address) -> GuestTransport:
        """SSH to `node` at `address` from the host, and nothing else (safe apply's proof)."""
        return self._ssh(node, str(address))

    def guest_address(self, node: str, interface: str) -> IPv4Address | None:
        return guest_address(self.inventory, self.hypervisor, node, interface)

    def _ssh(self, node: str, address: str, ssh: Ssh | None = None) -> SshTransport:
        """SSH from the lab's host to `node` at `address`, as the inventory says to log in (user,
        become, ssh_config, jump hosts), or as `ssh` says; host keys pinned by VM name, the lab's key
        tried after any the ssh_config names (an inventory key_file is for real guests: ignored here)."""
        from labkit.backends.transports.ssh import from_inventory

        d = self.hypervisor.dir
        host_ns = self.hypervisor.state["host"]
        ssh = ssh or users.vm_ssh(self.inventory, self.inventory.vm(node))
        return from_inventory(node, ssh, logins=self._logins,
                              bastions=self.bastions, address=address, key_file=None,
                              default_key_file=str(d / "id_ed25519"),
                              allow_agent=False, known_hosts=str(d / "known_hosts"), host_key_alias=node,
                              connect_timeout=3, sock_factory=lambda h, p, t: socket_in_netns(host_ns, h, p, t))

    def close(self) -> None:
        for t in self._transports.values():
            t.close()
        self._transports.clear()
        self.bastions.close()


def open_lab(inventory: Inventory) -> Lab:
    return NetnsLab(inventory)
