"""`labkit discover vsphere` on vcsim: the VMs of a datacenter or folder, their NICs and networks
(odd names, twins in two folders, a port group name on two switches). `labkit check` refuses the
result at exactly the placeholders listed; filled in, the vsphere backend finds every VM and
network of it and reads each adapter on the network discover wrote.

Run under the machine-wide lock: flock /tmp/labkit-netns.lock .venv/bin/pytest tests/discover -x -q
"""

from __future__ import annotations

import re
import zlib

import pytest

from labkit.backends import open_lab
from labkit.inventory import load_inventory
from tests.backends.vsphere.conftest import PASSWORD_ENV, sim_inventory, vm_entry
from tests.discover.helpers import assert_refused_exactly_at_placeholders, check, filled, labkit, printed_fills


def fill_value(field: str) -> str:
    if field.endswith(".config"):
        return "{dhcp: true}"
    if field.endswith(".os"):
        return "linux"
    if field.endswith(".dialect"):
        return "ifupdown"
    if field.startswith("networks."):
        return f"10.{zlib.crc32(field.encode()) % 200}.0.0/24"
    return {"host.lan_address": "192.168.1.100", "lan.subnet": "192.168.1.0/24", "lan.router": "192.168.1.1"}[field]


def discover(vcsim, out, *extra: str, password: str | None = None):
    return labkit("discover", "vsphere", "--host", vcsim.host, "--port", str(vcsim.port), "--user", vcsim.user,
                  "--password-env", PASSWORD_ENV, "--ca-file", str(vcsim.ca_file), "-o", str(out), *extra,
                  env={PASSWORD_ENV: password or vcsim.password})


def discovered_and_filled(vcsim, tmp_path, *extra: str):
    out, done = tmp_path / "vsphere.yml", tmp_path / "filled.yml"
    proc = discover(vcsim, out, *extra)
    assert proc.returncode == 0, proc.stderr
    fills = printed_fills(proc.stdout)
    assert_refused_exactly_at_placeholders(out, fills)
    done.write_text(filled(out.read_text(), fills, fill_value))
    assert check(done) == (0, {})
    return out.read_text(), fills, load_inventory(done)


def test_a_folder_of_vms_with_odd_names(vcsim, password_env, tmp_path):
    text, fills, inv = discovered_and_filled(vcsim, tmp_path, "--datacenter", "DC0", "--folder", "DC0/vm/Lab%2fTest")
    assert {"host.lan_address", "lan.subnet", "lan.router", "networks.VM-Network.subnet"} <= set(fills)
    assert inv.vm_names == ["web-2", "twin"]
    web = inv.vm("web-2")
    assert web.path == "DC0/vm/Lab%2fTest/web#2" and web.powered_on is False
    assert [(a.mac, a.network) for a in web.adapters] == [("00:50:56:ee:00:01", "VM-Network")]
    assert inv.networks["VM-Network"].backend_network == "VM Network" and inv.networks["VM-Network"].type == "custom"
    assert (inv.backend.type, inv.backend.datacenter, inv.backend.user) == ("vsphere", "DC0", "labkit")
    assert "# vSphere calls it 'web#2'; moid vm-" in text
    lab = open_lab(inv)  # the backend finds every VM and network the inventory names, or refuses it
    try:
        for name in inv.vm_names:
            assert lab.hypervisor.adapter_network(name, inv.vm(name).adapters[0]) == "VM-Network"
    finally:
        lab.close()


def test_a_whole_datacenter(vcsim, password_env, probe, tmp_path):
    # one VM onto the port group whose name is on two switches, and one whose Tools report an address
    moved = sim_inventory(vcsim, [vm_entry("mover", 31)])
    lab = open_lab(moved)
    try:
        assert lab.hypervisor.set_adapter_network("mover", moved.vm("mover").adapters[0], "shared")
    finally:
        lab.close()
    probe.set_guest_ip(30, "10.20.0.30")

    text, fills, inv = discovered_and_filled(vcsim, tmp_path, "--datacenter", "DC0")
    names = inv.vm_names
    assert len(names) == len(set(names)) and {"twin", "twin-2", "R-D-Zurich", "half-half", "web-2"} <= set(names)
    assert {inv.vm("twin").path, inv.vm("twin-2").path} == {"DC0/vm/twin", "DC0/vm/Lab%2fTest/twin"}
    shared = inv.networks["LabShared"]
    assert (shared.backend_network, shared.switch) == ("LabShared", "DVS-B")  # the name alone is on two switches
    assert inv.vm("DC0_C0_RP0_VM31").adapters[0].network == "LabShared"
    assert re.search(r"VMware Tools reports 10\.20\.0\.30 \(no prefix\)", text)
    lab = open_lab(inv)
    try:
        for name in ("DC0_C0_RP0_VM31", "twin-2", "R-D-Zurich"):
            vm = inv.vm(name)
            assert lab.hypervisor.adapter_network(name, vm.adapters[0]) == vm.adapters[0].network
    finally:
        lab.close()


@pytest.mark.parametrize("args, message", [
    (["--folder", "DC0/vm/No such folder"], "error: --folder: no folder at inventory path DC0/vm/No such folder"),
    (["--datacenter", "DC9"], "error: --datacenter: no vSphere datacenter named 'DC9' (there: DC0)"),
])
def test_a_scope_that_is_not_there_is_exit_2(vcsim, tmp_path, args, message):
    proc = discover(vcsim, tmp_path / "v.yml", *args)
    assert proc.returncode == 2 and message in proc.stderr and not (tmp_path / "v.yml").exists()


def test_a_refused_login_is_exit_1(vcsim, tmp_path):
    wrong = "Wr0ng-" + vcsim.password
    proc = discover(vcsim, tmp_path / "v.yml", password=wrong)
    assert proc.returncode == 1 and "login refused for user labkit" in proc.stderr
    assert wrong not in proc.stdout + proc.stderr
