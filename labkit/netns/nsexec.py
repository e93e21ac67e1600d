"""Reach into a namespace without any guest networking: sockets opened inside a network
namespace (for SSH from the lab's host), and command channels that enter a namespace directly.

`ConsoleTransport` is the out-of-band console of the netns backend: it enters a VM's network,
mount, UTS and PID namespaces through its init process (nsenter), so it works while the guest's
address is wrong or gone, as VMware's console does. `NsExecTransport` runs in an infrastructure
namespace (the host, the LAN router, the internet) for matrix sources that are not VMs.
"""

from __future__ import annotations

import ctypes
import os
import socket
import subprocess
import threading
from pathlib import Path

from labkit.errors import TransportError
from labkit.transport.base import CommandResult

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def socket_in_netns(ns: str, host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection made from inside network namespace `ns` (setns in a throwaway thread).

    A socket keeps the namespace it was created in, so after the thread ends it can be used from
    anywhere; the calling thread's own namespace is never switched.
    """
    box: dict = {}

    def work() -> None:
        try:
            fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns into {ns} failed")
            finally:
                os.close(fd)
            box["sock"] = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            box["error"] = exc

    thread = threading.Thread(target=work, name=f"netns-connect-{ns}")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["sock"]


class _EnterTransport:
    """Shared by both channels: a command prefix that enters the namespace, then plain sh."""

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
            raise TransportError(f"{self.name}: cannot enter the namespace: {exc}") from None
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


class ConsoleTransport(_EnterTransport):
    """A VM's console: enters its init's namespaces, so it needs no guest networking."""

    def __init__(self, name: str, init_pid: int | None, command_timeout: float = 120) -> None:
        if not init_pid or not Path(f"/proc/{init_pid}").exists():
            raise TransportError(f"{name} is powered off: no console")
        super().__init__(name, ["nsenter", "-t", str(init_pid), "-n", "-m", "-u", "-p", "--"], command_timeout)


class NsExecTransport(_EnterTransport):
    """A shell in one of the lab's infrastructure namespaces (the host, the router, the internet)."""

    kind = "netns"

    def __init__(self, name: str, ns: str, command_timeout: float = 120) -> None:
        super().__init__(name, ["ip", "netns", "exec", ns], command_timeout)
