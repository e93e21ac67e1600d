"""`labkit discover --help` speaks a user's words like the rest of labkit's help (tests/test_cli_help.py)."""

from __future__ import annotations

import re

import pytest

from tests.test_cli_help import PYTHON_TYPES, help_of

SUBCOMMANDS = ["vmrest", "vmx", "vsphere", "ansible"]


@pytest.mark.parametrize("command", [[], *([c] for c in SUBCOMMANDS)], ids=lambda c: " ".join(c) or "discover")
def test_help_shows_no_python_type_names(command):
    text = help_of("discover", *command)
    assert not PYTHON_TYPES.search(text), PYTHON_TYPES.search(text)


def test_every_source_is_listed_and_arguments_are_in_capitals():
    assert all(re.search(rf"│ {c} ", help_of("discover")) for c in SUBCOMMANDS)
    assert re.search(r"Usage: .*discover vmx \[OPTIONS\] FOLDER *\n", help_of("discover", "vmx"))
    assert re.search(r"Usage: .*discover ansible \[OPTIONS\] FILE *\n", help_of("discover", "ansible"))
    assert "--password-env" in help_of("discover", "vsphere") and "never the password itself" in \
        help_of("discover", "vmrest")
