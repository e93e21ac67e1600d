"""vmrun, VMware's command-line tool on the Workstation host: found, run, and understood.

Why vmrun: vmrest (Workstation's REST API) has neither VMware Tools' guest operations nor
snapshots; on a Workstation host both are reached through vmrun with `-T ws`. vmrun drives the
VMs of the machine it runs on, so labkit uses it only when it runs on the Workstation host
(placement.py).

Finding it (`locate_vmrun`): the inventory's backend.vmrun, else PATH, else where the installers
put it: Workstation's folder (and the VIX SDK's) under Program Files (x86) and Program Files on
Windows, inside VMware Fusion.app on macOS, /usr/bin (or /usr/local/bin) on Linux. A miss says
every place it looked.

Running it: an argv list through a CommandRunner, never a shell, so a .vmx path or a snapshot name
with spaces is one argument and nothing in it is expanded. vmrun takes the guest password only on
its command line (`-gu USER -gp PASSWORD`), so it is there and nowhere else: every text labkit
shows from a run has it masked. While vmrun runs, its command line is readable by other local
users of the host (ps, Task Manager): that is vmrun's own design, and one reason the guest account
should be a lab account.

What labkit reads of vmrun's answers (as vmrun prints them; vmrun's usage text and VMware's "Using
vmrun to Control Virtual Machines" give the commands and their parameters):
- a failure is a line `Error: <reason>` ("Error: The virtual machine is not powered on", "Error:
  Invalid user name or password for the guest OS", "Error: Unable to get the IP address") with a
  non-zero exit status, which differs per host OS (255 on Linux and macOS, -1 on Windows, where
  Python reads it as 4294967295): labkit keys on the line, not on the number;
- `start PATH nogui` and `stop PATH soft|hard` power a VM on and off (`soft` shuts the guest down
  through VMware Tools, so it needs Tools running; `hard` is a power off);
- `list`: "Total running VMs: N", then N .vmx paths; `listSnapshots`: "Total snapshots: N", then N
  names; `getGuestIPAddress`: the guest's one primary address (not one per NIC);
  `fileExistsInGuest`/`directoryExistsInGuest`: "The file exists." / "The file does not exist."
  (and the same of a directory), read from the sentence whatever the status;
- `runProgramInGuest`: a guest program that ends non-zero is reported as "Guest program exited with
  non-zero exit code: N" (with Workstation 8 and later, vmrun's own status is then N too). labkit
  takes N from that sentence, else vmrun's status, and an "Error:" line is always a failure.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from ipaddress import AddressValueError, IPv4Address
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TypeVar

from labkit.backends.transports.commands import CommandRunner, LocalRunner
from labkit.errors import BackendError, TransportError
from labkit.osutil import host_family
from labkit.protocols import CommandResult

HOST_TYPE = "ws"  # -T ws: VMware Workstation (vmrun also drives Fusion, Player and ESX with other types)
MASK = "********"
_ERROR = re.compile(r"^\s*Error: *(.*?)\s*$", re.MULTILINE)
_GUEST_EXIT = re.compile(r"Guest program exited with non-zero exit code: *(-?\d+)")
_TOTAL = re.compile(r"Total (running VMs|snapshots): *(\d+)")
_FILE_SAYS = {"The file exists.": True, "The file does not exist.": False,
              "The directory exists.": True, "The directory does not exist.": False}
T = TypeVar("T")
_NO_ADDRESS = ("Unable to get the IP address", "not powered on")


class VmrunNotFound(BackendError):
    """No vmrun where the inventory says, on PATH, or where VMware installs it."""


class VmrunFailed(BackendError):
    """vmrun said `Error: ...`, or could not be run: `reason` is what it said, `verb` its command."""

    def __init__(self, verb: str, reason: str, *, timed_out: bool = False) -> None:
        super().__init__(f"vmrun {verb}: {reason}")
        self.verb, self.reason, self.timed_out = verb, reason, timed_out


@dataclass(frozen=True)
class GuestCredentials:
    """A guest account for vmrun's guest operations; the password stays out of every repr."""

    user: str
    password: str = field(repr=False)


# ---- finding vmrun ----------------------------------------------------------------------------------

def install_paths(platform: str | None = None, environ: Mapping[str, str] | None = None) -> list[str]:
    """Where VMware's installers put vmrun on the OS `platform` (a sys.platform value), in the order tried."""
    family = host_family(platform)
    if family == "windows":
        env = os.environ if environ is None else environ
        bases = [env.get("ProgramFiles(x86)") or r"C:\Program Files (x86)",
                 env.get("ProgramFiles") or r"C:\Program Files"]
        found = [str(PureWindowsPath(base, "VMware", product, "vmrun.exe"))
                 for product in ("VMware Workstation", "VMware VIX") for base in bases]
        return list(dict.fromkeys(found))
    if family == "macos":
        return ["/Applications/VMware Fusion.app/Contents/Library/vmrun"]
    if family == "linux":
        return ["/usr/bin/vmrun", "/usr/local/bin/vmrun"]
    return []


def locate_vmrun(configured: str | None = None, *, platform: str | None = None,
                 environ: Mapping[str, str] | None = None, root: str | os.PathLike[str] | None = None) -> str:
    """vmrun's path: `configured` (backend.vmrun) when given, else the first on PATH, else the first
    install path that exists. `root` stands for the file system's root (tests give a folder), so
    every OS's paths can be checked on any machine. VmrunNotFound says where it looked."""
    env = os.environ if environ is None else environ
    windows = host_family(platform) == "windows"
    if configured:
        path = configured if root is not None else os.path.expanduser(configured)
        if _is_program(path, windows, root):
            return path
        raise VmrunNotFound(f"backend.vmrun: there is no program at {configured}")
    name = "vmrun.exe" if windows else "vmrun"
    folders = [d.strip('"') for d in env.get("PATH", "").split(";" if windows else ":") if d.strip('"')]
    for folder in folders:
        candidate = str(PureWindowsPath(folder, name)) if windows else posixpath.join(folder, name)
        if _is_program(candidate, windows, root):
            return candidate
    standard = install_paths(platform, env)
    for candidate in standard:
        if _is_program(candidate, windows, root):
            return candidate
    where = "; ".join(standard) or "(no install path known for this OS)"
    raise VmrunNotFound(f"vmrun not found: not in backend.vmrun (unset), not in any of the {len(folders)} PATH "
                        f"folders, not at {where}; install VMware Workstation (vmrun comes with it) or give "
                        "its path as backend.vmrun")


def _is_program(path: str, windows: bool, root: str | os.PathLike[str] | None) -> bool:
    if root is not None:
        pure = PureWindowsPath(path) if windows else PurePosixPath(path)
        parts = list(pure.parts)
        if pure.anchor:  # C:\ -> the folder "C" under root; / -> root itself
            parts[0] = pure.drive.rstrip(":") if windows else ""
        on_disk = Path(root, *[p for p in parts if p])
        return on_disk.is_file()
    if not os.path.isfile(path):
        return False
    return windows or os.access(path, os.X_OK)


# ---- running it ---------------------------------------------------------------------------------------

def redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


class Vmrun:
    """vmrun at `path`, run through `runner` (this machine, no shell, by default; tests give their own)."""

    def __init__(self, path: str, runner: CommandRunner | None = None, *, timeout: float = 300) -> None:
        self.path = path
        self.runner: CommandRunner = runner or LocalRunner(name="vmrun")
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"Vmrun({self.path!r})"

    def argv(self, verb: str, *params: str, login: GuestCredentials | None = None) -> list[str]:
        """The command line: host type and guest account first (vmrun wants them before the command)."""
        auth = ["-gu", login.user, "-gp", login.password] if login is not None else []
        return [self.path, "-T", HOST_TYPE, *auth, verb, *params]

    def _invoke(self, verb: str, params: tuple[str, ...], login: GuestCredentials | None,
                timeout: float | None) -> tuple[CommandResult, str]:
        secrets = [login.password] if login is not None else []
        try:
            res = self.runner.run(self.argv(verb, *params, login=login), timeout=timeout or self.timeout)
        except TransportError as exc:  # could not start, or ran past the timeout (LocalRunner's words)
            said = str(exc)
            raise VmrunFailed(verb, redact(said, secrets), timed_out="timed out after" in said) from None
        out, err = redact(res.stdout, secrets), redact(res.stderr, secrets)
        return CommandResult(res.exit_status, out, err), "\n".join(t for t in (out, err) if t)

    def call(self, verb: str, *params: str, login: GuestCredentials | None = None,
             timeout: float | None = None) -> CommandResult:
        """One vmrun command; VmrunFailed when it says `Error: ...`, exits non-zero, or cannot run."""
        res, said = self._invoke(verb, params, login, timeout)
        error = _ERROR.search(said)
        if error is not None:
            raise VmrunFailed(verb, error.group(1) or "(no reason given)")
        if res.exit_status != 0:
            raise VmrunFailed(verb, f"exited with status {_signed(res.exit_status)}" +
                              (f": {_tail(said)}" if said.strip() else ""))
        return res

    def run_program(self, vmx: str, program: str, arguments: str, login: GuestCredentials,
                    timeout: float | None = None) -> int:
        """runProgramInGuest: the guest program's exit status (not an error when non-zero)."""
        res, said = self._invoke("runProgramInGuest", (vmx, program, arguments), login, timeout)
        ended = _GUEST_EXIT.search(said)
        if ended is not None:
            return int(ended.group(1))
        error = _ERROR.search(said)
        if error is not None:
            raise VmrunFailed("runProgramInGuest", error.group(1) or "(no reason given)")
        return _signed(res.exit_status)

    # ---- the commands labkit uses ----

    def running(self) -> list[str]:
        """`list`: the .vmx paths of the running VMs."""
        return _parsed("list", parse_list, self.call("list").stdout)

    def snapshot_names(self, vmx: str) -> list[str]:
        return _parsed("listSnapshots", parse_snapshots, self.call("listSnapshots", vmx).stdout)

    def take_snapshot(self, vmx: str, name: str, timeout: float | None = None) -> None:
        self.call("snapshot", vmx, name, timeout=timeout)

    def revert_to_snapshot(self, vmx: str, name: str, timeout: float | None = None) -> None:
        self.call("revertToSnapshot", vmx, name, timeout=timeout)

    def start(self, vmx: str) -> None:
        """`start PATH nogui`: power the VM on without opening a window for it."""
        self.call("start", vmx, "nogui")

    def stop(self, vmx: str, *, hard: bool = False) -> None:
        """`stop PATH soft` (the guest shuts down through VMware Tools) or `hard` (powered off at once)."""
        self.call("stop", vmx, "hard" if hard else "soft")

    def guest_ip(self, vmx: str) -> IPv4Address | None:
        """getGuestIPAddress: the guest's primary IPv4 address; None while it has none (or the VM is off)."""
        try:
            said = self.call("getGuestIPAddress", vmx).stdout
        except VmrunFailed as exc:
            if any(words in exc.reason for words in _NO_ADDRESS):
                return None
            raise
        return _parsed("getGuestIPAddress", parse_ip, said)

    def exists(self, vmx: str, path: str, login: GuestCredentials, *, directory: bool = False) -> bool:
        verb = "directoryExistsInGuest" if directory else "fileExistsInGuest"
        res, said = self._invoke(verb, (vmx, path), login, None)
        error = _ERROR.search(said)
        if error is not None:
            raise VmrunFailed(verb, error.group(1) or "(no reason given)")
        return _parsed(verb, parse_exists, res.stdout)


# ---- what vmrun prints --------------------------------------------------------------------------------

def parse_list(text: str) -> list[str]:
    """`vmrun list`: "Total running VMs: N" and N .vmx paths."""
    return _counted(text, "running VMs")


def parse_snapshots(text: str) -> list[str]:
    """`vmrun listSnapshots`: "Total snapshots: N" and N names, as vmrun lists them."""
    return _counted(text, "snapshots")


def parse_ip(text: str) -> IPv4Address | None:
    """`vmrun getGuestIPAddress`: one address (None when the guest's primary address is not IPv4)."""
    word = text.strip()
    if ":" in word:  # an IPv6 primary address: nothing labkit can use
        return None
    try:
        return IPv4Address(word)
    except AddressValueError:
        raise ValueError(f"not an address: {word[:80]!r}") from None


def parse_exists(text: str) -> bool:
    said = text.strip()
    if said not in _FILE_SAYS:
        raise ValueError(f"neither 'exists' nor 'does not exist': {said[:80]!r}")
    return _FILE_SAYS[said]


def _counted(text: str, what: str) -> list[str]:
    lines = [line.rstrip("\r") for line in text.splitlines() if line.strip()]
    total = _TOTAL.fullmatch(lines[0].strip()) if lines else None
    if total is None or total.group(1) != what:
        raise ValueError(f"no 'Total {what}: N' line first")
    items = lines[1:]
    if len(items) != int(total.group(2)):
        raise ValueError(f"it says {total.group(2)} {what} but lists {len(items)}")
    return items


def _parsed(verb: str, parse: Callable[[str], T], text: str) -> T:
    try:
        return parse(text)
    except ValueError as exc:
        raise VmrunFailed(verb, f"unexpected output ({exc})") from None


def _signed(status: int) -> int:
    """Windows hands a program's -1 over as 4294967295."""
    return status - (1 << 32) if status >= 1 << 31 else status


def _tail(text: str) -> str:
    return " / ".join(line.strip() for line in text.strip().splitlines()[-2:])
