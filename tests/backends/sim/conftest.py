"""The tutorial's simulated lab, fresh for each test (opening it takes milliseconds)."""

from __future__ import annotations

import pytest

from labkit.backends import open_lab
from labkit.inventory import load_inventory
from tests.conftest import REPO


@pytest.fixture
def lab():
    lab = open_lab(load_inventory(REPO / "inventory" / "seed-lab.yml"))
    yield lab
    lab.close()
