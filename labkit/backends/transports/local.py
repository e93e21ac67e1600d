"""Commands on this machine (or in a namespace of it) through a command prefix and plain sh.

The netns lab's consoles enter a namespace with a prefix (`nsenter ...`, `ip netns exec ...`);
with no prefix it is the machine labkit runs on, which is the lab's host when labkit runs beside
VMware Workstation. Files are written atomically by a fixed script that takes the path as an
argument, so no path is ever quoted into a command line.
"""

from __future__ import annotations

import subprocess

from labkit.errors import TransportError
from labkit.protocols import CommandResult


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
