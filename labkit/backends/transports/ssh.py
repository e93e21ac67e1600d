"""The SSH guest transport: one Fabric Connection per guest, reused for every command and file.

Fabric reads the user's ssh_config (sshconfig.py) and holds the connection: its Paramiko client,
transport and the host's resolved settings. labkit drops to that Paramiko client where Fabric is in
the way: the handshake (sshlogin.py: strict host keys, HostKeyAlias, the netns lab's socket),
jump hosts shared by every guest behind them (bastions.py), commands (Fabric's runner opens its
channel with no timeout, so a guest that moved would hang instead of failing over to a console,
and spends three threads per command, which a matrix of thousands of probes pays) and atomic
writes, which need SFTP's `posix-rename@openssh.com` (sshchannel.py).

A login user that is not root (`become: sudo`) runs every command, read and write through sudo
(sudo.py). Every failure is a TransportError naming the node, user, host and port; UnreachableError
when the guest cannot be got to at all (FallbackTransport then tries the console). Passwords (SSH's
and sudo's) are read from the environment when needed and never stored, logged or echoed.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import posixpath
import secrets
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import paramiko

from labkit.backends.transports import sudo
from labkit.backends.transports.bastions import Bastions
from labkit.backends.transports.sshchannel import collect, put
from labkit.backends.transports.sshconfig import USER_CONFIG, SshConfig, bare_connection
from labkit.backends.transports.sshlogin import Sock, SockFactory, handshake, open_socket
from labkit.backends.transports.sshroute import DEFAULT_LABKIT_KNOWN_HOSTS, Common, Login, Router, VmLogin
from labkit.backends.transports.sshinventory import InventoryLogins, effective_ssh
from labkit.errors import TransportError
from labkit.model import Inventory, Ssh
from labkit.protocols import CommandResult, GuestTransport

log = logging.getLogger(__name__)
T = TypeVar("T")


class SshTransport:
    """The GuestTransport protocol over SSH: lazy connect, one connection, one SFTP session."""

    kind = "ssh"

    def __init__(self, host: str, port: int | None = None, user: str | None = None, *, key_file: str | None = None,
                 password_env: str | None = None, allow_agent: bool = True, known_hosts: str | None = None,
                 trust_on_first_use: bool = False, labkit_known_hosts: str | None = None,
                 connect_timeout: float = 10, command_timeout: float = 120,
                 sock_factory: SockFactory | None = None, name: str | None = None,
                 host_key_alias: str | None = None, address: str | None = None, config_file: str | None = None,
                 user_config: str | None = USER_CONFIG, proxy_jump: str | None = None,
                 bastions: Bastions | None = None, vm_login: VmLogin | None = None,
                 default_key_file: str | None = None, become: str | None = None,
                 become_password_env: str | None = None) -> None:
        """`host` is an address, a host name or an ssh_config alias; user/port left out come from
        ssh_config, then root and 22. `address` connects there instead of ssh_config's HostName (the
        lab knows where the guest is now). `host_key_alias` (OpenSSH's HostKeyAlias) names the host
        in known_hosts instead of its address: a lab VM keeps its key while DHCP or a NAT/bridged
        switch changes the address it is reached at. `bastions`: the run's shared jump host
        connections (a transport alone keeps its own)."""
        self.name = name or host
        self.command_timeout = command_timeout
        if become not in (None, "sudo"):
            raise TransportError(f"{self.name}: become {become!r} is not supported (only sudo)")
        try:
            config = SshConfig(config_file, user_config)
        except OSError as e:
            raise TransportError(f"{self.name}: cannot read the ssh config file {config_file}: "
                                 f"{e.strerror or e}") from None
        common = Common(os.path.expanduser(labkit_known_hosts or DEFAULT_LABKIT_KNOWN_HOSTS), allow_agent,
                        os.path.expanduser(default_key_file) if default_key_file else None, sock_factory,
                        connect_timeout)
        login = Login(host, user, port, key_file, password_env, known_hosts, trust_on_first_use, host_key_alias,
                      address, proxy_jump, connect_timeout)
        self.target, self.route = Router(config, common, vm_login).resolve(self.name, login)
        self.alias = host
        self._bastions = bastions if bastions is not None else Bastions()
        self._own_bastions = bastions is None
        self.handshakes = 0
        self._conn = bare_connection(self.target.host, self.target.user, self.target.port)
        self._connected = False
        self._sftp: paramiko.SFTPClient | None = None
        self._lock = threading.RLock()
        self._sudo = None if become is None else sudo.Sudo(
            self.name, self.target.user, become_password_env, self._exec, self._stage,
            lambda path: self._sftp_session().remove(path), self._error)

    @property
    def host(self) -> str:
        """Where the guest is connected: the lab's address, else ssh_config's HostName, else `host` itself."""
        return self.target.host

    @property
    def port(self) -> int:
        return self.target.port

    @property
    def user(self) -> str:
        return self.target.user

    def __repr__(self) -> str:
        return f"SshTransport({self.name!r}, {self.target.login}{self.target.via})"

    def _error(self, message: str) -> TransportError:
        return self.target.error(message)

    # ---- connection ----
    def _connect(self) -> None:
        """Socket (directly, through ProxyCommand, or a jump host's channel), then the handshake."""
        t = self.target
        sock: Sock
        if self.route:
            try:
                sock = self._bastions.channel(self.route, t.host, t.port, t.connect_timeout)
            except TransportError as e:  # says which jump host; add which guest it was for
                raise type(e)(f"{self.name} ({t.login}{t.via}): {e}") from None
        else:
            sock = open_socket(t)
        handshake(self._conn, t, sock)
        self.handshakes += 1
        log.debug("%s: connected to %s%s (connection %d)", self.name, t.login, t.via, self.handshakes)

    def _transport(self) -> paramiko.Transport:
        """The live connection, made on first use and remade when the previous one has dropped."""
        with self._lock:
            transport = self._conn.client.get_transport() if self._connected else None
            if transport is None or not transport.is_active():
                if self._connected:
                    log.debug("%s: connection dropped, reconnecting", self.name)
                self._drop()
                self._connect()
                self._connected = True
                transport = self._conn.client.get_transport()
            if transport is None:  # handshake() has just connected it: it died in between
                raise paramiko.SSHException("the SSH connection closed")
            return transport

    def _sftp_session(self) -> paramiko.SFTPClient:
        # our own SFTP client on Fabric's Paramiko client: Fabric's sftp() memoises one for the
        # connection's life and cannot replace one whose channel has closed
        self._transport()
        channel = self._sftp.get_channel() if self._sftp is not None else None
        if self._sftp is None or channel is None or channel.closed:
            try:
                self._sftp = self._conn.client.open_sftp()
            except (paramiko.SSHException, OSError, EOFError) as e:
                raise self._error(f"cannot open SFTP session: {e}") from None
        return self._sftp

    def _retrying(self, what: str, op: Callable[[], T]) -> T:
        """Run op; if it fails because the connection died under it, reconnect once and run it again."""
        try:
            return op()
        except (paramiko.SSHException, EOFError, OSError) as e:
            transport = self._conn.client.get_transport() if self._connected else None
            # a path that vanished (the guest moved, an adapter went down) shows as a channel that
            # never opens while TCP still looks alive: that connection is dead too
            stalled = "Timeout opening channel" in str(e)
            if transport is not None and transport.is_active() and not stalled:
                raise  # a real failure of the operation, not a dead connection
            log.debug("%s: connection died during %s, retrying once", self.name, what)
            with self._lock:
                self._drop()
            return op()

    # ---- commands ----
    def _exec(self, command: str, timeout: float | None, shown: str, stdin: bytes | None = None
              ) -> tuple[int, bytes, bytes]:
        """Exec `command` as the login user, `stdin` written then closed; (status, stdout, stderr).
        `shown` is what messages and logs call the command (never a password)."""
        limit = self.command_timeout if timeout is None else timeout
        try:
            chan = self._retrying("exec", lambda: self._transport().open_session(timeout=self.target.connect_timeout))
            chan.exec_command(command)
            if stdin is not None:
                chan.sendall(stdin)
                chan.shutdown_write()
        except (paramiko.SSHException, EOFError, OSError) as e:
            raise self._error(f"cannot start command {shown!r}: {e}") from None
        log.debug("%s: run %s", self.name, shown)
        out, err = collect(chan, limit, lambda: self._error(f"command {shown!r} timed out after {limit:g} s"))
        status = chan.recv_exit_status()
        if status == -1:
            raise self._error(f"connection lost while running {shown!r}")
        return status, out, err

    def run(self, command: str, timeout: float | None = None) -> CommandResult:
        """Run a command line (through sudo with `become`); a non-zero exit is a result."""
        if self._sudo is not None:
            status, out, err = self._sudo.run(command, timeout, command)
        else:
            status, out, err = self._exec(command, timeout, command)
        return CommandResult(status, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))

    # ---- files ----
    def read_file(self, path: str) -> str:
        if self._sudo is not None:
            data = self._sudo.read(path)
        else:
            data = self._read_sftp(path)
        return data.decode("utf-8", "surrogateescape")  # undecodable bytes survive a read/write round trip

    def _read_sftp(self, path: str) -> bytes:
        def op() -> bytes:
            with self._lock, self._sftp_session().open(path, "rb") as f:
                return f.read()
        try:
            return self._retrying("read", op)
        except FileNotFoundError:
            raise FileNotFoundError(errno.ENOENT, f"{self.name}: no such file", path) from None
        except (OSError, paramiko.SSHException, EOFError) as e:
            raise self._error(f"SFTP read of {path} failed: {e}") from None

    def write_file(self, path: str, data: str, mode: int = 0o644) -> None:
        """Replace `path` in one step: a temp file beside it, then a rename over it.

        As root: the temp file is written over SFTP with `mode`, fsynced and posix-renamed. Through
        sudo: staged privately, then moved into place keeping the target's owner, group, mode and
        SELinux context (a new file gets `mode`), see sudo.py.
        """
        payload = data.encode("utf-8", "surrogateescape")
        directory, base = posixpath.split(path)
        if self._sudo is not None:
            self._sudo.write(path, payload, mode)
            return
        tmp = posixpath.join(directory, f".{base}.labkit-{secrets.token_hex(6)}")
        try:
            self._retrying("write", lambda: self._sftp_put(tmp, payload, mode, rename_to=path))
        except FileNotFoundError:
            raise self._error(f"SFTP write of {path} failed: directory {directory or '.'} does not exist") from None
        except (OSError, paramiko.SSHException, EOFError) as e:
            raise self._error(f"SFTP write of {path} failed: {e}") from None

    def _sftp_put(self, tmp: str, payload: bytes, mode: int, rename_to: str | None = None) -> None:
        with self._lock:
            put(self._sftp_session(), tmp, payload, mode, rename_to)

    def _stage(self, path: str, payload: bytes) -> None:
        """Write a private file as the login user (sudo then moves its bytes into place)."""
        try:
            self._retrying("stage", lambda: self._sftp_put(path, payload, 0o600))
        except (OSError, paramiko.SSHException, EOFError) as e:
            raise self._error(f"staging a file over SFTP failed: {e}") from None

    # ---- closing ----
    def _drop(self) -> None:
        """Forget the SFTP session and the connection (not the jump hosts)."""
        sftp, self._sftp, self._connected = self._sftp, None, False
        with contextlib.suppress(Exception):  # closing a dead connection must not raise
            if sftp is not None:
                sftp.close()
        with contextlib.suppress(Exception):  # the client itself: Fabric's close() skips a dead one
            self._conn.client.close()

    def close(self) -> None:
        """Close SFTP and the connection (and jump hosts this transport owns); safe to call any number of times."""
        with self._lock:
            rmdir = self._sudo.forget_stage() if self._sudo is not None else None
            transport = self._conn.client.get_transport() if self._connected else None
            if rmdir and transport is not None and transport.is_active():  # never reconnect for it
                with contextlib.suppress(Exception):
                    self._exec(rmdir, 5, "rmdir stage")
            self._drop()
            if self._own_bastions:
                self._bastions.close()


def from_inventory(vm_name: str, ssh: Ssh, *, inventory: Inventory | None = None,
                   logins: VmLogin | None = None, **overrides: Any) -> SshTransport:
    """Build the transport for one inventory VM from its (merged) `labkit.model.Ssh`; keyword
    overrides win. `address` connects there while the inventory's address (maybe an ssh_config
    alias) still picks the ssh_config entry; VMs named as jump hosts are found in `inventory`."""
    kwargs: dict[str, Any] = dict(
        host=ssh.address, port=ssh.port, user=ssh.user, key_file=ssh.key_file, password_env=ssh.password_env,
        known_hosts=ssh.known_hosts, trust_on_first_use=ssh.trust_on_first_use,
        connect_timeout=ssh.connect_timeout, name=vm_name, config_file=ssh.config_file,
        proxy_jump=ssh.proxy_jump, become=ssh.become, become_password_env=ssh.become_password_env,
        vm_login=logins or (InventoryLogins(inventory) if inventory is not None else None))
    kwargs.update(overrides)
    host = kwargs.pop("host") or kwargs.get("address")
    if not host:
        raise TransportError(f"{vm_name}: the inventory gives no ssh address")
    return SshTransport(host, **kwargs)


def to_vm(inventory: Inventory, node: str, backend: str, address: str | None = None,
          bastions: Bastions | None = None) -> GuestTransport:
    """SSH to an inventory VM for a backend whose guests are reached only that way (vSphere,
    Workstation); `address` overrides the inventory's (safe apply's proof at a new address).
    `bastions`: the lab's jump host connections, shared by its guests (else one set per transport).
    The LAN router too, when `lan.router_ssh` says how to log in to it (at `lan.router` by default):
    these backends build no router, but a real lab's may take SSH, and matrices ping from it."""
    router_ssh = inventory.lan.router_ssh
    if node == "router" and router_ssh is not None:
        at = address or (None if router_ssh.address else str(inventory.lan.router))
        to: dict[str, Any] = {"address": at} if at else {}
        return from_inventory(node, router_ssh, inventory=inventory, bastions=bastions, **to)
    if node not in inventory.vm_names:
        hint = "give lan.router_ssh to ping from it" if node == "router" else "the host and externals are not driven"
        raise TransportError(f"{node}: the {backend} backend reaches only VMs, over SSH (and the LAN router when "
                             f"lan.router_ssh says how); it has no channel to {node!r} ({hint})")
    ssh = effective_ssh(inventory, node)
    if ssh is None:
        raise TransportError(f"{node}: the inventory gives no ssh settings, and {backend} guests are reached "
                             "over SSH")
    if address is not None and address == ssh.address:
        address = None  # the inventory's own address (maybe an ssh_config alias): no override
    extra: dict[str, Any] = {"address": address} if address else {}
    return from_inventory(node, ssh, inventory=inventory, bastions=bastions, **extra)
