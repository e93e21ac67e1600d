"""Results of a run: per-VM step outcomes and per-cell matrix outcomes.

Kept as plain data so reports (terminal, JSON, JUnit) and the exit status are computed from one
place. `error` is a verdict of its own: a cell whose probe could not run is never counted as
unreachable, because "I could not ask" and "no reply" mean different things to a lab trainer.
`no_address` is one too, seen only where a playbook expects it: the cell's source or target had no
address when the matrix ran (a lab that breaks DHCP on purpose), so nothing was probed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Verdict = Literal["reachable", "unreachable", "error", "no_address"]
Expectation = Literal["reachable", "unreachable", "no_address"]


@dataclass(frozen=True, slots=True)
class Observation:
    """What a probe saw. loss_pct and rtt_avg_ms are None when no statistics were printed."""

    verdict: Verdict
    loss_pct: float | None = None
    rtt_avg_ms: float | None = None
    reason: str | None = None
    via: str | None = None  # transport kind that carried the probe: "sim", "ssh", "console"


@dataclass(slots=True)  # not frozen: a million-cell matrix builds a million of these, and frozen costs 2x
class Cell:
    source: str
    target: str
    address: str | None
    expected: Expectation | None
    observed: Observation
    expected_reason: str | None = None  # the model's explanation, when the expectation came from it

    @property
    def ok(self) -> bool:
        """A cell holds when nothing was expected of it, or when what was seen is what was expected."""
        if self.expected is None:
            return self.observed.verdict in ("reachable", "unreachable")
        return self.observed.verdict == self.expected


@dataclass(slots=True)
class MatrixResult:
    step: str
    sources: list[str]
    targets: list[str]
    cells: list[Cell]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.cells)

    def failed_cells(self) -> list[Cell]:
        return [c for c in self.cells if not c.ok]

    def cell(self, source: str, target: str) -> Cell:
        for c in self.cells:
            if c.source == source and c.target == target:
                return c
        raise KeyError((source, target))


@dataclass(frozen=True, slots=True)
class VMResult:
    ok: bool
    error: str | None = None
    detail: str | None = None  # e.g. "changed", "unchanged", "10.0.0.132/24 via dhcp"


@dataclass(slots=True)
class StepResult:
    name: str
    kind: str
    vms: dict[str, VMResult] = field(default_factory=dict)
    matrix: MatrixResult | None = None
    error: str | None = None  # a failure of the step as a whole (not of one VM)

    @property
    def ok(self) -> bool:
        if self.error:
            return False
        if any(not r.ok for r in self.vms.values()):
            return False
        return self.matrix is None or self.matrix.ok


@dataclass(slots=True)
class RunResult:
    playbook: str
    backend: str
    steps: list[StepResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)

    @property
    def matrices(self) -> list[MatrixResult]:
        return [s.matrix for s in self.steps if s.matrix is not None]
