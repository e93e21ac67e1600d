"""The terminal matrix fits the console: never a line wider than it, never a cell cut or wrapped.

Golden files (tests/report/golden/) show the seed lab's prediction at 80 and 200 columns and a
wide lab at 80; regenerate after an intended change with
    LABKIT_UPDATE_GOLDEN=1 .venv/bin/pytest tests/report/test_terminal_fit.py
The checks below the goldens read the drawn tables back, so a layout that wraps a cell fails
whatever the golden files say.
"""

from __future__ import annotations

import re
from io import StringIO

import pytest
from rich.console import Console

from labkit.api import describe
from labkit.report.terminal import render_matrix, render_prediction, render_run, step_title
from labkit.results import Cell, Expectation, MatrixResult, Observation, RunResult, StepResult, Verdict
from tests.conftest import REPO
from tests.report.test_reports import check_golden, make_run

SEED = str(REPO / "inventory" / "seed-lab.yml")


def draw(render, *args, width: int) -> str:
    console = Console(file=StringIO(), width=width, color_system=None, force_terminal=False)
    render(*args, console)
    return console.file.getvalue()


def seed_prediction(width: int) -> str:
    model = describe(SEED)
    return draw(lambda m, c: render_prediction("seed-lab", m, c, model.conflicts), model.predict(), width=width)


def wide_matrix() -> MatrixResult:
    """Five sources, twenty targets with long names; one cell that did not hold (db -> lab-vm-04)
    and one whose probe could not run (win7 -> lab-vm-01)."""
    sources = ["host", "web-frontend-01", "db", "ops-bastion", "win7"]
    targets = [f"lab-vm-{n:02d}.eth0" for n in range(1, 21)]
    cells = []
    for s in sources:
        for n, t in enumerate(targets):
            seen: Verdict = "reachable" if n % 3 else "unreachable"
            if (s, t) == ("win7", "lab-vm-01.eth0"):
                cells.append(Cell(s, t, "10.0.0.10", "unreachable", Observation("error", reason="could not connect")))
                continue
            want: Expectation = "reachable" if (s, n) == ("db", 3) else seen
            cells.append(Cell(s, t, f"10.0.0.{n + 10}", want, Observation(seen, via="sim")))
    return MatrixResult("the whole lab", sources, targets, cells)


def tables(text: str) -> list[list[str]]:
    """Each drawn table's lines, from its top border to its bottom border."""
    out: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("┏"):
            out.append([])
        if out and (not out[-1] or not out[-1][-1].startswith("└")):
            out[-1].append(line)
    return out


def assert_fits(text: str, width: int, sources: list[str]) -> None:
    """No line wider than the console; every table has one header line and exactly one line per
    source, each starting with that source's name (a wrapped cell adds a line with a blank first column)."""
    too_wide = [line for line in text.splitlines() if len(line) > width]
    assert not too_wide, too_wide
    drawn = tables(text)
    assert drawn, text
    for table in drawn:
        assert sum(1 for line in table if line.startswith("┃")) == 1, "\n".join(table)
        rows = [line for line in table if line.startswith("│")]
        assert [r.split("│")[1].strip() for r in rows] == sources, "\n".join(table)
        assert "…" not in "\n".join(table)  # nothing cut short either


# --- golden --------------------------------------------------------------------------------------


def test_seed_prediction_at_80_columns_golden() -> None:
    text = seed_prediction(80)
    check_golden("predict-80.txt", text)
    assert_fits(text, 80, ["host", "centos", "win7", "nat2"])


def test_seed_prediction_at_200_columns_golden() -> None:
    text = seed_prediction(200)
    check_golden("predict-200.txt", text)
    assert_fits(text, 200, ["host", "centos", "win7", "nat2"])
    assert "host.hostonly" in tables(text)[0][1]  # wide enough: the targets are named in the header


def test_a_wide_lab_at_80_columns_golden() -> None:
    matrix = wide_matrix()
    text = draw(render_matrix, matrix, width=80)
    check_golden("wide-80.txt", text)
    assert_fits(text, 80, matrix.sources)


# --- behaviour -----------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [40, 60, 80, 100, 120, 160, 200])
def test_the_seed_prediction_fits_every_width(width: int) -> None:
    assert_fits(seed_prediction(width), width, ["host", "centos", "win7", "nat2"])


@pytest.mark.parametrize("width", [40, 80, 132])
def test_a_wide_lab_fits_every_width_and_numbers_every_target_once(width: int) -> None:
    matrix = wide_matrix()
    text = draw(render_matrix, matrix, width=width)
    assert_fits(text, width, matrix.sources)
    legend = " ".join(line for line in text.splitlines() if "lab-vm-" in line)
    for n, target in enumerate(matrix.targets, 1):
        assert legend.count(f"{n} {target}") == 1, (n, target)


def test_at_80_columns_the_seed_matrix_is_keyed_and_glyphs_are_explained() -> None:
    text = seed_prediction(80)
    header = tables(text)[0][1]
    assert "┃ 1 ┃ 2 ┃" in header and "host" not in header
    assert "3 host.hostonly" in text and "● reach" in text and "○ unreach" in text


def test_cells_that_did_not_hold_are_marked_and_listed_in_words_in_every_layout() -> None:
    matrix = wide_matrix()
    narrow = draw(render_matrix, matrix, width=80)
    wide = draw(render_matrix, matrix, width=400)
    assert "○✗" in narrow and "✗ did not hold (listed below)" in narrow
    assert "○ unreach (want reach)" in wide
    line = "✗ db -> lab-vm-04.eth0 (10.0.0.13): expected reachable, observed unreachable"
    assert line in narrow.replace("\n", " ") and line in wide


def test_a_split_matrix_says_which_targets_each_part_holds() -> None:
    text = " ".join(draw(render_matrix, wide_matrix(), width=60).split())  # a title may wrap at 60 columns
    parts = re.findall(r"the whole lab \(targets (\d+)-(\d+) of 20\)", text)
    assert len(parts) > 1 and parts[0][0] == "1" and parts[-1][1] == "20"
    assert all(int(b[0]) == int(a[1]) + 1 for a, b in zip(parts, parts[1:], strict=False))


def test_a_source_name_longer_than_the_console_is_the_only_thing_shortened() -> None:
    name = "a-very-long-source-name-" * 4
    matrix = MatrixResult("m", [name], ["t"], [Cell(name, "t", "10.0.0.1", None, Observation("reachable"))])
    text = draw(render_matrix, matrix, width=40)
    assert max(len(line) for line in text.splitlines()) <= 40
    assert "│ ●" in text or "│ ● reach" in text


def test_the_existing_golden_layout_is_kept_where_it_fits() -> None:
    """At 120 columns the small run's matrix is drawn as before: targets by name, cells in words."""
    text = draw(render_run, make_run(), width=120)
    assert "┃ from \\ to ┃ a                      ┃ b       ┃ c                      ┃" in text


def test_step_lines_do_not_repeat_the_kind_and_counts_are_singular_when_one() -> None:
    cell = Cell("a", "b", "10.0.0.2", "reachable", Observation("reachable"))
    run = RunResult("p", "sim", [StepResult("configure_guest #2", "configure_guest"),
                                 StepResult("ping", "ping_matrix", matrix=MatrixResult("ping", ["a"], ["b"], [cell]))])
    text = draw(render_run, run, width=120)
    assert "✓ configure_guest #2\n" in text and "configure_guest configure_guest" not in text
    assert "✓ ping_matrix ping\n" in text
    assert text.endswith("2 steps, 0 failed; 1 cell, 0 failed\n")
    assert step_title("set_mode", "put win7 on NAT") == "set_mode put win7 on NAT"


def test_the_prediction_is_not_worded_as_a_run() -> None:
    text = seed_prediction(200)
    assert "1 steps" not in text and "✓ predict" not in text and "failed" not in text
    assert "32 cells: 27 reachable, 5 unreachable" in text
    assert "  win7 -> centos (10.0.0.101): no route to 10.0.0.101" in text
