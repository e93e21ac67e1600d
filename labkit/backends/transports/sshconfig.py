"""What ssh_config says about a host, read through Fabric, as OpenSSH would read it.

labkit honours the user's ~/.ssh/config (and /etc/ssh/ssh_config), or the inventory's
`ssh.config_file` read instead of them (as `ssh -F FILE` does): HostName, User, Port, IdentityFile,
ProxyJump, ProxyCommand, UserKnownHostsFile and HostKeyAlias. Fabric's `Config` loads the files and
its `Connection` resolves a host through them; labkit reads the result and builds its own
connection from it (see ssh.py for why it connects below Fabric).

What the inventory says explicitly wins over the file, as ssh's command line does. Host-key checking
is never weakened by a file: `StrictHostKeyChecking no` or `accept-new` does not turn on trust on
first use (only the inventory's `trust_on_first_use` does), because an ssh_config written for
interactive use must not silently change what a lab run accepts; `yes` turns trust on first use off.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import fabric  # type: ignore[import-untyped]  # Fabric ships no type information

HOP = re.compile(r"^(?:(?P<user>[a-z_][a-z0-9_.-]{0,31})@)?(?P<host>[A-Za-z0-9_][A-Za-z0-9_.-]{0,252})"
                 r"(?::(?P<port>[0-9]{1,5}))?$")
SYSTEM_CONFIG = "/etc/ssh/ssh_config"
USER_CONFIG = "~/.ssh/config"


@dataclass(frozen=True)
class Hop:
    """One jump host as ProxyJump writes it: [user@]host[:port]."""

    host: str
    user: str | None = None
    port: int | None = None

    def __str__(self) -> str:
        return f"{self.user + '@' if self.user else ''}{self.host}{f':{self.port}' if self.port else ''}"


def parse_jumps(spec: str) -> tuple[Hop, ...]:
    """"j1,u@j2:2222" -> hops, nearest to labkit first; "none" -> no jump host. ValueError when malformed."""
    if spec.strip().lower() == "none":
        return ()
    hops = []
    for part in spec.split(","):
        m = HOP.match(part.strip())
        if m is None or (m["port"] and not 1 <= int(m["port"]) <= 65535):
            raise ValueError(f"bad jump host {part.strip()!r} (write [user@]host[:port])")
        hops.append(Hop(m["host"], m["user"], int(m["port"]) if m["port"] else None))
    return tuple(hops)


@dataclass(frozen=True)
class Resolved:
    """One host as ssh_config resolves it (None/empty: the file says nothing)."""

    alias: str  # what was looked up
    host: str  # HostName, else the alias
    port: int
    user: str
    identity_files: tuple[str, ...]
    known_hosts: tuple[str, ...]  # UserKnownHostsFile
    host_key_alias: str | None
    strict: str | None  # StrictHostKeyChecking as written
    jumps: tuple[Hop, ...] | None  # ProxyJump (None: not set; (): "none")
    proxy_command: str | None


class SshConfig:
    """The ssh_config files of one transport, loaded once and looked up per host through Fabric."""

    def __init__(self, config_file: str | None = None, user_config: str | None = USER_CONFIG,
                 system_config: str | None = SYSTEM_CONFIG) -> None:
        """config_file: read instead of the user's and the system's files (FileNotFoundError when absent)."""
        self.config_file = os.path.expanduser(config_file) if config_file else None
        # lazy: Fabric would otherwise also read /etc/fabric.yaml and ~/.fabric.yaml, which labkit does not use
        self.fabric = fabric.Config(lazy=True, runtime_ssh_path=self.config_file,
                                    user_ssh_path=user_config or os.devnull,
                                    system_ssh_path=system_config or os.devnull,
                                    overrides={"user": "root", "port": 22})
        self.fabric.load_ssh_config()

    def connection(self, alias: str, user: str | None = None, port: int | None = None) -> fabric.Connection:
        """A Fabric Connection for `alias` (not opened); explicit user/port win over the file.

        gateway=False: labkit opens jump hosts itself, shared between guests (Fabric would make a
        new gateway connection per Connection). connect_kwargs is a fresh dict on purpose: given none,
        Fabric writes the host's IdentityFiles into the Config's own dict, shared by every later host.
        """
        return fabric.Connection(alias, user=user, port=port, config=self.fabric, gateway=False,
                                 connect_kwargs={"look_for_keys": False})

    def resolve(self, alias: str, user: str | None = None, port: int | None = None) -> Resolved:
        return resolved(self.connection(alias, user, port), alias)


def resolved(conn: fabric.Connection, alias: str) -> Resolved:
    """What a Fabric Connection made of its host's ssh_config entry."""
    cfg = conn.ssh_config
    files = cfg.get("identityfile", [])
    known = cfg.get("userknownhostsfile")
    jump = cfg.get("proxyjump")
    return Resolved(
        alias=alias, host=conn.host, port=int(conn.port), user=conn.user,
        identity_files=tuple(os.path.expanduser(f) for f in ([files] if isinstance(files, str) else files)),
        known_hosts=tuple(os.path.expanduser(p) for p in known.split()) if known else (),
        host_key_alias=cfg.get("hostkeyalias"), strict=(cfg.get("stricthostkeychecking") or "").lower() or None,
        jumps=parse_jumps(jump) if jump else None, proxy_command=cfg.get("proxycommand"))


def bare_connection(host: str, user: str, port: int) -> fabric.Connection:
    """A Fabric Connection for settings already resolved: no ssh_config file is read again."""
    config = fabric.Config(lazy=True, user_ssh_path=os.devnull, system_ssh_path=os.devnull)
    return fabric.Connection(host, user=user, port=port, config=config, gateway=False,
                             connect_kwargs={"look_for_keys": False})
