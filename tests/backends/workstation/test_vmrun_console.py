"""The vmrun console (labkit/backends/workstation/vmrun_console.py) with a real guest behind it.

The test vmrun (fake_vmrun.py) is put where labkit looks for vmrun (backend.vmrun names the
`vmrun` wrapper it installs in a folder of the test's own) and runs its guest operations inside a
netns lab VM (tests/backends/workstation/vmrun-netns.yml, a lab of its own name), entered through
the VM's init process, as tests/vcsim/guestops.go does for vcsim. What the console does is checked
from the netns side with the netns backend's own console (nsenter), never through the console
under test. Needs root and the lab's packages; skips elsewhere, fails under CI=true.

The .vmx files are real files in a folder with spaces in its name: `wx.vmx` is mapped to the
guest, `off.vmx` to the same guest but marked powered off, `unmapped.vmx` to nothing.
"""

from __future__ import annotations

import json
import secrets
import socket
from pathlib import Path
from types import SimpleNamespace

import pytest

from labkit.backends.netns.nsexec import ConsoleTransport
from labkit.backends.workstation.lab import WorkstationLab
from labkit.backends.workstation.vmrun import Vmrun
from labkit.backends.workstation.vmrun_console import VmrunConsole
from labkit.errors import InputError, TransportError
from labkit.inventory import inventory_from_data, load_inventory
from labkit.model import GuestLogin
from tests.backends.netns.conftest import lab_built
from tests.backends.workstation import fake_vmrun

NETNS_INVENTORY = Path(__file__).with_name("vmrun-netns.yml")
GUEST_ENV = "LABKIT_TEST_VMRUN_GUEST_PASSWORD"
VMX_TEXT = """\
.encoding = "UTF-8"
displayName = "wx"
ethernet0.present = "TRUE"
ethernet0.connectionType = "nat"
ethernet0.addressType = "generated"
ethernet0.generatedAddress = "00:0c:29:78:00:01"
"""


@pytest.fixture(scope="module")
def guest():
    """The netns lab `workstation-vmrun` (always torn down), and the netns console into its VM `wx`."""
    with lab_built(load_inventory(NETNS_INVENTORY)) as state:
        pid = state["vms"]["wx"]["init_pid"]
        yield SimpleNamespace(pid=pid, netns=ConsoleTransport("wx", pid))


@pytest.fixture(scope="module")
def host(guest, tmp_path_factory):
    """The Workstation host's side: .vmx files, the test vmrun, the map from .vmx to guest."""
    top = tmp_path_factory.mktemp("vmrun host") / "Virtual Machines"
    vmx = {}
    for name in ("wx", "off", "unmapped"):
        path = top / name / f"{name}.vmx"
        path.parent.mkdir(parents=True)
        path.write_text(VMX_TEXT)
        vmx[name] = str(path)
    guests = fake_vmrun.write_guests(top.parent / "guests.json", {vmx["wx"]: {"pid": guest.pid, "power": "on"},
                                                                  vmx["off"]: {"pid": guest.pid, "power": "off"}})
    return SimpleNamespace(vmx=vmx, guests=guests, password=secrets.token_urlsafe(12),
                           program=fake_vmrun.install(top.parent / "bin"))


@pytest.fixture
def env(host, monkeypatch, tmp_path):
    """The test vmrun's map and guest password, labkit's guest password variable, and a call log."""
    log = tmp_path / "vmrun-calls.jsonl"
    monkeypatch.setenv(fake_vmrun.GUESTS_ENV, str(host.guests))
    monkeypatch.setenv(fake_vmrun.PASSWORD_ENV, host.password)
    monkeypatch.setenv(fake_vmrun.LOG_ENV, str(log))
    monkeypatch.setenv(GUEST_ENV, host.password)
    return log


def calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def console(host, env):
    c = VmrunConsole("wx", Vmrun(str(host.program)), host.vmx["wx"], GuestLogin(user="root", password_env=GUEST_ENV))
    yield c
    c.close()


def namespaces(channel) -> str:
    return channel.run("readlink /proc/self/ns/net /proc/self/ns/mnt /proc/self/ns/uts").stdout


# ---- running commands ----

def test_a_command_runs_inside_the_netns_guest_with_its_outputs_and_exit_code(console, guest):
    assert console.kind == "vmrun" and console.name == "wx"
    res = console.run("printf 'out 1\\nout 2\\n'; echo \"it's stderr\" >&2; exit 7")
    assert (res.exit_status, res.stdout, res.stderr) == (7, "out 1\nout 2\n", "it's stderr\n")
    inside = console.run("readlink /proc/self/ns/net /proc/self/ns/mnt /proc/self/ns/uts; hostname")
    assert inside.stdout == namespaces(guest.netns) + "wx\n"
    assert "10.78.0.10/24" in console.run("ip -4 -o addr show dev eth0").stdout


def test_failing_and_missing_commands_are_results_not_errors(console):
    res = console.run("ls /no/such/dir")
    assert res.exit_status == 2 and res.stdout == "" and "No such file" in res.stderr
    res = console.run("no-such-program-labkit")
    assert res.exit_status == 127 and "not found" in res.stderr
    assert console.run("true").ok


def test_a_command_past_its_timeout_is_stopped_in_the_guest_and_reported(console, guest):
    with pytest.raises(TransportError, match=r"wx: command timed out after 1 s \(vmrun console\)"):
        console.run("sleep 37.5", timeout=1)
    assert guest.netns.run("ps -eo args | grep -c '^sleep 37.5' || true").stdout.strip() == "0"
    assert console.run("echo still here").stdout == "still here\n"


def test_output_files_go_with_the_next_command_and_the_folder_on_close(console, guest, env):
    console.run("echo one")
    folder = console._dir
    assert folder and folder.startswith("/tmp/labkit-")
    assert guest.netns.run(f"stat -c %a {folder}").stdout == "700\n"  # private to the guest account
    console.run("echo two")
    assert sorted(guest.netns.run(f"ls -A {folder}").stdout.split()) == ["4.err", "4.out"]  # the last command's
    assert [c["verb"] for c in calls(env)][-3:] == ["runProgramInGuest", "copyFileFromGuestToHost",
                                                    "copyFileFromGuestToHost"]  # three vmrun calls a command
    console.close()
    assert not guest.netns.run(f"test -e {folder}").ok


# ---- files ----

def test_write_then_read_round_trip_with_mode_seen_from_the_netns_side(console, guest):
    text = "IPADDR='10.78.0.10'\n# ünïcode, \"quotes\", $dollar and `ticks`\n"
    console.write_file("/etc/labkit-vmrun.conf", text, mode=0o640)
    assert guest.netns.read_file("/etc/labkit-vmrun.conf") == text
    assert guest.netns.run("stat -c %a /etc/labkit-vmrun.conf").stdout == "640\n"
    assert console.read_file("/etc/labkit-vmrun.conf") == text
    assert not Path("/etc/labkit-vmrun.conf").exists()  # the guest's /etc is its own, not the host's
    console.write_file("/etc/labkit-vmrun.conf", "second\n", mode=0o600)  # replaces the file
    assert guest.netns.read_file("/etc/labkit-vmrun.conf") == "second\n"
    assert guest.netns.run("stat -c %a /etc/labkit-vmrun.conf").stdout == "600\n"
    assert ".labkit-" not in guest.netns.run("ls -A /etc").stdout  # no temp file left behind


def test_reading_a_missing_file_is_file_not_found(console, env):
    with pytest.raises(FileNotFoundError) as err:
        console.read_file("/etc/labkit-no-such-file")
    assert err.value.filename == "/etc/labkit-no-such-file"
    assert [c["verb"] for c in calls(env)] == ["copyFileFromGuestToHost", "fileExistsInGuest"]


def test_writing_into_a_missing_directory_is_a_clear_error(console):
    with pytest.raises(TransportError, match=r"wx: cannot write /no/such/dir/f: no directory /no/such/dir"):
        console.write_file("/no/such/dir/f", "x\n")


# ---- refusals ----

def test_a_wrong_guest_password_is_refused_once_without_showing_it(host, env, monkeypatch):
    wrong = "wrong-" + secrets.token_hex(4)
    monkeypatch.setenv(GUEST_ENV, wrong)
    console = VmrunConsole("wx", Vmrun(str(host.program)), host.vmx["wx"], GuestLogin(user="root", password_env=GUEST_ENV))
    try:
        for _ in range(2):  # the second refusal comes from memory, worded the same
            with pytest.raises(TransportError) as err:
                console.run("true")
            assert str(err.value) == f"wx: guest login refused for user root (check the password in ${GUEST_ENV})"
            assert wrong not in str(err.value) and wrong not in repr(console)
        assert len(calls(env)) == 1  # vmrun was asked once: the guest account is not locked by retries
    finally:
        console.close()


def test_a_missing_guest_password_variable_is_named(host, env, monkeypatch):
    monkeypatch.delenv(GUEST_ENV)
    with pytest.raises(InputError, match=rf"vms.wx.guest_login.password_env: environment variable {GUEST_ENV} "
                                         r"is not set"):
        VmrunConsole("wx", Vmrun(str(host.program)), host.vmx["wx"], GuestLogin(user="root", password_env=GUEST_ENV))


@pytest.mark.parametrize("which", ["off", "unmapped"])
def test_a_powered_off_vm_has_no_console(host, env, which):
    console = VmrunConsole("wx", Vmrun(str(host.program)), host.vmx[which],
                           GuestLogin(user="root", password_env=GUEST_ENV))
    with pytest.raises(TransportError, match=r"wx is powered off: no vmrun console \(vmrun: The virtual machine is "
                                             r"not powered on\)"):
        console.run("true")
    lab = workstation_lab(host, {"path": host.vmx[which]})
    try:  # the lab asks `vmrun list` first
        with pytest.raises(TransportError, match=r"wx is not running: vmrun list does not show .*/"
                                                 rf"{which}\.vmx \(no vmrun console\)"):
            lab.open_console("wx")
    finally:
        lab.close()


# ---- the console in a Workstation lab ----

def workstation_data(host, vm: dict) -> dict:
    """A Workstation lab on this machine (.vmx files, host os linux) mirroring the netns lab's segment."""
    return {
        "lab": "workstation-vmrun-run",
        "backend": {"type": "workstation", "vmrun": str(host.program)},
        "host": {"lan_address": "192.168.78.100", "os": "linux"},
        "lan": {"subnet": "192.168.78.0/24", "router": "192.168.78.1"},
        "externals": {"natdev": {"address": "10.78.0.2"}, "nobody": {"address": "10.78.0.99"}},
        "networks": {"nat": {"type": "nat", "backend_network": "VMnet8", "subnet": "10.78.0.0/24",
                             "host_adapter": {"address": "10.78.0.1", "enabled": True}, "gateway": "10.78.0.2"}},
        "vms": [{"name": "wx", "os": "linux", "dialect": "ifupdown", "path": host.vmx["wx"],
                 "guest_login": {"user": "root", "password_env": GUEST_ENV},
                 "adapters": [{"interface": "eth0", "mac": "00:0c:29:78:00:01", "network": "nat",
                               "config": {"address": "10.78.0.10/24", "gateway": "10.78.0.2"}}], **vm}],
    }


def workstation_lab(host, vm: dict) -> WorkstationLab:
    return WorkstationLab(inventory_from_data(workstation_data(host, vm), "inv.yml"), platform="linux")


def test_transport_falls_back_to_the_console_when_ssh_cannot_get_there(host, env, tmp_path):
    """The inventory's SSH address does not answer (a closed port, as after a move to another
    network): a VM with a guest_login carries on through vmrun."""
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    lab = workstation_lab(host, {"ssh": {"address": "127.0.0.1", "port": closed, "connect_timeout": 2,
                                         "known_hosts": str(tmp_path / "kh")}})
    try:
        t = lab.transport("wx")
        assert t.run("hostname").stdout == "wx\n"
        assert t.kind == "vmrun" and t.used == ["vmrun"]
        t.write_file("/tmp/labkit-fallback", "via vmrun\n")
        assert t.read_file("/tmp/labkit-fallback") == "via vmrun\n"
        assert t.used == ["vmrun"] * 3  # the dead address is not tried again
    finally:
        lab.close()


def test_a_vm_without_ssh_is_configured_restarted_and_probed_through_the_console(host, env, guest, tmp_path):
    """The tutorial's win7 has no sshd: configure_guest, restart_network and a ping matrix from it
    go through vmrun alone (here a Debian guest: its interfaces file and real ifdown/ifup), and the
    guest's new address is what vmrun getGuestIPAddress reports afterwards."""
    from labkit.playbook import load_checked
    from labkit.runner import run_playbook

    (tmp_path / "inv.yml").write_text(json.dumps(workstation_data(host, {})))
    (tmp_path / "pb.yml").write_text(json.dumps({"name": "vmrun-console", "steps": [
        {"name": "readdress", "configure_guest": {"vms": ["wx"], "interface": "eth0",
                                                  "address": "10.78.0.20/24", "gateway": "10.78.0.2"}},
        {"name": "restart", "restart_network": {"vms": ["wx"], "interface": "eth0"}},
        {"name": "matrix", "ping_matrix": {"sources": ["wx"], "targets": ["natdev", "nobody"], "count": 1,
                                           "expect": {"cells": [
                                               {"from": "wx", "to": "natdev", "result": "reachable"},
                                               {"from": "wx", "to": "nobody", "result": "unreachable"}]}}},
    ]}))
    pb, inv = load_checked(tmp_path / "pb.yml", tmp_path / "inv.yml")
    lab = WorkstationLab(inv, platform="linux")
    try:
        assert lab.console is not None and lab.console.reaches("wx")
        result = run_playbook(pb, lab)
        details = [(s.name, s.error, {n: (r.ok, r.error, r.detail) for n, r in s.vms.items()}) for s in result.steps]
        assert result.ok, details
        assert result.steps[0].vms["wx"].detail == "eth0: 10.78.0.20/24 (written, via vmrun)"
        assert result.steps[1].vms["wx"].detail == "eth0 restarted (via vmrun)"
        matrix = result.steps[2].matrix
        assert matrix.cell("wx", "natdev").observed.verdict == "reachable"
        assert matrix.cell("wx", "nobody").observed.verdict == "unreachable"
        assert str(lab.guest_address("wx", "eth0")) == "10.78.0.20"
    finally:
        lab.close()
    addr = guest.netns.run("ip -4 -o addr show dev eth0").stdout
    assert "10.78.0.20/24" in addr and "10.78.0.10/" not in addr
    assert "address 10.78.0.20/24" in guest.netns.read_file("/etc/network/interfaces")
