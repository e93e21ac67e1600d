"""One lab, one labkit command at a time (labkit/lablock.py): real `labkit run` processes on one
simulated lab, a lock left by a process that died, and the Windows lock call."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

from labkit import lablock
from labkit.inventory import load_inventory
from tests.conftest import REPO

PLAYBOOK = "playbooks/seed-nat.yml"
INVENTORY = REPO / "inventory" / "seed-lab.yml"


@pytest.fixture
def lock_dir(tmp_path, monkeypatch) -> Path:
    directory = tmp_path / "locks"
    monkeypatch.setenv("LABKIT_LOCK_DIR", str(directory))
    return directory


def labkit(*args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.Popen([sys.executable, "-m", "labkit.cli", *args], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def caught_holding(path: Path, attempts: int = 20) -> subprocess.Popen:
    """A `labkit run` stopped (SIGSTOP) while it holds the lab's lock. A simulated run is quick, so
    the lock file is watched for its PID and the run stopped the moment it appears (tried again
    when the run was done first)."""
    for _ in range(attempts):
        run = labkit("run", PLAYBOOK)
        while run.poll() is None:
            held = lablock.holder(path)
            if held is not None and held.pid == run.pid:
                os.kill(run.pid, signal.SIGSTOP)
                if lablock.holder(path) is not None:  # still held once stopped
                    return run
                os.kill(run.pid, signal.SIGCONT)
            time.sleep(0.001)
        run.communicate()
    pytest.fail(f"no run was seen holding {path}")


def test_a_second_run_fails_fast_naming_the_holder_or_waits(lock_dir):
    path = lablock.lock_path(load_inventory(INVENTORY))
    assert path.parent == lock_dir and path.name == "sim-seed-lab.lock"
    first = caught_holding(path)
    try:
        second = labkit("run", PLAYBOOK)
        out, err = second.communicate(timeout=120)
        assert second.returncode == 2, (out, err)
        assert f"error: lab seed-lab is in use by PID {first.pid} (labkit run {PLAYBOOK}, since " in err
        assert "--wait" in err and out == ""  # nothing ran: no report
        waiting = labkit("run", PLAYBOOK, "--wait")
        said = waiting.stderr.readline()  # once it met the lock
        assert said == f"waiting for lab seed-lab: in use by PID {first.pid} (labkit run {PLAYBOOK}, since {said[-21:]}"
        time.sleep(1.0)
        assert waiting.poll() is None  # still waiting: the first run holds the lab
    finally:
        os.kill(first.pid, signal.SIGCONT)
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert "seed-nat" in out  # it ran once the lab was free
    assert lablock.holder(path) is None  # let go


def test_a_lock_left_by_a_dead_process_is_taken_over_with_a_note(lock_dir):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path = lablock.lock_path(load_inventory(INVENTORY))
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"pid": dead.pid, "command": "labkit run playbooks/x.yml",
                                "since": "2024-01-01T10:00:00"}))
    run = labkit("run", PLAYBOOK)
    out, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    assert (f"note: took over the lock of lab seed-lab from PID {dead.pid} (labkit run playbooks/x.yml, since "
            "2024-01-01T10:00:00), which ended without letting it go") in err
    assert path.read_text() == ""


def other_process_takes(backend: str) -> subprocess.CompletedProcess:
    """Another process asks for the lock of the seed lab on `backend` (LABKIT_LOCK_DIR inherited)."""
    code = ("import sys; from labkit import lablock; from labkit.inventory import load_inventory\n"
            f"inv = load_inventory({str(INVENTORY)!r})\n"
            "try:\n"
            f"    with lablock.lab_lock(inv, {backend!r}): print('took it')\n"
            "except lablock.LabBusy as exc: print(exc); sys.exit(3)\n")
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)


def test_the_holder_is_recorded_and_another_process_refused(lock_dir):
    inv = load_inventory(INVENTORY)
    path = lablock.lock_path(inv, "vsphere")
    assert path.name == "vsphere-seed-lab.lock"  # keyed by backend and lab name
    heard: list[str] = []
    with lablock.lab_lock(inv, "vsphere", tell=heard.append) as me:
        assert lablock.holder(path) == me and me.pid == os.getpid()
        refused = other_process_takes("vsphere")
        assert refused.returncode == 3, refused.stdout + refused.stderr
        assert f"lab seed-lab is in use by PID {os.getpid()} " in refused.stdout
        assert other_process_takes("sim").returncode == 0  # another backend's lab of that name is another lab
    assert lablock.holder(path) is None and heard == []
    assert other_process_takes("vsphere").stdout == "took it\n"  # free again


def test_within_one_process_the_lock_nests_until_the_last_block_ends(lock_dir):
    """A program's own second session (a pytest fixture's lab and a test's) is not another driver."""
    inv = load_inventory(INVENTORY)
    path = lablock.lock_path(inv)
    outer = lablock.lab_lock(inv)
    first = outer.__enter__()
    with lablock.lab_lock(inv) as second:
        assert second == first
        outer.__exit__(None, None, None)  # the first block ends while the second is inside
        assert lablock.holder(path) == first and other_process_takes("sim").returncode == 3
    assert lablock.holder(path) is None and other_process_takes("sim").returncode == 0


def test_a_lock_file_deleted_under_its_holder_is_not_shared(lock_dir):
    """A file deleted by hand while held: the next acquirer locks a new file, not the deleted one."""
    inv = load_inventory(INVENTORY)
    path = lablock.lock_path(inv)
    with lablock.lab_lock(inv):
        path.unlink()
        assert other_process_takes("sim").stdout == "took it\n"


def test_a_netns_lab_is_locked_beside_its_state_directory():
    from labkit.backends.netns.build import state_dir

    inv = load_inventory(REPO / "inventory" / "seed-netns.yml")
    assert lablock.lock_path(inv) == state_dir(inv).parent / (state_dir(inv).name + ".lock")


def test_where_the_users_locks_live():
    home = os.path.expanduser("~")
    assert lablock.locks_dir({}, "linux") == Path(home, ".local/state/labkit/locks")
    assert lablock.locks_dir({"XDG_STATE_HOME": "/s"}, "linux") == Path("/s/labkit/locks")
    assert lablock.locks_dir({"LOCALAPPDATA": "C:/Users/Jane Doe/AppData/Local"}, "win32") == Path(
        "C:/Users/Jane Doe/AppData/Local/labkit/locks")
    assert lablock.locks_dir({}, "darwin") == Path(home, "Library/Application Support/labkit/locks")
    assert lablock.locks_dir({"LABKIT_LOCK_DIR": "/x"}, "win32") == Path("/x")


def test_on_windows_the_lock_is_msvcrt_s(lock_dir, monkeypatch):
    """Windows has no fcntl: the lock is msvcrt.locking on one byte past the holder's record (which
    stays readable there). A stand-in msvcrt records the calls and refuses a second lock."""
    calls: list[tuple[str, int]] = []
    held: set[int] = set()

    def locking(fd: int, mode: int, nbytes: int) -> None:
        offset = os.lseek(fd, 0, os.SEEK_CUR)
        calls.append(("lock" if mode == fake.LK_NBLCK else "unlock", offset))
        inode = os.fstat(fd).st_ino
        if mode == fake.LK_NBLCK:
            if inode in held:
                raise OSError(36, "Resource deadlock avoided")
            held.add(inode)
        else:
            held.discard(inode)

    fake = types.SimpleNamespace(LK_NBLCK=2, LK_UNLCK=0, locking=locking)
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    monkeypatch.setitem(sys.modules, "fcntl", None)  # `import fcntl` fails, as on Windows
    monkeypatch.setattr(sys, "platform", "win32")
    inv = load_inventory(INVENTORY)
    with lablock.lab_lock(inv) as me:
        assert lablock.holder(lablock.lock_path(inv)) == me
        with pytest.raises(lablock.LabBusy):  # another acquirer (the nesting of one process bypassed)
            lablock._take(lablock.lock_path(inv), inv.lab, False, lambda line: None)
    assert calls[0] == ("lock", 1 << 20) and calls[-1] == ("unlock", 1 << 20)
    assert held == set()


def test_no_lock_to_be_had_is_a_clear_error(tmp_path, monkeypatch):
    """A lock folder that cannot be made (here: a file in its way; elsewhere a folder the user may
    not write): exit 2 with the path, before the lab is touched."""
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.setenv("LABKIT_LOCK_DIR", str(tmp_path / "not-a-folder" / "locks"))
    run = labkit("run", PLAYBOOK)
    out, err = run.communicate(timeout=120)
    assert run.returncode == 2 and out == ""
    assert f"error: cannot take the lock of lab seed-lab ({tmp_path}/not-a-folder/locks/sim-seed-lab.lock)" in err
    assert "Traceback" not in err
