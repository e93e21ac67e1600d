"""The vSphere backend against the real vcsim binary: lookups, NIC edits, idempotence, batches,
guest addresses, and the connection's safety (password, TLS)."""

from __future__ import annotations

import pytest

from labkit.errors import BackendError, InputError
from labkit.backends.vsphere.lab import VsphereLab
from labkit.model import Adapter
from tests.backends.vsphere.conftest import make_cert, sim_inventory, vm_entry


def lab_for(vcsim, vms, **backend) -> VsphereLab:
    return VsphereLab(sim_inventory(vcsim, vms, **backend))


def backing_type(probe, n: int) -> str:
    from pyVmomi import vim

    card = next(d for d in probe.vm(n).config.hardware.device if isinstance(d, vim.vm.device.VirtualEthernetCard))
    return type(card.backing).__name__, card.connectable.connected, card.connectable.startConnected


@pytest.mark.parametrize("by", ["mac", "label"])
def test_walk_standard_distributed_opaque_standard(vcsim, probe, password_env, by):
    n = 3 if by == "mac" else 4
    adapter = {"label": "ethernet-0"} if by == "label" else {"mac": f"00:50:56:00:00:{n:02X}"}  # MAC in upper case
    lab = lab_for(vcsim, [vm_entry("vm", n, **adapter)])
    hv, nic = lab.hypervisor, lab.inventory.vm("vm").adapters[0]
    try:
        expected = {"standard": "NetworkBackingInfo", "distributed": "DistributedVirtualPortBackingInfo",
                    "nsx": "DistributedVirtualPortBackingInfo", "opaque": "OpaqueNetworkBackingInfo"}
        for mode in ["standard", "distributed", "nsx", "opaque", "standard"]:
            assert hv.set_adapter_network("vm", nic, mode) is True
            assert hv.adapter_network("vm", nic) == mode
            kind, connected, start = backing_type(probe, n)
            assert kind.endswith(expected[mode]) and connected and start
    finally:
        lab.close()


def test_opaque_backing_takes_id_and_type_from_the_network(vcsim, probe, password_env):
    from pyVmomi import vim

    lab = lab_for(vcsim, [vm_entry("vm", 5)])
    try:
        lab.hypervisor.set_adapter_network("vm", lab.inventory.vm("vm").adapters[0], "opaque")
        net = probe.networks("DC0_NSX0")[0]
        card = next(d for d in probe.vm(5).config.hardware.device if isinstance(d, vim.vm.device.VirtualEthernetCard))
        assert card.backing.opaqueNetworkId == net.summary.opaqueNetworkId
        assert card.backing.opaqueNetworkType == net.summary.opaqueNetworkType == "nsx.LogicalSwitch"
        assert card.macAddress == "00:50:56:00:00:05"  # the device was edited, not replaced
    finally:
        lab.close()


def test_a_second_identical_run_submits_no_task(vcsim, probe, password_env):
    lab = lab_for(vcsim, [vm_entry("vm", 6)])
    nic = lab.inventory.vm("vm").adapters[0]
    try:
        before = probe.task_ids()
        assert lab.hypervisor.set_adapter_network("vm", nic, "standard") is True
        assert probe.reconfigures_since(before, 6) == 1
        before = probe.task_ids()
        assert lab.hypervisor.set_adapter_network("vm", nic, "standard") is False
        assert probe.reconfigures_since(before, 6) == 0
    finally:
        lab.close()


def test_switch_picks_one_of_two_port_groups_with_the_same_name(vcsim, probe, password_env):
    lab = lab_for(vcsim, [vm_entry("vm", 7)])
    try:
        lab.hypervisor.set_adapter_network("vm", lab.inventory.vm("vm").adapters[0], "shared")
        card_pg = next(d for d in probe.vm(7).config.hardware.device if hasattr(d, "macAddress")).backing.port
        dvs_b = next(pg for pg in probe.networks("LabShared") if pg.config.distributedVirtualSwitch.name == "DVS-B")
        assert card_pg.portgroupKey == dvs_b.key
        assert card_pg.switchUuid == dvs_b.config.distributedVirtualSwitch.uuid
    finally:
        lab.close()


def test_ambiguous_network_name_lists_the_candidates(vcsim, password_env):
    from labkit.inventory import inventory_from_data
    from tests.backends.vsphere.conftest import sim_inventory_data

    data = sim_inventory_data(vcsim, [vm_entry("vm", 8)])
    del data["networks"]["shared"]["switch"]
    lab = VsphereLab(inventory_from_data(data))
    try:
        with pytest.raises(InputError) as err:
            lab.hypervisor.set_adapter_network("vm", lab.inventory.vm("vm").adapters[0], "shared")
        msg = str(err.value)
        assert "networks.shared.backend_network" in msg and "names 2 vSphere networks" in msg
        assert "on DVS0" in msg and "on DVS-B" in msg and "moid dvportgroup-" in msg
    finally:
        lab.close()


def test_moid_breaks_the_tie_too(vcsim, probe, password_env):
    from labkit.inventory import inventory_from_data
    from tests.backends.vsphere.conftest import sim_inventory_data

    dvs0 = next(pg for pg in probe.networks("LabShared") if pg.config.distributedVirtualSwitch.name == "DVS0")
    data = sim_inventory_data(vcsim, [vm_entry("vm", 9)])
    data["networks"]["shared"].pop("switch")
    data["networks"]["shared"]["moid"] = dvs0._moId
    lab = VsphereLab(inventory_from_data(data))
    try:
        lab.hypervisor.set_adapter_network("vm", lab.inventory.vm("vm").adapters[0], "shared")
        assert next(d for d in probe.vm(9).config.hardware.device
                    if hasattr(d, "macAddress")).backing.port.portgroupKey == dvs0.key
    finally:
        lab.close()


def test_missing_vm_is_an_error_naming_it(vcsim, password_env):
    lab = lab_for(vcsim, [vm_entry("ghost", 8) | {"backend_name": "no-such-vm"}])
    try:
        with pytest.raises(BackendError, match="^no VM named 'no-such-vm' in datacenter DC0$"):
            lab.hypervisor.set_adapter_network("ghost", lab.inventory.vm("ghost").adapters[0], "standard")
    finally:
        lab.close()


def test_vm_by_path_and_by_instance_uuid(vcsim, probe, password_env):
    uuid = probe.vm(11).config.instanceUuid
    vms = [{"name": "bypath", "path": "DC0/vm/DC0_C0_RP0_VM10", "os": "linux",
            "adapters": [{"interface": "eth0", "label": "ethernet-0", "network": "distributed"}]},
           {"name": "byuuid", "uuid": uuid, "os": "linux",
            "adapters": [{"interface": "eth0", "mac": "00:50:56:00:00:0b", "network": "distributed"}]}]
    lab = lab_for(vcsim, vms)
    try:
        for name, n in (("bypath", 10), ("byuuid", 11)):
            lab.hypervisor.set_adapter_network(name, lab.inventory.vm(name).adapters[0], "opaque")
            assert backing_type(probe, n)[0].endswith("OpaqueNetworkBackingInfo")
    finally:
        lab.close()


def test_wrong_password_is_refused_once_and_named(vcsim, monkeypatch):
    monkeypatch.setenv("LABKIT_VSPHERE_PASSWORD", "not-" + vcsim.password)
    lab = lab_for(vcsim, [vm_entry("vm", 12)])
    try:
        for _ in range(2):  # the failure is remembered: one login attempt per run
            with pytest.raises(BackendError, match="login refused for user labkit") as err:
                lab.hypervisor.powered_on("vm")
            assert vcsim.password not in str(err.value)
    finally:
        lab.close()


def test_missing_password_variable_names_it(vcsim, monkeypatch):
    monkeypatch.delenv("LABKIT_VSPHERE_PASSWORD", raising=False)
    lab = lab_for(vcsim, [vm_entry("vm", 12)])
    with pytest.raises(InputError, match="LABKIT_VSPHERE_PASSWORD is not set"):
        lab.hypervisor.powered_on("vm")


def test_tls_verification_fails_against_another_ca(vcsim, password_env, tmp_path):
    other_ca, _ = make_cert(tmp_path, "other")
    lab = lab_for(vcsim, [vm_entry("vm", 12)], ca_file=str(other_ca))
    with pytest.raises(BackendError, match="TLS certificate not trusted"):
        lab.hypervisor.powered_on("vm")


def test_tls_without_ca_file_uses_the_system_store_and_fails(vcsim, password_env):
    from labkit.inventory import inventory_from_data
    from tests.backends.vsphere.conftest import sim_inventory_data

    data = sim_inventory_data(vcsim, [vm_entry("vm", 12)])
    del data["backend"]["ca_file"]
    lab = VsphereLab(inventory_from_data(data))
    with pytest.raises(BackendError, match="TLS certificate not trusted"):
        lab.hypervisor.powered_on("vm")


def test_insecure_connects_and_warns(vcsim, password_env, tmp_path, caplog):
    other_ca, _ = make_cert(tmp_path, "other")
    lab = lab_for(vcsim, [vm_entry("vm", 12)], ca_file=str(other_ca), insecure=True)
    try:
        assert lab.hypervisor.powered_on("vm") is True
        assert any("verification is OFF" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)
    finally:
        lab.close()


def test_twenty_vms_in_one_batch_each_with_its_own_outcome(vcsim, probe, password_env):
    vms = [vm_entry(f"n{n}", n) for n in range(12, 32)]
    vms[5]["adapters"][0]["mac"] = "00:50:56:99:99:99"  # this one has no such adapter
    lab = lab_for(vcsim, vms)
    done = []
    try:
        requests = [(vm["name"], lab.inventory.vm(vm["name"]).adapters[0], "opaque") for vm in vms]
        out = lab.hypervisor.set_adapter_networks(requests, on_done=done.append)
        assert sorted(done) == sorted(v["name"] for v in vms)
        bad = vms[5]["name"]
        assert isinstance(out[bad], BackendError) and "no network adapter with MAC" in str(out[bad])
        assert all(out[v["name"]] is True for v in vms if v["name"] != bad)
        assert all(backing_type(probe, n)[0].endswith("OpaqueNetworkBackingInfo") for n in range(12, 32) if n != 17)
        again = lab.hypervisor.set_adapter_networks([r for r in requests if r[0] != bad])
        assert set(again.values()) == {False}
    finally:
        lab.close()


def test_power_off_and_on(vcsim, probe, password_env):
    lab = lab_for(vcsim, [vm_entry("vm", 30)])
    hv = lab.hypervisor
    try:
        assert hv.powered_on("vm") is True
        assert hv.set_power("vm", False) is True
        assert probe.vm(30).runtime.powerState == "poweredOff"
        assert hv.set_power("vm", False) is False
        assert hv.set_power("vm", True) is True and hv.powered_on("vm")
    finally:
        lab.close()


def test_guest_address_by_mac_from_guest_net(vcsim, probe, password_env):
    lab = lab_for(vcsim, [vm_entry("vm", 31)])
    try:
        assert lab.guest_address("vm", "eth0") is None
        probe.set_guest_ip(31, "10.20.0.31")
        nics = lab.hypervisor.guest_nics("vm")
        # vcsim reports the bare address (no ipConfig): its prefix is that of the inventory network it is in
        assert [(n.mac, [str(a) for a in n.addresses]) for n in nics] == [("00:50:56:00:00:1f", ["10.20.0.31/24"])]
        probe.set_guest_ip(31, "172.31.9.9")  # in no inventory network: nothing to go by but the address
        assert [str(a) for a in lab.hypervisor.guest_nics("vm")[0].addresses] == ["172.31.9.9/32"]
        probe.set_guest_ip(31, "10.20.0.31")
        assert str(lab.guest_address("vm", "eth0")) == "10.20.0.31"
    finally:
        lab.close()


def test_host_adapter_is_not_a_vsphere_thing(vcsim, password_env):
    lab = lab_for(vcsim, [vm_entry("vm", 12)])
    assert lab.hypervisor.host_adapter_enabled("standard") is False
    assert lab.host_adapters is None  # the lab declares it cannot, so check and the runner know
    from labkit.model import SetHostAdapter, Step
    from labkit.runner import run_step

    step = run_step(Step(name="off", kind="set_host_adapter", spec=SetHostAdapter(network="standard",
                                                                                 enabled=False)), lab)
    assert not step.vms["host"].ok and "vsphere backend cannot switch the host's virtual adapter" in step.vms["host"].error


def test_transports_need_ssh_settings(vcsim, password_env):
    from labkit.errors import TransportError

    lab = lab_for(vcsim, [vm_entry("vm", 12)])
    with pytest.raises(TransportError, match="vm: the inventory gives no ssh settings"):
        lab.transport("vm")
    with pytest.raises(TransportError, match="no channel to 'host'"):
        lab.transport("host")


def test_adapter_without_mac_or_label_is_refused(vcsim, password_env):
    lab = lab_for(vcsim, [{"name": "vm", "backend_name": "DC0_C0_RP0_VM12", "os": "linux",
                           "adapters": [{"interface": "eth0", "network": "distributed"}]}])
    try:
        with pytest.raises(BackendError, match="needs a mac or a label"):
            lab.hypervisor.adapter_network("vm", Adapter(interface="eth0", network="distributed"))
    finally:
        lab.close()


def test_runner_switches_twenty_vms_in_one_step_through_the_batch(vcsim, probe, password_env):
    """The runner's set_mode goes through set_adapter_networks (one bounded pool, tasks waited for
    together); each VM gets its own result, the one without such an adapter fails alone."""
    from labkit.model import SetMode, Step
    from labkit.runner import run_step

    vms = [vm_entry(f"r{n}", n) for n in range(12, 32)]
    vms[0]["adapters"][0]["label"] = "no such label"
    del vms[0]["adapters"][0]["mac"]
    lab = lab_for(vcsim, vms)
    try:
        step = Step(name="all", kind="set_mode", spec=SetMode(vms=[v["name"] for v in vms], adapter="eth0",
                                                              mode="standard"))
        out = run_step(step, lab, workers=1)
        assert out.error is None
        assert out.vms["r12"].ok is False and "no network adapter with label 'no such label'" in out.vms["r12"].error
        assert [out.vms[f"r{n}"].detail for n in range(13, 32)] == ["eth0 -> standard (changed)"] * 19
    finally:
        lab.close()


def test_why_no_address_is_said_in_vsphere_terms_naming_the_server(vcsim, probe, password_env):
    """For a wait_for_ip that timed out (labkit/runner.py can add it to its message)."""
    off = {"name": "off", "backend_name": "web#2", "os": "linux",
           "adapters": [{"interface": "eth0", "mac": "00:50:56:ee:00:01", "network": "distributed"}]}
    lab = lab_for(vcsim, [vm_entry("quiet", 29), off])
    hv = lab.hypervisor
    try:
        moid = probe.vm(29)._moId
        where = f"as vCenter 127.0.0.1:{vcsim.port} reports"
        reason = hv.no_address_reason("quiet", lab.inventory.vm("quiet").adapters[0])  # vcsim: Tools not running
        assert reason == (f"VMware Tools is not running in VM DC0_C0_RP0_VM29 ({moid}, at DC0/vm/DC0_C0_RP0_VM29) "
                          f"(guestToolsNotRunning, {where})")
        reason = hv.no_address_reason("off", lab.inventory.vm("off").adapters[0])
        assert reason.startswith("VM web#2 (vm-") and reason.endswith(f"is powered off ({where})")
    finally:
        lab.close()


def test_why_no_address_when_tools_run():
    from pyVmomi import vim

    from labkit.backends.vsphere.guestnet import no_address_reason

    nic = Adapter(interface="eth0", mac="00:50:56:00:00:01", network="standard")
    running = {"runtime.powerState": "poweredOn", "guest.toolsRunningStatus": "guestToolsRunning"}
    other = vim.vm.GuestInfo.NicInfo(macAddress="00:50:56:00:00:02", ipAddress=["10.0.0.9"])
    mine = vim.vm.GuestInfo.NicInfo(macAddress="00:50:56:00:00:01", ipAddress=["172.16.0.9", "fe80::1"])
    assert no_address_reason("web (vm-1)", "vc:443", nic, running | {"guest.net": [other]}) == (
        "VMware Tools in VM web (vm-1) reports no NIC with MAC 00:50:56:00:00:01 (as vCenter vc:443 reports)")
    assert no_address_reason("web (vm-1)", "vc:443", nic, running | {"guest.net": [other, mine]}) == (
        "VMware Tools in VM web (vm-1) reports only 172.16.0.9, fe80::1 (as vCenter vc:443 reports)")
