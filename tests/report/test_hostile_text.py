"""What a guest printed, a backend said or a user named reaches the terminal, JUnit and HTML as text:
no Rich markup, no terminal escape (colour, cursor, title, OSC 8 link, bell), no NUL, no bidi
reordering; XML a CI server can parse whatever the strings hold."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from labkit.report.as_html import to_html
from labkit.report.as_junit import to_junit
from labkit.report.terminal import make_console, render_run
from labkit.results import Cell, MatrixResult, Observation, RunResult, StepResult, VMResult

HOSTILE = ("[link=http://x]a[/link] [bold]b[/bold] :smile: \x1b[31mred\x1b[0m \x1b]8;;http://evil\x07click\x1b]8;;\x07 "
           "\x1b]0;owned\x07 \x1b[2J nul\x00 bell\x07 back\x08 \x9b2J \u202egpj.exe \u2066x\u2069 "
           "<script>alert(1)</script> &amp; ]]> \ud800 \ufffe")
RAW = ["\x1b", "\x00", "\x07", "\x08", "\x9b", "\u202e", "\u2066", "\ud800", "\ufffe"]


def hostile_run() -> RunResult:
    """A run whose every free-text field holds HOSTILE: a step error, a VM's error and detail, a
    failing cell's reason (a guest's ping output), and the names where a backend may give them."""
    cells = [Cell("host", f"vm {HOSTILE}", "10.0.0.5", "reachable",
                  Observation("error", reason=f"could not read ping output: {HOSTILE}", via="ssh"),
                  expected_reason=f"model says {HOSTILE}"),
             Cell("host", "router", "192.168.1.1", "reachable", Observation("reachable", 0.0, 0.1, via="ssh"))]
    matrix = MatrixResult(f"matrix {HOSTILE}", ["host"], [f"vm {HOSTILE}", "router"], cells)
    steps = [StepResult(f"step {HOSTILE}", "configure_guest",
                        vms={"centos": VMResult(False, error=f"guest said: {HOSTILE}"),
                             "nat2": VMResult(True, detail=f"eth0: {HOSTILE}")}),
             StepResult("broken", "set_mode", error=f"backend said: {HOSTILE}"),
             StepResult("matrix", "ping_matrix", matrix=matrix)]
    return RunResult(f"playbook {HOSTILE}", "sim", steps)


def test_the_terminal_shows_it_as_text(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    out = io.StringIO()
    render_run(hostile_run(), make_console(out))
    text = out.getvalue()
    for ch in RAW:
        assert ch not in text, repr(ch)
    assert "[link=http://x]a[/link] [bold]b[/bold] :smile:" in text  # markup and emoji codes shown as written
    assert "\\x1b[31mred\\x1b[0m" in text and "\\x1b]8;;http://evil" in text and "\\u202egpj.exe" in text
    assert "nul\\x00" in text and "\\x9b2J" in text


def test_in_colour_the_only_escapes_are_labkits_own_colours(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm-256color")
    out = io.StringIO()
    console = make_console(out)
    assert console.is_terminal
    render_run(hostile_run(), console)
    text = out.getvalue()
    assert re.search(r"\x1b\[[0-9;]*m", text)  # it is in colour
    assert re.findall(r"\x1b(?!\[[0-9;]*m)", text) == []  # and nothing else is an escape: no link, title, clear
    assert "\x07" not in text and "\u202e" not in text


def test_a_console_prints_others_strings_without_markup():
    out = io.StringIO()
    console = make_console(out)
    console.print(f"progress of {HOSTILE}")
    console.log(HOSTILE)
    text = out.getvalue()
    assert "[link=http://x]a[/link] [bold]b[/bold] :smile:" in text
    for ch in RAW:
        assert ch not in text, repr(ch)


def test_junit_is_parseable_xml_that_still_says_it():
    xml = to_junit(hostile_run())
    root = ET.fromstring(xml)  # raises on NUL, ESC, lone surrogates, U+FFFE
    failures = [e for e in root.iter() if e.tag in ("failure", "error")]
    messages = " ".join(e.get("message", "") + (e.text or "") for e in failures)
    assert "\\x1b[31mred" in messages and "nul\\x00" in messages and "\\ud800" in messages
    assert "<script>alert(1)</script>" in messages  # as text, escaped by XML itself
    names = [case.get("name") for case in root.iter("testcase")]
    assert any(name.startswith("host -> vm [link=http://x]a[/link]") for name in names)
    assert xml.encode("utf-8")  # writable as UTF-8


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.text.extend(v or "" for _, v in attrs)

    def handle_data(self, data):
        self.text.append(data)


def test_html_escapes_it():
    page = to_html(hostile_run())
    for ch in RAW:
        assert ch not in page, repr(ch)
    page.encode("utf-8")  # no lone surrogate left: the file can be written
    parsed = _Collect()
    parsed.feed(page)
    assert parsed.tags.count("script") == 1  # labkit's own; the guest's is text
    shown = " ".join(parsed.text)
    assert "<script>alert(1)</script>" in shown and "\\x1b[31mred" in shown


@pytest.mark.parametrize("ch", RAW)
def test_every_such_character_alone(ch):
    run = RunResult("pb", "sim", [StepResult("s", "set_mode", error=f"x{ch}y")])
    ET.fromstring(to_junit(run))
    assert ch not in to_html(run)
    out = io.StringIO()
    render_run(run, make_console(out))
    assert ch not in out.getvalue()


def test_json_and_markdown_reports_are_written_whatever_the_strings_hold(tmp_path):
    """A lone surrogate (undecodable guest bytes) cannot be UTF-8: the file says it as its escape."""
    import json

    from labkit.report.as_json import write_json
    from labkit.report.as_markdown import write_markdown

    write_json(hostile_run(), tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["steps"][1]["error"] == f"backend said: {HOSTILE}"  # \ud800 read back as the same code point
    write_markdown(hostile_run(), tmp_path / "r.md")
    assert "\\ud800" in (tmp_path / "r.md").read_text(encoding="utf-8")
