"""The YAML front end (labkit/yamlsrc.py, labkit/yamlcompose.py): what it builds, what it refuses, and
where it says the problem is. The corpus of whole hostile files is tests/hostile."""

from __future__ import annotations

import math
import os
import signal
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labkit import yamlcompose, yamlsrc
from labkit.cli import _is_playbook, app
from labkit.errors import InputError, InputErrors
from labkit.inventory import load_inventory
from labkit.yamlsrc import load, loads, shared_reads
from tests.hostile.make_corpus import inventory


def refused(text: str | bytes, tmp_path: Path | None = None) -> InputError:
    """The InputError loading `text` raises (bytes go through a file, as `labkit check` reads them)."""
    with pytest.raises(InputError) as info:
        if isinstance(text, bytes):
            assert tmp_path is not None
            (tmp_path / "f.yml").write_bytes(text)
            load(tmp_path / "f.yml")
        else:
            loads(text, "f.yml")
    return info.value


# ---- what is built --------------------------------------------------------------------------

def test_plain_data_and_the_line_of_every_value() -> None:
    src = loads("# top\nlab: x\nvms:\n  - name: a\n    adapters:\n      - eth0\n      - {network: nat}\n", "f.yml")
    assert src.data == {"lab": "x", "vms": [{"name": "a", "adapters": ["eth0", {"network": "nat"}]}]}
    assert src.lines[()] == 2
    assert src.lines[("lab",)] == 2 and src.lines[("vms",)] == 3
    assert src.lines[("vms", 0)] == 4 and src.lines[("vms", 0, "adapters")] == 5
    assert src.lines[("vms", 0, "adapters", 1)] == 7 and src.lines[("vms", 0, "adapters", 1, "network")] == 7
    assert src.line_of(("vms", 0, "adapters", 1, "missing")) == 7


def test_a_document_that_is_one_value_has_a_line() -> None:
    assert loads("\n\n# c\nhello\n", "f.yml").line_of(()) == 4


@pytest.mark.parametrize("text, value", [
    ("1", 1), ("-17", -17), ("+3", 3), ("1_000", 1000), ("0x1F", 31), ("-0x10", -16), ("0o17", 15), ("017", 17),
    ("0b101", 5), ("1.5", 1.5), ("1e3", 1000.0), ("-.5", -0.5), (".inf", math.inf), ("-.Inf", -math.inf),
    ("true", True), ("False", False), ("TRUE", True), ("~", None), ("null", None), ("", None),
    ("yes", "yes"), ("no", "no"), ("on", "on"), ("2001-12-14", "2001-12-14"), ("1:20", "1:20"), ("0x_", "0x_"),
    ("-_", "-_"), ("'5'", "5"), ('"true"', "true"), ("|\n  5\n", "5\n"), ("10.0.0.1", "10.0.0.1"), ("=", "="),
])
def test_scalars_follow_the_yaml_1_2_core_schema(text: str, value: object) -> None:
    got = loads(f"v: {text}\n", "f.yml").data["v"]
    assert got == value and type(got) is type(value)


def test_nan_is_a_float() -> None:
    assert math.isnan(loads("v: .NaN\n", "f.yml").data["v"])


def test_an_alias_repeats_its_anchor_and_its_lines_are_where_the_value_is_written() -> None:
    src = loads("dns: &dns [10.0.0.2, 10.0.0.3]\nvm:\n  dns: *dns\n", "f.yml")
    assert src.data["vm"]["dns"] == ["10.0.0.2", "10.0.0.3"]
    assert src.lines[("vm", "dns")] == 3 and src.lines[("vm", "dns", 1)] == 1


def test_a_utf8_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    (tmp_path / "f.yml").write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert load(tmp_path / "f.yml").data == {"a": 1}


# ---- what is refused, and where it is said --------------------------------------------------

@pytest.mark.parametrize("text, shown", [
    ("a: !x 1", "!x"), ("a: !!python/object:os.system x", "!!python/object:os.system"), ("a: !!omap [b: 1]", "!!omap"),
    ("a: !!int zz", "!!int"), ("a: !!bool maybe", "!!bool"), ("a: !!str 5", "!!str"), ("a: ! 5", "!"),
    ("a: !<tag:x.org,2000:y> 1", "!<tag:x.org,2000:y>"), ("a: !!set {b}", "!!set"),
])
def test_every_tag_is_refused_where_it_is_written(text: str, shown: str) -> None:
    err = refused("lab: x\n" + text + "\n")
    assert (err.line, err.field) == (2, "a")
    assert err.message.startswith(f"YAML tag {shown} (column 4) is not supported")


@pytest.mark.parametrize("text, line", [("%YAML 1.2\n---\na: 1\n", 1), ("# c\n\n%TAG !e! tag:e.org:\n---\na: 1\n", 3),
                                        ("%FOO bar\n---\na: 1\n", 1)])
def test_directives_are_refused(text: str, line: int) -> None:
    err = refused(text)
    assert err.line == line and "directive is not supported" in err.message


def test_a_percent_sign_inside_a_value_is_no_directive() -> None:
    assert loads("a: |\n  %post\nb: '%x'\n", "f.yml").data == {"a": "%post\n", "b": "%x"}


def test_merge_keys_are_refused_and_a_quoted_one_is_a_key() -> None:
    err = refused("d: &d {a: 1}\nx:\n  <<: *d\n")
    assert (err.line, err.field) == (3, "x") and err.message.startswith("merge keys (<<, column 3)")
    assert loads('x: {"<<": 1}\n', "f.yml").data == {"x": {"<<": 1}}


def test_aliases_may_repeat_up_to_the_budget_and_no_more() -> None:
    anchor = "a: &a [" + ", ".join(["x"] * 99) + "]\n"  # 100 values
    fits = anchor + "".join(f"k{i}: *a\n" for i in range(yamlcompose.ALIAS_BUDGET // 100))
    assert len(loads(fits, "f.yml").data) == 1 + yamlcompose.ALIAS_BUDGET // 100
    err = refused(fits + "over: *a\n")
    assert err.line == fits.count("\n") + 1 and "aliases repeat more than 10,000 values" in err.message


def test_an_alias_bomb_is_refused_before_it_expands() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))
    err = refused(bomb)
    assert err.line == 4 and "aliases repeat more than" in err.message  # d's 8th *c: 10 + 110 + 1110 + 8 * 1111


@pytest.mark.parametrize("text, line, words", [
    ("a: *x\n", 1, "alias *x (column 4) names no anchor above it"),
    ("a: *b\nb: &b 1\n", 1, "names no anchor above it"),
    ("a: &a [1, *a]\n", 1, "is inside the value it names (&a)"),
    ("a: &a\n  b: {c: *a}\n", 2, "is inside the value it names"),
])
def test_aliases_to_nothing_or_to_themselves(text: str, line: int, words: str) -> None:
    err = refused(text)
    assert err.line == line and words in err.message


def test_an_anchor_redefined_inside_its_own_value_is_the_inner_one() -> None:
    assert loads("a: &a [&a 1, *a]\n", "f.yml").data == {"a": [1, 1]}


@pytest.mark.parametrize("build", [lambda n: "a: " + "[" * n + "]" * n,
                                   lambda n: "".join("  " * i + "k:\n" for i in range(n + 1)) + "  " * (n + 1) + "x"])
def test_nesting_stops_at_64_levels(build: Callable[[int], str]) -> None:
    loads(build(yamlcompose.MAX_DEPTH - 1) + "\n", "f.yml")  # with the root mapping: 64 levels
    err = refused(build(yamlcompose.MAX_DEPTH) + "\n")
    assert "nested deeper than 64 levels" in err.message


def test_very_deep_nesting_is_refused_without_recursion() -> None:
    err = refused("[" * 200_000 + "]" * 200_000 + "\n")
    assert err.line == 1 and "column 65" in err.message


def test_an_alias_cannot_nest_values_deeper_than_the_limit() -> None:
    err = refused("a: &a " + "[" * 40 + "]" * 40 + "\nb: " + "[" * 30 + "*a" + "]" * 30 + "\n")
    assert err.line == 2 and "nests values deeper than 64" in err.message


def test_a_file_holds_at_most_max_nodes_keys_and_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlcompose, "MAX_NODES", 21)
    loads("".join(f"k{i}: v\n" for i in range(10)), "f.yml")  # the mapping, 10 keys, 10 values
    err = refused("".join(f"k{i}: v\n" for i in range(11)))
    assert err.line == 11 and "more than 21 keys and values" in err.message


def test_a_number_has_at_most_64_characters() -> None:
    assert loads("a: " + "1" * 64 + "\n", "f.yml").data["a"] == int("1" * 64)
    err = refused("a: " + "1" * 65 + "\n")
    assert (err.line, err.field) == (1, "a") and "a number of 65 characters" in err.message


@pytest.mark.parametrize("text, words", [("1: x", "keys must be strings, not 1"), ("~: x", "not None"),
                                         ("? [a]\n: x", "not a list"), ("? {a: 1}\n: x", "not a mapping"),
                                         ("a: &a {b: 1}\n*a : x", "not {'b': 1}")])
def test_keys_are_strings(text: str, words: str) -> None:
    assert words in refused(text + "\n").message


def test_duplicate_keys_name_the_second_line() -> None:
    err = refused("a: 1\nb: 2\na: 3\n")
    assert err.line == 3 and err.message == 'YAML syntax: duplicate key "a" with value "3" (original value: "1")'
    err = refused("a: {x: 1}\nb: 2\na: [1]\n")
    assert err.line == 3 and err.message == 'YAML syntax: duplicate key "a" (line 1 has it too)'


def test_two_documents_are_refused() -> None:
    err = refused("a: 1\n---\nb: 2\n")
    assert err.line == 2 and "expected a single document" in err.message


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n", "~\n"])
def test_an_empty_file_is_said_to_be_empty(text: str) -> None:
    assert refused(text).message == "the file is empty"


# ---- bytes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("data, words", [
    (b"\xff\xfea\x00:\x00", "UTF-16 (little-endian) text (it starts with a byte-order mark)"),
    (b"\xfe\xff\x00a", "UTF-16 (big-endian)"), (b"\xff\xfe\x00\x00a\x00\x00\x00", "UTF-32 (little-endian)"),
    (b"\x00\x00\xfe\xff\x00\x00\x00a", "UTF-32 (big-endian)"),
    ("lab: x\nvms: []\n".encode("utf-16-le"), "looks like UTF-16 text without a byte-order mark"),
    ("lab: x\nvms: []\n".encode("utf-16-be"), "looks like UTF-16 text"),
    ("lab: x\nvms: []\n".encode("utf-32-le"), "looks like UTF-32 text"),
])
def test_utf16_and_utf32_are_named(data: bytes, words: str, tmp_path: Path) -> None:
    err = refused(data, tmp_path)
    assert err.line == 1 and words in err.message and "save it as UTF-8" in err.message


def test_bytes_that_are_not_utf8_are_named_with_offset_line_and_column(tmp_path: Path) -> None:
    err = refused(b"lab: x\n# ok\nname: caf\xe9\n", tmp_path)
    assert err.line == 3
    assert err.message == "not UTF-8 text (byte 0xe9 at byte offset 21, column 10): save the file as UTF-8"


@pytest.mark.parametrize("text, line, words", [
    ("a: x\x07y\n", 1, "U+0007 (BEL) at column 5"), ("a: 1\nb: \x1b[31m\n", 2, "U+001B (ESC) at column 4"),
    ("a: 1\r\nb: \x7f\r\n", 2, "U+007F (DEL) at column 4"), ("a: 1\rb: 2\r\x00\r", 3, "U+0000 (NUL) at column 1"),
    ("# \u202e\n", 1, "U+202E (RIGHT-TO-LEFT OVERRIDE) at column 3"), ("a: \x85\n", 1, "U+0085 (NEL)"),
    ("a: \u2028\n", 1, "U+2028 (LINE SEPARATOR)"), ("a: x\ufeff\n", 1, "U+FEFF"), ("a: \x9b\n", 1, "U+009B (CSI)"),
])
def test_control_characters_are_named_with_line_and_column(text: str, line: int, words: str) -> None:
    err = refused(text)
    assert err.line == line and err.message.startswith(words)


def test_an_escaped_control_character_reaches_the_field_which_refuses_it(tmp_path: Path) -> None:
    text = inventory(vms='  - {name: "x\\u001b[31m", adapters: [{interface: eth0, network: nat}]}\n')
    (tmp_path / "i.yml").write_text(text)
    with pytest.raises(InputErrors) as info:
        load_inventory(tmp_path / "i.yml")
    assert [e.field for e in info.value.errors] == ["vms[2].name"]


def test_a_binary_is_named_as_one(tmp_path: Path) -> None:
    err = refused(b"\x7fELF\x02\x01\x01\x00" + bytes(64), tmp_path)
    assert err.line == 1 and "U+007F (DEL) at column 1 (this looks like a binary file" in err.message


# ---- files ----------------------------------------------------------------------------------

@pytest.fixture
def alarm() -> Iterator[None]:
    """Fail instead of hanging if a read blocks (a FIFO opened for reading waits for a writer)."""
    def timeout(signum: int, frame: object) -> None:
        raise TimeoutError("load() blocked")
    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_a_fifo_is_refused_without_blocking(tmp_path: Path, alarm: None) -> None:
    os.mkfifo(tmp_path / "f.yml")
    err = refused_path(tmp_path / "f.yml")
    assert err.line == 1 and err.message.startswith("this is a FIFO (named pipe), not a file")


def refused_path(path: Path | str) -> InputError:
    with pytest.raises(InputError) as info:
        load(path)
    return info.value


def test_what_is_not_a_regular_file_is_refused(tmp_path: Path, alarm: None) -> None:
    assert "a directory" in refused_path(tmp_path).message
    assert "a character device" in refused_path("/dev/zero").message
    (tmp_path / "link.yml").symlink_to("/dev/urandom")
    assert "a character device" in refused_path(tmp_path / "link.yml").message
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "s.yml"))
    try:
        assert "a socket" in refused_path(tmp_path / "s.yml").message
    finally:
        sock.close()


def test_the_size_is_checked_before_reading(tmp_path: Path) -> None:
    with open(tmp_path / "big.yml", "wb") as f:
        f.truncate(1 << 34)  # 16 GiB, sparse: read, it would not fit in memory
    err = refused_path(tmp_path / "big.yml")
    assert err.line == 1 and err.message.startswith("the file is 17,179,869,184 bytes, more than labkit reads")


def test_a_file_of_exactly_the_limit_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlsrc, "MAX_BYTES", 16)
    (tmp_path / "f.yml").write_bytes(b"a: 123456789012\n")  # 16 bytes
    assert load(tmp_path / "f.yml").data == {"a": 123456789012}
    (tmp_path / "f.yml").write_bytes(b"a: 1234567890123\n")
    assert "more than labkit reads (16 bytes)" in refused_path(tmp_path / "f.yml").message


def test_no_more_than_the_limit_is_read_from_a_file_that_claims_less(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlsrc, "MAX_BYTES", 64)
    err = refused_path("/proc/self/status")  # a size of 0, and more than 64 bytes to read
    assert err.line == 1 and "holds more than the 64 bytes labkit reads" in err.message


def test_a_missing_file_is_said_so(tmp_path: Path) -> None:
    err = refused_path(tmp_path / "nope.yml")
    assert (err.message, err.line) == ("no such file", None)


def test_shared_reads_parse_an_unchanged_file_once(tmp_path: Path) -> None:
    path = tmp_path / "f.yml"
    path.write_text("a: [1]\n")
    with shared_reads():
        first, again = load(path), load(os.path.join(tmp_path, ".", "f.yml"))
        assert again.data is first.data and again.path.endswith("./f.yml")
        path.write_text("a: [22]\n")
        assert load(path).data == {"a": [22]}
    assert load(path).data is not load(path).data


# ---- validation and check -------------------------------------------------------------------

def test_a_flood_of_validation_problems_is_sampled_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "i.yml"
    path.write_text("lab: x\nvms: [" + ", ".join(["0"] * 100_000) + "]\n")
    with pytest.raises(InputErrors) as info:
        load_inventory(path)
    errors = info.value.errors
    assert len(errors) < 20 and errors[-1].message.startswith("100,003 problems in all, too many to list")
    assert {e.field for e in errors} >= {"vms[0]", "vms[9]", "host", "lan", "networks"}
    assert "vms[10]" not in {e.field for e in errors}


def test_check_shows_at_most_200_errors_per_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("i.yml").write_text(inventory(tail="".join(f"k{i}: 1\n" for i in range(300))))
    result = CliRunner().invoke(app, ["check", "i.yml"])
    lines = result.stderr.splitlines()
    assert result.exit_code == 2 and len(lines) == 201
    assert lines[-1].startswith("error: i.yml:") and lines[-1].endswith("100 more problems not shown (fix these first)")


@pytest.mark.parametrize("data, path, playbook", [
    ({"steps": []}, "x.yml", True), ({"lab": "x"}, "playbooks/x.yml", False), ("text", "playbooks/x.yml", True),
    ([{"set_mode": {}}], "x.yml", True), ([1, 2], "my.playbook.yml", True), ("text", "x.yml", False),
    ([{"lab": "x"}], "inventory/x.yml", False),
])
def test_what_check_takes_for_a_playbook(data: object, path: str, playbook: bool) -> None:
    assert _is_playbook(data, Path(path)) is playbook


def test_a_playbook_that_is_a_scalar_is_told_what_a_playbook_is(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("playbook.yml").write_text("# oops\nrun everything\n")
    Path("other.yml").write_text("- 1\n")
    result = CliRunner().invoke(app, ["check", "playbook.yml", "other.yml"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: playbook.yml:2: a playbook is a mapping with name, inventory and steps",
        "error: other.yml:1: this file is a list, but an inventory is a mapping (lab, host, lan, networks, vms...) "
        "and a playbook a mapping with name, inventory and steps"]


@pytest.mark.parametrize("extra, ok", [("  tls: false\n  ca_file: /etc/ca.pem\n", False),
                                       ("  tls: false\n  insecure: true\n", False),
                                       ("  tls: true\n  ca_file: /etc/ca.pem\n", True), ("  ca_file: /etc/ca.pem\n", True),
                                       ("  tls: false\n", True)])
def test_tls_settings_without_tls_are_refused_at_the_tls_line(extra: str, ok: bool, tmp_path: Path) -> None:
    path = tmp_path / "i.yml"
    path.write_text(inventory().replace("  type: sim\n", "  type: workstation\n" + extra))
    if ok:
        load_inventory(path)
        return
    with pytest.raises(InputErrors) as info:
        load_inventory(path)
    assert [(e.line, e.field, e.message) for e in info.value.errors] == [
        (5, "backend.tls", "ca_file and insecure apply to https only; remove them or set tls: true")]
