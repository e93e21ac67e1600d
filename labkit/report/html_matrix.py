"""One ping matrix in the HTML report: a heatmap (sources as rows, targets as columns) whose cells
open a details panel, a line of counts, and the cells that did not come out as expected.

A cell's colour and glyph say what was seen (replies, no reply, error, no address, address
conflict); a red frame and "wanted ..." say it is not what was expected. Glyphs and words carry
the meaning without the colours. Every fact the details panel shows is in the button's data
attributes, escaped like any other value.
"""

from __future__ import annotations

from collections import Counter

from labkit.report.html_markup import Html, el
from labkit.results import Cell, MatrixResult

# outcome -> (glyph, word in a cell, words in the legend and the panel)
OUTCOMES = {
    "reachable": ("●", "replies", "reachable: replies came back"),
    "unreachable": ("○", "no reply", "unreachable: no reply came back"),
    "error": ("!", "error", "error: the ping could not be run (not the same as no reply)"),
    "no_address": ("∅", "no addr", "no address: the source or the target had no IP address"),
    "conflict": ("⚠", "conflict", "address conflict: two machines use the address; the model does not guess"),
}
VIA = {"sim": "sim (the simulated lab)", "ssh": "ssh (a shell on the source)",
       "console": "console (the hypervisor's console to the VM)", "local": "local (this machine)",
       "model": "model (predicted, not probed)"}


def conflict_of(cell: Cell) -> str | None:
    """The cell's address conflict in words, or None (also when results carry no conflicts at all)."""
    for holder in (cell, cell.observed):
        value = getattr(holder, "conflict", None)
        if value:
            return str(value)
    return None


def outcome(cell: Cell) -> str:
    return "conflict" if conflict_of(cell) else cell.observed.verdict


def state(cell: Cell) -> str:
    """held (as expected), failed, conflict (not judged) or unchecked (nothing was expected)."""
    if not cell.ok:
        return "failed"
    if cell.expected is None:
        return "conflict" if conflict_of(cell) else "unchecked"
    return "held"


def _word(verdict: str | None) -> str:
    return OUTCOMES[verdict][2].split(":")[0] if verdict in OUTCOMES else "nothing"


def judgement(cell: Cell) -> str:
    seen, wanted = _word(cell.observed.verdict), _word(cell.expected)
    st = state(cell)
    if st == "held":
        return f"As expected: {seen}."
    if st == "conflict":
        return f"Address conflict, not judged: {seen} was seen, but the model does not guess who answered."
    if st == "unchecked":
        return f"Nothing was expected here; {seen} is what was seen."
    if cell.expected is None:
        return f"Not usable: {seen}; this ping gave no answer either way."
    return f"Not as expected: wanted {wanted}, saw {seen}."


def _cell_data(cell: Cell) -> dict[str, str]:
    obs = cell.observed
    return {
        "data_source": cell.source, "data_target": cell.target, "data_address": cell.address or "none",
        "data_outcome": OUTCOMES[obs.verdict][2], "data_expected": OUTCOMES[cell.expected][2].split(":")[0]
        if cell.expected else "nothing was expected",
        "data_loss": "" if obs.loss_pct is None else f"{obs.loss_pct:g}% of packets lost",
        "data_rtt": "" if obs.rtt_avg_ms is None else f"{obs.rtt_avg_ms:.2f} ms on average",
        "data_via": VIA.get(obs.via or "", obs.via or ""), "data_why": cell.expected_reason or "",
        "data_probe": obs.reason or "", "data_conflict": conflict_of(cell) or "",
        "data_judgement": judgement(cell), "data_state": state(cell),
    }


def _button(cell_id: str, r: int, c: int, cell: Cell) -> Html:
    out, st = outcome(cell), state(cell)
    glyph, word, _ = OUTCOMES[out]
    if out == "conflict":
        word = OUTCOMES[cell.observed.verdict][1]
    mark = {"held": " ✓", "failed": " ✗"}.get(st, "")
    want = None
    if st == "failed" and cell.expected:
        want = el("span", f"wanted {OUTCOMES[cell.expected][1]}", class_="want")
    return el("button", el("span", glyph, class_="g", aria_hidden="true"), el("span", word + mark, class_="w"), want,
              type="button", id=cell_id, class_=f"cell o-{out} {st}", aria_pressed="false",
              aria_label=f"{cell.source} to {cell.target}: {judgement(cell)}", data_r=r, data_c=c,
              **_cell_data(cell))


def _column_address(matrix: MatrixResult, target: str) -> str | None:
    seen = {c.address for c in matrix.cells if c.target == target}
    return next(iter(seen)) if len(seen) == 1 else None


def heatmap(mi: int, matrix: MatrixResult) -> Html:
    by_pair = {(c.source, c.target): c for c in matrix.cells}
    head = el("tr", el("th", "from ↓ / to →", class_="corner", scope="col"),
              [el("th", t, el("span", _column_address(matrix, t), class_="addr"), scope="col") for t in matrix.targets])
    rows = []
    for r, source in enumerate(matrix.sources):
        tds = []
        for c, target in enumerate(matrix.targets):
            cell = by_pair.get((source, target))
            tds.append(el("td", _button(f"m{mi}-r{r}-c{c}", r, c, cell)) if cell is not None else
                       el("td", "—", class_="self", title="not pinged (a machine is not pinged from itself)"))
        rows.append(el("tr", el("th", source, class_="row", scope="row"), tds))
    table = el("table", el("caption", f"Ping results of {matrix.step}: rows ping columns", class_="sr"),
               el("thead", head), el("tbody", rows), class_="heatmap", data_panel=f"d{mi}")
    return el("div", el("div", table, class_="table-wrap"), _panel(mi), class_="mx")


def _panel(mi: int) -> Html:
    labels = [("address", "Address pinged"), ("outcome", "Seen"), ("expected", "Expected"),
              ("loss", "Packet loss"), ("rtt", "Round trip"), ("via", "Checked via"),
              ("why", "The model says"), ("probe", "The ping said"), ("conflict", "Conflict")]
    rows = [el("div", el("dt", label), el("dd", data_f=key), class_="row", hidden=True) for key, label in labels]
    return el("aside", el("h3", "Cell details", class_="d-title"),
              el("p", "Click a cell, or tab to it and press Enter, to see what was checked and why.", class_="d-hint"),
              el("div", el("p", class_="d-verdict"), el("dl", rows), class_="d-body", hidden=True),
              id=f"d{mi}", class_="details", aria_live="polite")


def counts(matrix: MatrixResult) -> Html:
    states = Counter(state(c) for c in matrix.cells)
    seen = Counter(outcome(c) for c in matrix.cells)
    parts = [f"{len(matrix.cells)} cells", f"{states['held']} as expected", f"{states['failed']} not as expected"]
    if states["unchecked"]:
        parts.append(f"{states['unchecked']} with nothing expected")
    if states["conflict"]:
        parts.append(f"{states['conflict']} in an address conflict")
    return el("p", el("strong", ", ".join(parts) + "."),
              [el("span", f"{OUTCOMES[o][0]} {seen[o]} {OUTCOMES[o][2].split(':')[0]}") for o in OUTCOMES if seen[o]],
              class_="counts")


def failures(mi: int, matrix: MatrixResult) -> Html | None:
    """The cells not as expected, each a link to its cell, with the reason in words."""
    ids = {(s, t): f"m{mi}-r{r}-c{c}" for r, s in enumerate(matrix.sources) for c, t in enumerate(matrix.targets)}
    bad = matrix.failed_cells()
    if not bad:
        return None
    items = [el("li", el("button", f"{c.source} → {c.target}", type="button", class_="goto",
                         data_cell=ids.get((c.source, c.target))),
                f" ({c.address or 'no address'}): {judgement(c)}",
                f" {c.observed.reason}" if c.observed.reason else "") for c in bad]
    return el("div", el("h3", "Not as expected"), el("ul", items, class_="failures"))
