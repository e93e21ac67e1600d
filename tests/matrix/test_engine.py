"""The matrix engine on the simulated lab: what a cell says about how it was probed."""

from __future__ import annotations

from labkit.backends import open_lab
from labkit.inventory import load_inventory
from labkit.matrix.engine import probe_source, run_matrix
from labkit.model import PingMatrix
from labkit.protocols import CommandResult, GuestTransport
from labkit.results import Observation
from labkit.topology import Topology
from labkit.observe import observe
from tests.conftest import REPO


class SwitchesChannel:
    """A transport that learns its channel only when it runs something, as FallbackTransport does
    (it tries SSH, finds the guest unreachable, and carries the command over the console)."""

    def __init__(self, inner: GuestTransport) -> None:
        self.inner = inner
        self.kind = "ssh"

    def read_file(self, path: str) -> str:
        return self.inner.read_file(path)

    def write_file(self, path: str, data: str, mode: int = 0o644) -> None:
        self.inner.write_file(path, data, mode)

    def run(self, command: str, timeout: float | None = None) -> CommandResult:
        self.kind = "console"
        return self.inner.run(command, timeout)

    def close(self) -> None:
        self.inner.close()


def test_via_names_the_channel_that_carried_the_probe():
    lab = open_lab(load_inventory(REPO / "inventory" / "seed-lab.yml"))
    wrapped = SwitchesChannel(lab.transport("centos"))
    topo = Topology(observe(lab))
    targets = [topo.resolve("router"), topo.resolve("host")]
    spec = PingMatrix(sources=["centos"], targets=["router", "host"], count=1, timeout=1.0)

    class OneTransport:
        def __getattr__(self, name):
            return getattr(lab, name)

        def transport(self, node):
            return wrapped

    cells = probe_source(OneTransport(), "centos", targets, spec)  # type: ignore[arg-type]
    assert {o.via for o in cells.values()} == {"console"}, cells
    assert all(o.verdict == "reachable" for o in cells.values()), cells


class Counting:
    """The simulated lab, counting which nodes a probe was run on."""

    def __init__(self, lab) -> None:
        self.lab = lab
        self.asked: list[str] = []

    def __getattr__(self, name):
        return getattr(self.lab, name)

    def transport(self, node):
        self.asked.append(node)
        return self.lab.transport(node)


def _without_address(lab, vm: str, note: str):
    state = observe(lab).copy()
    iface = state.vms[vm].ifaces[0]
    iface.address, iface.gateway, iface.note = None, None, note
    return state


def test_no_address_cells_are_settled_without_asking_the_source():
    lab = open_lab(load_inventory(REPO / "inventory" / "seed-lab.yml"))
    state = _without_address(lab, "centos", "no DHCP server answered")
    spec = PingMatrix.model_validate({
        "sources": ["centos", "host"], "targets": ["centos", "host", "router"],
        "expect": {"model": True, "cells": [
            {"from": "centos", "to": "host", "result": "no_address"},
            {"from": "centos", "to": "router", "result": "no_address"},
            {"from": "host", "to": "centos", "result": "no_address"},
            {"from": "host", "to": "router", "result": "no_address"}]}})
    counting = Counting(lab)
    m = run_matrix(counting, "m", spec, state)  # type: ignore[arg-type]
    assert "centos" not in counting.asked  # every centos cell was settled: nobody tried to reach it
    held = [(c.source, c.target) for c in m.cells if c.ok]
    assert held == [("centos", "host"), ("centos", "router"), ("host", "centos")]
    assert m.cell("host", "centos").observed == Observation(
        "no_address", reason="target has no address: no DHCP server answered")
    assert m.cell("centos", "host").observed.reason == "source has no address: no DHCP server answered"
    router = m.cell("host", "router")  # both ends have an address: probed, and the expectation fails
    assert (router.observed.verdict, router.ok) == ("reachable", False)


def test_without_a_no_address_expectation_nothing_changes():
    lab = open_lab(load_inventory(REPO / "inventory" / "seed-lab.yml"))
    state = _without_address(lab, "centos", "no DHCP server answered")
    spec = PingMatrix(sources=["host"], targets=["centos"], expect="model")
    cell = run_matrix(lab, "m", spec, state).cell("host", "centos")
    assert (cell.expected, cell.observed.verdict, cell.ok) == ("unreachable", "error", False)
    assert cell.observed.reason == "no address: no DHCP server answered"


def _sharing_address(lab, vm: str, with_vm: str):
    """The lab's observed state with `vm` given `with_vm`'s address (a hand-built conflict)."""
    state = observe(lab).copy()
    state.vms[vm].ifaces[0].address = state.vms[with_vm].ifaces[0].address
    return state


def test_conflict_cells_are_marked_have_no_model_expectation_and_do_not_fail():
    lab = open_lab(load_inventory(REPO / "inventory" / "seed-lab.yml"))
    state = _sharing_address(lab, "nat2", "centos")  # both 10.0.0.101 on VMnet8
    spec = PingMatrix(sources=["host", "win7", "centos", "nat2"], targets=["host.nat", "centos", "nat2", "router"],
                      count=1, expect="model")
    m = run_matrix(lab, "m", spec, state)
    for source, target in (("host", "centos"), ("host", "nat2"), ("centos", "nat2"), ("nat2", "router"),
                           ("centos", "host.nat")):
        cell = m.cell(source, target)
        assert cell.conflict is not None, (source, target)
        assert cell.conflict.holders == ("centos", "nat2") and cell.conflict.address == "10.0.0.101"
        assert cell.expected is None and cell.ok, (source, target)
        assert cell.expected_reason is not None and "address conflict" in cell.expected_reason
    clean = m.cell("host", "router")
    assert clean.conflict is None and clean.expected == "reachable"
    # every cell with centos or nat2 at either end: 2 targets for host and win7, 3 targets for each of them
    assert m.ok and len(m.conflict_cells()) == 2 * 2 + 2 * 3


def test_explicit_expectations_still_apply_to_conflict_cells():
    lab = open_lab(load_inventory(REPO / "inventory" / "seed-lab.yml"))
    state = _sharing_address(lab, "nat2", "centos")
    spec = PingMatrix.model_validate({"sources": ["host"], "targets": ["centos", "router"], "count": 1,
                                      "expect": {"cells": [{"from": "host", "to": "centos", "result": "unreachable"}]}})
    m = run_matrix(lab, "m", spec, state)
    cell = m.cell("host", "centos")
    assert cell.conflict is not None and cell.conflict.holders == ("centos", "nat2")  # marked without the model
    assert cell.expected == "unreachable" and cell.observed.verdict == "reachable" and not cell.ok


def test_predicted_matrix_marks_conflicts_and_does_not_count_them_failed():
    from labkit.matrix.engine import predicted_matrix

    lab = open_lab(load_inventory(REPO / "inventory" / "seed-lab.yml"))
    topo = Topology(_sharing_address(lab, "nat2", "centos"))
    m = predicted_matrix(topo, "p", ["host", "centos"], ["centos", "nat2", "router"])
    cell = m.cell("host", "nat2")
    assert cell.conflict is not None and cell.observed.verdict == "error" and cell.ok
    assert "address conflict" in (cell.observed.reason or "")
    assert m.cell("host", "router").conflict is None
    assert m.cell("centos", "router").conflict is not None  # the replies come back to a contested address
    assert m.ok


def test_a_no_route_line_in_german_is_unreachable_not_an_error():
    """ping.exe in German prints no statistics for a local 'general failure': still a real unreachable."""
    from labkit.matrix.readings import _judge

    seen = _judge("\r\nPing wird ausgeführt für 10.9.9.9 mit 32 Bytes Daten:\r\nAllgemeiner Fehler.\r\n", "windows", "ssh")
    assert seen.verdict == "unreachable" and seen.reason == "Allgemeiner Fehler.", seen
    garbage = _judge("something else entirely\r\n", "windows", "ssh")
    assert garbage.verdict == "error" and "could not read ping output" in (garbage.reason or "")


def test_the_collector_is_back_after_a_matrix_and_what_the_program_froze_stays_frozen():
    """run_matrix pauses cyclic garbage collection and, when done, moves what it made to the
    oldest generation (freeze, then unfreeze); a program's own frozen objects must stay frozen,
    and a disabled collector stays disabled."""
    import gc

    lab = open_lab(load_inventory(REPO / "inventory" / "seed-lab.yml"))
    spec = PingMatrix(sources=["centos"], targets=["host", "win7"], count=1, timeout=1)
    try:
        assert gc.isenabled()
        run_matrix(lab, "m", spec, observe(lab))
        assert gc.isenabled() and gc.get_freeze_count() == 0
        gc.freeze()
        frozen = gc.get_freeze_count()
        try:
            run_matrix(lab, "m", spec, observe(lab))
            # still frozen (thawing would leave none; a frozen object freed meanwhile leaves one less)
            assert gc.isenabled() and gc.get_freeze_count() > frozen // 2
        finally:
            gc.unfreeze()
        gc.disable()
        try:
            run_matrix(lab, "m", spec, observe(lab))
            assert not gc.isenabled()
        finally:
            gc.enable()
    finally:
        lab.close()
