"""Jump hosts (bastions) for one run: one SSH handshake per jump host, shared by every guest behind it.

A lab reached through a bastion would otherwise pay two handshakes per guest, and a matrix opens
every guest at once: the bastion's MaxStartups would refuse some. So a `Bastions` object, owned by
the lab (or by a lone transport), keeps one Fabric Connection per jump host, keyed by the route to
it, and hands out `direct-tcpip` channels over it. A chain (ProxyJump j1,j2) is j2 reached through
a channel of j1's connection, itself shared.

Channels are opened here rather than by Fabric's `open_gateway`, which gives a new gateway
connection to every Connection and opens the channel with Paramiko's one-hour default timeout; a
guest that moved must be "cannot get there" within the connect timeout, so a console can take over.
The jump host's key is verified like any other (sshlogin.handshake).
"""

from __future__ import annotations

import logging
import threading

import fabric  # type: ignore[import-untyped]  # Fabric ships no type information
import paramiko
from paramiko.common import OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

from labkit.backends.transports.sshconfig import bare_connection
from labkit.backends.transports.sshlogin import Sock, Target, handshake, open_socket

log = logging.getLogger(__name__)
Route = tuple[Target, ...]  # jump hosts, the one labkit connects to first leading


class _Jump:
    """One jump host's connection, made on first use and remade when it has dropped."""

    def __init__(self, target: Target, upstream: Route, owner: Bastions) -> None:
        self.target, self.upstream, self.owner = target, upstream, owner
        self.conn: fabric.Connection | None = None
        self.handshakes = 0
        self._lock = threading.Lock()

    def _transport(self) -> paramiko.Transport:
        with self._lock:
            transport = self.conn.client.get_transport() if self.conn is not None else None
            if transport is not None and transport.is_active():
                return transport
            if self.conn is not None:
                log.debug("%s: connection dropped, reconnecting", self.target.name)
                self.conn.client.close()  # Fabric's close() skips a connection that is already dead
            t = self.target
            sock: Sock = (self.owner.channel(self.upstream, t.host, t.port, t.connect_timeout) if self.upstream
                          else open_socket(t))
            conn = bare_connection(t.host, t.user, t.port)
            handshake(conn, t, sock)
            self.conn = conn
            self.handshakes += 1
            log.debug("%s: connected to %s (connection %d)", t.name, t.login, self.handshakes)
            transport = conn.client.get_transport()
            assert transport is not None  # handshake() has just connected it
            return transport

    def channel(self, host: str, port: int, timeout: float) -> paramiko.Channel:
        """A direct-tcpip channel to host:port; a dead connection is remade once."""
        t = self.target
        for attempt in (1, 2):
            transport = self._transport()
            try:
                return transport.open_channel("direct-tcpip", (host, port), ("", 0), timeout=timeout)
            except paramiko.ChannelException as e:
                if e.code == OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED:
                    raise t.error(f"refuses to forward to {host}:{port} ({e.text}; AllowTcpForwarding "
                                  "in its sshd_config?)") from None
                raise t.unreachable(f"cannot connect on to {host}:{port} ({e.text})") from None
            except (paramiko.SSHException, EOFError, OSError) as e:
                if transport.is_active() and "Timeout opening channel" in str(e):
                    raise t.unreachable(f"no connection on to {host}:{port} within {timeout:g} s") from None
                if attempt == 2 or transport.is_active():
                    raise t.unreachable(f"cannot open a channel on to {host}:{port}: {e}") from None
                log.debug("%s: connection died opening a channel, retrying once", t.name)
        raise AssertionError("unreachable")  # the loop returns or raises

    def close(self) -> None:
        with self._lock:
            if self.conn is not None:
                self.conn.client.close()
                self.conn = None


class Bastions:
    """The jump host connections of one run; thread-safe (a matrix opens many guests at once)."""

    def __init__(self) -> None:
        self._jumps: dict[tuple[tuple[object, ...], ...], _Jump] = {}
        self._lock = threading.Lock()

    @property
    def handshakes(self) -> int:
        """Handshakes with jump hosts so far: one per jump host when all goes well."""
        return sum(j.handshakes for j in list(self._jumps.values()))

    def connections(self) -> dict[str, int]:
        """Handshakes per jump host, by name (for tests and logs)."""
        return {j.target.name: j.handshakes for j in list(self._jumps.values())}

    def channel(self, route: Route, host: str, port: int, timeout: float) -> paramiko.Channel:
        """A channel to host:port from the last jump host of `route`, connecting the route as needed."""
        key = tuple(t.identity for t in route)
        with self._lock:
            jump = self._jumps.get(key)
            if jump is None:
                jump = self._jumps[key] = _Jump(route[-1], route[:-1], self)
        return jump.channel(host, port, timeout)

    def close(self) -> None:
        """Close every jump host connection, the farthest first; safe to call any number of times."""
        with self._lock:
            jumps = sorted(self._jumps.values(), key=lambda j: -len(j.upstream))
            self._jumps.clear()
        for jump in jumps:
            jump.close()
