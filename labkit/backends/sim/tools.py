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

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from labkit.backends.sim import coreutils, services
from labkit.backends.sim.ping import fping_seconds, in_german, ping_seconds, render_ping_error
from labkit.backends.sim.windows import netsh
from labkit.protocols import CommandResult

if TYPE_CHECKING:
    from labkit.backends.sim.answers import Printed
    from labkit.backends.sim.guest import SimGuest

Handler = Callable[["SimGuest", list[str]], CommandResult]


def _option(argv: list[str], flag: str, default: str) -> str:
    return argv[argv.index(flag) + 1] if flag in argv[:-1] else default


def _locale(g: SimGuest) -> str:
    """The locale a tool run on `g` speaks: LC_ALL, LC_MESSAGES or LANG on its command line (`LC_ALL=C
    ping`), else the guest's own (LANG in /etc/locale.conf or /etc/default/locale), else C."""
    for key in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if g.env.get(key):
            return g.env[key]
    for path in ("/etc/locale.conf", "/etc/default/locale"):
        for line in (g.files.get(path) or "").splitlines():
            if line.startswith("LANG="):
                return line[5:].strip().strip('"')
    return "C"


def _ping_options(os_family: str, argv: list[str]) -> tuple[int, float, float | None]:
    """(count, reply wait in s, deadline in s or None) of a ping command line; ValueError if bad."""
    if os_family == "windows":
        return int(_option(argv, "-n", "4")), int(_option(argv, "-w", "4000")) / 1000, None
    deadline = float(_option(argv, "-w", "0")) if "-w" in argv[:-1] else None
    return int(_option(argv, "-c", "4")), float(_option(argv, "-W", "10")), deadline


def _ping(g: SimGuest, argv: list[str]) -> CommandResult:
    """iputils/busybox `ping [-n] -c N [-W S] [-w D] ADDR` and Windows `ping -n N -w MS ADDR`; it
    takes as long as the real one (g.elapsed): a lost probe waits out its reply time."""
    result, g.elapsed = ping_all(g, argv[:-1], [argv[-1]])[0]
    return result


def ping_all(g: SimGuest, options: list[str], targets: list[str]) -> list[tuple[CommandResult, float]]:
    """`ping OPTIONS TARGET` for each target, each as if run alone: (what it leaves, how long it takes).
    cmd's `for ... do start ping ... %a` runs a thousand of them at once."""
    try:
        count, wait, deadline = _ping_options(g.os, [*options, "x"])
    except ValueError:
        bad = CommandResult(*render_ping_error(g.os, f"bad option in: {' '.join(options[1:])}"))
        return [(bad, 0.0)] * len(targets)
    answers = g.world.answers
    cut_off = not g.world.topology().nodes[g.node].ifaces  # no interface: only loopback answers
    german = g.os == "linux" and _locale(g).startswith("de")
    said_all = answers.pings(g.node, g.os, targets, count)
    if not cut_off and not german and None not in said_all:  # the usual: every target an address
        every = cast("list[Printed]", said_all)
        if count == 1 and deadline is None:  # one probe: its round trip, or its reply wait (ping_seconds)
            return [(said, wait if trips[0] is None else trips[0] / 1000) for said, trips in every]
        return [(said, ping_seconds(trips, wait, deadline)) for said, trips in every]
    out: list[tuple[CommandResult, float]] = []
    for t, printed in zip(targets, said_all, strict=True):
        if printed is None:
            out.append((CommandResult(*render_ping_error(g.os, f"{t}: Name or service not known")), 0.0))
        elif cut_off and not answers.loopback(t):
            out.append((CommandResult(*render_ping_error(g.os, "connect: Network is unreachable")), 0.0))
        else:
            said = printed[0]
            if german:  # iputils with NLS speaks the guest's locale (labkit's probes ask for C)
                said = CommandResult(said.exit_status, in_german(said.stdout), said.stderr)
            out.append((said, ping_seconds(printed[1], wait, deadline)))
    return out


_FPING_VALUED = frozenset({"-C", "-c", "-t", "-r", "-i", "-p", "-b", "-B", "-O", "-H", "-I", "-S", "-Q", "-T"})


def _fping(g: SimGuest, argv: list[str]) -> CommandResult:
    """`fping -q -C N -t MS -r 0 ADDR...`: one line per target (a big matrix sends a thousand at
    once), printed and timed as fping does."""
    k = 1
    options: dict[str, str] = {}
    while k < len(argv) and argv[k].startswith("-"):
        if argv[k] in _FPING_VALUED and k + 1 < len(argv):
            options[argv[k]] = argv[k + 1]
            k += 2
        else:
            k += 1
    targets = argv[k:]
    try:
        count = int(options.get("-C") or options.get("-c") or "1")
        timeout = int(options.get("-t", "500")) / 1000
        gap = int(options.get("-i", "10")) / 1000  # between one target's probe and the next's
    except ValueError:
        return CommandResult(3, "", f"fping: bad option value in: {' '.join(argv[1:k])}\n")
    if not targets:
        return CommandResult(3, "", "fping: no targets\n")
    lines, lost, natted = g.world.answers.fping(g.node, targets, count)
    slowest = 1.5 if natted else 0.7  # the made-up times' ceiling, in ms
    g.elapsed = fping_seconds(count, len(lines), timeout, lost, slowest, gap)
    return CommandResult(1 if lost else 0, "", "\n".join(lines) + "\n" if lines else "")


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
# tools that can run for many targets at once, each as if alone: (guest, options, targets) -> [(result, seconds)]
BULK: dict[str, Callable[[SimGuest, list[str], list[str]], list[tuple[CommandResult, float]]]] = {
    "ping": ping_all, "ping.exe": ping_all}
