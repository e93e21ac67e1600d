"""Dialects are detected on the simulated guests as on real ones (labkit.guest.detect over the
guest's own transport), and the simulated lab boots to exactly the described state."""

from __future__ import annotations

import subprocess
import sys
from ipaddress import IPv4Address

import pytest

from labkit.backends import open_lab
from labkit.backends.sim.lab import SimWorld
from labkit.described import described_state
from labkit.guest.detect import PROBE, classify, detect
from labkit.inventory import inventory_from_data, load_inventory
from labkit.model import Inventory
from tests.conftest import REPO, TUTORIAL_IFCFG

NETPLAN = "network:\n  version: 2\n  ethernets:\n    eth0:\n      dhcp4: true\n"


def inventory(vms: list[dict], base: str = "seed-lab.yml") -> Inventory:
    data = load_inventory(REPO / "inventory" / base).model_dump(mode="json", exclude={"vms"})
    data["vms"] = vms
    return inventory_from_data(data)


def vm(name: str, n: int, network: str = "nat", config: dict | None = None, **extra) -> dict:
    return {"name": name, "os": "linux", "adapters": [{"interface": "eth0", "mac": f"00:0c:29:00:02:{n:02x}",
                                                        "network": network, "config": config or {"dhcp": True}}],
            **extra}


@pytest.mark.parametrize(("files", "dialect"), [
    pytest.param({}, "ifupdown", id="nothing-seeded-is-debian"),
    pytest.param({"/etc/sysconfig/network-scripts/ifcfg-eth0": TUTORIAL_IFCFG}, "ifcfg", id="ifcfg-seeded"),
    pytest.param({"/etc/netplan/01-netcfg.yaml": NETPLAN,
                  "/etc/os-release": "NAME=Ubuntu\nID=ubuntu\nID_LIKE=debian\n"}, "netplan", id="netplan-seeded"),
])
def test_detect_runs_its_probe_through_the_sim_transport(files, dialect):
    lab = open_lab(inventory([vm("g", 1, files=files)]))
    t = lab.transport("g")
    assert detect(t) == dialect
    assert PROBE in t.commands  # asked at boot too: the inventory gave no dialect
    assert classify(t.run(PROBE).stdout) == dialect


def test_boot_configures_the_detected_dialect():
    lab = open_lab(inventory([vm("deb", 1), vm("rh", 2, files={
        "/etc/sysconfig/network-scripts/ifcfg-eth0": "DEVICE=eth0\nONBOOT=yes\nBOOTPROTO=dhcp\n"})]))
    assert "iface eth0 inet dhcp" in lab.transport("deb").read_file("/etc/network/interfaces")
    assert lab.world.dialects == {"deb": "ifupdown", "rh": "ifcfg"}
    assert all(lab.guest_address(name, "eth0") is not None for name in ("deb", "rh"))


def test_an_undetectable_guest_boots_without_network_and_says_why():
    lab = open_lab(inventory([vm("odd", 1, files={"/etc/sysconfig/network-scripts/ifcfg-lo": "DEVICE=lo\n"})]))
    st = lab.world.state.vms["odd"].iface("eth0")
    assert st.address is None and "set `dialect:` in the inventory" in st.note


def states_agree(inv: Inventory) -> None:
    booted = SimWorld(inv).state
    described = described_state(inv)
    assert described.host_adapters == booted.host_adapters
    assert described.vms == booted.vms


def test_described_state_is_the_booted_seed_lab():
    inv = load_inventory(REPO / "inventory" / "seed-lab.yml")
    states_agree(inv)
    st = described_state(inv).vms
    assert str(st["nat2"].iface().address) == "10.0.0.128/24" and st["nat2"].iface().dhcp
    assert str(st["centos"].iface().address) == "10.0.0.101/24" and not st["centos"].iface().dhcp


def test_described_state_is_the_booted_dhcp_heavy_lab():
    """Many DHCP guests of every kind over every pool, some exhausting it, off, disconnected or without MAC."""
    vms = []
    for n in range(60):
        network = ("nat", "hostonly", "bridged")[n % 3]
        entry = vm(f"v{n}", n, network, dialect=("ifcfg", "ifupdown", None)[n % 3])
        if n % 4 == 0:
            entry["os"], entry["dialect"] = "windows", "netsh"
        if n % 11 == 0:
            entry["powered_on"] = False
        if n % 13 == 0:
            entry["adapters"][0]["connected"] = False
        if n % 7 == 0:
            del entry["adapters"][0]["mac"]
        if n % 10 == 5:
            entry["adapters"][0]["config"] = {"address": f"10.0.0.{30 + n}/24", "gateway": "10.0.0.2"} \
                if network == "nat" else {"dhcp": True}
        vms.append(entry)
    # RHEL's network service brings eth0 up before eth1 whatever the adapters' order: same leases
    vms.append({"name": "two", "os": "linux", "dialect": "ifcfg", "adapters": [
        {"interface": "eth1", "mac": "00:0c:29:00:03:01", "network": "nat", "config": {"dhcp": True}},
        {"interface": "eth0", "mac": "00:0c:29:00:03:00", "network": "nat", "config": {"dhcp": True}}]})
    inv = inventory(vms)
    data = inv.model_dump(mode="json")
    data["lan"]["dhcp"] = {"start": "192.168.1.101", "end": "192.168.1.110"}  # 10 leases for 20 bridged guests
    inv = inventory_from_data(data)
    states_agree(inv)
    notes = [i.note for v in described_state(inv).vms.values() for i in v.ifaces if i.note]
    assert any("no DHCP server answered on bridged" in n for n in notes)


def test_described_imports_no_backend():
    code = ("import sys, labkit.described; "
            "print([m for m in sys.modules if m.startswith('labkit.backends')])")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_netplan_and_networkmanager_guests_apply_their_files():
    """Each dialect's restart is run by the guest's own service, reading the file labkit wrote."""
    from labkit.model import ConfigureGuest, RestartNetwork, Step
    from labkit.runner import run_step

    ubuntu = {"/etc/netplan/01-netcfg.yaml": NETPLAN, "/etc/os-release": "NAME=Ubuntu\nID=ubuntu\nID_LIKE=debian\n"}
    lab = open_lab(inventory([vm("ubu", 1, files=ubuntu), vm("rocky", 2, dialect="nmkeyfile")]))
    safe = ConfigureGuest(vms=["ubu"], interface="eth0", apply=True, rollback_after=5,
                          address="10.0.0.61/24", gateway="10.0.0.2")
    out = run_step(Step(name="a", kind="configure_guest", spec=safe), lab).vms["ubu"]
    assert out.ok and "10.0.0.61 confirmed" in out.detail, out
    assert "10.0.0.61/24" in lab.transport("ubu").read_file("/etc/netplan/01-netcfg.yaml")
    static = ConfigureGuest(vms=["rocky"], interface="eth0", address="10.0.0.62/24", gateway="10.0.0.2")
    assert run_step(Step(name="c", kind="configure_guest", spec=static), lab).vms["rocky"].ok
    assert lab.guest_address("rocky", "eth0") != IPv4Address("10.0.0.62")  # written, not applied yet
    restart = RestartNetwork(vms=["rocky"], interface="eth0")
    out = run_step(Step(name="r", kind="restart_network", spec=restart), lab).vms["rocky"]
    assert out.ok, out
    assert lab.guest_address("rocky", "eth0") == IPv4Address("10.0.0.62")
