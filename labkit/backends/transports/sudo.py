"""Root's work through sudo, for guests that do not let root log in (stock Ubuntu, RHEL with root login off).

Every command runs as `sudo -n -- sh -c CMD` (NOPASSWD), or as `sudo -S -k -p '' -- sh -c CMD` with
the password written to sudo's stdin: never on a command line (other users see those in ps), never
in a log. `-k` makes sudo ask every time, so the password line is always consumed by sudo itself;
the command's own stdin is /dev/null, so it could not read the line even under a NOPASSWD rule.

Files are read with `cat` through sudo. A write is staged: the bytes go over SFTP, as the login
user, into a file in a private directory (mktemp -d: mode 0700, in /tmp), then STAGE_SCRIPT, run
through sudo, copies them into a temporary file beside the target, gives it the target's owner,
group and mode (chown/chmod --reference; a new file: root's, with the requested mode) and, where
SELinux is enabled, its context (chcon --reference; restorecon for a new file), syncs it and
renames it over the target: readers see the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import secrets
import shlex
import threading
from collections.abc import Callable

from labkit.errors import TransportError

# (command line, timeout, what logs call it, stdin) -> (status, stdout, stderr)
Exec = Callable[[str, float | None, str, bytes | None], tuple[int, bytes, bytes]]

PASSWORD_FLAGS = "-S -k -p ''"
NOPASSWD_FLAGS = "-n"
MISSING = 66  # read_script's status for a file that does not exist
NO_DIRECTORY = 67  # STAGE_SCRIPT's status when the target's directory does not exist
IS_DIRECTORY = 68  # ... when the target is a directory

STAGE_SCRIPT = r"""set -eu
src=$1 dst=$2 mode=$3
dir=$(dirname -- "$dst") base=$(basename -- "$dst")
[ -d "$dir" ] || { echo "directory $dir does not exist" >&2; exit 67; }
[ ! -d "$dst" ] || { echo "$dst is a directory" >&2; exit 68; }
selinux() { command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled; }
tmp=$(mktemp "$dir/.$base.labkit-XXXXXX")
trap 'rm -f -- "$tmp"' EXIT
cat -- "$src" > "$tmp"
if [ -e "$dst" ]; then
  chown --reference="$dst" -- "$tmp" 2>/dev/null || chown "$(stat -c %u:%g -- "$dst")" -- "$tmp"
  chmod --reference="$dst" -- "$tmp" 2>/dev/null || chmod "$(stat -c %a -- "$dst")" -- "$tmp"
  if selinux && command -v chcon >/dev/null 2>&1; then chcon --reference="$dst" -- "$tmp"; fi
  new=0
else
  chmod "$mode" -- "$tmp"
  new=1
fi
sync "$tmp" 2>/dev/null || true
mv -f -- "$tmp" "$dst"
trap - EXIT
if [ "$new" = 1 ] && selinux && command -v restorecon >/dev/null 2>&1; then restorecon -- "$dst" || true; fi
rm -f -- "$src"
"""

READ_SCRIPT = f'[ -e "$1" ] || exit {MISSING}; exec cat -- "$1"'


def wrap(command: str, with_password: bool) -> str:
    """The command line that runs `command` as root through sudo (its stdin is /dev/null)."""
    flags = PASSWORD_FLAGS if with_password else NOPASSWD_FLAGS
    return f"sudo {flags} -- sh -c {shlex.quote('exec </dev/null; ' + command)}"


def script(body: str, *args: str) -> str:
    """A fixed script with its arguments as a command line: paths travel as arguments, quoted once."""
    return " ".join(["sh", "-c", shlex.quote(body), "sh", *(shlex.quote(a) for a in args)])


def check_command(with_password: bool) -> str:
    """Asks sudo for nothing but permission: run once per connection before the first command."""
    return f"sudo {PASSWORD_FLAGS if with_password else NOPASSWD_FLAGS} -- true"


def refusal(user: str, stderr: str, password_env: str | None) -> str:
    """Why sudo said no, in words that say what to change."""
    text = " ".join(stderr.split())
    low = text.lower()
    if "password is required" in low or ("no password was provided" in low and not password_env):
        return (f"sudo asks {user} for a password and the inventory gives none: set ssh.become_password_env "
                f"to the name of a variable holding it, or give {user} NOPASSWD in sudoers")
    if "incorrect password" in low or "sorry, try again" in low or "no password was provided" in low:
        return f"sudo refused the password from ${password_env} for {user}"
    if "not in the sudoers" in low or "may not run sudo" in low or "not allowed to execute" in low:
        return f"sudo refuses {user}: not allowed to run commands as root ({text})"
    if "not found" in low and "sudo" in low:
        return "sudo is not installed on the guest (become: sudo needs it)"
    if "terminal is required" in low or "no tty present" in low:
        return f"sudo insists on a terminal for {user} (requiretty in sudoers): labkit runs without one ({text})"
    return f"sudo failed for {user}: {text or 'no message'}"


class Sudo:
    """Root's work through sudo for one SSH transport, on its primitives: `exec_` runs a command line
    as the login user, `put` writes a file over SFTP as that user (mode 0600), `remove` deletes one;
    `fail` makes the transport's error (naming the VM, user, host and port)."""

    def __init__(self, name: str, user: str, password_env: str | None, exec_: Exec,
                 put: Callable[[str, bytes], None], remove: Callable[[str], None],
                 fail: Callable[[str], TransportError]) -> None:
        self.name, self.user, self.password_env = name, user, password_env
        self._exec, self._put, self._remove, self._fail = exec_, put, remove, fail
        self._checked = False
        self._stage: str | None = None  # the login user's private directory writes are staged in
        self._lock = threading.Lock()

    def _password(self) -> bytes | None:
        if not self.password_env:
            return None
        password = os.environ.get(self.password_env)  # read when needed, never kept
        if password is None:
            raise self._fail(f"sudo password variable ${self.password_env} is not set in the environment")
        return (password + "\n").encode()

    def run(self, command: str, timeout: float | None, shown: str) -> tuple[int, bytes, bytes]:
        """`command` as root; sudo is asked once first, so its refusal is an error, not a result."""
        feed = self._password()
        if not self._checked:
            status, _, err = self._exec(check_command(feed is not None), timeout, "sudo -- true", feed)
            if status != 0:
                raise self._fail(refusal(self.user, err.decode("utf-8", "replace"), self.password_env))
            self._checked = True
        return self._exec(wrap(command, feed is not None), timeout, shown, feed)

    def read(self, path: str) -> bytes:
        status, out, err = self.run(script(READ_SCRIPT, path), None, f"cat {path}")
        if status == MISSING:
            raise FileNotFoundError(errno.ENOENT, f"{self.name}: no such file", path)
        if status != 0:
            raise self._fail(f"reading {path} through sudo failed: {err.decode('utf-8', 'replace').strip()}")
        return out

    def write(self, path: str, payload: bytes, mode: int) -> None:
        staged = posixpath.join(self._stage_dir(), secrets.token_hex(8))
        self._put(staged, payload)
        try:
            status, _, err = self.run(script(STAGE_SCRIPT, staged, path, f"{mode:o}"), None, f"install {path}")
        finally:
            with contextlib.suppress(Exception):  # the script removes it when all went well
                self._remove(staged)
        if status == NO_DIRECTORY:
            raise self._fail(f"writing {path} failed: directory {posixpath.dirname(path) or '.'} does not exist")
        if status != 0:
            raise self._fail(f"writing {path} through sudo failed: {err.decode('utf-8', 'replace').strip()}")

    def _stage_dir(self) -> str:
        """mktemp -d as the login user (mode 0700), made once per transport."""
        with self._lock:
            if self._stage is None:
                status, out, err = self._exec('mktemp -d "${TMPDIR:-/tmp}/labkit-stage.XXXXXX"', None, "mktemp -d",
                                              None)
                if status != 0 or not out.strip():
                    raise self._fail(f"cannot make a private staging directory: {err.decode('utf-8', 'replace')}")
                self._stage = out.decode().strip()
            return self._stage

    def forget_stage(self) -> str | None:
        """The command that removes the (empty) staging directory, once; None when there is none."""
        with self._lock:
            stage, self._stage = self._stage, None
        return f"rmdir {shlex.quote(stage)}" if stage else None
