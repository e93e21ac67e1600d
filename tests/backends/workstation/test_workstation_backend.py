"""WorkstationLab on the fake vmrest (VmrestHypervisor), and without vmrest (VmxHypervisor, .vmx files)."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import pytest

from labkit.errors import BackendError, InputError, TransportError
from labkit.backends.workstation.lab import WorkstationLab, open_lab
from labkit.backends.workstation.networks import nic_index
from labkit.backends.workstation.vmrest import VmrestClient
from labkit.backends.workstation.vmrest_hypervisor import VmrestHypervisor
from labkit.backends.workstation.vmx_hypervisor import VmxHypervisor
from labkit.inventory import inventory_from_data, load_inventory
from labkit.yamlsrc import load
from tests.conftest import REPO, require
from tests.backends.workstation.conftest import PASSWORD

INVENTORY = REPO / "inventory" / "workstation-vmrest.yml"
CENTOS = "8VQ2J4AS0PFKC2PFQ1H6O8B6L1B3TSKE"
WIN7 = "F0B3MKSDR2GT9FV0JPTM6I2EIS39VVNK"


def inventory_at(port: int, tmp_path: Path, **backend):
    """The shipped inventory pointed at the fake (the CLI has no port option; a copy carries it)."""
    data = load(INVENTORY).data
    data["backend"] = {**data["backend"], "port": port, **backend}
    data["backend"] = {k: v for k, v in data["backend"].items() if v is not None}
    return inventory_from_data(data, str(tmp_path / "inventory.yml"))


@pytest.fixture
def lab(fake_vmrest, vmrest_password, tmp_path):
    lab = open_lab(inventory_at(fake_vmrest.port, tmp_path))
    yield lab
    lab.close()


def adapter(lab, vm: str):
    return lab.inventory.vm(vm).adapters[0]


def test_finds_vms_by_path_display_name_and_name(lab, fake_vmrest):
    fake_vmrest.vms["K2A6QSQ5MDT1OGB3CLMCDPTN7SE1MS7D"].path = r"C:\VMs\x\nat2.vmx"
    hv = lab.hypervisor
    assert isinstance(hv, VmrestHypervisor)  # chosen once, from backend.user/password_env
    assert hv.vm_id("centos") == CENTOS  # path (case and separators aside)
    assert hv.vm_id("win7") == WIN7  # backend_name "Windows 7"
    assert hv.vm_id("nat2") == "K2A6QSQ5MDT1OGB3CLMCDPTN7SE1MS7D"  # name
    assert fake_vmrest.count("GET", r"/vms$") == 1  # the library is listed once per run


def test_ambiguous_display_name_lists_the_matches(lab, fake_vmrest):
    fake_vmrest.add_vm("DUPLICATE0000000000000000000000", r"D:\copy\Windows 7.vmx", "Windows 7",
                       [("nat", "vmnet8", "00:0c:29:aa:bb:cc")])
    with pytest.raises(BackendError) as err:
        lab.hypervisor.vm_id("win7")
    text = str(err.value)
    assert text.startswith("win7: 2 VMs have the display name 'Windows 7'")
    assert WIN7 in text and r"D:\copy\Windows 7.vmx" in text and "vms[].path" in text


def test_missing_vm_names_what_vmrest_has(lab, fake_vmrest):
    del fake_vmrest.vms[CENTOS]
    with pytest.raises(BackendError, match=r"^centos: no VM with the path .*CentOS 6.5.vmx in vmrest's library "
                                           r"\(it has: 'Windows 7' "):
        lab.hypervisor.adapter_network("centos", adapter(lab, "centos"))


@pytest.mark.parametrize(("mode", "setting"), [
    ("bridged", ("bridged", "vmnet0")), ("hostonly", ("hostonly", "vmnet1")),
    ("lab2", ("custom", "vmnet2")),  # a host-only network on VMnet2: Workstation's "custom"
    ("nat", ("nat", "vmnet8")),
])
def test_switch_sets_the_workstation_setting_once(lab, fake_vmrest, mode, setting):
    hv, eth0 = lab.hypervisor, adapter(lab, "win7")
    puts = fake_vmrest.count("PUT")
    assert hv.set_adapter_network("win7", eth0, mode) is (mode != "bridged")
    nic = fake_vmrest.vms[WIN7].nics[0]
    assert (nic["type"], nic["vmnet"]) == setting
    assert hv.adapter_network("win7", eth0) == mode
    assert hv.set_adapter_network("win7", eth0, mode) is False  # idempotent: no second request
    assert fake_vmrest.count("PUT") == puts + (mode != "bridged")


def test_full_cycle_and_back(lab, fake_vmrest):
    hv, eth0 = lab.hypervisor, adapter(lab, "centos")
    for mode in ("bridged", "hostonly", "lab2", "nat"):
        assert hv.set_adapter_network("centos", eth0, mode) is True
        assert hv.adapter_network("centos", eth0) == mode
        subnet = lab.inventory.lan.subnet if mode == "bridged" else lab.inventory.networks[mode].subnet
        assert lab.guest_address("centos", "eth0") in subnet
    assert fake_vmrest.count("PUT", "/nic/1$") == 4


def test_custom_on_the_nat_vmnet_is_already_nat(lab, fake_vmrest):
    fake_vmrest.vms[CENTOS].nics[0].update(type="custom", vmnet="vmnet8")
    assert lab.hypervisor.adapter_network("centos", adapter(lab, "centos")) == "nat"
    assert lab.hypervisor.set_adapter_network("centos", adapter(lab, "centos"), "nat") is False
    assert fake_vmrest.count("PUT") == 0


def test_a_change_that_does_not_stick_is_an_error(lab, fake_vmrest):
    fake_vmrest.updateNICDevice = lambda p, body: (200, dict(fake_vmrest.vms[CENTOS].nics[0]))
    with pytest.raises(BackendError, match="centos: vmrest accepted bridged vmnet0 .* reads back as nat vmnet8"):
        lab.hypervisor.set_adapter_network("centos", adapter(lab, "centos"), "bridged")


def test_unknown_vnet_reads_as_no_network(lab, fake_vmrest, caplog):
    fake_vmrest.add_vnet("vmnet5", "hostOnly", "192.168.5.0")
    fake_vmrest.vms[CENTOS].nics[0].update(type="custom", vmnet="vmnet5")
    assert lab.hypervisor.adapter_network("centos", adapter(lab, "centos")) is None
    assert "custom vmnet5, which no inventory network names" in caplog.text


def test_nic_found_by_mac_then_label_then_position(lab, fake_vmrest, tmp_path):
    fake_vmrest.vms[CENTOS].nics.insert(0, {"index": 1, "type": "hostonly", "vmnet": "vmnet1",
                                            "macAddress": "00:0c:29:99:99:99"})
    fake_vmrest.vms[CENTOS].nics[1]["index"] = 2
    # the inventory says "Network adapter 1", but its MAC is on adapter 2: the MAC wins
    assert lab.hypervisor.adapter_network("centos", adapter(lab, "centos")) == "nat"
    second = adapter(lab, "centos").model_copy(update={"mac": None, "label": "Network adapter 2"})
    unlabelled = adapter(lab, "centos").model_copy(update={"mac": None, "label": None})
    vm = lab.inventory.vm("centos").model_copy(update={"adapters": [unlabelled, second]})
    assert (nic_index(vm, second), nic_index(vm, unlabelled)) == (2, 1)


def test_power(lab, fake_vmrest):
    hv = lab.hypervisor
    assert hv.powered_on("nat2") is False and hv.guest_nics("nat2") == []
    assert hv.set_power("nat2", True) is True and hv.powered_on("nat2") is True
    assert hv.set_power("nat2", True) is False
    assert fake_vmrest.count("PUT", "/power$") == 1
    [nic] = hv.guest_nics("nat2")
    assert nic.mac == "00:0c:29:00:00:02" and str(nic.addresses[0]) == "10.0.0.130/24"
    assert hv.set_power("nat2", False) is True and fake_vmrest.vms["K2A6QSQ5MDT1OGB3CLMCDPTN7SE1MS7D"].power == \
        "poweredOff"


def test_errors_name_the_vm(lab, fake_vmrest):
    fake_vmrest.vms[CENTOS].busy = 409
    with pytest.raises(BackendError, match=r"^centos: cannot read the NICs of VM \S+: the VM is busy or locked"):
        lab.hypervisor.adapter_network("centos", adapter(lab, "centos"))


def test_busy_while_changing(lab, fake_vmrest):
    hv, eth0 = lab.hypervisor, adapter(lab, "centos")
    hv.adapter_network("centos", eth0)
    real = fake_vmrest.updateNICDevice

    def locked(p, body):
        fake_vmrest.updateNICDevice = real
        return 409, {"code": 409, "message": "The virtual machine is locked"}

    fake_vmrest.updateNICDevice = locked
    with pytest.raises(BackendError, match=r"^centos: cannot set NIC 1 .* busy or locked .*locked\)$"):
        hv.set_adapter_network("centos", eth0, "bridged")
    assert hv.set_adapter_network("centos", eth0, "bridged") is True  # once the lock is gone


def test_wrong_password_names_the_variable_not_the_secret(fake_vmrest, monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("LABKIT_VMREST_PASSWORD", "not-the-" + PASSWORD)
    lab = open_lab(inventory_at(fake_vmrest.port, tmp_path))
    with pytest.raises(BackendError) as err:
        lab.hypervisor.powered_on("centos")
    assert "centos: cannot list VMs" in str(err.value) and "password_env" in str(err.value)
    assert PASSWORD not in str(err.value) + caplog.text + repr(lab.hypervisor.client)


def test_host_adapter_cannot_be_switched_through_a_remote_vmrest(fake_vmrest, vmrest_password, tmp_path):
    """vmrest has no call for the host's VMnet adapters and labkit is not on a remote vmrest's host: the
    lab declares no such ability, reads the inventory's word, and a set_host_adapter step fails for the
    host alone with what to do instead."""
    from labkit.model import SetHostAdapter, Step
    from labkit.runner import run_step

    inv = inventory_at(fake_vmrest.port, tmp_path)
    inv = inv.model_copy(update={"backend": inv.backend.model_copy(update={"host": "192.0.2.10"})})
    lab = WorkstationLab(inv, VmrestClient(f"http://127.0.0.1:{fake_vmrest.port}", "labkit", PASSWORD))
    try:
        hv = lab.hypervisor
        assert hv.host_adapter_enabled("nat") is True and hv.host_adapter_enabled("bridged") is False
        assert lab.host_adapters is None
        step = run_step(Step(name="off", kind="set_host_adapter", spec=SetHostAdapter(network="nat", enabled=False)),
                        lab)
        assert not step.ok and not step.vms["host"].ok
        assert "cannot switch the host's virtual adapter on 'nat'" in step.vms["host"].error
        assert "networks.nat.host_adapter.enabled" in step.vms["host"].error
    finally:
        lab.close()


def test_a_local_vmrest_on_another_os_than_host_os_switches_nothing(lab, caplog):
    """The shipped inventory's host is Windows; this machine is not: the lab has the ability (labkit check
    said so from the inventory) but refuses to touch this machine's adapters, and reads the inventory."""
    from labkit.model import SetHostAdapter, Step
    from labkit.runner import run_step

    assert lab.host_adapters is not None
    assert lab.hypervisor.host_adapter_enabled("nat") is True  # the inventory's word ...
    assert "host.os is windows in the inventory, but labkit runs on linux" in caplog.text  # ... and why
    step = run_step(Step(name="off", kind="set_host_adapter", spec=SetHostAdapter(network="nat", enabled=False)), lab)
    assert not step.vms["host"].ok
    assert "labkit runs on linux here" in step.vms["host"].error
    assert "networks.nat.host_adapter.enabled" in step.vms["host"].error


def test_host_vmnets(lab):
    facts = {f.name: f for f in lab.hypervisor.vnet_facts()}
    assert str(facts["vmnet2"].subnet) == str(lab.inventory.networks["lab2"].subnet)


@pytest.mark.parametrize(("network", "problem"), [
    ({"type": "custom"}, "a custom network needs its VMnet"),
    ({"type": "hostonly", "backend_network": "eth0"}, "'eth0' is not a Workstation VMnet"),
    ({"type": "hostonly", "backend_network": "vmnet8"}, "vmnet8 is already network 'nat'"),
])
def test_network_mapping_is_checked_at_open(fake_vmrest, vmrest_password, tmp_path, network, problem):
    inv = inventory_at(fake_vmrest.port, tmp_path)
    bad = inv.model_copy(update={"networks": {**inv.networks, "extra": type(inv.networks["nat"])(**network)}})
    with pytest.raises(InputError, match=rf"networks.extra.backend_network: {problem}"):
        open_lab(bad)


def test_transports_are_ssh_to_vms_only(lab):
    t = lab.transport("centos")
    assert (t.kind, t.host, t.user) == ("ssh", "10.0.0.101", "root")
    assert lab.transport("centos") is t
    assert lab.network_transport("centos", "10.0.0.150").host == "10.0.0.150"
    with pytest.raises(TransportError, match="reaches only VMs, over SSH"):
        lab.transport("router")
    # the tutorial's host is Windows and labkit runs on Linux here: this machine is not that host
    with pytest.raises(TransportError, match="host.os is windows in the inventory, but labkit runs on linux"):
        lab.transport("host")


def test_the_host_is_this_machine_beside_a_local_vmrest(fake_vmrest, vmrest_password, tmp_path):
    data = load(INVENTORY).data
    data["backend"]["port"] = fake_vmrest.port
    data["host"]["os"] = "linux"
    lab = open_lab(inventory_from_data(data))
    try:
        host = lab.transport("host")
        assert host.kind == "local"
        result = host.run("echo $((6 * 7)); echo oops >&2; exit 3")
        assert (result.exit_status, result.stdout, result.stderr) == (3, "42\n", "oops\n")
        target = tmp_path / "dir with space" / "f.txt"
        target.parent.mkdir()
        host.write_file(str(target), "a 'quoted' line\n", 0o640)
        assert host.read_file(str(target)) == "a 'quoted' line\n" and target.stat().st_mode & 0o777 == 0o640
        assert [p.name for p in target.parent.iterdir()] == ["f.txt"]  # no temp file left
        with pytest.raises(FileNotFoundError):
            host.read_file(str(tmp_path / "missing"))
    finally:
        lab.close()
    data["backend"]["host"] = "192.0.2.10"  # vmrest on another machine: no channel to its host
    remote = open_lab(inventory_from_data(data))
    with pytest.raises(TransportError, match="another machine"):
        remote.transport("host")
    with pytest.raises(TransportError, match="win7: the inventory gives no ssh settings"):
        lab.transport("win7")


# ---- without vmrest: .vmx files ---------------------------------------------------------------------

VMX = """\
.encoding = "UTF-8"
displayName = "CentOS 6.5"
# labkit leaves this comment alone
ethernet0.present = "TRUE"
ethernet0.connectionType = "nat"
ethernet0.addressType = "generated"
ethernet0.generatedAddress = "00:0c:29:3b:4c:6d"
"""


@pytest.fixture
def vmx_lab(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    vmx = tmp_path / "CentOS 6.5.vmx"
    vmx.write_text(VMX)
    data = load(INVENTORY).data
    data["backend"] = {"type": "workstation"}
    data["vms"][0]["path"] = str(vmx)
    lab = WorkstationLab(inventory_from_data(data))
    yield lab, vmx
    lab.close()


def test_without_vmrest_the_choice_is_logged_and_reads_the_vmx(vmx_lab, caplog):
    lab, vmx = vmx_lab
    said = " ".join(r.getMessage() for r in caplog.get_records("setup"))
    assert "without vmrest" in said and "editing .vmx files directly" in said
    assert isinstance(lab.hypervisor, VmxHypervisor) and lab.hypervisor.vnet_facts() == []
    assert lab.hypervisor.adapter_network("centos", lab.inventory.vm("centos").adapters[0]) == "nat"
    assert lab.hypervisor.powered_on("centos") is False
    vmx.with_name(vmx.name + ".lck").mkdir()
    assert lab.hypervisor.powered_on("centos") is True
    with pytest.raises(BackendError, match="centos: to power a VM on or off the Workstation backend needs vmrest"):
        lab.hypervisor.set_power("centos", False)
    with pytest.raises(BackendError, match="needs vmrest"):
        lab.hypervisor.guest_nics("centos")
    with pytest.raises(BackendError, match="win7: without vmrest .* give vms\\[\\].path"):
        lab.hypervisor.adapter_network("win7", lab.inventory.vm("win7").adapters[0])


def test_without_vmrest_edits_the_vmx(vmx_lab):
    require(importlib.util.find_spec("labkit.backends.workstation.vmxedit") is not None, "labkit.backends.workstation.vmxedit is not built yet")
    lab, vmx = vmx_lab
    eth0 = lab.inventory.vm("centos").adapters[0]
    assert lab.hypervisor.set_adapter_network("centos", eth0, "lab2") is True
    text = vmx.read_text()
    assert 'ethernet0.connectionType = "custom"' in text and 'ethernet0.vnet = "vmnet2"' in text.replace("VMnet", "vmnet")
    assert "# labkit leaves this comment alone" in text
    assert lab.hypervisor.adapter_network("centos", eth0) == "lab2"
    assert lab.hypervisor.set_adapter_network("centos", eth0, "lab2") is False
    vmx.with_name(vmx.name + ".lck").mkdir()
    with pytest.raises(BackendError):
        lab.hypervisor.set_adapter_network("centos", eth0, "nat")
    assert lab.hypervisor.adapter_network("centos", eth0) == "lab2"


def test_shipped_inventory_loads():
    inv = load_inventory(INVENTORY)
    assert inv.backend.type == "workstation" and inv.backend.password_env == "LABKIT_VMREST_PASSWORD"
