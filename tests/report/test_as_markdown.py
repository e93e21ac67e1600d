"""Markdown output: a golden run, escaping that keeps tables whole, and the CLI's --markdown.

Regenerate the golden file after an intended change with
    LABKIT_UPDATE_GOLDEN=1 .venv/bin/pytest tests/report/test_as_markdown.py
"""

from __future__ import annotations

import json

from labkit.report.as_markdown import md, prediction_markdown, run_markdown
from labkit.results import Cell, MatrixResult, Observation, RunResult, StepResult
from tests.e2e.test_playbooks import labkit
from tests.report.test_reports import check_golden, make_run


def table_rows(text: str) -> list[list[str]]:
    """Each Markdown table row's cells, split on unescaped pipes."""
    rows = []
    for line in text.splitlines():
        if line.startswith("| "):
            cells, cell, escaped = [], "", False
            for ch in line[2:-2]:
                if ch == "|" and not escaped:
                    cells.append(cell.strip())
                    cell = ""
                else:
                    cell += ch
                escaped = ch == "\\" and not escaped
            rows.append([*cells, cell.strip()])
    return rows


def test_run_markdown_golden() -> None:
    check_golden("report.md", run_markdown(make_run()))


def test_every_row_of_a_table_has_as_many_cells_as_its_header() -> None:
    text = run_markdown(make_run())
    rows = table_rows(text)
    assert [len(r) for r in rows] == [3, 3, 3, 3, 4, 4, 4, 4, 4]
    assert rows[6:] == [["**a**", "·", "● reach", "○ unreach"],
                        ["**b**", "● reach", "·", "○ unreach (want reach)"],
                        ["**c**", "! error (want unreach)", "● reach", "·"]]


def test_names_and_messages_are_escaped_so_tables_stay_whole() -> None:
    hostile = "a|b *x* _y_ [l](u) <b>&lt; `c` # ~~s~~"
    cell = Cell(hostile, "t", "10.0.0.1", "reachable", Observation("unreachable", reason="no | reply"))
    run = RunResult("p|q", "sim", [StepResult("s|t", "ping_matrix",
                                              matrix=MatrixResult("s|t", [hostile], ["t"], [cell]))])
    text = run_markdown(run)
    for row in table_rows(text):
        assert len(row) in (3, 2)
    assert md(hostile) == r"a\|b \*x\* \_y\_ \[l\](u) \<b>&amp;lt; \`c\` \# \~\~s\~\~"
    assert "- ✗ a\\|b" in text and "no \\| reply" in text
    assert md("two\nlines") == "two lines"


def test_the_prediction_is_not_worded_as_a_run() -> None:
    cells = [Cell("a", "b", "10.0.0.2", None, Observation("reachable", via="model")),
             Cell("a", "c", "10.0.0.3", None, Observation("unreachable", reason="host-only", via="model"))]
    text = prediction_markdown("lab1", MatrixResult("prediction", ["a"], ["b", "c"], cells))
    assert text.startswith("## lab1: what the model predicts\n")
    assert "passed" not in text and "failed" not in text and "steps" not in text
    assert text.endswith("- a -> c (10.0.0.3): unreachable: host-only\n")


def test_cli_run_and_matrix_write_markdown_and_report_rewrites_json(tmp_path) -> None:
    out, js = tmp_path / "nat.md", tmp_path / "nat.json"
    proc = labkit("run", "playbooks/seed-nat.yml", "--markdown", str(out), "--json", str(js))
    assert proc.returncode == 0, proc.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("## seed-nat on sim: passed\n")
    assert text.count("| from \\\\ to |") == len(json.loads(js.read_text())["matrices"])
    proc = labkit("report", str(js), "--markdown", "-")
    assert proc.returncode == 0 and proc.stdout == text, proc.stderr  # the JSON holds all the Markdown needs
    proc = labkit("matrix", "-i", "inventory/seed-lab.yml", "--sources", "host", "--targets", "router",
                  "--markdown", "-")
    assert proc.returncode == 0 and "| **host** | ● reach |" in proc.stdout


def test_cli_predict_markdown_and_check_refuses_it(tmp_path) -> None:
    proc = labkit("predict", "-i", "inventory/seed-lab.yml", "--sources", "win7", "--targets", "centos",
                  "--markdown", "-")
    assert proc.returncode == 0, proc.stderr
    assert "| **win7** | ○ unreach |" in proc.stdout
    assert "- win7 -> centos (10.0.0.101): unreachable: no route" in proc.stdout
    proc = labkit("run", "playbooks/seed-nat.yml", "--check", "--markdown", str(tmp_path / "x.md"))
    assert proc.returncode == 2 and "--markdown" in proc.stderr and not (tmp_path / "x.md").exists()
