"""Ping probes: command builders, parsers on real and hand-written output, and simulator round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.matrix.ping import (
    PingParseError,
    fping_command,
    parse_fping,
    parse_ping,
    ping_command,
)
from labkit.backends.sim.ping import render_fping, render_ping, render_ping_error
from tests.conftest import shared_dir, shared_files

DATA = Path(__file__).parent / "data"

# --- real outputs (jc's test corpus, MIT) -------------------------------------------------------

CORPUS = "corpora/ping-outputs"
# Only outputs with a non-streaming sibling .json (x.out -> x.json) carry jc's expected parse.
CORPUS_FILES = [p for p in shared_files(CORPUS, "*/*.out") if p.with_suffix(".json").is_file()]

# Which parse_ping family reads each directory. iputils (CentOS, Fedora, Ubuntu) is "linux".
# Alpine is busybox. FreeBSD and macOS are not labkit guest families, but their ping prints the
# same BSD-derived summary as busybox ("N packets received", "round-trip min/avg/..."), and jc
# reads both the same way, so they run as "busybox": every file in the corpus passes, none is
# excluded. A new directory must be mapped here explicitly rather than silently skipped.
CORPUS_FAMILY = {
    "centos-7.7": "linux",
    "fedora32": "linux",
    "ubuntu-18.04": "linux",
    "alpine-linux-3.13": "busybox",
    "freebsd12": "busybox",
    "osx-10.14.6": "busybox",
}


def test_corpus_present():
    assert any(shared_dir(CORPUS).glob("*/*.out"))


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[f"{p.parent.name}/{p.name}" for p in CORPUS_FILES])
def test_corpus_output_parses_as_jc_expects(path: Path):
    family = CORPUS_FAMILY.get(path.parent.name)
    assert family is not None, f"map corpus directory {path.parent.name!r} to an OS family in CORPUS_FAMILY"
    expected = json.loads(path.with_suffix(".json").read_text())
    text = path.read_text()
    if expected.get("packets_transmitted") is None:
        with pytest.raises(PingParseError):
            parse_ping(text, family)
        return
    stats = parse_ping(text, family)
    assert stats.transmitted == expected["packets_transmitted"]
    assert stats.received == expected["packets_received"]
    assert stats.loss_pct == expected["packet_loss_percent"]
    assert stats.rtt_avg_ms == expected.get("round_trip_ms_avg")
    assert stats.duplicates == (expected.get("duplicates") or 0)
    assert stats.reachable == (expected["packets_received"] > 0)


# --- hand-written Linux / busybox cases ---------------------------------------------------------

IPUTILS_UNREACHABLE = """PING 10.20.0.5 (10.20.0.5) 56(84) bytes of data.
From 10.0.0.1 icmp_seq=1 Destination Host Unreachable
From 10.0.0.1 icmp_seq=2 Destination Host Unreachable
From 10.0.0.1 icmp_seq=3 Destination Host Unreachable

--- 10.20.0.5 ping statistics ---
4 packets transmitted, 0 received, +3 errors, 100% packet loss, time 3055ms
pipe 3
"""


def test_iputils_unreachable_from_gateway_is_not_a_reply():
    stats = parse_ping(IPUTILS_UNREACHABLE, "linux")
    assert (stats.transmitted, stats.received, stats.loss_pct, stats.rtt_avg_ms) == (4, 0, 100.0, None)
    assert not stats.reachable


@pytest.mark.parametrize(
    "family, text, fragment",
    [
        ("linux", "ping: connect: Network is unreachable\n", "Network is unreachable"),
        ("busybox", "PING 10.0.0.2 (10.0.0.2): 56 data bytes\nping: sendto: Network is unreachable\n",
         "sendto: Network is unreachable"),
        ("linux", "", "no output"),
        ("linux", "PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.\n"
                  "64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.5 ms\n", "PING 10.0.0.2"),
        ("linux", (DATA / "windows-success.txt").read_text(), "Pinging 192.168.10.20"),
    ],
    ids=["connect-unreachable", "busybox-sendto", "empty", "killed-before-summary", "windows-text-as-linux"],
)
def test_output_without_statistics_is_a_probe_error(family, text, fragment):
    with pytest.raises(PingParseError, match="no ping statistics") as info:
        parse_ping(text, family)
    assert fragment in str(info.value)


# --- Windows (hand-written, after Microsoft's documented ping.exe output) -----------------------

# fixture -> (transmitted, received, loss_pct, rtt_avg_ms). "time<1ms" counts as 0 ms.
WINDOWS_FIXTURES = {
    "windows-success.txt": (4, 4, 0.0, 0.25),
    "windows-timeout.txt": (4, 0, 100.0, None),
    # Windows says "Received = 4, Lost = 0": every reply is the gateway's ICMP error.
    "windows-unreachable.txt": (4, 0, 100.0, None),
    # Windows says "Received = 3": one of those is the gateway's error, not the target's reply.
    "windows-mixed.txt": (4, 2, 50.0, 3.0),
    "windows-ipv6-crlf.txt": (3, 2, 100 / 3, 2.0),
}


@pytest.mark.parametrize("name", list(WINDOWS_FIXTURES), ids=list(WINDOWS_FIXTURES))
def test_windows_fixture(name):
    stats = parse_ping((DATA / name).read_bytes().decode(), "windows")  # bytes: keep CRLF as ping.exe wrote it
    transmitted, received, loss, avg = WINDOWS_FIXTURES[name]
    assert (stats.transmitted, stats.received) == (transmitted, received)
    assert stats.loss_pct == pytest.approx(loss, abs=0.001)
    assert stats.rtt_avg_ms == (None if avg is None else pytest.approx(avg, abs=0.001))
    assert stats.reachable == (received > 0)


@pytest.mark.parametrize(
    "name, fragment",
    [("windows-general-failure.txt", "General failure"), ("windows-unknown-host.txt", "could not find host")],
    ids=["general-failure", "unknown-host"],
)
def test_windows_probe_errors(name, fragment):
    with pytest.raises(PingParseError) as info:
        parse_ping((DATA / name).read_text(), "windows")
    assert fragment in str(info.value)


# --- simulator round trips ----------------------------------------------------------------------

FAMILIES = ["linux", "busybox", "windows"]
PATTERNS = {
    "all-replies": [0.5, 1.25, 12.5],
    "none": [None, None, None],
    "partial": [0.25, None, 3.0, None],
    "first-lost": [None, 0.8],
    "slow-single": [150.0],
}
ADDRESSES = {"v4": "10.0.0.2", "v6": "2001:db8::2"}


def expected_loss(family: str, sent: int, received: int) -> float:
    if family == "busybox":
        return (sent - received) * 100 // sent  # busybox prints whole percent, rounded down
    return (sent - received) * 100 / sent  # iputils prints %g; Windows loss is recomputed by the parser


def expected_avg(family: str, replies: list[float]) -> float | None:
    if not replies:
        return None
    if family == "windows":
        replies = [float(int(r)) for r in replies]  # ping.exe prints whole milliseconds
    return sum(replies) / len(replies)


@pytest.mark.parametrize("addr", list(ADDRESSES), ids=list(ADDRESSES))
@pytest.mark.parametrize("gateway", [None, "10.0.0.1"], ids=["silent", "unreachable-from"])
@pytest.mark.parametrize("pattern", list(PATTERNS), ids=list(PATTERNS))
@pytest.mark.parametrize("family", FAMILIES, ids=FAMILIES)
def test_render_then_parse_round_trip(family, pattern, gateway, addr):
    rtts = PATTERNS[pattern]
    address = ADDRESSES[addr]
    status, stdout, stderr = render_ping(family, address, rtts, unreachable_from=gateway)
    stats = parse_ping(stdout, family)
    replies = [r for r in rtts if r is not None]
    assert (stats.transmitted, stats.received) == (len(rtts), len(replies))
    assert stats.loss_pct == pytest.approx(expected_loss(family, len(rtts), len(replies)), abs=0.001)
    avg = expected_avg(family, replies)
    assert stats.rtt_avg_ms == (None if avg is None else pytest.approx(avg, abs=0.001))
    # Windows exits 0 on any "Reply from", even a gateway's "Destination host unreachable".
    any_reply_line = bool(replies) or (family == "windows" and gateway is not None and None in rtts)
    assert status == (0 if any_reply_line else 1)
    assert stderr == ""


@pytest.mark.parametrize(
    "rtts, status",
    [([0.5, 0.6], 0), ([0.5, None], 1), ([None, None], 1)],
    ids=["all", "partial", "none"],
)
def test_iputils_with_deadline_exits_1_when_any_probe_is_lost(rtts, status):
    assert render_ping("linux", "10.0.0.2", rtts, deadline=True)[0] == status


@pytest.mark.parametrize(
    "family, message, status",
    [
        ("linux", "connect: Network is unreachable", 2),
        ("busybox", "sendto: Network is unreachable", 1),
        ("windows", "Ping request could not find host srv99. Please check the name and try again.", 1),
    ],
    ids=FAMILIES,
)
def test_rendered_probe_error_is_a_parse_error(family, message, status):
    code, stdout, stderr = render_ping_error(family, message)
    assert code == status
    with pytest.raises(PingParseError) as info:
        parse_ping(stdout + stderr, family)
    assert message.split(". ")[0] in str(info.value)


# Times chosen within fping's printed precision (about three significant digits).
FPING_CASES = {
    "all-reachable": {"10.0.0.1": [0.045, 0.05], "10.0.0.3": [12.5, 150.0]},
    "some-unreachable": {"10.0.0.1": [1.25, None], "10.0.0.22": [None, None], "2001:db8::5": [0.3, 0.5]},
    "none-reachable": {"10.0.0.22": [None, None, None]},
}


@pytest.mark.parametrize("case", list(FPING_CASES), ids=list(FPING_CASES))
def test_fping_round_trip(case):
    results = FPING_CASES[case]
    status, stdout, stderr = render_fping(results)
    assert stdout == ""
    parsed = parse_fping(stderr)
    assert set(parsed) == set(results)
    for addr, rtts in results.items():
        replies = [r for r in rtts if r is not None]
        stats = parsed[addr]
        assert (stats.transmitted, stats.received) == (len(rtts), len(replies))
        assert stats.loss_pct == pytest.approx((len(rtts) - len(replies)) * 100 / len(rtts), abs=0.001)
        avg = sum(replies) / len(replies) if replies else None
        assert stats.rtt_avg_ms == (None if avg is None else pytest.approx(avg, abs=0.001))
    assert status == (0 if all(any(r is not None for r in v) for v in results.values()) else 1)


def test_fping_ignores_lines_that_are_not_per_target_results():
    text = ("ICMP Host Unreachable from 10.0.0.1 for ICMP Echo sent to 10.0.0.22\n"
            "10.0.0.1  : 0.05 0.07 -\n"
            "10.0.0.22 : - - -\n")
    parsed = parse_fping(text)
    assert set(parsed) == {"10.0.0.1", "10.0.0.22"}
    assert parsed["10.0.0.1"].received == 2
    assert parsed["10.0.0.1"].rtt_avg_ms == pytest.approx(0.06)
    assert not parsed["10.0.0.22"].reachable


# --- command builders ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "family, address, count, timeout, command",
    [
        ("linux", "10.0.0.2", 3, 0.5, "LC_ALL=C ping -n -c 3 -W 1 -w 4 10.0.0.2"),
        ("linux", "2001:db8::2", 2, 2.5, "LC_ALL=C ping -n -c 2 -W 3 -w 7 2001:db8::2"),
        ("busybox", "10.0.0.2", 3, 2.2, "LC_ALL=C ping -c 3 -W 3 10.0.0.2"),
        ("windows", "10.0.0.2", 4, 0.5, "ping -n 4 -w 500 10.0.0.2"),
        ("windows", "fe80::1%12", 1, 1, "ping -n 1 -w 1000 fe80::1%12"),
        # BSD ping on macOS: -W per reply in milliseconds, -t the whole run's deadline in seconds
        ("macos", "10.0.0.2", 3, 0.5, "LC_ALL=C ping -n -c 3 -W 500 -t 4 10.0.0.2"),
        ("macos", "10.0.0.2", 2, 2.5, "LC_ALL=C ping -n -c 2 -W 2500 -t 7 10.0.0.2"),
    ],
    ids=["linux-v4", "linux-v6", "busybox", "windows-v4", "windows-v6-zone", "macos-short", "macos-long"],
)
def test_ping_command(family, address, count, timeout, command):
    assert ping_command(family, address, count, timeout) == command


def test_fping_command():
    assert fping_command(["10.0.0.1", "2001:db8::5"], 3, 0.5) == \
        "LC_ALL=C fping -q -C 3 -t 500 -i 1 -r 0 10.0.0.1 2001:db8::5"
    assert fping_command(["10.0.0.1"], 1, 1, None) == "LC_ALL=C fping -q -C 1 -t 1000 -r 0 10.0.0.1"
    for bad in (0, 1001, True, 2.5):
        with pytest.raises(ValueError):
            fping_command(["10.0.0.1"], 1, 1, bad)


HOSTILE = ["1.2.3.4; reboot", "$(x)", "", "10.0.0.1 && id", "10.0.0.1\nreboot", "fe80::1%x;reboot", "host.example"]


@pytest.mark.parametrize("address", HOSTILE, ids=["semicolon", "subshell", "empty", "and", "newline", "zone", "name"])
@pytest.mark.parametrize("builder", [*FAMILIES, "macos", "fping"])
def test_command_builders_reject_anything_but_an_address(builder, address):
    with pytest.raises(ValueError):
        if builder == "fping":
            fping_command(["10.0.0.1", address], 1, 1.0)
        else:
            ping_command(builder, address, 1, 1.0)


@pytest.mark.parametrize(
    "count, timeout",
    [(0, 1.0), (True, 1.0), ("3", 1.0), (3, 0), (3, float("nan")), (3, "1")],
    ids=["zero-count", "bool-count", "str-count", "zero-timeout", "nan-timeout", "str-timeout"],
)
def test_command_builders_reject_bad_numbers(count, timeout):
    with pytest.raises(ValueError):
        ping_command("linux", "10.0.0.2", count, timeout)


def test_unknown_family_is_rejected():
    with pytest.raises(ValueError):
        ping_command("solaris", "10.0.0.2", 1, 1.0)  # type: ignore[arg-type]


def test_parallel_ping_command_validates_and_splits_back():
    from labkit.matrix.ping import PROBE_MARK, parallel_ping_command, split_parallel

    cmd = parallel_ping_command("linux", ["10.0.0.1", "10.0.0.2"], 1, 1)
    assert cmd.count(" &") == 2 and "LC_ALL=C ping -n -c 1 -W 1 -w 2 10.0.0.2" in cmd
    with pytest.raises(ValueError):
        parallel_ping_command("linux", ["10.0.0.1; reboot"], 1, 1)
    with pytest.raises(ValueError):
        parallel_ping_command("windows", ["10.0.0.1"], 1, 1)
    text = f"{PROBE_MARK}10.0.0.1\nPING a\nexit=0\n{PROBE_MARK}10.0.0.2\nPING b\nexit=1\n"
    assert split_parallel(text) == {"10.0.0.1": "PING a\n", "10.0.0.2": "PING b\n"}



def test_macos_refuses_ipv6_rather_than_run_ping_without_its_options():
    with pytest.raises(ValueError, match="ping6"):
        ping_command("macos", "2001:db8::2", 1, 1.0)


MACOS_PARTIAL = """PING 10.0.0.1 (10.0.0.1): 56 data bytes
64 bytes from 10.0.0.1: icmp_seq=0 ttl=64 time=0.412 ms
Request timeout for icmp_seq 1

--- 10.0.0.1 ping statistics ---
2 packets transmitted, 1 packets received, 50.0% packet loss
round-trip min/avg/max/stddev = 0.412/0.412/0.412/0.000 ms
"""


def test_macos_output_is_read_as_bsd_ping():
    stats = parse_ping(MACOS_PARTIAL, "macos")
    assert (stats.transmitted, stats.received, stats.loss_pct, stats.rtt_avg_ms) == (2, 1, 50.0, 0.412)
    with pytest.raises(PingParseError, match="no ping statistics in macos output"):
        parse_ping("ping: sendto: No route to host\n", "macos")


# --- Windows in German, as ping.exe writes it: CRLF, in the console's code page (cp850) -------------

GERMAN_FIXTURES = {
    "windows-de-success.txt": (4, 4, 0.0, 1.0),  # Zeit<1ms counts 0 ms: (0 + 1 + 0 + 3) / 4
    "windows-de-timeout.txt": (2, 0, 100.0, None),
    # Windows says "Empfangen = 3": two of them are the gateway's "Zielhost nicht erreichbar"
    "windows-de-unreachable.txt": (3, 1, 200 / 3, 4.0),
    "windows-de-hostname.txt": (2, 1, 50.0, 2.0),
}


@pytest.mark.parametrize("name", list(GERMAN_FIXTURES), ids=list(GERMAN_FIXTURES))
@pytest.mark.parametrize("codec", ["cp850", "cp1252", "utf-8"], ids=["console-cp", "ansi-cp", "utf8"])
def test_german_windows_output(name, codec):
    """Read right whatever code page it was decoded with: the umlaut words are matched loosely."""
    text = (DATA / name).read_bytes().decode(codec, "replace")
    transmitted, received, loss, avg = GERMAN_FIXTURES[name]
    stats = parse_ping(text, "windows")
    assert (stats.transmitted, stats.received) == (transmitted, received)
    assert stats.loss_pct == pytest.approx(loss, abs=0.001)
    assert stats.rtt_avg_ms == (None if avg is None else pytest.approx(avg, abs=0.001))


def test_german_general_failure_is_a_probe_error_with_its_words():
    text = (DATA / "windows-de-general-failure.txt").read_bytes().decode("cp850")
    with pytest.raises(PingParseError, match="every probe failed to transmit") as info:
        parse_ping(text, "windows")
    assert "Allgemeiner Fehler" in str(info.value)


def test_an_unknown_language_is_said_plainly_not_taken_for_unreachable():
    french = ("Envoi d'une requête 'Ping'  10.0.0.1 avec 32 octets de données :\r\n"
              "Réponse de 10.0.0.1 : octets=32 temps<1ms TTL=128\r\n\r\n"
              "Statistiques Ping pour 10.0.0.1:\r\n    Paquets : envoyés = 1, reçus = 1, perdus = 0 (perte 0%),\r\n")
    with pytest.raises(PingParseError) as info:
        parse_ping(french, "windows")
    assert "English and German" in str(info.value) and "Envoi d'une" in str(info.value)


@pytest.mark.parametrize(
    "text, line",
    [
        ((DATA / "windows-de-general-failure.txt").read_bytes().decode("cp850"),
         "PING: Fehler bei der Übertragung. Allgemeiner Fehler."),
        ((DATA / "windows-general-failure.txt").read_text(), "PING: transmit failed. General failure."),
        ("Antwort von 10.0.0.2: Zielnetz nicht erreichbar.\r\n", "Antwort von 10.0.0.2: Zielnetz nicht erreichbar."),
        ("ping: connect: Network is unreachable\n", "ping: connect: Network is unreachable"),
        ((DATA / "windows-de-timeout.txt").read_bytes().decode("cp850"), None),
    ],
    ids=["de-general-failure", "en-general-failure", "de-net-unreachable", "iputils", "de-timeout"],
)
def test_no_route_line_in_any_language(text, line):
    from labkit.matrix.ping import no_route_line

    assert no_route_line(text) == line
