"""The Workstation console: a guest transport over vmrun's guest operations, no guest networking.

Workstation's out-of-band way into a guest is VMware Tools, as on vSphere, and on the host it is
reached through vmrun (vmrun.py). It needs the VM powered on with Tools running, and a guest
account (the VM's guest_login; the password from the variable it names), but no guest network: it
is what restarts a guest's network, configures a Windows guest without SSH (netsh) and carries its
pings, and what labkit falls back to when SSH cannot reach a guest.

vmrun has no channel for a program's output, only files, so a command is run by the guest's shell
writing stdout and stderr to two files in a private guest folder, which copyFileFromGuestToHost
brings back into a host temp folder (removed at once):
- Linux: Tools starts `program arguments` through /bin/sh, so the arguments are one string quoted
  for sh: `/bin/sh -c SCRIPT sh COMMAND`, where SCRIPT redirects and runs `/bin/sh -c "$1"`
  (under GNU `timeout` when the guest has it, so a command past its time is stopped in the guest).
- Windows: `C:\\Windows\\System32\\cmd.exe /s /c "(COMMAND) <NUL >OUT 2>ERR"`; the output is decoded
  as UTF-8, else as an OEM code page (cp850: its letters are cp437's where German and English
  Windows print them), and CRLF becomes LF. A command past its time stops vmrun on the host, not
  the program in the guest.
The exit status is the guest program's (vmrun.Vmrun.run_program). Each vmrun call starts a host
process and logs into the guest, so a command costs three (run, and one copy per output); the
output files of a command are removed by the next command's own shell, and the folder on close.

Writes copy a temp file beside the target, then rename it in the guest (Linux: `chmod MODE` and
`mv -f`; Windows: `move /y`): readers see the old file or the new one, never half. A refused guest
login is remembered, so the account is not locked by repeated tries.
"""

from __future__ import annotations

import errno
import itertools
import ntpath
import os
import posixpath
import secrets
import shlex
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from labkit.backends.workstation.vmrun import GuestCredentials, Vmrun, VmrunFailed
from labkit.backends.consoles import guest_password
from labkit.errors import TransportError
from labkit.model import GuestLogin
from labkit.protocols import CommandResult

WINDOWS_SHELL = r"C:\Windows\System32\cmd.exe"
GUEST_TEMP = {"linux": "/tmp", "windows": r"C:\Windows\Temp"}
OEM_FALLBACK = "cp850"
VMRUN_MARGIN = 60.0  # seconds vmrun may need beyond the program itself (a host process, the guest login)
TIMEOUT_STATUS = (124, 137)  # GNU timeout's status for a program it stopped (137: it had to kill it)
_REFUSED_LOGIN = "Invalid user name or password"
_POWERED_OFF = "not powered on"


def decode_windows(raw: bytes, crlf: bool = True) -> str:
    """A Windows program's bytes as text: UTF-8 (a BOM dropped) when they are that, else the OEM
    code page, never failing; CRLF as LF unless `crlf` is False."""
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        text = raw.decode(OEM_FALLBACK, "replace")
    return text.replace("\r\n", "\n") if crlf else text


class VmrunConsole:
    """Run commands and move files in one Workstation VM through vmrun (one per VM for the run)."""

    kind = "vmrun"

    def __init__(self, name: str, vmrun: Vmrun, vmx: str, login: GuestLogin, os_family: str = "linux",
                 command_timeout: float = 120, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.command_timeout = command_timeout
        self._vmrun, self._vmx, self._login = vmrun, vmx, login
        self._creds = GuestCredentials(login.user, guest_password(name, login, "vmrun console"))
        self._windows = os_family == "windows"
        self._path = ntpath if self._windows else posixpath
        self._clock = clock
        self._dir: str | None = None
        self._fresh = False  # the folder was just made: the next Linux command makes it private
        self._done: list[str] = []  # output files already read back: the next command's shell removes them
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self._making = threading.Lock()  # held while the guest folder is made: one folder per console
        self._refused: TransportError | None = None
        self._host_tmp = tempfile.mkdtemp(prefix="labkit-vmrun-")

    def __repr__(self) -> str:
        return f"VmrunConsole({self.name!r}, user={self._login.user!r})"

    # ---- plumbing ----

    def _failure(self, exc: VmrunFailed, what: str) -> TransportError:
        """vmrun's refusal as an error naming the VM (and never the password)."""
        if _REFUSED_LOGIN in exc.reason:
            self._refused = TransportError(f"{self.name}: guest login refused for user {self._login.user} "
                                           f"(check the password in ${self._login.password_env})")
            return self._refused
        if _POWERED_OFF in exc.reason:
            return TransportError(f"{self.name} is powered off: no vmrun console (vmrun: {exc.reason})")
        return TransportError(f"{self.name}: {what}: {exc.reason} (vmrun {exc.verb})")

    def _guest_problem(self, exc: VmrunFailed) -> bool:
        """A refusal that is about the VM or the account, not about the file asked for."""
        return _REFUSED_LOGIN in exc.reason or _POWERED_OFF in exc.reason or exc.timed_out

    def _call(self, what: str, verb: str, *params: str) -> None:
        if self._refused is not None:
            raise self._refused
        try:
            self._vmrun.call(verb, self._vmx, *params, login=self._creds)
        except VmrunFailed as exc:
            raise self._failure(exc, what) from None

    def _workdir(self) -> str:
        """The console's guest folder for output files, made on first use (one vmrun call)."""
        with self._making:
            if self._dir is None:
                folder = self._path.join(GUEST_TEMP["windows" if self._windows else "linux"],
                                         f"labkit-{secrets.token_hex(6)}")
                self._call("creating a temp folder", "createDirectoryInGuest", folder)
                with self._lock:
                    self._dir, self._fresh = folder, True
            return self._dir

    def _host_file(self) -> str:
        return os.path.join(self._host_tmp, f"{next(self._seq)}.bin")

    def _fetch(self, guest_path: str) -> bytes:
        host = self._host_file()
        try:
            self._call(f"reading {guest_path}", "copyFileFromGuestToHost", guest_path, host)
            return Path(host).read_bytes()
        finally:
            Path(host).unlink(missing_ok=True)

    def _decode(self, raw: bytes) -> str:
        return decode_windows(raw) if self._windows else raw.decode("utf-8", "replace")

    def _wrap(self, command: str, out: str, err: str, stale: list[str], limit: float,
              folder: str | None) -> tuple[str, str]:
        """(program, arguments) that run `command` with its outputs in `out` and `err`."""
        if self._windows:
            remove = f"del /f /q {' '.join(_cmd_quoted(p) for p in stale)} >NUL 2>&1 & " if stale else ""
            line = f"{remove}({command}) <NUL >{_cmd_quoted(out)} 2>{_cmd_quoted(err)}"
            return WINDOWS_SHELL, f'/s /c "{line}"'
        q = shlex.quote
        private = f"chmod 700 -- {q(folder)}; " if folder else ""
        remove = f"rm -f -- {' '.join(q(p) for p in stale)}; " if stale else ""
        script = (f"{private}{remove}exec </dev/null >{q(out)} 2>{q(err)}; "
                  f"if timeout --version >/dev/null 2>&1; then exec timeout -k 5 {limit:g} /bin/sh -c \"$1\"; fi; "
                  "exec /bin/sh -c \"$1\"")
        return "/bin/sh", f"-c {q(script)} sh {q(command)}"

    def _execute(self, command: str, limit: float) -> tuple[int, str, str]:
        """Run `command` in the guest: (exit status, its stdout file, its stderr file)."""
        if self._refused is not None:
            raise self._refused
        directory = self._workdir()
        n = next(self._seq)
        out, err = self._path.join(directory, f"{n}.out"), self._path.join(directory, f"{n}.err")
        with self._lock:
            stale, self._done = self._done, []
            fresh, self._fresh = self._fresh, False
        program, arguments = self._wrap(command, out, err, stale, limit, directory if fresh else None)
        started = self._clock()
        try:
            status = self._vmrun.run_program(self._vmx, program, arguments, self._creds,
                                             timeout=limit + VMRUN_MARGIN)
        except VmrunFailed as exc:
            with self._lock:
                self._done.extend(stale)  # not removed this time: the next command tries again
            if exc.timed_out:
                raise TransportError(f"{self.name}: command timed out after {limit:g} s (vmrun console; vmrun "
                                     "was stopped on the host)") from None
            raise self._failure(exc, f"running {program}") from None
        if not self._windows and status in TIMEOUT_STATUS and self._clock() - started >= limit:
            self._finished(out, err)
            raise TransportError(f"{self.name}: command timed out after {limit:g} s (vmrun console)")
        return status, out, err

    def _finished(self, *paths: str) -> None:
        with self._lock:
            self._done.extend(paths)

    # ---- the GuestTransport protocol ----

    def run(self, command: str, timeout: float | None = None) -> CommandResult:
        status, out, err = self._execute(command, timeout or self.command_timeout)
        try:
            stdout, stderr = self._fetch(out), self._fetch(err)
        finally:
            self._finished(out, err)
        return CommandResult(status, self._decode(stdout), self._decode(stderr))

    def read_file(self, path: str) -> str:
        if self._refused is not None:
            raise self._refused
        host = self._host_file()
        try:
            self._vmrun.call("copyFileFromGuestToHost", self._vmx, path, host, login=self._creds)
            data = Path(host).read_bytes()
        except VmrunFailed as exc:
            if self._guest_problem(exc) or self._exists(path):
                raise self._failure(exc, f"reading {path}") from None
            raise FileNotFoundError(errno.ENOENT, f"{self.name}: no such file", path) from None
        finally:
            Path(host).unlink(missing_ok=True)
        if self._windows:
            return decode_windows(data, crlf=False)
        return data.decode("utf-8", "surrogateescape")

    def _exists(self, path: str, directory: bool = False) -> bool:
        try:
            return self._vmrun.exists(self._vmx, path, self._creds, directory=directory)
        except VmrunFailed as exc:
            raise self._failure(exc, f"looking for {path}") from None

    def write_file(self, path: str, data: str, mode: int = 0o644) -> None:
        if self._refused is not None:
            raise self._refused
        directory, base = self._path.split(path)
        tmp = self._path.join(directory, f".{base}.labkit-{secrets.token_hex(6)}")
        host = self._host_file()
        Path(host).write_bytes(data.encode("utf-8", "surrogateescape"))
        try:
            self._vmrun.call("copyFileFromHostToGuest", self._vmx, host, tmp, login=self._creds)
        except VmrunFailed as exc:
            if not self._guest_problem(exc) and not self._exists(directory, directory=True):
                raise TransportError(f"{self.name}: cannot write {path}: no directory {directory}") from None
            raise self._failure(exc, f"writing {path}") from None
        finally:
            Path(host).unlink(missing_ok=True)
        if self._windows:
            command = (f"move /y {_cmd_quoted(tmp)} {_cmd_quoted(path)} >NUL || "
                       f"(del /f /q {_cmd_quoted(tmp)} & exit /b 1)")
        else:
            q = shlex.quote
            command = (f"chmod {mode:o} -- {q(tmp)} && mv -f -- {q(tmp)} {q(path)} || "
                       f"{{ s=$?; rm -f -- {q(tmp)}; exit $s; }}")
        status, out, err = self._execute(command, self.command_timeout)
        try:
            if status != 0:
                said = self._decode(self._fetch(err)).strip() or self._decode(self._fetch(out)).strip()
                raise TransportError(f"{self.name}: cannot write {path}: {said or f'exit status {status}'}")
        finally:
            self._finished(out, err)

    def close(self) -> None:
        """Remove the guest folder (best effort: the guest may be gone) and the host temp folder."""
        with self._lock:
            folder, self._dir = self._dir, None
        if folder is not None and self._refused is None:
            try:
                self._vmrun.call("deleteDirectoryInGuest", self._vmx, folder, login=self._creds)
            except VmrunFailed:
                pass
        shutil.rmtree(self._host_tmp, ignore_errors=True)


def _cmd_quoted(path: str) -> str:
    """A guest path in double quotes for cmd.exe; one that would end the quote or expand is refused."""
    if any(c in path for c in '"%!^&|<>\r\n'):
        raise TransportError(f"{path!r}: a path given to cmd.exe cannot hold \" % ! ^ & | < > or a line break")
    return f'"{path}"'
