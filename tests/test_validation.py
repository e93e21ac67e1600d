"""A corpus of broken inventories and playbooks: each is refused with exactly the errors in its .expect.

tests/broken/{inventory,playbook}/NAME.yml is checked with cwd=tests/broken; NAME.expect holds the
exact stderr of `labkit check NAME.yml` (every line `error: FILE:LINE: FIELD: message`).
Regenerate an .expect after a deliberate message change and read the diff.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labkit.cli import app

REPO = Path(__file__).resolve().parent.parent
BROKEN = REPO / "tests" / "broken"
CASES = sorted(p.relative_to(BROKEN).as_posix() for d in ("inventory", "playbook") for p in (BROKEN / d).glob("*.yml"))
# Lines that do not say FILE:LINE (labkit bugs, see the corpus's report); shrink this as they are fixed.
UNLOCATED: set[str] = set()


def expected(rel: str) -> str:
    return (BROKEN / rel).with_suffix(".expect").read_text(encoding="utf-8")


def labkit(*args: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "labkit.cli", *args], cwd=BROKEN, capture_output=True, check=False,
                          text=True, timeout=120, env=env)


@pytest.mark.parametrize("rel", CASES)
def test_broken_file_is_refused(rel, monkeypatch):
    monkeypatch.chdir(BROKEN)
    result = CliRunner().invoke(app, ["check", rel])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.exception
    assert result.stderr == expected(rel)
    assert f"ok: {rel}" not in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_subprocess_gives_the_same_output_for_the_whole_corpus():
    proc = labkit("check", *CASES)
    assert proc.returncode == 2
    assert proc.stderr == "".join(expected(rel) for rel in CASES)
    assert "ok:" not in proc.stdout and "Traceback" not in proc.stdout + proc.stderr


def test_corpus_is_not_empty():
    assert len(CASES) >= 60
    assert all((BROKEN / rel).with_suffix(".expect").is_file() for rel in CASES)


def test_every_error_line_names_file_and_line():
    located = re.compile(r"error: \S+\.yml:\d+: ")
    unlocated = {rel for rel in CASES if not all(map(located.match, expected(rel).splitlines()))}
    assert unlocated == UNLOCATED


def test_valid_files_pass():
    proc = labkit("check", "valid-inventory.yml", "valid-playbook.yml", str(REPO / "inventory/seed-lab.yml"),
                  *(str(p) for p in sorted((REPO / "playbooks").glob("seed-*.yml"))))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "" and proc.stdout.count("ok: ") >= 4


def test_checking_broken_playbooks_touches_nothing():
    def snapshot():
        return {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in BROKEN.rglob("*")}

    before = snapshot()
    proc = labkit("check", *(rel for rel in CASES if rel.startswith("playbook/")))
    assert proc.returncode == 2
    assert snapshot() == before


def test_a_vm_is_found_by_name_in_a_copy_with_other_vms():
    """Inventory.vm and os_of keep an index by name; a copy made with other VMs must not read the
    original's."""
    from labkit.inventory import load_inventory
    from tests.conftest import REPO

    inv = load_inventory(REPO / "inventory" / "seed-lab.yml")
    first, *rest = inv.vms
    assert inv.vm(first.name) is first and inv.os_of(first.name) == first.os
    copy = inv.model_copy(update={"vms": rest})
    with pytest.raises(KeyError):
        copy.vm(first.name)
    assert copy.os_of(first.name) == "linux"  # not a VM of this lab: a node such as the router
    assert copy.vm(rest[0].name) is rest[0] and inv.vm(first.name) is first
    assert copy == inv.model_copy(update={"vms": rest})  # the index is no field
