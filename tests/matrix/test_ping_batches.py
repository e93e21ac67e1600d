"""Many targets in one command: validated address lists, the Windows parallel probe's command line,
cutting its output back into one ping.exe output per target, and reading outputs once."""

from __future__ import annotations

import pytest

from labkit.backends.sim.ping import render_fping, render_ping
from labkit.matrix.engine import Readings
from labkit.matrix.ping import (
    WINDOWS_BATCH,
    CheckedAddresses,
    fping_command,
    parse_fping,
    ping_target,
    split_windows_outputs,
    windows_parallel_command,
)

HOSTILE = ["1.2.3.4; reboot", "$(x)", "", "10.0.0.1 && id", "10.0.0.1\nreboot", "10.0.0.1)&calc&(", "host.example"]


@pytest.mark.parametrize("address", HOSTILE)
def test_checked_addresses_take_addresses_only(address):
    with pytest.raises(ValueError):
        CheckedAddresses(["10.0.0.1", address])


def test_a_checked_list_keeps_its_type_through_subsets_and_batches():
    checked = CheckedAddresses(["10.0.0.3", "10.0.0.1", "10.0.0.2"])
    assert checked == ("10.0.0.3", "10.0.0.1", "10.0.0.2")
    less = checked.without({"10.0.0.1"})
    assert isinstance(less, CheckedAddresses) and less == ("10.0.0.3", "10.0.0.2")
    assert [tuple(b) for b in checked.batches(2)] == [("10.0.0.3", "10.0.0.1"), ("10.0.0.2",)]
    assert all(isinstance(b, CheckedAddresses) for b in checked.batches(2))
    assert fping_command(less, 1, 1.0).endswith("fping -q -C 1 -t 1000 -i 1 -r 0 10.0.0.3 10.0.0.2")


def test_the_windows_line_fits_cmd_exe_with_a_full_batch_of_the_longest_addresses():
    addresses = [f"192.168.{k // 250}.{100 + k % 150}" for k in range(WINDOWS_BATCH)]
    line = windows_parallel_command(addresses, 100, 60, "0123456789abcdef")
    assert len(line) < 8191 and "\n" not in line and "\r" not in line
    assert line.startswith('cd /d "%TEMP%" && md labkit-ping-0123456789abcdef && cd labkit-ping-0123456789abcdef && (')
    assert 'start "" /b ping -n 100 -w 60000 %a >%a.txt 2>&1' in line
    assert line.endswith("& type *.out 2>nul & cd .. & rd /s /q labkit-ping-0123456789abcdef )")


@pytest.mark.parametrize("addresses, token, why", [
    (["fe80::1"], "abcd", "IPv4"),
    (["10.0.0.1"] * (WINDOWS_BATCH + 1), "abcd", "at most"),
    (["10.0.0.1"], "ab&c", "token"),
    (["10.0.0.1"], "AB12", "token"),
    ([], "abcd", "no address"),
])
def test_the_windows_line_refuses_what_it_cannot_carry(addresses, token, why):
    with pytest.raises(ValueError, match=why):
        windows_parallel_command(addresses, 1, 1.0, token)


@pytest.mark.parametrize("address", HOSTILE)
def test_the_windows_line_takes_addresses_only(address):
    with pytest.raises(ValueError):
        windows_parallel_command(["10.0.0.1", address], 1, 1.0, "abcd")


GERMAN = ("\r\nPing wird ausgeführt für 10.0.0.9 mit 32 Bytes Daten:\r\nZeitüberschreitung der Anforderung.\r\n\r\n"
          "Ping-Statistik für 10.0.0.9:\r\n    Pakete: Gesendet = 1, Empfangen = 0, Verloren = 1\r\n    (100% Verlust),\r\n")


def test_outputs_one_after_another_are_cut_at_each_header_in_either_language():
    english = [render_ping("windows", a, rtts)[1] for a, rtts in (("10.0.0.1", [0.4]), ("10.0.0.2", [None]))]
    for text in ("noise before\r\n" + "".join(english), "".join(english) + GERMAN, GERMAN + "".join(english)):
        pieces = split_windows_outputs(text)
        assert [ping_target(p) for p in pieces] == [ping_target(p) for p in pieces if ping_target(p)]
        assert sorted(ping_target(p) or "" for p in pieces) == sorted(
            ["10.0.0.1", "10.0.0.2"] + (["10.0.0.9"] if "Ping wird" in text else []))
    assert split_windows_outputs("'ping' is not recognized as an internal or external command,\r\n") == []


def test_readings_turn_concatenated_outputs_into_one_observation_per_address():
    text = "".join(render_ping("windows", a, rtts)[1] for a, rtts in
                   (("10.0.0.1", [0.4]), ("10.0.0.2", [None]), ("10.0.0.3", [1.0]))) + GERMAN
    readings = Readings()
    seen = readings.windows(text, "ssh")
    assert {a: o.verdict for a, o in seen.items()} == {"10.0.0.1": "reachable", "10.0.0.2": "unreachable",
                                                       "10.0.0.3": "reachable", "10.0.0.9": "unreachable"}
    assert {o.via for o in seen.values()} == {"ssh"}
    again = readings.windows(text, "ssh")
    assert all(again[a] is seen[a] for a in seen)  # the same output, the same object
    console = readings.windows(text, "console")
    assert console["10.0.0.1"].via == "console" and console["10.0.0.1"].rtt_avg_ms == seen["10.0.0.1"].rtt_avg_ms


def test_fping_read_with_a_memo_reads_the_same():
    _, _, text = render_fping({"10.0.0.1": [0.05, None], "10.0.0.22": [None, None], "10.0.0.3": [1.5, 1.6]})
    text = "ICMP Host Unreachable from 10.0.0.1 for ICMP Echo sent to 10.0.0.22\n" + text
    memo: dict = {}
    assert parse_fping(text, memo) == parse_fping(text) == parse_fping(text, memo)
    assert len(memo) == text.count("\n") + 1  # every line (and the empty last piece) read once
    readings = Readings()
    seen = readings.fping(text, "ssh")
    assert {a: o.verdict for a, o in seen.items()} == {"10.0.0.1": "reachable", "10.0.0.22": "unreachable",
                                                       "10.0.0.3": "reachable"}
    assert readings.fping(text, "ssh")["10.0.0.3"] is seen["10.0.0.3"]
