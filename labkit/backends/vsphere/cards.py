"""Read the network adapters of many VMs in one round trip, with what moving them depends on.

A batch of 50 VMs is read before anything is submitted and read back after the tasks ended:
two property-collector calls for the whole batch rather than two per VM, which on a busy vCenter
(and in Python's XML parsing) is most of what a batch costs beyond its tasks.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyVmomi import vim, vmodl

from labkit.errors import BackendError, LabkitError
from labkit.model import Adapter
from labkit.backends.vsphere import nics
from labkit.backends.vsphere.finder import FoundVm
from labkit.backends.vsphere.props import fault_message, moid, retrieve

PATHS = ["config.hardware.device", "runtime.powerState", "runtime.host"]


@dataclass(frozen=True)
class Placed:
    """A VM's adapter as vSphere has it now: the device, the power state, the ESXi host."""

    vm: FoundVm
    card: nics.EthernetCard
    on: bool
    host: vim.HostSystem | None


def read_cards(content: vim.ServiceInstanceContent,
               wanted: dict[str, tuple[FoundVm, Adapter]]) -> dict[str, Placed | LabkitError]:
    """Per key of `wanted` (key -> (VM, adapter)): the adapter read from vSphere, or that key's error."""
    if not wanted:
        return {}
    try:
        found = retrieve(content, [vm.obj for vm, _ in wanted.values()], vim.VirtualMachine, PATHS)
    except vmodl.fault.ManagedObjectNotFound:
        if len(wanted) == 1:
            vm = next(iter(wanted.values()))[0]
            raise BackendError(f"the VM {vm.describe()} is gone from vSphere") from None
        out: dict[str, Placed | LabkitError] = {}
        for key, item in wanted.items():  # one VM gone fails the whole read: read each alone
            try:
                out.update(read_cards(content, {key: item}))
            except LabkitError as exc:
                out[key] = exc
        return out
    except vmodl.MethodFault as exc:
        raise BackendError(f"reading the network adapters failed: {fault_message(exc) or type(exc).__name__}") from None
    props = {moid(obj): p for obj, p in found}
    out = {}
    for key, (vm, adapter) in wanted.items():
        p = props.get(vm.moid)
        if p is None:
            out[key] = BackendError(f"the VM {vm.describe()} is gone from vSphere")
            continue
        try:
            card = nics.pick(p.get("config.hardware.device") or [], adapter)
        except LabkitError as exc:
            out[key] = exc
            continue
        out[key] = Placed(vm, card, p.get("runtime.powerState") == vim.VirtualMachine.PowerState.poweredOn,
                          p.get("runtime.host"))
    return out
