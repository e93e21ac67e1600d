"""Probes run in the C locale (LC_ALL=C): a guest whose language is German (iputils with NLS, as on
Fedora and RHEL) prints `Pakete übertragen`, which no parser reads; probed by labkit it prints
English. The simulated guest speaks its locale as iputils' German catalogue does (po/de.po)."""

from __future__ import annotations

import pytest

from labkit.backends import open_lab
from labkit.inventory import inventory_from_data
from labkit.matrix.ping import (
    PingParseError,
    fping_command,
    parallel_ping_command,
    parse_ping,
    ping_command,
    split_parallel,
)
from labkit.model import PingMatrix, Step
from labkit.protocols import CommandResult
from labkit.runner import run_step
from labkit.yamlsrc import load
from tests.conftest import REPO


@pytest.fixture
def lab():
    data = load(REPO / "inventory" / "seed-lab.yml").data
    nat2 = next(vm for vm in data["vms"] if vm["name"] == "nat2")
    nat2["files"] = {**nat2.get("files", {}), "/etc/locale.conf": 'LANG="de_DE.UTF-8"\n'}
    opened = open_lab(inventory_from_data(data))
    yield opened
    opened.close()


def test_the_guest_speaks_german_unless_told_otherwise(lab):
    t = lab.transport("nat2")
    german = t.run("ping -n -c 3 -W 1 -w 4 10.0.0.1").stdout
    assert "64 Bytes von 10.0.0.1: icmp_seq=1 ttl=64 Zeit=" in german
    assert "--- 10.0.0.1 ping-Statistik ---" in german
    assert "3 Pakete übertragen, 3 empfangen, 0% Paketverlust, Zeit 2002ms" in german
    with pytest.raises(PingParseError):  # what labkit would read without LC_ALL=C
        parse_ping(german, "linux")
    lost = t.run("ping -n -c 3 -W 1 -w 4 203.0.113.99").stdout  # no such target: nothing answers
    assert "0 empfangen" in lost and "100% Paketverlust" in lost
    assert "Pakete übertragen" in t.run("LC_ALL=de_DE.UTF-8 ping -n -c 1 -W 1 -w 2 10.0.0.1").stdout
    assert "packets transmitted" in t.run("LANG=C ping -n -c 1 -W 1 -w 2 10.0.0.1").stdout


def test_every_probe_labkit_sends_is_read(lab):
    t = lab.transport("nat2")
    command = ping_command("linux", "10.0.0.1", 3, 1)
    assert command.startswith("LC_ALL=C ping ")
    stats = parse_ping(t.run(command).stdout, "linux")
    assert (stats.transmitted, stats.received) == (3, 3) and stats.rtt_avg_ms is not None
    assert parse_ping(t.run(f"x=1; {command}").stdout, "linux").received == 3  # through the sh, not the fast path
    outputs = split_parallel(t.run(parallel_ping_command("linux", ["10.0.0.1", "10.0.0.2"], 1, 1)).stdout)
    assert {a: parse_ping(text, "linux").received for a, text in outputs.items()} == {"10.0.0.1": 1, "10.0.0.2": 1}
    assert fping_command(["10.0.0.1"], 1, 1).startswith("LC_ALL=C fping ")
    for family in ("linux", "busybox", "macos"):
        assert ping_command(family, "10.0.0.1", 1, 1).startswith("LC_ALL=C ")
    assert not ping_command("windows", "10.0.0.1", 1, 1).startswith("LC_ALL")  # cmd.exe: no such syntax


class WithoutFping:
    """The guest's transport as if fping were not installed (fping has no translations): the matrix
    falls back to one background ping per target, which the guest runs in German unless told."""

    def __init__(self, inner) -> None:
        self.inner, self.kind, self.commands = inner, inner.kind, []

    def run(self, command, timeout=None):
        self.commands.append(command)
        if command.removeprefix("LC_ALL=C ").startswith("fping ") or command == "command -v fping":
            return CommandResult(127, "", "sh: 1: fping: not found\n")
        return self.inner.run(command, timeout)

    def close(self):
        self.inner.close()


def test_a_matrix_from_the_german_guest_holds(lab):
    lab._transports["nat2"] = wrapped = WithoutFping(lab.transport("nat2"))
    spec = PingMatrix(sources=["nat2"], targets=["host.nat", "nat.gateway", "router", "internet", "centos"],
                      count=2, timeout=1, expect="model")
    step = run_step(Step(name="matrix", kind="ping_matrix", spec=spec), lab)
    assert step.matrix is not None and step.ok, [(c.target, c.observed) for c in step.matrix.cells]
    assert all(c.observed.verdict in ("reachable", "unreachable") for c in step.matrix.cells)
    assert any("LC_ALL=C ping " in c for c in wrapped.commands)  # the background pings ran
