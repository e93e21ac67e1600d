"""What `labkit run --check` found: per step, one line per thing a run would change, leave alone or
could not tell, kept as plain data so the terminal view, the JSON plan and the exit status all come
from one place (as labkit.results does for a run).

A plan never says more than it read: `unknown` is its own status, never folded into "no change",
because "this guest could not be read" and "this guest already says so" mean different things to
someone about to touch a lab. Unknown counts like a change for the exit status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# change: a run would change this; same: it already is so; unknown: could not tell (a guest that
# cannot be read, a kind with no preview that may or may not change anything); observe: the step only
# looks (ping_matrix, wait_for_ip) and is not run by --check
Status = Literal["change", "same", "unknown", "observe"]
STATUSES: tuple[Status, ...] = ("change", "same", "unknown", "observe")


@dataclass(frozen=True, slots=True)
class PlanItem:
    """One line of the plan. `text` is the whole line as shown ("centos: eth0 nat -> lab2"); `vm`
    names the VM it concerns (None: the step as a whole, or the host); `path` and `diff` are set for
    a guest config file (`diff`: a unified diff from the file as it is to what a run would write)."""

    status: Status
    text: str
    vm: str | None = None
    path: str | None = None
    diff: str | None = None


@dataclass(slots=True)
class StepPlan:
    name: str
    kind: str
    items: list[PlanItem] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for i in self.items if i.status == status)


@dataclass(slots=True)
class Plan:
    playbook: str
    backend: str
    steps: list[StepPlan] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(s.count(status) for s in self.steps)

    @property
    def changes(self) -> bool:
        """True when a run would change something, or when the plan could not tell."""
        return any(i.status in ("change", "unknown") for s in self.steps for i in s.items)

    @property
    def exit_status(self) -> int:
        """0: a run would change nothing; 1: it would change something, or something could not be read."""
        return 1 if self.changes else 0
