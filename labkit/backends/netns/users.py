"""A netns guest's SSH login as the inventory describes it: sshd's port, root login, a user with sudo.

Stock Ubuntu and RHEL guests refuse root over SSH; an inventory says so with `ssh: {user: labkit,
become: sudo}`, and the netns lab builds that guest: its sshd refuses root (PermitRootLogin no) and
listens on the inventory's port, and the user exists in the VM's own /etc (passwd, group and shadow
in its overlay, so the machine's own files are never touched), with a home (the VM's /home) holding
the lab's key, and a sudoers rule: NOPASSWD, or asking for the password held by the variable that
`become_password_env` names, read at `lab up` and stored only as a SHA-512 crypt hash.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from labkit.backends.netns.stack import run
from labkit.errors import BackendError
from labkit.model import VM, Inventory, Ssh


def vm_ssh(inv: Inventory, vm: VM) -> Ssh:
    """The VM's SSH settings on top of the lab-wide ones (labkit's defaults when neither says anything)."""
    if vm.ssh is None:
        return inv.ssh or Ssh()
    return vm.ssh.over(inv.ssh)


def sshd_config(ssh: Ssh) -> str:
    root = "prohibit-password" if (ssh.user or "root") == "root" else "no"  # as stock Ubuntu and RHEL 9 do
    return (f"Port {ssh.port or 22}\nHostKey /etc/ssh/ssh_host_ed25519_key\nPermitRootLogin {root}\n"
            "PubkeyAuthentication yes\nAuthorizedKeysFile .ssh/authorized_keys\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nUseDNS no\nPrintMotd no\nMaxStartups 100:30:200\n"
            "Subsystem sftp internal-sftp\n")


def _free_id(*tables: Path, start: int = 2000) -> int:
    """An id unused as a uid and as a gid in the machine's own files (the VM's /etc is laid over them)."""
    taken: set[int] = set()
    for table in tables:
        for line in table.read_text().splitlines():
            fields = line.split(":")
            taken |= {int(f) for f in fields[2:4] if f.isdigit()}
    n = start
    while n in taken:
        n += 1
    return n


def _password_hash(vm: str, user: str, env: str) -> str:
    password = os.environ.get(env)
    if password is None:
        raise BackendError(f"{vm}: ${env} (ssh.become_password_env) is not set: the netns lab gives {user} that "
                           "password for sudo")
    # on stdin: never on a command line
    return run("openssl", "passwd", "-6", "-stdin", input=password + "\n").stdout.strip()


def _append(src: Path, dst: Path, line: str) -> None:
    """dst (in the VM's overlay) = the machine's src plus one line, with src's owner, group and mode."""
    st = src.stat()
    dst.write_text(src.read_text().rstrip("\n") + "\n" + line + "\n")
    os.chown(dst, st.st_uid, st.st_gid)
    os.chmod(dst, st.st_mode & 0o7777)


def add_login_user(vm_dir: Path, etc: Path, vm: VM, ssh: Ssh, public_key: Path) -> None:
    """Create ssh.user (not root) in the VM's /etc overlay and /home, with sudo when become asks for it."""
    user = ssh.user
    if user is None or user == "root":
        return
    if any(line.split(":")[0] == user for line in Path("/etc/passwd").read_text().splitlines()):
        raise BackendError(f"{vm.name}: user {user} already exists on this machine, whose /etc the netns guests "
                           "are laid over: choose another ssh.user for the lab")
    uid = _free_id(Path("/etc/passwd"), Path("/etc/group"))
    shell = "/bin/bash" if Path("/bin/bash").exists() else "/bin/sh"
    secret = _password_hash(vm.name, user, ssh.become_password_env) if ssh.become_password_env else "*"
    _append(Path("/etc/passwd"), etc / "passwd", f"{user}:x:{uid}:{uid}:labkit lab user:/home/{user}:{shell}")
    _append(Path("/etc/group"), etc / "group", f"{user}:x:{uid}:")
    _append(Path("/etc/shadow"), etc / "shadow", f"{user}:{secret}:20000:0:99999:7:::")  # '*': no password, not locked
    # sudo resolves the host's name; without it in /etc/hosts every command would warn on stderr
    _append(Path("/etc/hosts"), etc / "hosts", f"127.0.1.1\t{vm.name}")
    home = vm_dir / "home" / user
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    shutil.copy(public_key, home / ".ssh/authorized_keys")
    for path, mode in ((home, 0o755), (home / ".ssh", 0o700), (home / ".ssh/authorized_keys", 0o600)):
        os.chown(path, uid, uid)
        os.chmod(path, mode)
    if ssh.become == "sudo":
        rule = "ALL" if ssh.become_password_env else "NOPASSWD: ALL"
        sudoers = etc / "sudoers.d"
        sudoers.mkdir(exist_ok=True)
        name = sudoers / f"labkit-{user.replace('.', '_')}"  # sudo skips files whose name has a dot
        name.write_text(f"Defaults:{user} lecture=never\n{user} ALL=(ALL:ALL) {rule}\n")
        os.chmod(name, 0o440)
