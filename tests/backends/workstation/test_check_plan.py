"""`labkit run --check` on the Workstation backend: playbooks/workstation-switch.yml planned through the
fake vmrest (the real CLI in a subprocess), which sees reads only: not one PUT, POST or DELETE. The real
run afterwards is the control: the same counter sees its PUTs."""

from __future__ import annotations

import json

from tests.backends.workstation.test_workstation_playbook import CENTOS, PLAYBOOK, WIN7, inventory_for, labkit


def changing_requests(fake) -> int:
    return sum(fake.count(method) for method in ("PUT", "POST", "DELETE"))


def test_check_sends_no_change_to_vmrest(fake_vmrest, tmp_path):
    inventory = inventory_for(fake_vmrest, tmp_path)
    nics = {vm: [dict(n) for n in fake_vmrest.vms[vm].nics] for vm in (CENTOS, WIN7)}

    proc = labkit("run", PLAYBOOK, "-i", inventory, "--check", "--json", str(tmp_path / "plan.json"))

    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert fake_vmrest.count("GET") > 0  # it did ask
    assert changing_requests(fake_vmrest) == 0, fake_vmrest.requests
    assert {vm: fake_vmrest.vms[vm].nics for vm in (CENTOS, WIN7)} == nics
    out = proc.stdout
    for line in ("centos: eth0 nat -> bridged", "centos: eth0 bridged -> hostonly", "centos: eth0 hostonly -> lab2",
                 "centos: eth0 lab2 -> nat", "win7: eth0 bridged -> nat",
                 "would run wait_for_ip on centos, win7 (observes only, not run in --check)"):
        assert f"    {line}\n" in out, line
    assert json.loads((tmp_path / "plan.json").read_text())["summary"] == {
        "change": 5, "same": 0, "unknown": 0, "observe": 4}

    # the control: the real run's changes are seen by the same counter
    assert labkit("run", PLAYBOOK, "-i", inventory).returncode == 0
    assert fake_vmrest.count("PUT") == 5
