"""ifcfg dialect against NetworkManager's own ifcfg-rh test files (inputs and *.cexpected writer output).

The files are read in place from ../shared (GPL: never copied into labkit). Each file is one test id.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.dialects.ifcfg import IfcfgFile, apply_config, read_config
from labkit.errors import GuestConfigError
from tests.conftest import shared_dir, shared_files

CORPUS = "corpora/ifcfg-networkmanager"
FILES = shared_files(CORPUS, "ifcfg-*")
IDS = [p.name for p in FILES]

# NM reads these by taking a value it cannot unescape as "" and reading on; bash would instead join the
# lines of the open quote (or run the rest of the line, or cut at the NUL), so the file means different
# things to the two readers and labkit refuses it at that line.
REFUSED = {
    # NAME=U Can't Touch This: bash runs `Can't...` as a command, and its open quote takes the rest
    "ifcfg-test-unrecognized": "ifcfg-test-unrecognized:2: NAME: text after the value",
    "ifcfg-test-variables-corner-cases-1": "ifcfg-test-variables-corner-cases-1:5: NAME: unterminated double",
    "ifcfg-test-write-unknown-1": "ifcfg-test-write-unknown-1:1: FOO: unterminated single quote",
    "ifcfg-test-write-unknown-2": "ifcfg-test-write-unknown-2:1: FOO: unterminated single quote",
    "ifcfg-test-write-unknown-3": "ifcfg-test-write-unknown-3:1: FOO: unterminated single quote",
    "ifcfg-test-write-unknown-4": r"ifcfg-test-write-unknown-4:18: METRIC2: an escape gives a NUL",  # $'\U0x'
}

ACCEPTED = [p for p in FILES if p.name not in REFUSED]
ACCEPTED_IDS = [p.name for p in ACCEPTED]

HOSTILE = ["$(touch pwned)", "`id`", "a b\"c'd\\", "line\nbreak\t", "'; reboot; '", "\x1b[0m\x7f",
           "Grüße ✓", "", "# not a comment", "~root;|&<>"]


def text_of(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "surrogateescape")


def parsed(path: Path) -> IfcfgFile:
    return IfcfgFile.parse(text_of(path), path.name)


def values(f: IfcfgFile) -> dict[str, str | None]:
    return {key: f.get(key) for key in f.keys()}


if not FILES:
    def test_corpus_present() -> None:
        shared_dir(CORPUS)  # skips, or fails under CI


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_parse(path: Path) -> None:
    if path.name in REFUSED:
        with pytest.raises(GuestConfigError, match=REFUSED[path.name]):
            IfcfgFile.parse(text_of(path), path.name)
    else:
        IfcfgFile.parse(text_of(path), path.name)


@pytest.mark.parametrize("path", ACCEPTED, ids=ACCEPTED_IDS)
def test_render_is_byte_identical(path: Path) -> None:
    assert parsed(path).render().encode("utf-8", "surrogateescape") == path.read_bytes()


@pytest.mark.parametrize("path", ACCEPTED, ids=ACCEPTED_IDS)
def test_reparse_gives_same_values(path: Path) -> None:
    f = parsed(path)
    assert values(IfcfgFile.parse(f.render(), path.name)) == values(f)


@pytest.mark.parametrize("path", ACCEPTED, ids=ACCEPTED_IDS)
def test_setting_each_value_to_itself_changes_nothing(path: Path) -> None:
    f = parsed(path)
    text = f.render()
    changed = []
    for key in f.keys():
        f.set(key, f.get(key))
        if f.render() != text:
            changed.append(key)
    assert changed == []  # every key is checked; all offenders are listed at once


@pytest.mark.parametrize("path", ACCEPTED, ids=ACCEPTED_IDS)
def test_hostile_values_come_back(path: Path) -> None:
    f = parsed(path)
    wanted = {key: HOSTILE[n % len(HOSTILE)] for n, key in enumerate(f.keys())}
    for key, value in wanted.items():
        f.set(key, value)
    assert values(IfcfgFile.parse(f.render(), path.name)) == wanted


@pytest.mark.parametrize("path", ACCEPTED, ids=ACCEPTED_IDS)
def test_read_config_succeeds_or_explains(path: Path) -> None:
    f = parsed(path)
    try:
        cfg = read_config(f)
    except GuestConfigError as e:
        assert str(e).startswith(path.name)  # names the file (and the line of the key, when there is one)
        return
    apply_config(f, cfg)  # applying what the file says keeps meaning the same thing
    assert read_config(IfcfgFile.parse(f.render(), path.name)) == cfg
