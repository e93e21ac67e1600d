"""labkit's pytest plugin (entry point `pytest11: labkit`): a lab as a fixture, playbooks as tests.

- `--labkit-inventory PATH` / ini `labkit_inventory`, `--labkit-backend NAME` / ini `labkit_backend`
  (default: sim, so a CI run touches no real lab unless asked);
- fixtures `labkit_inventory` and `labkit_lab` (session-scoped: one lab for the run, closed after);
  `labkit.assert_matrix(result)` fails with the matrix drawn, its failing cells and their reasons;
- files named `test_*.labkit.yml` (ini `labkit_files`) are collected as playbooks, one test item
  per step, run in order on a lab of their own; a failing matrix step shows its failing cells.
  The configured inventory, when there is one, replaces the one a playbook names (as
  `labkit run -i` does).

Why it is built this way: pytest loads every installed plugin in every project, so this module
imports only pytest at load time; labkit's own modules (pydantic, the backends) are imported when
a labkit option, fixture or file is used, and every name it adds starts with `labkit`.
"""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from _pytest._code.code import ExceptionInfo, TerminalRepr, TracebackStyle

    from labkit.api import LabSession
    from labkit.model import Inventory, Step
    from labkit.results import StepResult

DEFAULT_FILES = ["test_*.labkit.yml", "test_*.labkit.yaml"]
DEFAULT_BACKEND = "sim"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("labkit", "labkit (VMware network labs)")
    group.addoption("--labkit-inventory", metavar="PATH", default=None,
                    help="inventory of the lab for the labkit_lab fixture and the collected playbooks "
                         "(replaces the one a playbook names)")
    group.addoption("--labkit-backend", metavar="NAME", default=None,
                    help="backend to open the lab on: sim (default), netns, vsphere, workstation")
    parser.addini("labkit_inventory", "inventory file for labkit (relative to the ini file)", default="")
    parser.addini("labkit_backend", "labkit backend: sim (default), netns, vsphere, workstation", default="")
    parser.addini("labkit_files", "file name patterns collected as labkit playbooks", type="args",
                  default=DEFAULT_FILES)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "labkit: a step of a labkit playbook collected as a test")
    named = config.getoption("labkit_backend") or config.getini("labkit_backend")
    if named:  # asked for by name: an unknown one is a usage error now, not one per test later
        from labkit.backends import BACKENDS

        if named not in BACKENDS:
            raise pytest.UsageError(f"--labkit-backend / labkit_backend: unknown backend {named!r} "
                                    f"(available: {', '.join(sorted(BACKENDS))})")


def pytest_report_header(config: pytest.Config) -> str | None:
    inventory = configured_inventory(config)
    if inventory is None and not (config.getoption("labkit_backend") or config.getini("labkit_backend")):
        return None
    return f"labkit: inventory {inventory or '(each playbook its own)'}, backend {configured_backend(config)}"


def configured_inventory(config: pytest.Config) -> Path | None:
    """--labkit-inventory (from where pytest was started), else the ini key (from the ini file's folder)."""
    given = config.getoption("labkit_inventory")
    if given:
        return config.invocation_params.dir / given
    ini = config.getini("labkit_inventory")
    if ini:
        base = config.inipath.parent if config.inipath is not None else config.rootpath
        return base / ini
    return None


def configured_backend(config: pytest.Config) -> str:
    return config.getoption("labkit_backend") or config.getini("labkit_backend") or DEFAULT_BACKEND


@pytest.fixture(scope="session")
def labkit_inventory(pytestconfig: pytest.Config) -> Inventory:
    """The inventory named by --labkit-inventory or the labkit_inventory ini key, loaded and checked."""
    from labkit.api import load_inventory
    from labkit.errors import LabkitError

    path = configured_inventory(pytestconfig)
    if path is None:
        pytest.fail("labkit: no inventory; give --labkit-inventory PATH or set labkit_inventory in the ini file",
                    pytrace=False)
    try:
        return load_inventory(path)
    except LabkitError as exc:
        problem = exc
    pytest.fail(f"labkit: {problem}", pytrace=False)  # outside the except: no "during handling" chain


@pytest.fixture(scope="session")
def labkit_lab(labkit_inventory: Inventory, pytestconfig: pytest.Config) -> Iterator[LabSession]:
    """The lab of `labkit_inventory`, opened on --labkit-backend (default sim) once for the test
    session and closed after it. Tests share it: one that changes the lab should change it back."""
    from labkit.api import open_lab
    from labkit.errors import LabkitError

    try:
        session = open_lab(labkit_inventory, configured_backend(pytestconfig))
    except LabkitError as exc:
        problem = exc
    else:
        with session:
            yield session
        return
    pytest.fail(f"labkit: {problem}", pytrace=False)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> PlaybookFile | None:
    patterns = parent.config.getini("labkit_files")
    if any(fnmatch(file_path.name, pattern) for pattern in patterns):
        return PlaybookFile.from_parent(parent, path=file_path)
    return None


class StepFailed(Exception):
    """A playbook step that did not succeed (its result is the report)."""

    def __init__(self, result: StepResult) -> None:
        super().__init__(f"step {result.name!r} failed")
        self.result = result


class PlaybookFile(pytest.File):
    """A playbook: read at collection (the file alone: its errors name file and line), checked
    against its lab and run at setup, one item per step; the lab is closed after its last item."""

    inventory: Path | None = None  # the configured one, else the playbook's own
    lab: LabSession | None = None  # open from setup to teardown (pytest's Node has its own `session`)
    steps: Iterator[StepResult]
    results: list[StepResult]

    def collect(self) -> Iterator[PlaybookStep]:
        from labkit.playbook import load_playbook

        pb, _ = load_playbook(self.path)
        self.inventory = configured_inventory(self.config) or (Path(pb.inventory) if pb.inventory else None)
        for i, step in enumerate(pb.steps):
            item = PlaybookStep.from_parent(self, name=step.name, index=i, step=step)
            item.add_marker("labkit")
            yield item

    def repr_failure(self, excinfo: ExceptionInfo[BaseException],
                     style: TracebackStyle | None = None) -> str | TerminalRepr:
        from labkit.errors import InputError

        if isinstance(excinfo.value, InputError):
            return str(excinfo.value)  # file:line: field: message, one line each; no traceback
        return super().repr_failure(excinfo)

    def setup(self) -> None:
        """Open the lab and check the playbook against it; a problem fails every step with its message."""
        from labkit.api import open_lab
        from labkit.errors import LabkitError

        if self.inventory is None:
            pytest.fail(f"labkit: {self.path} names no inventory; set inventory: in it or give --labkit-inventory",
                        pytrace=False)
        self.results = []
        try:
            self.lab = open_lab(self.inventory, configured_backend(self.config))
            self.steps = self.lab.run_steps(self.lab.check(self.path))
            return
        except LabkitError as exc:
            problem = exc
        self.teardown()
        pytest.fail(f"labkit: {problem}", pytrace=False)

    def teardown(self) -> None:
        if self.lab is not None:
            self.lab.close()
            self.lab = None

    def result(self, index: int) -> StepResult:
        """Step `index`'s result, running the steps before it first (deselected ones included: each
        step runs on the lab its predecessors left)."""
        while len(self.results) <= index:
            self.results.append(next(self.steps))
        return self.results[index]


class PlaybookStep(pytest.Item):
    """One step of a collected playbook; fails with the step's errors, or its matrix and failing cells."""

    def __init__(self, *, index: int, step: Step, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.index = index
        self.step = step

    def runtest(self) -> None:
        assert isinstance(self.parent, PlaybookFile)
        result = self.parent.result(self.index)
        if not result.ok:
            raise StepFailed(result)

    def repr_failure(self, excinfo: ExceptionInfo[BaseException],
                     style: TracebackStyle | None = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, StepFailed):
            from labkit.api import failure_text

            return failure_text(excinfo.value.result)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = self.step.line - 1 if self.step.line is not None else None
        return self.path, line, f"{self.step.kind}: {self.step.name}"
