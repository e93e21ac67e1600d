"""The HTML report: one self-contained page a trainer can hand to a student who has never seen labkit.

Computed from a RunResult alone, like the JSON and JUnit reports. The page tells the run as a
story: a banner (did everything come out as expected?), how to read it (a legend in plain words),
then each step in order with its per-VM results; a ping_matrix step shows its heatmap, a details
panel for the cell clicked (keyboard too), and a drawing of the lab as that matrix saw it (which
network each VM was on, the host's adapters on or off). One file, CSS and script inline, nothing
fetched from the network; every value from the run is escaped (html_markup.el).
"""

from __future__ import annotations

import os

from labkit.report.as_json import write_atomic
from labkit.report.as_junit import xml_safe
from labkit.report.html_assets import CSS, JS
from labkit.report.html_markup import Html, el, join
from labkit.report.html_matrix import OUTCOMES, counts, failures, heatmap
from labkit.report.html_topology import caption, changes, topology_svg
from labkit.results import RunResult, StepResult, TopologySummary

KINDS = {
    "set_mode": "move network adapters to another network",
    "configure_guest": "change the guest's network settings",
    "restart_network": "restart the guest's network",
    "wait_for_ip": "wait until the VM has an IP address",
    "set_host_adapter": "switch one of the host's virtual adapters on or off",
    "ping_matrix": "ping check: every row pings every column",
    "snapshot": "take a snapshot of the VMs",
    "revert_snapshot": "return the VMs to a snapshot",
    "predict": "the model's prediction (nothing was pinged)",
}
BACKENDS = {
    "sim": "the simulated lab (no real VMs)", "netns": "a local lab in network namespaces",
    "vsphere": "VMware vSphere", "workstation": "VMware Workstation", "model": "the model only (nothing was probed)",
}


def to_html(run: RunResult) -> str:
    """The whole page as text."""
    title = f"labkit report: {run.playbook}"
    head = el("head", Html('<meta charset="utf-8">'),
              el("meta", name="viewport", content="width=device-width, initial-scale=1"),
              el("title", title), el("style", CSS))
    body = el("body", el("main", _header(run), _legend(), _overview(run),
                         [_step(k, s, run) for k, s in enumerate(run.steps)],
                         el("footer", "Made by labkit from one run. This page works offline: nothing is "
                                      "loaded from the network.")),
              el("div", id="tip", role="tooltip", hidden=True), el("script", JS))
    # a control character, lone surrogate or bidi override from a name or a guest's output is shown
    # as its escape (\x1b): HTML cannot carry some, and the others would hide or reorder the text
    return xml_safe("<!doctype html>\n" + el("html", head, body, lang="en") + "\n")


def write_html(run: RunResult, path: str | os.PathLike[str]) -> None:
    write_atomic(path, to_html(run))


def _header(run: RunResult) -> Html:
    failed_steps = sum(1 for s in run.steps if not s.ok)
    cells = sum(len(m.cells) for m in run.matrices)
    failed_cells = sum(len(m.failed_cells()) for m in run.matrices)
    if run.ok:
        verdict = "✓ Everything came out as expected"
    else:
        verdict = "✗ Something did not come out as expected"
    facts = (f"{len(run.steps)} steps, {failed_steps} failed · {len(run.matrices)} ping checks, "
             f"{cells} cells, {failed_cells} not as expected")
    return join(el("h1", f"Lab report: {run.playbook}"),
                el("p", f"Run on {BACKENDS.get(run.backend, run.backend)}.", class_="sub"),
                el("div", el("span", verdict, class_="big"), el("span", facts),
                   class_="banner" if run.ok else "banner fail", role="status"))


def _legend() -> Html:
    items = [el("li", el("span", glyph, class_=f"swatch o-{key}", aria_hidden="true"), words)
             for key, (glyph, _, words) in OUTCOMES.items()]
    items.append(el("li", el("span", "✗", class_="swatch failed", aria_hidden="true"),
                    "red frame and ✗: not what was expected (it says what was wanted)"))
    items.append(el("li", el("span", "✓", class_="swatch", aria_hidden="true"), "✓: came out as expected"))
    notes = el("ul", el("li", "In a ping check, each row is a machine that sends the ping and each column is the "
                              "machine or address it pings."),
               el("li", "A name with a dot is one address of a machine: host.nat is the host's own adapter on "
                        "the nat network, nat.gateway is the NAT device there."),
               el("li", "Click a cell (or tab to it and press Enter) to see the address, packet loss, round "
                        "trip time, how it was checked and why the model expects that result."),
               class_="notes")
    return el("section", el("h2", "How to read this report"), el("ul", items, class_="legend"), notes,
              class_="card", id="legend")


def _overview(run: RunResult) -> Html:
    rows = [el("li", el("span", "✓ " if s.ok else "✗ ", class_="mark ok" if s.ok else "mark fail"),
                el("a", s.name, href=f"#step-{k + 1}"), el("span", f" · {KINDS.get(s.kind, s.kind)}", class_="kind"))
            for k, s in enumerate(run.steps)]
    return el("nav", el("h2", "Steps"), el("ol", rows, class_="toc"), class_="card", aria_label="Steps")


def _step(k: int, step: StepResult, run: RunResult) -> Html:
    mark = el("span", "✓ passed" if step.ok else "✗ failed", class_="mark ok" if step.ok else "mark fail")
    parts: list[Html | None] = [
        el("div", el("h2", f"{k + 1}. ", step.name), mark, el("span", KINDS.get(step.kind, step.kind), class_="kind"),
           class_="step-head"),
        el("p", f"The step failed: {step.error}", class_="err") if step.error else None,
        _vms(step) if step.vms else None,
    ]
    if step.matrix is not None:
        mi = sum(1 for s in run.steps[:k] if s.matrix is not None)
        parts += [counts(step.matrix), heatmap(mi, step.matrix), failures(mi, step.matrix)]
    if step.topology is not None:
        parts.append(_topology(k, step.topology, run))
    return el("section", parts, class_="card step" if step.ok else "card step fail", id=f"step-{k + 1}")


def _vms(step: StepResult) -> Html:
    rows = [el("tr", el("th", vm, scope="row"),
               el("td", el("span", "✓ ok" if r.ok else "✗ failed", class_="mark ok" if r.ok else "mark fail")),
               el("td", r.detail if r.ok else (r.error or "failed")))
            for vm, r in step.vms.items()]
    head = el("tr", [el("th", word, scope="col") for word in ("Machine", "Result", "What happened")])
    return el("table", el("thead", head), el("tbody", rows), class_="vms")


def _topology(k: int, topo: TopologySummary, run: RunResult) -> Html:
    """The lab as this step saw it, with what changed since the previous drawing (folded away when nothing did)."""
    title, note, same = "The lab during this step", None, False
    before = next((j for j in range(k - 1, -1, -1) if run.steps[j].topology is not None), None)
    prev = run.steps[before].topology if before is not None else None
    if before is not None and prev is not None:
        same = prev == topo
        diff = changes(prev, topo)
        if same:
            title += f" (unchanged since step {before + 1})"
        elif diff:
            note = el("p", f"Changed since step {before + 1}: ", el("strong", "; ".join(diff)), class_="changed")
    return el("details", el("summary", title), note, el("div", topology_svg(topo), class_="topo-wrap"),
              el("p", caption(topo), class_="caption"), class_="topo", open=not same)
