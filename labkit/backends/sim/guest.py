"""A simulated machine (SimGuest) and the channels into it (SimTransport and its kinds).

A SimGuest is one node's file system, tools and shell: commands are run by the sh interpreter
(shell.py), or cmd's on Windows (cmd.py), over the guest's tools (tools.py), except a plain
command line with no shell syntax at all (the thousand-target fping, a Windows ping), which goes
straight to its tool: a big matrix sends thousands of those. A tool that takes time (ping) says
how long in `elapsed`, and the lab's virtual clock moves on by that much.

The channels are what labkit holds, with the same kinds and failures as the real backends':
`SshTransport` ("ssh") works only while the model says the lab's host reaches the guest at that
address, and raises UnreachableError otherwise, as a connect that times out; `ConsoleTransport`
("console") needs no guest networking, only a powered-on VM, as VMware Tools or nsenter;
`SimTransport` ("sim") is a shell on the lab's own machines (host, router, externals), as netns's
"netns" shells are. Every operation first lets the world run the detached jobs that are due.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from ipaddress import IPv4Address
from collections.abc import Mapping
from typing import TYPE_CHECKING

from labkit.backends.sim import cmd, tools
from labkit.backends.sim.builtins import BUILTINS, WINDOWS_BUILTINS
from labkit.backends.sim.shell import Job, drive, script
from labkit.backends.sim.sinks import IO, Capture, Discard, FileSink, Sink
from labkit.errors import TransportError, UnreachableError
from labkit.model import OsFamily
from labkit.protocols import CommandResult
from labkit.state import VMState

if TYPE_CHECKING:
    from labkit.backends.sim.world import SimWorld
    from labkit.topology import Topology

_PLAIN = re.compile(r"[A-Za-z0-9 ./:_=-]*")  # no quoting, expansion, redirection, glob or operator
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_BASE_DIRS = ("/", "/tmp", "/run", "/etc", "/dev", "/bin", "/sbin", "/usr", "/var")
_NOT_FOUND_WINDOWS = ("'{0}' is not recognized as an internal or external command,\r\n"
                      "operable program or batch file.\r\n")


class SimGuest:
    """One simulated machine: its files, its tools, its shell (the `shell.Machine` protocol)."""

    def __init__(self, world: SimWorld, node: str, os_family: OsFamily) -> None:
        self.world = world
        self.node = node
        self.os = os_family
        self.files = world.files.setdefault(node, {})
        self.dirs: set[str] = set(_BASE_DIRS)
        self.commands: list[str] = []  # every command line run, for tests and --verbose
        self.temp_count = 0
        self.stdin = ""  # the running tool's standard input (only `cat` reads it)
        self.env: dict[str, str] = {}  # the running tool's environment: its command line's NAME=value words
        self.elapsed = 0.0  # how long the tool that just ran took, in the lab's seconds
        self.held: set[str] = set()  # files (lower case) held open by programs that outlived their command
        self.builtins = WINDOWS_BUILTINS if os_family == "windows" else BUILTINS
        self._tools = tools.TOOLS.get(os_family, tools.TOOLS["linux"])

    def vm(self) -> VMState | None:
        return self.world.state.vms.get(self.node)

    def execute(self, command: str) -> CommandResult:
        """Run a command line as the guest's shell would (sh, or cmd's few words on Windows)."""
        self.commands.append(command)
        with self.world.lock:
            if _PLAIN.fullmatch(command):
                argv = command.split()
                if not argv:
                    return CommandResult(0)
                env = {}  # `LC_ALL=C ping ...`: leading assignments are the command's environment
                while len(argv) > 1 and self.os != "windows" and _ASSIGNMENT.match(argv[0]):
                    name, _, value = argv.pop(0).partition("=")
                    env[name] = value
                if argv[0] not in self.builtins and "=" not in argv[0] and not (
                        self.os == "windows" and argv[0].lower() in cmd.BUILTIN_WORDS):
                    result = self.call(argv, env=env)
                    if self.elapsed:
                        self.world.wait_until(self.now() + self.elapsed)
                    return result
            if self.os == "windows":
                if not self.dirs.issuperset(cmd.BASE_DIRS):
                    self.dirs.update(cmd.BASE_DIRS)
                return cmd.Cmd(self).run(command)
            out, err = Capture(), Capture()
            status = drive(script(self, command, IO(out, err)), self.world.wait_until)
            return CommandResult(status, out.text(), err.text())

    # ---- the shell.Machine protocol ----
    def call(self, argv: list[str], stdin: str = "", env: Mapping[str, str] | None = None) -> CommandResult:
        self.elapsed = 0.0
        self.env = dict(env) if env else {}
        handler = self._tools.get(argv[0] if self.os != "windows" else argv[0].lower())
        if handler is None:
            if self.os == "windows":
                return CommandResult(9009, "", _NOT_FOUND_WINDOWS.format(argv[0]))
            return CommandResult(127, "", f"sh: 1: {argv[0]}: not found\n")
        self.stdin = stdin
        return handler(self, argv)

    def tool_path(self, name: str) -> str | None:
        return tools.tool_paths(self).get(name)

    def read(self, path: str) -> str | None:
        return "" if path == "/dev/null" else self.files.get(path)

    def exists(self, path: str) -> bool:
        return path in self.files or path == "/dev/null" or self.is_dir(path)

    def is_dir(self, path: str) -> bool:
        path = path.rstrip("/") or "/"
        if path in self.dirs:
            return True
        prefix = path + "/"
        return any(f.startswith(prefix) for f in self.files)

    def glob(self, pattern: str) -> list[str]:
        """Paths matching an absolute sh pattern, component by component (`*` never crosses a
        `/`, and matches a leading dot only when the pattern's component starts with one)."""
        if not pattern.startswith("/"):
            return []  # the simulated shells run in /, where only absolute paths are used
        want = pattern.split("/")
        candidates = set(self.files) | self.dirs
        for f in self.files:
            candidates.update(f[:k] for k in range(1, len(f)) if f[k] == "/")
        return sorted(p for p in candidates if _matches(p.split("/"), want))

    def sink(self, path: str, append: bool) -> Sink:
        return Discard() if path == "/dev/null" else FileSink(self.files, path, append)

    def now(self) -> float:
        return self.world.clock.monotonic()

    def park(self, job: Job) -> None:
        self.world.park(job)

    def remove_tree(self, path: str) -> None:
        path = path.rstrip("/")
        prefix = path + "/"
        for f in [f for f in self.files if f.startswith(prefix)]:
            del self.files[f]
        self.dirs -= {d for d in self.dirs if d == path or d.startswith(prefix)}


def _matches(parts: list[str], want: list[str]) -> bool:
    if len(parts) != len(want):
        return False
    for part, pat in zip(parts, want, strict=True):
        if part.startswith(".") and not pat.startswith(".") and part != pat:
            return False
        if not fnmatchcase(part, pat):
            return False
    return True


class GuestViews:
    """Read-only views of the simulated guest behind a channel (its files and the commands it ran),
    for tests and --verbose; a channel that has them sets `guest`."""

    guest: SimGuest

    @property
    def files(self) -> dict[str, str]:
        return self.guest.files

    @property
    def commands(self) -> list[str]:
        return self.guest.commands


class SimTransport(GuestViews):
    """The GuestTransport protocol into one simulated machine. This plain kind, "sim", is for the
    lab's own machines (host, router, externals): a shell there, as netns's "netns" ones are."""

    kind = "sim"

    def __init__(self, guest: SimGuest) -> None:
        self.guest = guest
        self.name = guest.node
        self._enter()

    def _enter(self) -> None:
        """Before every operation: the world runs what is due, then the channel checks it can."""
        self.guest.world.tick()

    def read_file(self, path: str) -> str:
        self._enter()
        with self.guest.world.lock:
            text = self.guest.files.get(path)
        if text is None:
            raise FileNotFoundError(path)
        return text

    def write_file(self, path: str, data: str, mode: int = 0o644) -> None:
        self._enter()
        with self.guest.world.lock:  # one assignment: readers see old or new, never half
            self.guest.files[path] = data

    def run(self, command: str, timeout: float | None = None) -> CommandResult:
        self._enter()
        return self.guest.execute(command)

    def close(self) -> None:
        pass


class ConsoleTransport(SimTransport):
    """A VM's console: whatever its network state, as long as it is powered on."""

    kind = "console"

    def _enter(self) -> None:
        super()._enter()
        vm = self.guest.vm()
        if vm is None or not vm.powered_on:
            raise TransportError(f"{self.name} is powered off: no console")


class SshTransport(SimTransport):
    """SSH from the lab's host to a VM at one address: refused (UnreachableError) whenever the
    model says the host cannot get there, at connect time and on every later operation."""

    kind = "ssh"

    def __init__(self, guest: SimGuest, address: str | IPv4Address) -> None:
        self.address = IPv4Address(str(address))
        self._checked: Topology | None = None  # the lab's wiring when the host last got through
        super().__init__(guest)

    def _enter(self) -> None:
        world = self.guest.world
        world.tick()
        topo = world.topology()
        if topo is self._checked:  # nothing moved since: still connected
            return
        why = world.host_cannot_reach(self.name, self.address)
        if why is not None:
            raise UnreachableError(why)
        self._checked = topo
