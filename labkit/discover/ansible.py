"""Discover VMs and how to log in to them from an Ansible inventory (INI or YAML).

Each host becomes a VM whose `ssh` says what Ansible uses to reach it: `ansible_host` (else the
host's name) as the address, `ansible_user`, `ansible_port`, `ansible_ssh_private_key_file`,
`ansible_become` with sudo, and a jump host from `-J`/`ProxyJump` in `ansible_ssh_common_args`
(the older `ansible_ssh_host/_user/_port` names too). Its groups are kept as a comment. A host
Ansible reaches through a POSIX shell over SSH is Linux to labkit; `ansible_shell_type`
powershell/cmd or a WinRM connection make it Windows. The control machine itself
(`ansible_connection=local`) is no VM and is left out.

Passwords (`ansible_password`, `ansible_become_password`...) are never carried over, nor shown:
labkit reads secrets only from environment variables, so the user is told to name one. Templated
values (`{{ ... }}`) cannot be evaluated without Ansible and are left out, said so. Ansible knows
nothing of hypervisors or networks: the backend and the hosts' network are placeholders.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from labkit.discover.ansible_inventory import AnsibleInventory, read
from labkit.discover.found import Found, FoundNet, FoundNic, FoundVm

_SSH_KEYS = (("address", ("ansible_host", "ansible_ssh_host")), ("user", ("ansible_user", "ansible_ssh_user")),
             ("port", ("ansible_port", "ansible_ssh_port")),
             ("key_file", ("ansible_ssh_private_key_file", "ansible_private_key_file")))
_SECRETS = ("ansible_password", "ansible_ssh_pass", "ansible_ssh_password", "ansible_become_password",
            "ansible_become_pass", "ansible_sudo_pass", "ansible_sudo_password")
_JUMP = re.compile(r"(?:-J\s*|ProxyJump[= ]\s*)([^\s'\"]+)")
NETWORK = "lan"


def discover(path: Path) -> Found:
    inv = read(path)
    found = Found(source=f"the Ansible inventory {path}", command="labkit discover ansible",
                  system="the Ansible inventory", backend={}, backend_type_known=False)
    found.networks.append(FoundNet(key=NETWORK, name=NETWORK, type=None, notes=[
        "the network the hosts are on: Ansible does not say; add a network per segment and move the adapters"]))
    found.notes.append("Each VM is looked up in the hypervisor by its name: add backend_name (or path) where the "
                       "hypervisor calls it otherwise.")
    skipped = []
    for host in inv.hosts:
        variables = inv.vars_of(host)
        if str(variables.get("ansible_connection", "")).lower() == "local":
            skipped.append(host)
            continue
        found.vms.append(_vm(inv, host, variables, found.warnings))
    if skipped:
        found.notes.append(f"Left out (ansible_connection local, the control machine): {', '.join(skipped)}.")
    return found


def _vm(inv: AnsibleInventory, host: str, variables: dict[str, Any], warnings: list[str]) -> FoundVm:
    vm = FoundVm(name=host)
    groups = [g for g in inv.groups_of(host) if g not in ("all", "ungrouped")]
    if groups:
        vm.notes.append(f"groups: {', '.join(groups)}")
    where = f"{inv.path}:{inv.lines[host]}" if host in inv.lines else inv.path
    connection = str(variables.get("ansible_connection", "ssh")).lower()
    shell = str(variables.get("ansible_shell_type", "")).lower()
    if connection in ("winrm", "psrp"):
        vm.os, vm.os_note = "windows", f"Ansible: ansible_connection {connection}"
    elif shell in ("powershell", "cmd"):
        vm.os, vm.os_note = "windows", f"Ansible: ansible_shell_type {shell}"
    elif connection in ("ssh", "paramiko", "smart", "ansible.builtin.ssh", "ansible.builtin.paramiko_ssh"):
        vm.os, vm.os_note = "linux", "Ansible reaches it with a POSIX shell over SSH"
    else:
        vm.notes.append(f"Ansible reaches it with ansible_connection {connection}")
    for name in _SECRETS:
        if name in variables:
            warnings.append(f"{host} ({where}): {name} is not carried over; labkit takes passwords only from an "
                            "environment variable (ssh.password_env, ssh.become_password_env)")
    if connection in ("winrm", "psrp"):
        vm.notes.append("Ansible uses WinRM here, which labkit does not: give it ssh (OpenSSH) or a guest_login")
    else:
        vm.ssh = _ssh(host, variables, where, warnings)
    vm.nics.append(FoundNic(network=NETWORK))
    return vm


def _ssh(host: str, variables: dict[str, Any], where: str, warnings: list[str]) -> dict[str, Any]:
    ssh: dict[str, Any] = {}
    for key, names in _SSH_KEYS:
        name = next((n for n in names if n in variables), None)
        value = variables.get(name) if name else (host if key == "address" else None)
        if value is None:
            continue
        if isinstance(value, str) and "{{" in value:
            warnings.append(f"{host} ({where}): {name} is a template ({value[:40]!r}), which only Ansible can "
                            "evaluate: not written")
            continue
        if key == "port" and isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        ssh[key] = value
    if _truthy(variables.get("ansible_become")):
        method = str(variables.get("ansible_become_method", "sudo")).lower()
        if method == "sudo":
            ssh["become"] = "sudo"
        else:
            warnings.append(f"{host} ({where}): ansible_become_method {method} is not written (labkit becomes "
                            "root with sudo only)")
    args = " ".join(str(variables.get(k, "")) for k in ("ansible_ssh_common_args", "ansible_ssh_extra_args"))
    jump = _JUMP.search(args)
    if jump:
        ssh["proxy_jump"] = jump.group(1)
    return ssh


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("yes", "true", "1", "on", "y")
