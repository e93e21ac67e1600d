"""Change a guest's addressing without ever stranding it: back up, arm a revert timer in the guest,
write the new config, apply it detached from our session, then prove the guest answers at its new
address over the network before disarming the timer. If that proof does not come in time, the
guest restores the backup and re-applies it by itself; labkit then checks the old address answers
again and reports the step failed with the reason.

This is `netplan try` / Junos "commit confirmed" for every dialect, including RHEL's ifcfg, for
which no existing tool does it. The proof goes over the network only (never the console): a
console would happily confirm a configuration nobody can reach.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from ipaddress import IPv4Address

from labkit.dialects import file_dialect
from labkit.errors import LabkitError, TransportError
from labkit.netconfig import InterfaceConfig
from labkit.transport.base import GuestTransport

RUN = "/run"


class RolledBack(LabkitError):
    """The new configuration could not be confirmed; the guest restored its previous one."""


def _stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


def safe_apply(channel: GuestTransport, dialect: str, interface: str, cfg: InterfaceConfig, *,
               find_address: Callable[[], IPv4Address | None],
               reach: Callable[[IPv4Address], GuestTransport],
               rollback_after: float = 60, poll: float = 0.5) -> str:
    """Apply `cfg` to `interface` through `channel`; return a detail line, or raise RolledBack.

    find_address: the guest's current address on that interface as the hypervisor sees it.
    reach: a transport to the guest at a given address over the network (SSH), no console.
    """
    d = file_dialect(dialect)
    path = d.path_for(interface)
    old = channel.read_file(path)
    doc = d.parse(old, path)
    d.apply_config(doc, interface, cfg)
    new = d.render(doc)
    if new == old:
        return f"{interface}: unchanged"
    token = _stamp()
    backup = f"{path}.labkit-{token}.bak"
    confirm = f"{RUN}/labkit-confirm-{token}"
    restart = d.restart_command(interface)
    channel.write_file(backup, old, 0o600)  # kept: the user can always go back by hand
    timer = (f"sleep {int(rollback_after)}\n[ -e {confirm} ] && exit 0\n"
             f"cp {backup} {path}.labkit-revert && mv -f {path}.labkit-revert {path}\n"
             f"{restart}\necho reverted > {RUN}/labkit-reverted-{token}\n")
    channel.write_file(f"{RUN}/labkit-revert-{token}.sh", timer, 0o700)
    channel.run(f"setsid -f sh {RUN}/labkit-revert-{token}.sh >/dev/null 2>&1 </dev/null")
    channel.write_file(path, new, 0o600 if dialect == "nmkeyfile" else 0o644)
    applied = f"{RUN}/labkit-applied-{token}"
    # detached: the restart may cut the very session that started it
    channel.run(f"setsid -f sh -c '{restart}; touch {applied}' >{RUN}/labkit-apply-{token}.log 2>&1 </dev/null")
    # the proof: the guest is reachable at its new address, has finished applying, and (when it has
    # a gateway) reaches that gateway; only then is the timer disarmed
    proof = f"[ -e {applied} ]"
    if cfg.gateway is not None:
        proof += f" && ping -c 1 -W 1 {cfg.gateway} >/dev/null 2>&1"
    proof += f" && touch {confirm}"

    deadline = time.monotonic() + max(1.0, rollback_after - 2)
    want = cfg.address.ip if cfg.mode == "static" and cfg.address else None
    last_error = "no address yet"
    while time.monotonic() < deadline:
        address = want or find_address()
        if address is not None:
            try:
                guest = reach(address)
                try:
                    if guest.run(proof, timeout=10).ok:
                        return f"{interface}: {address} confirmed (backup {backup})"
                finally:
                    guest.close()
            except TransportError as exc:
                last_error = str(exc)
        time.sleep(poll)
    # not confirmed: the guest reverts by itself when its timer fires; wait for that and check
    old_cfg_address = _address_of(d, old, path, interface)
    time.sleep(max(0.0, deadline + 2 + 3 - time.monotonic()))
    back = "unknown"
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
        time.sleep(poll)
    raise RolledBack(f"{interface}: could not reach the guest at its new address within "
                     f"{rollback_after:g} s ({last_error}); it rolled back to its previous configuration "
                     f"and {back} (backup {backup})")


def _address_of(d, text: str, path: str, interface: str) -> IPv4Address | None:
    try:
        cfg = d.read_config(d.parse(text, path), interface)
    except LabkitError:
        return None
    return cfg.address.ip if cfg.mode == "static" and cfg.address else None
