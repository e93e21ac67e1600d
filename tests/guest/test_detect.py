"""Dialect detection from what a guest shows (pure classification, then on the simulated guests)."""

from __future__ import annotations

import pytest

from labkit.guest.detect import classify
from labkit.errors import GuestConfigError

CENTOS6 = 'NAME="CentOS"\nID="centos"\nID_LIKE="rhel fedora"\n'
DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12"\nID=debian\n'
UBUNTU = 'NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n'
RHEL9 = 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nID_LIKE="fedora"\n'


def probe(release: str, files: list[str], tools: list[str]) -> str:
    return release + "=== files\n" + "".join(f + "\n" for f in files) + "=== tools\n" + "".join(
        t + "\n" for t in tools)


@pytest.mark.parametrize(("output", "dialect"), [
    pytest.param(probe(CENTOS6, ["/etc/sysconfig/network-scripts/ifcfg-eth0"], []), "ifcfg", id="centos6"),
    pytest.param(probe(DEBIAN, ["/etc/network/interfaces"], ["/sbin/ifup"]), "ifupdown", id="debian"),
    pytest.param(probe(UBUNTU, ["/etc/netplan/01-netcfg.yaml", "/etc/network/interfaces"],
                       ["/usr/sbin/netplan"]), "netplan", id="ubuntu-netplan"),
    pytest.param(probe(RHEL9, ["/etc/NetworkManager/system-connections/eth0.nmconnection"],
                       ["/usr/bin/nmcli"]), "nmkeyfile", id="rhel9-keyfile"),
    pytest.param(probe(RHEL9, ["/etc/sysconfig/network-scripts/ifcfg-eth0",
                               "/etc/NetworkManager/system-connections/x.nmconnection"], ["/usr/bin/nmcli"]),
                 "ifcfg", id="rhel8-ifcfg-first"),
    pytest.param(probe("", ["/etc/sysconfig/network-scripts/ifcfg-eth0"], []), "ifcfg", id="no-os-release"),
])
def test_classify(output, dialect):
    assert classify(output) == dialect


def test_nothing_known_is_a_clear_error():
    with pytest.raises(GuestConfigError, match="set `dialect:` in the inventory"):
        classify(probe(DEBIAN, ["/etc/sysconfig/network-scripts/ifcfg-lo"], []))


def test_configure_without_a_dialect_in_the_inventory_detects_it():
    from labkit.backends import open_lab
    from labkit.inventory import inventory_from_data, load_inventory
    from labkit.model import ConfigureGuest, Step
    from labkit.runner import run_step
    from tests.conftest import REPO

    data = load_inventory(REPO / "inventory" / "seed-netns.yml").model_dump(mode="json")
    for vm in data["vms"]:
        vm["dialect"] = None
    lab = open_lab(inventory_from_data(data), "sim")
    spec = ConfigureGuest(vms=["win7", "centos"], interface="eth0", dhcp=True)
    result = run_step(Step(name="c", kind="configure_guest", spec=spec), lab)
    assert result.ok, result.vms
    assert "iface eth0 inet dhcp" in lab.transport("win7").read_file("/etc/network/interfaces")
    assert "BOOTPROTO=dhcp" in lab.transport("centos").read_file("/etc/sysconfig/network-scripts/ifcfg-eth0")
