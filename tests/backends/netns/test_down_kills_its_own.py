"""`lab down` stops the processes in the lab's namespaces and those it started (recorded with their
start time), and nothing else: a user's `tail -f` of a VM's console log, or any program whose
command line names the lab's directory, survives it. Real processes."""

from __future__ import annotations

import json
import subprocess
import sys

from labkit.backends.netns import build as netlab
from tests.backends.netns.conftest import lab_built


def alive(proc: subprocess.Popen) -> bool:
    return proc.poll() is None


def running(pid: int) -> bool:
    """The process exists and has not exited (a zombie has)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_unrelated_processes_naming_the_lab_survive_down(netns_inventory):
    with lab_built(netns_inventory) as state:
        sdir = netlab.state_dir(netns_inventory)
        bystanders = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", str(sdir)]),
                      subprocess.Popen(["tail", "-f", str(sdir / "vm-centos" / "console.log")],
                                       stdout=subprocess.DEVNULL)]
        try:
            dnsmasq = list(state["pids"].values())
            inits = [vm["init_pid"] for vm in state["vms"].values()]
            done = netlab.down(netns_inventory)
            assert done["killed"] >= len(dnsmasq) + len(inits)
            assert not any(running(pid) for pid in dnsmasq + inits)  # the lab's own are gone
            assert all(alive(p) for p in bystanders)  # the user's are not
        finally:
            for p in bystanders:
                p.kill()
                p.wait()


def test_a_recorded_pid_now_used_by_another_program_is_left_alone(netns_inventory):
    """A stray the lab started is stopped when its namespace is gone, found by its record; a record
    whose PID now belongs to another program (its start time differs) is not acted on."""
    with lab_built(netns_inventory) as state:
        sdir = netlab.state_dir(netns_inventory)
        other = subprocess.Popen(["sleep", "300"])
        try:
            record = sdir / netlab.PROCESSES
            known = json.loads(record.read_text())
            assert {p["what"] for p in known} >= {"dnsmasq-nat", "vm-centos", "vm-centos-init"}
            known.append({"what": "dnsmasq-old", "pid": other.pid, "start": netlab.start_time(other.pid) - 1})
            record.write_text(json.dumps(known))
            dnsmasq = list(state["pids"].values())
            for ns in state["namespaces"]:  # a crash deleted the namespaces, not the processes
                subprocess.run(["ip", "netns", "del", ns], check=True)
            netlab.down(netns_inventory)
            assert not any(running(pid) for pid in dnsmasq)
            assert alive(other)
        finally:
            other.kill()
            other.wait()
