"""Wait for many vSphere tasks at once, each outcome kept for its own VM.

One property-collector filter watches every task's state, so waiting for 50 reconfigures costs
a few round trips, not 50 polling loops; a failed task is reported for its VM and the others
go on.
"""

from __future__ import annotations

from collections.abc import Callable

from pyVmomi import vim, vmodl

from labkit.backends.vsphere.props import fault_message, moid

_DONE = (vim.TaskInfo.State.success, vim.TaskInfo.State.error)


def wait_all(si: vim.ServiceInstance, tasks: dict[str, vim.Task], on_done: Callable[[str, str | None], None]) -> None:
    """Call on_done(key, error message or None) once per task in `tasks` (key -> task) as each ends."""
    if not tasks:
        return
    # A collector of its own: waits running in other threads must not see (or eat) these updates.
    pc = si.content.propertyCollector.CreatePropertyCollector()
    by_moid = {moid(t): key for key, t in tasks.items()}
    spec = vmodl.query.PropertyCollector.FilterSpec(
        objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=t) for t in tasks.values()],
        propSet=[vmodl.query.PropertyCollector.PropertySpec(type=vim.Task, pathSet=["info.state", "info.error"])])
    try:
        pc.CreateFilter(spec, True)
        pending = set(by_moid)
        errors: dict[str, str | None] = {}
        version = ""
        while pending:
            update = pc.WaitForUpdatesEx(version, vmodl.query.PropertyCollector.WaitOptions(maxWaitSeconds=60))
            if update is None:
                continue
            version = update.version
            for fs in update.filterSet or []:
                for oc in fs.objectSet or []:
                    task = moid(oc.obj)
                    state = None
                    for change in oc.changeSet or []:
                        if change.name == "info.error" and change.val is not None:
                            fault = change.val  # a vmodl.MethodFault (TaskInfo.error)
                            text = fault_message(fault) if isinstance(fault, vmodl.MethodFault) else None
                            errors[task] = text or type(fault).__name__
                        elif change.name == "info.state":
                            state = change.val
                    if task in pending and state in _DONE:
                        pending.discard(task)
                        error = errors.get(task) or ("task failed" if state == vim.TaskInfo.State.error else None)
                        on_done(by_moid[task], error)
    finally:
        pc.Destroy()
