"""The terminal view of a run. Colour only (never bold or italic), so a console with colour turned
off (NO_COLOR, not a TTY) prints plain text; the words and glyphs carry the meaning on their own.
A cell caught in an address conflict shows `? conflict` and what was seen (yellow: not judged), and
each conflict is listed once below the table with the cells it touches.

A matrix always fits the console, and no cell is ever cut or wrapped onto a second line (a cell
read as `rea…` or as `●` over `reach` is a cell misread). The widest layout that fits is chosen:
  1. targets by name, cells in words (`○ unreach (want reach)`);
  2. targets by number, with a legend of the numbers below, cells in words;
  3. targets by number, cells as glyphs (`○`, and `○✗` where the cell did not hold);
  4. as 3, split into several tables of as many columns as fit, each repeating the sources.
Every failing cell is listed below in words whatever the layout, so nothing is only a glyph.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, ConsoleRenderable, RenderHook
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from labkit.report.as_json import to_json
from labkit.report.as_junit import cell_message
from labkit.results import Cell, MatrixResult, RunResult, StepResult

_WORD = {"reachable": "● reach", "unreachable": "○ unreach", "error": "! error", "no_address": "∅ no addr"}
_SHORT = {"reachable": "reach", "unreachable": "unreach", "error": "error", "no_address": "no addr"}
_GLYPH = {"reachable": "●", "unreachable": "○", "error": "!", "no_address": "∅"}
_VERDICT_WORD = {"reachable": "reachable", "unreachable": "unreachable", "error": "error", "no_address": "no address"}
_FAILED, _CONFLICT = "✗", "?"
_SHOWN_PAIRS = 6  # cells named per conflict below the table
_CORNER = "from \\ to"
# A table's width beyond its columns' text: a border left of each column and one at the right
# end, and one space of padding each side of every column (Rich's default box and padding).
_PER_COLUMN, _PER_TABLE = 3, 1


def make_console(file: IO[str] | None = None) -> Console:
    """A Console that keeps Rich's own colour rules (NO_COLOR, TTY detection, FORCE_COLOR), and
    prints what others wrote as text: no Rich markup or emoji codes in strings, and every control
    character escaped (`EscapeControls`), whoever renders to it.

    When the output is not a terminal, the width is at least 120 so a 6x6 matrix does not wrap.
    """
    console = Console(file=file, markup=False, emoji=False, highlight=False)
    if not console.is_terminal:
        console = Console(file=file, width=max(shutil.get_terminal_size().columns, 120), markup=False, emoji=False,
                          highlight=False)
    console.push_render_hook(EscapeControls())
    return console


# Characters a terminal acts on rather than shows (C0 but newline and tab, DEL, C1: cursor moves,
# colours, titles, OSC 8 links, bells, backspaces that overwrite), the invisible ones that reorder
# or hide text (bidi overrides and isolates, zero-width marks, separators), and what is no text at
# all (a lone surrogate from undecodable guest bytes would stop the output with UnicodeEncodeError).
_ACTS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069"
                   "\ud800-\udfff\ufeff\ufffe\uffff]")


def escaped(text: str) -> str:
    """`text` with each such character written as its Python escape (ESC -> `\\x1b`, RLO ->
    `\\u202e`), so a VM name, a guest's ping output or an error can neither colour, move, retitle
    nor link the terminal, nor reorder what it shows."""
    return _ACTS.sub(lambda m: repr(m.group())[1:-1], text)


def printable(text: object) -> str:
    """One line of `text` for a terminal: escaped, newlines and tabs too."""
    return escaped(str(text)).replace("\n", "\\n").replace("\t", "\\t")


class EscapeControls(RenderHook):
    """Every renderable printed to the console is rendered, then the text of its segments escaped
    (Rich's own control segments, which move the cursor for a progress bar, are kept): labkit's
    renderers, and anyone else's printing to a labkit console, show names and guest output as text."""

    def process_renderables(self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        return [_Escaped(r) for r in renderables]


class _Escaped:
    def __init__(self, inner: ConsoleRenderable) -> None:
        self.inner = inner

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        for segment in console.render(self.inner, options):
            if segment.control or not _ACTS.search(segment.text):
                yield segment
            else:
                yield Segment(escaped(segment.text), segment.style)


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 step', '2 steps', '0 cells' ('3 matrices' with `many`)."""
    return f"{n} {word}" if n == 1 else f"{n} {many or word + 's'}"


def step_title(kind: str, name: str) -> str:
    """A step's line: its kind and name, or only the name when it is the default `KIND #N`
    (so an unnamed step reads `configure_guest #2`, not `configure_guest configure_guest #2`)."""
    return name if name == kind or name.startswith(f"{kind} #") else f"{kind} {name}"


def cell_words(cell: Cell | None) -> Text:
    """A cell in words: `● reach`, `○ unreach (want reach)` (red), `? conflict (reach)` (yellow)."""
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


def cell_glyph(cell: Cell | None) -> Text:
    """A cell in one or two characters: the verdict's glyph, `?` for a conflict, `✗` when it did not hold."""
    if cell is None:
        return Text("·")
    if cell.unjudged_conflict:
        return Text(_CONFLICT, style="yellow")
    text = _GLYPH[cell.observed.verdict] + (_CONFLICT if cell.conflict is not None else "")
    if not cell.ok:
        return Text(text + _FAILED, style="red")
    return Text(text, style="green" if cell.expected is not None else "")


@dataclass(slots=True)
class _Column:
    header: str
    cells: list[Text]  # one per source

    @property
    def width(self) -> int:
        return max(cell_len(self.header), *(t.cell_len for t in self.cells)) if self.cells else cell_len(self.header)


def _columns(matrix: MatrixResult, by_number: bool, glyphs: bool) -> list[_Column]:
    by_pair = {(c.source, c.target): c for c in matrix.cells}
    draw = cell_glyph if glyphs else cell_words
    return [_Column(str(n) if by_number else target, [draw(by_pair.get((s, target))) for s in matrix.sources])
            for n, target in enumerate(matrix.targets, 1)]


def _width(label: int, columns: list[_Column]) -> int:
    return _PER_TABLE + label + _PER_COLUMN + sum(c.width + _PER_COLUMN for c in columns)


def _chunks(label: int, columns: list[_Column], width: int) -> Iterator[tuple[int, list[_Column]]]:
    """Consecutive runs of columns, each as wide as fits beside the sources (at least one column
    each); yields (index of the run's first column, the run)."""
    start, room = 0, width - _PER_TABLE - label - _PER_COLUMN
    while start < len(columns):
        end, used = start, 0
        while end < len(columns) and (end == start or used + columns[end].width + _PER_COLUMN <= room):
            used += columns[end].width + _PER_COLUMN
            end += 1
        yield start, columns[start:end]
        start = end


def _table(title: str, sources: list[str], columns: list[_Column], label_width: int | None = None) -> Table:
    table = Table(title=Text(title), title_style="", header_style="")
    # a source name too long for even one column beside it is the one thing ever shortened
    table.add_column(Text(_CORNER), no_wrap=True, overflow="ellipsis", max_width=label_width)
    for col in columns:
        table.add_column(Text(col.header), no_wrap=True)
    for i, source in enumerate(sources):
        table.add_row(Text(source), *(col.cells[i] for col in columns))
    return table


def _legend_lines(entries: list[str], width: int) -> list[str]:
    """Entries joined by three spaces, wrapped between entries (never inside one) at `width`."""
    lines: list[str] = []
    for entry in entries:
        if lines and cell_len(lines[-1]) + 3 + cell_len(entry) <= width:
            lines[-1] += "   " + entry
        else:
            lines.append(entry)
    return lines


def _glyph_legend(matrix: MatrixResult) -> list[str]:
    seen = {c.observed.verdict for c in matrix.cells}
    entries = [f"{_GLYPH[v]} {_SHORT[v]}" for v in _GLYPH if v in seen]
    if matrix.conflict_cells():
        entries.append(f"{_CONFLICT} address conflict")
    if matrix.failed_cells():
        entries.append(f"{_FAILED} did not hold (listed below)")
    return ["· not probed", *entries] if len(matrix.cells) < len(matrix.sources) * len(matrix.targets) else entries


def render_matrix(matrix: MatrixResult, console: Console) -> None:
    """Sources as rows, targets as columns, in the widest layout that fits the console (see the
    module's docstring); then the failing cells with address and reason, and the conflicts."""
    width = console.width
    label = max([cell_len(_CORNER), *(cell_len(s) for s in matrix.sources)])
    layouts = ((False, False), (True, False), (True, True))  # (targets by number, cells as glyphs)
    for by_number, glyphs in layouts:
        columns = _columns(matrix, by_number, glyphs)
        if not columns or _width(label, columns) <= width:
            console.print(_table(matrix.step, matrix.sources, columns))
            break
    else:
        # at least one column beside the sources, however long their names
        label_width = min(label, max(cell_len(_CORNER), width - _PER_TABLE - 2 * _PER_COLUMN - columns[0].width))
        parts = list(_chunks(label_width, columns, width))
        for first, part in parts:
            title = f"{matrix.step} (targets {first + 1}-{first + len(part)} of {len(columns)})"
            console.print(_table(title, matrix.sources, part, label_width if label_width < label else None))
    if by_number:
        entries = [f"{n} {target}" for n, target in enumerate(matrix.targets, 1)]
        for line in _legend_lines(entries + (_glyph_legend(matrix) if glyphs else []), width):
            console.print(Text(line), highlight=False, soft_wrap=True)
    _render_notes(matrix, console)


def _render_notes(matrix: MatrixResult, console: Console) -> None:
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
                f"{plural(len(cells), 'cell')} ({pairs}{more})")
        console.print(Text(line, style="yellow"), highlight=False)


def render_step(step: StepResult, console: Console) -> None:
    """A step's line (with each VM's outcome under it), then its matrix."""
    mark, style = ("✓", "green") if step.ok else ("✗", "red")
    console.print(Text(f"{mark} {step_title(step.kind, step.name)}", style=style), highlight=False)
    if step.error:
        console.print(Text(f"    step: {step.error}", style="red"), highlight=False)
    for vm, r in step.vms.items():
        if not r.ok:
            console.print(Text(f"    {vm}: {r.error or 'failed'}", style="red"), highlight=False)
        elif r.detail:
            console.print(Text(f"    {vm}: {r.detail}"), highlight=False)
    if step.matrix is not None:
        render_matrix(step.matrix, console)


def summary_line(run: RunResult) -> str:
    """'2 steps, 1 failed; 6 cells, 2 failed' (and the cells in an address conflict, when any)."""
    data = to_json(run)["summary"]
    summary = (f"{plural(len(run.steps), 'step')}, {data['failed_steps']} failed; "
               f"{plural(data['cells'], 'cell')}, {data['failed_cells']} failed")
    if data.get("conflict_cells"):
        summary += f", {data['conflict_cells']} in an address conflict"
    return summary


def render_run(run: RunResult, console: Console) -> None:
    """One line per step (with per-VM failures under it), each matrix, then a summary line."""
    console.print(Text(f"{run.playbook} on {run.backend}"), highlight=False)
    for step in run.steps:
        render_step(step, console)
    console.print(Text(summary_line(run), style="green" if run.ok else "red"), highlight=False)


def render_prediction(lab: str, matrix: MatrixResult, console: Console, conflicts: list[str] | None = None) -> None:
    """`labkit predict`: the model's matrix for the lab as described, a count of its verdicts, and
    why each cell that is not reachable is not (nothing was probed, so nothing passed or failed)."""
    console.print(Text(f"{lab}: what the model predicts for the lab as described (nothing was probed)"),
                  highlight=False)
    render_matrix(matrix, console)
    counts: dict[str, int] = {}
    for cell in matrix.cells:
        word = "in an address conflict" if cell.conflict is not None else _VERDICT_WORD[cell.observed.verdict]
        counts[word] = counts.get(word, 0) + 1
    said = ", ".join(f"{n} {word}" for word, n in counts.items())
    console.print(Text(f"{plural(len(matrix.cells), 'cell')}: {said}"), highlight=False)
    for cell in matrix.cells:
        if cell.observed.verdict != "reachable":
            console.print(Text(f"  {cell.source} -> {cell.target} ({cell.address or 'no address'}): "
                               f"{cell.observed.reason}"), highlight=False)
    for c in conflicts or ():
        console.print(Text(f"address conflict: {c}"), highlight=False)
