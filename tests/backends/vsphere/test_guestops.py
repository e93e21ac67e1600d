"""The VMware Tools console (labkit/vsphere/guestops.py) against vcsim, with a real guest behind it.

vcsim 0.24.2 has no guest operations, so tests/vcsim/guestops.go provides them: each mapped vcsim
VM's programs and files are run and read inside a netns lab VM (tests/backends/vsphere/guestops-netns.yml,
a lab of its own name). What the console does is checked from the netns side with the netns
backend's own console (nsenter), never through the console under test.

DC0_C0_RP0_VM0, VM2 and VM3 all stand for the one netns guest `gx` (VM2 is powered off by one test,
VM3 has its Tools stopped by another); VM1 has no guest behind it.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from pathlib import Path

import pytest
from pyVmomi import vim

from labkit.errors import InputError, TransportError
from labkit.backends.vsphere.lab import VsphereLab
from labkit.inventory import load_inventory
from labkit.backends.netns.nsexec import ConsoleTransport
from tests.backends.vsphere.conftest import Probe, sim_inventory, start_vcsim, stop_vcsim, vm_entry
from tests.backends.netns.conftest import lab_built
from tests.contract.guests import SshForwarder

NETNS_INVENTORY = Path(__file__).with_name("guestops-netns.yml")
GUEST_ENV = "LABKIT_TEST_GUEST_PASSWORD"
MAPPED, UNMAPPED, TO_POWER_OFF, TOOLS_STOPPED = 0, 1, 2, 3


@pytest.fixture(scope="module")
def guest():
    """The netns lab `vsphere-guestops` (always torn down), and a console into its VM `gx`."""
    with lab_built(load_inventory(NETNS_INVENTORY)) as state:
        pid = state["vms"]["gx"]["init_pid"]
        yield pid, ConsoleTransport("gx", pid)


@pytest.fixture(scope="module")
def tools_sim(guest, tmp_path_factory):
    """A vcsim of this module's own, whose VM0, VM2 and VM3 run their guest operations in `gx`."""
    pid, _ = guest
    password = secrets.token_urlsafe(12)
    mapping = ",".join(f"DC0_C0_RP0_VM{n}={pid}" for n in (MAPPED, TO_POWER_OFF, TOOLS_STOPPED))
    sim = start_vcsim(tmp_path_factory.mktemp("vcsim-guestops"), "-vm", "4", "-guest-exec", mapping,
                      "-guest-user", "root", env={"VCSIM_GUEST_PASSWORD": password})
    sim.guest_password = password
    yield sim
    stop_vcsim(sim)


@pytest.fixture
def env(tools_sim, monkeypatch):
    monkeypatch.setenv("LABKIT_VSPHERE_PASSWORD", tools_sim.password)
    monkeypatch.setenv(GUEST_ENV, tools_sim.guest_password)


def lab_for(sim, n: int = MAPPED, login: bool = True, extra: list[dict] | None = None) -> VsphereLab:
    entry = vm_entry("gx", n)
    if login:
        entry["guest_login"] = {"user": "root", "password_env": GUEST_ENV}
    return VsphereLab(sim_inventory(sim, [entry, *(extra or [])]))


@pytest.fixture
def lab(tools_sim, env):
    lab = lab_for(tools_sim)
    yield lab
    lab.close()


def netns_id(channel) -> str:
    return channel.run("readlink /proc/self/ns/net /proc/self/ns/mnt /proc/self/ns/uts").stdout


# ---- running commands ----

def test_a_command_runs_inside_the_netns_guest_with_its_outputs_and_exit_code(lab, guest):
    _, netns_console = guest
    console = lab.console.open("gx")
    assert console.kind == "vmware-tools" and console.name == "gx"
    res = console.run("printf 'out 1\\nout 2\\n'; echo \"it's stderr\" >&2; exit 7")
    assert (res.exit_status, res.stdout, res.stderr) == (7, "out 1\nout 2\n", "it's stderr\n")
    # the same network, mount and UTS namespaces as the netns VM's own console, not the host's
    inside = console.run("readlink /proc/self/ns/net /proc/self/ns/mnt /proc/self/ns/uts; hostname")
    assert inside.stdout == netns_id(netns_console) + "gx\n"
    assert netns_id(netns_console) != "".join(os.readlink(f"/proc/self/ns/{k}") + "\n" for k in ("net", "mnt", "uts"))
    assert "10.77.0.10/24" in console.run("ip -4 -o addr show dev eth0").stdout


def test_failing_and_missing_commands_are_results_not_errors(lab):
    console = lab.console.open("gx")
    res = console.run("ls /no/such/dir")
    assert res.exit_status == 2 and res.stdout == "" and "No such file" in res.stderr
    res = console.run("no-such-program-labkit")
    assert res.exit_status == 127 and "not found" in res.stderr
    assert console.run("true").ok


def test_a_command_that_outlives_its_timeout_is_killed_and_reported(lab, guest):
    _, netns_console = guest
    console = lab.console.open("gx")
    with pytest.raises(TransportError, match=r"gx: command timed out after 1 s"):
        console.run("sleep 37.5", timeout=1)
    left = netns_console.run("ps -eo args | grep -c '^sleep 37.5' || true").stdout.strip()
    assert left == "0"


def test_output_files_are_cleaned_up_and_the_temp_dir_goes_on_close(tools_sim, env, guest):
    _, netns_console = guest
    lab = lab_for(tools_sim)
    console = lab.console.open("gx")
    console.run("echo hi")
    tmpdir = console._tmpdir
    assert tmpdir and netns_console.run(f"ls -A {tmpdir}").stdout == ""
    lab.close()
    assert not netns_console.run(f"test -e {tmpdir}").ok


# ---- files ----

def test_write_then_read_round_trip_with_mode_seen_from_the_netns_side(lab, guest):
    _, netns_console = guest
    console = lab.console.open("gx")
    text = "IPADDR='10.77.0.10'\n# ünïcode, \"quotes\", $dollar and `ticks`\n"
    console.write_file("/etc/labkit-guestops.conf", text, mode=0o640)
    assert netns_console.read_file("/etc/labkit-guestops.conf") == text
    assert netns_console.run("stat -c %a /etc/labkit-guestops.conf").stdout == "640\n"
    assert console.read_file("/etc/labkit-guestops.conf") == text
    assert not Path("/etc/labkit-guestops.conf").exists()  # the guest's /etc is its own, not the host's

    console.write_file("/etc/labkit-guestops.conf", "second\n", mode=0o600)  # replaces the file
    assert netns_console.read_file("/etc/labkit-guestops.conf") == "second\n"
    assert netns_console.run("stat -c %a /etc/labkit-guestops.conf").stdout == "600\n"
    assert ".labkit-" not in netns_console.run("ls -A /etc").stdout  # no temp file left behind


def test_reading_a_missing_file_is_file_not_found(lab):
    with pytest.raises(FileNotFoundError) as err:
        lab.console.open("gx").read_file("/etc/labkit-no-such-file")
    assert err.value.filename == "/etc/labkit-no-such-file"


def test_writing_into_a_missing_directory_is_a_clear_error(lab):
    with pytest.raises(TransportError, match=r"gx: cannot write /no/such/dir/f: no directory /no/such/dir"):
        lab.console.open("gx").write_file("/no/such/dir/f", "x\n")


# ---- refusals ----

def test_a_wrong_guest_password_is_refused_without_showing_it(tools_sim, env, monkeypatch):
    wrong = "wrong-" + secrets.token_hex(4)
    monkeypatch.setenv(GUEST_ENV, wrong)
    lab = lab_for(tools_sim)
    try:
        console = lab.console.open("gx")
        for _ in range(2):  # the second refusal comes from memory, worded the same
            with pytest.raises(TransportError) as err:
                console.run("true")
            assert str(err.value) == f"gx: guest login refused for user root (check the password in ${GUEST_ENV})"
            assert wrong not in str(err.value) and wrong not in repr(console)
    finally:
        lab.close()


def test_a_missing_guest_password_variable_is_named(tools_sim, env, monkeypatch):
    monkeypatch.delenv(GUEST_ENV)
    lab = lab_for(tools_sim)
    try:
        with pytest.raises(InputError, match=rf"vms.gx.guest_login.password_env: environment variable {GUEST_ENV} "
                                             r"is not set"):
            lab.console.open("gx")
    finally:
        lab.close()


def test_tools_not_running_is_refused_by_labkit_and_by_the_server(tools_sim, env):
    probe = Probe(tools_sim)
    lab = lab_for(tools_sim, TOOLS_STOPPED)
    try:
        assert lab.console.open("gx").run("true").ok  # mapped, Tools running
        lab.close()
        set_tools(probe, TOOLS_STOPPED, "guestToolsNotRunning")
        lab = lab_for(tools_sim, TOOLS_STOPPED)
        with pytest.raises(TransportError, match=r"gx: VMware Tools is not running in the guest "
                                                 r"\(guestToolsNotRunning\); the console needs it"):
            lab.console.open("gx")
        # vcsim's guest operations refuse too, as vSphere does, when a client does not check first
        with pytest.raises(vim.fault.GuestOperationsUnavailable):
            start_true(probe, TOOLS_STOPPED, tools_sim.guest_password)
    finally:
        set_tools(probe, TOOLS_STOPPED, "guestToolsRunning")
        lab.close()
        probe.close()


def test_a_powered_off_vm_has_no_console(tools_sim, env):
    lab = lab_for(tools_sim, TO_POWER_OFF)
    try:
        lab.hypervisor.set_power("gx", False)
        with pytest.raises(TransportError, match=r"gx is powered off: no VMware Tools console"):
            lab.console.open("gx")
    finally:
        lab.hypervisor.set_power("gx", True)
        lab.close()


def test_a_vm_with_no_guest_behind_it_fails_with_the_simulators_reason(tools_sim, env):
    probe = Probe(tools_sim)
    set_tools(probe, UNMAPPED, "guestToolsRunning")  # Tools "running", but nothing to run in
    lab = lab_for(tools_sim, UNMAPPED)
    try:
        with pytest.raises(TransportError, match=r"gx: VMware Tools guest operations are unavailable: vcsim: "
                                                 r"DC0_C0_RP0_VM1 has no netns guest behind it"):
            lab.console.open("gx").run("true")
    finally:
        lab.close()
        probe.close()


def test_transport_falls_back_to_tools_when_ssh_cannot_get_there(tools_sim, env, tmp_path):
    """The guest's SSH address does not answer (here: a closed port, as after a move to another
    network): with a guest_login the VM's transport carries on through VMware Tools; without one
    the step gets the SSH error."""
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    ssh = {"address": "127.0.0.1", "port": closed, "known_hosts": str(tmp_path / "kh"), "connect_timeout": 2}
    entry = {**vm_entry("gx", MAPPED), "ssh": ssh, "guest_login": {"user": "root", "password_env": GUEST_ENV}}
    bare = {**vm_entry("db", UNMAPPED), "ssh": ssh}
    lab = VsphereLab(sim_inventory(tools_sim, [entry, bare]))
    try:
        t = lab.transport("gx")
        assert t.run("hostname").ok
        assert t.kind == "vmware-tools" and t.used == ["vmware-tools"]
        t.write_file("/tmp/labkit-fallback", "via tools\n")
        assert t.read_file("/tmp/labkit-fallback") == "via tools\n"
        assert t.used == ["vmware-tools"] * 3  # the dead address is not tried again
        with pytest.raises(TransportError, match=r"db \(root@127.0.0.1:\d+\): connection refused"):
            lab.transport("db").run("true")
    finally:
        lab.close()


def test_console_needs_a_guest_login(tools_sim, env):
    from labkit.runner import _console_of

    other = vm_entry("db", UNMAPPED)
    lab = lab_for(tools_sim, extra=[other])
    try:
        with pytest.raises(TransportError, match=r"db: the inventory gives no guest_login"):
            lab.console.open("db")
        # the runner asks first, and keeps a VM without guest_login on SSH
        assert lab.has_console("gx") and not lab.has_console("db")
        assert _console_of(lab, "db") is None and _console_of(lab, "gx") is not None
    finally:
        lab.close()


# ---- helpers ----

def set_tools(probe: Probe, n: int, status: str) -> None:
    from pyVim.task import WaitForTask

    spec = vim.vm.ConfigSpec(extraConfig=[vim.option.OptionValue(key="SET.guest.toolsRunningStatus", value=status)])
    WaitForTask(probe.vm(n).ReconfigVM_Task(spec))
    assert probe.vm(n).guest.toolsRunningStatus == status


def start_true(probe: Probe, n: int, password: str) -> int:
    pm = probe.content.guestOperationsManager.processManager
    auth = vim.vm.guest.NamePasswordAuthentication(username="root", password=password)
    return pm.StartProgramInGuest(probe.vm(n), auth, vim.vm.guest.ProcessManager.ProgramSpec(programPath="/bin/true",
                                                                                            arguments=""))


# ---- a playbook end to end (last: it re-addresses the guest) ----

def test_playbook_switches_on_vsphere_and_readdresses_the_guest_through_the_console(tools_sim, env, guest,
                                                                                      probe_sim, tmp_path):
    """set_mode on vcsim, configure_guest over SSH (the inventory's route into the guest), then
    restart_network through the VMware Tools console, which runs the guest's real ifdown/ifup."""
    from labkit.backends.netns import build as netlab
    from labkit.playbook import load_checked
    from labkit.runner import run_playbook
    from tests.backends.vsphere.conftest import sim_inventory_data

    _, netns_console = guest
    state = netlab.load_state(load_inventory(NETNS_INVENTORY))
    fwd = SshForwarder(state["host"], lambda: "10.77.0.10")  # the address the guest keeps
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{fwd.port} {state['vms']['gx']['host_key']}\n")
    entry = vm_entry("gx", MAPPED)
    entry.update(dialect="ifupdown", guest_login={"user": "root", "password_env": GUEST_ENV},
                 ssh={"address": "127.0.0.1", "port": fwd.port, "user": "root",
                      "key_file": str(Path(state["dir"]) / "id_ed25519"), "known_hosts": str(known)})
    data = sim_inventory_data(tools_sim, [entry])
    data["networks"]["standard"]["subnet"] = "10.77.0.0/24"
    data["externals"] = {"natdev": {"address": "10.77.0.2"}, "nobody": {"address": "10.77.0.99"}}
    (tmp_path / "inv.yml").write_text(json.dumps(data))
    (tmp_path / "pb.yml").write_text(json.dumps({"name": "vsphere-console", "steps": [
        {"name": "switch", "set_mode": {"vms": ["gx"], "adapter": "eth0", "mode": "standard"}},
        {"name": "readdress", "configure_guest": {"vms": ["gx"], "interface": "eth0",
                                                  "address": "10.77.0.20/24", "gateway": "10.77.0.2"}},
        {"name": "restart", "restart_network": {"vms": ["gx"], "interface": "eth0"}},
        # SSH still leads to the old address: the probes go through VMware Tools, from the guest
        {"name": "matrix", "ping_matrix": {"sources": ["gx"], "targets": ["natdev", "nobody"], "count": 1,
                                           "expect": {"cells": [
                                               {"from": "gx", "to": "natdev", "result": "reachable"},
                                               {"from": "gx", "to": "nobody", "result": "unreachable"}]}}},
    ]}))
    pb, inv = load_checked(tmp_path / "pb.yml", tmp_path / "inv.yml")
    lab = VsphereLab(inv)
    try:
        result = run_playbook(pb, lab)
    finally:
        lab.close()
        fwd.close()
    details = [(s.name, s.error, {n: (r.ok, r.error, r.detail) for n, r in s.vms.items()}) for s in result.steps]
    assert result.ok, details
    assert "via ssh" in result.steps[1].vms["gx"].detail
    assert result.steps[2].vms["gx"].detail == "eth0 restarted (via vmware-tools)"
    matrix = result.steps[3].matrix
    assert matrix.cell("gx", "natdev").observed.verdict == "reachable"
    assert matrix.cell("gx", "nobody").observed.verdict == "unreachable"
    assert any(getattr(d.backing, "deviceName", None) == "LabNet" for d in probe_sim.vm(MAPPED).config.hardware.device)
    addr = netns_console.run("ip -4 -o addr show dev eth0").stdout
    assert "10.77.0.20/24" in addr and "10.77.0.10/" not in addr
    assert "address 10.77.0.20/24" in netns_console.read_file("/etc/network/interfaces")


@pytest.fixture
def probe_sim(tools_sim):
    p = Probe(tools_sim)
    yield p
    p.close()
