"""The inventory's SSH settings as transports need them: merged with the lab-wide defaults, VMs
named as jump hosts, and each VM's SSH address resolved to an IPv4 address once per run.

`ssh.address` may be an address, a host name or an ssh_config alias; the model and reports want
an address, so `SshAddresses` resolves a name (through ssh_config's HostName, then the system
resolver) once per run. A guest behind a jump host keeps its name: only the jump host can resolve it.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import replace
from ipaddress import IPv4Address, ip_address

from labkit.backends.transports.sshconfig import USER_CONFIG, SshConfig
from labkit.backends.transports.sshroute import Login
from labkit.model import Inventory, Ssh

log = logging.getLogger(__name__)


def effective_ssh(inventory: Inventory, vm_name: str) -> Ssh | None:
    """The VM's own `ssh` on top of the inventory's top-level `ssh` (None: neither says anything)."""
    vm = inventory.vm(vm_name)
    if vm.ssh is None:
        return inventory.ssh
    return vm.ssh.over(inventory.ssh)


def login_of(ssh: Ssh, alias: str) -> Login:
    return Login(alias=alias, user=ssh.user, port=ssh.port, key_file=ssh.key_file, password_env=ssh.password_env,
                 known_hosts=ssh.known_hosts, trust_on_first_use=ssh.trust_on_first_use,
                 proxy_jump=ssh.proxy_jump, connect_timeout=ssh.connect_timeout)


class InventoryLogins:
    """How to log in to an inventory VM named as a jump host, with what the lab knows better.

    locate: the VM's current address (the netns lab reads it from the VM's namespace); keys_by_name:
    host keys are pinned under VM names (the netns lab's known_hosts), with known_hosts that file.
    """

    def __init__(self, inventory: Inventory, locate: Callable[[str], str | None] | None = None,
                 known_hosts: str | None = None, keys_by_name: bool = False) -> None:
        self.inventory, self.locate = inventory, locate
        self.known_hosts, self.keys_by_name = known_hosts, keys_by_name

    def __call__(self, name: str) -> Login | None:
        if name not in self.inventory.vm_names:
            return None
        ssh = effective_ssh(self.inventory, name) or Ssh()
        address = self.locate(name) if self.locate is not None else None
        alias = ssh.address or address
        if alias is None:  # powered off, or no address yet: cannot get there now
            raise LookupError(f"jump host {name} has no address now (no ssh.address, and none reported)")
        login = login_of(ssh, alias)
        return replace(login, address=address, known_hosts=self.known_hosts or login.known_hosts,
                       host_key_alias=name if self.keys_by_name else None)


class SshAddresses:
    """Each VM's SSH address as an IPv4 address where one can be known here, resolved once per run."""

    def __init__(self, inventory: Inventory, user_config: str | None = USER_CONFIG) -> None:
        self.inventory, self.user_config = inventory, user_config
        self._found: dict[str, str | None] = {}

    def of(self, vm_name: str) -> str | None:
        """An IPv4 address; the name itself when only a jump host can resolve it (or nothing can
        here); None when the inventory gives no ssh address."""
        if vm_name not in self._found:
            self._found[vm_name] = self._resolve(vm_name)
        return self._found[vm_name]

    def _resolve(self, vm_name: str) -> str | None:
        ssh = effective_ssh(self.inventory, vm_name)
        if ssh is None or ssh.address is None:
            return None
        if _ipv4(ssh.address):
            return ssh.address
        try:
            r = SshConfig(ssh.config_file, self.user_config).resolve(ssh.address, ssh.user, ssh.port)
        except (OSError, ValueError) as e:
            log.warning("%s: cannot read ssh_config for %s: %s", vm_name, ssh.address, e)
            return ssh.address
        if _ipv4(r.host):
            return r.host
        if ssh.proxy_jump not in (None, "none") or r.jumps or r.proxy_command:
            return ssh.address  # the jump host resolves it, not us
        try:
            infos = socket.getaddrinfo(r.host, None, socket.AF_INET, socket.SOCK_STREAM)
        except OSError as e:
            log.warning("%s: cannot resolve %s (%s): %s", vm_name, ssh.address, r.host, e)
            return ssh.address
        found = str(infos[0][4][0])
        log.info("%s: ssh address %s is %s", vm_name, ssh.address, found)
        return found


def _ipv4(text: str) -> bool:
    try:
        return isinstance(ip_address(text), IPv4Address)
    except ValueError:
        return False
