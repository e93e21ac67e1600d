"""A run as Markdown: for lab hand-outs and pull-request comments (GitHub, GitLab, pandoc).

The same words and glyphs as the terminal (labkit.report.terminal), in GitHub-flavoured Markdown
tables: one table of steps, one table per matrix with every target named in its header (a page
scrolls sideways where a terminal cannot), and the failing cells listed in words under it. Every
name and message from a lab is escaped, so a VM called `a|b` or `*x*` cannot break a table or
turn into emphasis.
"""

from __future__ import annotations

import os
import re

from labkit.report.as_json import write_atomic
from labkit.report.as_junit import cell_message
from labkit.report.terminal import cell_words, plural, step_title, summary_line
from labkit.results import MatrixResult, RunResult, StepResult

_SPECIAL = re.compile(r"([\\`*_\[\]<|~#])")  # `>` means something only at a line's start


def md(text: str) -> str:
    """`text` as literal Markdown: punctuation that means something is backslash-escaped, `&` is
    an entity (so `&lt;` stays as typed), and a line break becomes a space (one table row)."""
    text = " ".join(text.splitlines())
    return _SPECIAL.sub(r"\\\1", text.replace("&", "&amp;"))


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _step_outcome(step: StepResult) -> str:
    parts = []
    if step.error:
        parts.append(md(step.error))
    for vm, r in step.vms.items():
        parts.append(f"{md(vm)}: {md(r.error or 'failed') if not r.ok else md(r.detail or 'ok')}")
    if step.matrix is not None:
        failed = len(step.matrix.failed_cells())
        parts.append(f"{failed} of {plural(len(step.matrix.cells), 'cell')} did not hold" if failed
                     else f"{plural(len(step.matrix.cells), 'cell')}, all held")
    return "; ".join(parts)


def matrix_markdown(matrix: MatrixResult, heading: str = "###") -> str:
    """One matrix: a heading, the table (sources as rows, targets as columns), and its failing
    cells and address conflicts in words."""
    by_pair = {(c.source, c.target): c for c in matrix.cells}
    lines = [f"{heading} {md(matrix.step)}", "",
             _row("from \\\\ to", *(md(t) for t in matrix.targets)),
             _row(*(["---"] * (len(matrix.targets) + 1)))]
    for source in matrix.sources:
        lines.append(_row(f"**{md(source)}**", *(md(cell_words(by_pair.get((source, t))).plain)
                                                  for t in matrix.targets)))
    notes = [f"- ✗ {md(c.source)} -> {md(c.target)} ({md(c.address or 'no address')}): {md(cell_message(c))}"
             for c in matrix.failed_cells()]
    conflicts: dict[str, int] = {}
    for c in matrix.conflict_cells():
        conflicts[str(c.conflict)] = conflicts.get(str(c.conflict), 0) + 1
    notes += [f"- ? address conflict: {md(conflict)}, not judged: {plural(n, 'cell')}"
              for conflict, n in conflicts.items()]
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def run_markdown(run: RunResult) -> str:
    """The whole run: a title saying whether it passed, the summary, a table of steps, then each matrix."""
    verdict = "passed" if run.ok else "failed"
    out = [f"## {md(f'{run.playbook} on {run.backend}')}: {verdict}", "", md(summary_line(run)), "",
           _row("", "step", "outcome"), _row("---", "---", "---")]
    for step in run.steps:
        out.append(_row("✓" if step.ok else "✗", md(step_title(step.kind, step.name)), _step_outcome(step)))
    text = "\n".join(out) + "\n"
    for matrix in run.matrices:
        text += "\n" + matrix_markdown(matrix)
    return text


def prediction_markdown(lab: str, matrix: MatrixResult, conflicts: list[str] | None = None) -> str:
    """`labkit predict --markdown`: the model's matrix for the lab as described, and why each cell
    that is not reachable is not (nothing was probed: nothing passed or failed)."""
    lines = [f"## {md(lab)}: what the model predicts", "",
             "For the lab as its inventory describes it; nothing was probed.", "", matrix_markdown(matrix).rstrip("\n")]
    why = [f"- {md(c.source)} -> {md(c.target)} ({md(c.address or 'no address')}): {md(c.observed.verdict)}: "
           f"{md(c.observed.reason or '')}" for c in matrix.cells if c.observed.verdict != "reachable"]
    why += [f"- address conflict: {md(c)}" for c in conflicts or ()]
    return "\n".join(lines + ([""] + why if why else [])) + "\n"


def write_markdown(run: RunResult, path: str | os.PathLike[str]) -> None:
    """Write `run_markdown(run)` atomically (UTF-8, LF line ends)."""
    write_atomic(path, run_markdown(run))
