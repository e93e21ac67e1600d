"""The inventory discover writes, as a tree that knows its comments and its gaps, rendered to YAML.

A discovered inventory is read and finished by a person, so it is written the way the shipped
inventories are: block mappings, one-line `{...}` mappings where a small one fits, and a comment
beside or above what needs a word. What discover cannot know is a `Fill`: written as the bare
word `<fill in>`, which no field of the schema accepts, so `labkit check` refuses the file, naming
each such field, until the user replaces it. Rendering also returns where each Fill landed (its
path in the document and its line), which is what `labkit discover` prints as the list to fill.

The text is generated here rather than by ruamel's round-trip dumper, whose comment placement is
hard to steer; every string is written plain only when it cannot be read back as anything else,
and otherwise double-quoted (a JSON string is a valid YAML double-quoted scalar). writer.py parses
the result again and checks it said what was meant.
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any

from labkit.validation import PLACEHOLDER  # noqa: F401  (one word: the check's message knows it)
from labkit.yamlsrc import BAD_CHAR, Loc


@dataclass(frozen=True)
class Fill:
    """A value only the user knows. `hint` says what to write (shown beside it and in the list);
    `stand_in` is a value that fits, used only to check the rest of the document."""

    hint: str
    stand_in: Any


@dataclass
class Entry:
    key: str
    value: Any  # a scalar, a Fill, a Block, or a list of scalars or Blocks
    note: str | None = None  # written at the end of the key's line
    above: tuple[str, ...] = ()  # comment lines written before the key


@dataclass
class Block:
    """A mapping written key by key, in the order the keys were put."""

    entries: list[Entry] = field(default_factory=list)
    above: tuple[str, ...] = ()  # comment lines before the mapping (a list item's, for one)

    def put(self, key: str, value: Any, note: str | None = None, above: tuple[str, ...] | list[str] = ()) -> Block:
        """Add `key` (a None value is left out, with its comments)."""
        if value is not None:
            self.entries.append(Entry(key, value, note, tuple(above)))
        return self

    def get(self, key: str) -> Any:
        return next((e.value for e in self.entries if e.key == key), None)

    def plain(self) -> dict[str, Any]:
        """The mapping as plain data, a Fill as the placeholder word (what a YAML reader gets back)."""
        return {e.key: plain(e.value) for e in self.entries}


def plain(value: Any) -> Any:
    if isinstance(value, Block):
        return value.plain()
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, Fill):
        return PLACEHOLDER
    if isinstance(value, (IPv4Address, IPv4Interface, IPv4Network)):
        return str(value)
    return value


@dataclass(frozen=True)
class Rendered:
    text: str
    fills: list[tuple[Loc, int, Fill]]  # where each placeholder is: its path, its line


FLOW_WIDTH = 100  # a mapping is written on one line when it fits in this and needs no comment
NOTE_COLUMN = 44  # end-of-line comments start here when the line is shorter
COMMENT_WIDTH = 100  # comment lines of their own are wrapped to this


def render(doc: Block, header: list[str]) -> Rendered:
    out = _Out()
    for line in header:
        out.comment(line, 0)
    out.block(doc, 0, ())
    return Rendered("".join(line + "\n" for line in out.lines), out.fills)


class _Out:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.fills: list[tuple[Loc, int, Fill]] = []

    def comment(self, text: str, indent: int) -> None:
        """`text` as comment lines, wrapped to COMMENT_WIDTH."""
        for part in _shown(text).splitlines() or [""]:
            for piece in textwrap.wrap(part, max(COMMENT_WIDTH - indent - 2, 40), break_long_words=False,
                                       break_on_hyphens=False) or [""]:
                self.lines.append(" " * indent + ("# " + piece if piece else "#"))

    def line(self, text: str, note: str | None) -> None:
        if note:
            text = text.ljust(NOTE_COLUMN - 1) + "  # " + " ".join(_shown(note).split())
        self.lines.append(text)

    def block(self, block: Block, indent: int, loc: Loc, lead: str | None = None) -> None:
        """`block` at `indent`; `lead` replaces the first key's indentation (a list item's "- ")."""
        for i, e in enumerate(block.entries):
            first_of_item = lead is not None and i == 0
            nested = e.value.above if isinstance(e.value, Block) else ()
            for text in (*e.above, *nested):  # an item's first key: its comment goes above the "- " line
                self.comment(text, len(lead) - 2 if first_of_item and lead is not None else indent)
            pad = lead if first_of_item and lead is not None else " " * indent
            self.entry(e, pad, indent, loc + (e.key,))

    def entry(self, e: Entry, pad: str, indent: int, loc: Loc) -> None:
        head = f"{pad}{_key(e.key)}:"
        value = e.value
        if isinstance(value, Fill):
            self.fills.append((loc, len(self.lines) + 1, value))
            self.line(f"{head} {PLACEHOLDER}", _joined("fill this in: " + value.hint, e.note))
        elif isinstance(value, Block):
            flow = _flow(value, len(head) + 1)
            if flow is not None:
                self.line(f"{head} {flow}", e.note)
            else:
                self.line(head, e.note)
                self.block(value, indent + 2, loc)
        elif isinstance(value, list):
            self._list(head, value, indent, loc, e.note)
        else:
            self.line(f"{head} {scalar(value)}", e.note)

    def _list(self, head: str, items: list[Any], indent: int, loc: Loc, note: str | None) -> None:
        if not any(isinstance(v, (Block, Fill)) for v in items):
            self.line(f"{head} [{', '.join(scalar(v) for v in items)}]", note)
            return
        self.line(head, note)
        for n, item in enumerate(items):
            if not isinstance(item, Block):
                raise TypeError(f"a list holds scalars or mappings, not {item!r}")
            for text in item.above:
                self.comment(text, indent + 2)
            flow = _flow(item, indent + 4)
            if flow is not None:
                self.lines.append(" " * (indent + 2) + "- " + flow)
            else:
                self.block(Block(item.entries), indent + 4, loc + (n,), lead=" " * (indent + 2) + "- ")


def _joined(first: str, second: str | None) -> str:
    return first if not second else f"{first}; {second}"


def _flow(block: Block, used: int) -> str | None:
    """`block` as `{k: v, ...}` when it is small, flat and needs no comment; else None."""
    if not block.entries or block.above:
        return None
    parts = []
    for e in block.entries:
        if e.note or e.above or isinstance(e.value, Fill):
            return None
        if isinstance(e.value, Block):
            inner = _flow(e.value, 0)
            if inner is None:
                return None
            parts.append(f"{_key(e.key)}: {inner}")
        elif isinstance(e.value, list):
            if any(isinstance(v, (Block, Fill)) for v in e.value):
                return None
            parts.append(f"{_key(e.key)}: [{', '.join(scalar(v) for v in e.value)}]")
        else:
            parts.append(f"{_key(e.key)}: {scalar(e.value)}")
    text = "{" + ", ".join(parts) + "}"
    return text if used + len(text) <= FLOW_WIDTH else None


# A string is written plain when it holds only these characters, starts with one of the first set,
# and cannot be read as another type (numbers, booleans, null, YAML 1.1 sexagesimals like a MAC).
_PLAIN = re.compile(r"[A-Za-z0-9_/\\.(~][A-Za-z0-9 _./\\:()@+~-]*")
_NOT_STRING = re.compile(r"[-+]?(\.inf|\.nan|[0-9][0-9_]*|0[xob][0-9a-f_]+|[0-9][0-9_]*(:[0-9_]+)+(\.[0-9_]*)?"
                         r"|(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)(e[-+]?[0-9]+)?)"
                         r"|true|false|yes|no|on|off|null|y|n|~", re.IGNORECASE)


def scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (IPv4Address, IPv4Interface, IPv4Network)):
        return str(value)
    if not isinstance(value, str):
        raise TypeError(f"cannot write {value!r} as a YAML scalar")
    plain_ok = (_PLAIN.fullmatch(value) is not None and not value.endswith(" ") and ": " not in value
                and " #" not in value and not value.endswith(":") and _NOT_STRING.fullmatch(value) is None)
    return value if plain_ok else _escaped(json.dumps(value, ensure_ascii=False))


def _escaped(quoted: str) -> str:
    """Characters labkit's YAML reader refuses raw (bidi overrides, C1 controls...), as \\uXXXX escapes,
    which a double-quoted scalar reads back as the same character."""
    return BAD_CHAR.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def _shown(text: str) -> str:
    """Comment text (a source's names appear in it) with what could mislead a reader or the YAML
    reader written as \\uXXXX; line breaks stay (they make new comment lines)."""
    return "".join(c if (c.isprintable() or c in "\n\t") and not BAD_CHAR.match(c) else f"\\u{ord(c):04x}"
                   for c in text)


def _key(key: str) -> str:
    return scalar(key)
