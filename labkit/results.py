"""Results of a run: per-VM step outcomes and per-cell matrix outcomes.

Kept as plain data so reports (terminal, JSON, JUnit) and the exit status are computed from one
place. `error` is a verdict of its own: a cell whose probe could not run is never counted as
unreachable, because "I could not ask" and "no reply" mean different things to a lab trainer.
`no_address` is one too, seen only where a playbook expects it: the cell's source or target had no
address when the matrix ran (a lab that breaks DHCP on purpose), so nothing was probed.
A cell caught in an address conflict (two holders of one address, docs/model.md rule 10) carries
an `AddressConflict`: the model has no expectation for it, so it is reported as a conflict rather
than judged, unless the playbook itself states what it expects there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Verdict = Literal["reachable", "unreachable", "error", "no_address"]
Expectation = Literal["reachable", "unreachable", "no_address"]


@dataclass(frozen=True, slots=True)
class AddressConflict:
    """One address held by more than one node on one segment: who answers there is not the model's
    to guess. `holders` are the nodes' names, sorted; `segment` is where they meet (a network's
    name, "lan" for the physical LAN)."""

    address: str
    holders: tuple[str, ...]
    segment: str | None = None

    def __str__(self) -> str:
        where = f" on {self.segment}" if self.segment else ""
        return f"{self.address} is held by {' and '.join(self.holders)}{where}"


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
    conflict: AddressConflict | None = None  # the source's or target's address (or one on the way) is held twice

    @property
    def ok(self) -> bool:
        """A cell holds when what was seen is what was expected; with no expectation, when a verdict
        was seen, or when it is an address conflict (reported as one, never counted as failed)."""
        if self.expected is None:
            return self.conflict is not None or self.observed.verdict in ("reachable", "unreachable")
        return self.observed.verdict == self.expected

    @property
    def unjudged_conflict(self) -> bool:
        """A conflict cell nobody stated an expectation for: shown as a conflict, neither passed nor failed."""
        return self.conflict is not None and self.expected is None

    @property
    def verdict(self) -> Verdict:
        """What was seen: `observed.verdict`."""
        return self.observed.verdict

    @property
    def reason(self) -> str | None:
        """Why, in words: what the probe reported (no reply, an error), else the model's explanation."""
        return self.observed.reason or self.expected_reason

    @property
    def rtt(self) -> float | None:
        """The average round trip in ms, when replies came (`observed.rtt_avg_ms`)."""
        return self.observed.rtt_avg_ms


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

    def conflict_cells(self) -> list[Cell]:
        return [c for c in self.cells if c.conflict is not None]

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
    topology: TopologySummary | None = None  # the lab as a ping_matrix step saw it (HTML report)

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

    def matrix(self, step: str) -> MatrixResult:
        """The matrix of the step named `step` (KeyError naming the run's matrix steps)."""
        for s in self.steps:
            if s.name == step and s.matrix is not None:
                return s.matrix
        raise KeyError(f"no matrix step {step!r} (matrix steps: {', '.join(m.step for m in self.matrices) or 'none'})")

    def cell(self, source: str, target: str, step: str | None = None) -> Cell:
        """The cell `source -> target` of matrix step `step`; without `step`, of the one matrix that
        has the pair (a KeyError names the steps when several do: a playbook often probes a pair
        before and after a change, and which one is meant is not guessed)."""
        if step is not None:
            return self.matrix(step).cell(source, target)
        found = [(m.step, c) for m in self.matrices for c in m.cells if c.source == source and c.target == target]
        if len(found) == 1:
            return found[0][1]
        if not found:
            raise KeyError(f"no matrix of this run has {source} -> {target}")
        raise KeyError(f"{source} -> {target} is in {len(found)} matrices ({', '.join(repr(s) for s, _ in found)}): "
                       "name one with step=")

    def failed_steps(self) -> list[StepResult]:
        return [s for s in self.steps if not s.ok]

    def failed_cells(self) -> list[Cell]:
        """Every matrix's cells that did not hold, in step order."""
        return [c for m in self.matrices for c in m.failed_cells()]


# ---- the lab as a matrix saw it: plain strings, for drawing (labkit/report/as_html.py) ----------


@dataclass(frozen=True, slots=True)
class NetworkSummary:
    name: str  # the inventory's mode name ("nat")
    type: str  # nat, hostonly, bridged, custom
    backend_network: str | None = None  # VMnet8, a port group
    subnet: str | None = None
    host_address: str | None = None  # the host's virtual adapter on it; None: the host has none here
    host_enabled: bool | None = None
    gateway: str | None = None  # the NAT device


@dataclass(frozen=True, slots=True)
class AdapterSummary:
    interface: str
    network: str | None  # None: disconnected
    address: str | None = None  # with its prefix ("10.0.0.130/24")


@dataclass(frozen=True, slots=True)
class VMSummary:
    name: str
    os: str
    powered_on: bool
    adapters: tuple[AdapterSummary, ...] = ()


@dataclass(frozen=True, slots=True)
class TopologySummary:
    """Networks, the host's adapters on or off, and each VM's adapters by network, at one moment."""

    lab: str
    host_address: str  # the host on the physical LAN
    lan_subnet: str
    router: str
    networks: tuple[NetworkSummary, ...] = ()
    vms: tuple[VMSummary, ...] = ()
    externals: tuple[tuple[str, str], ...] = ()  # (name, address): "internet"
