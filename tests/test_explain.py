"""`labkit explain`: the model's walk for one cell in words, and the verdict predict gives that cell."""

from __future__ import annotations

import pytest

from labkit.api import describe
from labkit.hops import walk
from tests.conftest import REPO
from tests.e2e.test_playbooks import labkit

SEED = "inventory/seed-lab.yml"


@pytest.fixture(scope="module")
def model():
    return describe(REPO / SEED)


def test_a_nat_cell_is_walked_out_through_the_nat_device_and_back_through_conntrack(model) -> None:
    w = walk(model.topology, "centos", "internet")
    assert w.verdict.reachable is True
    request, reply = "\n".join(w.request), "\n".join(w.reply)
    assert w.request[0] == ("centos: route to 203.0.113.10 through its gateway 10.0.0.2, out of its eth0 "
                            "(10.0.0.101/24) on nat")
    assert "ARP on nat: 10.0.0.2 is nat.gateway" in request
    assert ("nat.gateway (the NAT device, a proxy) re-sends it from the host's own stack, source 192.168.1.100"
            in request)
    assert "router masquerades it towards the internet: source 192.168.1.100 -> 198.51.100.7" in request
    assert w.request[-1] == "internet has 203.0.113.10: the echo request arrives (from 198.51.100.7)"
    assert "router: connection tracking turns the reply's destination 198.51.100.7 back into 192.168.1.100" in reply
    assert "host: the reply belongs to nat.gateway's connection; it sends the reply on to 10.0.0.101" in reply
    assert w.reply[-1] == "centos has 10.0.0.101: the reply arrives (from 203.0.113.10)"


def test_an_unreachable_host_only_cell_says_where_the_walk_stops(model) -> None:
    """win7 is bridged onto the LAN; the Windows host (strong host model) does not answer ARP there
    for its host-only adapter's address, so win7 sends to its gateway, and the router sends a private
    address towards the internet."""
    w = walk(model.topology, "win7", "host.hostonly")
    assert w.verdict.reachable is False and not w.reply
    assert w.request[0].startswith("win7: route to 192.168.56.1 through its gateway 192.168.1.1")
    lines = w.lines()
    assert lines[0] == "win7 -> host.hostonly (192.168.56.1), as the model walks it:"
    assert lines[-1] == ("    ✗ the walk stops: no route to 192.168.56.1: nothing on the internet has it "
                         "(a private address)")


def test_every_cell_walks_to_the_verdict_predict_gives(model) -> None:
    """The walk is the model's own (predict.py tells it as it goes): the same verdict and reason as
    the predicted matrix for every cell of the seed lab."""
    matrix = model.predict()
    differ = []
    for cell in matrix.cells:
        w = walk(model.topology, cell.source, cell.target)
        if (w.word, w.verdict.reason) != (cell.observed.verdict, cell.observed.reason):
            differ.append((cell.source, cell.target, w.word, cell.observed.verdict))
    assert not differ
    assert len(matrix.cells) == 32


def test_cli_explain_prints_the_walk_and_predicts_verdict_line() -> None:
    proc = labkit("explain", "-i", SEED, "win7", "host.hostonly")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[1] == "  the echo request"
    assert lines[2].startswith("    1. win7: route to 192.168.56.1")
    assert lines[-1] == ("win7 -> host.hostonly (192.168.56.1): unreachable: no route to 192.168.56.1: nothing on "
                         "the internet has it (a private address)")
    predicted = labkit("predict", "-i", SEED, "--sources", "win7", "--targets", "host.hostonly")
    assert "win7 -> host.hostonly (192.168.56.1): no route to 192.168.56.1" in predicted.stdout


def test_cli_explain_own_address_has_no_walk() -> None:
    proc = labkit("explain", "-i", SEED, "host", "192.168.1.100")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["host -> 192.168.1.100 (192.168.1.100), as the model walks it:",
                                        "host -> 192.168.1.100 (192.168.1.100): reachable: own address"]


def test_cli_explain_bad_endpoints_are_exit_2_naming_the_argument() -> None:
    proc = labkit("explain", "-i", SEED, "nat.gateway", "nosuch")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("error: SOURCE: ") and "nat.gateway" in lines[0]
    assert lines[1].startswith("error: TARGET: unknown endpoint 'nosuch'")
    assert labkit("explain", "win7", "host").returncode == 2  # no inventory
