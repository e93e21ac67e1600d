"""Change a guest's addressing without ever stranding it: back up, arm a revert timer in the guest,
write the new config, apply it detached from our session, then prove the guest answers at its new
address over the network before disarming the timer. If that proof does not come in time, the
guest restores the backup and re-applies it by itself; labkit then checks the old address answers
again and reports the step failed with the reason.

The timer is recorded in the guest until it is confirmed or has reverted (pending.py), so a later run
that finds one left armed by a run that died settles it (waits for it, or cancels it) before it
reads the file: it never reports `unchanged` against a file that is about to be reverted.

This is `netplan try` / Junos "commit confirmed" for every dialect, including RHEL's ifcfg, for
which no existing tool does it. The proof goes over the network only (never the console): a
console would happily confirm a configuration nobody can reach. The console, where the backend has
one, is the safety net behind the guest's own timer: after a failed proof labkit watches the
timer's "reverted" marker through it, and if the timer never fired (killed, guest clock stopped,
no setsid) it restores the backup and re-applies it through the console itself.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from ipaddress import IPv4Address

from labkit.clock import SYSTEM, Clock
from labkit.dialects import FileDialect, file_dialect
from labkit.errors import LabkitError, TransportError
from labkit.guest.config import edited, file_mode
from labkit.guest.pending import record, record_path, revert_script, settle
from labkit.netconfig import InterfaceConfig
from labkit.protocols import GuestTransport

RUN = "/run"


class RolledBack(LabkitError):
    """The new configuration could not be confirmed; the guest restored its previous one."""


def _stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


def safe_apply(channel: GuestTransport, dialect: str, interface: str, cfg: InterfaceConfig, *,
               find_address: Callable[[], IPv4Address | None],
               reach: Callable[[IPv4Address], GuestTransport],
               rollback_after: float = 60, poll: float = 0.5,
               console: Callable[[], GuestTransport] | None = None, clock: Clock = SYSTEM) -> str:
    """Apply `cfg` to `interface` through `channel`; return a detail line, or raise RolledBack.

    find_address: the guest's current address on that interface as the hypervisor sees it.
    reach: a transport to the guest at a given address over the network (SSH), no console.
    console: the backend's out-of-band channel to the guest, when it has one.
    clock: the lab's time (virtual in the simulated lab).
    """
    d = file_dialect(dialect)
    path = d.path_for(interface)
    settled = settle(channel, path, console=console, clock=clock, poll=poll)
    old = channel.read_file(path)
    new = edited(dialect, old, interface, cfg)
    if new == old:
        return f"{interface}: unchanged" + (f" ({settled})" if settled else "")
    token = _stamp()
    backup = f"{path}.labkit-{token}.bak"
    confirm = f"{RUN}/labkit-confirm-{token}"
    restart = d.restart_command(interface)
    # kept: the user can always go back by hand. With the config's own mode, because the revert
    # timer copies it back with cp, which gives the copy the backup's mode (0600 would leave an
    # ifcfg file unreadable to the tools that read it as a user)
    channel.write_file(backup, old, file_mode(dialect))
    armed = record_path(token)  # removed by the proof, or by the revert once done (pending.py)
    revert = (f"[ -e {confirm} ] && rm -f {armed} && exit 0\n"
              f"cp {backup} {path}.labkit-revert && mv -f {path}.labkit-revert {path}\n"
              f"{restart}\necho reverted > {RUN}/labkit-reverted-{token}\nrm -f {armed}\n")
    channel.write_file(revert_script(token), revert, 0o700)
    channel.write_file(armed, record(token, path, backup, int(rollback_after)), 0o600)
    channel.run(f"setsid -f sh -c 'sleep {int(rollback_after)}; sh {revert_script(token)}' >/dev/null 2>&1 </dev/null")
    channel.write_file(path, new, file_mode(dialect))
    applied = f"{RUN}/labkit-applied-{token}"
    # detached: the restart may cut the very session that started it
    channel.run(f"setsid -f sh -c '{restart}; touch {applied}' >{RUN}/labkit-apply-{token}.log 2>&1 </dev/null")
    # the proof: the guest is reachable at its new address, has finished applying, and (when it has
    # a gateway) reaches that gateway; only then is the timer disarmed
    proof = f"[ -e {applied} ]"
    if cfg.gateway is not None:
        proof += f" && ping -c 1 -W 1 {cfg.gateway} >/dev/null 2>&1"
    proof += f" && touch {confirm} && rm -f {armed}"

    deadline = clock.monotonic() + max(1.0, rollback_after - 2)
    want = cfg.address.ip if cfg.mode == "static" and cfg.address else None
    last_error = "no address yet"
    while clock.monotonic() < deadline:
        address = want or find_address()
        if address is not None:
            try:
                guest = reach(address)
                try:
                    if guest.run(proof, timeout=10).ok:
                        return (f"{interface}: {address} confirmed (backup {backup})"
                                + (f"; {settled}" if settled else ""))
                finally:
                    guest.close()
            except TransportError as exc:
                last_error = str(exc)
        clock.sleep(poll)
    # not confirmed: the guest reverts by itself when its timer fires; wait for that and check
    reverted = f"{RUN}/labkit-reverted-{token}"
    restored_by = "it rolled back to its previous configuration"
    fired_by = deadline + 2 + 5
    if console is not None:
        if not _wait_marker(console, reverted, fired_by, poll, clock):
            _restore(console(), path, backup, old, restart, dialect, token)
            restored_by = ("its revert timer did not fire, so labkit restored the previous configuration "
                           "through the console")
    else:
        clock.sleep(max(0.0, fired_by - clock.monotonic()))
    old_cfg_address = _address_of(d, old, path, interface)
    back = "does not answer at its previous address yet"
    for _ in range(40):
        address = old_cfg_address or find_address()
        if address is not None:
            try:
                guest = reach(address)
                try:
                    if guest.run("true", timeout=5).ok:
                        back = f"answers again at {address}"
                        break
                finally:
                    guest.close()
            except TransportError:
                pass
        clock.sleep(poll)
    raise RolledBack(f"{interface}: could not reach the guest at its new address within "
                     f"{rollback_after:g} s ({last_error}); {restored_by} and {back} (backup {backup})")


def _wait_marker(console: Callable[[], GuestTransport], marker: str, until: float, poll: float,
                 clock: Clock) -> bool:
    """True once the guest's revert timer has left its marker, False if it has not by `until`."""
    while True:
        try:
            if console().run(f"[ -e {marker} ]", timeout=10).ok:
                return True
        except TransportError:
            pass
        if clock.monotonic() >= until:
            return False
        clock.sleep(poll)


def _restore(con: GuestTransport, path: str, backup: str, old: str, restart: str, dialect: str,
             token: str) -> None:
    """Put the previous file back (atomically, from our copy) and re-apply it, stopping the timer."""
    # a late timer must not run its revert over ours; the bracket keeps pkill's own shell unmatched
    con.run(f"pkill -f 'labkit-revert-[{token[0]}]{token[1:]}' >/dev/null 2>&1")
    con.write_file(path, old, file_mode(dialect))
    result = con.run(f"{restart}; status=$?; rm -f {record_path(token)}; exit $status", timeout=120)
    if not result.ok:
        raise RolledBack(f"labkit restored {path} through the console but re-applying it failed "
                         f"(exit {result.exit_status}): {(result.stderr or result.stdout).strip()[-200:]} "
                         f"(backup {backup})")


def _address_of(d: FileDialect, text: str, path: str, interface: str) -> IPv4Address | None:
    try:
        cfg = d.read_config(d.parse(text, path), interface)
    except LabkitError:
        return None
    return cfg.address.ip if cfg.mode == "static" and cfg.address else None
