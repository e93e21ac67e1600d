"""VM snapshots on vSphere (the Snapshots capability): CreateSnapshot_Task and RevertToSnapshot_Task.

A trainer addresses a snapshot by name, and vSphere allows one name on several snapshots of a VM's
tree, so the tree (`snapshot.rootSnapshotList`, every branch) is read before each call: taking a
name the VM already has takes nothing (labkit never makes a name ambiguous), and reverting to a
name several snapshots have is refused with each of them, for the user to rename in vSphere.

Both go through the hypervisor's session (its guard against a lost vCenter) and its task waiting
(backend.task_timeout; a task still running then is reported so, not as failed). A revert is read
back (the VM's current snapshot is the one asked for). The VM's guest channels are dropped first
(`on_revert`): an SSH session or a VMware Tools temp directory does not survive a revert.

Errors are about one VM and are reported under its name, so they do not start with it; they name
the vSphere VM (name, moid, path) instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from pyVmomi import vim, vmodl

from labkit.backends.vsphere.finder import FoundVm
from labkit.backends.vsphere.hypervisor import VsphereHypervisor
from labkit.backends.vsphere.props import fault_message, moid, retrieve
from labkit.errors import BackendError


class VsphereSnapshots:
    """Snapshots over the hypervisor's session, lookups and task waiting."""

    def __init__(self, hypervisor: VsphereHypervisor, on_revert: Callable[[str], None] | None = None) -> None:
        self.hypervisor = hypervisor
        self._on_revert = on_revert

    def snapshot_names(self, vm: str) -> list[str]:
        """Every snapshot's name, oldest first (vSphere numbers a VM's snapshots as it takes them)."""
        return [t.name for t in self._tree(vm)[1]]

    def take_snapshot(self, vm: str, name: str, description: str = "", memory: bool = False) -> bool:
        found, tree = self._tree(vm)
        if any(t.name == name for t in tree):
            return False
        self.hypervisor.run_task(
            vm, f"taking snapshot {name!r} of {vm}",
            f"vCenter refused to take snapshot {name!r} of VM {found.describe()}",
            lambda: found.obj.CreateSnapshot(name=name, description=description, memory=memory,
                                             quiesce=False),  # CreateSnapshot_Task
            "create snapshot")
        return True

    def revert_snapshot(self, vm: str, name: str) -> None:
        found, tree = self._tree(vm)
        matches = [t for t in tree if t.name == name]
        if not matches:
            there = ", ".join(repr(t.name) for t in tree) or "none"
            raise BackendError(f"no snapshot {name!r} of VM {found.describe()} (its snapshots: {there})")
        if len(matches) > 1:
            which = "; ".join(f"id {t.id}, taken {t.createTime:%Y-%m-%d %H:%M:%S}" for t in matches)
            raise BackendError(f"{len(matches)} snapshots of VM {found.describe()} are named {name!r} ({which}); "
                               "rename all but one in vSphere to revert to it by name")
        target = matches[0].snapshot
        if self._on_revert is not None:
            self._on_revert(vm)
        self.hypervisor.run_task(
            vm, f"reverting {vm} to snapshot {name!r}",
            f"vCenter refused to revert VM {found.describe()} to snapshot {name!r}",
            lambda: target.Revert(host=None, suppressPowerOn=False),  # RevertToSnapshot_Task: power as the snapshot's
            "revert to snapshot")
        info = self._info(vm, found)
        current = info.currentSnapshot if info is not None else None
        if current is None or moid(current) != moid(target):
            raise BackendError(f"VM {found.describe()} is not at snapshot {name!r} after the revert (its current "
                               f"snapshot: {moid(current) if current is not None else 'none'})")

    # ---- the snapshot tree ----

    def _tree(self, vm: str) -> tuple[FoundVm, list[vim.vm.SnapshotTree]]:
        """The VM and every snapshot in its tree, oldest first."""
        found = self.hypervisor._vm(vm)[1]
        info = self._info(vm, found)
        roots = list(info.rootSnapshotList or []) if info is not None else []
        return found, sorted(_walk(roots), key=lambda t: t.id)

    def _info(self, vm: str, found: FoundVm) -> vim.vm.SnapshotInfo | None:
        session = self.hypervisor.session()
        try:
            with session.link.doing(f"reading {vm}'s snapshots"):
                read = retrieve(session.content, [found.obj], vim.VirtualMachine, ["snapshot"])
        except vmodl.fault.ManagedObjectNotFound:
            raise BackendError(f"the VM {found.describe()} is gone from vSphere") from None
        except vmodl.MethodFault as exc:
            raise BackendError(f"reading the snapshots of VM {found.describe()} failed: {fault_message(exc)}") from None
        info: vim.vm.SnapshotInfo | None = read[0][1].get("snapshot") if read else None
        return info


def _walk(trees: list[vim.vm.SnapshotTree]) -> Iterator[vim.vm.SnapshotTree]:
    for tree in trees:
        yield tree
        yield from _walk(list(tree.childSnapshotList or []))
