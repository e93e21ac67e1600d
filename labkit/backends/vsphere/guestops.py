"""The vSphere console: a guest transport over VMware Tools guest operations, no guest networking.

vSphere has no shell channel into a guest, only Tools' process and file managers. So a command
runs as `/bin/sh -c COMMAND >OUT 2>ERR` through StartProgramInGuest (Tools on Linux passes the
arguments through a shell), its exit code comes from ListProcessesInGuest once the process has an
end time, and its output files come back through InitiateFileTransferFromGuest and an HTTPS GET
that is verified like the SOAP session (the same CA settings). Output files live in one guest temp
directory per console, removed on close. Writes upload a temp file beside the target with the
mode, then rename it with `mv -f`: readers see the old or the new file, never half.

The guest password comes from the variable VM.guest_login.password_env names. It is put into each
call's authentication object only (whose repr would show it), never into a message; a refused
guest login is remembered, so later calls do not repeat it (and lock the guest account).

Methods are called by pyVmomi's Python names (StartProgram, ListProcesses, DeleteFile...), which
its type stubs declare; they are the same methods as the WSDL names (StartProgramInGuest...).
"""

from __future__ import annotations

import errno
import itertools
import posixpath
import secrets
import shlex
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
from pyVmomi import vim, vmodl

from labkit.backends.consoles import guest_password
from labkit.errors import TransportError
from labkit.model import Backend, GuestLogin
from labkit.protocols import CommandResult
from labkit.backends.vsphere.connection import Session, tls_context
from labkit.backends.vsphere.props import fault_message, retrieve
from labkit.backends.vsphere.session import VcenterLost

TOOLS_RUNNING = "guestToolsRunning"
POLL_FIRST, POLL_MAX = 0.02, 0.5
T = TypeVar("T")


class ToolsConsole:
    """Run commands and move files in one VM through VMware Tools (GuestOperationsManager)."""

    kind = "vmware-tools"

    def __init__(self, name: str, session: Session, vm: vim.VirtualMachine, login: GuestLogin,
                 backend: Backend, command_timeout: float = 120) -> None:
        self.name = name
        self.command_timeout = command_timeout
        self._session, self._vm, self._login, self._backend = session, vm, login, backend
        self._link = session.link
        self._password = guest_password(name, login, "VMware Tools console")
        self._refused: TransportError | None = None
        self._tmpdir: str | None = None
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self._check_tools()
        manager = session.content.guestOperationsManager
        if manager is None:
            raise TransportError(f"{name}: this vSphere server offers no guest operations (no "
                                 f"GuestOperationsManager): no VMware Tools console")
        pm, fm = manager.processManager, manager.fileManager
        if pm is None or fm is None:
            raise TransportError(f"{name}: this vSphere server offers no guest process or file manager: "
                                 f"no VMware Tools console")
        self._pm, self._fm = pm, fm
        # file transfers go to the same server, under the same limits as its SOAP calls
        self._http = httpx.Client(verify=tls_context(backend),
                                  timeout=httpx.Timeout(backend.call_timeout, connect=backend.connect_timeout))

    def __repr__(self) -> str:
        return f"ToolsConsole({self.name!r}, user={self._login.user!r})"

    # ---- plumbing ----

    def _check_tools(self) -> None:
        """Fail early and clearly: guest operations need the VM on and Tools running in it."""
        try:
            with self._link.doing(f"reading the VMware Tools status of {self.name}"):
                found = retrieve(self._session.content, [self._vm], vim.VirtualMachine,
                                 ["runtime.powerState", "guest.toolsRunningStatus"])
        except VcenterLost as exc:
            raise TransportError(f"{self.name}: no VMware Tools console: {exc}") from None
        except vmodl.MethodFault as exc:
            raise TransportError(f"{self.name}: reading the VMware Tools status failed: "
                                 f"{fault_message(exc)}") from None
        props = found[0][1] if found else {}
        if props.get("runtime.powerState") != "poweredOn":
            raise TransportError(f"{self.name} is powered off: no VMware Tools console")
        status = props.get("guest.toolsRunningStatus")
        if status != TOOLS_RUNNING:
            raise TransportError(f"{self.name}: VMware Tools is not running in the guest ({status or 'unknown'}); "
                                 f"the console needs it")

    def _auth(self) -> vim.vm.guest.NamePasswordAuthentication:
        return vim.vm.guest.NamePasswordAuthentication(username=self._login.user, password=self._password)

    def _call(self, what: str, method: Callable[..., T], **kwargs: Any) -> T:
        """One guest operation; vSphere faults become errors that name the VM, never the password."""
        if self._refused is not None:
            raise self._refused
        try:
            with self._link.doing(f"{what} in {self.name} (VMware Tools)"):
                return method(vm=self._vm, auth=self._auth(), **kwargs)
        except VcenterLost as exc:
            raise TransportError(f"{self.name}: {what}: {exc}") from None
        except vim.fault.InvalidGuestLogin:
            self._refused = TransportError(f"{self.name}: guest login refused for user {self._login.user} "
                                           f"(check the password in ${self._login.password_env})")
            raise self._refused from None
        except vim.fault.GuestOperationsUnavailable as exc:
            msg = fault_message(exc)
            raise TransportError(f"{self.name}: VMware Tools guest operations are unavailable"
                                 f"{': ' + msg if msg else ''}") from None
        except vim.fault.InvalidPowerState:
            raise TransportError(f"{self.name} is powered off: no VMware Tools console") from None
        except vim.fault.FileNotFound as exc:  # the one fault callers handle: as Python's own error
            raise FileNotFoundError(errno.ENOENT, f"{self.name}: {what}: no such file or directory",
                                    exc.file) from None
        except vmodl.MethodFault as exc:
            raise TransportError(f"{self.name}: {what} failed: {fault_message(exc) or type(exc).__name__}") from None
        except OSError as exc:
            raise TransportError(f"{self.name}: {what} failed: vSphere connection: {exc}") from None

    def _transfer_url(self, raw: str) -> str:
        """Tools' URLs may name the host as '*': it means the server labkit is connected to."""
        parts = urlsplit(raw)
        if parts.hostname == "*":
            port = parts.port or self._backend.port or 443
            parts = parts._replace(netloc=f"{self._backend.host}:{port}")
        return urlunsplit(parts)

    def _http_call(self, what: str, method: str, url: str, content: bytes | None = None) -> bytes:
        try:
            self._link.check()
            resp = self._http.request(method, self._transfer_url(url), content=content)
        except VcenterLost as exc:
            raise TransportError(f"{self.name}: {what}: {exc}") from None
        except httpx.ConnectError as exc:
            why = str(exc)
            if "CERTIFICATE_VERIFY_FAILED" in why:
                raise TransportError(f"{self.name}: {what}: the file transfer's TLS certificate is not trusted "
                                     f"(set backend.ca_file to its CA)") from None
            lost = self._link.lose_because("file transfer", why) if self._is_vcenter(url) else None
            raise TransportError(f"{self.name}: {what}: cannot connect for the file transfer: "
                                 f"{lost or why}") from None
        except httpx.TimeoutException as exc:
            lost = (self._link.lose_because("file transfer", f"no answer within {self._link.call_timeout:g} s "
                                            f"(backend.call_timeout)") if self._is_vcenter(url) else None)
            raise TransportError(f"{self.name}: {what}: the file transfer timed out: {lost or exc}") from None
        except httpx.HTTPError as exc:
            raise TransportError(f"{self.name}: {what}: file transfer failed: {type(exc).__name__}: {exc}") from None
        if resp.status_code != 200:
            raise TransportError(f"{self.name}: {what}: file transfer refused (HTTP {resp.status_code}: "
                                 f"{resp.text.strip()[:200]})")
        return resp.content

    def _is_vcenter(self, raw: str) -> bool:
        """Whether a transfer URL points at the server the session is connected to (an ESXi host's
        own URL failing says nothing about vCenter)."""
        parts = urlsplit(self._transfer_url(raw))
        return parts.hostname == self._backend.host and (parts.port or 443) == (self._backend.port or 443)

    def _download(self, path: str) -> bytes:
        info = self._call(f"reading {path}", self._fm.InitiateFileTransferFromGuest, guestFilePath=path)
        return self._http_call(f"reading {path}", "GET", info.url)

    def _upload(self, path: str, payload: bytes, mode: int) -> None:
        attrs = vim.vm.guest.FileManager.PosixFileAttributes(permissions=mode)
        url = self._call(f"writing {path}", self._fm.InitiateFileTransferToGuest, guestFilePath=path,
                         fileAttributes=attrs, fileSize=len(payload), overwrite=False)
        self._http_call(f"writing {path}", "PUT", url, payload)

    def _delete(self, path: str) -> None:
        try:
            self._call(f"removing {path}", self._fm.DeleteFile, filePath=path)
        except (TransportError, FileNotFoundError):
            pass  # a leftover output file in labkit's own temp dir goes with the dir on close

    def _workdir(self) -> str:
        with self._lock:
            if self._tmpdir is None:
                self._tmpdir = self._call("creating a temp directory", self._fm.CreateTemporaryDirectory,
                                          prefix="labkit-", suffix="", directoryPath=None)
            return self._tmpdir

    # ---- the GuestTransport protocol ----

    def run(self, command: str, timeout: float | None = None) -> CommandResult:
        limit = timeout or self.command_timeout
        base = posixpath.join(self._workdir(), str(next(self._seq)))
        out, err = base + ".out", base + ".err"
        args = f"-c {shlex.quote(command)} </dev/null >{shlex.quote(out)} 2>{shlex.quote(err)}"
        spec = vim.vm.guest.ProcessManager.ProgramSpec(programPath="/bin/sh", arguments=args)
        try:
            pid = self._call("starting /bin/sh", self._pm.StartProgram, spec=spec)
        except FileNotFoundError as exc:
            raise TransportError(f"{exc.strerror} ({exc.filename})") from None
        try:
            status = self._wait(pid, limit)
            try:
                stdout, stderr = self._download(out), self._download(err)
            except FileNotFoundError as exc:
                raise TransportError(f"{self.name}: the command's output file {exc.filename} is missing") from None
        finally:
            self._delete(out)
            self._delete(err)
        return CommandResult(status, stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace"))

    def _wait(self, pid: int, limit: float) -> int:
        deadline = time.monotonic() + limit
        pause = POLL_FIRST
        while True:
            found = self._call("reading the process list", self._pm.ListProcesses, pids=[pid])
            proc = next((p for p in found or [] if p.pid == pid), None)
            if proc is None:
                raise TransportError(f"{self.name}: guest process {pid} vanished before it reported an exit code")
            if proc.endTime is not None:
                return proc.exitCode or 0
            if time.monotonic() >= deadline:
                try:
                    self._call("stopping the program", self._pm.TerminateProcess, pid=pid)
                except TransportError:
                    pass  # it may have ended meanwhile; the timeout is the error either way
                raise TransportError(f"{self.name}: command timed out after {limit:g} s (VMware Tools console)")
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 1.5, POLL_MAX)

    def read_file(self, path: str) -> str:
        try:
            data = self._download(path)
        except FileNotFoundError:
            raise FileNotFoundError(errno.ENOENT, f"{self.name}: no such file", path) from None
        return data.decode("utf-8", "surrogateescape")

    def write_file(self, path: str, data: str, mode: int = 0o644) -> None:
        directory, base = posixpath.split(path)
        tmp = posixpath.join(directory, f".{base}.labkit-{secrets.token_hex(6)}")
        try:
            self._upload(tmp, data.encode("utf-8", "surrogateescape"), mode)
        except FileNotFoundError:
            raise TransportError(f"{self.name}: cannot write {path}: no directory {directory}") from None
        res = self.run(f"mv -f -- {shlex.quote(tmp)} {shlex.quote(path)}")
        if not res.ok:
            self._delete(tmp)
            raise TransportError(f"{self.name}: cannot write {path}: {res.stderr.strip()}")

    def close(self) -> None:
        """Remove the temp directory (best effort: the guest may be gone) and the HTTPS client."""
        with self._lock:
            tmpdir, self._tmpdir = self._tmpdir, None
        if tmpdir is not None and self._refused is None:
            try:
                self._call("removing the temp directory", self._fm.DeleteDirectory,
                           directoryPath=tmpdir, recursive=True)
            except (TransportError, FileNotFoundError):
                pass
        self._http.close()
