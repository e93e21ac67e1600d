"""The two backends whose labs are this machine's own: the simulated lab and the netns lab."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from labkit.backends import open_lab
from labkit.inventory import load_inventory
from tests.conftest import REPO
from tests.contract.guests import netns_lab
from tests.contract.subject import Subject


@contextmanager
def open_sim(workdir: Path) -> Iterator[Subject]:
    """The tutorial's lab (inventory/seed-lab.yml), in memory."""
    lab = open_lab(load_inventory(REPO / "inventory" / "seed-lab.yml"), "sim")
    try:
        yield Subject(lab, other_network="hostonly", host_network="nat")
    finally:
        lab.close()


@contextmanager
def open_netns(workdir: Path) -> Iterator[Subject]:
    """inventory/seed-netns.yml built as lab `contract-netns` (root): real sshd, DHCP, NAT and ping."""
    with netns_lab("contract-netns") as inv:
        lab = open_lab(inv, "netns")
        try:
            yield Subject(lab, other_network="hostonly", host_network="nat")
        finally:
            lab.close()
