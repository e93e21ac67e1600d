"""`labkit --help` speaks a user's words: placeholders in capitals, no Python type names, every
option explained, and `--version`."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from labkit import __version__
from tests.conftest import REPO
from tests.e2e.test_playbooks import labkit

COMMANDS = [[], ["run"], ["check"], ["predict"], ["matrix"], ["set-mode"], ["diff"], ["report"], ["explain"],
            ["lab"], ["lab", "up"], ["lab", "down"], ["lab", "status"]]
# What Typer prints when it falls back to the Python annotation, or braces a required argument
PYTHON_TYPES = re.compile(r"<(str|int|float|bool|path|list\[[^>]*\]|[a-z]+ range)>|\{[a-z_]+\}|list\[")


def help_of(*command: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "labkit.cli", *command, "--help"], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "labkit")
def test_help_shows_no_python_type_names(command: list[str]) -> None:
    text = help_of(*command)
    assert not PYTHON_TYPES.search(text), PYTHON_TYPES.search(text)


def test_arguments_are_named_in_capitals_on_the_usage_line() -> None:
    for command, usage in (("run", "PLAYBOOK"), ("check", "FILES..."), ("set-mode", "VM MODE"),
                           ("diff", "FIRST SECOND"), ("explain", "SOURCE TARGET"), ("report", "REPORT")):
        assert re.search(rf"Usage: .*\b{command} \[OPTIONS\] {re.escape(usage)} *\n", help_of(command)), command


def test_an_option_without_a_placeholder_of_its_own_is_named_by_its_name() -> None:
    assert re.search(r"│ --adapter +ADAPTER +index, interface or label", help_of("set-mode"))


def option_line(text: str, option: str) -> str:
    return next(line for line in text.splitlines() if re.search(rf"│ {option}\b", line))


@pytest.mark.parametrize("option, words", [
    ("--sources", "NAMES .*rows: endpoints that ping"),
    ("--targets", "NAMES .*columns: endpoints pinged"),
    ("--count", "N .*echo requests per cell"),
    ("--timeout", "SECONDS .*how long to wait for each reply"),
    ("--backend", "NAME .*default: the inventory's backend.type"),
    ("--inventory", "FILE .*inventory YAML file"),
    ("--markdown", "FILE .*Markdown"),
])
def test_every_matrix_option_is_explained(option: str, words: str) -> None:
    line = option_line(help_of("matrix"), option)
    assert re.search(words, line), line
    assert "sim (default)" not in help_of("matrix")


def test_flags_show_no_placeholder() -> None:
    text = help_of("run")
    for flag in ("--check", "--diff", "--help"):
        assert re.search(rf"│ {flag} +(change|with|Show)", option_line(text, flag)), option_line(text, flag)


def test_version() -> None:
    proc = labkit("--version")
    assert proc.returncode == 0 and proc.stdout == f"labkit {__version__}\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", __version__)
    assert "--version" in help_of()


def test_predict_is_not_printed_as_a_run_of_one_step() -> None:
    proc = labkit("predict", "-i", "inventory/seed-lab.yml")
    assert proc.returncode == 0, proc.stderr
    assert "1 steps" not in proc.stdout and "✓ predict prediction" not in proc.stdout
    assert proc.stdout.startswith("seed-lab: what the model predicts for the lab as described (nothing was probed)\n")


def test_set_mode_on_sim_says_that_nothing_lasts() -> None:
    proc = labkit("set-mode", "-i", "inventory/seed-lab.yml", "centos", "bridged")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "centos eth0 -> bridged (changed)\n"
    assert proc.stderr.startswith("note: the sim backend keeps nothing between commands")
    assert "one playbook (labkit run)" in proc.stderr
    assert "The simulated lab (sim) keeps nothing between commands" in " ".join(help_of("set-mode").split())
