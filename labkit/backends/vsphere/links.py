"""An adapter's virtual cable on vSphere (LinkControl): the card's connectable flags, edited in place.

Plugging or unplugging is one ReconfigVM_Task that edits the existing card's `connectable`
(connected now, and startConnected, "Connect at power on"), never its backing: the adapter stays on
its port group. The card is read back after the task, and the answer is what vSphere says then.
"""

from __future__ import annotations


from labkit.backends.vsphere import nics
from labkit.backends.vsphere.hypervisor import VsphereHypervisor
from labkit.errors import BackendError
from labkit.model import Adapter


class VsphereLinks:
    """LinkControl over the hypervisor's session, lookups and task waiting."""

    def __init__(self, hypervisor: VsphereHypervisor) -> None:
        self.hypervisor = hypervisor

    def link_connected(self, vm: str, adapter: Adapter) -> bool:
        """A running VM's card: connected now; a stopped VM's: whether it connects at power on."""
        placed = self.hypervisor._one(vm, adapter)
        return nics.connected(placed.card, placed.on)

    def set_link(self, vm: str, adapter: Adapter, connected: bool) -> bool:
        hv = self.hypervisor
        placed = hv._one(vm, adapter)
        if nics.connected(placed.card, placed.on) == connected:
            return False
        found = placed.vm
        word = "plugging in" if connected else "unplugging"
        hv.run_task(vm, f"{word} {vm}'s {adapter.interface}", f"vCenter refused the reconfigure of {found.describe()}",
                    lambda: found.obj.Reconfigure(spec=nics.link_spec(placed.card, connected, placed.on)),
                    "reconfigure")
        if self.link_connected(vm, adapter) != connected:
            state = "out" if connected else "in"
            raise BackendError(f"{adapter.interface}'s cable is still {state} after the reconfigure of "
                               f"{found.describe()}")
        return True
