"""vmrun on the Workstation host (labkit/backends/workstation/vmrun*.py) without any guest behind it.

Finding vmrun per OS on a folder standing for the file system's root; the argv of each operation
(no shell, spaces kept, the password in -gp only and masked in every error); what vmrun prints,
parsed; the Windows console's cmd.exe line and its OEM, CRLF output, against a runner that answers
as vmrun does (the boundary); the console and snapshots capabilities; and snapshots against the
test vmrun (fake_vmrun.py), which needs no guest for them. The console against a real guest is
test_vmrun_console.py.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Sequence
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from labkit.backends import capabilities
from labkit.backends.transports.fallback import FallbackTransport
from labkit.backends.workstation.lab import WorkstationLab
from labkit.backends.workstation.vmrun import (GuestCredentials, Vmrun, VmrunFailed, VmrunNotFound, install_paths,
                                               locate_vmrun, parse_exists, parse_ip, parse_list, parse_snapshots)
from labkit.backends.workstation.vmrun_console import VmrunConsole, decode_windows
from labkit.errors import BackendError, InputError, TransportError
from labkit.inventory import inventory_from_data
from labkit.model import GuestLogin
from labkit.protocols import CommandResult
from labkit.yamlsrc import load
from tests.backends.workstation import fake_vmrun
from tests.conftest import REPO

VMX = r"C:\Users\lab\Documents\Virtual Machines\Windows 7\Windows 7.vmx"
GUEST_ENV = "LABKIT_TEST_VMRUN_GUEST_PASSWORD"
SECRET = "s3cret pass-Word"


class Vmrunner:
    """A CommandRunner standing in for vmrun: records each argv, answers with `answer(argv)`."""

    def __init__(self, answer: Callable[[list[str]], CommandResult]) -> None:
        self.answer = answer
        self.calls: list[list[str]] = []

    def run(self, argv: Sequence[str], timeout: float | None = None) -> CommandResult:
        self.calls.append(list(argv))
        return self.answer(list(argv))


def says(stdout: str, status: int = 0) -> Callable[[list[str]], CommandResult]:
    return lambda argv: CommandResult(status, stdout)


def touch(root: Path, *parts: str) -> Path:
    path = root.joinpath(*parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    path.chmod(0o755)
    return path


# ---- finding vmrun ----------------------------------------------------------------------------------

@pytest.mark.parametrize("platform, present, expected", [
    ("win32", ("C", "Program Files (x86)", "VMware", "VMware Workstation", "vmrun.exe"),
     r"C:\Program Files (x86)\VMware\VMware Workstation\vmrun.exe"),
    ("win32", ("C", "Program Files", "VMware", "VMware Workstation", "vmrun.exe"),
     r"C:\Program Files\VMware\VMware Workstation\vmrun.exe"),
    ("win32", ("C", "Program Files (x86)", "VMware", "VMware VIX", "vmrun.exe"),
     r"C:\Program Files (x86)\VMware\VMware VIX\vmrun.exe"),
    ("darwin", ("Applications", "VMware Fusion.app", "Contents", "Library", "vmrun"),
     "/Applications/VMware Fusion.app/Contents/Library/vmrun"),
    ("linux", ("usr", "bin", "vmrun"), "/usr/bin/vmrun"),
    ("linux", ("usr", "local", "bin", "vmrun"), "/usr/local/bin/vmrun"),
])
def test_vmrun_is_found_where_each_os_installs_it(tmp_path, platform, present, expected):
    touch(tmp_path, *present)
    assert locate_vmrun(platform=platform, environ={}, root=tmp_path) == expected


def test_path_comes_before_the_install_folders_and_may_hold_spaces(tmp_path):
    touch(tmp_path, "C", "Program Files (x86)", "VMware", "VMware Workstation", "vmrun.exe")
    touch(tmp_path, "D", "Lab Tools", "VMware Kit", "vmrun.exe")
    env = {"PATH": r"C:\Windows\System32;D:\Lab Tools\VMware Kit"}
    assert locate_vmrun(platform="win32", environ=env, root=tmp_path) == r"D:\Lab Tools\VMware Kit\vmrun.exe"
    touch(tmp_path, "opt", "vm ware", "bin", "vmrun")
    assert locate_vmrun(platform="linux", environ={"PATH": "/nowhere:/opt/vm ware/bin"},
                        root=tmp_path) == "/opt/vm ware/bin/vmrun"


def test_the_inventorys_path_wins_and_is_taken_as_it_is(tmp_path):
    touch(tmp_path, "C", "Program Files (x86)", "VMware", "VMware Workstation", "vmrun.exe")
    touch(tmp_path, "E", "VMware Workstation 17 (beta)", "vmrun.exe")
    given = r"E:\VMware Workstation 17 (beta)\vmrun.exe"
    assert locate_vmrun(given, platform="win32", environ={}, root=tmp_path) == given
    with pytest.raises(VmrunNotFound, match=r"backend.vmrun: there is no program at E:\\Elsewhere\\vmrun.exe"):
        locate_vmrun(r"E:\Elsewhere\vmrun.exe", platform="win32", environ={}, root=tmp_path)


def test_program_files_come_from_the_environment_on_windows():
    env = {"ProgramFiles(x86)": r"D:\Apps (x86)", "ProgramFiles": r"D:\Apps"}
    assert install_paths("win32", env)[:2] == [r"D:\Apps (x86)\VMware\VMware Workstation\vmrun.exe",
                                               r"D:\Apps\VMware\VMware Workstation\vmrun.exe"]


def test_a_miss_says_everywhere_it_looked(tmp_path):
    with pytest.raises(VmrunNotFound) as err:
        locate_vmrun(platform="win32", environ={"PATH": r"C:\Windows;C:\Tools"}, root=tmp_path)
    said = str(err.value)
    assert "not in any of the 2 PATH folders" in said and "give its path as backend.vmrun" in said
    for path in install_paths("win32", {}):
        assert path in said


def test_on_this_machine_a_file_that_cannot_run_is_not_vmrun(tmp_path):
    program = fake_vmrun.install(tmp_path / "bin with space")
    assert locate_vmrun(str(program)) == str(program)
    program.chmod(0o644)
    with pytest.raises(VmrunNotFound):
        locate_vmrun(str(program))
    fake_vmrun.install(tmp_path / "onpath")  # an OS without install paths still searches PATH
    assert locate_vmrun(platform="freebsd14", environ={"PATH": str(tmp_path / "onpath")}) == str(
        tmp_path / "onpath" / "vmrun")


# ---- argv, errors, and what vmrun prints ------------------------------------------------------------

def test_each_operation_is_one_argv_with_the_guest_account_first():
    runner = Vmrunner(says(""))
    tool = Vmrun(r"C:\Program Files (x86)\VMware\VMware Workstation\vmrun.exe", runner)
    login = GuestCredentials("lab user", SECRET)
    assert tool.run_program(VMX, r"C:\Windows\System32\cmd.exe", '/s /c "ipconfig /renew"', login) == 0
    tool.take_snapshot(VMX, "before class: NAT (clean)")
    assert runner.calls == [
        [tool.path, "-T", "ws", "-gu", "lab user", "-gp", SECRET, "runProgramInGuest", VMX,
         r"C:\Windows\System32\cmd.exe", '/s /c "ipconfig /renew"'],
        [tool.path, "-T", "ws", "snapshot", VMX, "before class: NAT (clean)"],
    ]
    assert SECRET not in repr(login) and SECRET not in repr(tool)


def test_the_password_is_masked_in_whatever_vmrun_or_the_runner_says():
    login = GuestCredentials("root", SECRET)
    echo = Vmrunner(says(f"Error: Invalid user name or password for the guest OS (-gp {SECRET})", 255))
    with pytest.raises(VmrunFailed) as err:
        Vmrun("/usr/bin/vmrun", echo).call("fileExistsInGuest", "/vm/x.vmx", "/etc/hosts", login=login)
    assert SECRET not in str(err.value) and "********" in str(err.value)

    class Slow:
        def run(self, argv, timeout=None):
            raise TransportError(f"vmrun: {' '.join(argv)} timed out after 1 s")

    with pytest.raises(VmrunFailed) as err:
        Vmrun("/usr/bin/vmrun", Slow()).run_program("/vm/x.vmx", "/bin/sh", "-c true", login)
    assert err.value.timed_out and SECRET not in str(err.value)


@pytest.mark.parametrize("stdout, status, reason", [
    ("Error: The virtual machine is not powered on: /vm/x.vmx\n", 255, "The virtual machine is not powered on: /vm/x.vmx"),
    ("Error: Invalid user name or password for the guest OS\r\n", 4294967295,
     "Invalid user name or password for the guest OS"),
    ("", 4294967295, "exited with status -1"),
    ("something odd\n", 3, "exited with status 3: something odd"),
])
def test_vmruns_failures_become_errors_with_its_reason(stdout, status, reason):
    with pytest.raises(VmrunFailed) as err:
        Vmrun("vmrun", Vmrunner(says(stdout, status))).call("listSnapshots", "/vm/x.vmx")
    assert err.value.reason == reason and err.value.verb == "listSnapshots"


@pytest.mark.parametrize("stdout, status, expected", [
    ("", 0, 0),
    ("Guest program exited with non-zero exit code: 3\n", 3, 3),
    ("Guest program exited with non-zero exit code: 1\n", 255, 1),  # the sentence wins over the status
    ("Error: Guest program exited with non-zero exit code: 2\n", 255, 2),
    ("", 5, 5),  # Workstation 8+: vmrun's status is the guest program's
])
def test_a_guest_programs_status_is_a_result(stdout, status, expected):
    login = GuestCredentials("root", SECRET)
    assert Vmrun("vmrun", Vmrunner(says(stdout, status))).run_program("/v.vmx", "/bin/sh", "-c x", login) == expected


def test_run_program_still_fails_on_an_error_line():
    with pytest.raises(VmrunFailed, match="The VMware Tools are not running"):
        Vmrun("vmrun", Vmrunner(says("Error: The VMware Tools are not running in the virtual machine\n", 255))
              ).run_program("/v.vmx", "/bin/sh", "-c x", GuestCredentials("root", SECRET))


def test_list_and_list_snapshots_parse_their_count_and_lines():
    assert parse_list("Total running VMs: 2\r\n/vms/web 1/web.vmx\r\nC:\\VMs\\Win 7\\Win 7.vmx\r\n") == [
        "/vms/web 1/web.vmx", "C:\\VMs\\Win 7\\Win 7.vmx"]
    assert parse_list("Total running VMs: 0\n") == []
    assert parse_snapshots("Total snapshots: 3\nbase\nbefore class\nLab 3: NAT (clean)\n") == [
        "base", "before class", "Lab 3: NAT (clean)"]
    for bad in ("", "Total snapshots: 2\nonly one\n", "Total running VMs: 1\n/x.vmx\n", "garbage\n"):
        with pytest.raises(ValueError):
            parse_snapshots(bad)
    with pytest.raises(VmrunFailed, match="unexpected output"):
        Vmrun("vmrun", Vmrunner(says("Total snapshots: 5\na\n"))).snapshot_names("/v.vmx")


def test_guest_address_and_file_existence():
    assert parse_ip("192.168.1.106\n") == IPv4Address("192.168.1.106")
    assert parse_ip("fe80::20c:29ff:fe3b:4c6d\n") is None
    with pytest.raises(ValueError):
        parse_ip("unknown\n")
    assert Vmrun("vmrun", Vmrunner(says("Error: Unable to get the IP address\n", 255))).guest_ip("/v.vmx") is None
    assert Vmrun("vmrun", Vmrunner(says("Error: The virtual machine is not powered on\n", 255))).guest_ip("/v") is None
    with pytest.raises(VmrunFailed, match="cannot be found"):
        Vmrun("vmrun", Vmrunner(says("Error: The virtual machine cannot be found\n", 255))).guest_ip("/v.vmx")
    assert (parse_exists("The file exists.\n"), parse_exists("The file does not exist.\r\n")) == (True, False)
    login = GuestCredentials("root", SECRET)
    assert Vmrun("vmrun", Vmrunner(says("The file does not exist.\n", 255))).exists("/v.vmx", "/x", login) is False


# ---- the Windows console, against a runner that answers as vmrun does --------------------------------

GERMAN_PING = ("\r\nPing wird ausgeführt für 10.0.0.1 mit 32 Bytes Daten:\r\n"
               "Zeitüberschreitung der Anforderung.\r\n").encode("cp850")


class WindowsGuest:
    """vmrun with a Windows guest: every program's output is the German ping above, in cp850 and CRLF."""

    def __init__(self) -> None:
        self.runner = Vmrunner(self.answer)

    def answer(self, argv: list[str]) -> CommandResult:
        verb = argv[7]
        if verb == "copyFileFromGuestToHost":
            Path(argv[-1]).write_bytes(GERMAN_PING if argv[-2].endswith(".out") else b"")
        if verb == "runProgramInGuest":
            return CommandResult(1, "Guest program exited with non-zero exit code: 1\n")
        return CommandResult(0, "")


def test_a_windows_command_runs_through_cmd_with_its_outputs_in_files(monkeypatch):
    monkeypatch.setenv(GUEST_ENV, SECRET)
    guest = WindowsGuest()
    console = VmrunConsole("win7", Vmrun("vmrun.exe", guest.runner), VMX, GuestLogin(user="Lab", password_env=GUEST_ENV),
                           "windows")
    res = console.run("ping -n 1 -w 1000 10.0.0.1")
    assert (res.exit_status, res.stdout, res.stderr) == (
        1, "\nPing wird ausgeführt für 10.0.0.1 mit 32 Bytes Daten:\nZeitüberschreitung der Anforderung.\n", "")
    made, ran = guest.runner.calls[0], guest.runner.calls[1]
    folder = made[-1]
    assert made[7] == "createDirectoryInGuest" and folder.startswith("C:\\Windows\\Temp\\labkit-")
    assert ran[7:10] == ["runProgramInGuest", VMX, r"C:\Windows\System32\cmd.exe"]
    assert ran[10] == (f'/s /c "(ping -n 1 -w 1000 10.0.0.1) <NUL >"{folder}\\1.out" 2>"{folder}\\1.err""')
    assert [c[7] for c in guest.runner.calls[2:]] == ["copyFileFromGuestToHost"] * 2
    console.run("ipconfig")  # the first command's output files go with the second's own line
    assert guest.runner.calls[4][10].startswith(f'/s /c "del /f /q "{folder}\\1.out" "{folder}\\1.err" >NUL 2>&1 & ')
    console.close()
    assert guest.runner.calls[-1][7:] == ["deleteDirectoryInGuest", VMX, folder]
    assert all(SECRET not in str(c) for c in guest.runner.calls if "-gp" not in c)


def test_a_windows_write_is_a_copy_then_move(monkeypatch):
    monkeypatch.setenv(GUEST_ENV, SECRET)
    runner = Vmrunner(says(""))
    console = VmrunConsole("win7", Vmrun("vmrun.exe", runner), VMX, GuestLogin(user="Lab", password_env=GUEST_ENV),
                           "windows")
    console.write_file(r"C:\labkit\hosts.txt", "10.0.0.1 host\n")
    copy = runner.calls[0]
    assert copy[7] == "copyFileFromHostToGuest" and copy[-1].startswith("C:\\labkit\\.hosts.txt.labkit-")
    line = runner.calls[2][10]
    assert f'move /y "{copy[-1]}" "C:\\labkit\\hosts.txt" >NUL || (del /f /q "{copy[-1]}" & exit /b 1)' in line
    with pytest.raises(TransportError, match="cannot hold"):
        console.write_file('C:\\labkit\\a"b.txt', "x")


def test_windows_output_is_decoded_tolerantly():
    assert decode_windows("Zeitüberschreitung\r\n".encode("utf-8")) == "Zeitüberschreitung\n"
    assert decode_windows("\ufeffAntwort\r\n".encode("utf-8")) == "Antwort\n"
    assert decode_windows(b"Zeit\x81berschreitung\r\n") == "Zeitüberschreitung\n"
    assert decode_windows(b"a\r\nb", crlf=False) == "a\r\nb"


def test_a_refused_guest_login_is_said_once_and_never_with_the_password(monkeypatch):
    monkeypatch.setenv(GUEST_ENV, SECRET)
    runner = Vmrunner(says("Error: Invalid user name or password for the guest OS\n", 255))
    console = VmrunConsole("web", Vmrun("vmrun", runner), "/vms/web.vmx", GuestLogin(user="root", password_env=GUEST_ENV))
    for _ in range(2):
        with pytest.raises(TransportError) as err:
            console.run("true")
        assert str(err.value) == f"web: guest login refused for user root (check the password in ${GUEST_ENV})"
    with pytest.raises(TransportError):
        console.read_file("/etc/hosts")
    assert len(runner.calls) == 1  # remembered: the account is not tried again (and not locked)
    monkeypatch.delenv(GUEST_ENV)
    with pytest.raises(InputError, match=rf"vms.web.guest_login.password_env: environment variable {GUEST_ENV} "
                                         "is not set"):
        VmrunConsole("web", Vmrun("vmrun", runner), "/vms/web.vmx", GuestLogin(user="root", password_env=GUEST_ENV))


# ---- capabilities and the lab ---------------------------------------------------------------------------

def workstation_data(backend: dict, **vm_updates) -> dict:
    data = load(REPO / "inventory" / "workstation-vmrest.yml").data
    data["backend"] = {"type": "workstation", **backend}
    data["host"]["os"] = "macos"  # no host adapters to find on this machine
    for vm in data["vms"]:
        vm.update(vm_updates.get(vm["name"], {}))
    return data


LOGIN = {"guest_login": {"user": "Administrator", "password_env": GUEST_ENV}}
VMX_FILES = {"centos": {"path": "/vms/centos/centos.vmx"}, "win7": {"path": "/vms/win7/Windows 7.vmx"},
             "nat2": {"path": "/vms/nat2/nat2.vmx"}}


@pytest.mark.parametrize("backend, logins, expected", [
    ({}, False, {"links", "snapshots"}),  # .vmx files: labkit is on the host, vmrun is there
    ({}, True, {"links", "snapshots", "console"}),
    ({"user": "u", "password_env": "PW"}, True, {"snapshots", "console"}),  # vmrest on loopback
    ({"host": "192.0.2.10", "user": "u", "password_env": "PW"}, True, set()),  # another machine: no vmrun
])
def test_console_and_snapshots_are_declared_without_io_and_the_lab_agrees(backend, logins, expected, monkeypatch):
    monkeypatch.setenv("PW", "vmrest-password")  # the vmrest client is made, never asked
    updates = {name: {**VMX_FILES[name], **(LOGIN if logins and name == "win7" else {})} for name in VMX_FILES}
    inv = inventory_from_data(workstation_data(backend, **updates), "x")
    assert capabilities(inv) == frozenset(expected)
    lab = WorkstationLab(inv, platform="linux")  # nothing is looked up yet (vmrun is found when used)
    try:
        assert (lab.console is not None) == ("console" in expected)
        assert (lab.snapshots is not None) == ("snapshots" in expected)
    finally:
        lab.close()


def test_only_vms_with_a_guest_login_have_the_console_and_one_without_ssh_goes_straight_to_it(monkeypatch):
    monkeypatch.setenv(GUEST_ENV, SECRET)
    updates = {name: dict(VMX_FILES[name]) for name in VMX_FILES}
    updates["win7"].update(LOGIN)
    inv = inventory_from_data(workstation_data({}, **updates), "x")
    lab = WorkstationLab(inv, platform="linux", vmrun_runner=Vmrunner(says("")))
    try:
        assert lab.console is not None
        assert lab.console.reaches("win7") and not lab.console.reaches("centos") and not lab.console.reaches("host")
        with pytest.raises(TransportError, match="centos: the inventory gives no guest_login"):
            lab.open_console("centos")
        t = lab.transport("win7")
        assert isinstance(t, FallbackTransport) and lab._ssh_address("win7") is None  # no ssh: the console only
        inv_no_vmrun = inv.model_copy(update={"backend": inv.backend.model_copy(update={"vmrun": "/no/vmrun"})})
        other = WorkstationLab(inv_no_vmrun, platform="linux")
        with pytest.raises(TransportError, match=r"win7: no vmrun console: backend.vmrun: there is no program at /no"):
            other.open_console("win7")
        other.close()
    finally:
        lab.close()


def test_vmrun_list_is_asked_before_a_console_opens(tmp_path, monkeypatch):
    """A .vmx that is a file here must be among the running VMs (the same file, or one of the same
    name, as vmrun may spell the path otherwise); otherwise the console is refused at once."""
    monkeypatch.setenv(GUEST_ENV, SECRET)
    vmx = tmp_path / "Win 7" / "Windows 7.vmx"
    vmx.parent.mkdir()
    vmx.write_text("")
    updates = {name: dict(VMX_FILES[name]) for name in VMX_FILES}
    updates["win7"].update(LOGIN, path=str(vmx))
    inv = inventory_from_data(workstation_data({"vmrun": str(fake_vmrun.install(tmp_path / "bin"))}, **updates), "x")
    for listed, running in (([str(vmx)], True), (["/mnt/Other Spelling/windows 7.VMX"], True),
                            (["/vms/nat2/nat2.vmx"], False), ([], False)):
        text = f"Total running VMs: {len(listed)}\n" + "".join(f"{p}\n" for p in listed)
        lab = WorkstationLab(inv, platform="linux", vmrun_runner=Vmrunner(says(text)))
        try:
            if running:
                assert lab.open_console("win7").name == "win7"
            else:
                with pytest.raises(TransportError, match=r"win7 is not running: vmrun list does not show .*"
                                                         r"Windows 7.vmx \(no vmrun console\)"):
                    lab.open_console("win7")
        finally:
            lab.close()


def test_ssh_follows_the_address_vmrun_reports_when_the_inventorys_is_the_guests_own(tmp_path):
    """After a mode switch the inventory's address is stale: SSH goes where VMware Tools says the
    guest is (vmrun getGuestIPAddress in .vmx mode); an address outside the lab (a port forward)
    is kept, and vmrun is not asked for it."""
    program = fake_vmrun.install(tmp_path / "bin")
    updates = {name: dict(VMX_FILES[name]) for name in VMX_FILES}
    updates["centos"].update(LOGIN)  # ssh.address 10.0.0.101, inside the NAT network
    updates["nat2"].update(LOGIN, ssh={"address": "127.0.0.1", "port": 2222})
    inv = inventory_from_data(workstation_data({"vmrun": str(program)}, **updates), "x")
    answers = {"getGuestIPAddress": CommandResult(0, "10.0.0.150\n")}
    runner = Vmrunner(lambda argv: answers.get(argv[3], CommandResult(0, "")))
    lab = WorkstationLab(inv, platform="linux", vmrun_runner=runner)
    try:
        assert lab._ssh_address("centos") == "10.0.0.150"
        assert runner.calls[-1] == [str(program), "-T", "ws", "getGuestIPAddress", "/vms/centos/centos.vmx"]
        assert lab.guest_address("centos", "eth0") == IPv4Address("10.0.0.150")
        answers["getGuestIPAddress"] = CommandResult(255, "Error: Unable to get the IP address\n")
        assert lab._ssh_address("centos") == "10.0.0.101"  # nothing reported yet: the inventory's
        calls = len(runner.calls)
        assert lab._ssh_address("nat2") == "127.0.0.1" and len(runner.calls) == calls
    finally:
        lab.close()


def test_with_vmrest_the_vmx_path_comes_from_its_library(fake_vmrest, vmrest_password, tmp_path):
    data = workstation_data({"port": fake_vmrest.port, "user": "labkit", "password_env": "LABKIT_VMREST_PASSWORD",
                             "vmrun": str(fake_vmrun.install(tmp_path / "bin"))}, win7=LOGIN)
    inv = inventory_from_data(data, "x")
    lab = WorkstationLab(inv, platform="linux")
    try:
        assert lab.has_console("win7")  # no path in the inventory: vmrest knows it
        win7 = next(vm for vm in fake_vmrest.vms.values() if vm.display_name == "Windows 7")
        assert lab.vmx_path("win7") == win7.path
        assert lab.vmx_path("centos") == inv.vm("centos").path
    finally:
        lab.close()


# ---- snapshots, against the test vmrun (it needs no guest for them) -----------------------------------

@pytest.fixture
def snapshot_lab(tmp_path, monkeypatch):
    vmx = tmp_path / "VMs" / "Win 7" / "Windows 7.vmx"
    vmx.parent.mkdir(parents=True)
    vmx.write_text('.encoding = "UTF-8"\n')
    monkeypatch.setenv(fake_vmrun.GUESTS_ENV, str(fake_vmrun.write_guests(tmp_path / "guests.json", {})))
    updates = {name: dict(VMX_FILES[name]) for name in VMX_FILES}
    updates["win7"]["path"] = str(vmx)
    data = workstation_data({"vmrun": str(fake_vmrun.install(tmp_path / "bin"))}, **updates)
    lab = WorkstationLab(inventory_from_data(data, "x"), platform="linux")
    yield lab, vmx
    lab.close()


def test_snapshots_are_taken_once_listed_and_reverted_by_name(snapshot_lab):
    lab, vmx = snapshot_lab
    snaps = lab.snapshots
    assert snaps is not None and snaps.snapshot_names("win7") == []
    assert snaps.take_snapshot("win7", "before class", "a description vmrun cannot keep") is True
    assert snaps.take_snapshot("win7", "Lab 3: NAT (clean)") is True
    assert snaps.take_snapshot("win7", "before class") is False  # already there: nothing taken
    assert snaps.snapshot_names("win7") == ["before class", "Lab 3: NAT (clean)"]
    snaps.revert_snapshot("win7", "before class")
    assert json.loads(Path(f"{vmx}.snapshots.json").read_text())["current"] == "before class"
    with pytest.raises(BackendError, match=r"win7: no snapshot 'after' to revert to \(its snapshots: "
                                           r"'before class', 'Lab 3: NAT \(clean\)'\)"):
        snaps.revert_snapshot("win7", "after")
    with pytest.raises(BackendError, match="cannot be a Workstation snapshot name"):
        snaps.take_snapshot("win7", "parent/child")


def test_an_ambiguous_or_unreachable_snapshot_is_a_clear_error(snapshot_lab, tmp_path):
    lab, vmx = snapshot_lab
    program = str(tmp_path / "bin" / "vmrun")
    for _ in range(2):  # Workstation allows two snapshots of one name; labkit never takes the second
        subprocess.run([program, "-T", "ws", "snapshot", str(vmx), "twin"], check=True)
    with pytest.raises(BackendError, match="win7: 2 snapshots named 'twin' to revert to"):
        lab.snapshots.revert_snapshot("win7", "twin")
    with pytest.raises(BackendError, match=r"centos: vmrun listSnapshots: Cannot open VM: /vms/centos/centos.vmx"):
        lab.snapshots.snapshot_names("centos")


# ---- the test vmrun's own command line (no guest needed) ---------------------------------------------

def test_the_test_vmrun_answers_with_vmruns_words_and_statuses(tmp_path, monkeypatch):
    program = str(fake_vmrun.install(tmp_path / "bin"))
    monkeypatch.setenv(fake_vmrun.GUESTS_ENV, str(fake_vmrun.write_guests(
        tmp_path / "guests.json", {"/vms/off.vmx": {"pid": 1, "power": "off"}})))
    monkeypatch.setenv(fake_vmrun.PASSWORD_ENV, SECRET)

    def vmrun(*args: str) -> tuple[int, str]:
        done = subprocess.run([program, *args], capture_output=True, text=True, check=False)
        return done.returncode, done.stdout

    assert vmrun("-T", "ws", "list") == (0, "Total running VMs: 0\n")
    assert vmrun("-T", "ws", "-gu", "root", "-gp", SECRET, "runProgramInGuest", "/vms/off.vmx", "/bin/true") == (
        255, "Error: The virtual machine is not powered on\n")
    assert vmrun("-T", "ws", "getGuestIPAddress", "/vms/unmapped.vmx") == (
        255, "Error: The virtual machine is not powered on\n")
    assert vmrun("-T", "ws", "noSuchCommand") == (255, "Error: Unrecognized command: noSuchCommand\n")
    assert vmrun("-T", "ws", "listSnapshots", "/vms/missing.vmx") == (
        255, "Error: Cannot open VM: /vms/missing.vmx, The virtual machine cannot be found\n")
