"""docs/api.md is run: each ```python cell in order, in one namespace, from the repository's root,
and what it prints must be the ```text block right after it. One test per cell (they build on each
other, like a notebook's), so the first one that drifts from the page is named by its line.
"""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass

import pytest

from tests.conftest import REPO

PAGE = REPO / "docs" / "api.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)


@dataclass(frozen=True)
class Cell:
    line: int
    code: str
    output: str | None  # the ```text block right after it (blank lines between), or None


def cells(text: str) -> list[Cell]:
    blocks = [(m.group(1), m.group(2), m.start(), m.end()) for m in FENCE.finditer(text)]
    out = []
    for i, (lang, body, start, end) in enumerate(blocks):
        if lang != "python":
            continue
        after = blocks[i + 1] if i + 1 < len(blocks) else None
        output = after[1] if after and after[0] == "text" and not text[end:after[2]].strip() else None
        out.append(Cell(text.count("\n", 0, start) + 2, body, output))
    return out


CELLS = cells(PAGE.read_text(encoding="utf-8"))


def _tidy(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


@pytest.fixture(scope="module")
def namespace():
    """The page's variables, shared by its cells; its lab is closed when the module ends."""
    ns: dict[str, object] = {}
    yield ns
    lab = ns.get("lab")
    if lab is not None and hasattr(lab, "close"):
        lab.close()


def test_the_page_has_cells_with_outputs():
    assert len(CELLS) >= 10
    assert all(c.output is not None for c in CELLS), [c.line for c in CELLS if c.output is None]


@pytest.mark.parametrize("cell", CELLS, ids=[f"line{c.line}" for c in CELLS])
def test_cell(cell: Cell, namespace, monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("NO_COLOR", "1")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(cell.code, f"{PAGE}:{cell.line}", "exec"), namespace)  # noqa: S102 - the page's own code
    assert _tidy(printed.getvalue()) == _tidy(cell.output or ""), f"docs/api.md:{cell.line}: the output differs"
