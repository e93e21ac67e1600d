"""labkit's public Python API: load and check, open a lab, run playbooks, steps and matrices, ask the model.

`import labkit` exports these names (labkit/__init__.py, `__all__`); every other module is internal
and may change. The CLI, the pytest plugin, a script and a notebook all take this one path:
files are loaded and checked before anything is touched (bad input raises InputError naming the
file, line and field), a lab is opened through its backend (`LabSession`, closed on exit), and
what comes back is the plain data of labkit.results (`RunResult`, `MatrixResult`, `Cell`), from
which every report is written. The model answers on a `LabModel`: the lab as its inventory
describes it (`describe`), or as its backend reports it now (`LabSession.observe`).
"""

from __future__ import annotations

import io
import os
from contextlib import ExitStack
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from labkit import backends
from labkit.described import described_state
from labkit.endpoints import EndpointError, EndpointParser, default_endpoints
from labkit.errors import InputError, InputErrors, LabkitError
from labkit.inventory import inventory_from_data
from labkit.inventory import load_inventory as _load_inventory_file
from labkit.lablock import lab_lock
from labkit.matrix.engine import predicted_matrix
from labkit.model import Inventory, PingMatrix, Playbook, Step
from labkit.observe import observe
from labkit.playbook import check_against, load_checked, playbook_from_data, source_problem
from labkit.playbook import load_playbook as _load_playbook_file
from labkit.predict import Predictor, conflicts
from labkit.protocols import Lab
from labkit.results import MatrixResult, RunResult, StepResult
from labkit.runner import Progress, run_playbook, run_step
from labkit.state import LabState
from labkit.topology import Topology
from labkit.validation import validate
from labkit.yamlsrc import Source

PathLike = str | os.PathLike[str]
InventoryLike = Inventory | Mapping[str, Any] | PathLike  # a loaded inventory, its data, or its file
PlaybookLike = Playbook | Mapping[str, Any] | PathLike
StepLike = Step | Mapping[str, Any]  # a Step, or one playbook step: {"set_mode": {...}, "name": ...}


def load_inventory(inventory: InventoryLike) -> Inventory:
    """An inventory from its YAML file or its data (a mapping shaped like the file), checked as
    `labkit check` checks it; an Inventory is returned as it is. Reads nothing but the file.

    Raises InputError (InputErrors for several) naming the file ("<data>" for a mapping), line and field."""
    if isinstance(inventory, Inventory):
        return inventory
    if isinstance(inventory, Mapping):
        return inventory_from_data(dict(inventory))
    return _load_inventory_file(Path(inventory))


def load_playbook(path: PathLike, inventory: InventoryLike | None = None, *,
                  backend: str | None = None) -> tuple[Playbook, Inventory]:
    """A playbook checked against its inventory, as `labkit run` checks it before touching anything:
    every VM, network, interface and endpoint it names exists, static addresses never collide, and
    each step is one the lab `backend` (default: the inventory's own) can do.

    `inventory` defaults to the one the playbook names. Returns the playbook and that inventory,
    completed by its backend (a Workstation host's VMnets are read: the only I/O). Raises
    InputErrors with every problem of both files, each with its file, line and field."""
    if inventory is None or isinstance(inventory, (str, os.PathLike)):
        return load_checked(Path(path), None if inventory is None else Path(inventory),
                            complete=backends.complete_inventory,
                            capabilities=lambda inv: backends.capabilities(inv, backend), backend=backend)
    inv = backends.complete_inventory(load_inventory(inventory))
    pb, source = _load_playbook_file(Path(path))
    check_against(pb, source, inv, backends.capabilities(inv, backend), backend)
    return pb, inv


def open_lab(inventory: InventoryLike, backend: str | None = None, *, workers: int = 8,
             wait: bool = False) -> LabSession:
    """Open the lab `inventory` describes on `backend` (default: the inventory's `backend.type`).

    Use it as a context manager: the lab is closed on exit. `workers`: VMs or matrix sources
    handled at once. The session holds the lab's lock (labkit/lablock.py) until it is closed, as
    every changing CLI command does, so a script and a `labkit run` never interleave on one lab:
    LabBusy names the holder at once, or `wait` waits for it. Raises InputError for a bad inventory
    or an unknown backend, LabkitError when the lab is not there (a netns lab not up, a vCenter
    that refuses the login)."""
    inv = load_inventory(inventory)
    held = ExitStack()
    held.enter_context(lab_lock(inv, backend, wait=wait))
    try:
        lab = backends.open_lab(inv, backend)
    except BaseException:
        held.close()
        raise
    return LabSession(lab, workers=workers, held=held)


def describe(inventory: InventoryLike) -> LabModel:
    """The model's view of the lab as its inventory describes it, before any step runs (a
    Workstation inventory that leaves a network's facts to the host reads them first)."""
    return LabModel(described_state(backends.complete_inventory(load_inventory(inventory))))


def predict_matrix(inventory: InventoryLike, sources: list[str] | None = None,
                   targets: list[str] | None = None) -> MatrixResult:
    """The model's matrix for the lab as described (`describe(inventory).predict(...)`)."""
    return describe(inventory).predict(sources, targets)


def explain(inventory: InventoryLike, source: str, target: str) -> str:
    """Why `source` does or does not reach `target` in the lab as described, in one line."""
    return describe(inventory).explain(source, target)


class LabSession:
    """An open lab: run playbooks, steps and matrices on it, in the order called; closed on exit.

    Every playbook and step is checked against this lab's inventory and backend before it runs
    (InputError with file, line and field; nothing touched). A failed step or cell is a result,
    never an exception: look at `.ok`, `failed_cells()`, or use `assert_matrix`."""

    def __init__(self, lab: Lab, *, workers: int = 8, held: ExitStack | None = None) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.lab = lab  # the backend's Lab (labkit.protocols): internal, for what this class does not offer
        self.workers = workers
        self._held = held  # the lab's lock, when this session took it (open_lab), released on close
        self._closed = False

    @property
    def inventory(self) -> Inventory:
        """The inventory the lab was opened with, completed by its backend."""
        return self.lab.inventory

    @property
    def backend(self) -> str:
        return self.lab.backend

    @property
    def closed(self) -> bool:
        return self._closed

    def __repr__(self) -> str:
        return f"<LabSession {self.inventory.lab} on {self.backend}{' (closed)' if self._closed else ''}>"

    def __enter__(self) -> LabSession:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the lab's connections (idempotent)."""
        if not self._closed:
            self._closed = True
            try:
                self.lab.close()
            finally:
                if self._held is not None:
                    self._held.close()

    def check(self, playbook: PlaybookLike) -> Playbook:
        """`playbook` (a file, its data, or a Playbook) checked against this lab: its inventory (which
        replaces the one the playbook names, as `labkit run -i` does) and its backend's abilities.
        Raises InputErrors, each with file, line and field (no line for a Playbook built in code)."""
        if isinstance(playbook, Playbook):
            pb, source = playbook, Source(playbook.path, None, {})
        elif isinstance(playbook, Mapping):
            pb, source = playbook_from_data(dict(playbook))
        else:
            pb, source = _load_playbook_file(Path(playbook))
        return self._against_lab(pb, source)

    def _against_lab(self, pb: Playbook, source: Source) -> Playbook:
        check_against(pb, source, self.inventory, backends.capabilities(self.inventory, self.backend), self.backend)
        return pb

    def run(self, playbook: PlaybookLike, *, progress: Progress | None = None) -> RunResult:
        """Check, then run every step of `playbook` in order; a failed step does not stop the run."""
        pb = self.check(playbook)
        self._usable()
        return run_playbook(pb, self.lab, progress=progress, workers=self.workers)

    def run_steps(self, playbook: PlaybookLike) -> Iterator[StepResult]:
        """Check `playbook` now, then run its steps one at a time as the iterator is advanced (the
        pytest plugin runs one test item per step this way). Steps after the backend was lost are not run."""
        return self._steps(self.check(playbook))

    def _steps(self, pb: Playbook) -> Iterator[StepResult]:
        for step in pb.steps:
            self._usable()
            lost = self.lab.lost
            yield (StepResult(step.name, step.kind, error=f"not run: {lost}") if lost is not None
                   else run_step(step, self.lab, self.workers))

    def run_step(self, step: StepLike) -> StepResult:
        """Run one step, checked as a playbook of that step alone would be. A mapping is written as
        in a playbook: `{"set_mode": {"vms": ["win7"], "mode": "nat"}, "name": "to NAT"}`."""
        if isinstance(step, Step):
            pb = Playbook(name=step.name, path="<step>", inventory=None, steps=[step])
            source = Source("<step>", None, {})
        else:
            pb, source = playbook_from_data({"name": "step", "steps": [dict(step)]}, "<step>")
        pb = self._against_lab(pb, source)
        self._usable()
        return run_step(pb.steps[0], self.lab, self.workers)

    def matrix(self, sources: list[str] | None = None, targets: list[str] | None = None, *,
               count: int = 2, timeout: float = 1.0) -> MatrixResult:
        """Ping every source against every target now, each cell compared with the model's
        expectation for the lab as it is now. Sources and targets default to the host and every VM
        against the host, its adapters, the NAT devices, the router, the externals and every VM.
        Raises InputError for a bad endpoint, LabkitError when the lab could not be probed at all."""
        step = self.run_step(matrix_step(self.inventory, sources, targets, count=count, timeout=timeout))
        if step.matrix is None:
            raise LabkitError(step.error or "the matrix did not run")
        return step.matrix

    def observe(self) -> LabModel:
        """The model's view of the lab as its backend reports it now (after the steps run so far)."""
        self._usable()
        return LabModel(observe(self.lab))

    def _usable(self) -> None:
        if self._closed:
            raise LabkitError("this lab session is closed")


class LabModel:
    """The model of VMware networking (docs/model.md) applied to one state of a lab: the verdict
    for any pair of endpoints, with the reason. Nothing is probed, nothing touched."""

    def __init__(self, state: LabState) -> None:
        self.state = state
        self.topology = Topology(state)

    @property
    def inventory(self) -> Inventory:
        return self.state.inventory

    @property
    def conflicts(self) -> list[str]:
        """Every address held by more than one node on one segment ("10.0.0.5 on nat: a, b")."""
        return conflicts(self.topology)

    def predict(self, sources: list[str] | None = None, targets: list[str] | None = None) -> MatrixResult:
        """The model's matrix: each cell's `observed` is the model's verdict (via "model"), its
        `reason` why. A cell the model will not guess (an address conflict) is an `error` cell
        carrying the conflict. Defaults as for LabSession.matrix; InputError for a bad endpoint."""
        spec = matrix_spec(self.inventory, sources, targets, probed=False)
        return predicted_matrix(self.topology, "prediction", spec.sources, spec.targets)

    def explain(self, source: str, target: str) -> str:
        """One line: `source -> target (address): verdict: reason`, as the model's walk of the
        request and its reply found it. InputError for a bad endpoint."""
        matrix_spec(self.inventory, [source], [target], probed=False)  # the endpoints' errors, worded as a matrix's
        src, end = self.topology.resolve(source), self.topology.resolve(target)
        predictor = Predictor(self.topology)
        verdict = predictor.verdict(src.node, end)
        conflict = predictor.conflict(src, end, verdict)
        word, why = verdict.expectation or "not predicted", verdict.reason
        if conflict is not None and verdict.conflict is None:
            word, why = "not predicted", f"address conflict: {conflict}"
        said = why if why.startswith(word) else f"{word}: {why}"
        return f"{source} -> {target} ({end.address or 'no address'}): {said}"


def matrix_spec(inventory: Inventory, sources: list[str] | None = None, targets: list[str] | None = None, *,
                count: int = 2, timeout: float = 1.0, probed: bool = True) -> PingMatrix:
    """A ping_matrix spec expecting the model's verdicts (sources and targets default to
    endpoints.default_endpoints). Every bad name, and every source nothing can be run on (a NAT
    device, a DHCP server, an address), is reported at once: InputErrors, field "sources" or "targets"."""
    dsrc, dtgt = default_endpoints(inventory)
    sources, targets = list(sources or dsrc), list(targets or dtgt)
    endpoints = EndpointParser(inventory)
    errors: list[InputError] = []
    for field, refs in (("sources", sources), ("targets", targets)):
        for ref in refs:
            try:
                name = endpoints.parse(ref)
            except EndpointError as exc:
                errors.append(InputError(exc.message, field=field))
                continue
            why = source_problem(name, inventory, probed) if field == "sources" else None
            if why:
                errors.append(InputError(why, field=field))
    if errors:
        raise InputErrors(errors)
    data = {"sources": sources, "targets": targets, "count": count, "expect": "model",
            "timeout": float(timeout) if isinstance(timeout, int) and not isinstance(timeout, bool) else timeout}
    return validate(PingMatrix, data, Source("matrix", data, {}))


def matrix_step(inventory: Inventory, sources: list[str] | None = None, targets: list[str] | None = None, *,
                count: int = 2, timeout: float = 1.0, name: str = "matrix") -> Step:
    """A ping_matrix step for `labkit matrix` and LabSession.matrix (see matrix_spec)."""
    return Step(name=name, kind="ping_matrix", spec=matrix_spec(inventory, sources, targets, count=count,
                                                                 timeout=timeout))


def assert_matrix(result: RunResult | StepResult | MatrixResult) -> None:
    """Pass when every step succeeded and every cell held; else raise AssertionError whose message
    draws each failing matrix as `labkit run` does, with every failing cell and its reasons."""
    __tracebackhide__ = True  # pytest shows the caller's line, not this one
    if not result.ok:
        raise AssertionError(failure_text(result))


def failure_text(result: RunResult | StepResult | MatrixResult) -> str:
    """Plain text (no colour) of what failed in `result`: each failed step with its error and its
    VMs' errors, each failing matrix drawn with its failing cells, what was seen and why, and what
    the model says of each."""
    from rich.console import Console
    from rich.text import Text

    from labkit.report.terminal import render_matrix

    if isinstance(result, MatrixResult):
        steps = [StepResult(result.step, "ping_matrix", matrix=result)]
    elif isinstance(result, StepResult):
        steps = [result]
    else:
        steps = result.failed_steps()
    buf = io.StringIO()
    console = Console(file=buf, width=200, color_system=None, force_terminal=False, no_color=True,
                      highlight=False, emoji=False, soft_wrap=False)

    def say(line: str) -> None:
        console.print(Text(line), highlight=False)

    for step in steps:
        if step.ok:
            continue
        matrix = step.matrix
        cells = f": {len(matrix.failed_cells())} of {len(matrix.cells)} cells did not hold" if matrix else ""
        say(f"step {step.name!r} ({step.kind}) failed{cells}")
        if step.error:
            say(f"  {step.error}")
        for vm, r in step.vms.items():
            if not r.ok:
                say(f"  {vm}: {r.error or 'failed'}")
        if matrix is not None and not matrix.ok:
            render_matrix(matrix, console)
            for c in matrix.failed_cells():
                if c.expected_reason and c.expected_reason != c.observed.reason:
                    say(f"  the model on {c.source} -> {c.target}: {c.expected_reason}")
    return "\n".join(line.rstrip() for line in buf.getvalue().rstrip().splitlines())
