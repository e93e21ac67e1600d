"""The plan of `labkit run --check` on the terminal and as JSON (`labkit-plan/1`, docs/report-json.md).

The terminal view is one line per thing a run would change, leave alone or could not tell, under
its step, and with --diff each config file's unified diff under its line. Colour only, as the run's
view (labkit.report.terminal): the words carry the meaning without it.
"""

from __future__ import annotations

import json
import os
from typing import Any

from rich.console import Console
from rich.text import Text

from labkit.plan_results import STATUSES, Plan, StepPlan
from labkit.report.as_json import write_atomic
from labkit.report.terminal import step_title

PLAN_SCHEMA = "labkit-plan/1"

_STYLE = {"change": "yellow", "same": "green", "unknown": "red", "observe": ""}
_DIFF_STYLE = {"+": "green", "-": "red", "@": "cyan"}


def _mark(step: StepPlan) -> tuple[str, str]:
    """A step's mark: ? something unknown, ~ something changes, = nothing changes, · it only observes."""
    statuses = {i.status for i in step.items}
    if "unknown" in statuses:
        return "?", "red"
    if "change" in statuses:
        return "~", "yellow"
    return ("=", "green") if "same" in statuses else ("·", "")


def summary_line(plan: Plan) -> str:
    counts = (f"{plan.count('change')} to change, {plan.count('same')} unchanged, "
              f"{plan.count('unknown')} unknown, {plan.count('observe')} observing only")
    if not plan.changes:
        return f"{counts}: a run would change nothing"
    why = "would change the lab" if plan.count("unknown") == 0 else "may change the lab (not everything could be read)"
    return f"{counts}: a run {why}"


def render_plan(plan: Plan, console: Console, diff: bool = False) -> None:
    """The plan, step by step; with `diff` each changed config file's unified diff below its line."""
    console.print(Text(f"{plan.playbook} on {plan.backend}: --check, nothing was changed"), highlight=False)
    for step in plan.steps:
        mark, style = _mark(step)
        console.print(Text(f"{mark} {step_title(step.kind, step.name)}", style=style), highlight=False)
        for item in step.items:
            console.print(Text(f"    {item.text}", style=_STYLE[item.status]), highlight=False, soft_wrap=True)
            if diff and item.diff:
                for line in item.diff.splitlines():
                    console.print(Text(f"      {line}", style=_DIFF_STYLE.get(line[:1], "")), highlight=False,
                                  soft_wrap=True)
    console.print(Text(summary_line(plan), style="yellow" if plan.changes else "green"), highlight=False)


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The plan as plain data, in the documented key order."""
    return {
        "schema": PLAN_SCHEMA,
        "playbook": plan.playbook,
        "backend": plan.backend,
        "changes": plan.changes,
        "steps": [
            {
                "name": s.name,
                "kind": s.kind,
                "items": [{"status": i.status, "text": i.text, "vm": i.vm, "path": i.path, "diff": i.diff}
                          for i in s.items],
            }
            for s in plan.steps
        ],
        "summary": {status: plan.count(status) for status in STATUSES},
    }


def write_plan_json(plan: Plan, path: str | os.PathLike[str]) -> None:
    write_atomic(path, json.dumps(plan_to_json(plan), indent=2, ensure_ascii=False) + "\n")
