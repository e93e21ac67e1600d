"""`labkit discover vmx`: VMs from a folder of .vmx files (the backend's fixtures, copied), their
adapters' types, VMnets, MACs and cables; VMnet facts from the host's networking files. The result
is refused by `labkit check` at exactly the placeholders listed, passes once they are filled, and
then drives the very .vmx files it was discovered from."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from labkit.backends.workstation.vmx import VmxFile, adapter_settings
from labkit.inventory import load_inventory
from tests.conftest import REPO
from tests.discover.helpers import assert_refused_exactly_at_placeholders, check, filled, labkit, printed_fills

FILES = REPO / "tests" / "backends" / "workstation" / "files"
HOST = FILES / "host"


@pytest.fixture
def vms(tmp_path) -> Path:
    """The three fixture VMs, each in a folder of its own as Workstation keeps them."""
    root = tmp_path / "Virtual Machines"
    for name in ("centos65", "ubuntu-crlf", "win7"):
        (root / name).mkdir(parents=True)
        shutil.copy(FILES / "vmx" / f"{name}.vmx", root / name / f"{name}.vmx")
    return root


def fill_value(field: str) -> str:
    if field.endswith(".config"):
        return "{dhcp: true}"
    if field.endswith(".dialect"):
        return "ifcfg"
    return {"host.lan_address": "192.168.1.100", "lan.subnet": "192.168.1.0/24", "lan.router": "192.168.1.1",
            "networks.vmnet2.subnet": "192.168.100.0/24", "networks.nat.subnet": "10.0.0.0/24",
            "networks.nat.gateway": "10.0.0.2", "networks.hostonly.subnet": "192.168.56.0/24"}[field]


def discover(vms: Path, out: Path, *extra: str):
    proc = labkit("discover", "vmx", str(vms), "-o", str(out), *extra)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_vms_adapters_and_host_networks(vms, tmp_path):
    out = tmp_path / "lab.yml"
    proc = discover(vms, out, "--networking-dir", str(HOST))
    assert f"wrote {out}: 3 VMs, 4 networks" in proc.stdout
    fills = printed_fills(proc.stdout)
    assert_refused_exactly_at_placeholders(out, fills)
    # the host's files give VMnet1 and VMnet8 (not VMnet2, which only win7's adapter names)
    assert {"networks.vmnet2.subnet"} == {f for f in fills if f.startswith("networks.")}
    done = tmp_path / "filled.yml"
    done.write_text(filled(out.read_text(), fills, fill_value))
    assert check(done) == (0, {})

    inv = load_inventory(done)
    assert inv.backend.type == "workstation" and inv.backend.user is None  # .vmx files, no vmrest
    assert inv.backend.networking_dir == str(HOST.resolve())
    nat = inv.networks["nat"]
    assert (str(nat.subnet), str(nat.gateway), str(nat.host_adapter.address)) == ("10.0.0.0/24", "10.0.0.2", "10.0.0.1")
    assert (str(nat.dhcp.start), str(nat.dhcp.end)) == ("10.0.0.128", "10.0.0.254")
    assert inv.networks["vmnet2"].type == "custom" and inv.networks["vmnet2"].backend_network == "VMnet2"
    assert inv.vm_names == ["CentOS-6-5-64-bit", "NAT-tutorial-VM", "Windows-7-x64"]
    win7 = inv.vm("Windows-7-x64")
    assert win7.path == str((vms / "win7" / "win7.vmx").resolve())
    assert (win7.os, win7.dialect, win7.powered_on) == ("windows", "netsh", False)
    assert [(a.interface, a.label, a.mac, a.network) for a in win7.adapters] == [
        ("eth0", "Network adapter 1", "00:0c:29:7a:01:32", "bridged"),
        ("eth1", "Network adapter 2", "00:0c:29:7a:01:3c", "hostonly"),
        ("eth2", "Network adapter 3", "00:0c:29:7a:01:46", "vmnet2")]  # ethernet3 is not present
    ubuntu = inv.vm("NAT-tutorial-VM")  # "实验 NAT |22tutorial|22 VM": the escapes read, the name made safe
    assert [(a.mac, a.network) for a in ubuntu.adapters] == [("00:50:56:3f:00:10", "nat"), (None, "nat")]
    assert inv.vm("CentOS-6-5-64-bit").os == "linux"
    text = out.read_text()
    assert "# Workstation calls it '实验 NAT \"tutorial\" VM'" in text
    assert "guestOS centos-64: likely ifcfg" in text  # a hint beside the placeholder, never written as a value


def test_the_filled_inventory_drives_the_discovered_files(vms, tmp_path):
    out, done = tmp_path / "lab.yml", tmp_path / "filled.yml"
    proc = discover(vms, out, "--networking-dir", str(HOST))
    done.write_text(filled(out.read_text(), printed_fills(proc.stdout), fill_value))
    moved = labkit("set-mode", "-i", str(done), "Windows-7-x64", "vmnet2", "--adapter", "Network adapter 2")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    vmx = VmxFile.parse((vms / "win7" / "win7.vmx").read_text())
    assert adapter_settings(vmx, 1) == {"present": True, "connection_type": "custom", "vnet": "vmnet2"}


def test_without_the_hosts_files_the_subnets_are_placeholders(vms, tmp_path):
    if (Path("/etc/vmware") / "networking").is_file():
        pytest.skip("this machine has Workstation's networking files, which discover reads by default")
    out = tmp_path / "lab.yml"
    fills = printed_fills(discover(vms, out).stdout)
    assert {f for f in fills if f.startswith("networks.")} == {
        "networks.hostonly.subnet", "networks.vmnet2.subnet", "networks.nat.subnet", "networks.nat.gateway"}
    assert_refused_exactly_at_placeholders(out, fills)
    done = tmp_path / "filled.yml"
    done.write_text(filled(out.read_text(), fills, fill_value))
    assert check(done) == (0, {})


def test_a_running_vm_is_powered_on_and_a_cable_out_is_said(vms, tmp_path):
    (vms / "centos65" / "centos65.vmx.lck").mkdir()
    path = vms / "centos65" / "centos65.vmx"
    path.write_text(path.read_text().replace('ethernet0.present = "TRUE"',
                                             'ethernet0.present = "TRUE"\nethernet0.startConnected = "FALSE"'))
    out, done = tmp_path / "lab.yml", tmp_path / "filled.yml"
    proc = discover(vms, out, "--networking-dir", str(HOST))
    done.write_text(filled(out.read_text(), printed_fills(proc.stdout), fill_value))
    centos = load_inventory(done).vm("CentOS-6-5-64-bit")
    assert centos.powered_on is True and centos.adapters[0].connected is False


def test_a_broken_vmx_is_exit_2_naming_file_and_line(vms, tmp_path):
    bad = vms / "centos65" / "centos65.vmx"
    bad.write_text('.encoding = "UTF-8"\ndisplayName = "x"\nthis is not a setting\n')
    out = tmp_path / "lab.yml"
    proc = labkit("discover", "vmx", str(vms), "-o", str(out))
    assert proc.returncode == 2 and not out.exists()
    assert f"error: {bad.resolve()}:3: not a 'key = \"value\"' line" in proc.stderr


def test_a_broken_networking_file_is_exit_2_naming_file_and_line(vms, tmp_path):
    host = tmp_path / "host"
    shutil.copytree(HOST, host)
    (host / "networking").write_text("VERSION=1,0\nanswer VNET_8_NAT maybe\n")
    proc = labkit("discover", "vmx", str(vms), "-o", str(tmp_path / "lab.yml"), "--networking-dir", str(host))
    assert proc.returncode == 2 and f"error: {host / 'networking'}:2: VNET_8_NAT is 'maybe'" in proc.stderr


@pytest.mark.parametrize("make, message", [
    (lambda p: p.mkdir(), "holds no .vmx file"),
    (lambda p: p.write_text("x"), "is not a folder"),
])
def test_a_folder_without_vms_is_exit_2(tmp_path, make, message):
    folder = tmp_path / "empty"
    make(folder)
    proc = labkit("discover", "vmx", str(folder), "-o", str(tmp_path / "lab.yml"))
    assert proc.returncode == 2 and f"error: {folder}: {message}" in proc.stderr
