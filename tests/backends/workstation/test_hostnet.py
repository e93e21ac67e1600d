"""The host's VMnet facts feed the inventory when a lab is opened, and the model predicts the
tutorial's NAT lab from them.

inventory/workstation.yml leaves out every VMnet detail (subnet, host adapter, NAT device, DHCP);
its networking_dir points at the fixture host (tests/backends/workstation/files/host), so `labkit predict`
must come out with DOMAIN.md §4's NAT verdicts from the files alone. Loading the inventory reads
none of them: `labkit.backends.complete_inventory` does, as `open_lab` does before opening.
"""

from __future__ import annotations

import json
import shutil
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labkit.cli import app
from labkit.backends import complete_inventory, open_lab
from labkit.errors import InputError
from labkit.inventory import inventory_from_data, load_inventory, offline_notes
from labkit.model import DhcpPool, HostAdapter
from labkit.predict import ping
from labkit.state import LabState, initial_host_adapters
from labkit.topology import Topology
from labkit.backends.workstation import hostnet
from labkit.backends.workstation.hostfiles import read_host_networks
from labkit.backends.workstation.hostnet import apply_host_facts
from labkit.yamlsrc import loads
from tests.conftest import REPO

HOST = Path(__file__).parent / "files" / "host"
INVENTORY = REPO / "inventory" / "workstation.yml"


def data(**nat) -> dict:
    """A minimal Workstation inventory (as loaded YAML) whose nat network says only what is given."""
    hostonly = {"type": "hostonly", "backend_network": "vmnet1"}
    if {"subnet", "gateway"} <= set(nat):  # a test without host files: complete the other network too
        hostonly["subnet"] = "192.168.56.0/24"
    return {"lab": "ws", "backend": {"type": "workstation", "networking_dir": str(HOST)},
            "host": {"lan_address": "192.168.1.100"},
            "lan": {"subnet": "192.168.1.0/24", "router": "192.168.1.1"},
            "networks": {"nat": {"type": "nat", "backend_network": "VMnet8", **nat},
                         "hostonly": hostonly},
            "vms": [{"name": "win7", "adapters": [{"interface": "eth0", "network": "nat", "config": {"dhcp": True}}]}]}


def opened(d: dict, name: str = "<data>"):
    """The inventory as a lab opened on it sees it: loaded, then completed from the host."""
    return complete_inventory(inventory_from_data(d, name))


def test_loading_reads_no_host_file_and_leaves_the_facts_out():
    d = data()
    d["backend"]["networking_dir"] = "/nonexistent/vmware"  # only opening a lab would notice
    inv = inventory_from_data(d)
    assert inv.networks["nat"].subnet is None and inv.networks["nat"].gateway is None
    with pytest.raises(InputError, match="/nonexistent/vmware is not a folder") as exc:
        complete_inventory(inv)
    assert exc.value.field == "backend.networking_dir"


def test_missing_fields_come_from_the_host():
    inv = opened(data())
    nat, hostonly = inv.networks["nat"], inv.networks["hostonly"]
    assert nat.subnet == IPv4Network("10.0.0.0/24")
    assert nat.host_adapter == HostAdapter(address=IPv4Address("10.0.0.1"), enabled=True)
    assert nat.gateway == IPv4Address("10.0.0.2")
    assert nat.dhcp == DhcpPool(start=IPv4Address("10.0.0.128"), end=IPv4Address("10.0.0.254"))
    assert hostonly.subnet == IPv4Network("192.168.56.0/24")  # "vmnet1" and "VMnet8": any case
    assert hostonly.gateway is None
    assert complete_inventory(inv).networks == inv.networks  # completing again changes nothing


def test_what_the_inventory_says_and_agrees_is_kept():
    inv = opened(data(subnet="10.0.0.0/24", gateway="10.0.0.2",
                                   host_adapter={"address": "10.0.0.1", "enabled": False},
                                   dhcp={"server": "10.0.0.254", "start": "10.0.0.128", "end": "10.0.0.254"}))
    nat = inv.networks["nat"]
    assert nat.host_adapter.enabled is False  # disabled in the OS: the files cannot know
    assert nat.dhcp.server == IPv4Address("10.0.0.254")  # the files do not name the server


@pytest.mark.parametrize("nat,field,says", [
    ({"subnet": "10.1.0.0/24"}, "networks.nat.subnet", "has the subnet 10.0.0.0/24"),
    ({"gateway": "10.0.0.3"}, "networks.nat.gateway", "NAT device is 10.0.0.2"),
    ({"host_adapter": {"address": "10.0.0.5"}}, "networks.nat.host_adapter.address", "host adapter is 10.0.0.1"),
    ({"dhcp": {"start": "10.0.0.100", "end": "10.0.0.200"}}, "networks.nat.dhcp.start", "start 10.0.0.128"),
    ({"type": "hostonly"}, "networks.nat.type", "vmnet8 is a nat network"),
])
def test_a_contradiction_names_the_field_and_line(tmp_path, nat, field, says):
    path = tmp_path / "inv.yml"
    path.write_text(json.dumps(data(**nat), indent=2))  # JSON is YAML, one key per line
    inv = load_inventory(path)  # what the host says is not read while loading
    with pytest.raises(InputError) as exc:
        complete_inventory(inv)
    err = exc.value.errors[0]
    assert (err.file, err.field) == (str(path), field)
    assert says in err.message and err.line is not None


def test_relative_networking_dir_is_relative_to_the_inventory(tmp_path):
    shutil.copytree(HOST, tmp_path / "hostfiles")
    d = data()
    d["backend"]["networking_dir"] = "hostfiles"
    path = tmp_path / "lab" / "inv.yml"
    path.parent.mkdir()
    path.write_text(json.dumps(d, indent=2))
    with pytest.raises(InputError, match="not a folder") as exc:
        complete_inventory(load_inventory(path))
    assert (exc.value.field, exc.value.file) == ("backend.networking_dir", str(path))
    d["backend"]["networking_dir"] = "../hostfiles"
    path.write_text(json.dumps(d, indent=2))
    assert complete_inventory(load_inventory(path)).networks["nat"].gateway == IPv4Address("10.0.0.2")


def test_default_dir_is_read_only_when_it_holds_networking(tmp_path, monkeypatch):
    d = data(subnet="10.0.0.0/24", gateway="10.0.0.2")
    del d["backend"]["networking_dir"]
    monkeypatch.setattr(hostnet, "DEFAULT_NETWORKING_DIR", tmp_path / "absent")
    assert opened(d).networks["nat"].dhcp is None  # no host files: nothing added
    monkeypatch.setattr(hostnet, "DEFAULT_NETWORKING_DIR", HOST)
    assert inventory_from_data(d).networks["nat"].dhcp is None  # loading never reads them
    assert opened(d).networks["nat"].dhcp is not None


def test_other_backends_never_read_host_files():
    d = data(subnet="10.0.0.0/24", gateway="10.0.0.2")
    d["backend"] = {"type": "sim", "networking_dir": "/nonexistent"}
    assert opened(d).networks["nat"].host_adapter is None
    lab = open_lab(inventory_from_data(d))
    assert lab.inventory.networks["nat"].host_adapter is None
    lab.close()


def test_a_broken_host_file_is_reported_through_the_inventory(tmp_path):
    host = Path(shutil.copytree(HOST, tmp_path / "vmware"))
    (host / "networking").write_text("VERSION=1,0\nanswer VNET_8_NAT perhaps\n")
    d = data()
    d["backend"]["networking_dir"] = str(host)
    inv = inventory_from_data(d)
    with pytest.raises(InputError) as exc:
        complete_inventory(inv)
    assert (exc.value.file, exc.value.line) == (str(host / "networking"), 2)


def test_a_fact_the_host_does_not_have_either_is_missing_when_the_lab_opens(tmp_path):
    """vmnet5 is not on the host: the subnet left to it is still missing after completion, and the
    error names the inventory's line, as the loader would have."""
    d = data()
    d["networks"]["hostonly"]["backend_network"] = "VMnet5"
    path = tmp_path / "inv.yml"
    path.write_text(json.dumps(d, indent=2))
    inv = load_inventory(path)
    with pytest.raises(InputError) as exc:
        open_lab(inv)
    [err] = exc.value.errors
    assert (err.file, err.field) == (str(path), "networks.hostonly.subnet")
    assert err.message == "missing required key 'subnet'"
    assert err.line == loads(path.read_text()).line_of(("networks", "hostonly"))


def test_only_facts_a_vmnet_can_give_are_left_to_the_host():
    d = data()
    del d["networks"]["hostonly"]["backend_network"]  # matched to no VMnet: nothing will fill it
    with pytest.raises(InputError, match="networks.hostonly.subnet: missing required key 'subnet'"):
        inventory_from_data(d)
    d["backend"]["type"] = "sim"  # no backend fills anything in: the NAT network's facts are missing too
    with pytest.raises(InputError) as exc:
        inventory_from_data(d)
    assert {e.field for e in exc.value.errors} == {"networks.nat.subnet", "networks.hostonly.subnet"}


def test_offline_notes_name_what_the_host_settles(tmp_path):
    path = tmp_path / "inv.yml"
    path.write_text(json.dumps(data(subnet="10.0.0.0/24"), indent=2))
    nat_line = loads(path.read_text()).line_of(("networks", "nat"))
    notes = offline_notes(load_inventory(path))
    assert notes[0] == (f"{path}:{nat_line}: networks.nat: host_adapter, gateway and dhcp are left to vmnet8 in "
                        "the host's files (backend.networking_dir) and type and subnet are checked against it "
                        "(read when the lab is opened)")
    assert notes[1].endswith("networks.hostonly: subnet, host_adapter and dhcp are left to vmnet1 in the host's "
                             "files (backend.networking_dir) and type is checked against it "
                             "(read when the lab is opened)")
    assert len(notes) == 2
    d = data(subnet="10.0.0.0/24", gateway="10.0.0.2")
    d["backend"] = {"type": "sim"}
    assert offline_notes(inventory_from_data(d)) == []


def test_apply_host_facts_directly_leaves_unknown_vnets_alone():
    inv = inventory_from_data(data(subnet="10.0.0.0/24", gateway="10.0.0.2") | {"backend": {"type": "sim"}})
    same = apply_host_facts(inv, [f for f in read_host_networks(HOST) if f.name == "vmnet0"])
    assert same.networks == inv.networks


# ---- the tutorial's NAT lab, predicted from the host's files ---------------------------------

@pytest.fixture(scope="module")
def prediction(tmp_path_factory):
    out = tmp_path_factory.mktemp("predict") / "p.json"
    result = CliRunner().invoke(app, ["predict", "-i", str(INVENTORY), "--sources", "host,router,win7,centos",
                                      "--targets", "host,host.nat,nat.gateway,router,internet,win7,centos",
                                      "--json", str(out)])
    assert result.exit_code == 0, result.output
    return {(c["source"], c["target"]): c for c in json.loads(out.read_text())["matrices"][0]["cells"]}


def test_the_inventory_file_itself_states_no_vmnet_details():
    nat = loads(INVENTORY.read_text()).data["networks"]["nat"]
    assert set(nat) == {"type", "backend_network"}


@pytest.mark.parametrize("source,target,address", [
    ("host", "win7", None), ("win7", "host.nat", "10.0.0.1"), ("centos", "host.nat", "10.0.0.1"),
    ("host", "centos", "10.0.0.101"), ("win7", "centos", "10.0.0.101"), ("win7", "nat.gateway", "10.0.0.2"),
])
def test_host_and_vms_reach_each_other_on_vmnet8(prediction, source, target, address):
    cell = prediction[(source, target)]
    assert cell["observed"] == "reachable", cell
    if address:
        assert cell["address"] == address


@pytest.mark.parametrize("source", ["win7", "centos"])
@pytest.mark.parametrize("target", ["internet", "router", "host"])
def test_nat_vms_get_out_translated_to_the_hosts_lan_address(prediction, source, target):
    cell = prediction[(source, target)]
    assert cell["observed"] == "reachable"
    if target == "router":  # the LAN sees the host's address, never 10.0.0.x
        assert cell["reason"] == "reachable, source translated to 192.168.1.100"
    elif target == "internet":  # ...and the home router translates once more
        assert cell["reason"].startswith("reachable, source translated to")


@pytest.mark.parametrize("target", ["win7", "centos", "host.nat"])
def test_the_lan_cannot_reach_the_private_nat_addresses(prediction, target):
    cell = prediction[("router", target)]
    assert cell["observed"] == "unreachable"
    assert "no route" in cell["reason"]


def test_win7_leased_from_the_hosts_dhcp_pool(prediction):
    assert IPv4Address(prediction[("host", "win7")]["address"]) in [
        IPv4Address("10.0.0.128") + i for i in range(127)]


def test_disabling_vmnet8_cuts_the_host_but_not_the_way_out():
    """The tutorial's finding: the NAT device (.2) is not the host adapter (.1)."""
    inv = complete_inventory(load_inventory(INVENTORY))
    from labkit.backends.sim.lab import SimWorld  # noqa: PLC0415

    vms = SimWorld(inv).state.vms
    adapters = initial_host_adapters(inv) | {"nat": False}
    topo = Topology(LabState(inv, adapters, vms))
    assert not ping(topo, "host", topo.resolve("win7")).reachable
    assert not ping(topo, "win7", topo.resolve("host.nat")).reachable
    assert ping(topo, "win7", topo.resolve("internet")).reachable
