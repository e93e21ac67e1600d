"""SSH while the guest answers there, the console when it does not.

After an adapter moves to another network the guest keeps its old address until it re-addresses,
and SSH cannot reach it (the tutorial's author typed at the VM's console). This transport follows
the guest's current address (as the hypervisor reports it), keeps one SSH connection per address,
and falls back to the backend's console when no address answers. A guest that answers with the
wrong host key, or refuses the credentials, is an error: never a reason to go round SSH. `kind` says which channel
carried the last operation, so reports can tell.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from labkit.errors import TransportError, UnreachableError
from labkit.protocols import CommandResult, GuestTransport

T = TypeVar("T")
Opener = Callable[[], GuestTransport]


class FallbackTransport:
    def __init__(self, name: str, address: Callable[[], str | None], ssh: Callable[[str], GuestTransport],
                 console: Opener | None) -> None:
        self.name = name
        self._address = address
        self._ssh_factory = ssh
        self._console_factory = console
        self._ssh: dict[str, GuestTransport] = {}
        self._dead: set[str] = set()  # addresses that did not answer: not retried until the address changes
        self._console: GuestTransport | None = None
        self.kind = "ssh"
        self.used: list[str] = []  # channel of every operation, for tests and reports

    @property
    def handshakes(self) -> int:
        """SSH connections opened so far (one per address the guest had, when all goes well)."""
        return sum(getattr(t, "handshakes", 0) for t in self._ssh.values())

    def _channels(self) -> Iterator[tuple[str | None, Opener]]:
        """(address or None, opener): SSH at the current address, then the console. Each is opened
        only when tried, so a console that cannot open (VMware Tools not running) never stands in
        the way of SSH."""
        address = self._address()
        if address and address not in self._dead:
            yield address, lambda: self._ssh_to(address)
        factory = self._console_factory
        if factory is not None:
            yield None, lambda: self._open_console(factory)

    def _ssh_to(self, address: str) -> GuestTransport:
        if address not in self._ssh:
            self._ssh[address] = self._ssh_factory(address)
        return self._ssh[address]

    def _open_console(self, factory: Opener) -> GuestTransport:
        if self._console is None:
            self._console = factory()
        return self._console

    def _do(self, op: Callable[[GuestTransport], T]) -> T:
        errors: list[str] = []
        for address, open_channel in self._channels():
            try:
                channel = open_channel()
                result = op(channel)
            except UnreachableError as exc:  # only "cannot get there" moves on to the console
                errors.append(f"{'ssh' if address else 'console'}: {exc}")
                if address:  # not retried until the guest's address changes
                    self._dead.add(address)
                    dead = self._ssh.pop(address, None)
                    if dead is not None:
                        dead.close()
                continue
            self.kind = channel.kind
            self.used.append(channel.kind)
            return result
        if not errors:
            raise TransportError(f"{self.name}: no address to reach it over SSH and no console")
        raise TransportError(f"{self.name}: " + "; ".join(errors))

    def run(self, command: str, timeout: float | None = None) -> CommandResult:
        return self._do(lambda ch: ch.run(command, timeout))

    def read_file(self, path: str) -> str:
        return self._do(lambda ch: ch.read_file(path))

    def write_file(self, path: str, data: str, mode: int = 0o644) -> None:
        self._do(lambda ch: ch.write_file(path, data, mode))

    def close(self) -> None:
        for t in self._ssh.values():
            t.close()
        if self._console is not None:
            self._console.close()
