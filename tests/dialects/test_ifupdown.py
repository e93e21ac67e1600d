"""ifupdown dialect: /etc/network/interfaces read as ifupdown reads it, edited line by line.

Golden inputs are modelled on what the Debian installer writes (dhcp and static) and on a hand-kept
older file (netmask style, inet6 stanza, bridge with a continuation line); each `*.expected` is the
exact text apply_config must produce from its input.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.dialects.ifupdown import (
    apply_config,
    parse,
    path_for,
    read_config,
    render,
    restart_command,
)
from labkit.errors import GuestConfigError
from labkit.netconfig import InterfaceConfig

GOLDEN = Path(__file__).parent / "golden" / "ifupdown"
INPUTS = sorted(GOLDEN.glob("*.interfaces"))


def golden(name: str) -> str:
    return (GOLDEN / name).read_text(encoding="utf-8")


def applied(text: str, interface: str, cfg: InterfaceConfig) -> str:
    doc = parse(text)
    apply_config(doc, interface, cfg)
    return render(doc)


def read(text: str, interface: str = "eth0") -> InterfaceConfig:
    return read_config(parse(text), interface)


A = IPv4Address
TUTORIAL_CFG = InterfaceConfig("static", IPv4Interface("10.0.0.101/24"), A("10.0.0.2"),
                               (A("202.96.128.86"), A("202.96.128.166")))


# ---------------------------------------------------------------- parse / render

def test_golden_inputs_exist() -> None:
    assert len(INPUTS) >= 3


@pytest.mark.parametrize("path", INPUTS, ids=[p.stem for p in INPUTS])
def test_golden_input_renders_byte_identical(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert render(parse(text)) == text


@pytest.mark.parametrize("text", [
    pytest.param("iface eth0 inet dhcp", id="no-final-newline"),
    pytest.param("auto eth0\r\niface eth0 inet dhcp\r\n  mtu 1400\r\n", id="crlf"),
    pytest.param("", id="empty"),
    pytest.param("\n\n  \n", id="blank-lines"),
    pytest.param("iface eth0 inet static\n  address \\\n 10.0.0.1/24\n", id="continuation"),
    pytest.param("iface eth0 inet dhcp\n  # comment \\\n  mtu 1400\n", id="comment-ending-in-backslash"),
    pytest.param("iface eth0 inet dhcp\n  mtu 1400\\", id="backslash-at-eof"),
])
def test_odd_files_render_byte_identical(text: str) -> None:
    assert render(parse(text)) == text


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("address 10.0.0.1\n", r"interfaces:1: address: option outside", id="option-before-stanza"),
    pytest.param("iface eth0 inet static\nauto eth0\n  address 10.0.0.1/24\n",
                 r"interfaces:3: address: option outside", id="option-after-auto"),
    pytest.param("source /etc/network/interfaces.d/*\n  mtu 1500\n", r"interfaces:2: mtu: option outside",
                 id="option-after-source"),
    pytest.param("iface eth0 inet dhcp\n  mtu\n", r"interfaces:2: mtu: option without a value", id="empty-value"),
    pytest.param("iface eth0\n", r"interfaces:1: iface: an iface line needs", id="iface-without-family"),
    pytest.param("iface eth0 inet\n", r"interfaces:1: iface: an iface line needs", id="iface-without-method"),
    pytest.param("iface eth0 inet dhcp\n  a\0b x\n", "NUL", id="nul"),
])
def test_parse_refuses_what_ifupdown_refuses(text: str, message: str) -> None:
    with pytest.raises(GuestConfigError, match=message):
        parse(text)


def test_comment_inside_stanza_does_not_end_it() -> None:
    text = "iface eth0 inet static\n  # note\n\n  address 10.0.0.5/24\n"
    assert read(text) == InterfaceConfig("static", IPv4Interface("10.0.0.5/24"), onboot=False)


def test_continuation_joins_lines_like_ifupdown() -> None:
    text = "auto eth0\niface eth0 inet static\n  address \\\n10.0.0.5/24\n  dns-nameservers 1.1.1.1 \\\n 8.8.8.8\n"
    assert read(text) == InterfaceConfig("static", IPv4Interface("10.0.0.5/24"), dns=(A("1.1.1.1"), A("8.8.8.8")))


def test_comment_ending_in_backslash_does_not_swallow_the_next_line() -> None:
    text = "iface eth0 inet static\n  # old \\\n  address 10.0.0.5/24\n"
    assert read(text).address == IPv4Interface("10.0.0.5/24")


# ---------------------------------------------------------------- read_config

@pytest.mark.parametrize(("name", "interface", "cfg"), [
    pytest.param("debian-dhcp.interfaces", "eth0", InterfaceConfig("dhcp"), id="installer-dhcp-hotplug"),
    pytest.param("debian-static.interfaces", "eth0", TUTORIAL_CFG, id="installer-static"),
    pytest.param("legacy-netmask.interfaces", "eth0",
                 InterfaceConfig("static", IPv4Interface("192.168.1.10/24"), A("192.168.1.1"),
                                 (A("192.168.1.1"),)), id="netmask-ipv6-dns-skipped"),
    pytest.param("legacy-netmask.interfaces", "br0", InterfaceConfig("dhcp"), id="bridge-dhcp"),
])
def test_read_config_of_golden(name: str, interface: str, cfg: InterfaceConfig) -> None:
    assert read(golden(name), interface) == cfg


@pytest.mark.parametrize(("text", "cfg"), [
    pytest.param("iface eth0 inet static\n address 10.0.0.5\n netmask 16\n",
                 InterfaceConfig("static", IPv4Interface("10.0.0.5/16"), onboot=False), id="netmask-bits"),
    pytest.param("iface eth0 inet static\n address 10.0.0.5/24\n netmask 255.255.0.0\n",
                 InterfaceConfig("static", IPv4Interface("10.0.0.5/16"), onboot=False), id="netmask-wins"),
    pytest.param("allow-auto eth0\niface eth0 inet dhcp\n dns-nameservers 9.9.9.9\n dns-nameservers 1.1.1.1\n",
                 InterfaceConfig("dhcp", dns=(A("9.9.9.9"), A("1.1.1.1"))), id="allow-auto-repeated-dns"),
    pytest.param("auto lo eth0\niface eth0 inet dhcp\n address garbage\n",
                 InterfaceConfig("dhcp"), id="address-ignored-under-dhcp"),
    pytest.param("iface eth0 inet6 static\n address 2001:db8::1/64\niface eth0 inet dhcp\n",
                 InterfaceConfig("dhcp", onboot=False), id="inet6-stanza-ignored"),
])
def test_read_config(text: str, cfg: InterfaceConfig) -> None:
    assert read(text) == cfg


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("iface eth0 inet static\n address 10.0.0.300/24\n", r":2: address: '10.0.0.300' is not an IPv4",
                 id="bad-address"),
    pytest.param("iface eth0 inet static\n address 10.0.0.3/24 # lab\n", r":2: address: .* is not an IPv4",
                 id="no-trailing-comments"),
    pytest.param("iface eth0 inet static\n address 10.0.0.3/33\n", r":2: address: /33", id="prefix-33"),
    pytest.param("iface eth0 inet static\n address 10.0.0.3\n", r":2: address: no prefix and no netmask",
                 id="no-netmask"),
    pytest.param("iface eth0 inet static\n address 10.0.0.3\n netmask 255.0.255.0\n",
                 r":3: netmask: .* contiguous", id="netmask-holes"),
    pytest.param("iface eth0 inet static\n address 10.0.0.3\n netmask 40\n", r":3: netmask: '40'",
                 id="netmask-bits-too-big"),
    pytest.param("iface eth0 inet static\n address 10.0.0.3/24\n gateway 10.9.0.1\n", r":3: gateway: .*outside",
                 id="gateway-outside"),
    pytest.param("iface eth0 inet static\n address 10.0.0.3/24\n gateway foo\n", r":3: gateway: 'foo'",
                 id="bad-gateway"),
    pytest.param("iface eth0 inet static\n address 10.0.0.3/24\n address 10.0.0.4/24\n",
                 r":3: address: given again \(first at line 2\)", id="repeated-address"),
    pytest.param("iface eth0 inet static\n mtu 1500\n", r":1: iface: static stanza without an address",
                 id="static-without-address"),
    pytest.param("iface eth0 inet dhcp\n dns-nameservers 1.1.1\n", r":2: dns-nameservers: '1.1.1'", id="bad-dns"),
    pytest.param("iface eth0 inet dhcp\n dns-nameserver 1.1.1.1\n", r":2: dns-nameserver: .*plural",
                 id="singular-dns"),
    pytest.param("iface eth0 inet manual\n", r":1: iface: method 'manual' is neither", id="manual"),
    pytest.param("iface eth0 inet loopback\n", r"method 'loopback'", id="loopback"),
    pytest.param("iface eth0 inet dhcp\niface eth0 inet static\n address 1.2.3.4/8\n",
                 r"eth0 has 2 inet stanzas \(lines 1, 2\)", id="two-stanzas"),
    pytest.param("iface base inet static\n address 10.0.0.9/24\niface eth0 inet dhcp inherits base\n",
                 r":3: iface: inherits base, whose address \(line 2\)", id="inherits-an-address"),
    pytest.param("iface base inet static\n mtu 9000\niface eth0 inherits base\n", r":3: iface: the method comes from",
                 id="inherits-the-method"),
    pytest.param("iface eth0 inet static\n address 10.0.0.9/24\niface eth1 inet static inherits eth0\n"
                 " address 10.0.1.9/24\n", r"eth1 \(line 3\) inherits eth0's options", id="inherited-by-another"),
    pytest.param("mapping eth*\n script /usr/local/sbin/map\niface eth0 inet dhcp\n", r":1: mapping: eth0 is mapped",
                 id="mapping"),
    pytest.param("iface eth1 inet dhcp\n", r"no 'iface eth0 inet' stanza$", id="absent"),
])
def test_read_config_refuses_with_line(text: str, message: str) -> None:
    with pytest.raises(GuestConfigError, match=message):
        read(text)


def test_absent_interface_names_the_source_lines() -> None:
    text = "source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\nsource-directory extra\n"
    with pytest.raises(GuestConfigError, match=r"/etc/network/interfaces: no 'iface eth0 inet' stanza; it may be "
                       r"in a file included by line 1 \(source /etc/network/interfaces.d/\*\), "
                       r"line 4 \(source-directory extra\)"):
        read(text)


# ---------------------------------------------------------------- apply_config: goldens

@pytest.mark.parametrize(("name", "interface", "cfg", "expected"), [
    pytest.param("debian-dhcp.interfaces", "eth0", TUTORIAL_CFG, "debian-dhcp.to-static.expected",
                 id="installer-dhcp-to-static"),
    pytest.param("debian-static.interfaces", "eth0", InterfaceConfig("dhcp"), "debian-static.to-dhcp.expected",
                 id="installer-static-to-dhcp"),
    pytest.param("legacy-netmask.interfaces", "eth0", InterfaceConfig("dhcp", dns=(A("9.9.9.9"),), onboot=False),
                 "legacy-netmask.to-dhcp.expected", id="netmask-to-dhcp-not-onboot"),
    pytest.param("legacy-netmask.interfaces", "eth0",
                 InterfaceConfig("static", IPv4Interface("10.20.30.40/16"), A("10.20.0.1")),
                 "legacy-netmask.to-static.expected", id="netmask-style-kept-broadcast-recomputed"),
    pytest.param("legacy-netmask.interfaces", "eth1",
                 InterfaceConfig("static", IPv4Interface("172.16.0.5/24")),
                 "legacy-netmask.eth1-static.expected", id="manual-to-static"),
    pytest.param("debian-static.interfaces", "eth1",
                 InterfaceConfig("static", IPv4Interface("192.168.56.10/24")),
                 "debian-static.new-eth1.expected", id="new-stanza-appended"),
])
def test_apply_config_golden(name: str, interface: str, cfg: InterfaceConfig, expected: str) -> None:
    assert applied(golden(name), interface, cfg) == golden(expected)


@pytest.mark.parametrize(("name", "interface"), [
    pytest.param("debian-dhcp.interfaces", "eth0", id="installer-dhcp"),
    pytest.param("debian-static.interfaces", "eth0", id="installer-static"),
    pytest.param("legacy-netmask.interfaces", "eth0", id="netmask"),
    pytest.param("legacy-netmask.interfaces", "br0", id="bridge"),
])
def test_applying_a_files_own_config_changes_nothing(name: str, interface: str) -> None:
    text = golden(name)
    assert applied(text, interface, read(text, interface)) == text


def test_switch_to_dhcp_and_back_restores_the_installer_file_but_its_dns() -> None:
    """The DNS rule (docs/format.md): a switch to DHCP naming no servers leaves the file's as they are."""
    text = golden("debian-dhcp.interfaces")
    back = applied(applied(text, "eth0", TUTORIAL_CFG), "eth0", InterfaceConfig("dhcp"))
    assert back == text.replace("iface eth0 inet dhcp\n", "iface eth0 inet dhcp\n\tdns-nameservers 202.96.128.86 "
                                "202.96.128.166\n")
    assert read(back) == InterfaceConfig("dhcp", dns=TUTORIAL_CFG.dns)


# ---------------------------------------------------------------- apply_config: behaviours

def test_other_interfaces_and_inet6_untouched() -> None:
    text = golden("legacy-netmask.interfaces")
    out = applied(text, "br0", InterfaceConfig("static", IPv4Interface("10.1.1.1/24")))
    start = text.index("allow-hotplug br0")
    assert out[:start] == text[:start]
    assert out[start:] == ("allow-hotplug br0\niface br0 inet static\n    address 10.1.1.1/24\n"
                           "    bridge_ports eth2 \\\n        eth3\n    bridge_stp off\n")


def test_static_with_netmask_bits_keeps_bits() -> None:
    text = "iface eth0 inet static\n  address 10.0.0.5\n  netmask 24\n"
    assert applied(text, "eth0", InterfaceConfig("static", IPv4Interface("10.0.0.6/25"), onboot=False)) == (
        "iface eth0 inet static\n  address 10.0.0.6\n  netmask 25\n")


def test_static_with_netmask_keeps_a_prefix_on_address_that_changes_nothing() -> None:
    """ifupdown's netmask wins over a /P on the address: a no-op apply leaves both as they are."""
    text = "iface eth0 inet static\n  address 10.0.0.5/8\n  netmask 255.255.255.0\n"
    assert read(text) == InterfaceConfig("static", IPv4Interface("10.0.0.5/24"), onboot=False)
    assert applied(text, "eth0", InterfaceConfig("static", IPv4Interface("10.0.0.5/24"), onboot=False)) == text


def test_static_with_netmask_drops_a_stale_prefix_when_the_address_moves() -> None:
    text = "iface eth0 inet static\n  address 10.0.0.5/8\n  netmask 255.255.255.0\n"
    assert applied(text, "eth0", InterfaceConfig("static", IPv4Interface("10.0.0.6/24"), onboot=False)) == (
        "iface eth0 inet static\n  address 10.0.0.6\n  netmask 255.255.255.0\n")


def test_static_without_gateway_or_dns_removes_them() -> None:
    text = golden("debian-static.interfaces")
    cfg = InterfaceConfig("static", IPv4Interface("10.0.0.101/24"))
    assert applied(text, "eth0", cfg) == (text.replace("\tgateway 10.0.0.2\n", "")
                                          .replace("\tdns-nameservers 202.96.128.86 202.96.128.166\n", ""))


def test_dhcp_with_dns_writes_them() -> None:
    text = "auto eth0\niface eth0 inet static\n  address 10.0.0.5/24\n  mtu 1400\n"
    cfg = InterfaceConfig("dhcp", dns=(A("1.1.1.1"), A("8.8.8.8")))
    assert applied(text, "eth0", cfg) == "auto eth0\niface eth0 inet dhcp\n  dns-nameservers 1.1.1.1 8.8.8.8\n  mtu 1400\n"


def test_repeated_dns_lines_are_merged_into_the_first() -> None:
    text = "auto eth0\niface eth0 inet dhcp\n dns-nameservers 9.9.9.9\n mtu 9000\n dns-nameservers 1.1.1.1\n"
    assert applied(text, "eth0", InterfaceConfig("dhcp", dns=(A("8.8.8.8"),))) == (
        "auto eth0\niface eth0 inet dhcp\n dns-nameservers 8.8.8.8\n mtu 9000\n")


def test_bad_dns_line_is_replaced_by_apply() -> None:
    text = "auto eth0\niface eth0 inet dhcp\n dns-nameservers oops\n"
    assert applied(text, "eth0", InterfaceConfig("dhcp", dns=(A("9.9.9.9"),))) == (
        "auto eth0\niface eth0 inet dhcp\n dns-nameservers 9.9.9.9\n")
    assert applied(text, "eth0", InterfaceConfig("dhcp")) == text  # named no servers: the line is not labkit's


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("auto lo eth0 eth1\niface eth0 inet dhcp\n", "auto lo eth1\niface eth0 inet dhcp\n",
                 id="removed-from-shared-line"),
    pytest.param("auto eth0\nallow-hotplug eth0\niface eth0 inet dhcp\n", "iface eth0 inet dhcp\n",
                 id="every-onboot-line-removed"),
    pytest.param("allow-ovs eth0\niface eth0 inet dhcp\n", "allow-ovs eth0\niface eth0 inet dhcp\n",
                 id="other-allow-class-kept"),
])
def test_onboot_false(text: str, expected: str) -> None:
    assert applied(text, "eth0", InterfaceConfig("dhcp", onboot=False)) == expected


def test_onboot_true_adds_auto_above_the_stanza() -> None:
    text = "# primary\niface eth0 inet dhcp\n"
    assert applied(text, "eth0", InterfaceConfig("dhcp")) == "# primary\nauto eth0\niface eth0 inet dhcp\n"


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("", "auto eth0\niface eth0 inet dhcp\n", id="empty"),
    pytest.param("auto lo\niface lo inet loopback", "auto lo\niface lo inet loopback\n\nauto eth0\n"
                 "iface eth0 inet dhcp\n", id="no-final-newline"),
    pytest.param("auto lo\n\n", "auto lo\n\nauto eth0\niface eth0 inet dhcp\n", id="trailing-blank"),
])
def test_absent_interface_gets_a_stanza(text: str, expected: str) -> None:
    assert applied(text, "eth0", InterfaceConfig("dhcp")) == expected


def test_crlf_lines_stay_crlf() -> None:
    text = "auto eth0\r\niface eth0 inet dhcp\r\n  mtu 1400\r\n"
    cfg = InterfaceConfig("static", IPv4Interface("10.0.0.5/24"))
    assert applied(text, "eth0", cfg) == "auto eth0\r\niface eth0 inet static\r\n  address 10.0.0.5/24\r\n  mtu 1400\r\n"


@pytest.mark.parametrize("text", [
    pytest.param("iface eth0 inet dhcp\niface eth0 inet static\n address 1.2.3.4/8\n", id="two-stanzas"),
    pytest.param("iface b inet static\n gateway 10.0.0.1\niface eth0 inet dhcp inherits b\n", id="inherits"),
    pytest.param("iface eth0 inet loopback\n", id="loopback"),
    pytest.param("iface eth0 inet ppp\n provider dsl\n", id="ppp"),
    pytest.param("mapping eth0\n script x\niface eth0 inet dhcp\n", id="mapping"),
])
def test_apply_refuses_what_it_cannot_edit(text: str) -> None:
    with pytest.raises(GuestConfigError):
        applied(text, "eth0", InterfaceConfig("dhcp"))


# ---------------------------------------------------------------- names, path, restart

HOSTILE_NAMES = ["", "eth0; reboot", "eth0\nauto x", "a" * 16, "-a", "eth 0", "$(id)", "eth0`", "é", "eth0/1"]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=[repr(n) for n in HOSTILE_NAMES])
def test_hostile_interface_names_refused(name: str) -> None:
    for call in (lambda: restart_command(name), lambda: path_for(name),
                 lambda: read_config(parse("iface eth0 inet dhcp\n"), name),
                 lambda: apply_config(parse(""), name, InterfaceConfig("dhcp"))):
        with pytest.raises(GuestConfigError, match="not an interface name"):
            call()


def test_path_and_restart_command() -> None:
    assert path_for("eth0") == "/etc/network/interfaces"
    assert restart_command("ens33") == ("ifdown ens33; dhclient -4 -r -pf /run/dhclient.ens33.pid ens33 2>/dev/null; "
                                        "ip -4 addr flush dev ens33; ifup ens33")
    cmd = restart_command("eth0.100")
    assert cmd.startswith("ifdown eth0.100;") and cmd.endswith("; ifup eth0.100")


# ---------------------------------------------------------------- round trip

@st.composite
def configs(draw: st.DrawFn) -> InterfaceConfig:
    onboot = draw(st.booleans())
    dns = tuple(draw(st.lists(st.builds(A, st.integers(0, 2**32 - 1)), max_size=3)))
    if draw(st.booleans()):
        return InterfaceConfig("dhcp", dns=dns, onboot=onboot)
    address = IPv4Interface((A(draw(st.integers(0, 2**32 - 1))), draw(st.integers(0, 32))))
    net = address.network  # never list hosts(): a /0 has four billion
    first, last = (net[1], net[-2]) if net.prefixlen < 31 else (net[0], net[-1])
    gateway = draw(st.sampled_from([None, first, last]))
    return InterfaceConfig("static", address, gateway, dns, onboot)


BASES = [p.name for p in INPUTS] + [""]


@settings(max_examples=150, deadline=None)
@given(cfg=configs(), base=st.sampled_from(BASES), interface=st.sampled_from(["eth0", "eth1", "br0", "ens33"]),
       second=configs())
def test_apply_then_read_round_trips(cfg: InterfaceConfig, base: str, interface: str,
                                     second: InterfaceConfig) -> None:
    doc = parse(golden(base) if base else "")
    apply_config(doc, interface, second)  # any earlier state, then the one under test
    before = read_config(parse(render(doc)), interface)
    apply_config(doc, interface, cfg)
    text = render(doc)
    expected = cfg
    if cfg.mode == "dhcp" and not cfg.dns:  # the DNS rule: dhcp naming none keeps what was there
        expected = InterfaceConfig("dhcp", dns=before.dns, onboot=cfg.onboot)
    assert read_config(parse(text), interface) == expected
    doc2 = parse(text)
    apply_config(doc2, interface, cfg)
    assert render(doc2) == text  # applying again changes nothing
