"""The vSphere limits on simulators of the tests' own: a task that outlasts backend.task_timeout is
reported as still running (and vCenter does finish it), one that outlasts a call's limit is
waited for; a vCenter killed or frozen (SIGSTOP) mid-playbook costs one call limit, after which
every step fails at once and no call reaches the server (counted by the simulator's request log,
or by a listener put on its port)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from pyVmomi import vim

from labkit.errors import BackendError
from labkit.backends.vsphere import open_lab
from labkit.backends.vsphere.lab import VsphereLab
from labkit.backends.vsphere.session import VcenterLost
from labkit.playbook import load_checked
from labkit.runner import run_playbook
from tests.conftest import REPO
from tests.backends.vsphere.conftest import PASSWORD_ENV, Probe, sim_inventory, sim_inventory_data, start_vcsim, stop_vcsim, vm_entry
from tests.backends.vsphere.test_playbook import write_inventory

LIMITS = {"connect_timeout": 1, "call_timeout": 2}


@pytest.fixture
def sims(tmp_path, monkeypatch):
    """start(*args): a vcsim of this test's own, its password in the environment; all stopped after
    (continued first, should a test have frozen one)."""
    started = []

    def start(*args: str):
        sim = start_vcsim(tmp_path, "-vm", "3", "-log-requests", *args)
        monkeypatch.setenv(PASSWORD_ENV, sim.password)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        if sim.proc.poll() is None:
            sim.proc.send_signal(signal.SIGCONT)
            stop_vcsim(sim)


def backing(sim, n: int) -> str:
    probe = Probe(sim)
    try:
        card = next(d for d in probe.vm(n).config.hardware.device if isinstance(d, vim.vm.device.VirtualEthernetCard))
        return getattr(card.backing, "deviceName", type(card.backing).__name__)
    finally:
        probe.close()


def test_a_task_still_running_at_the_limit_is_not_a_failure_of_vcenter(sims):
    sim = sims("-hold-reconfig", "DC0_C0_RP0_VM1=3000")
    lab = VsphereLab(sim_inventory(sim, [vm_entry("slow", 1)], task_timeout=1, **LIMITS))
    nic = lab.inventory.vm("slow").adapters[0]
    try:
        start = time.monotonic()
        with pytest.raises(BackendError) as err:
            lab.hypervisor.set_adapter_network("slow", nic, "standard")
        assert time.monotonic() - start < 2.5
        match = re.fullmatch(rf"reconfigure task (task-\d+) is still running on vCenter 127.0.0.1:{sim.port} after 1 s "
                             r"\(backend.task_timeout\): labkit stopped waiting, vCenter may still finish it \(see its "
                             r"Recent Tasks\)", str(err.value))
        assert match, str(err.value)
        assert lab.lost is None and lab.hypervisor.powered_on("slow")  # vCenter still answers
        time.sleep(3)
        assert backing(sim, 1) == "LabNet"  # and it did finish the task
        assert lab.hypervisor.adapter_network("slow", nic) == "standard"
    finally:
        lab.close()


def test_a_task_longer_than_one_call_is_waited_for(sims):
    sim = sims("-hold-reconfig", "DC0_C0_RP0_VM1=3500")
    lab = VsphereLab(sim_inventory(sim, [vm_entry("slow", 1)], task_timeout=20, **LIMITS))
    try:
        start = time.monotonic()
        assert lab.hypervisor.set_adapter_network("slow", lab.inventory.vm("slow").adapters[0], "standard") is True
        assert 3.5 <= time.monotonic() - start < 6 and lab.lost is None
    finally:
        lab.close()


def test_a_frozen_vcenter_at_login_costs_one_connect_limit(sims):
    sim = sims()
    sim.proc.send_signal(signal.SIGSTOP)
    start = time.monotonic()
    lab = open_lab(sim_inventory(sim, [vm_entry("vm", 1)], **LIMITS))  # not bad input: the steps say it
    try:
        assert time.monotonic() - start < 2.5
        assert re.fullmatch(rf"vCenter at 127.0.0.1:{sim.port} is unreachable since logging in \(\d\d:\d\d:\d\d, "
                            r"vimServiceVersions.xml\): no TCP connection and TLS handshake within 1 s "
                            r"\(backend.connect_timeout\)", lab.lost or ""), lab.lost
        start = time.monotonic()
        with pytest.raises(VcenterLost):
            lab.hypervisor.powered_on("vm")
        assert time.monotonic() - start < 0.1
    finally:
        lab.close()


class Counter:
    """A listener on a port, counting the connections made to it (each closed at once)."""

    def __init__(self, port: int) -> None:
        self.count = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.count += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


PLAYBOOK = {"name": "lost", "steps": [
    {"name": "one", "set_mode": {"vms": ["a", "b", "c"], "mode": "standard"}},
    {"name": "two", "set_mode": {"vms": ["a", "b", "c"], "mode": "distributed"}},
    {"name": "three", "wait_for_ip": {"vms": ["a"], "timeout": 10}},
    {"name": "four", "set_mode": {"vms": ["a", "b", "c"], "mode": "opaque"}},
]}


def test_a_killed_vcenter_fails_every_later_step_at_once_and_gets_no_call(sims, tmp_path):
    """Killed as step two begins; a listener takes its port once step three begins (a vCenter
    that came back would see every call): none arrives, and the run ends at once."""
    sim = sims()
    inv = write_inventory(tmp_path, sim_inventory_data(sim, [vm_entry(x, n) for n, x in enumerate("abc")], **LIMITS))
    pb = tmp_path / "pb.yml"
    pb.write_text(json.dumps(PLAYBOOK))
    playbook, inventory = load_checked(pb, inv)
    lab = open_lab(inventory)
    events: dict = {}

    class Progress:
        def step(self, step, units: int) -> None:
            if step.name == "two":
                sim.proc.kill()
                sim.proc.wait()
                events["killed"] = time.monotonic()
            elif step.name == "three":
                events["counter"] = Counter(sim.port)

        def advance(self, what: str) -> None:
            pass

    try:
        result = run_playbook(playbook, lab, progress=Progress())
        lab.close()
        took = time.monotonic() - events["killed"]
    finally:
        lab.close()
        if "counter" in events:
            events["counter"].close()
    assert took < 1.5
    # step three is not even started once the loss is known; if it were, nothing may reach vCenter
    assert "counter" not in events or events["counter"].count == 0
    first, *later = result.steps
    assert first.ok
    lost = f"vCenter at 127.0.0.1:{sim.port} is unreachable since "
    failed_in_step = [s for s in later if s.vms]
    not_run = [s for s in later if not s.vms]
    assert failed_in_step and not_run, later  # the step that found the loss, then the ones never run
    for step in failed_in_step:
        assert not step.ok and all(not r.ok and r.error.startswith(lost) for r in step.vms.values()), step
    for step in not_run:
        assert not step.ok and step.error == f"not run: {lab.lost}", step
    # the pooled connection was found closed, so one new one was tried: refused
    assert re.search(r"since (reading the network adapters of|reconfiguring) .*: connection refused$",
                     lab.lost or ""), lab.lost


def test_a_frozen_vcenter_costs_one_call_limit_then_nothing_reaches_it(sims, tmp_path):
    """`labkit run` with vcsim frozen (SIGSTOP) during a wait_for_ip: the call in flight times out
    after call_timeout, every later step fails at once, the run exits 1; continued after the run,
    vcsim logs at most that one call from the time it was frozen."""
    sim = sims()
    data = sim_inventory_data(sim, [vm_entry(x, n) for n, x in enumerate("abc")], call_timeout=3, connect_timeout=2)
    inv = write_inventory(tmp_path, data)
    pb = tmp_path / "pb.yml"
    pb.write_text(json.dumps({"name": "frozen", "steps": PLAYBOOK["steps"][2:] + PLAYBOOK["steps"][:2]}))
    env = {**os.environ, PASSWORD_ENV: sim.password, "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "labkit.cli", "run", str(pb), "-i", str(inv), "--json",
                             str(tmp_path / "r.json")], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while "Login" not in sim.requests() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)  # opened, and polling for an address (the step lasts 10 s)
    sim.proc.send_signal(signal.SIGSTOP)
    frozen, seen = time.monotonic(), len(sim.requests())
    out, err = proc.communicate(timeout=60)
    took = time.monotonic() - frozen
    sim.proc.send_signal(signal.SIGCONT)
    time.sleep(1)  # what was queued for it is read and logged now
    assert proc.returncode == 1, out + err
    assert took < 3 + 4, took  # the call limit, the poll's pause, starting and ending Python
    assert len(sim.requests()[seen:]) <= 1, sim.requests()[seen:]
    steps = json.loads((tmp_path / "r.json").read_text())["steps"]
    lost = f"vCenter at 127.0.0.1:{sim.port} is unreachable since reading "
    errors = [vm["error"] for step in steps for vm in step["vms"].values()]
    assert errors and all(e.startswith(lost) for e in errors), errors  # the step in flight when it froze
    assert "no answer within 3 s (backend.call_timeout)" in errors[0]
    skipped = [step for step in steps if not step["vms"]]  # every later step: reported, never attempted
    assert len(skipped) == len(steps) - 1 and all(s["error"].startswith("not run: " + lost) for s in skipped), steps
    assert "Traceback" not in out + err
