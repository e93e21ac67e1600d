"""The network-namespace lab as a fixture: built once per session from inventory/seed-netns.yml.

Needs root and the lab's Debian packages (make lab-deps). Skips with the reason elsewhere; under
CI=true a missing piece fails instead, so the real-packet tests never silently drop out of CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from labkit.inventory import load_inventory
from labkit.model import Inventory
from tests.conftest import REPO, require

NETNS_INVENTORY = REPO / "inventory" / "seed-netns.yml"
TOOLS = ("ip", "iptables", "iptables-save", "dnsmasq", "unshare", "nsenter", "dhclient", "ifup", "fping", "ssh-keygen",
         "arping")


def require_lab_host() -> None:
    require(os.geteuid() == 0, "the netns lab needs root")
    missing = [t for t in TOOLS if shutil.which(t) is None]
    require(not missing, f"missing lab tools: {', '.join(missing)} (make lab-deps)")
    require(os.path.exists("/usr/sbin/sshd"), "missing /usr/sbin/sshd (make lab-deps)")


def root_namespace_snapshot() -> dict[str, str]:
    """What must be identical before and after a lab: the root namespace's links, routes, firewall."""
    def out(*argv: str) -> str:
        return subprocess.run(argv, capture_output=True, text=True).stdout

    saved = "\n".join(line for line in out("iptables-save").splitlines() if not line.startswith("#"))
    return {"links": out("ip", "-o", "link", "show"), "addresses": out("ip", "-o", "addr", "show"),
            "routes": out("ip", "route", "show", "table", "all"), "iptables": saved}


@pytest.fixture(scope="session")
def netns_inventory():
    require_lab_host()
    return load_inventory(NETNS_INVENTORY)


@contextmanager
def lab_built(inv: Inventory) -> Iterator[dict]:
    """`inv` built as a netns lab (leftovers of a crashed run removed first), always torn down;
    yields the lab's state (namespaces, PIDs)."""
    from labkit.backends.netns import build as netlab

    require_lab_host()
    netlab.down(inv)
    try:
        yield netlab.up(inv)
    finally:
        netlab.down(inv)


@pytest.fixture
def fresh_lab(netns_inventory):
    """A lab built for one test and removed after it (the tests change adapters and addresses)."""
    with lab_built(netns_inventory):
        yield netns_inventory
