"""A simulated guest: an in-memory file system and a shell that answers what labkit sends.

The commands are the real ones (the dialect's network restart, `ip addr`, `ipconfig`, ping and
fping with the flags matrix/ping.py builds) and the answers are printed in the real tools' formats,
so the code above this transport (dialect editing, address reading, ping parsing) is the code that
runs against real guests. Reachability comes from the model over the world's true state.
"""

from __future__ import annotations

import functools
import hashlib
import re
import shlex
from ipaddress import ip_address

from labkit.topology import Endpoint
from labkit.protocols import CommandResult
from labkit.backends.sim.ping import render_fping, render_ping, render_ping_error
from labkit.backends.sim.windows import netsh

IFCFG_DIR = "/etc/sysconfig/network-scripts"
_PLAIN = re.compile(r"[A-Za-z0-9 ./:_=-]*")
_IGNORED = ("~", ".bak", ".orig", ".rpmnew", ".rpmorig", ".rpmsave")
_REDIRECT = re.compile(r"^\d?(>>?|<)")


class SimTransport:
    """The GuestTransport protocol for one node of a SimWorld (a VM, the host, the router...)."""

    kind = "sim"

    def __init__(self, world, node: str, os_family: str) -> None:
        self.world = world
        self.node = node
        self.os = os_family
        self.files = world.files.setdefault(node, {})
        self.commands: list[str] = []  # every command run, for tests and --verbose

    # ---- files ----
    def read_file(self, path: str) -> str:
        with self.world.lock:
            if path not in self.files:
                raise FileNotFoundError(path)
            return self.files[path]

    def write_file(self, path: str, data: str, mode: int = 0o644) -> None:
        with self.world.lock:  # one assignment: readers see old or new, never half
            self.files[path] = data

    def close(self) -> None:
        pass

    # ---- commands ----
    def run(self, command: str, timeout: float | None = None) -> CommandResult:
        if command.startswith("d=$(mktemp -d)") and "&" in command:
            return self._background_pings(command)
        if ";" in command and "'" not in command and '"' not in command:  # a plain `a; b` sequence
            results = [self.run(part, timeout) for part in command.split(";") if part.strip()]
            return CommandResult(results[-1].exit_status, "".join(r.stdout for r in results),
                                 "".join(r.stderr for r in results))
        self.world.fire_timers()
        if " && " in command and "'" not in command:  # a && b: stop at the first failure
            result = CommandResult(0)
            for part in command.split(" && "):
                result = self.run(part, timeout)
                if not result.ok:
                    break
            return result
        self.commands.append(command)
        try:  # plain words need no shell parsing; fping over a thousand targets is one long line
            argv = command.split() if _PLAIN.fullmatch(command) else shlex.split(command)
        except ValueError as exc:
            return CommandResult(2, "", f"sh: syntax error: {exc}\n")
        argv = [a for a in argv if not _REDIRECT.match(a)]  # the simulated tools print to us either way
        if not argv:
            return CommandResult(0)
        if self.node in self.world.state.vms and not self.world.state.vms[self.node].powered_on:
            return CommandResult(255, "", f"{self.node} is powered off\n")
        handler = _HANDLERS.get((argv[0], self.os)) or _HANDLERS.get((argv[0], "*"))
        if handler is None:
            return CommandResult(127, "", f"sh: 1: {argv[0]}: not found\n")
        with self.world.lock:
            return handler(self, argv)

    def _background_pings(self, command: str) -> CommandResult:
        """The one shell script shape labkit sends to guests without fping: `( ping ... ) &` jobs."""
        from labkit.matrix.ping import PROBE_MARK

        self.commands.append(command)
        out = []
        for job in re.findall(r"\( (ping [^>]+?) > ", command):
            res = self.run(job)
            out.append(f"{PROBE_MARK}{job.split()[-1]}\n{res.stdout}{res.stderr}exit={res.exit_status}\n")
        return CommandResult(0, "".join(out))

    # ---- helpers for handlers ----
    def _vm(self):
        return self.world.state.vms.get(self.node)

    def _verdict(self, target: str):
        """What the network does with this node's echo request to `target` (None: not an address)."""
        topo, predictor = self.world.topology(), self.world.predictor()
        addr = _address(target)
        if addr is None:
            return None, None
        holders = topo.by_ip.get(addr, [])
        ep = Endpoint(target, holders[0].name if holders else target, addr)
        return topo, predictor.classify(self.node, ep)

    def _rtts(self, target: str, count: int, reachable: bool, natted: bool) -> list[float | None]:
        if not reachable:
            return [None] * count
        seed = int(hashlib.sha256(f"{self.node}>{target}".encode()).hexdigest()[:6], 16)
        base = (1.1 if natted else 0.35) + (seed % 300) / 1000
        return [round(base + ((seed >> i) % 7) / 100, 3) for i in range(count)]


def _ping(t: SimTransport, argv: list[str]) -> CommandResult:
    """iputils/busybox `ping [-n] -c N ... ADDR` and Windows `ping -n N -w MS ADDR`."""
    target = argv[-1]
    flag = "-n" if t.os == "windows" else "-c"
    count = int(argv[argv.index(flag) + 1]) if flag in argv else 4
    topo, verdict = t._verdict(target)
    if verdict is None:
        return CommandResult(*render_ping_error(t.os, f"{target}: Name or service not known"))
    node = topo.nodes[t.node]
    if not node.ifaces:
        return CommandResult(*render_ping_error(t.os, "connect: Network is unreachable"))
    ok = verdict.reachable is not False
    return CommandResult(*render_ping(t.os, target, t._rtts(target, count, ok, "translated" in verdict.reason)))


def _fping(t: SimTransport, argv: list[str]) -> CommandResult:
    count = int(argv[argv.index("-C") + 1])
    targets = [a for a in argv[1:] if _is_ip(a)]
    results = {}
    for target in targets:
        _, verdict = t._verdict(target)
        ok = verdict is not None and verdict.reachable is not False
        results[target] = t._rtts(target, count, ok, bool(verdict and "translated" in verdict.reason))
    return CommandResult(*render_fping(results))


@functools.lru_cache(maxsize=65536)
def _address(text: str):
    """Parse an address once: a big matrix names each target in every source's commands."""
    try:
        return ip_address(text)
    except ValueError:
        return None


def _is_ip(text: str) -> bool:
    return _address(text) is not None


def _command_v(t: SimTransport, argv: list[str]) -> CommandResult:
    tools = {"ping": "/bin/ping", "ip": "/sbin/ip", "fping": "/usr/bin/fping"}
    if t._vm() is not None and "/etc/network/interfaces" in t.files:
        tools["ifup"] = "/sbin/ifup"
    if t.os == "busybox":
        tools = {"ping": "/bin/ping", "ip": "/sbin/ip"}
    name = argv[-1]
    return CommandResult(0, tools[name] + "\n") if name in tools else CommandResult(1)


def _ip(t: SimTransport, argv: list[str]) -> CommandResult:
    """`ip -4 -o addr show [dev IF]` and `ip -4 route show default`."""
    vm = t._vm()
    if vm is None:
        return CommandResult(1, "", "ip: not a VM\n")
    if "flush" in argv:  # ip -4 addr flush dev IF
        dev = argv[argv.index("dev") + 1]
        for i in vm.ifaces:
            if i.name == dev:
                i.address = i.gateway = None
                t.world.changed()
        return CommandResult(0)
    if "route" in argv:
        lines = [f"default via {i.gateway} dev {i.name}\n" for i in vm.ifaces if i.gateway and i.address]
        return CommandResult(0, "".join(lines[:1]))
    dev = argv[argv.index("dev") + 1] if "dev" in argv else None
    out = []
    for n, i in enumerate(vm.ifaces, start=2):
        if dev and i.name != dev:
            continue
        if i.address is not None:
            dyn = " dynamic" if i.dhcp else ""
            out.append(f"{n}: {i.name}    inet {i.address.with_prefixlen} brd "
                       f"{i.address.network.broadcast_address} scope global{dyn} {i.name}\\       valid_lft forever preferred_lft forever\n")
    if dev and dev not in [i.name for i in vm.ifaces]:
        return CommandResult(1, "", f'Device "{dev}" does not exist.\n')
    return CommandResult(0, "".join(out))


def _network_restart(t: SimTransport, argv: list[str]) -> CommandResult:
    """RHEL's network service: bring every ONBOOT ifcfg-* up from its file (sysvinit or systemd)."""
    if not (argv[-1] == "restart" and ("network" in argv or argv[0] == "/etc/init.d/network")):
        return CommandResult(2, "", f"usage: {argv[0]} {{start|stop|restart|status}}\n")
    return ifcfg_service(t)


def ifcfg_service(t: SimTransport) -> CommandResult:
    """What RHEL 6's /etc/init.d/network does with the ifcfg files, printed as it prints it."""
    from labkit.dialects import ifcfg
    from labkit.errors import GuestConfigError

    vm = t._vm()
    out = ["Shutting down loopback interface:  [  OK  ]", "Bringing up loopback interface:  [  OK  ]"]
    status = 0
    for path in sorted(p for p in t.files if p.startswith(IFCFG_DIR + "/ifcfg-") and not p.endswith("-lo")
                       and not p.endswith(_IGNORED)):  # as initscripts skip backups
        name = path.rsplit("ifcfg-", 1)[1]
        try:
            f = ifcfg.IfcfgFile.parse(t.files[path], path)
            device = f.get("DEVICE") or name
            cfg = ifcfg.read_config(f)
        except GuestConfigError as exc:
            out.append(f"Bringing up interface {name}:  {exc}  [FAILED]")
            status = 1
            continue
        if vm is None or device not in [i.name for i in vm.ifaces]:
            out.append(f"Bringing up interface {device}:  Device {device} does not seem to be present, "
                       "delaying initialization.  [FAILED]")
            status = 1
            continue
        if not cfg.onboot:
            continue
        t.world.guest_config[(vm.name, device)] = cfg
        st = t.world.bring_up(vm.name, device)
        if cfg.mode == "dhcp":
            ok = st.address is not None
            out.append(f"Bringing up interface {device}:  ")
            out.append(f"Determining IP information for {device}..." + (" done." if ok else " failed."))
            out.append("[  OK  ]" if ok else "[FAILED]")
            status = status or (0 if ok else 1)
        else:
            out.append(f"Bringing up interface {device}:  [  OK  ]")
    return CommandResult(status, "\n".join(out) + "\n")


def _ipconfig(t: SimTransport, argv: list[str]) -> CommandResult:
    """Windows: `ipconfig /renew` re-runs DHCP; plain `ipconfig` lists addresses."""
    vm = t._vm()
    if vm is None:
        return CommandResult(1, "", "not a VM\n")
    renew = len(argv) > 1 and argv[1].lower() == "/renew"
    out = ["", "Windows IP Configuration", ""]
    for i in vm.ifaces:
        cfg = t.world.guest_config.get((vm.name, i.name))
        if renew and cfg is not None and cfg.mode == "dhcp":
            t.world.bring_up(vm.name, i.name)
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


def _ifupdown(t: SimTransport, argv: list[str]) -> CommandResult:
    """Debian's ifdown IF / ifup IF (and ifup -a): ifup reads /etc/network/interfaces as ifupdown does."""
    vm = t._vm()
    names = [a for a in argv[1:] if not a.startswith("-")]
    if vm is not None and "-a" in argv:
        names = [i.name for i in vm.ifaces]
    if vm is None or not names:
        return CommandResult(1, "", f"Usage: {argv[0]} <ifaces...>\n")
    if argv[0] == "ifup" and "/etc/network/interfaces" in t.files:
        from labkit.dialects import ifupdown
        from labkit.errors import GuestConfigError

        try:
            doc = ifupdown.parse(t.files["/etc/network/interfaces"], "/etc/network/interfaces")
        except GuestConfigError as exc:
            return CommandResult(1, "", f"ifup: {exc}\n")
        for name in list(names):
            try:
                t.world.guest_config[(vm.name, name)] = ifupdown.read_config(doc, name)
            except GuestConfigError:
                if "-a" in argv:
                    names.remove(name)  # not in the file: ifup -a leaves it alone
                else:
                    return CommandResult(1, "", f"ifup: unknown interface {name}\n")
    for name in names:
        if name not in [i.name for i in vm.ifaces]:
            return CommandResult(1, "", f"{argv[0]}: unknown interface {name}\n")
        if argv[0] == "ifdown":
            st = vm.iface(name)
            st.address = st.gateway = None
            t.world.changed()
            continue
        st = t.world.bring_up(vm.name, name)
        if st.address is None and st.note:
            return CommandResult(1, "", f"No DHCPOFFERS received.\nifup: failed to bring up {name}\n")
    return CommandResult(0)


def _cat(t: SimTransport, argv: list[str]) -> CommandResult:
    out, status = [], 0
    for path in (a for a in argv[1:] if not a.startswith(("-", "2>"))):
        if path in t.files:
            out.append(t.files[path])
        else:
            status = 1
    return CommandResult(status, "".join(out), "" if status == 0 else "cat: No such file or directory\n")


def _ls(t: SimTransport, argv: list[str]) -> CommandResult:
    """`ls -d PATTERN...` over the guest's files (the shell would expand the globs)."""
    import fnmatch

    found = sorted({p for pat in argv[1:] if not pat.startswith(("-", "2>"))
                    for p in t.files if fnmatch.fnmatchcase(p, pat)})
    return CommandResult(0 if found else 2, "".join(f + "\n" for f in found))


def _command_v_many(t: SimTransport, argv: list[str]) -> CommandResult:
    names = [a for a in argv[2:] if not a.startswith("2>")]
    if len(names) == 1:
        return _command_v(t, argv)
    lines = [_command_v(t, ["command", "-v", n]).stdout for n in names]
    return CommandResult(0 if any(lines) else 1, "".join(lines))


def _setsid(t: SimTransport, argv: list[str]) -> CommandResult:
    """`setsid -f sh -c 'CMD'` runs CMD now; `setsid -f sh SCRIPT` arms a labkit revert timer."""
    rest = [a for a in argv[1:] if a != "-f"]
    if rest[:2] == ["sh", "-c"] and len(rest) > 2:
        t.run(rest[2])
        return CommandResult(0)
    if rest[:1] == ["sh"] and len(rest) > 1 and rest[1] in t.files:
        t.world.arm_timer(t.node, t.files[rest[1]])
        return CommandResult(0)
    return CommandResult(1, "", "setsid: unsupported in the simulated guest\n")


def _test(t: SimTransport, argv: list[str]) -> CommandResult:
    """`[ -e PATH ]`."""
    if len(argv) >= 4 and argv[1] == "-e":
        return CommandResult(0 if argv[2] in t.files else 1)
    return CommandResult(2, "", "[: unsupported test\n")


def _touch(t: SimTransport, argv: list[str]) -> CommandResult:
    for path in argv[1:]:
        t.files.setdefault(path, "")
    return CommandResult(0)


_HANDLERS = {
    ("ping", "*"): _ping,
    ("fping", "linux"): _fping,
    ("command", "*"): _command_v_many,
    ("cat", "*"): _cat,
    ("ls", "*"): _ls,
    ("echo", "*"): lambda t, argv: CommandResult(0, " ".join(a for a in argv[1:] if not a.startswith("2>")) + "\n"),
    ("true", "*"): lambda t, argv: CommandResult(0),
    ("setsid", "*"): _setsid,
    ("[", "*"): _test,
    ("touch", "*"): _touch,
    ("ip", "linux"): _ip,
    ("ip", "busybox"): _ip,
    ("/etc/init.d/network", "linux"): _network_restart,
    ("service", "linux"): _network_restart,
    ("systemctl", "linux"): _network_restart,
    ("ipconfig", "windows"): _ipconfig,
    ("netsh", "windows"): netsh,
    ("ifdown", "linux"): _ifupdown,
    ("dhclient", "linux"): lambda t, argv: CommandResult(0),  # `dhclient -r`: the sim keeps no client running
    ("ifup", "linux"): _ifupdown,
    ("hostname", "*"): lambda t, argv: CommandResult(0, t.node + "\n"),
}
