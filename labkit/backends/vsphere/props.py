"""Read many properties of many objects in one round trip (the property collector).

Attribute access on pyvmomi objects costs a round trip per attribute (`si.content` included, so
callers pass the ServiceContent read once at login); a run over 50 VMs reads through here
instead. Also the two things every vSphere module reads that pyVmomi's type stubs
leave out: a managed object's id and a fault's message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar, cast

from pyVmomi import vim, vmodl
from pyVmomi.VmomiSupport import ManagedObject

from labkit.errors import BackendError

M = TypeVar("M", bound=ManagedObject)

# What the property collector hands back: each object of the kind asked for, with {property path:
# value}. A value's type depends on its path (a power state, a device list, a NIC list...): Any.
Found = list[tuple[M, dict[str, Any]]]


def moid(obj: ManagedObject) -> str:
    """The managed object id ("vm-42"). `_GetMoId` is pyVmomi's public (non-remote) accessor for
    `_moId`, which its stubs do not declare."""
    return str(obj._GetMoId())


def fault_message(fault: vmodl.MethodFault) -> str | None:
    """The fault's `msg`: pyVmomi gives every fault one (None when the server sent none), but its
    stubs do not declare it."""
    msg: str | None = getattr(fault, "msg", None)
    return msg


def retrieve(content: vim.ServiceInstanceContent, objects: Sequence[ManagedObject], kind: type[M],
             paths: list[str]) -> Found[M]:
    """(object, {path: value}) for each of `objects` of type `kind` (missing values are absent)."""
    if not objects:
        return []
    pc = content.propertyCollector
    spec = vmodl.query.PropertyCollector.FilterSpec(
        objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=o, skip=False) for o in objects],
        propSet=[vmodl.query.PropertyCollector.PropertySpec(type=kind, pathSet=paths)])
    return _collect(pc, spec, kind)


def retrieve_all(content: vim.ServiceInstanceContent, root: vim.ManagedEntity, kind: type[M],
                 paths: list[str]) -> Found[M]:
    """The same for every object of type `kind` below `root` (a container view, destroyed after)."""
    return cast(Found[M], retrieve_kinds(content, root, {kind: paths}))


def retrieve_kinds(content: vim.ServiceInstanceContent, root: vim.ManagedEntity,
                   kinds: dict[type[ManagedObject], list[str]]) -> Found[ManagedObject]:
    """Every object of each kind in `kinds` below `root`, with that kind's paths: one container
    view and one (paged) retrieval for all of them."""
    views = content.viewManager
    if views is None:
        raise BackendError("this vSphere server offers no ViewManager: cannot list its objects")
    view = views.CreateContainerView(root, list(kinds), True)
    try:
        traverse = vmodl.query.PropertyCollector.TraversalSpec(name="view", path="view", skip=False,
                                                               type=vim.view.ContainerView)
        spec = vmodl.query.PropertyCollector.FilterSpec(
            objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=view, skip=True, selectSet=[traverse])],
            propSet=[vmodl.query.PropertyCollector.PropertySpec(type=kind, pathSet=paths)
                     for kind, paths in kinds.items()])
        return _collect(content.propertyCollector, spec, ManagedObject)
    finally:
        view.Destroy()


def _collect(pc: vmodl.query.PropertyCollector, spec: vmodl.query.PropertyCollector.FilterSpec,
             kind: type[M]) -> Found[M]:
    out: Found[M] = []
    result = pc.RetrievePropertiesEx([spec], vmodl.query.PropertyCollector.RetrieveOptions())
    while result is not None:
        for oc in result.objects:
            # the spec's PropertySpec asked for `kind` only, so every object is one (the stubs say
            # ManagedObject because ObjectContent serves every kind)
            out.append((cast(M, oc.obj), {p.name: p.val for p in (oc.propSet or [])}))
        result = pc.ContinueRetrievePropertiesEx(result.token) if result.token else None
    return out
