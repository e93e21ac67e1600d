"""One SSH handshake, the same for a guest and for a jump host: verify the host key, then log in.

A `Target` is everything needed to reach one SSH server, already resolved from the inventory,
ssh_config and the lab. `handshake` drives the Paramiko client that Fabric's Connection holds,
because Fabric's own `open()` is in the way three times: it installs AutoAddPolicy (labkit verifies
every key, with trust on first use only when asked and only into its own file), it cannot look a
key up under a HostKeyAlias while connecting somewhere else, and it hides the failures labkit
must tell apart ("cannot get there" may go round to a console, a wrong key or refused credentials
never do). Every failure is a TransportError naming the node, user, host and port; a password is
read from the environment at connect time and never stored, logged or echoed.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

import fabric  # type: ignore[import-untyped]  # Fabric ships no type information
import paramiko
from paramiko.proxy import ProxyCommand

from labkit.errors import TransportError, UnreachableError

log = logging.getLogger(__name__)
SockFactory = Callable[[str, int, float], socket.socket]
Sock = socket.socket | paramiko.Channel | ProxyCommand


def describe(key: paramiko.PKey) -> str:
    return f"{key.get_name()} {key.fingerprint}"


@dataclass(frozen=True, eq=False)
class Target:
    """One SSH server to log in to: a guest, or a jump host on the way to one."""

    name: str  # for messages: the VM, or "jump host NAME"
    host: str  # where to connect: an address, or a name resolved here (or by the jump host)
    port: int
    user: str
    host_key_alias: str | None = None  # the name its key is recorded under (OpenSSH's HostKeyAlias)
    key_file: str | None = None  # named by the inventory: must exist
    identity_files: tuple[str, ...] = ()  # ssh_config's IdentityFile: skipped when absent, as ssh does
    default_key_file: str | None = None  # the lab's own key (or the guest's, for a jump host): tried last
    password_env: str | None = None
    allow_agent: bool = True
    known_hosts: tuple[str, ...] = (os.path.expanduser("~/.ssh/known_hosts"),)
    labkit_known_hosts: str = os.path.expanduser("~/.config/labkit/known_hosts")
    trust_on_first_use: bool = False
    connect_timeout: float = 10
    proxy_command: str | None = None
    sock_factory: SockFactory | None = None  # how to open TCP (the netns lab opens it in a namespace)
    via: str = ""  # " via user@jump:22": the jump hosts on the way, for messages

    @property
    def identity(self) -> tuple[object, ...]:
        """What makes two jump hosts the same connection (the socket factory does not)."""
        return (self.host, self.port, self.user, self.host_key_alias, self.key_file, self.identity_files,
                self.default_key_file, self.password_env, self.known_hosts, self.proxy_command)

    @property
    def login(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"

    @property
    def key_where(self) -> str:
        alias = f" (host key alias {self.host_key_alias})" if self.host_key_alias else ""
        return f"{self.host}:{self.port}{alias}"

    def error(self, message: str) -> TransportError:
        return TransportError(f"{self.name} ({self.login}{self.via}): {message}")

    def unreachable(self, message: str) -> UnreachableError:
        return UnreachableError(f"{self.name} ({self.login}{self.via}): {message}")


class _HostKeyPolicy(paramiko.MissingHostKeyPolicy):
    """Called by Paramiko only for a host with no recorded key of the offered type."""

    def __init__(self, target: Target, known: paramiko.HostKeys) -> None:
        self.t, self.known = target, known

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        t = self.t
        recorded = self.known.lookup(hostname)
        if recorded:  # known under another key type: still a changed key (Paramiko < 5 lets it through)
            old = next(iter(recorded.values()))
            raise t.error(f"host key mismatch for {t.key_where}: known {describe(old)}, got "
                          f"{describe(key)}; refusing (possible man-in-the-middle)")
        if not t.trust_on_first_use:
            files = " or ".join(dict.fromkeys((*t.known_hosts, t.labkit_known_hosts)))
            raise t.error(f"unknown host key for {t.key_where} ({describe(key)}); add it to {files}, "
                          "or set trust_on_first_use")
        path = t.labkit_known_hosts
        try:
            os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a") as f:
                os.fchmod(fd, 0o600)
                f.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        except OSError as e:
            raise t.error(f"cannot record the host key in {path}: {e}") from None
        client.get_host_keys().add(hostname, key.get_name(), key)
        log.warning("%s: trusted new host key %s for %s, recorded in %s", t.name, describe(key), hostname, path)


def open_socket(t: Target) -> Sock:
    """TCP to the target (or its ProxyCommand); "cannot get there" is an UnreachableError."""
    if t.proxy_command:
        try:
            return ProxyCommand(t.proxy_command)
        except (OSError, paramiko.SSHException) as e:
            raise t.unreachable(f"ProxyCommand failed to start: {e}") from None
    factory = t.sock_factory or (lambda h, p, timeout: socket.create_connection((h, p), timeout=timeout))
    try:
        return factory(t.host, t.port, t.connect_timeout)
    except socket.gaierror as e:
        raise t.unreachable(f"cannot resolve host name: {e.strerror}") from None
    except ConnectionRefusedError:
        raise t.unreachable("connection refused (is sshd running and listening on that port?)") from None
    except TimeoutError:
        raise t.unreachable(f"connect timed out after {t.connect_timeout:g} s") from None
    except OSError as e:
        raise t.unreachable(f"cannot connect: {e.strerror or e}") from None


def _load_key(t: Target, path: str) -> paramiko.PKey:
    try:
        return paramiko.PKey.from_path(path)
    except FileNotFoundError:
        raise t.error(f"key file {path} does not exist") from None
    except paramiko.PasswordRequiredException:
        raise t.error(f"key file {path} is encrypted; load it into ssh-agent instead") from None
    except (OSError, ValueError, paramiko.SSHException) as e:
        raise t.error(f"cannot read key file {path}: {e}") from None


def handshake(conn: fabric.Connection, t: Target, sock: Sock) -> None:
    """Verify the host key and log in over `sock` with conn's Paramiko client; close sock on failure."""
    password = None
    try:
        if t.password_env:
            password = os.environ.get(t.password_env)
            if password is None:
                raise t.error(f"password variable ${t.password_env} is not set in the environment")
        pkey = _load_key(t, t.key_file) if t.key_file else None
        extra = [f for f in t.identity_files if os.path.exists(f)]
        if t.default_key_file and t.default_key_file not in (t.key_file, *extra):
            extra.append(t.default_key_file)  # last: a user's `Host *` IdentityFile must not shut it out
        known = paramiko.HostKeys()
        client = conn.client
        for path in dict.fromkeys((*t.known_hosts, t.labkit_known_hosts)):
            if os.path.exists(path):
                known.load(path)
                client.load_system_host_keys(path)
    except BaseException as e:
        sock.close()
        if isinstance(e, (OSError, paramiko.SSHException)):
            raise t.error(f"cannot read known_hosts: {e}") from None
        raise
    client.set_missing_host_key_policy(_HostKeyPolicy(t, known))
    tried = ([f"key file {t.key_file}"] if pkey else []) + [f"key file {f}" for f in extra]
    tried += ["ssh agent"] if t.allow_agent else []
    tried += [f"password from ${t.password_env}"] if password is not None else []
    # The socket is ours, so Paramiko uses host and port only to look the key up: under the alias as
    # it is (OpenSSH appends no port to a HostKeyAlias), else as [host]:port off port 22.
    lookup = (t.host_key_alias, 22) if t.host_key_alias else (t.host, t.port)
    # look_for_keys=False: only the configured credentials, so an error can say what was tried.
    try:
        client.connect(lookup[0], lookup[1], t.user, password=password, pkey=pkey, key_filename=extra or None,
                       sock=sock, allow_agent=t.allow_agent, look_for_keys=False, timeout=t.connect_timeout,
                       banner_timeout=t.connect_timeout, auth_timeout=t.connect_timeout)
    except BaseException as e:
        transport = client.get_transport()
        spoke = bool(transport is not None and transport.remote_version)  # the server's SSH banner came
        client.close()
        sock.close()
        if isinstance(e, TransportError):
            raise
        if isinstance(e, paramiko.BadHostKeyException):
            raise t.error(f"host key mismatch for {t.key_where}: known {describe(e.expected_key)}, "
                          f"got {describe(e.key)}; refusing (possible man-in-the-middle)") from None
        if isinstance(e, paramiko.AuthenticationException):
            allowed = getattr(e, "allowed_types", None)
            server = f"; server accepts: {', '.join(allowed)}" if allowed else ""
            raise t.error(f"authentication failed as {t.user} (tried: "
                          f"{', '.join(tried) or 'nothing: no key file, agent or password'}){server}") from None
        if not spoke and isinstance(e, (paramiko.SSHException, EOFError, OSError)):
            # TCP was accepted but no SSH server spoke: a port forward or proxy with nothing
            # behind it (a NAT forward to a guest that moved). Nothing was said about keys or
            # credentials, so this is "cannot get there", and a console may be tried.
            raise t.unreachable("connection accepted but no SSH server answered (closed before "
                                "the SSH banner: a port forward with nothing behind it?)") from None
        if isinstance(e, (paramiko.SSHException, EOFError, OSError)):
            text = str(e).replace(password, "***") if password else str(e)
            raise t.error(f"SSH handshake failed: {text or type(e).__name__}") from None
        raise
    conn.transport = client.get_transport()  # what Fabric's own open() would have kept
