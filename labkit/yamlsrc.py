"""Load YAML keeping where every value came from, so a validation error can name file:line; refuse,
before parsing, whatever is not a small UTF-8 text file.

The document is flattened to plain Python values (what pydantic validates) plus a map from each
value's path (("vms", 0, "adapters", 1, "mac")) to its 1-based line (yamlcompose.py, which also
refuses tags, merge keys, alias bombs and deep nesting). Here, before a byte is parsed: the path
must be a regular file (a FIFO would block, /dev/zero never ends) of at most MAX_BYTES, checked
with stat before opening and again on the open descriptor, and at most MAX_BYTES + 1 bytes are
read; the bytes must be UTF-8 (a UTF-16/32 byte-order mark or NUL-rich UTF-16 is named as such)
with no control characters but tab, newline and CR. Every refusal names the file and line (1 for
what concerns the whole file), and the column where there is one.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from labkit.errors import InputError
from labkit.yamlcompose import Composer, Loc, dotted

__all__ = ["MAX_BYTES", "Loc", "Source", "dotted", "load", "loads", "read_text", "shared_reads"]

MAX_BYTES = 1536 * 1024  # 1.5 MiB: a 5000-VM inventory is 0.5-1 MiB, and parsing (pure Python) 1.5 MiB takes ~4 s

_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32 (little-endian)"), (b"\x00\x00\xfe\xff", "UTF-32 (big-endian)"),
         (b"\xff\xfe", "UTF-16 (little-endian)"), (b"\xfe\xff", "UTF-16 (big-endian)"))
_UTF8_BOM = b"\xef\xbb\xbf"
# Characters refused anywhere in a file's text, before parsing: C0 controls but tab, LF
# and CR; DEL and C1 controls; line/paragraph separators (line breaks to YAML, not to editors);
# bidirectional overrides ("Trojan Source"); zero-width space and a BOM after the start;
# noncharacters.
BAD_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f"
                      "\u2028-\u202e\u2066-\u2069\ufeff\ufffe\uffff]")
_C0_NAMES = dict(enumerate("NUL SOH STX ETX EOT ENQ ACK BEL BS HT LF VT FF CR SO SI DLE DC1 DC2 DC3 "
                           "DC4 NAK SYN ETB CAN EM SUB ESC FS GS RS US".split())) | {0x7F: "DEL", 0x85: "NEL",
                                                                                      0x9B: "CSI"}
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


@dataclass(frozen=True)
class Source:
    """A loaded document: plain data, and the line of each path in it."""

    path: str
    data: Any
    lines: dict[Loc, int]

    def line_of(self, loc: Loc) -> int | None:
        """The line of `loc`, or of its nearest ancestor that has one (a missing key's parent)."""
        loc = tuple(loc)
        while True:
            if loc in self.lines:
                return self.lines[loc]
            if not loc:
                return None
            loc = loc[:-1]

    def error(self, message: str, loc: Loc = (), field: str | None = None) -> InputError:
        return InputError(message, file=self.path, line=self.line_of(loc),
                          field=field if field is not None else dotted(loc))


# Files already parsed inside `shared_reads()`, by (device, inode, size, mtime): `labkit check` reads
# a playbook's inventory again for every playbook, and each file once more to tell what it is.
_SHARED: ContextVar[dict[tuple[int, int, int, int], Source] | None] = ContextVar("labkit_yaml_shared", default=None)


@contextmanager
def shared_reads() -> Iterator[None]:
    """Within this block, loading an unchanged file again returns the first parse (under its new name)."""
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def load(path: str | Path) -> Source:
    """Read and parse one YAML file; every refusal is an InputError naming the file and line."""
    name = str(path)
    data, key = _read(path, name)
    shared = _SHARED.get()
    if shared is not None and key in shared:
        first = shared[key]
        return Source(path=name, data=first.data, lines=first.lines)
    source = loads(_text(data, name), name)
    if shared is not None:
        shared[key] = source
    return source


def read_text(path: str | Path) -> str:
    """A file's text read as labkit reads its YAML (a regular file, at most MAX_BYTES, UTF-8, no
    control characters), for a file that may be in another format (an Ansible INI inventory)."""
    name = str(path)
    return _text(_read(path, name)[0], name)


def _not_regular(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    return next((what for test, what in _KINDS if test(mode)), "not a regular file")


def _read(path: str | Path, name: str) -> tuple[bytes, tuple[int, int, int, int]]:
    """At most MAX_BYTES of a regular file, never blocking: stat first, open non-blocking, fstat again."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError("no such file", file=name) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read: {getattr(exc, 'strerror', None) or exc}", file=name) from None
    _check_kind_and_size(st.st_mode, st.st_size, name)  # before opening: a FIFO would block
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=name) from None
    try:
        fst = os.fstat(fd)
        _check_kind_and_size(fst.st_mode, fst.st_size, name)  # replaced between stat and open
        chunks, total = [], 0
        while total <= MAX_BYTES:
            chunk = os.read(fd, MAX_BYTES + 1 - total)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=name) from None
    finally:
        os.close(fd)
    if total > MAX_BYTES:  # it grew while being read, or claims a size it does not have (/proc)
        raise InputError(f"the file holds more than the {MAX_BYTES:,} bytes labkit reads: is this the right file?",
                         file=name, line=1)
    return b"".join(chunks), (fst.st_dev, fst.st_ino, fst.st_size, fst.st_mtime_ns)


def _check_kind_and_size(mode: int, size: int, name: str) -> None:
    kind = _not_regular(mode)
    if kind is not None:
        raise InputError(f"this is {kind}, not a file: labkit reads inventories and playbooks from regular files "
                         "only", file=name, line=1)
    if size > MAX_BYTES:
        raise InputError(f"the file is {size:,} bytes, more than labkit reads ({MAX_BYTES:,} bytes): is this the "
                         "right file? (split a lab this large into several)", file=name, line=1)


def char_name(ch: str) -> str:
    """U+001B (ESC), U+202E (RIGHT-TO-LEFT OVERRIDE): how an error names an unwanted character."""
    name = _C0_NAMES.get(ord(ch)) or unicodedata.name(ch, "") or (
        "a C1 control character" if 0x80 <= ord(ch) <= 0x9F else "a control character")
    return f"U+{ord(ch):04X} ({name})"


def _line_col(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of text[index], counting line breaks as YAML does (LF, CRLF, CR)."""
    head = text[:index]
    line = head.count("\n") + head.count("\r") - head.count("\r\n") + 1
    return line, index - max(head.rfind("\n"), head.rfind("\r"))


def _bad_char(text: str, name: str, binary: bool = False) -> InputError | None:
    found = BAD_CHAR.search(text)
    if found is None:
        return None
    line, col = _line_col(text, found.start())
    hint = " (this looks like a binary file, not YAML text)" if binary else ""
    return InputError(f"{char_name(found.group())} at column {col}{hint}: remove it (labkit's files are text: "
                      "printable characters, tabs and line breaks)", file=name, line=line)


def _wide_encoding(sample: bytes) -> str | None:
    """UTF-16 or UTF-32 without a byte-order mark, told by where the NUL bytes are (ASCII text in
    UTF-16LE is "a\\0b\\0"): one byte of each 2 (or 3 of each 4) nearly always NUL, the others nearly
    never. A binary's NULs fall anywhere, so it is not mistaken for one."""
    if len(sample) < 8 or b"\0" not in sample:
        return None

    def nul_share(offset: int, step: int) -> float:
        part = sample[offset::step]
        return part.count(0) / len(part)

    for step, width in ((4, "UTF-32"), (2, "UTF-16")):
        shares = sorted(nul_share(i, step) for i in range(step))
        if shares[0] <= 0.1 and shares[1] >= 0.8:
            return width
    return None


def _text(data: bytes, name: str) -> str:
    """The file's text: UTF-8 (a UTF-8 byte-order mark is dropped), else an InputError that says why not."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            raise InputError(f"the file is {encoding} text (it starts with a byte-order mark): save it as UTF-8",
                             file=name, line=1)
    skip = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    sample = data[skip:skip + 4096]
    wide = _wide_encoding(sample)
    if wide:
        raise InputError(f"the file looks like {wide} text without a byte-order mark (its ASCII characters come "
                         "with NUL bytes): save it as UTF-8", file=name, line=1)
    binary = b"\0" in sample or data.startswith(b"\x7fELF")
    try:
        text = data[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        head = data[skip:skip + exc.start].decode("utf-8")
        earlier = _bad_char(head, name, binary)
        if earlier is not None:
            raise earlier from None
        line, col = _line_col(head, len(head))
        raise InputError(f"not UTF-8 text (byte 0x{data[skip + exc.start]:02x} at byte offset {skip + exc.start}, "
                         f"column {col}): save the file as UTF-8", file=name, line=line) from None
    error = _bad_char(text, name, binary)
    if error is not None:
        raise error
    return text


def _directive(text: str, name: str) -> InputError | None:
    """A %YAML, %TAG or other directive line before the document (the parser ignores unknown ones)."""
    for number, line in enumerate(text[:65536].splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("%"):
            word = stripped.split()[0][:20]
            return InputError(f"a {word} directive is not supported: remove the line (labkit reads YAML 1.2 "
                              "with no directives and no tags)", file=name, line=number)
        if stripped and not stripped.startswith("#"):
            return None
    return None


def loads(text: str, name: str = "<string>") -> Source:
    """Parse YAML text (see yamlcompose for what is refused); InputError names `name` and the line."""
    if text.startswith("\ufeff"):
        text = text[1:]
    error = _bad_char(text, name) or _directive(text, name)
    if error is not None:
        raise error
    try:
        data, lines = Composer(name).run(YAML(typ="safe", pure=True).parse(text))
    except MarkedYAMLError as exc:
        raise InputError(_syntax_message(exc), file=name, line=_syntax_line(exc)) from None
    except YAMLError as exc:
        raise InputError(f"YAML syntax: {exc}", file=name) from None
    if data is None:
        raise InputError("the file is empty", file=name, line=1)
    return Source(path=name, data=data, lines=lines)


# Where a YAML error really is: an unclosed quote or bracket is reported by the parser at the end
# of the file; the user needs the line where it was opened.
_OPENED_AT = ("while scanning a quoted scalar", "while parsing a flow")
_HINTS = {
    "expected <block end>": "bad indentation (a line is indented more or less than its siblings)",
    "mapping values are not allowed here": "a ':' where a value was expected (quote the value, or fix the indentation)",
    "found character '\\t'": "a tab character (YAML indents with spaces only)",
    "could not find expected ':'": "a line without 'key: value' (or an unclosed quote above it)",
}


def _syntax_line(exc: MarkedYAMLError) -> int | None:
    ctx = str(exc.context or "")
    mark = exc.context_mark if ctx.startswith(_OPENED_AT) and exc.context_mark else exc.problem_mark
    mark = mark or exc.context_mark
    return mark.line + 1 if mark is not None else None


def _syntax_message(exc: MarkedYAMLError) -> str:
    text = " ".join(str(p) for p in (exc.context, exc.problem) if p) or str(exc)
    if "duplicate key" in str(exc):
        key = str(exc.problem).split("found duplicate key", 1)[-1].strip()
        return f"YAML syntax: duplicate key {key}"
    if str(exc.context or "").startswith("while scanning a quoted scalar"):
        return "YAML syntax: a quote opened here is never closed"
    if str(exc.context or "").startswith("while parsing a flow"):
        return f"YAML syntax: a bracket opened here is never closed ({exc.problem})"
    for marker, hint in _HINTS.items():
        if marker in text:
            return f"YAML syntax: {hint}"
    return f"YAML syntax: {text}"
