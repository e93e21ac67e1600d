"""The network tools of a simulated guest: what labkit runs to probe and to re-address.

The commands are the real ones (`ip addr`, `ipconfig`, ping and fping with the flags
matrix/ping.py builds; the dialects' network restarts are in services.py) and the answers are
printed in the real tools' formats, so the code above the transport (dialect editing, address
reading, ping parsing) is the code that runs against real guests. Reachability comes from the
model over the world's true state, address conflicts settled as world.py says (the most recent
holder answers ARP), so a ping never reports a verdict the lab could not show. Each handler takes the guest (guest.SimGuest) and its argv,
already expanded by the shell; TOOLS is every OS's table, tool_paths what `command -v` finds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from labkit.backends.sim import coreutils, services
from labkit.backends.sim.ping import render_fping, render_ping, render_ping_error
from labkit.backends.sim.windows import netsh
from labkit.predict import Verdict
from labkit.protocols import CommandResult
from labkit.topology import Endpoint, Topology

if TYPE_CHECKING:
    from labkit.backends.sim.guest import SimGuest

Handler = Callable[["SimGuest", list[str]], CommandResult]


def _verdict(g: SimGuest, target: str) -> tuple[Topology, Verdict | None]:
    """What the network does with this node's echo request to `target` (None: not an address)."""
    world = g.world
    topo, predictor = world.topology(), world.predictor()
    addr = world.address(target)
    if addr is None:
        return topo, None
    holders = topo.by_ip.get(addr)
    return topo, predictor.classify(g.node, Endpoint(target, holders[0].name if holders else target, addr))


def _answered(verdict: Verdict) -> bool:
    """Whether the echo came back. The world's topology has its conflicts settled, so the model
    always has a verdict here; None would be a guess, and the sim does not guess."""
    if verdict.reachable is None:
        raise RuntimeError(f"the simulated lab left an address conflict unsettled: {verdict.reason}")
    return verdict.reachable


def _rtts(node: str, target: str, count: int, reachable: bool, natted: bool) -> list[float | None]:
    """Round-trip times that differ per pair but repeat exactly from run to run."""
    if not reachable:
        return [None] * count
    seed = int.from_bytes(hashlib.sha256(f"{node}>{target}".encode()).digest()[:3], "big")
    base = (1.1 if natted else 0.35) + (seed % 300) / 1000
    return [round(base + ((seed >> i) % 7) / 100, 3) for i in range(count)]


def _ping(g: SimGuest, argv: list[str]) -> CommandResult:
    """iputils/busybox `ping [-n] -c N ... ADDR` and Windows `ping -n N -w MS ADDR`."""
    target = argv[-1]
    flag = "-n" if g.os == "windows" else "-c"
    count = int(argv[argv.index(flag) + 1]) if flag in argv else 4
    topo, verdict = _verdict(g, target)
    if verdict is None:
        return CommandResult(*render_ping_error(g.os, f"{target}: Name or service not known"))
    if not topo.nodes[g.node].ifaces:
        return CommandResult(*render_ping_error(g.os, "connect: Network is unreachable"))
    ok = _answered(verdict)
    return CommandResult(*render_ping(g.os, target, _rtts(g.node, target, count, ok, "translated" in verdict.reason)))


def _fping(g: SimGuest, argv: list[str]) -> CommandResult:
    """`fping -q -C N ... ADDR...`: one line per target (a big matrix sends a thousand at once)."""
    count = int(argv[argv.index("-C") + 1])
    world, node = g.world, g.node
    by_ip, classify, address = world.topology().by_ip, world.predictor().classify, world.address
    results = {}
    for target in argv[1:]:
        addr = address(target)
        if addr is None:  # an option or its value
            continue
        holders = by_ip.get(addr)
        verdict = classify(node, Endpoint(target, holders[0].name if holders else target, addr))
        results[target] = _rtts(node, target, count, _answered(verdict), "translated" in verdict.reason)
    return CommandResult(*render_fping(results))


def _ip(g: SimGuest, argv: list[str]) -> CommandResult:
    """`ip -4 -o addr show [dev IF]` and `ip -4 route show default`."""
    vm = g.vm()
    if vm is None:
        return CommandResult(1, "", "ip: not a VM\n")
    if "flush" in argv:  # ip -4 addr flush dev IF
        dev = argv[argv.index("dev") + 1]
        for i in vm.ifaces:
            if i.name == dev:
                i.address = i.gateway = None
                g.world.changed()
        return CommandResult(0)
    if "route" in argv:
        lines = [f"default via {i.gateway} dev {i.name}\n" for i in vm.ifaces if i.gateway and i.address]
        return CommandResult(0, "".join(lines[:1]))
    only = argv[argv.index("dev") + 1] if "dev" in argv else None
    out = []
    for n, i in enumerate(vm.ifaces, start=2):
        if only and i.name != only:
            continue
        if i.address is not None:
            dyn = " dynamic" if i.dhcp else ""
            out.append(f"{n}: {i.name}    inet {i.address.with_prefixlen} brd "
                       f"{i.address.network.broadcast_address} scope global{dyn} {i.name}\\       valid_lft forever preferred_lft forever\n")
    if only and only not in [i.name for i in vm.ifaces]:
        return CommandResult(1, "", f'Device "{only}" does not exist.\n')
    return CommandResult(0, "".join(out))


def _ipconfig(g: SimGuest, argv: list[str]) -> CommandResult:
    """Windows: `ipconfig /renew` re-runs DHCP; plain `ipconfig` lists addresses."""
    vm = g.vm()
    if vm is None:
        return CommandResult(1, "", "not a VM\n")
    renew = len(argv) > 1 and argv[1].lower() == "/renew"
    out = ["", "Windows IP Configuration", ""]
    for i in vm.ifaces:
        cfg = g.world.guest_config.get((vm.name, i.name))
        if renew and cfg is not None and cfg.mode == "dhcp":
            g.world.bring_up(vm.name, i.name)
        out.append(f"Ethernet adapter {i.name}:")
        out.append("")
        if i.address is None:
            out.append("   Media State . . . . . . . . . . . : Media disconnected" if i.network is None
                       else "   Autoconfiguration IPv4 Address. . : 169.254.10.20")
        else:
            out.append(f"   IPv4 Address. . . . . . . . . . . : {i.address.ip}")
            out.append(f"   Subnet Mask . . . . . . . . . . . : {i.address.netmask}")
            out.append(f"   Default Gateway . . . . . . . . . : {i.gateway or ''}")
        out.append("")
    failed = renew and any(i.address is None and i.network for i in vm.ifaces)
    if failed:
        return CommandResult(1, "\r\n".join(out) + "\r\n",
                             "An error occurred while renewing interface: unable to contact your DHCP server.\r\n")
    return CommandResult(0, "\r\n".join(out) + "\r\n")


def tool_paths(g: SimGuest) -> dict[str, str]:
    """The tools `command -v` finds on this guest: what its OS ships, plus its network stack (the
    dialect it booted with, and any whose configuration files it holds: ifupdown, netplan, NM)."""
    if g.os == "windows":
        return {}
    paths = dict(coreutils.PATHS)
    paths.update({"ping": "/bin/ping", "ip": "/sbin/ip"})
    if g.os == "busybox":
        return paths
    paths["fping"] = "/usr/bin/fping"
    if g.vm() is None:
        return paths
    stack = g.world.dialects.get(g.node)
    if stack == "ifupdown" or "/etc/network/interfaces" in g.files:
        paths.update({"ifup": "/sbin/ifup", "ifdown": "/sbin/ifdown"})
    if stack == "netplan" or any(p.startswith("/etc/netplan/") for p in g.files):
        paths["netplan"] = "/usr/sbin/netplan"
    if stack == "nmkeyfile" or any(p.startswith("/etc/NetworkManager/") for p in g.files):
        paths["nmcli"] = "/usr/bin/nmcli"
    return paths


_NETWORK: dict[str, Handler] = {"ip": _ip, "ifup": services.ifupdown, "ifdown": services.ifupdown,
                                "dhclient": lambda g, argv: CommandResult(0)}  # the sim keeps no client running
_LINUX: dict[str, Handler] = {**coreutils.HANDLERS, **_NETWORK, "ping": _ping, "fping": _fping,
                              "/etc/init.d/network": services.network_restart, "service": services.network_restart,
                              "systemctl": services.network_restart, "netplan": services.netplan,
                              "nmcli": services.nmcli}
_BUSYBOX: dict[str, Handler] = {**coreutils.HANDLERS, **_NETWORK, "ping": _ping}
_WINDOWS: dict[str, Handler] = {"ping": _ping, "ipconfig": _ipconfig, "netsh": netsh,
                                "hostname": coreutils.hostname}
TOOLS: dict[str, dict[str, Handler]] = {"linux": _LINUX, "busybox": _BUSYBOX, "windows": _WINDOWS}
