"""The writer's YAML: any value reads back as itself through labkit's own YAML reader, comments
never break the file, placeholders are found at their lines, and one-line mappings are used only
where nothing needs a comment."""

from __future__ import annotations

from ipaddress import IPv4Address

from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.discover.document import NOTE_COLUMN, PLACEHOLDER, Block, Fill, render, scalar
from labkit.yamlsrc import loads


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=40))
def test_any_string_reads_back_as_itself(value):
    doc = Block().put("key", value).put("list", [value, "x"]).put("flow", Block().put("v", value))
    assert loads(render(doc, []).text).data == {"key": value, "list": [value, "x"], "flow": {"v": value}}


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_comment_keeps_the_file_readable(text):
    doc = Block(entries=[]).put("a", 1, note=text, above=[text]).put("b", Block().put("c", 2), above=[text])
    assert loads(render(doc, [text]).text).data == {"a": 1, "b": {"c": 2}}


def test_strings_that_would_read_as_something_else_are_quoted():
    for text in ("true", "no", "null", "~", "12", "0x1f", "1e3", "00:50:56:00:00:01", "a: b", "x #y", "", " lead",
                 "tail ", "- item", "[x]", "{x}", "*alias", "&anchor", "!tag", "%d", "@at", "`tick`", "it's"):
        assert scalar(text).startswith('"'), text
    for text in ("eth0", "Network adapter 1", r"C:\Users\lab\VMs\a b.vmx", "00:0c:29:3b:4c:6d", "127.0.0.1",
                 "~/.ssh/id_ed25519", "ops@192.168.1.60"):
        assert scalar(text) == text


def test_placeholders_are_listed_at_their_lines_and_refused_by_no_type():
    doc = Block().put("host", Block().put("lan_address", Fill("the host's address", IPv4Address("192.0.2.2"))))
    doc.put("vms", [Block().put("name", "a").put("adapters", [Block().put("config", Fill("dhcp or static", {}))])])
    out = render(doc, ["header"])
    lines = out.text.splitlines()
    assert [(loc, line) for loc, line, _ in out.fills] == [(("host", "lan_address"), 3),
                                                           (("vms", 0, "adapters", 0, "config"), 7)]
    value, note = lines[2].split("  # ")
    assert value.rstrip() == f"  lan_address: {PLACEHOLDER}" and note == "fill this in: the host's address"
    assert lines[2].index("# ") == NOTE_COLUMN + 1  # notes line up
    assert lines[6].startswith(f"      - config: {PLACEHOLDER}")


def test_small_plain_mappings_go_on_one_line_others_in_blocks():
    doc = Block().put("small", Block().put("a", 1).put("b", "x"))
    doc.put("noted", Block().put("a", 1, note="why"))
    doc.put("wide", Block().put("text", "y" * 120))
    lines = render(doc, []).text.splitlines()
    assert lines[0] == "small: {a: 1, b: x}"
    assert lines[1:3] == ["noted:", "  a: 1".ljust(NOTE_COLUMN - 1) + "  # why"]
    assert lines[3:] == ["wide:", f"  text: {'y' * 120}"]
