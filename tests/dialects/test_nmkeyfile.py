"""NetworkManager keyfile dialect: GKeyFile syntax and escaping (checked against a real GLib when the system
Python has PyGObject), line editing, the config mapping, and goldens modelled on what NM writes."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.dialects.nmkeyfile import (
    Keyfile,
    apply_config,
    escape,
    escape_list,
    new_connection,
    parse,
    path_for,
    read_config,
    render,
    restart_command,
    unescape,
    unescape_list,
)
from labkit.errors import GuestConfigError
from labkit.netconfig import InterfaceConfig
from tests.conftest import require

GOLDEN = Path(__file__).parent / "golden" / "nmkeyfile"
INPUTS = sorted(p.name for p in GOLDEN.glob("*.nmconnection"))
# The golden inputs bound to an interface, and that interface.
BOUND = {"rhel9-dhcp.nmconnection": "ens192", "rhel9-static.nmconnection": "ens160",
         "rhel8-legacy-gateway.nmconnection": "eth0", "hand-edited.nmconnection": "eth1"}
TUTORIAL_DNS = (IPv4Address("202.96.128.86"), IPv4Address("202.96.128.166"))
TUTORIAL_CFG = InterfaceConfig("static", IPv4Interface("10.0.0.101/24"), IPv4Address("10.0.0.2"), TUTORIAL_DNS)


def golden(name: str) -> str:
    return (GOLDEN / name).read_text(encoding="utf-8")


def applied(text: str, interface: str, cfg: InterfaceConfig) -> str:
    doc = parse(text, "test.nmconnection")
    apply_config(doc, interface, cfg)
    return render(doc)


def read(text: str, interface: str) -> InterfaceConfig:
    return read_config(parse(text, "test.nmconnection"), interface)


# ---------------------------------------------------------------- a real GKeyFile, when there is one

GLIB_READER = r"""
import json, sys
import gi
gi.require_version("GLib", "2.0")
from gi.repository import GLib
data = sys.stdin.read()
k = GLib.KeyFile()
try:
    k.load_from_data(data, len(data.encode()), GLib.KeyFileFlags.NONE)
except GLib.Error as e:
    print(json.dumps({"error": e.message})); sys.exit()
out = {}
for g in k.get_groups()[0]:
    for key in k.get_keys(g)[0]:
        r = {}
        for name in ("get_string", "get_string_list"):
            try:
                r[name] = getattr(k, name)(g, key)
            except GLib.Error:
                r[name] = None
        out[g + "\0" + key] = r
print(json.dumps({"keys": out}))
"""


def glib_reads(text: str) -> dict:
    python = shutil.which("python3", path="/usr/bin")
    ok = python is not None and subprocess.run(
        [python, "-c", "import gi; gi.require_version('GLib', '2.0'); from gi.repository import GLib"],
        capture_output=True, check=False).returncode == 0
    require(ok, "the system python3 has no PyGObject (GLib) to check against")
    out = subprocess.run([python, "-c", GLIB_READER], input=text, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


# ---------------------------------------------------------------- escaping

TEXT = st.text(st.characters(exclude_characters="\0", exclude_categories=("Cs",)))


@given(TEXT)
def test_unescape_inverts_escape(value: str) -> None:
    assert unescape(escape(value)) == value


@given(st.lists(TEXT, max_size=5))
def test_unescape_list_inverts_escape_list(values: list[str]) -> None:
    assert unescape_list(escape_list(values)) == values


@given(TEXT)
def test_escaped_value_stays_on_one_line(value: str) -> None:
    assert "\n" not in escape(value) and "\r" not in escape(value)


@pytest.mark.parametrize(("value", "raw"), [
    pytest.param("10.0.0.1", "10.0.0.1", id="address-unchanged"),
    pytest.param(" \tx y ", "\\s\\tx y ", id="leading-blanks-only"),
    pytest.param("a\nb\rc\\", "a\\nb\\rc\\\\", id="newline-cr-backslash"),
    pytest.param("a;b", "a;b", id="semicolon-in-a-string"),
    pytest.param("x\ty", "x\ty", id="inner-tab-raw"),
])
def test_escape_writes_what_glib_writes(value: str, raw: str) -> None:
    assert escape(value) == raw


def test_escape_list_escapes_the_separator_and_ends_every_item() -> None:
    assert escape_list(["a;b", " c", ""]) == "a\\;b;\\sc;;"


@pytest.mark.parametrize(("raw", "message"), [
    pytest.param("a\\x", "invalid escape sequence \\\\x", id="unknown-escape"),
    pytest.param("a\\;b", "invalid escape sequence", id="separator-escape-outside-a-list"),
    pytest.param("a\\", "escape character at end", id="trailing-backslash"),
])
def test_unescape_refuses_what_glib_refuses(raw: str, message: str) -> None:
    with pytest.raises(GuestConfigError, match=message):
        unescape(raw)


@pytest.mark.parametrize(("raw", "items"), [
    pytest.param("8.8.8.8;8.8.4.4;", ["8.8.8.8", "8.8.4.4"], id="trailing-separator"),
    pytest.param("8.8.8.8;8.8.4.4", ["8.8.8.8", "8.8.4.4"], id="no-trailing-separator"),
    pytest.param("a;;b", ["a", "", "b"], id="empty-item"),
    pytest.param("a\\;b;", ["a;b"], id="escaped-separator"),
    pytest.param("", [], id="empty"),
])
def test_unescape_list(raw: str, items: list[str]) -> None:
    assert unescape_list(raw) == items


HOSTILE_VALUES = ["  lead", "trail  ", "a;b", "x\ny=1\n[ipv4]", "back\\slash\\", "\r\n", "é ✓", "#not", "[g]"]


def test_glib_reads_back_every_escaped_value_exactly() -> None:
    lines = [f"k{n}={escape(v)}\nl{n}={escape_list([v, v])}" for n, v in enumerate(HOSTILE_VALUES)]
    keys = glib_reads("[g]\n" + "\n".join(lines) + "\n")["keys"]
    for n, v in enumerate(HOSTILE_VALUES):
        assert keys[f"g\0k{n}"]["get_string"] == v
        assert keys[f"g\0l{n}"]["get_string_list"] == [v, v]


# ---------------------------------------------------------------- syntax: parse and render

@pytest.mark.parametrize("name", INPUTS)
def test_golden_input_renders_byte_identical(name: str) -> None:
    assert render(parse(golden(name))) == golden(name)


ODD = ("# c\r\n [a] \t\r\n  k  =  \\sv  \r\nk=again\r\n[b]\n x y = 1\nloc[de]=x\n\n[a]\nm=2")


def test_odd_file_renders_byte_identical() -> None:
    assert render(parse(ODD)) == ODD


@pytest.mark.parametrize("name", sorted(p.name for p in GOLDEN.iterdir()) + ["<odd>"])
def test_values_are_read_as_glib_reads_them(name: str) -> None:
    text = ODD if name == "<odd>" else golden(name)
    doc = parse(text)
    for where, expected in glib_reads(text)["keys"].items():
        group, key = where.split("\0")
        try:
            assert doc.get(group, key) == expected["get_string"]
        except GuestConfigError:
            assert expected["get_string"] is None
        assert doc.get_list(group, key) == expected["get_string_list"]


def test_odd_file_values() -> None:
    doc = parse(ODD)
    assert (doc.get("a", "k"), doc.get("a", "m"), doc.get("b", "x y"), doc.get("a", "nope")) == ("again", "2", "1",
                                                                                                  None)
    assert doc.raw("a", "k") == "again" and doc.keys("a") == ["k", "m"]


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("k=1\n[a]\n", ":1: k: the file does not start with a \\[group\\]", id="key-before-group"),
    pytest.param("[a]\nbad line\n", ":2: 'bad line' is not a key-value pair", id="garbage"),
    pytest.param("[a]\n=v\n", ":2: '=v' is not a key-value pair", id="empty-key"),
    pytest.param("[a]\n;c\n", ":2: ';c' is not", id="semicolon-comment"),
    pytest.param("[a]\n[b\n", ":2: '\\[b' is not", id="open-group"),
    pytest.param("[a]x\n", ":1: '\\[a\\]x' is not", id="text-after-group"),
    pytest.param("[]\n", ":1: invalid group name ''", id="empty-group"),
    pytest.param("[a\x01]\n", ":1: invalid group name", id="control-in-group"),
    pytest.param("[a]\nk]=v\n", ":2: invalid key name 'k\\]'", id="bracket-in-key"),
    pytest.param("[a]\nk[=v\n", ":2: invalid key name", id="open-locale"),
])
def test_parse_refuses_what_glib_refuses(text: str, message: str) -> None:
    assert "error" in glib_reads(text)
    with pytest.raises(GuestConfigError, match="^f.nmconnection" + message):
        parse(text, "f.nmconnection")


def test_set_replaces_only_the_value_and_last_key_wins() -> None:
    doc = parse("[a]\n  k =  1  \nk=2\r\n[b]\nk=3\n")
    doc.set("a", "k", "x y")
    assert render(doc) == "[a]\n  k =  1  \nk=x y\r\n[b]\nk=3\n"


def test_set_of_an_equal_value_keeps_its_spelling() -> None:
    doc = parse("[a]\nk=\\sx\nl=a;b\n")
    doc.set("a", "k", " x")
    doc.set_list("a", "l", ["a", "b"])
    assert render(doc) == "[a]\nk=\\sx\nl=a;b\n"


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("[ipv4]\nmethod=auto\n", "[ipv4]\ndns=1.1.1.1;\nmethod=auto\n", id="sorted-group-sorted-place"),
    pytest.param("[ipv4]\nmethod=auto\nmay-fail=false\n\n[ipv6]\n",
                 "[ipv4]\nmethod=auto\nmay-fail=false\ndns=1.1.1.1;\n\n[ipv6]\n", id="unsorted-group-after-last"),
    pytest.param("[ipv4]\n\n[ipv6]\n", "[ipv4]\ndns=1.1.1.1;\n\n[ipv6]\n", id="empty-group"),
    pytest.param("[x]\nk=1\n", "[x]\nk=1\n\n[ipv4]\ndns=1.1.1.1;\n", id="new-group"),
    pytest.param("[x]\nk=1", "[x]\nk=1\n\n[ipv4]\ndns=1.1.1.1;\n", id="new-group-no-final-newline"),
    pytest.param("[ipv4]\nmethod=auto", "[ipv4]\ndns=1.1.1.1;\nmethod=auto", id="no-final-newline"),
    pytest.param("[ipv4]\r\nmethod=auto\r\n", "[ipv4]\r\ndns=1.1.1.1;\r\nmethod=auto\r\n", id="crlf"),
    pytest.param("[ipv4]\nmethod=auto\n[x]\n[ipv4]\nz=1\n", "[ipv4]\nmethod=auto\n[x]\n[ipv4]\ndns=1.1.1.1;\nz=1\n",
                 id="repeated-group-last-one"),
])
def test_new_key_goes_where_nm_would_write_it(text: str, expected: str) -> None:
    doc = parse(text)
    doc.set_list("ipv4", "dns", ["1.1.1.1"])
    assert render(doc) == expected


def test_unset_removes_the_key_from_every_copy_of_the_group_only() -> None:
    doc = parse("[ipv4]\ngateway=1.1.1.1\n[ipv6]\ngateway=::1\n[ipv4]\ngateway=2.2.2.2\n")
    doc.unset("ipv4", "gateway")
    assert render(doc) == "[ipv4]\n[ipv6]\ngateway=::1\n[ipv4]\n"


@pytest.mark.parametrize(("key", "raw"), [
    pytest.param("k]", "v", id="bad-key"),
    pytest.param(" k", "v", id="blank-key"),
    pytest.param("k", "a\nb", id="newline-raw"),
])
def test_set_raw_refuses_what_would_change_the_file_structure(key: str, raw: str) -> None:
    with pytest.raises(GuestConfigError, match="not a key or value"):
        parse("[a]\n").set_raw("a", key, raw)


# ---------------------------------------------------------------- read_config

@pytest.mark.parametrize(("name", "cfg"), [
    pytest.param("rhel9-dhcp.nmconnection", InterfaceConfig("dhcp"), id="rhel9-dhcp"),
    pytest.param("rhel9-static.nmconnection",
                 InterfaceConfig("static", IPv4Interface("192.168.10.20/24"), IPv4Address("192.168.10.1"),
                                 (IPv4Address("192.168.10.1"), IPv4Address("1.1.1.1"))), id="rhel9-static"),
    pytest.param("rhel8-legacy-gateway.nmconnection",
                 InterfaceConfig("static", IPv4Interface("10.0.0.101/24"), IPv4Address("10.0.0.2"), TUTORIAL_DNS,
                                 onboot=False), id="legacy-gateway"),
    pytest.param("hand-edited.nmconnection",
                 InterfaceConfig("static", IPv4Interface("172.16.5.10/16"), IPv4Address("172.16.0.1"),
                                 (IPv4Address("9.9.9.9"), IPv4Address("149.112.112.112"))), id="hand-edited"),
])
def test_read_config_golden(name: str, cfg: InterfaceConfig) -> None:
    assert read(golden(name), BOUND[name]) == cfg


CONN = "[connection]\nid=x\ninterface-name=eth0\n"


@pytest.mark.parametrize(("text", "cfg"), [
    pytest.param(CONN, InterfaceConfig("dhcp"), id="no-ipv4-group-is-auto"),
    pytest.param(CONN + "autoconnect=0\n[ipv4]\nmethod=auto\ndns=8.8.8.8\n",
                 InterfaceConfig("dhcp", dns=(IPv4Address("8.8.8.8"),), onboot=False), id="dhcp-dns-autoconnect-0"),
    pytest.param(CONN + "[ipv4]\nmethod=manual\naddresses1=10.1.0.2/8\n",
                 InterfaceConfig("static", IPv4Interface("10.1.0.2/8")), id="older-addresses-spelling"),
    pytest.param(CONN + "[ipv4]\nmethod=manual\naddress=10.1.0.2/8,10.0.0.1\n",
                 InterfaceConfig("static", IPv4Interface("10.1.0.2/8"), IPv4Address("10.0.0.1")), id="unnumbered"),
    pytest.param(CONN + "[ipv4]\nmethod=manual\naddress3=10.3.0.2/16\naddress2=10.2.0.2/16\n",
                 InterfaceConfig("static", IPv4Interface("10.2.0.2/16")), id="lowest-index-is-primary"),
    pytest.param(CONN + "[ipv4]\nmethod=manual\naddress1=10.0.0.5/24,10.0.0.1\ngateway=10.0.0.1\n",
                 InterfaceConfig("static", IPv4Interface("10.0.0.5/24"), IPv4Address("10.0.0.1")),
                 id="both-gateway-forms-agreeing"),
])
def test_read_config(text: str, cfg: InterfaceConfig) -> None:
    assert read(text, "eth0") == cfg


@pytest.mark.parametrize(("old", "new", "message"), [
    ("address1=192.168.10.20/24", "address1=192.168.10.300/24", ":10: \\[ipv4\\] address1: '192.168.10.300' is not"),
    ("address1=192.168.10.20/24", "address1=192.168.10.20", ":10: \\[ipv4\\] address1: .* has no prefix length"),
    ("address1=192.168.10.20/24", "address1=192.168.10.20;192.168.10.1", ":10: .*has no prefix length"),
    ("address1=192.168.10.20/24", "address1=192.168.10.20/33", ":10: \\[ipv4\\] address1: '33' is not a prefix"),
    ("address1=192.168.10.20/24", "address1=192.168.10.20/24,1.2.3.4,100", ":10: .*is not A/P or A/P,GW"),
    ("address1=192.168.10.20/24", "address1=192.168.10.20/24,192.168.10.9",
     ":13: \\[ipv4\\] gateway: 192.168.10.1 disagrees"),
    ("address1=192.168.10.20/24", "address1=192.168.10.20/24\naddress2=10.0.0.2/8,10.0.0.1",
     ":11: \\[ipv4\\] address2: a gateway on a secondary"),
    ("address1=192.168.10.20/24\n", "", ":13: \\[ipv4\\] method: method=manual and no address1"),
    ("gateway=192.168.10.1", "gateway=10.9.0.1", ":13: \\[ipv4\\] gateway: .*outside"),
    ("gateway=192.168.10.1", "gateway=gw", ":13: \\[ipv4\\] gateway: 'gw' is not an IPv4"),
    ("dns=192.168.10.1;1.1.1.1;", "dns=192.168.10.1;1.1.1.1#one.one.one.one;", ":11: \\[ipv4\\] dns: '1.1.1.1#"),
    ("dns=192.168.10.1;1.1.1.1;", "dns=192.168.10.1; 1.1.1.1;", ":11: \\[ipv4\\] dns: ' 1.1.1.1'"),
    ("dns=192.168.10.1;1.1.1.1;", "dns=2001:db8::1;", ":11: \\[ipv4\\] dns: '2001:db8::1'"),
    ("method=manual", "method=shared", ":14: \\[ipv4\\] method: method=shared is not supported"),
    ("method=manual", "method=link-local", ":14: \\[ipv4\\] method: method=link-local is not supported"),
    ("method=manual", "method=disabled", ":14: \\[ipv4\\] method: method=disabled is not supported"),
    ("method=manual", "method=auto", ":10: \\[ipv4\\] address1: method=auto with static address1, gateway"),
    ("method=manual\n", "", ": \\[ipv4\\] has no method"),
    ("interface-name=ens160", "interface-name=ens160\nautoconnect=yes", ":6: \\[connection\\] autoconnect: 'yes'"),
    ("interface-name=ens160", "interface-name=ens161", ":5: \\[connection\\] interface-name: .*'ens161', not ens160"),
    ("interface-name=ens160\n", "", ": \\[connection\\] has no interface-name"),
    ("interface-name=ens160", "interface-name=ens\\x160", ":5: \\[connection\\] interface-name: invalid escape"),
    ("[connection]", "[conn]", ": no \\[connection\\] group"),
], ids=["bad-address", "no-prefix", "no-prefix-legacy", "prefix-33", "metric-in-address", "gateways-disagree",
        "gateway-on-secondary", "manual-without-address",
        "gateway-outside", "gateway-garbage", "dns-over-tls-name", "dns-blank", "dns-ipv6", "shared", "link-local",
        "disabled", "auto-with-static-addresses", "no-method", "autoconnect-yes", "other-interface",
        "no-interface-name", "bad-escape", "no-connection-group"])
def test_read_config_refuses_with_line(old: str, new: str, message: str) -> None:
    text = golden("rhel9-static.nmconnection")
    assert old in text
    with pytest.raises(GuestConfigError, match="^test.nmconnection" + message):
        read(text.replace(old, new), "ens160")


def test_manpage_profile_without_interface_name_is_refused() -> None:
    doc = parse(golden("manpage-main-eth0.nmconnection"))
    with pytest.raises(GuestConfigError, match="no interface-name"):
        read_config(doc, "eth0")
    with pytest.raises(GuestConfigError, match="no interface-name"):
        apply_config(doc, "eth0", InterfaceConfig("dhcp"))


# ---------------------------------------------------------------- apply_config

STATIC_150 = InterfaceConfig("static", IPv4Interface("10.0.0.150/24"), IPv4Address("10.0.0.1"),
                             (IPv4Address("10.0.0.1"),))


@pytest.mark.parametrize(("name", "cfg", "expected"), [
    pytest.param("rhel9-dhcp.nmconnection", TUTORIAL_CFG, "rhel9-dhcp.to-static.expected", id="rhel9-to-static"),
    pytest.param("rhel9-static.nmconnection", InterfaceConfig("dhcp"), "rhel9-static.to-dhcp.expected",
                 id="rhel9-to-dhcp"),
    pytest.param("rhel8-legacy-gateway.nmconnection", STATIC_150, "rhel8-legacy-gateway.to-static.expected",
                 id="legacy-gateway-form-kept"),
    pytest.param("rhel8-legacy-gateway.nmconnection", InterfaceConfig("dhcp", onboot=False),
                 "rhel8-legacy-gateway.to-dhcp.expected", id="legacy-to-dhcp"),
    pytest.param("hand-edited.nmconnection", InterfaceConfig("dhcp", dns=(IPv4Address("9.9.9.9"),)),
                 "hand-edited.to-dhcp.expected", id="hand-edited-to-dhcp-with-dns"),
])
def test_apply_config_golden(name: str, cfg: InterfaceConfig, expected: str) -> None:
    assert applied(golden(name), BOUND[name], cfg) == golden(expected)


@pytest.mark.parametrize("name", list(BOUND))
def test_applying_a_files_own_config_changes_nothing(name: str) -> None:
    text = golden(name)
    assert applied(text, BOUND[name], read(text, BOUND[name])) == text


def test_dhcp_without_dns_on_a_profile_without_ipv4_adds_nothing() -> None:
    assert applied(CONN, "eth0", InterfaceConfig("dhcp")) == CONN


def test_static_on_a_profile_without_ipv4_creates_the_group() -> None:
    assert applied(CONN, "eth0", STATIC_150) == CONN + (
        "\n[ipv4]\naddress1=10.0.0.150/24\ndns=10.0.0.1;\ngateway=10.0.0.1\nmethod=manual\n")


def test_static_without_gateway_or_dns_removes_them() -> None:
    cfg = InterfaceConfig("static", IPv4Interface("192.168.10.20/24"))
    text = golden("rhel9-static.nmconnection")
    assert applied(text, "ens160", cfg) == text.replace("dns=192.168.10.1;1.1.1.1;\n", "").replace(
        "gateway=192.168.10.1\n", "")


def test_legacy_form_without_gateway_drops_the_gateway_part() -> None:
    cfg = InterfaceConfig("static", IPv4Interface("10.0.0.101/24"), None, TUTORIAL_DNS, False)
    text = golden("rhel8-legacy-gateway.nmconnection")
    assert applied(text, "eth0", cfg) == text.replace("10.0.0.101/24,10.0.0.2", "10.0.0.101/24")


def test_legacy_form_is_kept_and_an_agreeing_gateway_key_stays() -> None:
    text = CONN + "[ipv4]\naddress1=10.0.0.5/24,10.0.0.1\ngateway=10.0.0.1\nmethod=manual\n"
    assert applied(text, "eth0", STATIC_150) == CONN + (
        "[ipv4]\naddress1=10.0.0.150/24,10.0.0.1\ndns=10.0.0.1;\ngateway=10.0.0.1\nmethod=manual\n")


def test_legacy_form_drops_a_gateway_key_that_would_disagree() -> None:
    text = CONN + "[ipv4]\naddress1=10.0.0.5/24,10.0.0.1\ngateway=10.0.0.1\nmethod=manual\n"
    cfg = InterfaceConfig("static", IPv4Interface("10.0.0.150/24"), IPv4Address("10.0.0.254"))
    assert applied(text, "eth0", cfg) == CONN + "[ipv4]\naddress1=10.0.0.150/24,10.0.0.254\nmethod=manual\n"


@pytest.mark.parametrize(("keys", "primary"), [
    pytest.param("address1=10.0.0.5/24\naddresses1=10.9.0.5/8\n", "10.0.0.5/24", id="address-before-addresses"),
    pytest.param("address2=10.9.0.5/8\naddress=10.0.0.5/24\n", "10.0.0.5/24", id="unnumbered-first"),
    pytest.param("addresses3=10.9.0.5/8\naddress0=10.0.0.5/24\n", "10.0.0.5/24", id="by-number"),
])
def test_address_keys_are_read_in_networkmanagers_order(keys: str, primary: str) -> None:
    """nm-keyfile.c sorts by number (none first), then `address` before `addresses`: never ambiguous."""
    assert read(CONN + "[ipv4]\n" + keys + "method=manual\n", "eth0").address == IPv4Interface(primary)


def test_static_keeps_secondary_addresses_and_dhcp_removes_them() -> None:
    text = CONN + "[ipv4]\naddress1=10.0.0.5/24\naddress2=10.9.0.5/24\nmethod=manual\n"
    assert applied(text, "eth0", STATIC_150) == CONN + (
        "[ipv4]\naddress1=10.0.0.150/24\naddress2=10.9.0.5/24\ndns=10.0.0.1;\ngateway=10.0.0.1\nmethod=manual\n")
    assert applied(text, "eth0", InterfaceConfig("dhcp")) == CONN + "[ipv4]\nmethod=auto\n"


def test_apply_never_touches_ipv6_or_other_groups() -> None:
    text = (CONN + "[ipv4]\naddress1=10.0.0.5/24\ngateway=10.0.0.1\nmethod=manual\n"
            "[ipv6]\naddress1=2001:db8::5/64\ngateway=2001:db8::1\ndns=2001:db8::53;\nmethod=manual\n")
    out = applied(text, "eth0", InterfaceConfig("dhcp"))
    assert out == text.replace("[ipv4]\naddress1=10.0.0.5/24\ngateway=10.0.0.1\nmethod=manual\n",
                               "[ipv4]\nmethod=auto\n")


def test_onboot_true_over_an_unreadable_autoconnect() -> None:
    text = CONN + "autoconnect=maybe\n"
    assert applied(text, "eth0", InterfaceConfig("dhcp")) == CONN + "autoconnect=true\n"


def test_apply_refuses_a_profile_for_another_interface() -> None:
    doc = parse(golden("rhel9-dhcp.nmconnection"))
    with pytest.raises(GuestConfigError, match="for 'ens192', not eth0"):
        apply_config(doc, "eth0", TUTORIAL_CFG)
    assert render(doc) == golden("rhel9-dhcp.nmconnection")


# ---------------------------------------------------------------- round trip

@st.composite
def configs(draw: st.DrawFn) -> InterfaceConfig:
    dns = tuple(draw(st.lists(st.integers(0, 2**32 - 1).map(IPv4Address), max_size=4)))
    onboot = draw(st.booleans())
    if draw(st.booleans()):
        return InterfaceConfig("dhcp", dns=dns, onboot=onboot)
    address = IPv4Interface((IPv4Address(draw(st.integers(0, 2**32 - 1))), draw(st.integers(0, 32))))
    gateway = None
    if draw(st.booleans()):
        net: IPv4Network = address.network
        gateway = IPv4Address(int(net.network_address) | (draw(st.integers(0, 2**32 - 1)) & int(net.hostmask)))
    return InterfaceConfig("static", address, gateway, dns, onboot)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(BOUND)), configs())
def test_apply_then_read_round_trips(name: str, cfg: InterfaceConfig) -> None:
    text, interface = golden(name), BOUND[name]
    once = applied(text, interface, cfg)
    expected = cfg
    if cfg.mode == "dhcp" and not cfg.dns:  # the DNS rule: dhcp naming none keeps the servers the file had
        expected = InterfaceConfig("dhcp", dns=read(text, interface).dns, onboot=cfg.onboot)
    assert read(once, interface) == expected
    assert applied(once, interface, cfg) == once


@settings(max_examples=100, deadline=None)
@given(configs())
def test_new_connection_round_trips(cfg: InterfaceConfig) -> None:
    assert read(new_connection("ens33", cfg, uuid.uuid4()), "ens33") == cfg


# ---------------------------------------------------------------- new_connection, paths, commands

def test_new_connection_golden() -> None:
    cfg = InterfaceConfig("static", IPv4Interface("10.0.0.101/24"), IPv4Address("10.0.0.2"), TUTORIAL_DNS, False)
    text = new_connection("eth0", cfg, "5AE16ECC-0149-487E-8DAB-51AFC75BD265")
    assert text == golden("new-eth0-static.expected")
    assert glib_reads(text)["keys"]["connection\0uuid"]["get_string"] == "5ae16ecc-0149-487e-8dab-51afc75bd265"


def test_new_connection_dhcp() -> None:
    assert new_connection("eth0", InterfaceConfig("dhcp"), uuid.UUID(int=1)) == (
        "[connection]\nid=eth0\nuuid=00000000-0000-0000-0000-000000000001\ntype=ethernet\ninterface-name=eth0\n"
        "\n[ethernet]\n\n[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=auto\n")


def test_new_connection_says_the_mode_is_the_callers_job() -> None:
    assert "0600" in (new_connection.__doc__ or "")


@pytest.mark.parametrize("bad", ["not-a-uuid", "5ae16ecc; rm -rf /", ""])
def test_new_connection_refuses_a_bad_uuid(bad: str) -> None:
    with pytest.raises(GuestConfigError, match="is not a UUID"):
        new_connection("eth0", InterfaceConfig("dhcp"), bad)


def test_path_and_restart_command() -> None:
    assert path_for("ens192") == "/etc/NetworkManager/system-connections/ens192.nmconnection"
    assert restart_command("ens192") == "nmcli connection reload && nmcli connection up ifname ens192"
    assert "ifname" in (restart_command.__doc__ or "")


HOSTILE_INTERFACES = {"empty": "", "space": "eth 0", "semicolon": "eth0;reboot", "subst": "$(reboot)",
                      "newline": "eth0\nx", "slash": "../eth0", "too-long": "a" * 16, "bracket": "eth[0]",
                      "equals": "eth=0", "non-ascii": "ethé"}


@pytest.mark.parametrize("interface", list(HOSTILE_INTERFACES.values()), ids=list(HOSTILE_INTERFACES))
def test_hostile_interface_names_are_refused_everywhere(interface: str) -> None:
    for call in (lambda: path_for(interface), lambda: restart_command(interface),
                 lambda: read_config(parse(CONN), interface),
                 lambda: apply_config(parse(CONN), interface, InterfaceConfig("dhcp")),
                 lambda: new_connection(interface, InterfaceConfig("dhcp"), uuid.UUID(int=1))):
        with pytest.raises(GuestConfigError, match="not an interface name"):
            call()


def test_keyfile_class_is_what_parse_returns() -> None:
    assert isinstance(parse(CONN), Keyfile)
