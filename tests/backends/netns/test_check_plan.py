"""`labkit run --check --diff` on the real network-namespace lab (inventory/seed-netns.yml): the tutorial's
playbooks are planned over real SSH and iproute2, and afterwards every guest file, every switch port
and the host's adapters are exactly as before. The lab is looked at from outside labkit (ip -j,
nsenter + sha256sum), so the check does not trust the code it checks.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from labkit.inventory import load_inventory
from tests.backends.netns.conftest import NETNS_INVENTORY, lab_built, require_lab_host
from tests.conftest import REPO, TUTORIAL_IFCFG

IFCFG = "/etc/sysconfig/network-scripts/ifcfg-eth0"


@pytest.fixture(scope="module")
def netns_lab():
    require_lab_host()
    inv = load_inventory(NETNS_INVENTORY)
    with lab_built(inv) as state:
        yield state


def _ip(*argv: str) -> list[dict]:
    return json.loads(subprocess.run(["ip", "-j", *argv], capture_output=True, text=True, check=True).stdout or "[]")


def lab_snapshot(state: dict) -> dict:
    """Each VM's switch port (bridge, up), the host's VMnet adapters (up, addresses), and a hash of
    every file under each guest's /etc and /root plus any labkit file in its /run."""
    ports = {}
    for vm, v in state["vms"].items():
        for iface, p in v["ports"].items():
            link = _ip("-n", state["switch"], "link", "show", "dev", p["port"])[0]
            ports[f"{vm}.{iface}"] = (link.get("master"), "UP" in link.get("flags", []))
    host = {}
    for network, ifname in state["host_adapters"].items():
        link = _ip("-n", state["host"], "addr", "show", "dev", ifname)[0]
        host[network] = ("UP" in link.get("flags", []), sorted(a["local"] for a in link.get("addr_info", [])))
    files = {}
    for vm, v in state["vms"].items():
        script = ("find /etc /root -xdev -type f -print0 | sort -z | xargs -0 sha256sum; "
                  "ls -a /run | grep labkit; true")
        done = subprocess.run(["nsenter", "-t", str(v["init_pid"]), "-n", "-m", "-u", "-p", "--", "sh", "-c", script],
                              capture_output=True, text=True, check=True)
        files[vm] = done.stdout
    return {"ports": ports, "host_adapters": host, "files": files}


def check(playbook: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labkit.cli", "run", playbook, "-i", str(NETNS_INVENTORY),
                           "--check", "--diff", *args], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "NO_COLOR": "1"})


def test_seed_nat_check_changes_nothing(netns_lab):
    before = lab_snapshot(netns_lab)
    assert len(before["files"]["centos"].splitlines()) > 20 and before["ports"]  # the snapshot sees the lab
    proc = check("playbooks/seed-nat.yml")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    for line in ("win7: eth0 bridged -> nat", "host adapter VMnet8: enabled -> disabled",
                 "host adapter VMnet8: disabled -> enabled",
                 "would run wait_for_ip on win7, nat2 (observes only, not run in --check)"):
        assert f"    {line}\n" in proc.stdout, line
    assert "would restart eth0 on win7 (ifdown eth0;" in proc.stdout  # the Debian guest's restart
    assert lab_snapshot(netns_lab) == before


def test_the_snapshot_sees_a_written_file_and_a_moved_port(netns_lab):
    """The control for the two tests around it: what --check must not do, the snapshot does see."""
    before = lab_snapshot(netns_lab)
    enter = ["nsenter", "-t", str(netns_lab["vms"]["nat2"]["init_pid"]), "-m", "--"]
    subprocess.run([*enter, "sh", "-c", "echo x >> /etc/hosts"], check=True)
    touched = lab_snapshot(netns_lab)
    subprocess.run([*enter, "sed", "-i", "$d", "/etc/hosts"], check=True)
    assert touched["files"]["nat2"] != before["files"]["nat2"]
    port, switch = netns_lab["vms"]["nat2"]["ports"]["eth0"]["port"], netns_lab["switch"]
    bridge = _ip("-n", switch, "link", "show", "dev", port)[0]["master"]
    other = next(b for n, b in netns_lab["bridges"].items() if b != bridge and n != "lan")
    subprocess.run(["ip", "-n", switch, "link", "set", port, "master", other], check=True)
    moved = lab_snapshot(netns_lab)
    subprocess.run(["ip", "-n", switch, "link", "set", port, "master", bridge], check=True)
    assert moved["ports"] != before["ports"]
    assert lab_snapshot(netns_lab) == before


def test_seed_bridged_check_diffs_the_real_file_and_changes_nothing(netns_lab, tmp_path):
    before = lab_snapshot(netns_lab)
    proc = check("playbooks/seed-bridged.yml", "--json", str(tmp_path / "plan.json"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    item = json.loads((tmp_path / "plan.json").read_text())["steps"][1]["items"][0]
    assert item["text"] == f"centos: {IFCFG} would change (1 line)"
    # read over SSH from the real guest: the tutorial's file, and only BOOTPROTO would change
    assert item["diff"].startswith(f"--- centos:{IFCFG} (now)\n+++ centos:{IFCFG} (after the run)\n")
    assert "\n-BOOTPROTO=static\n+BOOTPROTO=dhcp\n" in item["diff"]
    assert "      +BOOTPROTO=dhcp\n" in proc.stdout
    assert lab_snapshot(netns_lab) == before
    cat = subprocess.run(["nsenter", "-t", str(netns_lab["vms"]["centos"]["init_pid"]), "-m", "--", "cat", IFCFG],
                         capture_output=True, text=True, check=True)
    assert cat.stdout == TUTORIAL_IFCFG
