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
import threading
from pathlib import Path
from typing import TypedDict

from labkit.errors import TransportError
from labkit.backends.netns.vmroot import confined
from labkit.backends.transports.local import PrefixTransport

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class _Outcome(TypedDict, total=False):
    sock: socket.socket
    error: OSError


def socket_in_netns(ns: str, host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection made from inside network namespace `ns` (setns in a throwaway thread).

    A socket keeps the namespace it was created in, so after the thread ends it can be used from
    anywhere; the calling thread's own namespace is never switched.
    """
    box: _Outcome = {}

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


class ConsoleTransport(PrefixTransport):
    """A VM's console: enters its init's namespaces, so it needs no guest networking, with the
    capabilities the VM's own processes have (vmroot.confined): it cannot remount the VM's view of
    the host's files writable."""

    def __init__(self, name: str, init_pid: int | None, command_timeout: float = 120) -> None:
        if not init_pid or not Path(f"/proc/{init_pid}").exists():
            raise TransportError(f"{name} is powered off: no console")
        super().__init__(name, ["nsenter", "-t", str(init_pid), "-n", "-m", "-u", "-p", "--", *confined()],
                         command_timeout)


class NsExecTransport(PrefixTransport):
    """A shell in one of the lab's infrastructure namespaces (the host, the router, the internet)."""

    kind = "netns"

    def __init__(self, name: str, ns: str, command_timeout: float = 120) -> None:
        super().__init__(name, ["ip", "netns", "exec", ns], command_timeout)
