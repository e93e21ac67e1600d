"""An adapter's virtual cable on vSphere, against the real vcsim: set_link edits the card's
connectable flags in place (the backing stays), reads them back, and a set_mode moves an unplugged
card without plugging it in."""

from __future__ import annotations

from labkit.backends.vsphere.lab import VsphereLab
from labkit.model import SetLink, Step
from labkit.runner import run_step
from tests.backends.vsphere.conftest import sim_inventory, vm_entry
from tests.backends.vsphere.test_backend import backing_type

N = 10  # DC0_C0_RP0_VM10: only looked up (by path) elsewhere; plugged back in at the end


def test_unplug_keeps_the_network_and_plug_restores_it(vcsim, probe, password_env):
    lab = VsphereLab(sim_inventory(vcsim, [vm_entry("vm", N)]))
    hv, links, nic = lab.hypervisor, lab.links, lab.inventory.vm("vm").adapters[0]
    try:
        links.set_link("vm", nic, True)
        hv.set_adapter_network("vm", nic, "standard")
        assert links.link_connected("vm", nic) is True and hv.adapter_network("vm", nic) == "standard"

        before = probe.task_ids()
        assert links.set_link("vm", nic, False) is True
        assert probe.reconfigures_since(before, N) == 1
        kind, connected, start = backing_type(probe, N)
        assert kind.endswith("NetworkBackingInfo") and not kind.startswith("Distributed")  # still standard
        assert (connected, start) == (False, False)
        assert links.link_connected("vm", nic) is False
        assert hv.adapter_network("vm", nic) is None  # no link: the model sees it disconnected

        before = probe.task_ids()
        assert links.set_link("vm", nic, False) is False  # already out: nothing submitted
        assert probe.reconfigures_since(before, N) == 0

        # set_mode on an unplugged card: the backing moves, the cable stays out
        assert hv.set_adapter_network("vm", nic, "distributed") is True
        kind, connected, start = backing_type(probe, N)
        assert kind.endswith("DistributedVirtualPortBackingInfo") and (connected, start) == (False, False)
        assert hv.adapter_network("vm", nic) is None
        assert hv.set_adapter_network("vm", nic, "distributed") is False

        assert links.set_link("vm", nic, True) is True
        kind, connected, start = backing_type(probe, N)
        assert kind.endswith("DistributedVirtualPortBackingInfo") and (connected, start) == (True, True)
        assert hv.adapter_network("vm", nic) == "distributed"
    finally:
        lab.links.set_link("vm", nic, True)
        lab.close()


def test_the_set_link_step_reports_each_vm(vcsim, probe, password_env):
    lab = VsphereLab(sim_inventory(vcsim, [vm_entry("vm", N)]))
    try:
        out = run_step(Step(name="out", kind="set_link", spec=SetLink(vms=["vm"], connected=False)), lab)
        assert out.vms["vm"].ok and out.vms["vm"].detail == "eth0 cable unplugged (changed)"
        again = run_step(Step(name="out", kind="set_link", spec=SetLink(vms=["vm"], connected=False)), lab)
        assert again.vms["vm"].detail == "eth0 cable unplugged (unchanged)"
        back = run_step(Step(name="in", kind="set_link", spec=SetLink(vms=["vm"], connected=True)), lab)
        assert back.vms["vm"].ok and back.vms["vm"].detail.startswith("eth0 cable plugged in (")
        assert backing_type(probe, N)[1:] == (True, True)
    finally:
        lab.links.set_link("vm", lab.inventory.vm("vm").adapters[0], True)
        lab.close()
