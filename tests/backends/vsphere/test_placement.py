"""A VM is only put on a network its ESXi host carries (tests/vcsim/placement.go: LabEdge is a
standard port group of DC0_C0_H0 only, EdgeDV a port group of DVS-Edge, whose members are the
hosts of DC0_C0; host edge-esx01 has neither), and port groups with real names are used as such."""

from __future__ import annotations

import pytest
from pyVmomi import vim

from labkit.errors import BackendError
from labkit.backends.vsphere.lab import VsphereLab
from labkit.inventory import inventory_from_data
from tests.backends.vsphere.conftest import sim_inventory_data
from tests.backends.vsphere.test_finding import vm_named

NETWORKS = {
    "edge": {"type": "custom", "backend_network": "LabEdge", "subnet": "10.70.0.0/24"},
    "edgedv": {"type": "custom", "backend_network": "EdgeDV", "subnet": "10.71.0.0/24"},
    "prod": {"type": "custom", "backend_network": "Prod [VLAN 100]", "subnet": "10.60.0.0/24"},
}


def lab_with(vcsim, vms: list[dict]) -> VsphereLab:
    data = sim_inventory_data(vcsim, vms)
    data["networks"].update(NETWORKS)
    return VsphereLab(inventory_from_data(data))


def entry(name: str, mac: str, **fields) -> dict:
    return {"name": name, "os": "linux", **fields,
            "adapters": [{"interface": "eth0", "mac": mac, "network": "distributed"}]}


EDGE_TWIN = entry("stray", "00:50:56:ee:00:05", backend_name="twin", cluster="Edge Cluster")  # on edge-esx01
WEB2 = entry("web2", "00:50:56:ee:00:01", backend_name="web#2")  # on DC0_C0_H0


def card(vm):
    return next(d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualEthernetCard))


def reconfigures(probe, vm, before: set[str]) -> int:
    return sum(1 for t in probe.content.taskManager.recentTask if t._moId not in before
               and t.info.entity == vm and t.info.descriptionId == "VirtualMachine.reconfigVm")


@pytest.mark.parametrize("mode, kind, network, why", [
    ("edge", "standard", "LabEdge", "which has no standard port group 'LabEdge'"),
    ("edgedv", "distributed", "EdgeDV", "which is not a member of distributed switch DVS-Edge, so it cannot carry "
                                        "port group 'EdgeDV'"),
])
def test_a_network_the_host_lacks_is_refused_before_anything_is_submitted(vcsim, probe, password_env, mode, kind,
                                                                          network, why):
    stray = vm_named(probe, "twin", "Lab%2fTest")
    host = stray.runtime.host
    net = next(n for n in probe.networks(network))
    backing_before = type(card(stray).backing).__name__, getattr(card(stray).backing, "deviceName", None)
    lab = lab_with(vcsim, [EDGE_TWIN])
    before = probe.task_ids()
    try:
        with pytest.raises(BackendError) as err:
            lab.hypervisor.set_adapter_network("stray", lab.inventory.vm("stray").adapters[0], mode)
        assert str(err.value) == (f"VM twin ({stray._moId}, at DC0/vm/Lab%2fTest/twin) runs on ESXi host edge-esx01 "
                                  f"({host._moId}), {why} ({net._moId}): nothing was changed "
                                  + ("(add the port group to that host, or move the VM to a host that has it)"
                                     if kind == "standard" else "(add the host to the switch, or move the VM to a "
                                                                "member host)"))
        assert reconfigures(probe, stray, before) == 0
        assert (type(card(stray).backing).__name__, getattr(card(stray).backing, "deviceName", None)) == backing_before
    finally:
        lab.close()


def test_the_host_that_has_them_takes_both_and_a_batch_fails_only_the_stray(vcsim, probe, password_env):
    web2, stray = vm_named(probe, "web#2"), vm_named(probe, "twin", "Lab%2fTest")
    lab = lab_with(vcsim, [WEB2, EDGE_TWIN])
    hv = lab.hypervisor
    try:
        assert hv.set_adapter_network("web2", lab.inventory.vm("web2").adapters[0], "edgedv") is True
        before = probe.task_ids()
        out = hv.set_adapter_networks([(vm, lab.inventory.vm(vm).adapters[0], "edge") for vm in ("web2", "stray")])
        assert out["web2"] is True and hv.adapter_network("web2", lab.inventory.vm("web2").adapters[0]) == "edge"
        assert isinstance(out["stray"], BackendError) and "has no standard port group 'LabEdge'" in str(out["stray"])
        assert reconfigures(probe, web2, before) == 1 and reconfigures(probe, stray, before) == 0
        assert card(web2).backing.deviceName == "LabEdge"
    finally:
        lab.close()


def test_a_port_group_with_a_real_name_on_a_vm_with_one(vcsim, probe, password_env):
    rnd = vm_named(probe, "R&D, Zürich")
    lab = lab_with(vcsim, [entry("rnd", "00:50:56:ee:00:02", backend_name="R&D, Zürich")])
    nic = lab.inventory.vm("rnd").adapters[0]
    try:
        assert lab.hypervisor.set_adapter_network("rnd", nic, "prod") is True
        assert card(rnd).backing.deviceName == "Prod [VLAN 100]"
        assert lab.hypervisor.adapter_network("rnd", nic) == "prod"
        assert lab.hypervisor.set_adapter_network("rnd", nic, "prod") is False
    finally:
        lab.close()
