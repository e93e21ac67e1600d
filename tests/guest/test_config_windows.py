"""Windows guests through netsh, end to end on the simulated lab: the real dialect code reads `show
config`, decides, and sends netsh commands; the simulated guest answers as Windows does."""

from __future__ import annotations

from ipaddress import IPv4Address

from labkit.backends import open_lab
from labkit.inventory import inventory_from_data, load_inventory
from labkit.model import ConfigureGuest, Step
from labkit.runner import run_step
from labkit.yamlsrc import load
from tests.conftest import REPO


def configure(lab, vms, **kw):
    step = Step(name="c", kind="configure_guest", spec=ConfigureGuest(vms=vms, interface="eth0", **kw))
    return run_step(step, lab).vms


def netsh_sent(transport, since):
    return [c for c in transport.commands[since:] if c.startswith("netsh interface ip set")
            or c.startswith("netsh interface ip add")]


def seed_with_connection(name: str):
    data = load(REPO / "inventory" / "seed-lab.yml").data
    for vm in data["vms"]:
        if vm["name"] == "win7":
            vm["adapters"][0]["connection"] = name
    return inventory_from_data(data)


def test_static_then_again_then_dhcp():
    lab = open_lab(load_inventory(REPO / "inventory" / "seed-lab.yml"))
    t = lab.transport("win7")
    first = configure(lab, ["win7"], address="192.168.1.60/24", gateway="192.168.1.1",
                      dns=["192.168.1.1", "9.9.9.9"])["win7"]
    assert first.ok and "(applied" in first.detail, first
    assert lab.guest_address("win7", "eth0") == IPv4Address("192.168.1.60")
    shown = t.run("netsh interface ip show config").stdout
    assert "DHCP enabled:                         No" in shown and "9.9.9.9" in shown

    mark = len(t.commands)
    again = configure(lab, ["win7"], address="192.168.1.60/24", gateway="192.168.1.1",
                      dns=["192.168.1.1", "9.9.9.9"])["win7"]
    assert again.ok and "already so" in again.detail
    assert netsh_sent(t, mark) == []  # idempotent: read back, nothing sent

    back = configure(lab, ["win7"], dhcp=True)["win7"]
    assert back.ok, back
    assert lab.guest_address("win7", "eth0") in load_inventory(REPO / "inventory" / "seed-lab.yml").lan.subnet
    assert lab.guest_address("win7", "eth0") != IPv4Address("192.168.1.60")  # a lease, not the old static
    assert t.commands[-1] == 'ipconfig /renew "eth0"'  # the lease is asked for before the step ends


def test_connection_name_with_spaces_is_quoted_for_cmd():
    lab = open_lab(seed_with_connection("Local Area Connection 2"))
    t = lab.transport("win7")
    result = configure(lab, ["win7"], address="192.168.1.61/24", gateway="192.168.1.1")["win7"]
    assert result.ok, result
    assert 'netsh interface ip set address name="Local Area Connection 2" source=static addr=192.168.1.61 ' \
           'mask=255.255.255.0 gateway=192.168.1.1 gwmetric=1' in t.commands
    assert 'Configuration for interface "Local Area Connection 2"' in t.run("netsh interface ip show config").stdout


def test_a_failing_windows_guest_does_not_stop_the_others():
    lab = open_lab(seed_with_connection("Ethernet0"))
    # the guest renamed its connection behind labkit's back: netsh refuses the name
    lab.world.inventory = seed_with_connection("Ethernet1")
    out = configure(lab, ["win7", "nat2"], dhcp=True)
    assert not out["win7"].ok and "'Ethernet0' is not in the output (found: 'Ethernet1')" in out["win7"].error
    assert out["nat2"].ok, out["nat2"]
