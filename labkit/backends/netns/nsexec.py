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
from collections.abc import Callable
from typing import Any, TypeVar

from labkit.errors import TransportError
from labkit.backends.netns.vmroot import confined
from labkit.backends.transports.local import PrefixTransport

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


T = TypeVar("T")


def in_netns(ns: str, work: Callable[[], T]) -> T:
    """`work()` run in a thread of its own that has entered network namespace `ns` (threads it
    starts are born there too, and sockets it makes stay there, usable from anywhere afterwards);
    the calling thread's own namespace never changes. Its result is returned, its exception raised."""
    box: dict[str, Any] = {}

    def enter_and_work() -> None:
        try:
            fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns into {ns} failed")
            finally:
                os.close(fd)
            box["result"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=enter_and_work, name=f"in-netns-{ns}")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


def socket_in_netns(ns: str, host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection made from inside network namespace `ns` (for SSH from the lab's host)."""
    return in_netns(ns, lambda: socket.create_connection((host, port), timeout=timeout))


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
