"""The HTML report without a browser: escaping, structure (cells by class), self-containment,
the topology drawing and the CLI's --html. tests/report/test_html_browser.py loads it in Chromium."""

from __future__ import annotations

import json
from collections import Counter
from html.parser import HTMLParser

import pytest

from labkit import results
from labkit.report.as_html import to_html, write_html
from labkit.report.html_markup import Html, el, join
from labkit.report.html_topology import changes
from labkit.results import (
    AdapterSummary,
    Cell,
    MatrixResult,
    NetworkSummary,
    Observation,
    RunResult,
    StepResult,
    TopologySummary,
    VMResult,
    VMSummary,
)
from tests.e2e.test_playbooks import labkit

EVIL = "<script>alert(1)</script>"
EVIL_STEP = 'ping "<img src=x onerror=alert(2)>"'


class Page(HTMLParser):
    """Every element with its attributes, and the text, as a browser's parser would see them."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []  # a bare attribute's value is ""
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def tags(self, tag: str, cls: str | None = None) -> list[dict[str, str]]:
        return [a for t, a in self.elements if t == tag and (cls is None or cls in a.get("class", "").split())]


def topo(nat_on: bool = True, win7_net: str | None = "nat") -> TopologySummary:
    return TopologySummary(
        "lab1", "192.168.1.100", "192.168.1.0/24", "192.168.1.1",
        (NetworkSummary("bridged", "bridged", "VMnet0", "192.168.1.0/24"),
         NetworkSummary("nat", "nat", "VMnet8", "10.0.0.0/24", "10.0.0.1", nat_on, "10.0.0.2")),
        (VMSummary(EVIL, "linux", True, (AdapterSummary("eth0", "bridged", "192.168.1.120/24"),)),
         VMSummary("win7", "windows", True, (AdapterSummary("eth0", win7_net, "10.0.0.129/24"),))),
        (("internet", "203.0.113.10"),))


def make_run() -> RunResult:
    reach = Observation("reachable", loss_pct=0.0, rtt_avg_ms=0.41, via="ssh")
    cells = [
        Cell(EVIL, "win7", "10.0.0.129", "reachable", reach, expected_reason="both on nat </script>"),
        Cell(EVIL, "router", "192.168.1.1", "reachable",
             Observation("unreachable", loss_pct=100.0, reason="100% packet loss", via="sim")),  # failed
        Cell("win7", EVIL, "192.168.1.120", "unreachable", Observation("error", reason="could not connect", via="ssh")),
        Cell("win7", "router", None, "no_address", Observation("no_address", reason="source has no address")),
        Cell("router", EVIL, "192.168.1.120", None, reach),  # nothing expected
        Cell("router", "win7", "10.0.0.129", "unreachable", Observation("unreachable", loss_pct=100.0, via="sim")),
    ]
    matrix = MatrixResult(EVIL_STEP, [EVIL, "win7", "router"], ["win7", EVIL, "router"], cells)
    return RunResult("lab1 & <friends>", "sim", [
        StepResult("modes", "set_mode", vms={EVIL: VMResult(True, detail="eth0 -> nat (changed)"),
                                             "win7": VMResult(False, error="task failed: <busy>")}),
        StepResult(EVIL_STEP, "ping_matrix", matrix=matrix, topology=topo()),
        StepResult("again", "ping_matrix", matrix=MatrixResult("again", ["router"], ["win7"], [cells[5]]),
                   topology=topo(nat_on=False)),
    ])


def test_markup_escapes_text_and_attributes_but_not_markup():
    assert el("p", EVIL) == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
    assert el("a", "x", href='"><script>', data_f="a&b") == '<a href="&quot;&gt;&lt;script&gt;" data-f="a&amp;b">x</a>'
    assert el("p", el("b", "<"), Html("<i>ok</i>")) == "<p><b>&lt;</b><i>ok</i></p>"
    assert el("div", hidden=True, title=None, open=False) == "<div hidden></div>"
    assert join("<", ["a", None, 1]) == "&lt;a1"
    with pytest.raises(ValueError):
        el("p", **{"onclick x": "1"})


def test_user_values_render_as_text_never_as_markup():
    text = to_html(make_run())
    page = Page(text)
    assert EVIL not in text and "<img" not in text
    assert len(page.tags("script")) == 1 and not page.tags("img")  # only the report's own script
    shown = "".join(page.text)
    assert EVIL in shown and "<img src=x onerror=alert(2)>" in shown and "lab1 & <friends>" in shown
    assert "task failed: <busy>" in shown
    sources = [a["data-source"] for a in page.tags("button", "cell")]
    assert sources.count(EVIL) == 2  # attribute values decode back to the name, quotes and all
    assert "</script>" not in text.split("<script>", 1)[1].rsplit("</script>", 1)[0]


def test_heatmap_has_one_button_per_cell_classed_by_outcome_and_judgement():
    run = make_run()
    page = Page(to_html(run))
    buttons = page.tags("button", "cell")
    assert len(buttons) == sum(len(m.cells) for m in run.matrices) == 7
    classes = Counter(c for b in buttons for c in b["class"].split())
    assert classes["o-reachable"] == 2 and classes["o-unreachable"] == 3
    assert classes["o-error"] == 1 and classes["o-no_address"] == 1
    assert classes["failed"] == 2 and classes["held"] == 4 and classes["unchecked"] == 1
    assert len(page.tags("td", "self")) == 3  # 3x3 with 6 cells: a machine is not pinged from itself
    failed = [b for b in buttons if "failed" in b["class"].split()]
    assert {(b["data-source"], b["data-target"]) for b in failed} == {(EVIL, "router"), ("win7", EVIL)}
    first = buttons[0]
    assert first["data-address"] == "10.0.0.129" and first["data-via"].startswith("ssh")
    assert first["data-why"] == "both on nat </script>" and first["data-loss"] == "0% of packets lost"
    assert first["data-rtt"] == "0.41 ms on average"
    assert [a["id"] for a in page.tags("aside", "details")] == ["d0", "d1"]


def test_conflict_cells_are_drawn_as_conflicts_when_results_carry_them():
    conflict_type = getattr(results, "AddressConflict", None)
    if conflict_type is None:
        pytest.skip("labkit.results has no AddressConflict yet")
    mark = conflict_type("10.0.0.5", ("a", "b"), "nat")
    cell = Cell("host", "a", "10.0.0.5", None, Observation("reachable", via="sim"), conflict=mark)
    run = RunResult("c", "sim", [StepResult("m", "ping_matrix", matrix=MatrixResult("m", ["host"], ["a"], [cell]))])
    (button,) = Page(to_html(run)).tags("button", "cell")
    assert "o-conflict" in button["class"] and "failed" not in button["class"]
    assert button["data-conflict"] == "10.0.0.5 is held by a and b on nat"
    assert button["data-judgement"].startswith("Address conflict, not judged")


def test_self_contained_nothing_fetched():
    text = to_html(make_run())
    page = Page(text)
    assert "http://" not in text and "https://" not in text
    assert not page.tags("link") and not page.tags("img") and not page.tags("iframe")
    assert all("src" not in a for _, a in page.elements)
    assert all(a.get("href", "#").startswith("#") for _, a in page.elements)
    assert "@import" not in text and "url(" not in text and "innerHTML" not in text


def test_topology_drawing_shows_networks_host_adapters_and_what_changed():
    text = to_html(make_run())
    page = Page(text)
    shown = "".join(page.text)
    assert len(page.tags("svg", "topology")) == 2
    assert [a["class"] for a in page.tags("line") if "link" in a.get("class", "").split()] == [
        "link on", "link on", "link on", "link off"]  # bridged + VMnet8 on, then VMnet8 off
    assert "10.0.0.1 · OFF" in shown and "win7 (windows)" in shown and f"{EVIL} (linux)" in shown
    assert "Changed since step 2: host adapter VMnet8 switched off" in shown
    assert changes(topo(), topo(win7_net=None)) == ["win7 eth0 moved from nat to nothing"]
    assert "not connected" in "".join(Page(to_html(RunResult("x", "sim", [
        StepResult("m", "ping_matrix", topology=topo(win7_net=None))]))).text)


def test_a_run_without_matrices_or_topology_still_renders():
    run = RunResult("empty", "vsphere", [StepResult("boom", "set_mode", error="no such VM")])
    shown = "".join(Page(to_html(run)).text)
    assert "The step failed: no such VM" in shown and "Something did not come out as expected" in shown


def test_write_html_replaces_the_file_whole(tmp_path):
    path = tmp_path / "sub" / "r.html"
    write_html(make_run(), path)
    assert path.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert oct(path.stat().st_mode & 0o777) == "0o644" and [p.name for p in path.parent.iterdir()] == ["r.html"]


def test_cli_run_and_matrix_write_the_html_report(tmp_path):
    out, data = tmp_path / "nat.html", tmp_path / "nat.json"
    proc = labkit("run", "playbooks/seed-nat.yml", "--html", str(out), "--json", str(data))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(data.read_text())
    page = Page(out.read_text(encoding="utf-8"))
    assert len(page.tags("button", "cell")) == report["summary"]["cells"]
    assert len(page.tags("svg", "topology")) == len(report["matrices"])
    out2 = tmp_path / "m.html"
    proc = labkit("matrix", "-i", "inventory/seed-lab.yml", "--sources", "host,centos", "--targets", "router",
                  "--html", str(out2))
    assert proc.returncode in (0, 1), proc.stderr
    assert len(Page(out2.read_text(encoding="utf-8")).tags("button", "cell")) == 2
    proc = labkit("run", "playbooks/seed-nat.yml", "--html", str(tmp_path))
    assert proc.returncode == 2 and "is a directory" in proc.stderr
