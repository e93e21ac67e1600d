"""The rules every source goes through: labkit's names, values held to the schema (left out with
why when it refuses them), placeholders for what no source knows, and a last check of the whole
file that reports what discover itself got wrong instead of leaving it for the user to find."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network

import pytest

from labkit.discover.compose import Names, compose, fits, slug
from labkit.discover.found import Found, FoundNet, FoundNic, FoundVm
from labkit.discover.writer import draft, write_inventory
from labkit.errors import InputError
from labkit.model import Adapter, Ssh


def found(*vms: FoundVm, networks: list[FoundNet] | None = None) -> Found:
    return Found(source="a test", command="labkit discover test", system="Test", backend={"type": "workstation"},
                 networks=networks if networks is not None else [FoundNet("vmnet8", "nat", "nat", "VMnet8",
                                                                          subnet=IPv4Network("10.0.0.0/24"),
                                                                          gateway=IPv4Address("10.0.0.2"))],
                 vms=list(vms))


def vm(name: str, *nics: FoundNic, **kw) -> FoundVm:
    return FoundVm(name=name, nics=list(nics) or [FoundNic("vmnet8")], **kw)


@pytest.mark.parametrize("text, name", [("CentOS 6.5", "CentOS-6-5"), ("R&D, Zürich", "R-D-Zurich"),
                                        ("web#2", "web-2"), ("__x__", "x"), ("实验", ""), ("a" * 80, "a" * 60)])
def test_slug(text, name):
    assert slug(text) == name


def test_names_are_unique_and_never_reserved():
    names = Names()
    assert [names.take(n, "vm") for n in ("twin", "twin", "host", "Router", "实验", "实验")] == \
        ["twin", "twin-2", "host-2", "Router-2", "vm", "vm-2"]


def test_fits_says_why_in_the_schemas_words():
    assert fits(Ssh, "port", 22) is None
    assert fits(Ssh, "port", 70000) == "Input should be less than or equal to 65535"
    assert fits(Ssh, "user", "Administrator").startswith("not a Unix user name")
    assert fits(Adapter, "mac", "00:0c:29") == "not a MAC address like 00:0c:29:3b:4c:6d"


def test_a_refused_value_is_left_out_with_a_comment_and_a_warning():
    result = draft(found(vm("web", FoundNic("vmnet8", label="NIC #1", mac="00:0c:29:00:00:01"),
                            ssh={"address": "10.0.0.5", "user": "Admin", "port": 2222})), "lab")
    assert any("web: adapter 0 label: 'NIC #1' is not written" in w for w in result.warnings)
    assert any("web: ssh.user: 'Admin' is not written" in w for w in result.warnings)
    assert "label 'NIC #1' not written" in result.text and "user 'Admin' not written" in result.text
    assert "label: " not in result.text and "port: 2222" in result.text


def test_a_mac_twice_is_written_once():
    nic = FoundNic("vmnet8", label="Network adapter 1", mac="00:0C:29:00:00:01")
    result = draft(found(vm("a", nic), vm("b", FoundNic("vmnet8", label="Network adapter 1", mac="00:0c:29:00:00:01"))),
                   "lab")
    assert result.text.count("mac: 00:0c:29:00:00:01") == 1
    assert any("b: MAC 00:0c:29:00:00:01 is also a's" in w for w in result.warnings)


def test_a_vm_without_adapters_is_left_out_and_said():
    result = draft(found(FoundVm(name="empty"), vm("a")), "lab")
    assert "name: empty" not in result.text and any("empty: no network adapter" in w for w in result.warnings)


def test_a_nic_on_an_unknown_network_is_a_placeholder_naming_the_known_ones():
    result = draft(found(vm("a", FoundNic(None, label="Network adapter 1"))), "lab")
    assert [f.field for f in result.fills if "network" in f.field] == ["vms[0].adapters[0].network"]
    assert "the network this NIC is on (one of: nat)" in result.text


def test_tools_addresses_are_a_hint_beside_the_config_placeholder():
    nic = FoundNic("vmnet8", seen=(IPv4Interface("10.0.0.150/24"),), gateway=IPv4Address("10.0.0.2"))
    result = draft(found(vm("a", nic)), "lab")
    assert "VMware Tools reports 10.0.0.150/24, gateway 10.0.0.2" in result.text
    assert "config: <fill in>" in result.text  # a DHCP lease and a static address look alike from outside


def test_what_discover_got_wrong_is_a_warning_with_its_line():
    bad = FoundNet("vmnet8", "nat", "nat", "VMnet8", subnet=IPv4Network("10.0.0.0/24"), gateway=IPv4Address("10.9.0.2"))
    result = draft(found(vm("a"), networks=[bad]), "lab")
    line = next(n for n, text in enumerate(result.text.splitlines(), 1) if "gateway: 10.9.0.2" in text)
    said = f"line {line}: networks.nat.gateway: gateway 10.9.0.2 is outside the subnet 10.0.0.0/24"
    assert said in result.warnings[0]
    assert "labkit check refuses this" in result.warnings[0]


def test_placeholders_alone_stand_between_the_file_and_labkit_check():
    doc, warnings = compose(found(vm("a", os="linux")), "lab")
    assert warnings == []
    assert draft(found(vm("a", os="linux")), "lab").warnings == []


def test_an_existing_file_is_never_replaced_without_force(tmp_path):
    path = tmp_path / "lab.yml"
    write_inventory(path, "first\n", force=False)
    with pytest.raises(InputError, match="already exists"):
        write_inventory(path, "second\n", force=False)
    assert path.read_text() == "first\n" and list(tmp_path.iterdir()) == [path]  # no temporary file left
    write_inventory(path, "third\n", force=True)
    assert path.read_text() == "third\n"
