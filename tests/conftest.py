"""Shared fixtures. Test data from ../shared is read in place; missing data skips, except in CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("LABKIT_SHARED", REPO.parent / "shared"))

# The tutorial's /etc/sysconfig/network-scripts/ifcfg-eth0 (CentOS 6.5), before its switch to DHCP.
TUTORIAL_IFCFG = """\
DEVICE=eth0
HWADDR=00:0c:29:3b:4c:6d
TYPE=Ethernet
UUID=5ae16ecc-0149-487e-8dab-51afc75bd265
ONBOOT=yes
NM_CONTROLLED=yes
BOOTPROTO=static
IPADDR=10.0.0.101
NETMASK=255.255.255.0
GATEWAY=10.0.0.2
DNS1=202.96.128.86
DNS2=202.96.128.166
IPV6INIT=no
USERCTL=no
PEERDNS=yes
"""


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, reason: str) -> None:
    """Skip when a real part is missing, but fail under CI=true: nothing real may silently drop out."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def shared_dir(sub: str) -> Path:
    path = SHARED / sub
    require(path.is_dir(), f"{path} is absent (shared test data is not part of a user's clone)")
    return path


def shared_files(sub: str, pattern: str = "*") -> list[Path]:
    """List shared data files at collection time; empty when absent (the test then skips/fails)."""
    path = SHARED / sub
    return sorted(p for p in path.glob(pattern) if p.is_file()) if path.is_dir() else []


@pytest.fixture(scope="session", autouse=True)
def _lab_locks_of_this_session(tmp_path_factory: pytest.TempPathFactory):
    """Lab locks (labkit/lablock.py) in a folder of this test session's own, for in-process runs and
    subprocesses alike: tests running at the same time elsewhere on the machine, on labs of the same
    names, are other users' labs, and the user's own locks are left alone. (netns labs are locked
    beside their state directories, machine-wide, as they are built.)"""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LABKIT_LOCK_DIR", str(tmp_path_factory.mktemp("lab-locks")))
        yield
