"""A Linux Workstation host's networking files, read into VnetFacts.

The fixture host (tests/backends/workstation/files/host) is the tutorial's: VMnet8 NAT on 10.0.0.0/24 with
its NAT device at .2 and DHCP .128-.254, VMnet1 host-only, VMnet0 bridged to the wireless NIC, and
two TCP port forwards to the CentOS VM, in the files' real formats.
"""

from __future__ import annotations

import shutil
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from labkit.errors import InputError
from labkit.backends.workstation.hostfiles import read_host_networks
from labkit.backends.workstation.facts import DhcpRange, PortForward, VnetFacts

HOST = Path(__file__).parent / "files" / "host"


@pytest.fixture
def host(tmp_path) -> Path:
    """A writable copy of the fixture host's files, to break one at a time."""
    return Path(shutil.copytree(HOST, tmp_path / "vmware"))


def by_name(facts):
    return {f.name: f for f in facts}


def test_the_tutorial_host():
    facts = by_name(read_host_networks(HOST))
    assert sorted(facts) == ["vmnet0", "vmnet1", "vmnet8"]
    assert facts["vmnet8"] == VnetFacts(
        name="vmnet8", type="nat", subnet=IPv4Network("10.0.0.0/24"), host_address=IPv4Address("10.0.0.1"),
        host_adapter_enabled=True, gateway=IPv4Address("10.0.0.2"),
        dhcp=DhcpRange(IPv4Address("10.0.0.128"), IPv4Address("10.0.0.254")),
        port_forwards=(PortForward("tcp", 2222, IPv4Address("10.0.0.101"), 22),
                       PortForward("tcp", 8080, IPv4Address("10.0.0.101"), 80)))
    assert facts["vmnet1"] == VnetFacts(
        name="vmnet1", type="hostonly", subnet=IPv4Network("192.168.56.0/24"),
        host_address=IPv4Address("192.168.56.1"), host_adapter_enabled=True,
        dhcp=DhcpRange(IPv4Address("192.168.56.128"), IPv4Address("192.168.56.254")))
    assert facts["vmnet0"] == VnetFacts(name="vmnet0", type="bridged")


def test_only_networking_is_needed(host):
    shutil.rmtree(host / "vmnet8")
    shutil.rmtree(host / "vmnet1")
    vmnet8 = by_name(read_host_networks(host))["vmnet8"]
    assert vmnet8.subnet == IPv4Network("10.0.0.0/24")
    assert vmnet8.host_address == IPv4Address("10.0.0.1")  # Workstation's .1 convention
    assert vmnet8.gateway is None and vmnet8.dhcp is None  # the files that say were not there
    assert len(vmnet8.port_forwards) == 2  # networking keeps them too


def append(path: Path, text: str) -> None:
    path.write_bytes(path.read_bytes() + text.encode())


def test_commands_apply_in_order(host):
    append(host / "networking", "remove_nat_portfwd 8 tcp 2222\nremove_answer VNET_1_DHCP\n"
                                "answer VNET_1_VIRTUAL_ADAPTER no\nremove_bridge_mapping wlan0\n"
                                "answer VNET_2_HOSTONLY_SUBNET 172.16.20.0\nanswer VNET_3_DISPLAY_NAME lan segment\n"
                                "add_dhcp_mac_to_ip 8 00:0c:29:7a:01:32 10.0.0.132\n")
    (host / "vmnet8" / "nat" / "nat.conf").write_text("[host]\nip = 10.0.0.2/24\n")
    facts = by_name(read_host_networks(host))
    assert [(f.protocol, f.host_port) for f in facts["vmnet8"].port_forwards] == [("tcp", 8080)]
    assert facts["vmnet1"].dhcp is None and facts["vmnet1"].host_adapter_enabled is False
    assert facts["vmnet2"].type == "hostonly" and facts["vmnet2"].subnet == IPv4Network("172.16.20.0/24")
    assert facts["vmnet3"].type == "custom" and facts["vmnet3"].subnet is None
    assert facts["vmnet0"].type == "bridged"  # vmnet0 is the bridged network even without a mapping


def test_nat_conf_forwards_and_gateway_win_over_defaults(host):
    natconf = host / "vmnet8" / "nat" / "nat.conf"
    natconf.write_text(natconf.read_text().replace("ip = 10.0.0.2", "ip = 10.0.0.3")
                       .replace("[incomingudp]\n", "[incomingudp]\n5353 = 10.0.0.101:53   # dns\n"))
    vmnet8 = by_name(read_host_networks(host))["vmnet8"]
    assert vmnet8.gateway == IPv4Address("10.0.0.3")
    assert PortForward("udp", 5353, IPv4Address("10.0.0.101"), 53) in vmnet8.port_forwards


# Each case breaks one line of one file; the error must name that file and line.
BROKEN = [
    ("networking", "answer VNET_8_HOSTONLY_SUBNET 10.0.0.0", "answer VNET_8_HOSTONLY_SUBNET 10.0.0.7",
     "host bits set"),
    ("networking", "answer VNET_8_HOSTONLY_NETMASK 255.255.255.0", "answer VNET_8_HOSTONLY_NETMASK 255.0.255.0",
     "not a netmask"),
    ("networking", "answer VNET_8_NAT yes", "answer VNET_8_NAT maybe", "yes or no"),
    ("networking", "add_nat_portfwd 8 tcp 8080 10.0.0.101 80", "add_nat_portfwd 8 tcp 80800 10.0.0.101 80",
     "host port"),
    ("networking", "add_nat_portfwd 8 tcp 2222 10.0.0.101 22", "add_nat_portfwd 8 icmp 2222 10.0.0.101 22",
     "tcp or udp"),
    ("networking", "add_bridge_mapping wlan0 0", "add_bridge_mapping wlan0", "takes 2 values"),
    ("networking", "answer VNL_DEFAULT_BRIDGE_VNET -1", "answr VNL_DEFAULT_BRIDGE_VNET -1", "unknown command"),
    ("networking", "VERSION=1,0", "VERSION=2,0", "unsupported"),
    ("vmnet8/nat/nat.conf", "ip = 10.0.0.2", "ip = 10.0.1.2", "outside vmnet8's subnet"),
    ("vmnet8/nat/nat.conf", "device = /dev/vmnet8", "device = /dev/vmnet1", "is not vmnet8"),
    ("vmnet8/nat/nat.conf", "8080 = 10.0.0.101:80", "8080 = 10.0.0.101", "<guest address>:<port>"),
    ("vmnet8/nat/nat.conf", "2222 = 10.0.0.101:22", "2222 = 10.0.0.102:22", "but to 10.0.0.101:22"),
    ("vmnet8/nat/nat.conf", "[tcp]", "[tcp", "no closing"),
    ("vmnet8/dhcpd/dhcpd.conf", "range 10.0.0.128 10.0.0.254;", "range 10.0.0.128 10.0.1.254;",
     "outside the subnet"),
    ("vmnet8/dhcpd/dhcpd.conf", "range 10.0.0.128 10.0.0.254;", "range 10.0.0.254 10.0.0.128;",
     "ends before it starts"),
    ("vmnet8/dhcpd/dhcpd.conf", "option routers 10.0.0.2;", "option routers 10.0.0.2", "missing ';'"),
    ("vmnet8/dhcpd/dhcpd.conf", "subnet 10.0.0.0 netmask 255.255.255.0 {", "subnet 10.0.0.0 netmask 255.255.255.0",
     "a '}' without its '{'"),
    ("vmnet8/dhcpd/dhcpd.conf", "host vmnet8 {", "host vmnet8 {{", "never closed"),
    ("vmnet8/dhcpd/dhcpd.conf", "subnet 10.0.0.0 netmask", "subnet 10.9.0.0 netmask", "no 'subnet 10.0.0.0"),
]


@pytest.mark.parametrize("name,old,new,message", BROKEN, ids=[f"{b[0]}:{b[3]}" for b in BROKEN])
def test_malformed_content_names_file_and_line(host, name, old, new, message):
    path = host / name
    text = path.read_text()
    assert old in text
    broken = text.replace(old, new, 1)
    line = broken[:broken.index(old if old in broken else new)].count("\n") + 1
    if message.startswith("no 'subnet"):
        line = 1  # nothing to point at: the declaration that should be there is not
    elif message.startswith("a '}'"):
        line = broken[:broken.index("}\nhost")].count("\n") + 1  # where the parser finds out
    path.write_text(broken)
    with pytest.raises(InputError) as exc:
        read_host_networks(host)
    assert exc.value.file == str(path)
    assert exc.value.line == line
    assert message in exc.value.message


def test_no_networking_file(tmp_path):
    with pytest.raises(InputError, match="no such file") as exc:
        read_host_networks(tmp_path)
    assert exc.value.file == str(tmp_path / "networking")


def test_binary_garbage_is_an_input_error(host):
    (host / "vmnet8" / "nat" / "nat.conf").write_bytes(b"[host]\nip = \xff\xfe\n")
    with pytest.raises(InputError, match="not UTF-8") as exc:
        read_host_networks(host)
    assert exc.value.line == 2
