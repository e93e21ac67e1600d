"""`labkit run --check` on the simulated lab: the plan of the tutorial's playbooks, a lab left exactly as
it was (state, guest files, not one guest command run), steps planned in order against what the
earlier ones would leave, per-VM unknowns, and the exit statuses and the diff through the real CLI.

The golden file is the CLI's whole output for seed-bridged with --diff. After an intended change:
    LABKIT_UPDATE_GOLDEN=1 .venv/bin/pytest tests/plan/test_plan_sim.py
then review the golden file's diff.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.backends import open_lab
from labkit.errors import TransportError
from labkit.inventory import load_inventory
from labkit.model import Playbook, SetMode, Step, Strict, VmList
from labkit.plan import plan_playbook, unified_diff
from labkit.playbook import load_checked
from labkit.report.as_plan import PLAN_SCHEMA
from tests.conftest import REPO, TUTORIAL_IFCFG

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("LABKIT_UPDATE_GOLDEN") == "1"
SEED_LAB = REPO / "inventory" / "seed-lab.yml"
IFCFG = "/etc/sysconfig/network-scripts/ifcfg-eth0"


def labkit(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labkit.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"})


def playbook(tmp_path: Path, steps: list[dict], inventory: Path = SEED_LAB) -> Path:
    path = tmp_path / "pb.yml"
    path.write_text(json.dumps({"name": "pb", "inventory": str(inventory), "steps": steps}))  # JSON is YAML
    return path


def lab_state(lab) -> dict:
    """Everything a step could change in the simulated lab, and every command its guests ran."""
    world = lab.world
    return {"vms": copy.deepcopy(world.state.vms), "host_adapters": dict(world.state.host_adapters),
            "cable_out": dict(world.cable_out), "files": copy.deepcopy(world.files),
            "guest_files": {n: dict(g.files) for n, g in world.guests.items()},
            "commands": {n: list(g.commands) for n, g in world.guests.items()}}


def plan_of(path: Path, lab=None):
    pb, inv = load_checked(path)
    lab = lab or open_lab(inv)
    try:
        return plan_playbook(pb, lab), lab
    finally:
        lab.close()


def lines(plan) -> list[tuple[str, str]]:
    return [(i.status, i.text) for s in plan.steps for i in s.items]


# ---- the tutorial's playbooks ----------------------------------------------------------------------


def test_seed_bridged_plan_and_the_lab_is_left_as_it_was():
    pb, inv = load_checked(REPO / "playbooks" / "seed-bridged.yml")
    lab = open_lab(inv)
    before = lab_state(lab)
    try:
        plan = plan_playbook(pb, lab)
        after = lab_state(lab)
    finally:
        lab.close()
    assert lines(plan) == [
        ("change", "centos: eth0 nat -> bridged"),
        ("change", f"centos: {IFCFG} would change (1 line)"),
        ("change", "would restart eth0 on centos (/etc/init.d/network restart)"),
        ("observe", "would run wait_for_ip on centos (observes only, not run in --check)"),
        ("observe", "would run a 3 x 4 ping matrix (observes only, not run in --check)"),
    ]
    assert after == before
    assert after["files"]["centos"][IFCFG] == TUTORIAL_IFCFG  # the guest's file, untouched
    assert all(cmds == [] for cmds in after["commands"].values())  # no command ran in any guest
    assert plan.exit_status == 1


def test_seed_nat_plan_follows_the_host_adapter_through_the_playbook():
    pb, inv = load_checked(REPO / "playbooks" / "seed-nat.yml")
    lab = open_lab(inv)
    before = lab_state(lab)
    try:
        plan = plan_playbook(pb, lab)
        assert lab_state(lab) == before
    finally:
        lab.close()
    changed = [text for status, text in lines(plan) if status == "change"]
    assert changed == ["win7: eth0 bridged -> nat", "would restart eth0 on win7 (ipconfig /renew)",
                       "host adapter VMnet8: enabled -> disabled",
                       "host adapter VMnet8: disabled -> enabled"]  # planned against the disabled one
    assert plan.count("observe") == 4 and plan.count("unknown") == 0


# ---- steps in order, against the projected lab -------------------------------------------------------


def test_later_steps_see_what_earlier_ones_would_leave(tmp_path):
    plan, lab = plan_of(playbook(tmp_path, [
        {"set_mode": {"vms": ["centos"], "mode": "bridged"}},
        {"set_mode": {"vms": ["centos"], "mode": "nat"}},  # back: a change again
        {"set_mode": {"vms": ["centos"], "mode": "nat"}},
        {"configure_guest": {"vms": ["centos"], "interface": "eth0", "dhcp": True}},
        {"configure_guest": {"vms": ["centos"], "interface": "eth0", "dhcp": True}},  # the file now says so
        {"configure_guest": {"vms": ["centos"], "interface": "eth0", "address": "10.0.0.101/24",
                             "gateway": "10.0.0.2", "dns": ["202.96.128.86", "202.96.128.166"]}},
        {"set_link": {"vms": ["nat2"], "connected": False}},
        {"set_link": {"vms": ["nat2"], "connected": False}},
        {"set_mode": {"vms": ["nat2"], "mode": "hostonly"}},
        {"set_link": {"vms": ["nat2"], "connected": True}},
        {"set_host_adapter": {"network": "nat", "enabled": True}},
    ]))
    assert lines(plan) == [
        ("change", "centos: eth0 nat -> bridged"),
        ("change", "centos: eth0 bridged -> nat"),
        ("same", "centos: eth0 already on nat (no change)"),
        ("change", f"centos: {IFCFG} would change (1 line)"),
        ("same", f"centos: {IFCFG} already says dhcp (no change)"),
        ("change", f"centos: {IFCFG} would change (1 line)"),  # back to static: the planned dhcp file
        ("change", "nat2: eth0 cable in -> out"),
        ("same", "nat2: eth0 cable already out (no change)"),
        ("change", "nat2: eth0 nat -> hostonly (its cable is out)"),
        ("change", "nat2: eth0 cable out -> in (hostonly)"),
        ("same", "host adapter VMnet8: already enabled (no change)"),
    ]
    back = plan.steps[5].items[0].diff
    assert "-BOOTPROTO=dhcp\n+BOOTPROTO=static\n" in back  # diffed against the file step 4 would write


def test_an_unplugged_adapter_whose_network_cannot_be_read_is_unknown(tmp_path):
    inv = tmp_path / "inv.yml"
    inv.write_text(SEED_LAB.read_text().replace(
        "        mac: 00:0c:29:00:00:02\n        network: nat\n",
        "        mac: 00:0c:29:00:00:02\n        network: nat\n        connected: false\n"))
    plan, _ = plan_of(playbook(tmp_path, [{"set_mode": {"vms": ["nat2"], "mode": "hostonly"}},
                                          {"set_mode": {"vms": ["nat2"], "mode": "hostonly"}}], inventory=inv))
    assert lines(plan) == [
        ("unknown", "nat2: eth0 ? -> hostonly: its cable is out, so its network cannot be read"),
        ("same", "nat2: eth0 already on hostonly (its cable is out) (no change)"),  # as step one would leave it
    ]
    assert plan.exit_status == 1


def test_nothing_to_change_exits_0(tmp_path):
    plan, _ = plan_of(playbook(tmp_path, [
        {"set_mode": {"vms": ["centos", "nat2"], "mode": "nat"}},
        {"configure_guest": {"vms": ["centos"], "interface": "eth0", "address": "10.0.0.101/24",
                             "gateway": "10.0.0.2", "dns": ["202.96.128.86", "202.96.128.166"]}},
        {"set_host_adapter": {"network": "nat", "enabled": True}},
        {"ping_matrix": {"sources": ["host"], "targets": ["centos"]}},
    ]))
    assert [s for s, _ in lines(plan)] == ["same", "same", "same", "same", "observe"]
    assert plan.exit_status == 0 and not plan.changes


def with_second_adapter(tmp_path: Path) -> Path:
    """The seed lab with an eth1 on nat2 that the inventory gives no configuration (so no file)."""
    inv = tmp_path / "inv.yml"
    inv.write_text(SEED_LAB.read_text().replace(
        "        mac: 00:0c:29:00:00:02\n        network: nat\n        config: {dhcp: true}\n",
        "        mac: 00:0c:29:00:00:02\n        network: nat\n        config: {dhcp: true}\n"
        "      - {interface: eth1, mac: \"00:0c:29:00:01:02\", network: hostonly}\n"))
    return inv


def test_a_file_that_does_not_exist_would_be_created(tmp_path):
    plan, _ = plan_of(playbook(tmp_path, [{"configure_guest": {"vms": ["nat2"], "interface": "eth1",
                                                               "address": "192.168.56.60/24"}}],
                               inventory=with_second_adapter(tmp_path)))
    item = plan.steps[0].items[0]
    path = IFCFG.replace("eth0", "eth1")
    assert item.status == "change" and item.text == f"nat2: {path} would be created (7 lines)", item.text
    assert item.diff.startswith(f"--- /dev/null\n+++ nat2:{path} (after the run)\n@@ -0,0 +1,7 @@\n+DEVICE=eth1\n")


def test_safe_apply_is_said(tmp_path):
    plan, _ = plan_of(playbook(tmp_path, [{"configure_guest": {"vms": ["centos"], "interface": "eth0",
                                                               "dhcp": True, "apply": True,
                                                               "rollback_after": 30}}]))
    assert plan.steps[0].items[0].text == (f"centos: {IFCFG} would change (1 line), then be applied safely "
                                           "(rolled back unless confirmed within 30 s)")


# ---- what cannot be previewed ----------------------------------------------------------------------


class Reboot(Strict):
    """A step kind with no planner (as any kind added after the planner was written)."""

    vms: VmList


def test_a_kind_without_a_planner_is_a_change_with_no_preview():
    lab = open_lab(load_inventory(SEED_LAB))
    steps = [Step(name="reboot", kind="reboot", spec=Reboot(vms=["centos"])),
             Step(name="nat", kind="set_mode", spec=SetMode(vms=["centos"], mode="nat"))]
    try:
        plan = plan_playbook(Playbook(name="pb", path="pb.yml", inventory=None, steps=steps), lab)
    finally:
        lab.close()
    assert lines(plan) == [("change", "would run reboot (no preview)"),
                           ("same", "centos: eth0 already on nat (no change)")]
    assert plan.exit_status == 1


class UnreadableGuest:
    """The simulated lab, but one VM's channel cannot be opened (no route, no console): the boundary
    a real backend meets with a guest off the network."""

    def __init__(self, lab, vm: str) -> None:
        self.inner, self.vm = lab, vm

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def transport(self, node: str):
        if node == self.vm:
            raise TransportError(f"{node}: ssh: no route to 10.0.0.101; no console")
        return self.inner.transport(node)


def test_a_guest_that_cannot_be_read_is_unknown_and_the_others_are_planned(tmp_path):
    pb, inv = load_checked(playbook(tmp_path, [{"configure_guest": {"vms": ["centos", "nat2"], "interface": "eth0",
                                                                    "dhcp": True}}]))
    lab = open_lab(inv)
    try:
        plan = plan_playbook(pb, UnreadableGuest(lab, "centos"))  # type: ignore[arg-type]
    finally:
        lab.close()
    assert lines(plan) == [("unknown", "centos: cannot read: ssh: no route to 10.0.0.101; no console"),
                           ("same", f"nat2: {IFCFG} already says dhcp (no change)")]
    assert plan.exit_status == 1  # nothing else would change, but centos could not be read


def test_windows_powered_off_and_no_dialect_are_unknown(tmp_path):
    inv = tmp_path / "inv.yml"
    text = SEED_LAB.read_text().replace("    dialect: ifcfg\n    adapters:\n      - interface: eth0\n"
                                        "        label: Network adapter 1\n        mac: 00:0c:29:00:00:02",
                                        "    powered_on: false\n    dialect: ifcfg\n    adapters:\n"
                                        "      - interface: eth0\n        label: Network adapter 1\n"
                                        "        mac: 00:0c:29:00:00:02")
    text = text.replace("  - name: centos\n    os: linux\n    dialect: ifcfg\n", "  - name: centos\n    os: linux\n")
    inv.write_text(text)
    plan, _ = plan_of(playbook(tmp_path, [
        {"configure_guest": {"vms": ["win7", "nat2", "centos"], "interface": "eth0", "dhcp": True}},
        {"restart_network": {"vms": ["nat2"], "interface": "eth0"}},
    ], inventory=inv))
    assert lines(plan) == [
        ("unknown", "win7: eth0 -> dhcp with netsh (no preview: Windows keeps no config file to read)"),
        ("unknown", "nat2: cannot read: it is powered off"),
        ("unknown", "centos: cannot read: the inventory names no dialect, and --check does not run the command "
                    "that detects it (set dialect: for this VM)"),
        ("unknown", "nat2 is powered off: restarting eth0 would fail"),
    ]


def test_diff_hides_secret_values_and_marks_a_missing_final_newline():
    old = "[wifi-security]\nkey-mgmt=wpa-psk\npsk=hunter22secret\n[ipv4]\nmethod=manual"
    new = old.replace("method=manual", "method=auto")
    diff = unified_diff("vm", "/etc/x.nmconnection", old, new)
    assert "hunter22" not in diff and " psk=(hidden)\n" in diff
    assert diff.endswith("-method=manual\n\\ No newline at end of file\n+method=auto\n\\ No newline at end of file\n")


# ---- the CLI -------------------------------------------------------------------------------------


def test_cli_check_diff_golden():
    proc = labkit("run", "playbooks/seed-bridged.yml", "--check", "--diff")
    assert proc.returncode == 1, proc.stderr
    path = GOLDEN / "seed-bridged-check-diff.txt"
    if UPDATE:
        path.write_text(proc.stdout, encoding="utf-8")
    assert proc.stdout == path.read_text(encoding="utf-8")


def test_cli_check_alone_prints_no_diff_and_diff_implies_check(tmp_path):
    check = labkit("run", "playbooks/seed-bridged.yml", "--check")
    assert check.returncode == 1 and f"centos: {IFCFG} would change (1 line)" in check.stdout
    assert "+BOOTPROTO=dhcp" not in check.stdout
    diff = labkit("run", "playbooks/seed-bridged.yml", "--diff")
    assert diff.returncode == 1 and "+BOOTPROTO=dhcp" in diff.stdout and "--check, nothing was changed" in diff.stdout


def test_cli_exit_0_when_nothing_would_change(tmp_path):
    pb = playbook(tmp_path, [{"set_mode": {"vms": ["centos"], "mode": "nat"}},
                             {"set_host_adapter": {"network": "nat", "enabled": True}}])
    proc = labkit("run", str(pb), "--check", "--json", str(tmp_path / "plan.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == ("0 to change, 2 unchanged, 0 unknown, 0 observing only: "
                                            "a run would change nothing")
    data = json.loads((tmp_path / "plan.json").read_text())
    assert data["schema"] == PLAN_SCHEMA and data["changes"] is False
    assert data["summary"] == {"change": 0, "same": 2, "unknown": 0, "observe": 0}


def test_cli_json_plan_carries_the_diff(tmp_path):
    proc = labkit("run", "playbooks/seed-bridged.yml", "--check", "--json", str(tmp_path / "plan.json"))
    assert proc.returncode == 1
    data = json.loads((tmp_path / "plan.json").read_text())
    assert data["playbook"] == "seed-bridged" and data["backend"] == "sim" and data["changes"] is True
    item = data["steps"][1]["items"][0]
    assert item["status"] == "change" and item["vm"] == "centos" and item["path"] == IFCFG
    assert "-BOOTPROTO=static\n+BOOTPROTO=dhcp\n" in item["diff"]


@pytest.mark.parametrize("steps, args, message", [
    ([{"set_mode": {"vms": ["ghost"], "mode": "nat"}}], [], "ghost"),
    ([{"set_mode": {"vms": ["centos"], "mode": "nowhere"}}], [], "nowhere"),
    ([{"set_mode": {"vms": ["centos"], "mode": "nat"}}], ["--junit", "j.xml"], "--junit"),
    ([{"set_mode": {"vms": ["centos"], "mode": "nat"}}], ["--html", "r.html"], "--html"),
], ids=["unknown-vm", "unknown-mode", "junit", "html"])
def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path, steps, args, message):
    pb = playbook(tmp_path, steps)
    proc = labkit("run", str(pb), "--check", "--json", "plan.json", *args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pb.yml"]
