"""The terminal view of a run. Colour only (never bold or italic), so a console with colour turned
off (NO_COLOR, not a TTY) prints plain text; the words and glyphs carry the meaning on their own.
A cell caught in an address conflict shows `? conflict` and what was seen (yellow: not judged), and
each conflict is listed once below the table with the cells it touches.
"""

from __future__ import annotations

import shutil
from typing import IO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from labkit.report.as_json import to_json
from labkit.report.as_junit import cell_message
from labkit.results import Cell, MatrixResult, RunResult


_WORD = {"reachable": "● reach", "unreachable": "○ unreach", "error": "! error", "no_address": "∅ no addr"}
_SHORT = {"reachable": "reach", "unreachable": "unreach", "error": "error", "no_address": "no addr"}
_SHOWN_PAIRS = 6  # cells named per conflict below the table


def make_console(file: IO[str] | None = None) -> Console:
    """A Console that keeps Rich's own colour rules (NO_COLOR, TTY detection, FORCE_COLOR).

    When the output is not a terminal, the width is at least 120 so a 6x6 matrix does not wrap.
    """
    console = Console(file=file)
    if not console.is_terminal:
        console = Console(file=file, width=max(shutil.get_terminal_size().columns, 120))
    return console


def _cell_text(cell: Cell | None) -> Text:
    if cell is None:
        return Text("·")
    if cell.unjudged_conflict:
        return Text(f"? conflict ({_SHORT[cell.observed.verdict]})", style="yellow")
    text = _WORD[cell.observed.verdict] + (" ?conflict" if cell.conflict is not None else "")
    if not cell.ok:
        if cell.expected is not None:
            text += f" (want {_SHORT[cell.expected]})"
        return Text(text, style="red")
    return Text(text, style="green" if cell.expected is not None else "")


def render_matrix(matrix: MatrixResult, console: Console) -> None:
    """Sources as rows, targets as columns; then the failing cells with address and reason."""
    by_pair = {(c.source, c.target): c for c in matrix.cells}
    table = Table(title=Text(matrix.step), title_style="", header_style="")
    table.add_column(Text("from \\ to"))
    for target in matrix.targets:
        table.add_column(Text(target))
    for source in matrix.sources:
        table.add_row(Text(source), *(_cell_text(by_pair.get((source, t))) for t in matrix.targets))
    console.print(table)
    for c in matrix.failed_cells():
        line = f"  ✗ {c.source} -> {c.target} ({c.address or 'no address'}): {cell_message(c)}"
        console.print(Text(line, style="red"), highlight=False)
    by_conflict: dict[str, list[Cell]] = {}
    for c in matrix.conflict_cells():
        by_conflict.setdefault(str(c.conflict), []).append(c)
    for conflict, cells in by_conflict.items():
        pairs = ", ".join(f"{c.source} -> {c.target}" for c in cells[:_SHOWN_PAIRS])
        more = f" and {len(cells) - _SHOWN_PAIRS} more" if len(cells) > _SHOWN_PAIRS else ""
        line = (f"  ? address conflict: {conflict}, not judged: "
                f"{len(cells)} cell{'s' if len(cells) != 1 else ''} ({pairs}{more})")
        console.print(Text(line, style="yellow"), highlight=False)


def render_run(run: RunResult, console: Console) -> None:
    """One line per step (with per-VM failures under it), each matrix, then a summary line."""
    console.print(Text(f"{run.playbook} on {run.backend}"), highlight=False)
    for step in run.steps:
        mark, style = ("✓", "green") if step.ok else ("✗", "red")
        console.print(Text(f"{mark} {step.kind} {step.name}", style=style), highlight=False)
        if step.error:
            console.print(Text(f"    step: {step.error}", style="red"), highlight=False)
        for vm, r in step.vms.items():
            if not r.ok:
                console.print(Text(f"    {vm}: {r.error or 'failed'}", style="red"), highlight=False)
            elif r.detail:
                console.print(Text(f"    {vm}: {r.detail}"), highlight=False)
        if step.matrix is not None:
            render_matrix(step.matrix, console)
    data = to_json(run)["summary"]
    summary = (
        f"{len(run.steps)} steps, {data['failed_steps']} failed; "
        f"{data['cells']} cells, {data['failed_cells']} failed"
    )
    if data.get("conflict_cells"):
        summary += f", {data['conflict_cells']} in an address conflict"
    console.print(Text(summary, style="green" if run.ok else "red"), highlight=False)
