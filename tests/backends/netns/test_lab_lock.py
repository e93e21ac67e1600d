"""Two `labkit lab up`s of one netns lab at once do not destroy each other (labkit/lablock.py).

Without the lock both would start building, and the loser's clean-up (`lab down` on failure) would
tear down the winner's lab. Real processes, a lab of its own name.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from labkit.backends import open_lab
from labkit.backends.netns import build as netlab
from labkit.inventory import load_inventory
from tests.conftest import REPO
from tests.backends.netns.conftest import NETNS_INVENTORY, require_lab_host


@pytest.fixture
def lock_lab(tmp_path) -> Path:
    require_lab_host()
    path = tmp_path / "lock-netns.yml"
    path.write_text(NETNS_INVENTORY.read_text().replace("lab: seed-netns", "lab: lock-netns"))
    netlab.down(load_inventory(path))
    yield path
    netlab.down(load_inventory(path))


def lab(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "labkit.cli", "lab", *args], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def assert_intact(path: Path) -> None:
    inv = load_inventory(path)
    status = netlab.status(inv)
    assert all(vm["powered_on"] for vm in status["vms"].values()), status
    assert "10.0.0.101/24" in status["vms"]["centos"]["addresses"]
    opened = open_lab(inv)
    try:
        for vm in ("centos", "win7", "nat2"):
            assert opened.transport(vm).run("hostname").stdout.strip() == vm
    finally:
        opened.close()


def test_two_lab_ups_at_once_one_builds_the_other_is_told(lock_lab):
    ups = [lab("up", "-i", str(lock_lab)) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in ups]
    done = [(p.pid, p.returncode, out, err) for p, (out, err) in zip(ups, outs, strict=True)]
    built = [d for d in done if d[1] == 0]
    refused = [d for d in done if d[1] != 0]
    assert len(built) == 1 and len(refused) == 1, done
    assert "lab lock-netns is up: 10 namespaces, 3 VMs" in built[0][2]
    _, status, _, err = refused[0]
    assert status == 2 and f"error: lab lock-netns is in use by PID {built[0][0]} (labkit lab up -i {lock_lab}" in err
    assert_intact(lock_lab)


def test_two_lab_ups_that_wait_build_once(lock_lab):
    ups = [lab("up", "-i", str(lock_lab), "--wait") for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in ups]
    done = [(p.pid, out, err, p.returncode) for p, (out, err) in zip(ups, outs, strict=True)]
    statuses = sorted(d[3] for d in done)
    assert statuses == [0, 1], done
    winner = next(d for d in done if d[3] == 0)
    loser = next(d for d in done if d[3] == 1)
    assert f"waiting for lab lock-netns: in use by PID {winner[0]}" in loser[2]
    assert "already up" in loser[2]  # it waited, then found the lab built: it did not tear it down
    assert_intact(lock_lab)
    down = lab("down", "-i", str(lock_lab))
    out, err = down.communicate(timeout=120)
    assert down.returncode == 0 and "lab lock-netns is down: 10 namespaces removed" in out, err
    assert netlab.state_dir(load_inventory(lock_lab)).with_name(
        netlab.state_dir(load_inventory(lock_lab)).name + ".lock").read_text() == ""
