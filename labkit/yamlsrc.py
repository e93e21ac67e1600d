"""Load YAML keeping where every value came from, so a validation error can name file:line.

ruamel.yaml's round-trip loader records line numbers on every mapping and sequence; we flatten the
document to plain Python values (what pydantic validates) plus a map from each value's path
(("vms", 0, "adapters", 1, "mac")) to its 1-based line.
"""

from __future__ import annotations

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


def dotted(loc: Loc) -> str | None:
    """("vms", 0, "ssh", "user") -> "vms[0].ssh.user"."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
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
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", file=name) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", file=name) from None
    return loads(text, name)


def loads(text: str, name: str = "<string>") -> Source:
    yaml = YAML(typ="rt")
    try:
        raw = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        if "duplicate key" in str(exc):
            problem = "duplicate key " + str(exc.problem).split("found duplicate key", 1)[-1].strip()
        raise InputError(f"YAML syntax: {problem or exc}", file=name, line=line) from None
    except YAMLError as exc:
        raise InputError(f"YAML syntax: {exc}", file=name) from None
    lines: dict[Loc, int] = {}
    try:
        data = _plain(raw, (), lines)
    except InputError as exc:
        exc.file = name
        raise
    return Source(path=name, data=data, lines=lines)
