"""What the discover tests do with a discovered inventory, as a user does: run the CLI, read the
list of fields to fill that it prints, hold it to `labkit check`, and fill each placeholder."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.conftest import REPO

_FILL = re.compile(r"^  (?P<file>.+?):(?P<line>\d+): (?P<field>[^ :]+): ")
_ERROR = re.compile(r"^error: (?P<file>.+?):(?P<line>\d+): (?P<field>[^ :]+): (?P<message>.*)$")


def labkit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess, with only PATH (and `env`) in its environment."""
    return subprocess.run([sys.executable, "-m", "labkit.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", **(env or {})})


def printed_fills(stdout: str) -> dict[str, int]:
    """field -> line, from the list `labkit discover` prints."""
    return {m["field"]: int(m["line"]) for m in map(_FILL.match, stdout.splitlines()) if m}


def check(path: Path) -> tuple[int, dict[str, tuple[int, str]]]:
    """`labkit check PATH`: its exit status and field -> (line, message) of every error."""
    proc = labkit("check", str(path))
    errors = {m["field"]: (int(m["line"]), m["message"]) for m in map(_ERROR.match, proc.stderr.splitlines()) if m}
    assert proc.returncode != 0 or not errors, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.returncode, errors


def filled(text: str, fills: dict[str, int], value: Callable[[str], str]) -> str:
    """`text` with the placeholder on each listed line replaced by `value(field)` (a YAML value)."""
    lines = text.split("\n")
    for field, line in fills.items():
        assert lines[line - 1].count("<fill in>") == 1, (field, lines[line - 1])
        lines[line - 1] = lines[line - 1].replace("<fill in>", value(field))
    values = [ln.split("  #")[0] for ln in lines if not ln.lstrip().startswith("#")]
    assert not any("<fill in>" in v for v in values), "a placeholder was not in the printed list"
    return "\n".join(lines)


def assert_refused_exactly_at_placeholders(path: Path, fills: dict[str, int]) -> None:
    """`labkit check` refuses the discovered file, naming each placeholder's field at its line and
    nothing else, and says that it is a placeholder to fill in."""
    status, errors = check(path)
    assert status == 2
    assert {f: line for f, (line, _) in errors.items()} == fills
    assert all(message.startswith("not filled in yet: `labkit discover` left <fill in> here")
               for _, message in errors.values()), errors
