"""The SSH guest transport: one Paramiko connection per guest, reused for every command and file.

Why Paramiko directly rather than Fabric: labkit needs three things below Fabric's level and nothing
above it. Atomic writes need SFTP's `posix-rename@openssh.com` (plain SFTP rename fails when the
target exists, so it cannot replace a file in one step). Guests inside a network namespace are
reached through a socket opened there, which Paramiko accepts as `sock=`. Host-key policy must be
strict by default with an explicit trust-on-first-use into labkit's own file. Fabric would add
config files and a task runner we do not use, and hide the connection we want to count and reuse.

Every failure is a TransportError naming the node, user, host and port. A password is read from
the environment at connect time, handed to Paramiko and never stored, logged or echoed.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import posixpath
import secrets
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import paramiko
from paramiko.sftp import CMD_EXTENDED

from labkit.errors import TransportError, UnreachableError
from labkit.model import Inventory, Ssh
from labkit.protocols import CommandResult, GuestTransport

log = logging.getLogger(__name__)
SockFactory = Callable[[str, int, float], socket.socket]
_BUF = 65536
T = TypeVar("T")


def _describe(key: paramiko.PKey) -> str:
    return f"{key.get_name()} {key.fingerprint}"


class _HostKeyPolicy(paramiko.MissingHostKeyPolicy):
    """Called by Paramiko only for a host with no recorded key of the offered type."""

    def __init__(self, transport: SshTransport, known: paramiko.HostKeys) -> None:
        self.t, self.known = transport, known

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        t = self.t
        recorded = self.known.lookup(hostname)
        if recorded:  # known under another key type: still a changed key (Paramiko < 5 lets it through)
            old = next(iter(recorded.values()))
            raise t._error(f"host key mismatch for {t._where}: known {_describe(old)}, got "
                           f"{_describe(key)}; refusing (possible man-in-the-middle)")
        if not t.trust_on_first_use:
            raise t._error(f"unknown host key for {t._where} ({_describe(key)}); add it to "
                           f"{t.known_hosts} or {t.labkit_known_hosts}, or set trust_on_first_use")
        path = t.labkit_known_hosts
        try:
            os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a") as f:
                os.fchmod(fd, 0o600)
                f.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        except OSError as e:
            raise t._error(f"cannot record the host key in {path}: {e}") from None
        client.get_host_keys().add(hostname, key.get_name(), key)
        log.warning("%s: trusted new host key %s for %s, recorded in %s", t.name, _describe(key), hostname, path)


class SshTransport:
    """The GuestTransport protocol over SSH: lazy connect, one connection, one SFTP session."""

    kind = "ssh"

    def __init__(self, host: str, port: int = 22, user: str = "root", *, key_file: str | None = None,
                 password_env: str | None = None, allow_agent: bool = True, known_hosts: str | None = None,
                 trust_on_first_use: bool = False, labkit_known_hosts: str | None = None,
                 connect_timeout: float = 10, command_timeout: float = 120,
                 sock_factory: SockFactory | None = None, name: str | None = None,
                 host_key_alias: str | None = None) -> None:
        """`host_key_alias` (OpenSSH's HostKeyAlias) names the host in known_hosts instead of its address:
        a lab VM keeps its key while DHCP or a NAT/bridged switch changes the address it is reached at."""
        self.host, self.port, self.user = host, port, user
        self.key_file = os.path.expanduser(key_file) if key_file else None
        self.password_env, self.allow_agent = password_env, allow_agent
        self.known_hosts = os.path.expanduser(known_hosts or "~/.ssh/known_hosts")
        self.labkit_known_hosts = os.path.expanduser(labkit_known_hosts or "~/.config/labkit/known_hosts")
        self.trust_on_first_use = trust_on_first_use
        self.connect_timeout, self.command_timeout = connect_timeout, command_timeout
        self.sock_factory = sock_factory or (lambda h, p, t: socket.create_connection((h, p), timeout=t))
        self.name = name or host
        self.host_key_alias = host_key_alias
        self.handshakes = 0
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"SshTransport({self.name!r}, {self.user}@{self.host}:{self.port})"

    @property
    def _where(self) -> str:
        alias = f" (host key alias {self.host_key_alias})" if self.host_key_alias else ""
        return f"{self.host}:{self.port}{alias}"

    def _error(self, message: str) -> TransportError:
        return TransportError(f"{self.name} ({self.user}@{self.host}:{self.port}): {message}")

    def _unreachable(self, message: str) -> UnreachableError:
        return UnreachableError(f"{self.name} ({self.user}@{self.host}:{self.port}): {message}")

    # ---- connection ----
    def _connect(self) -> paramiko.SSHClient:
        """Open socket, verify the host key, authenticate. Everything Paramiko raises becomes a TransportError."""
        password = None
        if self.password_env:
            password = os.environ.get(self.password_env)
            if password is None:
                raise self._error(f"password variable ${self.password_env} is not set in the environment")
        pkey = self._load_key(self.key_file) if self.key_file else None
        known = paramiko.HostKeys()
        client = paramiko.SSHClient()
        try:
            for path in dict.fromkeys((self.known_hosts, self.labkit_known_hosts)):
                if os.path.exists(path):
                    known.load(path)
                    client.load_system_host_keys(path)
        except (OSError, paramiko.SSHException) as e:
            raise self._error(f"cannot read known_hosts: {e}") from None
        client.set_missing_host_key_policy(_HostKeyPolicy(self, known))
        try:
            sock = self.sock_factory(self.host, self.port, self.connect_timeout)
        except socket.gaierror as e:
            raise self._unreachable(f"cannot resolve host name: {e.strerror}") from None
        except ConnectionRefusedError:
            raise self._unreachable("connection refused (is sshd running and listening on that port?)") from None
        except TimeoutError:
            raise self._unreachable(f"connect timed out after {self.connect_timeout:g} s") from None
        except OSError as e:
            raise self._unreachable(f"cannot connect: {e.strerror or e}") from None
        tried = ([f"key file {self.key_file}"] if pkey else []) + (["ssh agent"] if self.allow_agent else [])
        tried += [f"password from ${self.password_env}"] if password is not None else []
        # The socket is ours, so Paramiko uses the host name only to look up its key (hence the alias).
        # look_for_keys=False: only the configured credentials, so an error can say what was tried.
        try:
            client.connect(self.host_key_alias or self.host, self.port, self.user, password=password, pkey=pkey, sock=sock,
                           allow_agent=self.allow_agent, look_for_keys=False, timeout=self.connect_timeout,
                           banner_timeout=self.connect_timeout, auth_timeout=self.connect_timeout)
        except BaseException as e:
            transport = client.get_transport()
            spoke = bool(transport is not None and transport.remote_version)  # the server's SSH banner came
            client.close()
            sock.close()
            if isinstance(e, TransportError):
                raise
            if isinstance(e, paramiko.BadHostKeyException):
                raise self._error(f"host key mismatch for {self._where}: known {_describe(e.expected_key)}, "
                                  f"got {_describe(e.key)}; refusing (possible man-in-the-middle)") from None
            if isinstance(e, paramiko.AuthenticationException):
                allowed = getattr(e, "allowed_types", None)
                server = f"; server accepts: {', '.join(allowed)}" if allowed else ""
                raise self._error(f"authentication failed as {self.user} (tried: "
                                  f"{', '.join(tried) or 'nothing: no key file, agent or password'}){server}") from None
            if not spoke and isinstance(e, (paramiko.SSHException, EOFError, OSError)):
                # TCP was accepted but no SSH server spoke: a port forward or proxy with nothing
                # behind it (a NAT forward to a guest that moved). Nothing was said about keys or
                # credentials, so this is "cannot get there", and a console may be tried.
                raise self._unreachable("connection accepted but no SSH server answered (closed before "
                                        "the SSH banner: a port forward with nothing behind it?)") from None
            if isinstance(e, (paramiko.SSHException, EOFError, OSError)):
                text = str(e).replace(password, "***") if password else str(e)
                raise self._error(f"SSH handshake failed: {text or type(e).__name__}") from None
            raise
        self.handshakes += 1
        log.debug("%s: connected to %s@%s:%s (connection %d)", self.name, self.user, self.host, self.port,
                  self.handshakes)
        return client

    def _load_key(self, path: str) -> paramiko.PKey:
        try:
            return paramiko.PKey.from_path(path)
        except FileNotFoundError:
            raise self._error(f"key file {path} does not exist") from None
        except paramiko.PasswordRequiredException:
            raise self._error(f"key file {path} is encrypted; load it into ssh-agent instead") from None
        except (OSError, ValueError, paramiko.SSHException) as e:
            raise self._error(f"cannot read key file {path}: {e}") from None

    def _connection(self) -> paramiko.SSHClient:
        """The live connection, made on first use and remade when the previous one has dropped."""
        with self._lock:
            client = self._client
            transport = client.get_transport() if client else None
            if client is None or transport is None or not transport.is_active():
                if client is not None:
                    log.debug("%s: connection dropped, reconnecting", self.name)
                self.close()
                client = self._client = self._connect()
            return client

    def _sftp_session(self) -> paramiko.SFTPClient:
        client = self._connection()
        channel = self._sftp.get_channel() if self._sftp is not None else None
        if self._sftp is None or channel is None or channel.closed:
            try:
                self._sftp = client.open_sftp()
            except (paramiko.SSHException, OSError, EOFError) as e:
                raise self._error(f"cannot open SFTP session: {e}") from None
        return self._sftp

    def _retrying(self, what: str, op: Callable[[], T]) -> T:
        """Run op; if it fails because the connection died under it, reconnect once and run it again."""
        try:
            return op()
        except (paramiko.SSHException, EOFError, OSError) as e:
            transport = self._client.get_transport() if self._client else None
            # a path that vanished (the guest moved, an adapter went down) shows as a channel that
            # never opens while TCP still looks alive: that connection is dead too
            stalled = "Timeout opening channel" in str(e)
            if transport is not None and transport.is_active() and not stalled:
                raise  # a real failure of the operation, not a dead connection
            log.debug("%s: connection died during %s, retrying once", self.name, what)
            with self._lock:
                self.close()
            return op()

    # ---- the protocol ----
    def run(self, command: str, timeout: float | None = None) -> CommandResult:
        """Exec `command`; read stdout and stderr together so neither pipe can fill and stall the other.

        On timeout the channel is closed: the remote command loses its pipes (a writer dies of SIGPIPE)
        but SSH cannot kill it for certain, and the connection stays usable for the next command.
        """
        limit = self.command_timeout if timeout is None else timeout
        try:
            chan = self._retrying("exec", self._open_session)
            chan.exec_command(command)
        except (paramiko.SSHException, EOFError, OSError) as e:
            raise self._error(f"cannot start command {command!r}: {e}") from None
        log.debug("%s: run %s", self.name, command)
        out, err, deadline = bytearray(), bytearray(), time.monotonic() + limit
        try:
            while True:
                while chan.recv_ready():
                    out += chan.recv(_BUF)
                while chan.recv_stderr_ready():
                    err += chan.recv_stderr(_BUF)
                if ((chan.eof_received or chan.closed) and chan.exit_status_ready()
                        and not chan.recv_ready() and not chan.recv_stderr_ready()):
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._error(f"command {command!r} timed out after {limit:g} s")
                # The channel's event fires on data or EOF; wait on it, or on the exit status after EOF.
                if chan.eof_received:
                    chan.status_event.wait(min(remaining, 0.5))
                else:
                    select.select([chan], [], [], min(remaining, 0.5))
        finally:
            chan.close()
        status = chan.recv_exit_status()
        if status == -1:
            raise self._error(f"connection lost while running {command!r}")
        return CommandResult(status, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))

    def _open_session(self) -> paramiko.Channel:
        transport = self._connection().get_transport()
        if transport is None:  # _connection() has just seen it active: it died in between
            raise paramiko.SSHException("the SSH connection closed")
        return transport.open_session(timeout=self.connect_timeout)

    def read_file(self, path: str) -> str:
        def op() -> bytes:
            with self._lock, self._sftp_session().open(path, "rb") as f:
                return f.read()
        try:
            data = self._retrying("read", op)
        except FileNotFoundError:
            raise FileNotFoundError(errno.ENOENT, f"{self.name}: no such file", path) from None
        except (OSError, paramiko.SSHException, EOFError) as e:
            raise self._error(f"SFTP read of {path} failed: {e}") from None
        return data.decode("utf-8", "surrogateescape")  # undecodable bytes survive a read/write round trip

    def write_file(self, path: str, data: str, mode: int = 0o644) -> None:
        """Write a temp file beside the target, chmod and fsync it, then posix-rename it over the target."""
        directory, base = posixpath.split(path)
        tmp = posixpath.join(directory, f".{base}.labkit-{secrets.token_hex(6)}")
        payload = data.encode("utf-8", "surrogateescape")

        def op() -> None:
            with self._lock:
                sftp = self._sftp_session()
                try:
                    with sftp.open(tmp, "wb") as f:
                        f.set_pipelined(True)
                        f.write(payload)
                        f.chmod(mode)
                        f.flush()
                        try:  # fsync@openssh.com: Paramiko has no public call for it; skip where unsupported
                            # private API, so not in types-paramiko: the one way to send this request
                            sftp._request(CMD_EXTENDED, "fsync@openssh.com", f.handle)  # type: ignore[attr-defined]
                        except OSError as e:
                            if "unsupported" not in str(e).lower():
                                raise
                    sftp.posix_rename(tmp, path)
                except BaseException:
                    with contextlib.suppress(Exception):  # it may never have been created
                        sftp.remove(tmp)
                    raise
        try:
            self._retrying("write", op)
        except FileNotFoundError:
            raise self._error(f"SFTP write of {path} failed: directory {directory or '.'} does not exist") from None
        except (OSError, paramiko.SSHException, EOFError) as e:
            raise self._error(f"SFTP write of {path} failed: {e}") from None

    def close(self) -> None:
        """Close SFTP and the connection; safe to call any number of times."""
        sftp, client, self._sftp, self._client = self._sftp, self._client, None, None
        for thing in (sftp, client):
            with contextlib.suppress(Exception):  # closing a dead connection must not raise
                thing and thing.close()


def from_inventory(vm_name: str, ssh: Ssh, **overrides: Any) -> SshTransport:
    """Build the transport for one inventory VM (`labkit.model.Ssh`); keyword overrides win."""
    kwargs: dict[str, Any] = dict(
        host=str(ssh.address) if ssh.address else None, port=ssh.port, user=ssh.user, key_file=ssh.key_file,
        password_env=ssh.password_env, known_hosts=ssh.known_hosts, trust_on_first_use=ssh.trust_on_first_use,
        connect_timeout=ssh.connect_timeout, name=vm_name)
    kwargs.update(overrides)
    if not kwargs["host"]:
        raise TransportError(f"{vm_name}: the inventory gives no ssh address")
    return SshTransport(kwargs.pop("host"), **kwargs)


def to_vm(inventory: Inventory, node: str, backend: str, address: str | None = None) -> GuestTransport:
    """SSH to an inventory VM for a backend whose guests are reached only that way (vSphere,
    Workstation); `address` overrides the inventory's (safe apply's proof at a new address)."""
    if node not in inventory.vm_names:
        raise TransportError(f"{node}: the {backend} backend reaches only VMs, over SSH; it has no channel "
                             f"to {node!r} (the host, the router and externals are not driven)")
    vm = inventory.vm(node)
    if vm.ssh is None:
        raise TransportError(f"{node}: the inventory gives no ssh settings, and {backend} guests are reached "
                             "over SSH")
    return from_inventory(node, vm.ssh, **({"host": address} if address else {}))
