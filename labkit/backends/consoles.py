"""What the two VMware consoles share (VMware Tools guest operations on vSphere, vmrun on Workstation).

Both log in to the guest OS with the inventory's guest_login, whose password is only ever named
(an environment variable), and both are offered to the runner as the Console capability for the
VMs that have such a login. One definition of each, so that the two backends cannot drift in what
they ask of a user or how they say what is missing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Protocol, TypeVar

from labkit.errors import InputError, TransportError
from labkit.model import GuestLogin, Inventory
from labkit.protocols import GuestTransport


def guest_password(vm_name: str, login: GuestLogin, console: str) -> str:
    """The guest password from the variable the inventory names; a clear InputError when it is unset."""
    value = os.environ.get(login.password_env)
    if not value:
        raise InputError(f"environment variable {login.password_env} is not set (it should hold the guest "
                         f"password of {login.user} in {vm_name}, for the {console})",
                         field=f"vms.{vm_name}.guest_login.password_env")
    return value


class ConsoleHost(Protocol):
    """A lab that can say which VMs its console reaches and open one per VM."""

    def has_console(self, node: str) -> bool: ...

    def open_console(self, node: str) -> GuestTransport: ...


class LabConsoles:
    """The Console capability (labkit.protocols.Console) of a lab whose VMs with a guest_login have one."""

    def __init__(self, lab: ConsoleHost) -> None:
        self._lab = lab

    def reaches(self, node: str) -> bool:
        return self._lab.has_console(node)

    def open(self, node: str) -> GuestTransport:
        return self._lab.open_console(node)


def guest_login_of(inventory: Inventory, node: str, console: str) -> GuestLogin:
    """The VM's guest_login, or the TransportError a console gives for a node it cannot reach."""
    if node not in inventory.vm_names:
        raise TransportError(f"{node}: the {console} reaches only VMs, not {node!r}")
    login = inventory.vm(node).guest_login
    if login is None:
        raise TransportError(f"{node}: the inventory gives no guest_login (user, password_env), which the "
                             f"{console} needs")
    return login


C = TypeVar("C", bound=GuestTransport)


def one_per_vm(consoles: dict[str, C], lock: threading.Lock, node: str, make: Callable[[], C]) -> C:
    """The VM's console from `consoles`, or one made now (outside the lock: opening one asks the
    hypervisor) and kept; when another thread made one meanwhile, that one is kept and ours closed."""
    with lock:
        console = consoles.get(node)
    if console is not None:
        return console
    console = make()
    with lock:
        if node in consoles:
            other, console = console, consoles[node]
            other.close()
        else:
            consoles[node] = console
    return console
