#!/usr/bin/env python3
"""A test vmrun: vmrun's command line, exit statuses and messages, with netns lab guests behind it.

labkit's Workstation backend drives VMware Tools' guest operations and snapshots through vmrun
(labkit/backends/workstation/vmrun.py). This program answers as vmrun does, for the subset labkit
uses, so that code runs unchanged against it: `vmrun [-T ws] [-gu USER] [-gp PASSWORD] COMMAND
PARAMETERS`, commands matched without case as vmrun does, success with exit status 0, failure as a
line `Error: <reason>` on stdout with exit status 255 (vmrun's on Linux and macOS).

Behind it (as tests/vcsim/guestops.go does for vcsim): the JSON file named by $LABKIT_FAKE_VMRUN_GUESTS,

    {"guest_user": "root", "vms": {"/abs/path/wx.vmx": {"pid": 4242, "power": "on"}}}

maps a .vmx path (the string vmrun is given, or the same file) to a netns lab VM's init PID; the
guest operations run inside that VM with `nsenter -t PID -n -m -u -p` and the netns console's
confinement (labkit.backends.netns.vmroot.confined), as root. The guest account is `guest_user`
with the password in $LABKIT_FAKE_VMRUN_PASSWORD.

What it checks, with vmrun's words where the brief documents them:
- a VM not in the map, marked "off", or whose guest is gone: "Error: The virtual machine is not
  powered on" (guest operations, getGuestIPAddress); `list` shows only the others;
- a wrong or missing guest user or password: "Error: Invalid user name or password for the guest OS";
- getGuestIPAddress with no global IPv4 address in the guest: "Error: Unable to get the IP address"
  (`-wait` polls for up to $LABKIT_FAKE_VMRUN_WAIT seconds, default 30);
- runProgramInGuest: PROGRAM and its arguments joined by spaces and started through /bin/sh, as
  Tools does on Linux; a non-zero end is "Guest program exited with non-zero exit code: N" and
  exit status N (Workstation 8 and later); nothing the program prints reaches vmrun's output;
- fileExistsInGuest / directoryExistsInGuest: "The file exists." (status 0) or "The file does not
  exist." (status 255: this fake's choice; labkit reads the sentence only), and the same of a directory.
Other failures use this fake's own wording after "Error: " ("A file was not found", "Cannot open
VM: PATH, The virtual machine cannot be found", ...): labkit keys on the prefix only.

The map may also name the vmrest that lists these VMs (`"vmrest": {"url": "http://.../api", "user":
U}`, the password in $LABKIT_FAKE_VMRUN_VMREST_PASSWORD): one VMware sits behind both, so they must
agree, and this fake asks that vmrest with the definition's own calls (GET /vms, GET and PUT
/vms/{id}/power, GET and PUT /vms/{id}/nic...) instead of keeping a state of its own for those VMs.

Power: a VM is on as that vmrest says, else as the map's "power" says. `start PATH [gui|nogui]`
and `stop PATH [soft|hard]` change it there: through vmrest, else in the map (rewritten under a
lock) and, for a .vmx that is a real file, by making or removing `<vmx>.lck` beside it, the folder
Workstation holds while a VM runs (labkit's .vmx mode reads power from it). A soft stop needs
VMware Tools, so it is refused ("Error: The VMware Tools are not running in the virtual machine")
unless the VM's guest process is alive; `stop` of a VM that is off is "not powered on". A stopped
netns guest keeps running: only what vmrun and VMware report changes.

Snapshots are kept in `<vmx>.snapshots.json` beside the .vmx (which must exist): `snapshot`,
`revertToSnapshot` (the name must be there once) and `listSnapshots` ("Total snapshots: N", then
the names). A snapshot keeps what Workstation keeps of a VM's configuration: the .vmx file's text
(its NICs among it) and, for a VM the vmrest lists, its NICs as vmrest reports them. A revert
powers the VM off, puts the .vmx text back and the NICs (PUT /vms/{id}/nic/{index}): the VM is
left off, as vmrun leaves it (`start` resumes a snapshot that kept memory). This fake cannot
restore a netns guest's disk or memory: the guest keeps running as it is.

$LABKIT_FAKE_VMRUN_LOG, when set, names a file that gets one JSON line per call (the command and
its parameters; the password is never written), so tests can count vmrun calls.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

GUESTS_ENV = "LABKIT_FAKE_VMRUN_GUESTS"
PASSWORD_ENV = "LABKIT_FAKE_VMRUN_PASSWORD"
VMREST_PASSWORD_ENV = "LABKIT_FAKE_VMRUN_VMREST_PASSWORD"
VMREST_MEDIA = "application/vnd.vmware.vmw.rest-v1+json"
LOG_ENV = "LABKIT_FAKE_VMRUN_LOG"
WAIT_ENV = "LABKIT_FAKE_VMRUN_WAIT"
FAILED = 255
GUEST_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C"}
NOT_ON = "The virtual machine is not powered on"
BAD_LOGIN = "Invalid user name or password for the guest OS"
NOT_FOUND = "A file was not found"
NO_TOOLS = "The VMware Tools are not running in the virtual machine"
AUTH_FLAGS = ("-T", "-gu", "-gp", "-vp", "-h", "-P", "-u", "-p")


class Refused(Exception):
    """What vmrun prints after "Error: "."""


def install(folder: Path) -> Path:
    """A `vmrun` program in `folder` that runs this file with this Python (for PATH or backend.vmrun)."""
    folder.mkdir(parents=True, exist_ok=True)
    wrapper = folder / "vmrun"
    wrapper.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(Path(__file__).resolve()))} "
                       '"$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def write_guests(path: Path, vms: dict[str, dict], guest_user: str = "root",
                 vmrest: dict[str, str] | None = None) -> Path:
    """The map this program reads: {vmx: {"pid": INIT_PID, "power": "on" | "off"}}; `vmrest`:
    {"url": "http://127.0.0.1:PORT/api", "user": USER} of the vmrest that lists these VMs."""
    path.write_text(json.dumps({"guest_user": guest_user, "vms": vms, **({"vmrest": vmrest} if vmrest else {})}))
    return path


# ---- the guests ----------------------------------------------------------------------------------------

def _config() -> dict:
    name = os.environ.get(GUESTS_ENV)
    if not name:
        return {"guest_user": "", "vms": {}}
    return json.loads(Path(name).read_text())


def _key(vms: dict[str, dict], vmx: str) -> str | None:
    """The map's key for `vmx`: the same string, or a path to the same file."""
    if vmx in vms:
        return vmx
    for key in vms:
        try:
            if os.path.samefile(key, vmx):
                return key
        except OSError:
            continue
    return None


def _entry(vmx: str) -> dict | None:
    vms = _config()["vms"]
    key = _key(vms, vmx)
    return None if key is None else vms[key]


@contextmanager
def _changing_map() -> Iterator[dict]:
    """The map, read and written back (atomically) under an exclusive lock: vmrun calls run at once."""
    name = os.environ.get(GUESTS_ENV)
    if not name:
        raise Refused(f"This fake vmrun has no map of VMs (${GUESTS_ENV})")
    path = Path(name)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        config = json.loads(path.read_text())
        yield config
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(config))
        os.replace(tmp, path)


# ---- the vmrest that shows the same VMs: its power is theirs, a snapshot keeps its NICs ---------------

def _vmrest(method: str, path: str, body: bytes | None = None, json_body: object = None) -> Any:
    """One call of the definition's own to the vmrest the map names (None: the map names none)."""
    vmrest = _config().get("vmrest")
    if not vmrest:
        return None
    token = base64.b64encode(f"{vmrest['user']}:{os.environ.get(VMREST_PASSWORD_ENV, '')}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "Accept": VMREST_MEDIA}
    if json_body is not None:
        body = json.dumps(json_body).encode()
    if body is not None:
        headers["Content-Type"] = VMREST_MEDIA
    request = urllib.request.Request(vmrest["url"].rstrip("/") + path, data=body, method=method, headers=headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1: never through a proxy
    try:
        with opener.open(request, timeout=10) as answer:
            data = answer.read()
    except (urllib.error.URLError, OSError) as exc:
        raise Refused(f"vmrest at {vmrest['url']} refused {method} {path}: {exc}") from None
    return json.loads(data) if data else {}


def _vmrest_id(vmx: str) -> str | None:
    """The VM's id in the vmrest the map names (None: no vmrest, or it does not list the VM)."""
    listed = _vmrest("GET", "/vms")
    for vm in listed or []:
        if vm["path"] == vmx or (os.path.exists(vm["path"]) and os.path.samefile(vm["path"], vmx)):
            return str(vm["id"])
    return None


def _known(vmx: str) -> None:
    """vmrun opens the VM first: a .vmx that is neither mapped, nor a file, nor vmrest's cannot be found."""
    if _entry(vmx) is None and not Path(vmx).is_file() and _vmrest_id(vmx) is None:
        raise Refused(f"Cannot open VM: {vmx}, The virtual machine cannot be found")


def _powered(vmx: str, entry: dict | None) -> bool:
    """On as VMware says: the power state of the vmrest that lists the VM, else the map's."""
    vm_id = _vmrest_id(vmx)
    if vm_id is not None:
        return bool(_vmrest("GET", f"/vms/{vm_id}/power")["power_state"] == "poweredOn")
    return entry is not None and entry.get("power", "on") == "on"


def _set_power(vmx: str, on: bool) -> None:
    """Through the vmrest that lists the VM; else the map's power, and Workstation's `<vmx>.lck`
    folder beside a .vmx that is a real file."""
    vm_id = _vmrest_id(vmx)
    if vm_id is not None:
        if _powered(vmx, None) != on:
            _vmrest("PUT", f"/vms/{vm_id}/power", body=b"on" if on else b"off")
        return
    with _changing_map() as config:
        key = _key(config["vms"], vmx) or vmx
        config["vms"].setdefault(key, {})["power"] = "on" if on else "off"
    if Path(vmx).is_file():
        lck = Path(vmx + ".lck")
        if on:
            lck.mkdir(exist_ok=True)
        else:
            shutil.rmtree(lck, ignore_errors=True)


def _alive(vmx: str, entry: dict | None) -> int | None:
    """The guest's init PID while the VM is on and its guest is there (VMware Tools answer)."""
    if entry is None or not _powered(vmx, entry):
        return None
    pid = entry.get("pid")
    return pid if pid and Path(f"/proc/{pid}").exists() else None


def _confinement() -> list[str]:
    """The netns console's capability limits, so a guest operation can do what a guest's root can, no more."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    try:
        from labkit.backends.netns.vmroot import confined
    except ImportError:
        return []
    return confined()


def _enter(pid: int, argv: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    cmd = ["nsenter", "-t", str(pid), "-n", "-m", "-u", "-p", "--", *_confinement(), *argv]
    return subprocess.run(cmd, input=stdin, capture_output=True, env=GUEST_ENV, check=False,
                          stdin=None if stdin is not None else subprocess.DEVNULL)


def _sh(pid: int, script: str, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return _enter(pid, ["/bin/sh", "-c", script, "sh", *args], stdin)


class Call:
    """One vmrun invocation: its flags, command and parameters."""

    def __init__(self, argv: list[str]) -> None:
        self.flags: dict[str, str] = {}
        rest = list(argv)
        while rest and rest[0] in AUTH_FLAGS:
            if len(rest) < 2:
                raise Refused(f"Missing value for {rest[0]}")
            self.flags[rest[0]] = rest[1]
            rest = rest[2:]
        if not rest:
            raise Refused("No command given")
        self.verb, self.params = rest[0], rest[1:]
        host_type = self.flags.get("-T", "ws")
        if host_type != "ws":
            raise Refused(f"This fake vmrun drives Workstation only (-T ws), not -T {host_type}")

    def log(self) -> None:
        name = os.environ.get(LOG_ENV)
        if name:
            with open(name, "a", encoding="utf-8") as f:
                f.write(json.dumps({"verb": self.verb, "params": self.params, "guest_user": self.flags.get("-gu")})
                        + "\n")

    def want(self, low: int, high: int | None = None) -> list[str]:
        if not low <= len(self.params) <= (low if high is None else high):
            raise Refused("Invalid number of parameters")
        return self.params

    def running(self, vmx: str) -> int:
        pid = _alive(vmx, _entry(vmx))
        if pid is None:
            raise Refused(NOT_ON)
        return pid

    def guest(self, vmx: str) -> int:
        """The guest's init PID, after vmrun's checks: VM on, then the guest login."""
        pid = self.running(vmx)
        user, password = self.flags.get("-gu"), self.flags.get("-gp")
        expected = os.environ.get(PASSWORD_ENV)
        if not expected or user != _config().get("guest_user") or password != expected:
            raise Refused(BAD_LOGIN)
        return pid


# ---- the commands ----------------------------------------------------------------------------------

def cmd_list(call: Call) -> int:
    call.want(0)
    on = [vmx for vmx, entry in _config()["vms"].items() if _alive(vmx, entry)]
    print(f"Total running VMs: {len(on)}")
    for vmx in on:
        print(vmx)
    return 0


def cmd_run_program(call: Call) -> int:
    if len(call.params) < 2:
        raise Refused("Invalid number of parameters")
    vmx, rest = call.params[0], call.params[1:]
    options = {"-nowait", "-activewindow", "-interactive"}
    given = set()
    while rest and rest[0].lower() in options:
        given.add(rest.pop(0).lower())
    if not rest:
        raise Refused("Invalid number of parameters")
    pid = call.guest(vmx)
    program = rest[0]
    if _sh(pid, 'test -f "$1" && test -x "$1"', program).returncode != 0:
        raise Refused(NOT_FOUND)
    line = " ".join(rest)  # Tools on Linux starts "program arguments" through /bin/sh
    if "-nowait" in given:
        subprocess.Popen(["nsenter", "-t", str(pid), "-n", "-m", "-u", "-p", "--", *_confinement(),
                          "/bin/sh", "-c", line], env=GUEST_ENV, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        return 0
    status = _enter(pid, ["/bin/sh", "-c", line]).returncode
    if status != 0:
        print(f"Guest program exited with non-zero exit code: {status}")
    return status


def cmd_copy_to_guest(call: Call) -> int:
    vmx, host, target = call.want(3)
    pid = call.guest(vmx)
    try:
        data = Path(host).read_bytes()
    except OSError:
        raise Refused(NOT_FOUND) from None
    if _sh(pid, '[ ! -d "$1" ] && cat > "$1"', target, stdin=data).returncode != 0:
        raise Refused(NOT_FOUND)
    return 0


def cmd_copy_from_guest(call: Call) -> int:
    vmx, source, host = call.want(3)
    pid = call.guest(vmx)
    got = _sh(pid, '[ -f "$1" ] && cat -- "$1"', source)
    if got.returncode != 0:
        raise Refused(NOT_FOUND)
    try:
        Path(host).write_bytes(got.stdout)
    except OSError:
        raise Refused(NOT_FOUND) from None
    return 0


def _exists(call: Call, test: str, what: str) -> int:
    vmx, path = call.want(2)
    there = _sh(call.guest(vmx), f'[ {test} "$1" ]', path).returncode == 0
    print(f"The {what} exists." if there else f"The {what} does not exist.")
    return 0 if there else FAILED


def _guest_fs(call: Call, script: str, failure: str = NOT_FOUND) -> int:
    vmx, path = call.want(2)
    if _sh(call.guest(vmx), script, path).returncode != 0:
        raise Refused(failure)
    return 0


def cmd_guest_ip(call: Call) -> int:
    params = call.want(1, 2)
    wait = len(params) == 2 and params[1].lower() == "-wait"
    if len(params) == 2 and not wait:
        raise Refused("Invalid argument")
    deadline = time.monotonic() + float(os.environ.get(WAIT_ENV, "30"))
    while True:
        pid = call.running(params[0])
        shown = _enter(pid, ["ip", "-4", "-o", "addr", "show", "scope", "global"]).stdout.decode()
        words = [line.split()[3] for line in shown.splitlines() if len(line.split()) > 3]
        if words:
            print(words[0].split("/")[0])
            return 0
        if not wait or time.monotonic() >= deadline:
            raise Refused("Unable to get the IP address")
        time.sleep(0.5)


def cmd_start(call: Call) -> int:
    params = call.want(1, 2)
    if len(params) == 2 and params[1].lower() not in ("gui", "nogui"):
        raise Refused("Invalid argument")
    _known(params[0])
    _set_power(params[0], True)
    return 0


def cmd_stop(call: Call) -> int:
    params = call.want(1, 2)
    vmx, how = params[0], params[1].lower() if len(params) == 2 else "soft"
    if how not in ("soft", "hard"):
        raise Refused("Invalid argument")
    _known(vmx)
    entry = _entry(vmx)
    if not _powered(vmx, entry):
        raise Refused(NOT_ON)
    if how == "soft" and _alive(vmx, entry) is None:  # a shutdown through Tools needs the guest
        raise Refused(NO_TOOLS)
    _set_power(vmx, False)
    return 0


def _snapshots(vmx: str) -> tuple[Path, dict]:
    if not Path(vmx).is_file():
        raise Refused(f"Cannot open VM: {vmx}, The virtual machine cannot be found")
    store = Path(vmx + ".snapshots.json")
    return store, json.loads(store.read_text()) if store.exists() else {"snapshots": [], "current": None}


def cmd_snapshot(call: Call) -> int:
    vmx, name = call.want(2)
    store, state = _snapshots(vmx)
    vm_id = _vmrest_id(vmx)
    nics = [] if vm_id is None else [{"index": n["index"], "type": n["type"], "vmnet": n["vmnet"]}
                                     for n in _vmrest("GET", f"/vms/{vm_id}/nic")["nics"]]
    state["snapshots"].append({"name": name, "power": "on" if _powered(vmx, _entry(vmx)) else "off",
                               "vmx": Path(vmx).read_text(encoding="utf-8"), "nics": nics})
    state["current"] = name
    store.write_text(json.dumps(state))
    return 0


def cmd_revert(call: Call) -> int:
    vmx, name = call.want(2)
    store, state = _snapshots(vmx)
    found = [s for s in state["snapshots"] if s["name"] == name]
    if not found:
        raise Refused("The snapshot does not exist")
    if len(found) > 1:
        raise Refused("The name does not uniquely identify one snapshot")
    snap = found[0]
    _set_power(vmx, False)  # Workstation powers the VM off to revert it
    Path(vmx).write_text(snap["vmx"], encoding="utf-8")
    vm_id = _vmrest_id(vmx)
    if vm_id is not None:
        for nic in snap["nics"]:
            _vmrest("PUT", f"/vms/{vm_id}/nic/{nic['index']}", json_body={"type": nic["type"], "vmnet": nic["vmnet"]})
    state["current"] = name
    store.write_text(json.dumps(state))
    return 0


def cmd_list_snapshots(call: Call) -> int:
    params = call.want(1, 2)
    _, state = _snapshots(params[0])
    print(f"Total snapshots: {len(state['snapshots'])}")
    for snap in state["snapshots"]:
        print(snap["name"])
    return 0


COMMANDS = {
    "list": cmd_list,
    "runprograminguest": cmd_run_program,
    "copyfilefromhosttoguest": cmd_copy_to_guest,
    "copyfilefromguesttohost": cmd_copy_from_guest,
    "fileexistsinguest": lambda call: _exists(call, "-f", "file"),
    "directoryexistsinguest": lambda call: _exists(call, "-d", "directory"),
    "createdirectoryinguest": lambda call: _guest_fs(call, '[ ! -e "$1" ] && mkdir -- "$1"'),
    "deletedirectoryinguest": lambda call: _guest_fs(call, '[ -d "$1" ] && rm -rf -- "$1"'),
    "deletefileinguest": lambda call: _guest_fs(call, '[ -f "$1" ] && rm -f -- "$1"'),
    "getguestipaddress": cmd_guest_ip,
    "start": cmd_start,
    "stop": cmd_stop,
    "snapshot": cmd_snapshot,
    "reverttosnapshot": cmd_revert,
    "listsnapshots": cmd_list_snapshots,
}


def main(argv: list[str]) -> int:
    try:
        call = Call(argv)
        call.log()
        command = COMMANDS.get(call.verb.lower())
        if command is None:
            raise Refused(f"Unrecognized command: {call.verb}")
        return command(call)
    except Refused as exc:
        print(f"Error: {exc}")
        return FAILED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
