"""Finding the inventory's VMs on vcsim (tests/vcsim/placement.go adds the odd names and twins):
by moid, instance and BIOS UUID, path and name, scoped by folder, cluster or ESXi host; names as
vCenter stores them; an ambiguity is bad input (exit 2, nothing changed) listing each candidate's
moid and path."""

from __future__ import annotations

import json

import pytest

from labkit.errors import BackendError, InputError
from labkit.backends.vsphere import open_lab
from labkit.backends.vsphere.lab import VsphereLab
from labkit.inventory import inventory_from_data, load_inventory
from tests.backends.vsphere.conftest import sim_inventory, sim_inventory_data
from tests.backends.vsphere.test_playbook import labkit_run, write_inventory


def extra(name: str, n: int, **fields) -> dict:
    """An inventory VM for one of placement.go's VMs (n: its number there, MAC 00:50:56:ee:00:0n);
    its adapter is found by label, since several entries may stand for one VM."""
    return {"name": name, "os": "linux", **fields,
            "adapters": [{"interface": "eth0", "label": "ethernet-0", "network": "distributed"}]}


def vm_named(probe, name: str, folder: str | None = None):
    from pyVmomi import vim

    view = probe.content.viewManager.CreateContainerView(probe.content.rootFolder, [vim.VirtualMachine], True)
    try:
        return next(v for v in view.view if v.name == name and (folder is None or v.parent.name == folder))
    finally:
        view.Destroy()


def found(lab: VsphereLab, name: str) -> str:
    return lab.hypervisor._vm(name)[1].moid


def test_by_moid_bios_uuid_instance_uuid_path_and_real_names(vcsim, probe, password_env):
    web2, rnd = vm_named(probe, "web#2"), vm_named(probe, "R&D, Zürich")
    vms = [extra("bymoid", 1, moid=web2._moId),
           extra("bybios", 1, bios_uuid=web2.config.uuid.upper()),  # any case
           extra("byinstance", 2, uuid=rnd.config.instanceUuid),
           extra("bypath", 1, path="/DC0/vm/Lab%2fTest/web#2"),
           extra("byname", 2, backend_name="R&D, Zürich"),
           extra("shown", 3, backend_name="half/half"), extra("stored", 3, backend_name="half%2fhalf")]
    lab = VsphereLab(sim_inventory(vcsim, vms))
    try:
        assert {found(lab, v) for v in ("bymoid", "bybios", "bypath")} == {web2._moId}
        assert {found(lab, v) for v in ("byinstance", "byname")} == {rnd._moId}
        assert found(lab, "shown") == found(lab, "stored") == vm_named(probe, "half%2fhalf")._moId
    finally:
        lab.close()


def test_a_uuid_of_the_other_kind_says_so(vcsim, probe, password_env):
    web2 = vm_named(probe, "web#2")
    vms = [extra("bios-as-instance", 1, uuid=web2.config.uuid), extra("instance-as-bios", 1, bios_uuid=web2.config.instanceUuid),
           extra("ghost", 1, moid="vm-99999")]
    lab = VsphereLab(sim_inventory(vcsim, vms))
    try:
        with pytest.raises(BackendError) as err:
            lab.hypervisor.powered_on("bios-as-instance")
        assert str(err.value) == (f"no VM with instance UUID {web2.config.uuid} in datacenter DC0; it is the BIOS UUID "
                                  f"of web#2 ({web2._moId}, at DC0/vm/Lab%2fTest/web#2): give it as bios_uuid")
        with pytest.raises(BackendError, match=r"no VM with BIOS UUID .*; it is the instance UUID of web#2 .*: give it as uuid$"):
            lab.hypervisor.powered_on("instance-as-bios")
        with pytest.raises(BackendError, match=r"^no VM with moid vm-99999 in datacenter DC0$"):
            lab.hypervisor.powered_on("ghost")
    finally:
        lab.close()


def test_scope_by_folder_cluster_or_host_picks_one_twin(vcsim, probe, password_env):
    root, edge = vm_named(probe, "twin", "vm"), vm_named(probe, "twin", "Lab%2fTest")
    vms = [extra("infolder", 5, backend_name="twin", folder="DC0/vm/Lab%2fTest"),
           extra("incluster", 4, backend_name="twin", cluster="DC0_C0"),
           extra("edgecluster", 5, backend_name="twin", cluster="Edge Cluster"),
           extra("onhost", 4, backend_name="twin", esxi_host="DC0_C0_H0")]
    lab = VsphereLab(sim_inventory(vcsim, vms))
    try:
        assert found(lab, "infolder") == found(lab, "edgecluster") == edge._moId
        assert found(lab, "incluster") == found(lab, "onhost") == root._moId
    finally:
        lab.close()


def test_a_name_outside_the_scope_is_not_found_and_says_where_it_is(vcsim, probe, password_env):
    lab = VsphereLab(sim_inventory(vcsim, [extra("web", 1, backend_name="web#2", esxi_host="edge-esx01")]))
    try:
        with pytest.raises(BackendError) as err:
            lab.hypervisor.powered_on("web")
        assert str(err.value) == (f"no VM named 'web#2' on ESXi host 'edge-esx01' (outside it: web#2 "
                                  f"({vm_named(probe, 'web#2')._moId}, at DC0/vm/Lab%2fTest/web#2))")
    finally:
        lab.close()


def test_ambiguous_name_is_bad_input_listing_moids_and_paths(vcsim, probe, password_env, tmp_path):
    root, edge = vm_named(probe, "twin", "vm"), vm_named(probe, "twin", "Lab%2fTest")
    inv = write_inventory(tmp_path, sim_inventory_data(vcsim, [extra("twin", 4)]))
    with pytest.raises(InputError) as err:
        open_lab(load_inventory(inv))
    text = str(err.value)
    assert text.startswith(f"{inv}:") and "vms[0].name: 2 VMs named 'twin':" in text
    assert f"twin ({root._moId}, at DC0/vm/twin), host DC0_C0_H0" in text
    assert f"twin ({edge._moId}, at DC0/vm/Lab%2fTest/twin), host edge-esx01" in text
    assert "Give its moid or path" in text


def test_ambiguity_exits_2_before_anything_changes(vcsim, probe, tmp_path):
    data = sim_inventory_data(vcsim)
    data["vms"].append(extra("twin", 4))
    inv = write_inventory(tmp_path, data)
    pb = tmp_path / "pb.yml"
    pb.write_text(json.dumps({"name": "pb", "steps": [{"set_mode": {"vms": ["web", "twin"], "mode": "opaque"}}]}))
    before = probe.task_ids()
    done = labkit_run(vcsim, pb, inv, tmp_path / "r.json")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "2 VMs named 'twin'" in done.stderr and "Traceback" not in done.stderr
    assert probe.reconfigures_since(before, 0) == 0 and not (tmp_path / "r.json").exists()


def test_every_problem_of_the_lab_is_reported_at_once(vcsim, password_env):
    data = sim_inventory_data(vcsim, [extra("a", 4, backend_name="twin"), extra("b", 1, folder="DC0/vm/nowhere"),
                                      extra("c", 1, cluster="no such cluster")])
    data["networks"]["shared"].pop("switch")
    with pytest.raises(InputError) as err:
        open_lab(inventory_from_data(data))
    text = str(err.value)
    assert "networks.shared.backend_network: 'LabShared' names 2 vSphere networks" in text
    # the networks are resolved first: with one ambiguous, the VMs are not looked at yet
    data["networks"]["shared"]["switch"] = "DVS-B"
    with pytest.raises(InputError) as err:
        open_lab(inventory_from_data(data))
    lines = str(err.value).splitlines()
    assert len(lines) == 3
    assert "vms[0].backend_name: 2 VMs named 'twin'" in lines[0]
    assert "vms[1].folder: no folder at inventory path DC0/vm/nowhere" in lines[1]
    assert "vms[2].cluster: no cluster named 'no such cluster' in datacenter DC0 (there: DC0_C0, Edge Cluster)" in lines[2]


def test_identifiers_that_name_different_vms_are_bad_input(vcsim, probe, password_env):
    web2 = vm_named(probe, "web#2")
    lab = VsphereLab(sim_inventory(vcsim, [extra("x", 1, moid=web2._moId, backend_name="R&D, Zürich")]))
    try:
        with pytest.raises(InputError, match=r"vms\[0\].moid: the identifiers name different VMs: moid finds web#2 .*; "
                                             r"name finds R&D, Zürich"):
            lab.resolve_all()
    finally:
        lab.close()


def test_unreachable_vsphere_at_open_is_left_to_the_steps(vcsim, monkeypatch):
    monkeypatch.setenv("LABKIT_VSPHERE_PASSWORD", "wrong")
    lab = open_lab(sim_inventory(vcsim))  # no exception: the login failure is each step's to report
    try:
        with pytest.raises(BackendError, match="login refused"):
            lab.hypervisor.powered_on("web")
    finally:
        lab.close()
