"""netsh dialect: reading `show config` and `ipconfig /all` captures, and the netsh commands written.

The golden captures (tests/dialects/golden/netsh/, CRLF as Windows writes them) are hand-written in
the layout Microsoft documents: a Windows 7 VM (DHCP lease, static, disconnected DHCP adapter) and a
Windows 10 VM (static, DHCP with static DNS, disconnected static adapter, autoconfiguration address).
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labkit.dialects.netsh import (
    apply_commands,
    check_name,
    parse_ipconfig,
    parse_show_config,
    read_command,
    read_config,
    restart_command,
)
from labkit.errors import GuestConfigError
from labkit.netconfig import InterfaceConfig
from tests.dialects.fakenetsh import block, fake_netsh

GOLDEN = Path(__file__).parent / "golden" / "netsh"


def golden(name: str) -> str:
    return (GOLDEN / name).read_bytes().decode("utf-8")


def a(text: str) -> IPv4Address:
    return IPv4Address(text)


TUTORIAL_DNS = (a("202.96.128.86"), a("202.96.128.166"))
LOOPBACK = InterfaceConfig("static", IPv4Interface("127.0.0.1/8"))
NO_LEASE = InterfaceConfig("dhcp")

WIN7_SHOW = {
    "Local Area Connection": InterfaceConfig("dhcp", IPv4Interface("10.0.0.132/24"), a("10.0.0.2")),
    "Local Area Connection 2": InterfaceConfig("static", IPv4Interface("192.168.10.5/24"), None, TUTORIAL_DNS),
    "Local Area Connection 3": NO_LEASE,
    "Loopback Pseudo-Interface 1": LOOPBACK,
}
WIN10_SHOW = {
    "Ethernet0": InterfaceConfig("static", IPv4Interface("10.0.0.101/24"), a("10.0.0.2"), TUTORIAL_DNS),
    "Ethernet1": InterfaceConfig("dhcp", IPv4Interface("192.168.40.129/24"), a("192.168.40.2"),
                                 (a("8.8.8.8"), a("8.8.4.4"))),
    # Ethernet2: static and disconnected, no address shown: left out (see the read_config tests)
    "Host-only (VMnet1)": NO_LEASE,  # 169.254.77.12 is autoconfiguration, not a lease
    "Loopback Pseudo-Interface 1": LOOPBACK,
}
# ipconfig lists no loopback; it cannot say where DNS servers come from, so a lease's are reported.
WIN7_IPCONFIG = {
    "Local Area Connection 3": NO_LEASE,
    "Local Area Connection 2": WIN7_SHOW["Local Area Connection 2"],
    "Local Area Connection": InterfaceConfig("dhcp", IPv4Interface("10.0.0.132/24"), a("10.0.0.2"), (a("10.0.0.2"),)),
    # "isatap.localdomain": a tunnel with no IPv4 address, left out
}
WIN10_IPCONFIG = {name: WIN10_SHOW[name] for name in ("Ethernet0", "Ethernet1", "Host-only (VMnet1)")}


# ---------------------------------------------------------------- reading the golden captures

@pytest.mark.parametrize("name", ["win7_show_config.txt", "win10_show_config.txt", "win7_ipconfig_all.txt",
                                  "win10_ipconfig_all.txt"])
def test_golden_captures_have_windows_line_endings(name: str) -> None:
    text = golden(name)
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")


@pytest.mark.parametrize(("name", "expected"), [
    pytest.param("win7_show_config.txt", WIN7_SHOW, id="win7"),
    pytest.param("win10_show_config.txt", WIN10_SHOW, id="win10"),
])
def test_parse_show_config_golden(name: str, expected: dict[str, InterfaceConfig]) -> None:
    assert parse_show_config(golden(name)) == expected


@pytest.mark.parametrize(("name", "expected"), [
    pytest.param("win7_ipconfig_all.txt", WIN7_IPCONFIG, id="win7"),
    pytest.param("win10_ipconfig_all.txt", WIN10_IPCONFIG, id="win10"),
])
def test_parse_ipconfig_golden(name: str, expected: dict[str, InterfaceConfig]) -> None:
    assert parse_ipconfig(golden(name)) == expected


@pytest.mark.parametrize("name", ["win7_show_config.txt", "win10_show_config.txt"])
def test_show_config_parses_the_same_with_unix_line_endings(name: str) -> None:
    assert parse_show_config(golden(name).replace("\r\n", "\n")) == parse_show_config(golden(name))


def test_ipconfig_parses_the_same_with_unix_line_endings() -> None:
    text = golden("win10_ipconfig_all.txt")
    assert parse_ipconfig(text.replace("\r\n", "\n")) == WIN10_IPCONFIG


def test_read_config_returns_one_interface() -> None:
    assert read_config(golden("win10_show_config.txt"), "Ethernet0") == WIN10_SHOW["Ethernet0"]


def test_dhcp_dns_is_lease_state_not_configuration() -> None:
    # "DNS servers configured through DHCP: 10.0.0.2": applying what was read must not pin it statically
    cfg = parse_show_config(golden("win7_show_config.txt"))["Local Area Connection"]
    assert cfg.dns == ()
    assert apply_commands("Local Area Connection", cfg) == [
        'netsh interface ip set address name="Local Area Connection" source=dhcp']


STATIC = ("DHCP enabled:                         No",
          "IP Address:                           10.1.0.5",
          "Subnet Prefix:                        10.1.0.0/24 (mask 255.255.255.0)")


@pytest.mark.parametrize(("text", "name", "reason"), [
    pytest.param(golden("win10_show_config.txt"), "Ethernet2", "'Ethernet2': static with no IPv4 address", id="disconnected-static"),
    pytest.param(block(*STATIC, "IP Address:                           10.2.0.5",
                       "Subnet Prefix:                        10.2.0.0/16 (mask 255.255.0.0)"),
                 "Ethernet3", "2 IPv4 addresses", id="two-addresses"),
    pytest.param(block(*STATIC, "Default Gateway:                      10.1.0.1",
                       "Gateway Metric:                       1",
                       "Default Gateway:                      10.1.0.2",
                       "Gateway Metric:                       1"),
                 "Ethernet3", "2 default gateways", id="two-gateways"),
    pytest.param(block(*STATIC, "Default Gateway:                      10.9.0.1"), "Ethernet3",
                 "outside 10.1.0.0/24",
                 id="gateway-outside"),
])
def test_unrepresentable_interface_is_left_out_and_read_config_says_why(text: str, name: str, reason: str) -> None:
    assert name not in parse_show_config(text)
    with pytest.raises(GuestConfigError, match=re.escape(reason)):
        read_config(text, name)


def test_read_config_of_an_absent_interface_lists_those_found() -> None:
    with pytest.raises(GuestConfigError, match="'Wi-Fi' is not in the output .*'Ethernet0', 'Ethernet1'"):
        read_config(golden("win10_show_config.txt"), "Wi-Fi")


@pytest.mark.parametrize(("text", "message"), [
    pytest.param(block("DHCP enabled:                         No",
                       "IP Address:                           10.1.0.300",
                       "Subnet Prefix:                        10.1.0.0/24 (mask 255.255.255.0)"),
                 "line 4: IP Address: '10.1.0.300' is not an IPv4 address", id="bad-address"),
    pytest.param(block("DHCP enabled:                         No",
                       "IP Address:                           10.1.0.5",
                       "Subnet Prefix:                        10.1.0.0/24 (mask 255.255.0.0)"),
                 "line 5: Subnet Prefix: .* does not match 10.1.0.5/24", id="mask-mismatch"),
    pytest.param(block("DHCP enabled:                         No",
                       "IP Address:                           10.1.0.5"),
                 "1 IP Address lines but 0 Subnet Prefix", id="no-prefix"),
    pytest.param(block("DHCP enabled:                         Maybe"), "line 3: DHCP enabled: 'Maybe' is neither",
                 id="dhcp-maybe"),
    pytest.param(block("InterfaceMetric:                      10"), "line 2: .* no DHCP enabled line", id="no-dhcp-line"),
    pytest.param(block("DHCP enabled:                         Yes",
                       "Statically Configured DNS Servers:    8.8.8.8",
                       "                                      8.8.8"),
                 "line 5: Statically Configured DNS Servers: '8.8.8' is not", id="bad-dns-continuation"),
    pytest.param('\r\nKonfiguration für Schnittstelle "Ethernet"\r\n    DHCP aktiviert:     Ja\r\n',
                 "line 2: not English `netsh interface ip show config` output", id="german"),
    pytest.param(block("DHCP enabled:                         Yes") + block("DHCP enabled:                         No"),
                 "line 6: interface 'Ethernet3' appears twice", id="duplicate"),
    pytest.param("\r\nConfiguration for interface \"x\0\"\r\n", "NUL", id="nul"),
])
def test_parse_show_config_rejects_malformed_output_with_line(text: str, message: str) -> None:
    with pytest.raises(GuestConfigError, match=message):
        parse_show_config(text)


def test_parse_ipconfig_rejects_a_bad_address_with_line() -> None:
    text = golden("win7_ipconfig_all.txt").replace("10.0.0.132(Preferred)", "10.0.0.x(Preferred)")
    with pytest.raises(GuestConfigError, match=r"line 45: IPv4 Address: '10\.0\.0\.x' is not"):
        parse_ipconfig(text)


def test_parse_ipconfig_rejects_a_stray_line() -> None:
    text = golden("win7_ipconfig_all.txt").replace("Tunnel adapter isatap.localdomain:", "oops")
    with pytest.raises(GuestConfigError, match="not English `ipconfig /all` output: 'oops'"):
        parse_ipconfig(text)


# ---------------------------------------------------------------- writing

def test_read_command() -> None:
    assert read_command() == "netsh interface ip show config"


@pytest.mark.parametrize(("cfg", "expected"), [
    pytest.param(InterfaceConfig("dhcp"), [  # the DNS rule: DHCP naming no servers leaves the DNS setting
        'netsh interface ip set address name="Local Area Connection" source=dhcp',
    ], id="dhcp"),
    pytest.param(InterfaceConfig("dhcp", IPv4Interface("10.0.0.132/24"), a("10.0.0.2")), [
        'netsh interface ip set address name="Local Area Connection" source=dhcp',
    ], id="dhcp-lease-ignored"),
    pytest.param(InterfaceConfig("dhcp", dns=(a("8.8.8.8"),)), [
        'netsh interface ip set address name="Local Area Connection" source=dhcp',
        'netsh interface ip set dnsservers name="Local Area Connection" source=static addr=8.8.8.8 register=primary',
    ], id="dhcp-static-dns"),
    pytest.param(InterfaceConfig("static", IPv4Interface("10.0.0.101/24"), a("10.0.0.2"), TUTORIAL_DNS), [
        'netsh interface ip set address name="Local Area Connection" source=static addr=10.0.0.101 '
        'mask=255.255.255.0 gateway=10.0.0.2 gwmetric=1',
        'netsh interface ip set dnsservers name="Local Area Connection" source=static addr=202.96.128.86 '
        'register=primary',
        'netsh interface ip add dnsservers name="Local Area Connection" addr=202.96.128.166 index=2',
    ], id="static-tutorial"),
    pytest.param(InterfaceConfig("static", IPv4Interface("172.16.5.5/12"), None,
                                 (a("1.1.1.1"), a("1.0.0.1"), a("9.9.9.9"))), [
        'netsh interface ip set address name="Local Area Connection" source=static addr=172.16.5.5 '
        'mask=255.240.0.0 gateway=none',
        'netsh interface ip set dnsservers name="Local Area Connection" source=static addr=1.1.1.1 '
        'register=primary',
        'netsh interface ip add dnsservers name="Local Area Connection" addr=1.0.0.1 index=2',
        'netsh interface ip add dnsservers name="Local Area Connection" addr=9.9.9.9 index=3',
    ], id="static-no-gateway-three-dns"),
    pytest.param(InterfaceConfig("static", IPv4Interface("192.168.1.50/24")), [
        'netsh interface ip set address name="Local Area Connection" source=static addr=192.168.1.50 '
        'mask=255.255.255.0 gateway=none',
        'netsh interface ip set dnsservers name="Local Area Connection" source=dhcp',
    ], id="static-bare"),
])
def test_apply_commands_golden(cfg: InterfaceConfig, expected: list[str]) -> None:
    assert apply_commands("Local Area Connection", cfg) == expected


def test_restart_command_renews_the_lease() -> None:
    assert restart_command("Local Area Connection") == 'ipconfig /renew "Local Area Connection"'


def test_onboot_false_is_refused() -> None:
    with pytest.raises(GuestConfigError, match="onboot=False cannot be expressed on Windows"):
        apply_commands("Ethernet0", InterfaceConfig("dhcp", onboot=False))


@pytest.mark.parametrize("name", ["Ethernet0", "Local Area Connection 2", "Host-only (VMnet1)",
                                  "以太网 2", "LAN [lab] #1; a=b's", "x" * 256,
                                  "Local Area Connection* 2", "LAN-forbindelse* 11", "Wi-Fi?"])
def test_names_cmd_takes_literally_are_accepted(name: str) -> None:
    assert check_name(name) == name
    assert f'name="{name}"' in apply_commands(name, InterfaceConfig("dhcp"))[0]
    assert restart_command(name) == f'ipconfig /renew "{name}"'


HOSTILE = {
    "double-quote": 'Eth" & calc & "',
    "percent-expansion": "Eth%PATH%",
    "caret": "Eth^",
    "ampersand": "Eth & calc",
    "pipe": "Eth | calc",
    "redirect-out": "Eth > C:\\pwned",
    "redirect-in": "Eth < x",
    "delayed-expansion": "Eth!PATH!",
    "newline": "Eth\r\ncalc",
    "tab": "Eth\t0",
    "nul": "Eth\x00",
    "escape": "\x1b[31mEth",
    "c1-next-line": "Eth\x85",
    "line-separator": "Eth\u2028",
    "empty": "",
    "too-long": "x" * 257,
}


@pytest.mark.parametrize("name", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_names_are_refused(name: str) -> None:
    with pytest.raises(GuestConfigError):
        apply_commands(name, InterfaceConfig("dhcp"))
    with pytest.raises(GuestConfigError):
        apply_commands(name, InterfaceConfig("static", IPv4Interface("10.0.0.5/24")))
    with pytest.raises(GuestConfigError):
        restart_command(name)


# ---------------------------------------------------------------- round trip through a fake netsh

NAMES = st.text(st.characters(exclude_characters='"%^&|<>!', exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp")),
                min_size=1, max_size=40).filter(str.isprintable)
ADDRESSES = st.builds(IPv4Address, st.integers(0, 2**32 - 1))
DNS = st.lists(ADDRESSES, max_size=4).map(tuple)


@st.composite
def configs(draw: st.DrawFn) -> InterfaceConfig:
    if draw(st.booleans()):
        return InterfaceConfig("dhcp", dns=draw(DNS))
    address = IPv4Interface((draw(ADDRESSES), draw(st.integers(0, 32))))
    net = address.network
    gateway = draw(st.none() | st.integers(0, net.num_addresses - 1).map(lambda i: net.network_address + i))
    return InterfaceConfig("static", address, gateway, draw(DNS))


@given(NAMES, configs())
def test_commands_then_show_config_give_the_config_back(name: str, cfg: InterfaceConfig) -> None:
    text = fake_netsh(apply_commands(name, cfg))
    assert parse_show_config(text) == {name: cfg}
    assert read_config(text, name) == cfg
