"""Commands on this machine (or in a namespace of it): plain sh on Linux and macOS, no shell on Windows.

The netns lab's consoles enter a namespace with a prefix (`nsenter ...`, `ip netns exec ...`);
with no prefix it is the machine labkit runs on, which is the lab's host when labkit runs beside
VMware Workstation. On POSIX, files are written atomically by a fixed script that takes the path
as an argument, so no path is ever quoted into a command line.

Windows has no sh, and cmd.exe would expand `%VAR%` and `&` in whatever it is given, so there a
command is split into an argv list and run without any shell (ping.exe itself, found in System32);
a command that needs a shell's syntax is refused, not guessed at. Its files are read and written
by Python directly. `local_transport()` picks the one for the OS labkit runs on.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from labkit.backends.transports.commands import CommandRunner, LocalRunner
from labkit.errors import TransportError
from labkit.osutil import host_family, set_mode, system_program
from labkit.protocols import CommandResult, GuestTransport


class PrefixTransport:
    """A command prefix (nothing, or one that enters a namespace), then plain sh: the netns consoles
    and the local machine share it."""

    kind = "console"

    def __init__(self, name: str, prefix: list[str], command_timeout: float = 120) -> None:
        self.name = name
        self.prefix = prefix
        self.command_timeout = command_timeout

    def _exec(self, argv: list[str], data: str | None, timeout: float | None) -> CommandResult:
        limit = timeout or self.command_timeout
        try:
            proc = subprocess.run(self.prefix + argv, input=data, capture_output=True, text=True, timeout=limit)
        except subprocess.TimeoutExpired:
            raise TransportError(f"{self.name}: command timed out after {limit:g} s") from None
        except OSError as exc:
            raise TransportError(f"{self.name}: cannot run {argv[0]}: {exc}") from None
        return CommandResult(proc.returncode, proc.stdout, proc.stderr)

    def run(self, command: str, timeout: float | None = None) -> CommandResult:
        return self._exec(["sh", "-c", command], None, timeout)

    def read_file(self, path: str) -> str:
        res = self._exec(["cat", "--", path], None, None)
        if res.exit_status != 0:
            if "No such file" in res.stderr:
                raise FileNotFoundError(path)
            raise TransportError(f"{self.name}: cannot read {path}: {res.stderr.strip()}")
        return res.stdout

    def write_file(self, path: str, data: str, mode: int = 0o644) -> None:
        # the path travels as an argument, never inside the script: no quoting to get wrong
        script = ('set -e; t=$(mktemp "$(dirname "$1")/.$(basename "$1").labkit-XXXXXX"); '
                  'trap \'rm -f "$t"\' EXIT; cat > "$t"; chmod "$2" "$t"; sync "$t" 2>/dev/null || true; '
                  'mv -f "$t" "$1"; trap - EXIT')
        res = self._exec(["sh", "-c", script, "sh", path, f"{mode:o}"], data, None)
        if res.exit_status != 0:
            raise TransportError(f"{self.name}: cannot write {path}: {res.stderr.strip()}")

    def close(self) -> None:
        pass


class LocalTransport(PrefixTransport):
    """The machine labkit runs on (POSIX sh)."""

    kind = "local"

    def __init__(self, name: str = "host", command_timeout: float = 120) -> None:
        super().__init__(name, [], command_timeout)


# what only a shell understands: labkit never builds such a command for a Windows host
_SHELL_SYNTAX = re.compile(r"""[&|<>^"'`;]|\$\(""")
# programs labkit runs on a Windows host, by the name its command builders use
_WINDOWS_PROGRAMS = {"ping": ("System32", "PING.EXE")}


def windows_argv(command: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """The argv list for a command line labkit built (labkit.matrix.ping's `ping -n 2 -w 1000 ADDR`):
    split at blanks, its program resolved to the system's own (C:\\Windows\\System32\\PING.EXE)."""
    found = _SHELL_SYNTAX.search(command)
    if found:
        raise TransportError(f"host: {command!r} needs a shell ({found.group()!r}), and labkit runs commands "
                             "on a Windows host without one")
    argv = command.split()
    if not argv:
        raise TransportError("host: empty command")
    where = _WINDOWS_PROGRAMS.get(argv[0].lower())
    if where is not None:
        argv[0] = system_program(*where, fallback=f"{argv[0]}.exe", environ=environ)
    return argv


class WindowsTransport:
    """The Windows machine labkit runs on: programs from an argv list (no shell), files by Python."""

    kind = "local"

    def __init__(self, name: str = "host", runner: CommandRunner | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.runner = runner or LocalRunner(name=name)
        self.environ = environ

    def run(self, command: str, timeout: float | None = None) -> CommandResult:
        return self.runner.run(windows_argv(command, self.environ), timeout)

    def read_file(self, path: str) -> str:
        try:
            return Path(path).read_bytes().decode("utf-8", "surrogateescape")  # CRLF kept, as written
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise TransportError(f"{self.name}: cannot read {path}: {exc.strerror or exc}") from None

    def write_file(self, path: str, data: str, mode: int = 0o644) -> None:
        """Temp file beside the target, flushed, then os.replace over it (atomic on NTFS too)."""
        target = Path(path)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".labkit-tmp", dir=target.parent)
        except OSError as exc:
            raise TransportError(f"{self.name}: cannot write {path}: {exc.strerror or exc}") from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape", newline="") as f:
                f.write(data)
                f.flush()
                set_mode(f.fileno(), tmp, mode)
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise TransportError(f"{self.name}: cannot write {path}: {exc.strerror or exc}") from None

    def close(self) -> None:
        pass


def local_transport(name: str = "host", platform: str | None = None,
                    runner: CommandRunner | None = None) -> GuestTransport:
    """The channel to the machine labkit runs on, for its OS: sh on Linux and macOS, none on Windows."""
    family = host_family(platform)
    if family == "windows":
        return WindowsTransport(name, runner)
    if family is None:
        raise TransportError(f"{name}: labkit has no local channel on this OS ({platform or sys.platform}); "
                             "it runs on Windows, Linux and macOS")
    return LocalTransport(name)
