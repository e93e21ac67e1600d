"""configure_guest through the runner on the simulated lab (the transport labkit uses for real guests):
a no-op edit writes nothing and says so, and routes a new address cannot reach come back as warnings."""

from __future__ import annotations

from labkit.backends import open_lab
from labkit.guest import config
from labkit.inventory import inventory_from_data, load_inventory
from labkit.model import ConfigureGuest, Step
from labkit.netconfig import InterfaceConfig
from labkit.runner import run_step
from labkit.yamlsrc import load
from tests.conftest import REPO

IFCFG = "/etc/sysconfig/network-scripts/ifcfg-eth0"


def configure(lab, **kw):
    step = Step(name="c", kind="configure_guest", spec=ConfigureGuest(vms=["centos"], interface="eth0", **kw))
    return run_step(step, lab).vms["centos"]


def lab():
    return open_lab(load_inventory(REPO / "inventory" / "seed-lab.yml"))


def test_a_file_without_bootproto_that_already_says_it_is_not_written() -> None:
    lab_ = lab()
    t = lab_.transport("centos")
    text = "DEVICE=eth0\nONBOOT=yes\nIPADDR=10.0.0.101\nPREFIX=24\nGATEWAY=10.0.0.2\n"
    t.write_file(IFCFG, text, 0o644)
    result = configure(lab_, address="10.0.0.101/24", gateway="10.0.0.2")
    assert result.ok and "(already so, via" in result.detail, result
    assert t.read_file(IFCFG) == text


def test_routes_the_new_address_cannot_reach_are_warned_about_and_kept() -> None:
    lab_ = lab()
    t = lab_.transport("centos")
    route = "/etc/sysconfig/network-scripts/route-eth0"
    t.write_file(route, "ADDRESS0=10.9.0.0\nNETMASK0=255.255.0.0\nGATEWAY0=10.0.0.254\n", 0o644)
    result = configure(lab_, address="192.168.1.60/24", gateway="192.168.1.1")
    assert result.ok, result
    assert "(written, via" in result.detail
    assert ("; warning: /etc/sysconfig/network-scripts/route-eth0:3: GATEWAY0: route 10.9.0.0 via 10.0.0.254 "
            "is kept, but 10.0.0.254 is outside 192.168.1.0/24") in result.detail
    assert "GATEWAY0=10.0.0.254" in t.read_file(route)


def test_edit_warnings_without_a_file_or_for_dhcp_are_none() -> None:
    t = lab().transport("centos")
    assert config.edit_warnings(t, "ifcfg", "eth9", InterfaceConfig("dhcp")) == []
    assert config.edit_warnings(t, "netsh", "Ethernet", InterfaceConfig("dhcp")) == []
    assert config.with_warnings("eth0: dhcp", []) == "eth0: dhcp"


def test_a_windows_adapter_named_with_a_star_is_configured() -> None:
    """Windows names its own virtual adapters `Local Area Connection* 2`: quoted for cmd, not refused."""
    data = load(REPO / "inventory" / "seed-lab.yml").data
    for vm in data["vms"]:
        if vm["name"] == "win7":
            vm["adapters"][0]["connection"] = "Local Area Connection* 2"
    lab_ = open_lab(inventory_from_data(data))
    step = Step(name="c", kind="configure_guest",
                spec=ConfigureGuest(vms=["win7"], interface="eth0", address="192.168.1.62/24", gateway="192.168.1.1"))
    result = run_step(step, lab_).vms["win7"]
    assert result.ok and "(applied" in result.detail, result
    sent = [c for c in lab_.transport("win7").commands if c.startswith("netsh interface ip set address")]
    assert sent[-1].startswith('netsh interface ip set address name="Local Area Connection* 2" source=static')
