"""Every input of the hostile corpus (make_corpus.py) is refused: exit 2, `error: FILE:LINE:`, no traceback.

One parametrized case per input, checked in-process (typer's CliRunner); the large ones and one of
each category again in a subprocess under an address-space limit, with their peak memory and CPU
time measured (a bound far above what they take, so that load on the machine cannot fail them,
while a regression to exponential or unbounded work does).
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labkit import yamlcompose, yamlsrc
from labkit.cli import app
from tests.hostile import make_corpus
from tests.hostile.make_corpus import Case

REPO = Path(__file__).resolve().parents[2]
CASES = make_corpus.cases()
BY_NAME = {c.name: c for c in CASES}
PEAK_MB = 300  # the promise: every hostile input in bounded memory...
CPU_S = 20  # ...and time (its measured CPU time is a few seconds at most: see the report in test output)
AS_LIMIT = 2 << 30  # the subprocess's address space: an alias bomb that expanded would hit it


def _param(case: Case) -> object:
    marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
    return pytest.param(case, id=case.name, marks=marks)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("hostile")
    make_corpus.write_support(directory)
    return directory


def _assert_refused(case: Case, path: Path, code: int | None, stdout: str, stderr: str) -> None:
    assert code == 2, f"exit {code}\n{stdout}\n{stderr}"
    assert "Traceback" not in stdout + stderr
    assert f"ok: {path.name}" not in stdout
    name = re.escape(case.names or path.name)
    located = re.compile(rf"^error: {name}:(\d+): ", re.M)
    lines = [int(n) for n in located.findall(stderr)]
    if case.name in UNLOCATED:
        assert re.search(rf"^error: {name}: ", stderr, re.M), stderr
    else:
        assert lines, f"no 'error: {case.names or path.name}:LINE:' in:\n{stderr}"
    if case.line is not None:
        assert case.line in lines, f"line {case.line} not named in:\n{stderr}"
    assert re.search(case.expect, stderr), f"{case.expect!r} not in:\n{stderr}"


# The OS refuses these paths before labkit reads a byte: like a missing file, said without a line.
UNLOCATED = {"file-loop.yml", "file-proc-self-mem.yml"}


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_hostile_input_is_refused(case: Case, corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_corpus.materialize(case, corpus)
    monkeypatch.chdir(corpus)
    result = CliRunner().invoke(app, ["check", path.name])
    assert isinstance(result.exception, SystemExit), result.exception
    _assert_refused(case, path, result.exit_code, result.stdout, result.stderr)


def _sample() -> list[Case]:
    """The large cases, and the first case of each category (yaml-*: of each YAML feature)."""
    seen: set[str] = set()
    out = []
    for case in CASES:
        parts = case.name.split("-")
        category = "-".join(parts[:2]) if parts[0] == "yaml" else parts[0]
        if (case.heavy or category not in seen) and not case.xfail:
            out.append(case)
        seen.add(category)
    return out


_CHILD = """
import atexit, resource, sys
def report():
    r = resource.getrusage(resource.RUSAGE_SELF)
    print(f"measured: peak {r.ru_maxrss // 1024} MB, cpu {r.ru_utime + r.ru_stime:.2f} s", file=sys.stderr)
atexit.register(report)
from labkit.cli import main
sys.argv = ["labkit", *sys.argv[1:]]
main()
"""


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in _sample()])
def test_hostile_input_in_bounded_time_and_memory(case: Case, corpus: Path) -> None:
    path = make_corpus.materialize(case, corpus)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-c", _CHILD, "check", path.name], cwd=corpus, capture_output=True,
                          text=True, timeout=120, env=env, preexec_fn=_limit, check=False)
    report = re.search(r"measured: peak (\d+) MB, cpu ([\d.]+) s", proc.stderr)
    assert report, proc.stderr
    stderr = proc.stderr[:report.start()]
    _assert_refused(case, path, proc.returncode, proc.stdout, stderr)
    peak, cpu = int(report.group(1)), float(report.group(2))
    print(f"{case.name}: peak {peak} MB, cpu {cpu:.2f} s")
    assert peak < PEAK_MB and cpu < CPU_S


@pytest.mark.parametrize("name", ["playbook-scalar.yml", "playbook-list-of-steps.yml", "yaml-merge-step.yml",
                                  "yaml-tag-on-step.yml", "inject-pipe-step-vms.yml", "bytes-elf.yml",
                                  "file-fifo.yml", "yaml-alias-bomb-10.yml"])
def test_run_refuses_what_check_refuses(name: str, corpus: Path) -> None:
    case = BY_NAME[name]
    path = make_corpus.materialize(case, corpus)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-m", "labkit.cli", "run", path.name], cwd=corpus, capture_output=True,
                          text=True, timeout=120, env=env, preexec_fn=_limit, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert re.search(rf"^error: {re.escape(path.name)}:\d+: ", proc.stderr, re.M), proc.stderr


def test_the_corpus_is_large_and_covers_every_category() -> None:
    assert len(CASES) >= 300
    prefixes = {c.name.split("-")[0] for c in CASES}
    assert {"yaml", "file", "bytes", "inject", "escape", "number", "type", "confusable", "playbook", "misc", "files",
            "markup"} <= prefixes
    for fid, *_ in make_corpus.FIELDS:  # every field that reaches a guest or a shell gets shell syntax
        assert sum(c.name.startswith("inject-") and c.name.endswith(f"-{fid}.yml") for c in CASES) >= 5


def test_the_corpus_limits_are_labkits() -> None:
    assert make_corpus.BIG == yamlsrc.MAX_BYTES
    assert make_corpus.NODES == yamlcompose.MAX_NODES


def test_the_base_files_are_valid(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each case is the valid base with one thing wrong: the base itself passes."""
    monkeypatch.chdir(corpus)
    result = CliRunner().invoke(app, ["check", make_corpus.INVENTORY, "base-playbook.yml"])
    assert result.exit_code == 0, result.stderr
