"""Workstation snapshots through vmrun: `snapshot`, `revertToSnapshot` and `listSnapshots`.

vmrest 1.3.0 has no snapshot calls, so the Snapshots capability on Workstation is vmrun's (found
and run as vmrun.py says), addressed by each VM's .vmx path. Names are Workstation's own; a name
that is already there is not taken again (two snapshots of one name could not be told apart on
revert), and a revert first checks that exactly one snapshot has the name.

What vmrun cannot be told: its `snapshot` command takes no description and no switch for the
guest's memory, so `description` is not kept and whether a running VM's memory goes into the
snapshot is Workstation's choice (the runner reads the power state back after a revert). A name
with '/' or '\\' is refused: vmrun reads it as a path from a parent snapshot to a child.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from labkit.backends.workstation.vmrun import Vmrun, VmrunFailed
from labkit.errors import BackendError

log = logging.getLogger(__name__)
T = TypeVar("T")
SNAPSHOT_TIMEOUT = 1800.0  # seconds: a snapshot or revert of a VM with a large memory takes minutes


class VmrunSnapshots:
    """Snapshots of the lab's VMs; `vmrun()` finds vmrun and `vmx(vm)` gives a VM's .vmx path (both
    raise BackendError naming what is missing), so nothing is looked up before it is needed."""

    def __init__(self, vmrun: Callable[[], Vmrun], vmx: Callable[[str], str]) -> None:
        self._vmrun, self._vmx = vmrun, vmx

    def snapshot_names(self, vm: str) -> list[str]:
        return self._ask(vm, lambda tool, path: tool.snapshot_names(path))

    def take_snapshot(self, vm: str, name: str, description: str = "", memory: bool = False) -> bool:
        _check_name(vm, name)
        if name in self.snapshot_names(vm):
            return False
        if description or memory:
            log.debug("%s: vmrun's snapshot takes no description and no memory switch: Workstation decides", vm)
        self._ask(vm, lambda tool, path: tool.take_snapshot(path, name, timeout=SNAPSHOT_TIMEOUT))
        if name not in self.snapshot_names(vm):
            raise BackendError(f"{vm}: vmrun took snapshot {name!r}, but listSnapshots does not show it")
        return True

    def revert_snapshot(self, vm: str, name: str) -> None:
        names = self.snapshot_names(vm)
        found = names.count(name)
        if found != 1:
            there = ", ".join(repr(n) for n in names) or "none"
            problem = "no snapshot" if found == 0 else f"{found} snapshots named"
            raise BackendError(f"{vm}: {problem} {name!r} to revert to (its snapshots: {there})")
        self._ask(vm, lambda tool, path: tool.revert_to_snapshot(path, name, timeout=SNAPSHOT_TIMEOUT))

    def _ask(self, vm: str, do: Callable[[Vmrun, str], T]) -> T:
        tool, path = self._vmrun(), self._vmx(vm)
        try:
            return do(tool, path)
        except VmrunFailed as exc:
            raise BackendError(f"{vm}: {exc}") from None


def _check_name(vm: str, name: str) -> None:
    if not name.strip() or any(c in name for c in "/\\") or not name.isprintable():
        raise BackendError(f"{vm}: {name!r} cannot be a Workstation snapshot name through vmrun (empty, "
                           "a control character, or '/' or '\\', which vmrun reads as a path between snapshots)")
