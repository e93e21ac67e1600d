"""The matrix contract: the real engine (runner.run_step with a PingMatrix) probes from inside the
guests, and cells whose verdict the model is sure of come out as the model says, through a channel
the backend really has."""

from __future__ import annotations

import pytest

from labkit.model import PingMatrix, Step
from labkit.runner import run_step
from tests.contract.subject import Subject


@pytest.mark.needs("matrix")
def test_cells_the_model_is_sure_of_are_observed_so(subject: Subject) -> None:
    by_source: dict[str, list[str]] = {}
    for source, target, _ in subject.cells:
        by_source.setdefault(source, []).append(target)
    cells = {}
    for source, targets in by_source.items():
        spec = PingMatrix(sources=[source], targets=targets, count=1, timeout=1.0, expect="model")
        step = run_step(Step(name=f"contract from {source}", kind="ping_matrix", spec=spec), subject.lab)
        assert step.error is None, step.error
        assert step.matrix is not None
        assert [(c.source, c.target) for c in step.matrix.cells] == [(source, t) for t in targets]
        cells.update({(c.source, c.target): c for c in step.matrix.cells})
    wrong = []
    for source, target, verdict in subject.cells:
        c = cells[(source, target)]
        if (c.expected, c.observed.verdict) != (verdict, verdict) or c.observed.via not in subject.backend.channels:
            wrong.append(f"{source} -> {target} ({c.address}): want {verdict}, the model says {c.expected} "
                         f"({c.expected_reason}), observed {c.observed.verdict} via {c.observed.via} "
                         f"({c.observed.reason})")
    assert wrong == [], f"channels of {subject.name}: {sorted(subject.backend.channels)}"
