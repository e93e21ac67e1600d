"""Load YAML keeping where every value came from, so a validation error can name file:line.

ruamel.yaml's round-trip loader records line numbers on every mapping and sequence; we flatten the
document to plain Python values (what pydantic validates) plus a map from each value's path
(("vms", 0, "adapters", 1, "mac")) to its 1-based line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from labkit.errors import InputError

Loc = tuple[str | int, ...]


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


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def dotted(loc: Loc) -> str | None:
    """("vms", 0, "files", "/etc/x") -> 'vms[0].files["/etc/x"]'; odd keys quoted, never raw."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += "[" + json.dumps(part) + "]"
    return out or None


def _plain(node: Any, loc: Loc, lines: dict[Loc, int]) -> Any:
    if isinstance(node, CommentedMap):
        lines.setdefault(loc, node.lc.line + 1)
        out = {}
        for key in node:
            if not isinstance(key, str):
                raise InputError(f"keys must be strings, not {key!r}", line=node.lc.key(key)[0] + 1,
                                 field=dotted(loc))
            lines[loc + (key,)] = node.lc.key(key)[0] + 1
            out[key] = _plain(node[key], loc + (key,), lines)
        return out
    if isinstance(node, CommentedSeq):
        lines.setdefault(loc, node.lc.line + 1)
        items = []
        for i, item in enumerate(node):
            lines[loc + (i,)] = node.lc.item(i)[0] + 1
            items.append(_plain(item, loc + (i,), lines))
        return items
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def load(path: str | Path) -> Source:
    """Read and parse one YAML file; syntax errors become InputError with the file and line."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", file=name) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=name) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 text (byte 0x{data[exc.start]:02x})", file=name, line=line) from None
    return loads(text, name)


def loads(text: str, name: str = "<string>") -> Source:
    yaml = YAML(typ="rt")
    try:
        raw = yaml.load(text)
    except MarkedYAMLError as exc:
        raise InputError(_syntax_message(exc), file=name, line=_syntax_line(exc)) from None
    except YAMLError as exc:
        raise InputError(f"YAML syntax: {exc}", file=name) from None
    if raw is None:
        raise InputError("the file is empty", file=name, line=1)
    lines: dict[Loc, int] = {}
    try:
        data = _plain(raw, (), lines)
    except InputError as exc:
        exc.file = name
        raise
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
