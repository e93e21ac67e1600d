"""One lab, one driver at a time: a lock per lab, held by every command that changes it.

Two `labkit run`s on one lab interleave their steps (one moves an adapter while the other's matrix
probes it), and two `labkit lab up`s of one netns lab build over each other, then the loser's
clean-up tears the winner's lab down. So every command that changes a lab holds its lock: a
second one fails at once, saying who holds it (PID, command, since when), or waits with `--wait`.

Where: a netns lab's lock is in the netns labs' state directory, beside the lab's own
(/var/lib/labkit/netns/PREFIX.lock: shared by every user of this machine, as the lab is, and
outliving the lab's own directory, which `lab up` makes and `lab down` deletes); any other backend's is keyed by the inventory's
backend and lab name in the user's state directory ($XDG_STATE_HOME or ~/.local/state on Linux,
~/Library/Application Support on macOS, %LOCALAPPDATA% on Windows; $LABKIT_LOCK_DIR overrides).

How: the operating system's own lock on the open file (flock on Linux and macOS, msvcrt.locking on
Windows), not a PID file. The OS drops it when its process ends, however it ends, so a dead holder
can never block the lab, and a reused PID can never pass for one. The holder writes who it is into
the file and empties it when it lets go; an acquirer that finds it still filled in takes the lock
over from a holder that died, and says so. (filelock and portalocker do the locking part too; each
is now a large package, and neither records or reads back a holder, which is what users need.)
An acquirer checks that the file it locked is still the one at the path (someone may delete it by
hand), and tries again if not.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from labkit.errors import LabkitError
from labkit.model import Inventory

POLL = 0.2  # seconds between attempts while waiting
RECORD_WAITS = 8  # times a busy lock's record is read again (POLL/4 apart) before the holder is "another process"
_WINDOWS_BYTE = 1 << 20  # Windows locks a byte range: one byte far past the holder's record


class LabBusy(LabkitError):
    """Another process holds the lab's lock."""


@dataclass(frozen=True)
class Holder:
    pid: int
    command: str
    since: str  # local time, ISO 8601 to the second

    def describe(self) -> str:
        shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in self.command)  # another user's argv
        return f"PID {self.pid} ({shown}, since {self.since})"


def lock_path(inv: Inventory, backend: str | None = None) -> Path:
    """The lock file of the lab `inv` describes, on `backend` (default: the inventory's)."""
    kind = backend or inv.backend.type
    if kind == "netns":
        from labkit.backends.netns.build import state_dir

        lab_dir = state_dir(inv)  # made by lab up, deleted by lab down: the lock sits beside it
        return lab_dir.with_name(lab_dir.name + ".lock")
    return locks_dir() / f"{kind}-{inv.lab}.lock"


def locks_dir(environ: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """Where the locks of labs that are not netns labs live: $LABKIT_LOCK_DIR, else the user's
    state directory's labkit/locks."""
    env = os.environ if environ is None else environ
    if env.get("LABKIT_LOCK_DIR"):
        return Path(env["LABKIT_LOCK_DIR"])
    return user_state_dir(env, platform) / "locks"


def user_state_dir(environ: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    env = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if platform in ("win32", "cygwin"):
        base = env.get("LOCALAPPDATA") or os.path.join(os.path.expanduser("~"), "AppData", "Local")
        return Path(base) / "labkit"
    if platform == "darwin":
        return Path(os.path.expanduser("~/Library/Application Support")) / "labkit"
    return Path(env.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")) / "labkit"


@contextmanager
def lab_lock(inv: Inventory, backend: str | None = None, *, wait: bool = False,
             tell: Callable[[str], None] = lambda line: None) -> Iterator[Holder]:
    """Hold the lab's lock for the block. LabBusy at once when another process holds it, unless
    `wait`; `tell` hears "waiting for ..." once, and a note when a dead holder's lock is taken over.

    The lock keeps other processes out. Within one process it nests (a script's second session on
    the lab, a pytest fixture's lab and a test's own): the program orders its own sessions, and the
    OS lock is let go when the last of them ends."""
    path = lock_path(inv, backend)
    key = os.path.abspath(path)
    with _HELD_GUARD:
        mine = _HELD.get(key)
        if mine is not None:
            mine.depth += 1
    if mine is None:
        mine = _take(path, inv.lab, wait, tell)
        with _HELD_GUARD:
            _HELD[key] = mine
    try:
        yield mine.holder
    finally:
        with _HELD_GUARD:
            mine.depth -= 1
            last = mine.depth == 0
            if last:
                del _HELD[key]
        if last:
            _let_go(mine.fd)


@dataclass
class _Held:
    """This process's hold on one lab's lock: the locked file and how many blocks are inside it."""

    fd: int
    holder: Holder
    depth: int = 1


_HELD: dict[str, _Held] = {}
_HELD_GUARD = threading.Lock()


def _take(path: Path, lab: str, wait: bool, tell: Callable[[str], None]) -> _Held:
    try:
        fd = _acquire(path, wait, lab, tell)
    except OSError as exc:  # a folder this user cannot write (a netns lab's, as a user), a full disk
        raise LabkitError(f"cannot take the lock of lab {lab} ({path}): {exc.strerror or exc}") from None
    me = Holder(os.getpid(), _command(), time.strftime("%Y-%m-%dT%H:%M:%S"))
    try:
        left = _read(fd)
        if left is not None:
            tell(f"note: took over the lock of lab {lab} from {left.describe()}, which ended without "
                 "letting it go")
        _write(fd, json.dumps(me.__dict__) + "\n")
    except BaseException:
        _let_go(fd)
        raise
    return _Held(fd, me)


def _let_go(fd: int) -> None:
    try:
        _write(fd, "")
    finally:
        _unlock(fd)
        os.close(fd)


def holder(path: Path) -> Holder | None:
    """Who holds the lock at `path` now, as its record says (None: free, or not said yet)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return _read(fd)
    finally:
        os.close(fd)


def _acquire(path: Path, wait: bool, lab: str, tell: Callable[[str], None]) -> int:
    told = False
    while True:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        if _lock(fd):
            if _still_at(fd, path):
                return fd
            _unlock(fd)  # the file was deleted (lab down) or replaced while we waited: lock the new one
            os.close(fd)
            continue
        other = _read(fd)
        for _ in range(RECORD_WAITS):  # locked a moment ago: the holder is writing who it is
            if other is not None:
                break
            time.sleep(POLL / 4)
            other = _read(fd)
        os.close(fd)
        who = other.describe() if other else "another process"
        if not wait:
            raise LabBusy(f"lab {lab} is in use by {who}: wait for it with --wait, or try again when it is done "
                          f"(lock {path})")
        if not told:
            tell(f"waiting for lab {lab}: in use by {who}")
            told = True
        time.sleep(POLL)


def _still_at(fd: int, path: Path) -> bool:
    try:
        now = os.stat(path)
    except OSError:
        return False
    mine = os.fstat(fd)
    return mine.st_nlink > 0 and (mine.st_dev, mine.st_ino) == (now.st_dev, now.st_ino)


def _command() -> str:
    argv = [os.path.basename(sys.argv[0]) if sys.argv else "labkit", *sys.argv[1:]]
    if argv[0] in ("__main__.py", "cli.py"):
        argv[0] = "labkit"
    return " ".join(argv)[:300]


def _read(fd: int) -> Holder | None:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 4096)
    try:
        data = json.loads(raw.decode("utf-8"))
        return Holder(int(data["pid"]), str(data["command"]), str(data["since"]))
    except (ValueError, KeyError, TypeError):
        return None


def _write(fd: int, text: str) -> None:
    os.lseek(fd, 0, os.SEEK_SET)
    os.ftruncate(fd, 0)
    os.write(fd, text.encode("utf-8"))


# ---- the OS's lock: flock on POSIX, msvcrt.locking on Windows (looked up at run time, so that no
# POSIX-only module is imported on a Windows user's path) ----

def _lock(fd: int) -> bool:
    """Take the lock without blocking; False when another open file holds it."""
    if sys.platform == "win32":
        msvcrt = importlib.import_module("msvcrt")
        os.lseek(fd, _WINDOWS_BYTE, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    fcntl = importlib.import_module("fcntl")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        msvcrt = importlib.import_module("msvcrt")
        os.lseek(fd, _WINDOWS_BYTE, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    fcntl = importlib.import_module("fcntl")
    fcntl.flock(fd, fcntl.LOCK_UN)
