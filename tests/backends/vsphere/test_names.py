"""vSphere names: what an inventory may call a VM, port group, switch, folder or datacenter (any
text vCenter takes, up to 80 characters, no control character), and how '/', '\\' and '%' are
compared and sent the way vCenter stores them. No simulator needed."""

from __future__ import annotations

import pytest

from labkit.errors import InputError
from labkit.inventory import load_inventory
from labkit.backends.vsphere import names

INVENTORY = """\
lab: names
backend: {{type: vsphere, host: vc.example.org, user: labkit, password_env: VC_PASSWORD, datacenter: "DC 1 (Zürich)"}}
host: {{lan_address: 192.168.1.100}}
lan: {{subnet: 192.168.1.0/24, router: 192.168.1.1}}
networks:
  prod: {{type: custom, backend_network: {network}, switch: "dvSwitch #1 & more", subnet: 10.1.0.0/24}}
vms:
  - name: web
    backend_name: {vm}
    folder: "DC 1 (Zürich)/vm/Lab%2fTest"
    cluster: "Cluster, Edge [B]"
    esxi_host: esx01.example.org
    adapters: [{{interface: eth0, mac: "00:50:56:00:00:01", network: prod}}]
"""


def write(tmp_path, network: str = '"Prod [VLAN 100]"', vm: str = '"web#2 R&D, Zürich"'):
    path = tmp_path / "inv.yml"
    path.write_text(INVENTORY.format(network=network, vm=vm), encoding="utf-8")
    return path


def test_real_vsphere_names_load(tmp_path):
    inv = load_inventory(write(tmp_path))
    assert inv.networks["prod"].backend_network == "Prod [VLAN 100]"
    assert inv.networks["prod"].switch == "dvSwitch #1 & more"
    assert inv.vms[0].backend_name == "web#2 R&D, Zürich"
    assert inv.vms[0].folder == "DC 1 (Zürich)/vm/Lab%2fTest"
    assert inv.backend.datacenter == "DC 1 (Zürich)"


@pytest.mark.parametrize("network, why", [
    ('"Prod\\tVLAN"', "control character"),
    ('"Prod\\nVLAN"', "control character"),
    ('"   "', "empty or only spaces"),
    ('"' + "x" * 81 + '"', "longer than the 80 characters"),
])
def test_names_vsphere_would_refuse_are_refused_with_their_line(tmp_path, network, why):
    with pytest.raises(InputError) as err:
        load_inventory(write(tmp_path, network=network))
    text = str(err.value)
    assert "inv.yml:6" in text and "networks.prod.backend_network" in text and why in text


def test_eighty_characters_count_an_escape_as_one(tmp_path):
    escaped = "a%2fb" * 26 + "ab"  # 80 characters as vSphere shows it (a/b ... ab), 132 as written
    assert load_inventory(write(tmp_path, vm=f'"{escaped}"')).vms[0].backend_name == escaped


def test_the_safe_alphabet_still_holds_where_a_guest_sees_it(tmp_path):
    path = write(tmp_path)
    path.write_text(path.read_text().replace("interface: eth0", "interface: 'eth0;reboot'"))
    with pytest.raises(InputError, match="interface"):
        load_inventory(path)


@pytest.mark.parametrize("given, stored", [
    ("Lab/Test", "Lab%2fTest"), ("Lab%2fTest", "Lab%2fTest"), ("Lab%2FTest", "Lab%2FTest"),
    ("50% off", "50%25 off"), ("50%25 off", "50%25 off"), ("a\\b", "a%5cb"), ("web#2 [x]", "web#2 [x]"),
])
def test_stored_form(given, stored):
    assert names.stored(given) == stored


def test_either_form_matches_what_vcenter_returns():
    assert names.same("half/half", "half%2fhalf") and names.same("half%2fhalf", "half%2Fhalf")
    assert names.same("50% off", "50%25 off") and names.same("R&D, Zürich", "R&D, Zürich")
    assert not names.same("half/half", "half_half")
    assert names.shown("Lab%2fTest%5cx%25") == "Lab/Test\\x%"


def test_inventory_paths_are_sent_in_the_stored_form():
    assert names.inventory_path("/DC0/vm/Lab%2fTest/web#2") == "DC0/vm/Lab%2fTest/web#2"
    assert names.inventory_path("DC0/vm/50% off") == "DC0/vm/50%25 off"
