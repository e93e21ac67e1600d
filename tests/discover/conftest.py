"""Fixtures for discover: the real parts it reads from, borrowed from the backends' own test set-ups
(the fake vmrest held to vmrest's published definition, vcsim), plus the CLI as a user runs it."""

from __future__ import annotations

# the backends' fixtures, registered here too (the vmrest contract check is autouse: a request the
# definition does not allow fails the test)
from tests.backends.vsphere.conftest import password_env, probe, vcsim  # noqa: F401
from tests.backends.workstation.conftest import (  # noqa: F401
    _vmrest_contract,
    contract,
    fake_vmrest,
    start_fake,
    vmrest_fakes,
    vmrest_password,
)
