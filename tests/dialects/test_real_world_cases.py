"""The cases of real-world files that broke or silently voided a guest's configuration (labkit issue 18),
each on a minimal file. The whole corpus of real files is test_corpus.py; these say what each fix is."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface

import pytest

from labkit.dialects import file_dialect, ifcfg, ifupdown, netplan, netsh, nmkeyfile
from labkit.errors import GuestConfigError
from labkit.netconfig import InterfaceConfig

A = IPv4Address
STATIC = InterfaceConfig("static", IPv4Interface("10.0.1.5/24"), A("10.0.1.1"))
DHCP = InterfaceConfig("dhcp")


def applied(dialect: str, text: str, interface: str, cfg: InterfaceConfig) -> str:
    d = file_dialect(dialect)
    doc = d.parse(text, "f")
    d.apply_config(doc, interface, cfg)
    return d.render(doc)


def refused(dialect: str, text: str, interface: str, cfg: InterfaceConfig, message: str) -> None:
    d = file_dialect(dialect)
    doc = d.parse(text, "f")
    with pytest.raises(GuestConfigError, match=message):
        d.apply_config(doc, interface, cfg)
    assert d.render(doc) == text  # nothing touched


def warnings(dialect: str, text: str, interface: str, cfg: InterfaceConfig) -> list[str]:
    d = file_dialect(dialect)
    return d.edit_warnings(d.parse(text, "f"), interface, cfg)


# ---------------------------------------------------------------- a port's address belongs to its master

PORTS = {
    "ifupdown-bond-master": ("ifupdown", "auto eth0\niface eth0 inet manual\n    bond-master bond0\n", "bond0"),
    "ifupdown-bond-slaves": ("ifupdown", "iface bond0 inet dhcp\n    bond-slaves eth0 eth1\n", "bond0"),
    "ifupdown-bridge-ports": ("ifupdown", "iface br0 inet dhcp\n    bridge_ports eth0\n"
                                          "iface eth0 inet manual\n", "br0"),
    "nmkeyfile-port": ("nmkeyfile", "[connection]\nid=p\ntype=ethernet\ninterface-name=eth0\nmaster=bond0\n"
                                    "slave-type=bond\n", "bond0"),
    "nmkeyfile-controller": ("nmkeyfile", "[connection]\nid=p\ntype=ethernet\ninterface-name=eth0\n"
                                          "controller=br0\nport-type=bridge\n", "br0"),
    "ifcfg-bond": ("ifcfg", "DEVICE=eth0\nMASTER=bond0\nSLAVE=yes\nBOOTPROTO=none\n", "bond0"),
    "ifcfg-bridge": ("ifcfg", "DEVICE=eth0\nBRIDGE=br0\nBOOTPROTO=none\n", "br0"),
    "netplan-bond": ("netplan", "network:\n  ethernets: {eth0: {}}\n  bonds:\n    bond0: {interfaces: [eth0]}\n",
                     "bond0"),
}


@pytest.mark.parametrize(("dialect", "text", "master"), list(PORTS.values()), ids=list(PORTS))
@pytest.mark.parametrize("cfg", [STATIC, DHCP], ids=["static", "dhcp"])
def test_a_port_is_refused_naming_its_master(dialect: str, text: str, master: str, cfg: InterfaceConfig) -> None:
    refused(dialect, text, "eth0", cfg, f"port of .*{master}.* configure {master}")


# ---------------------------------------------------------------- netplan: edit the definition in place

MATCHED = "network:\n  ethernets:\n    eth0: {match: {name: en*}, dhcp4: true, mtu: 9000}\n"


def test_netplan_edits_a_matched_definition_in_place_keeping_match_and_mtu() -> None:
    out = applied("netplan", MATCHED, "eth0", STATIC)
    assert out == ("network:\n  ethernets:\n    eth0: {match: {name: en*}, dhcp4: false, mtu: 9000, "
                   "addresses: [10.0.1.5/24], routes: [{to: 0.0.0.0/0, via: 10.0.1.1}]}\n")
    assert "selects devices by name: every device it matches" in " ".join(warnings("netplan", MATCHED, "eth0", STATIC))


def test_netplan_sriov_example_keeps_its_definitions() -> None:
    text = ("network:\n  version: 2\n  renderer: networkd\n  ethernets:\n    eno1:\n      mtu: 9000\n"
            "    vf1:\n      match:\n        name: enp1s16f[2-3]\n      link: eno1\n"
            "      addresses : [ \"10.15.99.25/24\" ]\n")
    out = applied("netplan", text, "vf1", STATIC)
    assert out == text.replace('"10.15.99.25/24"', '"10.0.1.5/24"') + (
        "      routes:\n      - to: 0.0.0.0/0\n        via: 10.0.1.1\n")


def test_netplan_refuses_a_vrf() -> None:
    text = "network:\n  vrfs:\n    vrf0:\n      table: 10\n      interfaces: [eth0]\n"
    refused("netplan", text, "vrf0", STATIC, "vrfs.vrf0: a VRF takes no address or DHCP")


# ---------------------------------------------------------------- ifupdown: inherits

def test_ifupdown_refuses_to_edit_a_stanza_another_inherits() -> None:
    text = ("iface eth0 inet static\n    address 10.0.0.5/24\n    gateway 10.0.0.1\n\n"
            "iface eth1 inet static inherits eth0\n    address 10.0.2.5/24\n")
    refused("ifupdown", text, "eth0", STATIC, r"eth1 \(line 5\) inherits eth0's options: .*duplicate address")


def test_ifupdown_edits_a_child_whose_template_owns_no_address() -> None:
    text = "iface base inet static\n    mtu 9000\n\niface eth1 inet static inherits base\n    address 10.0.2.5/24\n"
    assert applied("ifupdown", text, "eth1", STATIC) == (
        "iface base inet static\n    mtu 9000\n\nauto eth1\niface eth1 inet static inherits base\n"
        "    address 10.0.1.5/24\n    gateway 10.0.1.1\n")


# ---------------------------------------------------------------- round trips and no-op edits

NETPLAN_ODD = {
    "trailing-spaces": "network:  \n  ethernets:   \n    eth0:\n      dhcp4: true  \n      mtu: 9000   \n",
    "flow-padding": "network:\n  ethernets:\n    eth0:\n      addresses: [ 10.0.0.5/24 ]\n      mtu: 9000\n",
    "quoted-key": 'network:\n  ethernets:\n    "eth\\x30": {dhcp4: true}\n    eth1: {mtu: 1500}\n',
    "whitespace-last-line": "network:\n  ethernets:\n    eth0: {dhcp4: true}\n  \n",
    "space-before-colon": "network :\n  ethernets :\n    eth0 :\n      dhcp4 : true\n",
    "long-line": "network:\n  ethernets:\n    eth0:\n      dhcp4: true\n      x-note: " + "y" * 5000 + "\n",
}


@pytest.mark.parametrize("text", list(NETPLAN_ODD.values()), ids=list(NETPLAN_ODD))
def test_netplan_unedited_and_noop_are_byte_identical_and_an_edit_changes_its_lines_only(text: str) -> None:
    doc = netplan.parse(text)
    assert netplan.render(doc) == text
    interface = netplan.interfaces(doc)[0]
    assert applied("netplan", text, interface, netplan.read_config(doc, interface)) == text
    out = applied("netplan", text, interface, STATIC)
    kept = [line for line in text.split("\n") if "dhcp4" not in line and "addresses" not in line]
    assert all(line in out.split("\n") for line in kept)  # every other line, spaces and length as they were
    assert applied("netplan", out, interface, DHCP).count("y" * 5000) == text.count("y" * 5000)


def test_ifupdown_noop_with_prefix_and_netmask_changes_nothing() -> None:
    text = "auto eth0\niface eth0 inet static\n    address 10.0.0.5/24\n    netmask 255.255.0.0\n"
    cfg = ifupdown.read_config(ifupdown.parse(text), "eth0")
    assert cfg.address == IPv4Interface("10.0.0.5/16")  # ifupdown's netmask wins
    assert applied("ifupdown", text, "eth0", cfg) == text


def test_ifcfg_noop_without_bootproto_changes_nothing() -> None:
    text = "DEVICE=eth0\nIPADDR=10.0.0.5\nPREFIX=24\n"
    cfg = ifcfg.read_config(ifcfg.IfcfgFile.parse(text, "f"))
    assert applied("ifcfg", text, "eth0", cfg) == text


def test_ifupdown_stanza_appended_to_a_crlf_file_is_crlf() -> None:
    text = "auto lo\r\niface lo inet loopback\r\n"
    assert applied("ifupdown", text, "eth0", DHCP) == (
        "auto lo\r\niface lo inet loopback\r\n\r\nauto eth0\r\niface eth0 inet dhcp\r\n")


def test_ifcfg_crlf_file_is_refused_as_bash_reads_the_cr() -> None:
    with pytest.raises(GuestConfigError, match="f:1: BOOTPROTO: the line ends in a carriage return"):
        ifcfg.IfcfgFile.parse("BOOTPROTO=none\r\nIPADDR=10.0.0.5\r\n", "f")


# ---------------------------------------------------------------- edits that take effect; valid files read

AP = "network:\n  renderer: NetworkManager\n  wifis:\n    wl0:\n      addresses: [10.42.0.1/24]\n" \
     "      access-points:\n        home: {mode: ap, password: s0s3cret1}\n"


def test_netplan_access_point_refuses_dhcp_and_takes_a_static_address() -> None:
    refused("netplan", AP, "wl0", DHCP, "access point .*method=shared.* no DHCP lease")
    assert "10.0.1.5/24" in applied("netplan", AP, "wl0", STATIC)


@pytest.mark.parametrize("mode", ["off", "manual"])
def test_netplan_activation_mode_is_read_as_it_is_edited(mode: str) -> None:
    text = f"network:\n  ethernets:\n    eth0:\n      activation-mode: {mode}\n      dhcp4: true\n"
    doc = netplan.parse(text)
    if mode == "off":  # kept down: neither read nor edited
        with pytest.raises(GuestConfigError, match="activation-mode: 'off' is not supported"):
            netplan.read_config(doc, "eth0")
        refused("netplan", text, "eth0", STATIC, "activation-mode: 'off' is not supported")
        return
    assert netplan.read_config(doc, "eth0") == InterfaceConfig("dhcp", onboot=False)
    out = applied("netplan", text, "eth0", InterfaceConfig("static", STATIC.address, onboot=False))
    assert netplan.read_config(netplan.parse(out), "eth0") == InterfaceConfig("static", STATIC.address, onboot=False)


def test_netplan_per_type_renderer_and_merged_duplicates_are_read() -> None:
    text = ("network:\n  ethernets:\n    renderer: networkd\n    eth0: {dhcp4: true}\n"
            "  bridges: {br0: {dhcp4: true}}\n  bridges: {br1: {addresses: [10.0.3.1/24]}}\n")
    doc = netplan.parse(text)
    assert netplan.interfaces(doc) == ["eth0", "br0", "br1"]
    assert netplan.read_config(doc, "br1") == InterfaceConfig("static", IPv4Interface("10.0.3.1/24"))


def test_keyfile_legacy_address_list_form_is_read_and_kept() -> None:
    text = "[connection]\nid=w\ninterface-name=eth0\n\n[ipv4]\naddresses1=192.168.0.5;24;192.168.0.1;\nmethod=manual\n"
    doc = nmkeyfile.parse(text)
    assert nmkeyfile.read_config(doc, "eth0") == InterfaceConfig("static", IPv4Interface("192.168.0.5/24"),
                                                                A("192.168.0.1"))
    cfg = InterfaceConfig("static", IPv4Interface("192.168.0.6/24"), A("192.168.0.1"))
    assert applied("nmkeyfile", text, "eth0", cfg) == text.replace("192.168.0.5;", "192.168.0.6;")


def test_netsh_windows_own_adapter_names_are_quoted_for_cmd() -> None:
    name = "Local Area Connection* 2"
    assert netsh.apply_commands(name, DHCP)[0] == f'netsh interface ip set address name="{name}" source=dhcp'
    assert netsh.restart_command(name) == f'ipconfig /renew "{name}"'


def test_netsh_plain_ipconfig_is_read_adapter_by_adapter() -> None:
    text = ("\r\nWindows IP Configuration\r\n\r\n\r\nEthernet adapter Local Area Connection 2:\r\n\r\n"
            "   Connection-specific DNS Suffix  . : lan\r\n   IPv4 Address. . . . . . . . . . . : 10.0.2.15\r\n"
            "   Subnet Mask . . . . . . . . . . . : 255.255.255.0\r\n"
            "   Default Gateway . . . . . . . . . : 10.0.2.2\r\n")
    assert netsh.ipconfig_names(text) == ["Local Area Connection 2"]
    assert netsh.parse_ipconfig(text) == {}  # nothing it can describe, and no error for the whole output
    with pytest.raises(GuestConfigError, match="does not say whether DHCP is enabled .*ipconfig /all"):
        netsh.read_ipconfig(text, "Local Area Connection 2")


# ---------------------------------------------------------------- routes via the old subnet's gateway

ROUTES = {
    "ifupdown": ("ifupdown", "iface eth0 inet static\n    address 10.0.0.5/24\n    gateway 10.0.0.1\n"
                             "    up ip route add 10.9.0.0/16 via 10.0.0.254\n", "`ip route add 10.9.0.0/16 via"),
    "nmkeyfile": ("nmkeyfile", "[connection]\nid=e\ninterface-name=eth0\n[ipv4]\naddress1=10.0.0.5/24\n"
                               "method=manual\nroute1=10.9.0.0/16,10.0.0.254\n", "route 10.9.0.0/16,10.0.0.254"),
    "netplan": ("netplan", "network:\n  ethernets:\n    eth0:\n      addresses: [10.0.0.5/24]\n      routes:\n"
                           "      - {to: 10.9.0.0/16, via: 10.0.0.254}\n", "route to 10.9.0.0/16 via 10.0.0.254"),
}


@pytest.mark.parametrize(("dialect", "text", "route"), list(ROUTES.values()), ids=list(ROUTES))
def test_a_route_the_new_address_cannot_reach_is_kept_with_a_warning(dialect: str, text: str, route: str) -> None:
    [warning] = warnings(dialect, text, "eth0", STATIC)
    assert route in warning and "10.0.0.254 is outside 10.0.1.0/24: unreachable" in warning
    assert "10.0.0.254" in applied(dialect, text, "eth0", STATIC)  # not labkit's to drop
    same_subnet = InterfaceConfig("static", IPv4Interface("10.0.0.6/24"), A("10.0.0.1"))
    assert warnings(dialect, text, "eth0", same_subnet) == []
    assert warnings(dialect, text, "eth0", DHCP) == []


def test_ifcfg_route_file_warnings() -> None:
    text = "ADDRESS0=10.9.0.0\nNETMASK0=255.255.0.0\nGATEWAY0=10.0.0.254\n10.8.0.0/16 via 10.0.1.254 dev eth0\n"
    [warning] = ifcfg.route_file_warnings(text, "route-eth0", STATIC)
    assert warning == ("route-eth0:3: GATEWAY0: route 10.9.0.0 via 10.0.0.254 is kept, but 10.0.0.254 is outside "
                       "10.0.1.0/24: unreachable (fix or remove it)")


# ---------------------------------------------------------------- one DNS rule for every dialect

DNS_FILES = {
    "ifcfg": ("ifcfg", "DEVICE=eth0\nBOOTPROTO=static\nIPADDR=10.0.0.5\nPREFIX=24\nDNS1=9.9.9.9\n"),
    "ifupdown": ("ifupdown", "iface eth0 inet static\n    address 10.0.0.5/24\n    dns-nameservers 9.9.9.9\n"),
    "nmkeyfile": ("nmkeyfile", "[connection]\nid=e\ninterface-name=eth0\n[ipv4]\naddress1=10.0.0.5/24\n"
                               "dns=9.9.9.9;\nmethod=manual\n"),
    "netplan": ("netplan", "network:\n  ethernets:\n    eth0:\n      addresses: [10.0.0.5/24]\n"
                           "      nameservers: {addresses: [9.9.9.9]}\n"),
}


@pytest.mark.parametrize(("dialect", "text"), list(DNS_FILES.values()), ids=list(DNS_FILES))
def test_one_dns_rule_for_every_dialect(dialect: str, text: str) -> None:
    """docs/format.md: servers a configuration names replace the file's; naming none, a static configuration
    removes them and a switch to DHCP leaves them as they are (the tutorial's CentOS file keeps DNS1/DNS2)."""
    d = file_dialect(dialect)

    def dns_after(cfg: InterfaceConfig) -> tuple[IPv4Address, ...]:
        return d.read_config(d.parse(applied(dialect, text, "eth0", cfg), "f"), "eth0").dns

    assert dns_after(DHCP) == (A("9.9.9.9"),)
    assert dns_after(InterfaceConfig("dhcp", dns=(A("1.1.1.1"),))) == (A("1.1.1.1"),)
    assert dns_after(STATIC) == ()
    assert dns_after(InterfaceConfig("static", STATIC.address, dns=(A("1.1.1.1"),))) == (A("1.1.1.1"),)


def test_netsh_follows_the_same_dns_rule() -> None:
    assert [c.split(" name=")[0] for c in netsh.apply_commands("eth0", DHCP)] == [
        "netsh interface ip set address"]
    assert netsh.apply_commands("eth0", STATIC)[-1] == 'netsh interface ip set dnsservers name="eth0" source=dhcp'
    assert "addr=1.1.1.1" in netsh.apply_commands("eth0", InterfaceConfig("dhcp", dns=(A("1.1.1.1"),)))[-1]
