"""ifcfg dialect: shvar quoting (checked against a real bash), line editing, and the config mapping.

The tutorial's CentOS 6.5 file is the golden fixture: switching it to DHCP must change exactly one line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from labkit.dialects.ifcfg import (
    IfcfgFile,
    apply_config,
    quote,
    read_config,
    restart_command,
    unquote,
)
from labkit.errors import GuestConfigError
from labkit.netconfig import InterfaceConfig
from tests.conftest import TUTORIAL_IFCFG as TUTORIAL
from tests.conftest import require

TUTORIAL_DHCP = TUTORIAL.replace("BOOTPROTO=static\n", "BOOTPROTO=dhcp\n")
TUTORIAL_CFG = InterfaceConfig(
    "static", IPv4Interface("10.0.0.101/24"), IPv4Address("10.0.0.2"),
    (IPv4Address("202.96.128.86"), IPv4Address("202.96.128.166")), True)
DNS_ONLY = (IPv4Address("202.96.128.86"), IPv4Address("202.96.128.166"))


def parse(text: str) -> IfcfgFile:
    return IfcfgFile.parse(text, "ifcfg-eth0")


def applied(text: str, cfg: InterfaceConfig) -> str:
    f = parse(text)
    apply_config(f, cfg)
    return f.render()


# ---------------------------------------------------------------- quoting

# Any text but NUL, plus U+DC80..U+DCFF: the lone surrogates that stand for undecodable bytes
# (surrogateescape), which a guest's file may hold. Other lone surrogates are not text: see below.
TEXT = st.text(st.one_of(st.characters(exclude_characters="\0", exclude_categories=("Cs",)),
                         st.integers(0xDC80, 0xDCFF).map(chr))).filter(
    lambda s: s.encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape") == s)


@given(TEXT)
def test_unquote_inverts_quote(value: str) -> None:
    assert unquote(quote(value)) == value


@given(TEXT)
def test_quoted_value_stays_on_one_line_and_parses_back(value: str) -> None:
    raw = quote(value)
    assert "\n" not in raw and "\r" not in raw
    assert parse(f"X={raw}\n").get("X") == value


@pytest.mark.parametrize(("value", "raw"), [
    pytest.param("10.0.0.101", "10.0.0.101", id="address-bare"),
    pytest.param("00:0c:29:3b:4c:6d", "00:0c:29:3b:4c:6d", id="mac-bare"),
    pytest.param("", "", id="empty-bare-like-NM"),
    pytest.param("a b", '"a b"', id="space-double-quoted"),
    pytest.param("it's", '"it\'s"', id="single-quote-double-quoted"),
    pytest.param("$(reboot)", '"\\$(reboot)"', id="dollar-escaped"),
    pytest.param("a\nb", "$'a\\nb'", id="newline-ansi-c"),
    pytest.param("é\x85", "$'é\\302\\205'", id="c1-control-as-utf8-octal"),
])
def test_quote_chooses_the_plain_form(value: str, raw: str) -> None:
    assert quote(value) == raw


@pytest.mark.parametrize(("value", "message"), [
    pytest.param("a\0b", "NUL", id="nul"),
    pytest.param("a\ud800", "lone surrogate", id="lone-surrogate"),
    pytest.param("\udcc3\udca9", "valid UTF-8", id="escaped-bytes-that-decode"),
])
def test_quote_refuses_what_no_file_can_hold(value: str, message: str) -> None:
    with pytest.raises(GuestConfigError, match=message):
        quote(value)


HOSTILE = {
    "command-substitution": "$(touch pwned)",
    "backticks": "`touch pwned`",
    "double-quote": 'say "hi" $(touch pwned)',
    "single-quote-breakout": "'; touch pwned; '",
    "backslashes": "a\\b\\",
    "backslash-dollar": "\\$(touch pwned)",
    "newline-command": "x\ntouch pwned",
    "semicolon": "a; touch pwned",
    "spaces": "  lead and trail  ",
    "variables": "$HOME ${PATH} $0",
    "tab-cr": "a\tb\rc",
    "escape-sequence": "\x1b[31mred",
    "del": "\x7f",
    "utf8": "Grüße ✓",
    "c1-next-line": "\x85nel",
    "line-separator": "a\u2028b",
    "empty": "",
    "glob": "*",
    "tilde": "~root",
    "history": "!! !$",
    "hash": "#not a comment",
    "redirects": "a|b>pwned<c&d",
    "undecodable-byte": "\udcff",
    "ansi-c-breakout": "\n'; touch pwned; '",
}


@pytest.mark.parametrize("value", list(HOSTILE.values()), ids=list(HOSTILE))
def test_bash_reads_back_exactly_and_runs_nothing(value: str, tmp_path: Path) -> None:
    path = tmp_path / "ifcfg-eth0"
    path.write_bytes(f"X={quote(value)}\n".encode("utf-8", "surrogateescape"))
    assert bash_reads(path) == value.encode("utf-8", "surrogateescape")
    assert not (tmp_path / "pwned").exists()


def bash_reads(path: Path) -> bytes:
    bash = shutil.which("bash")
    require(bash is not None, "bash is not installed")
    out = subprocess.run([bash, "-c", 'source "$1"; printf %s "$X"', "bash", str(path)], cwd=path.parent,
                         capture_output=True, check=False,
                         env={"PATH": os.environ["PATH"], "LC_ALL": "C.UTF-8"})
    assert out.returncode == 0, out.stderr
    return out.stdout


@settings(max_examples=100, deadline=None)
@given(TEXT)
def test_bash_reads_back_any_quoted_value(value: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ifcfg-eth0"
        path.write_bytes(f"X={quote(value)}\n".encode("utf-8", "surrogateescape"))
        assert bash_reads(path) == value.encode("utf-8", "surrogateescape")


# Shell-significant pieces, without the bare `$` and leading `~` that NM takes literally and bash expands.
SHELL_BITS = st.sampled_from(list("ab \t'\"\\;#|&()<>{}*x07") + ["$'", "\\x4", "\\101", "\\n", "\\t", "\\'"])


@settings(max_examples=200, deadline=None)
@given(st.lists(SHELL_BITS, max_size=10).map("".join))
def test_whatever_unquote_accepts_bash_reads_the_same(raw: str) -> None:
    assume(not (raw.startswith('"') and "\\'" in raw))  # NM's compat reading of old "it\'s", tested below
    try:
        value = unquote(raw)
    except GuestConfigError:
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ifcfg-eth0"
        path.write_text(f"X={raw}\n", encoding="utf-8")
        assert bash_reads(path).decode("utf-8", "surrogateescape") == value


READS = {  # raw text after KEY= -> the value NM and bash both read
    "bare": ("eth0", "eth0"),
    "single-quoted": ("'a b'", "a b"),
    "double-quoted-escapes": ('"a\\"b\\\\c\\$d\\`e\\xf"', 'a"b\\c$d`e\\xf'),
    "concatenation": ("a'b c'\"d\"$'\\te'", "ab cd\te"),
    "ansi-c-octal-hex": ("$'\\101\\x42\\n'", "AB\n"),
    "ansi-c-utf8-bytes": ("$'\\303\\251'", "é"),
    "ansi-c-unicode": ("$'\\u00e9'", "é"),
    "ansi-c-unknown-escape": ("$'\\z'", "\\z"),
    "bare-backslash": ("a\\ b", "a b"),
    "trailing-comment": ("abc # comment", "abc"),
    "trailing-semicolon": ("abc ; # c", "abc"),
    "empty": ("", ""),
    "empty-then-comment": ("  # c", ""),
    "hash-inside-word": ("a#b", "a#b"),
    "empty-double-quotes": ('""', ""),
}


@pytest.mark.parametrize(("raw", "value"), list(READS.values()), ids=list(READS))
def test_unquote_reads_what_nm_reads(raw: str, value: str) -> None:
    assert unquote(raw) == value


@pytest.mark.parametrize(("raw", "value"), list(READS.values()), ids=list(READS))
def test_bash_agrees_with_unquote(raw: str, value: str, tmp_path: Path) -> None:
    path = tmp_path / "ifcfg-eth0"
    path.write_text(f"X={raw}\n", encoding="utf-8")
    assert bash_reads(path).decode() == value


def test_old_nm_escaping_is_read_as_nm_reads_it() -> None:
    # NM < 1.4 wrote "it\'s"; NM drops that backslash only for a value entirely in that old form.
    assert unquote('"it\\\'s"') == "it's"
    assert unquote('"it\\\'s" # c') == "it\\'s"


@pytest.mark.parametrize(("raw", "message"), [
    pytest.param("'abc", "unterminated single quote", id="single"),
    pytest.param('"abc', "unterminated double quote", id="double"),
    pytest.param("$'abc", "unterminated \\$'...' quote", id="ansi-c"),
    pytest.param("$'abc\\", "unterminated \\$'...' quote", id="ansi-c-backslash"),
    pytest.param('"abc\\', "unterminated double quote", id="double-backslash"),
    pytest.param("abc\\", "backslash at end of line", id="continuation"),
    pytest.param('"$HOME"', "expansion is not supported", id="dollar-in-double-quotes"),
    pytest.param('"`id`"', "expansion is not supported", id="backtick-in-double-quotes"),
    pytest.param("a b", "bash would run as a command", id="command-after-value"),
    pytest.param("a;;", "bash would run as a command", id="two-semicolons"),
    pytest.param("a|b", "metacharacter '\\|'", id="pipe"),
    pytest.param("a>b", "metacharacter '>'", id="redirect"),
    pytest.param("$'\\0'", "NUL", id="octal-nul"),
    pytest.param("$'\\U0x'", "NUL", id="unicode-nul"),
    pytest.param("$'\\U110000'", "not a Unicode character", id="unicode-too-big"),
    pytest.param("a\0b", "NUL", id="literal-nul"),
])
def test_unquote_rejects(raw: str, message: str) -> None:
    with pytest.raises(GuestConfigError, match=message):
        unquote(raw)


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("DEVICE=eth0\nNAME=\"oops\nIPADDR=10.0.0.1\n\"\n", "ifcfg-eth0:2: NAME: unterminated double",
                 id="open-quote-swallows-next-lines"),
    pytest.param("DEVICE=eth0\nNAME=U Can't\n", "ifcfg-eth0:2: NAME: ", id="unquoted-space"),
    pytest.param("A=1\necho 'x\nIPADDR=10.0.0.1\n'\n", "ifcfg-eth0:2: unterminated single",
                 id="other-line-open"),
    pytest.param("A=1\nB=2\\", "ifcfg-eth0:2: B: backslash", id="continuation-last-line"),
    pytest.param("A=1\nB=2 \\\nC=3\n", "ifcfg-eth0:2: B: text after", id="continuation-after-blank"),
])
def test_parse_error_names_file_line_and_key(text: str, message: str) -> None:
    with pytest.raises(GuestConfigError, match=message):
        parse(text)


# ---------------------------------------------------------------- lines: get, set, unset, render

ODD = "# comment\r\n  F2=b # note\n\r\nexport X=1\nNAME='a b'\"c\"\nwrong line\nLAST=$'x\\ty'"


def test_unedited_file_renders_byte_identical() -> None:
    assert parse(ODD).render() == ODD


def test_lines_that_are_no_assignment_are_ignored_like_nm() -> None:
    f = parse(ODD)
    assert f.keys() == ["F2", "NAME", "LAST"]
    assert (f.get("F2"), f.get("NAME"), f.get("LAST"), f.get("X")) == ("b", "a bc", "x\ty", None)


def test_last_assignment_wins_and_set_edits_it() -> None:
    f = parse("A=1\nB=x\nA=2\n")
    assert f.get("A") == "2"
    f.set("A", "3")
    assert f.render() == "A=1\nB=x\nA=3\n"


def test_set_replaces_only_the_value() -> None:
    f = parse("  IPADDR=10.0.0.1 # office\nX=1\n")
    f.set("IPADDR", "10.0.0.2")
    assert f.render() == "  IPADDR=10.0.0.2 # office\nX=1\n"


@pytest.mark.parametrize("text", ["BOOTPROTO=none\r\n", "# crlf\r\nIPADDR='10.0.0.5'\r\n", "A=1;\r\n"])
def test_an_assignment_ending_in_cr_is_refused(text: str) -> None:
    """bash reads `BOOTPROTO=none\\r` as the value 'none\\r' (ifup then runs the static path with an
    unknown protocol), NetworkManager as 'none': the readers disagree, so nothing is edited."""
    with pytest.raises(GuestConfigError, match=r"ifcfg-eth0:[12]: [A-Z]+: the line ends in a carriage return"):
        parse(text)


def test_set_quotes_the_new_value() -> None:
    f = parse("NAME=eth0;\n")
    f.set("NAME", "a b")
    assert f.render() == 'NAME="a b";\n'


def test_set_of_equal_value_keeps_odd_quoting() -> None:
    f = parse("A='x'  # c\nB=\"10.0.0.1\"\n")
    f.set("A", "x")
    f.set("B", "10.0.0.1")
    assert f.render() == "A='x'  # c\nB=\"10.0.0.1\"\n"


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("A=1\n", "A=1\nB=2\n", id="final-newline"),
    pytest.param("A=1", "A=1\nB=2\n", id="no-final-newline"),
    pytest.param("", "B=2\n", id="empty-file"),
    pytest.param("A=1\n\n", "A=1\n\nB=2\n", id="trailing-blank-line"),
])
def test_set_appends_an_absent_key(text: str, expected: str) -> None:
    f = parse(text)
    f.set("B", "2")
    assert f.render() == expected


def test_unset_removes_every_assignment() -> None:
    f = parse("A=1\n#c\nA=2\nB=3\n")
    f.unset("A")
    assert (f.render(), f.get("A"), f.keys()) == ("#c\nB=3\n", None, ["B"])


@pytest.mark.parametrize(("key", "value", "message"), [
    pytest.param("1BAD", "x", "not a valid ifcfg key", id="bad-key"),
    pytest.param("A B", "x", "not a valid ifcfg key", id="key-with-space"),
    pytest.param("NAME", "a\0b", "NAME: .*NUL", id="nul-value"),
])
def test_set_rejects(key: str, value: str, message: str) -> None:
    with pytest.raises(GuestConfigError, match=message):
        parse("A=1\n").set(key, value)


# ---------------------------------------------------------------- read_config

@pytest.mark.parametrize(("text", "cfg"), [
    pytest.param(TUTORIAL, TUTORIAL_CFG, id="tutorial-static"),
    pytest.param(TUTORIAL_DHCP, InterfaceConfig("dhcp", dns=DNS_ONLY), id="tutorial-dhcp"),
    pytest.param("BOOTPROTO=bootp\nONBOOT=no\n", InterfaceConfig("dhcp", onboot=False), id="bootp"),
    pytest.param("BOOTPROTO=none\nIPADDR=192.168.1.5\nPREFIX=16\n",
                 InterfaceConfig("static", IPv4Interface("192.168.1.5/16")), id="none-prefix"),
    pytest.param("IPADDR='192.168.1.5'\nPREFIX=\"24\"\nONBOOT=Yes\n",
                 InterfaceConfig("static", IPv4Interface("192.168.1.5/24")), id="no-bootproto-quoted"),
    pytest.param("BOOTPROTO=static\nIPADDR0=10.1.0.2\nPREFIX0=24\nIPADDR1=10.2.0.2\nPREFIX1=8\n"
                 "GATEWAY0=10.1.0.1\n",
                 InterfaceConfig("static", IPv4Interface("10.1.0.2/24"), IPv4Address("10.1.0.1")),
                 id="indexed"),
    pytest.param("BOOTPROTO=static\nIPADDR=10.1.0.2\nPREFIX=24\nNETMASK=255.0.0.0\n",
                 InterfaceConfig("static", IPv4Interface("10.1.0.2/24")), id="prefix-wins-over-netmask"),
    pytest.param("BOOTPROTO=dhcp\nDNS1=8.8.8.8\nDNS2=2001:db8::1\nDNS3=\n",
                 InterfaceConfig("dhcp", dns=(IPv4Address("8.8.8.8"),)), id="ipv6-and-empty-dns-skipped"),
])
def test_read_config(text: str, cfg: InterfaceConfig) -> None:
    assert read_config(parse(text)) == cfg


def test_read_config_ignores_static_keys_under_dhcp() -> None:
    text = TUTORIAL_DHCP.replace("IPADDR=10.0.0.101", "IPADDR=garbage")
    assert read_config(parse(text)).address is None


@pytest.mark.parametrize(("old", "new", "message"), [
    pytest.param("IPADDR=10.0.0.101", "IPADDR=10.0.0.300", "ifcfg-eth0:8: IPADDR: '10.0.0.300' is not an IPv4",
                 id="ipaddr"),
    pytest.param("NETMASK=255.255.255.0", "PREFIX=33", "ifcfg-eth0:9: PREFIX: '33' is not a prefix",
                 id="prefix"),
    pytest.param("NETMASK=255.255.255.0", "PREFIX=2 4", "ifcfg-eth0:9: PREFIX: text after", id="prefix-space"),
    pytest.param("NETMASK=255.255.255.0", "NETMASK=255.0.255.0", "ifcfg-eth0:9: NETMASK: .* contiguous",
                 id="netmask-holes"),
    pytest.param("NETMASK=255.255.255.0", "NETMASK=0.0.0.255", "ifcfg-eth0:9: NETMASK: .* contiguous",
                 id="hostmask"),
    pytest.param("NETMASK=255.255.255.0", "NETMASK=255.255.255", "ifcfg-eth0:9: NETMASK: .* not an IPv4",
                 id="netmask-short"),
    pytest.param("NETMASK=255.255.255.0\n", "", "ifcfg-eth0:8: IPADDR: neither PREFIX nor NETMASK",
                 id="no-classful-guess"),
    pytest.param("GATEWAY=10.0.0.2", "GATEWAY=foo", "ifcfg-eth0:10: GATEWAY: 'foo' is not an IPv4",
                 id="gateway"),
    pytest.param("GATEWAY=10.0.0.2", "GATEWAY=10.9.0.1", "ifcfg-eth0:10: GATEWAY: .*outside",
                 id="gateway-outside"),
    pytest.param("DNS2=202.96.128.166", "DNS2=202.96.128", "ifcfg-eth0:12: DNS2: ", id="dns"),
    pytest.param("ONBOOT=yes", "ONBOOT=maybe", "ifcfg-eth0:5: ONBOOT: 'maybe' is neither", id="onboot"),
    pytest.param("ONBOOT=yes", "ONBOOT=false", "ifcfg-eth0:5: ONBOOT: 'false' is neither", id="onboot-nm-only"),
    pytest.param("BOOTPROTO=static", "BOOTPROTO=DHCP",
                 "ifcfg-eth0:7: BOOTPROTO: 'DHCP' is dhcp to NetworkManager",
                 id="bootproto-case"),
    pytest.param("BOOTPROTO=static", "BOOTPROTO=autoip", "ifcfg-eth0:7: BOOTPROTO: 'autoip' is not supported",
                 id="bootproto"),
    pytest.param("IPADDR=10.0.0.101\n", "", "ifcfg-eth0:7: BOOTPROTO: .*no IPADDR", id="static-without-ipaddr"),
    pytest.param("GATEWAY=10.0.0.2", "GATEWAY='10.0.0.2", "ifcfg-eth0:10: GATEWAY: unterminated single",
                 id="unterminated-quote"),
])
def test_read_config_rejects_bad_values_with_line(old: str, new: str, message: str) -> None:
    text = TUTORIAL.replace(old, new)
    assert text != TUTORIAL
    with pytest.raises(GuestConfigError, match=message):
        read_config(parse(text))


# ---------------------------------------------------------------- apply_config

def test_tutorial_switch_to_dhcp_changes_only_bootproto() -> None:
    """The DNS rule (docs/format.md): a switch to DHCP naming no servers leaves DNS1/DNS2 as they are."""
    assert applied(TUTORIAL, InterfaceConfig("dhcp")) == TUTORIAL_DHCP
    assert applied(TUTORIAL, InterfaceConfig("dhcp", dns=DNS_ONLY)) == TUTORIAL_DHCP


def test_tutorial_switch_back_to_static_restores_the_file() -> None:
    assert applied(TUTORIAL_DHCP, TUTORIAL_CFG) == TUTORIAL


@pytest.mark.parametrize("text", [
    pytest.param(TUTORIAL, id="tutorial-static"),
    pytest.param(TUTORIAL_DHCP, id="tutorial-dhcp"),
    pytest.param("BOOTPROTO=bootp\nONBOOT=YES\nDNS1='8.8.8.8'\n", id="bootp-onboot-upper"),
    pytest.param("BOOTPROTO=none\nIPADDR0=10.1.0.2\nPREFIX0=24\nNETMASK0=255.255.255.0\nGATEWAY=10.1.0.1\n",
                 id="none"),
])
def test_applying_a_files_own_config_changes_nothing(text: str) -> None:
    assert applied(text, read_config(parse(text))) == text


@pytest.mark.parametrize("cfg", [
    pytest.param(InterfaceConfig("static", IPv4Interface("192.168.1.50/24")), id="static-bare"),
    pytest.param(InterfaceConfig("static", IPv4Interface("172.16.5.5/12"), IPv4Address("172.16.0.1"),
                                 (IPv4Address("1.1.1.1"),) * 3, False), id="static-full"),
    pytest.param(InterfaceConfig("dhcp", dns=(IPv4Address("9.9.9.9"),)), id="dhcp-dns"),
    pytest.param(InterfaceConfig("dhcp", onboot=False), id="dhcp-onboot-no"),
])
@pytest.mark.parametrize("text", [pytest.param(TUTORIAL, id="tutorial"), pytest.param(TUTORIAL_DHCP, id="dhcp"),
                                  pytest.param("", id="empty")])
def test_apply_then_read_round_trips(text: str, cfg: InterfaceConfig) -> None:
    f = parse(text)
    apply_config(f, cfg)
    expected = cfg
    if cfg.mode == "dhcp" and not cfg.dns:  # the DNS rule: dhcp naming none keeps the servers the file had
        expected = InterfaceConfig("dhcp", dns=read_config(parse(text)).dns if text else (), onboot=cfg.onboot)
    assert read_config(parse(f.render())) == expected


def test_static_keeps_netmask_style() -> None:
    cfg = InterfaceConfig("static", IPv4Interface("192.168.1.50/16"), IPv4Address("192.168.0.1"))
    expected = (TUTORIAL.replace("IPADDR=10.0.0.101", "IPADDR=192.168.1.50")
                .replace("NETMASK=255.255.255.0", "NETMASK=255.255.0.0")
                .replace("GATEWAY=10.0.0.2", "GATEWAY=192.168.0.1")
                .replace("DNS1=202.96.128.86\nDNS2=202.96.128.166\n", ""))
    assert applied(TUTORIAL, cfg) == expected


def test_static_keeps_prefix_style() -> None:
    text = "BOOTPROTO=none\nIPADDR=10.0.0.5\nPREFIX=24\n"
    cfg = InterfaceConfig("static", IPv4Interface("10.0.0.6/25"))
    assert applied(text, cfg) == "BOOTPROTO=none\nIPADDR=10.0.0.6\nPREFIX=25\n"


def test_static_from_dhcp_without_address_writes_prefix() -> None:
    cfg = InterfaceConfig("static", IPv4Interface("10.0.0.6/24"), IPv4Address("10.0.0.1"),
                          (IPv4Address("10.0.0.1"),))
    assert applied("DEVICE=eth0\nBOOTPROTO=dhcp\n", cfg) == (
        "DEVICE=eth0\nBOOTPROTO=static\nIPADDR=10.0.0.6\nPREFIX=24\nGATEWAY=10.0.0.1\nDNS1=10.0.0.1\n")


def test_static_with_both_styles_updates_both() -> None:
    text = "IPADDR=10.0.0.5\nPREFIX=24\nNETMASK=255.255.255.0\n"
    assert applied(text, InterfaceConfig("static", IPv4Interface("10.0.0.5/16"))) == (
        "IPADDR=10.0.0.5\nPREFIX=16\nNETMASK=255.255.0.0\n")  # no BOOTPROTO means static to both readers


def test_static_without_gateway_removes_it() -> None:
    cfg = InterfaceConfig("static", IPv4Interface("10.0.0.101/24"), None, DNS_ONLY)
    assert applied(TUTORIAL, cfg) == TUTORIAL.replace("GATEWAY=10.0.0.2\n", "")


def test_static_sets_dns_exactly() -> None:
    cfg = InterfaceConfig("static", IPv4Interface("10.0.0.101/24"), IPv4Address("10.0.0.2"),
                          (IPv4Address("8.8.4.4"),))
    assert applied(TUTORIAL, cfg) == TUTORIAL.replace(
        "DNS1=202.96.128.86\nDNS2=202.96.128.166\n", "DNS1=8.8.4.4\n")


def test_dhcp_with_dns_sets_them_and_drops_surplus() -> None:
    assert applied(TUTORIAL, InterfaceConfig("dhcp", dns=(IPv4Address("8.8.4.4"),))) == TUTORIAL_DHCP.replace(
        "DNS1=202.96.128.86\nDNS2=202.96.128.166\n", "DNS1=8.8.4.4\n")


def test_ipv6_dns_is_kept_after_the_ipv4_servers() -> None:
    text = "BOOTPROTO=dhcp\nDNS1=2001:db8::1\nDNS2=8.8.8.8\n"
    assert applied(text, InterfaceConfig("dhcp", dns=(IPv4Address("9.9.9.9"),))) == (
        "BOOTPROTO=dhcp\nDNS1=9.9.9.9\nDNS2=2001:db8::1\n")


def test_dhcp_in_upper_case_is_rewritten() -> None:
    assert applied("BOOTPROTO=DHCP\n", InterfaceConfig("dhcp")) == "BOOTPROTO=dhcp\n"


def test_onboot_no() -> None:
    cfg = InterfaceConfig("dhcp", onboot=False)
    assert applied(TUTORIAL, cfg) == TUTORIAL_DHCP.replace("ONBOOT=yes", "ONBOOT=no")


def test_apply_never_touches_keys_labkit_does_not_own() -> None:
    text = ("# keep\nHWADDR=\"00:0c:29:3b:4c:6d\"  # nic\nNAME=$'odd\\tname'\nPEERDNS=no\n"
            "BOOTPROTO=static\nIPADDR=1.2.3.4\nPREFIX=8\n")
    out = applied(text, InterfaceConfig("dhcp"))
    assert out == text.replace("BOOTPROTO=static", "BOOTPROTO=dhcp")


def test_restart_command_is_the_rhel6_network_service() -> None:
    assert restart_command("eth0") == "/etc/init.d/network restart"
