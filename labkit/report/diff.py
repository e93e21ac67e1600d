"""`labkit diff A.json B.json`: the cells that changed between two runs.

A regression in CI (last night's report against tonight's) or a lab before and after a mode
switch: either way the question is which cells now say something else. Matrices are paired by
step name (two reports with one matrix each are paired whatever their names); cells by source and
target. A cell changed when what was seen, what was expected or its address conflict differs; a
cell or matrix found in one report only is a change too. A different address alone (a new DHCP
lease) is shown beside a change but is not one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Console
from rich.text import Text

from labkit.report.as_markdown import md
from labkit.report.terminal import cell_words, plural
from labkit.results import Cell, MatrixResult, RunResult


@dataclass(frozen=True, slots=True)
class CellChange:
    source: str
    target: str
    before: Cell | None  # None: the cell is only in the second report
    after: Cell | None  # None: only in the first

    def words(self) -> str:
        """`win7 -> host (10.0.0.1): ● reach -> ○ unreach (want reach): 100% packet loss`."""
        a, b = self.before, self.after
        address = _address(a, b)
        if a is None or b is None:
            only = b if a is None else a
            assert only is not None
            side = "only in the second" if a is None else "only in the first"
            return f"{self.source} -> {self.target} ({address}): {side}: {cell_words(only).plain}"
        why = b.observed.reason or b.expected_reason
        return (f"{self.source} -> {self.target} ({address}): {cell_words(a).plain} -> {cell_words(b).plain}"
                + (f": {why}" if why else ""))


def _address(a: Cell | None, b: Cell | None) -> str:
    before, after = (a.address if a else None), (b.address if b else None)
    if a is not None and b is not None and before != after:
        return f"{before or 'no address'} -> {after or 'no address'}"
    return (after if b is not None else before) or "no address"


@dataclass(slots=True)
class MatrixDiff:
    before: str  # the matrix's step name in the first report ("" when it is only in the second)
    after: str
    cells: int  # cells compared (in either report)
    changes: list[CellChange] = field(default_factory=list)

    @property
    def one_sided(self) -> str | None:
        """'first' or 'second' when the matrix is in that report only."""
        return "second" if not self.before else "first" if not self.after else None

    @property
    def changed(self) -> bool:
        return bool(self.changes) or self.one_sided is not None

    @property
    def title(self) -> str:
        if self.one_sided:
            return self.before or self.after
        return self.before if self.before == self.after else f"{self.before} -> {self.after}"

    def words(self) -> str:
        """'2 of 24 cells changed', 'no change (24 cells)', 'only in the first report (24 cells)'."""
        if self.one_sided:
            return f"only in the {self.one_sided} report ({plural(self.cells, 'cell')})"
        if self.changes:
            return f"{len(self.changes)} of {plural(self.cells, 'cell')} changed"
        return f"no change ({plural(self.cells, 'cell')})"


@dataclass(slots=True)
class RunDiff:
    before: str  # "PLAYBOOK on BACKEND" of each report
    after: str
    matrices: list[MatrixDiff]

    @property
    def changed(self) -> bool:
        return any(m.changed for m in self.matrices)


def _state(cell: Cell) -> tuple[object, ...]:
    return cell.observed.verdict, cell.expected, cell.conflict is not None


def diff_matrices(a: MatrixResult | None, b: MatrixResult | None) -> MatrixDiff:
    """The cells of `a` and `b` (either may be absent) that differ, in `a`'s order then `b`'s new ones."""
    before = {(c.source, c.target): c for c in a.cells} if a else {}
    after = {(c.source, c.target): c for c in b.cells} if b else {}
    pairs = list(before) + [p for p in after if p not in before]
    out = MatrixDiff(a.step if a else "", b.step if b else "", len(pairs))
    if a is None or b is None:
        return out  # the whole matrix is the change: its cells are not listed one by one
    for pair in pairs:
        x, y = before.get(pair), after.get(pair)
        if x is None or y is None or _state(x) != _state(y):
            out.changes.append(CellChange(pair[0], pair[1], x, y))
    return out


def diff_runs(a: RunResult, b: RunResult) -> RunDiff:
    """Every matrix of both runs, paired by step name (or alone in each, whatever its name)."""
    ma, mb = a.matrices, b.matrices
    if len(ma) == 1 and len(mb) == 1:
        pairs: list[tuple[MatrixResult | None, MatrixResult | None]] = [(ma[0], mb[0])]
    else:
        by_name = {m.step: m for m in mb}
        pairs = [(m, by_name.get(m.step)) for m in ma]
        pairs += [(None, m) for m in mb if m.step not in {x.step for x in ma}]
    return RunDiff(f"{a.playbook} on {a.backend}", f"{b.playbook} on {b.backend}",
                   [diff_matrices(x, y) for x, y in pairs])


def summary(diff: RunDiff) -> str:
    """'no cell changed (39 cells compared)', '2 cells changed in 1 matrix; 1 matrix in one report only'."""
    if not diff.changed:
        return f"no cell changed ({plural(sum(m.cells for m in diff.matrices), 'cell')} compared)"
    paired = [m for m in diff.matrices if m.one_sided is None]
    changed = [m for m in paired if m.changes]
    if changed:
        said = (f"{plural(sum(len(m.changes) for m in changed), 'cell')} changed in "
                f"{plural(len(changed), 'matrix', 'matrices')}")
    else:
        said = f"no cell changed in the {plural(len(paired), 'matrix', 'matrices')} in both" if paired \
            else "no matrix is in both reports"
    alone = len(diff.matrices) - len(paired)
    return said + (f"; {plural(alone, 'matrix', 'matrices')} in one report only" if alone else "")


def render_diff(diff: RunDiff, first: str, second: str, console: Console) -> None:
    """The two reports, then per matrix its changed cells (or that none changed), then a summary."""
    for which, path, run in (("first: ", first, diff.before), ("second:", second, diff.after)):
        console.print(Text(f"{which} {path} ({run})"), highlight=False, soft_wrap=True)
    for m in diff.matrices:
        mark, style = ("≠", "yellow") if m.changed else ("=", "green")
        console.print(Text(f"{mark} {m.title}: {m.words()}", style=style), highlight=False, soft_wrap=True)
        for change in m.changes:
            console.print(Text(f"    {change.words()}", style="yellow"), highlight=False, soft_wrap=True)
    console.print(Text(summary(diff), style="yellow" if diff.changed else "green"), highlight=False, soft_wrap=True)


def diff_markdown(diff: RunDiff, first: str, second: str) -> str:
    """The diff for a pull-request comment: a heading, a table of the changed cells per matrix."""
    lines = [f"## labkit diff: {md(summary(diff))}", "",
             f"first: {md(first)} ({md(diff.before)}); second: {md(second)} ({md(diff.after)})"]
    for m in diff.matrices:
        lines += ["", f"### {md(m.title)}", ""]
        if not m.changes:
            lines.append(md(m.words()))
            continue
        lines += ["| from | to | address | first | second |", "| --- | --- | --- | --- | --- |"]
        for c in m.changes:
            first_cell = cell_words(c.before).plain if c.before else "absent"
            second_cell = cell_words(c.after).plain if c.after else "absent"
            lines.append(f"| {md(c.source)} | {md(c.target)} | {md(_address(c.before, c.after))} | "
                         f"{md(first_cell)} | {md(second_cell)} |")
    return "\n".join(lines) + "\n"
