"""From what the inventory and ssh_config say to a resolved Target and the jump hosts on the way.

Precedence, as OpenSSH's: what the inventory (or the lab) states wins, then ssh_config, then
labkit's defaults (root, port 22, ~/.ssh/known_hosts). The lab may know better than both where a
guest is right now (`address`: DHCP gave it a new one, safe apply proves a new one): the host is
then connected there, while everything else still comes from its ssh_config entry.

Jump hosts: the inventory's `proxy_jump`, else ssh_config's ProxyJump, as a chain "j1,j2" (j1 is
reached first, j2 through it). A hop naming an inventory VM is reached with that VM's own SSH
settings (its address, user, key, and its own jump host when it is first in the chain); any other
hop is looked up in ssh_config, tries the guest's key after its own IdentityFile, and uses the
guest's known_hosts where its entry names no UserKnownHostsFile (keys are verified all the same).
A VM never jumps through itself, so a lab-wide `proxy_jump` also serves the jump host's own entry. An inventory key_file is tried before
ssh_config's IdentityFiles, not instead of them, as `ssh -i` does.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, replace

from labkit.backends.transports.sshconfig import Hop, SshConfig, parse_jumps
from labkit.backends.transports.sshlogin import SockFactory, Target
from labkit.errors import TransportError, UnreachableError

log = logging.getLogger(__name__)
DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"
DEFAULT_LABKIT_KNOWN_HOSTS = "~/.config/labkit/known_hosts"
MAX_JUMPS = 4


@dataclass(frozen=True)
class Common:
    """What every server of one transport shares: the guest and its jump hosts."""

    labkit_known_hosts: str = os.path.expanduser(DEFAULT_LABKIT_KNOWN_HOSTS)
    allow_agent: bool = True
    default_key_file: str | None = None  # the lab's own key: tried after any other
    sock_factory: SockFactory | None = None
    connect_timeout: float = 10


@dataclass(frozen=True)
class Login:
    """One server as the inventory (or the caller) states it; None: ask ssh_config."""

    alias: str  # the address, host name or ssh_config Host
    user: str | None = None
    port: int | None = None
    key_file: str | None = None
    password_env: str | None = None
    known_hosts: str | None = None
    trust_on_first_use: bool = False
    host_key_alias: str | None = None
    address: str | None = None  # connect here instead of ssh_config's HostName
    proxy_jump: str | None = None  # "j1,j2", "none", or None (ssh_config's ProxyJump)
    connect_timeout: float | None = None


# an inventory VM named as a jump host -> its login (None: not a VM; LookupError: it has no address now)
VmLogin = Callable[[str], Login | None]
Route = tuple[Target, ...]


class Router:
    def __init__(self, config: SshConfig, common: Common, vm_login: VmLogin | None = None) -> None:
        self.config, self.common, self.vm_login = config, common, vm_login

    def resolve(self, name: str, login: Login) -> tuple[Target, Route]:
        """The target and its jump hosts (first reached first); TransportError naming `name` when
        ssh_config or the jump hosts do not add up."""
        try:
            target, jumps = self._target(name, login)
            route = self._route(jumps, {name}, target, 0)
        except ValueError as e:
            raise TransportError(f"{name}: {e}") from None
        except LookupError as e:  # a jump host with no address now: another way in may do
            raise UnreachableError(f"{name}: {e}") from None
        if route:
            target = replace(target, via=" via " + " -> ".join(t.login for t in route))
        return target, route

    def _target(self, name: str, login: Login, guest: Target | None = None) -> tuple[Target, tuple[Hop, ...]]:
        """`guest`: for a jump host that is not an inventory VM, the guest whose key and known_hosts it
        falls back on when its own ssh_config entry names none."""
        r = self.config.resolve(login.alias, login.user, login.port)
        # never weaker than the inventory: ssh_config can turn trust on first use off ("yes"), never on
        tofu = login.trust_on_first_use and r.strict not in ("yes", "true")
        if r.strict in ("no", "off", "false", "accept-new") and not tofu:
            log.info("%s: ssh_config says StrictHostKeyChecking %s; labkit verifies host keys all the same "
                     "(trust_on_first_use in the inventory records unknown ones)", name, r.strict)
        jumps = parse_jumps(login.proxy_jump) if login.proxy_jump is not None else (r.jumps or ())
        target = Target(
            name=name, host=login.address or r.host, port=r.port, user=r.user,
            host_key_alias=login.host_key_alias or r.host_key_alias,
            key_file=os.path.expanduser(login.key_file) if login.key_file else None,
            identity_files=r.identity_files,
            default_key_file=(guest.key_file or guest.default_key_file) if guest else self.common.default_key_file,
            password_env=login.password_env, allow_agent=self.common.allow_agent,
            known_hosts=((os.path.expanduser(login.known_hosts),) if login.known_hosts
                         else r.known_hosts or (guest.known_hosts if guest
                                                else (os.path.expanduser(DEFAULT_KNOWN_HOSTS),))),
            labkit_known_hosts=self.common.labkit_known_hosts, trust_on_first_use=tofu,
            connect_timeout=login.connect_timeout or self.common.connect_timeout,
            # a jump host stated in the inventory overrides ssh_config's ProxyCommand, as ssh -J does
            proxy_command=None if jumps or login.proxy_jump is not None else r.proxy_command,
            sock_factory=self.common.sock_factory)
        return target, jumps

    def _route(self, hops: tuple[Hop, ...], seen: set[str], guest: Target, depth: int) -> Route:
        """The jump hosts for `hops`: the last one's upstream is the others, or (alone) its own."""
        for i, hop in enumerate(hops):
            if hop.host in seen:  # a VM never jumps through itself (a lab-wide proxy_jump names it too)
                hops = hops[:i]
                break
        if not hops:
            return ()
        if depth + len(hops) > MAX_JUMPS:
            raise ValueError(f"more than {MAX_JUMPS} jump hosts, or jump hosts that lead to each other "
                             f"({', '.join(str(h) for h in hops)})")
        *before, last = hops
        target, own = self._hop(last, guest)
        if before:
            upstream = self._route(tuple(before), seen | {last.host}, guest, depth + 1)
        else:
            upstream = self._route(own, seen | {last.host}, guest, depth + 1)
        if upstream:
            target = replace(target, via=" via " + " -> ".join(t.login for t in upstream))
        return (*upstream, target)

    def _hop(self, hop: Hop, guest: Target) -> tuple[Target, tuple[Hop, ...]]:
        vm = self.vm_login(hop.host) if self.vm_login is not None else None
        if vm is not None:  # an inventory VM: its own settings, the hop's user@ and :port winning
            return self._target(f"jump host {hop.host}", replace(vm, user=hop.user or vm.user,
                                                                 port=hop.port or vm.port))
        return self._target(f"jump host {hop.host}", Login(alias=hop.host, user=hop.user, port=hop.port), guest)
