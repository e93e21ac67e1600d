"""Revert timers an earlier run left armed in a guest: settled before a configuration is read again.

Safe apply (safeapply.py) arms a timer in the guest that restores the previous file unless labkit
confirms the new one in time. When the run that armed it dies (killed, a lost laptop lid, Ctrl-C),
the timer still fires, later. A run that read the file in between would see the unconfirmed change,
report the interface `unchanged` (or "already so") and then watch it revert under it.

So each timer is recorded in the guest, `/run/labkit-armed-TOKEN` (`token=`, `path=`, `backup=`,
`seconds=` lines), from before it is armed until it is confirmed (the proof removes it) or it has
restored the backup (the revert script removes it last). Before labkit reads a file it configures,
`settle()` looks for records of that file and, for each, either
- waits for its timer (while the timer runs, and at most its own `seconds` plus a margin, for
  timers of up to WAIT_LIMIT seconds): the guest restores the backup itself, or
- cancels it: the timer is stopped and its revert runs now (a longer timer, one no longer
  running, or one that did not finish in time), through the console when the backend has one;
and says which, so the step's line tells the user. Either way the file is then the confirmed one,
and what the step reports is the guest's final state. /run is a tmpfs: a reboot, which kills the
timer, also drops its record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from labkit.clock import SYSTEM, Clock
from labkit.errors import LabkitError, TransportError
from labkit.protocols import GuestTransport

RUN = "/run"
WAIT_LIMIT = 120.0  # seconds: a timer armed for longer is cancelled rather than waited for
MARGIN = 15.0  # past a timer's own seconds: its revert restarts the network, which takes time


def record_path(token: str) -> str:
    return f"{RUN}/labkit-armed-{token}"


def revert_script(token: str) -> str:
    return f"{RUN}/labkit-revert-{token}.sh"


def record(token: str, path: str, backup: str, seconds: int) -> str:
    return f"token={token}\npath={path}\nbackup={backup}\nseconds={seconds}\n"


@dataclass(frozen=True)
class Armed:
    token: str
    path: str
    backup: str
    seconds: int


def armed(channel: GuestTransport, path: str) -> list[Armed]:
    """The timers armed for `path` in the guest, as their records say."""
    listed = channel.run(f"cat {RUN}/labkit-armed-* 2>/dev/null", timeout=30)
    found: list[Armed] = []
    fields: dict[str, str] = {}
    for line in (listed.stdout + "\ntoken=").splitlines():
        key, _, value = line.partition("=")
        if key == "token" and fields:
            try:
                item = Armed(fields["token"], fields["path"], fields["backup"], int(fields["seconds"]))
            except (KeyError, ValueError):
                item = None  # a record half-written when its run died: its timer was never armed
            if item is not None and item.path == path:
                found.append(item)
            fields = {}
        if key in ("token", "path", "backup", "seconds"):
            fields[key] = value
    return found


def settle(channel: GuestTransport, path: str, *, console: Callable[[], GuestTransport] | None = None,
           clock: Clock = SYSTEM, poll: float = 0.5, wait_limit: float = WAIT_LIMIT) -> str | None:
    """Settle every timer armed for `path` (see the module docstring); a line saying what was done,
    or None when none was armed."""
    said = []
    if console is not None:  # a revert restarts the network: the console outlives it
        channel = console()
    for timer in armed(channel, path):
        name = path.rsplit("/", 1)[-1]
        started = clock.monotonic()
        if timer.seconds <= wait_limit and _running(channel, timer) is not False:
            if _gone(channel, timer, started + timer.seconds + MARGIN, poll, clock):
                said.append(f"an earlier run left {name} unconfirmed: waited {clock.monotonic() - started:.0f} s "
                            f"for its revert timer, which restored {timer.backup}")
                continue
        _cancel(channel, timer, console, poll, clock)
        said.append(f"an earlier run left {name} unconfirmed: cancelled its revert timer ({timer.seconds} s) "
                    f"and restored {timer.backup} now")
    return "; ".join(said) or None


def _running(channel: GuestTransport, timer: Armed) -> bool | None:
    """Whether the timer's process runs (None: the guest has no pgrep to say)."""
    found = channel.run(f"pgrep -f 'labkit-revert-[{timer.token[0]}]{timer.token[1:]}' >/dev/null 2>&1",
                        timeout=30)
    return {0: True, 1: False}.get(found.exit_status)


def _gone(channel: GuestTransport, timer: Armed, until: float, poll: float, clock: Clock) -> bool:
    """True once the timer's record is gone (it reverted, or its run confirmed it after all)."""
    while True:
        try:
            if not channel.run(f"[ -e {record_path(timer.token)} ]", timeout=30).ok:
                return True
        except TransportError:
            pass  # its revert restarts the network under the channel: try again
        if clock.monotonic() >= until:
            return False
        clock.sleep(poll)


def _cancel(channel: GuestTransport, timer: Armed, console: Callable[[], GuestTransport] | None, poll: float,
            clock: Clock) -> None:
    """Stop the timer and run its revert now: through the console when there is one (the restart
    may cut any other channel), else detached, and wait for it to finish."""
    pattern = f"labkit-revert-[{timer.token[0]}]{timer.token[1:]}"
    revert = revert_script(timer.token)
    if console is not None:
        con = console()
        con.run(f"pkill -f '{pattern}' >/dev/null 2>&1", timeout=30)
        done = con.run(f"sh {revert}", timeout=180)
        if not done.ok:
            raise LabkitError(f"an earlier run's change to {timer.path} was left unconfirmed, and restoring its "
                              f"backup {timer.backup} failed (exit {done.exit_status}): "
                              f"{(done.stderr or done.stdout).strip()[-200:]}")
        return
    channel.run(f"pkill -f '{pattern}' >/dev/null 2>&1", timeout=30)
    channel.run(f"setsid -f sh {revert} >/dev/null 2>&1 </dev/null", timeout=30)
    if not _gone(channel, timer, clock.monotonic() + 120, poll, clock):
        raise LabkitError(f"an earlier run's change to {timer.path} was left unconfirmed, and its backup "
                          f"{timer.backup} was not restored within 120 s")
