"""Wait for many vSphere tasks at once, each outcome kept for its own VM, for a bounded time.

One property-collector filter watches every task's state, so waiting for 50 reconfigures costs
a few round trips, not 50 polling loops; a failed task is reported for its VM and the others
go on. Each wait for updates asks vCenter to answer well within `backend.call_timeout` (a long
poll longer than the call limit would be cut as a lost vCenter); the whole wait ends at
`backend.task_timeout`. A task still running then is not a failure vCenter reported: it is
handed back as still running, since vCenter may yet finish it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from pyVmomi import vim, vmodl

from labkit.errors import BackendError, LabkitError
from labkit.backends.vsphere.connection import Session
from labkit.backends.vsphere.props import fault_message, moid
from labkit.backends.vsphere.session import VcenterLost

_DONE = (vim.TaskInfo.State.success, vim.TaskInfo.State.error)


def poll_seconds(call_timeout: float) -> int:
    """How long one WaitForUpdatesEx may wait on the server: half the call limit in whole seconds
    (0, under a call limit of 2 s: then it answers at once and labkit polls)."""
    return math.floor(call_timeout / 2)


def wait_all(content: vim.ServiceInstanceContent, tasks: dict[str, vim.Task],
             on_done: Callable[[str, str | None], None], *, timeout: float, call_timeout: float) -> dict[str, str]:
    """Call on_done(key, error message or None) once per task in `tasks` (key -> task) as each ends;
    return {key: task moid} for the tasks still running after `timeout` seconds."""
    if not tasks:
        return {}
    deadline = time.monotonic() + timeout
    # A collector of its own: waits running in other threads must not see (or eat) these updates.
    pc = content.propertyCollector.CreatePropertyCollector()
    by_moid = {moid(t): key for key, t in tasks.items()}
    spec = vmodl.query.PropertyCollector.FilterSpec(
        objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=t) for t in tasks.values()],
        propSet=[vmodl.query.PropertyCollector.PropertySpec(type=vim.Task, pathSet=["info.state", "info.error"])])
    pending = set(by_moid)
    try:
        pc.CreateFilter(spec, True)
        errors: dict[str, str | None] = {}
        version = ""
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            poll = poll_seconds(call_timeout)
            wait = min(poll, max(1, math.ceil(left))) if poll else 0
            update = pc.WaitForUpdatesEx(version, vmodl.query.PropertyCollector.WaitOptions(maxWaitSeconds=wait))
            if update is None:
                if wait == 0:
                    time.sleep(min(0.25, max(0.0, deadline - time.monotonic())))
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
        try:
            pc.Destroy()
        except (vmodl.MethodFault, LabkitError):
            pass  # a collector of a lost or ended session goes with the session
    return {by_moid[t]: t for t in pending}


def outcomes(session: Session, tasks: dict[str, vim.Task], what: str, timeout: float) -> dict[str, LabkitError | None]:
    """Wait for `tasks` (key -> task) within the session's limits: per key None (the task
    succeeded) or the error that says what became of it (failed, still running, or unknown
    because vCenter was lost meanwhile)."""
    out: dict[str, LabkitError | None] = {}

    def record(key: str, error: str | None) -> None:
        out[key] = BackendError(f"{what} task {moid(tasks[key])} failed: {error}") if error else None

    running: dict[str, str] = {}
    try:
        with session.link.doing(f"waiting for {len(tasks)} {what} task(s)"):
            running = wait_all(session.content, tasks, record, timeout=timeout, call_timeout=session.link.call_timeout)
    except VcenterLost as exc:
        for key in tasks:
            out.setdefault(key, VcenterLost(f"{exc}; {what} task {moid(tasks[key])} had been submitted, its outcome "
                                            f"is unknown"))
    except (vmodl.MethodFault, LabkitError) as exc:
        why = fault_message(exc) if isinstance(exc, vmodl.MethodFault) else str(exc)
        for key in tasks:
            out.setdefault(key, BackendError(f"waiting for {what} task {moid(tasks[key])} failed: {why}"))
    for key, task_id in running.items():
        out[key] = BackendError(f"{what} task {task_id} is still running on vCenter {session.link.where} after "
                                f"{timeout:g} s (backend.task_timeout): labkit stopped waiting, vCenter may still "
                                f"finish it (see its Recent Tasks)")
    return out
