"""Build plain data (and the line of every value) from YAML parser events, refusing what labkit does
not use, in time and memory bounded by the file's size.

Why not ruamel's composer and constructor: a tag (`!!python/object`, `!!omap`, `!!int zz`) makes
the constructor build objects or crash; merge keys (`<<:`) splice mappings; aliases are expanded
into copies, so seven lines of nested aliases become billions of values; the composer recurses
once per nesting level (RecursionError near 1000). Here the parser's events are read in one loop
with an explicit stack, and:

- every tag, `%YAML`/`%TAG` directive and merge key is refused where it is written;
- anchors (`&name`) and aliases (`*name`) are allowed, but all aliases of a file together may
  repeat at most ALIAS_BUDGET values (an alias costs the size of what it names);
- nesting stops at MAX_DEPTH, a file at MAX_NODES keys and values, a number at MAX_NUMBER chars.

A control character written as an escape in a quoted string ("x\\0y") is the value's business:
the model refuses it with the field's own message (yamlsrc refuses raw ones, before parsing).

Plain scalars are read with YAML 1.2's core schema (null, true/false, ints incl. 0x/0o/0b and
`_`, floats incl. .inf/.nan); anything else, dates included, is a string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    Event,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
)

from labkit.errors import InputError

Loc = tuple[str | int, ...]

MAX_DEPTH = 64  # labkit's deepest real path is 6 levels (vms[0].adapters[0].config.dns[0])
MAX_NODES = 120_000  # keys and values: ~4 s to parse; 5000 VMs written like the seed lab's have 110,000
ALIAS_BUDGET = 10_000  # values that aliases may repeat, all aliases of a file together
MAX_NUMBER = 64  # characters of a number: no labkit field needs more

_NULL = re.compile(r"~|null|Null|NULL|")
_BOOL = re.compile(r"true|True|TRUE|false|False|FALSE")
_INT = re.compile(r"[-+]?(?:0b[01_]+|0o?[0-7_]+|[0-9_]+|0x[0-9a-fA-F_]+)")
_FLOAT = re.compile(r"[-+]?(?:[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[0-9][0-9_]*[eE][-+]?[0-9]+"
                    r"|\.[0-9_]+(?:[eE][-+][0-9]+)?|\.(?:inf|Inf|INF))|\.(?:nan|NaN|NAN)")


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


def tag_shown(tag: object) -> str:
    """The tag as it is usually written: !!omap rather than tag:yaml.org,2002:omap."""
    text = str(tag)
    if text.startswith("tag:yaml.org,2002:"):
        text = "!!" + text.removeprefix("tag:yaml.org,2002:")
    elif not text.startswith("!"):
        text = f"!<{text}>"
    return text if len(text) <= 40 else text[:37] + "..."


def _number(value: str) -> int | float | str:
    """A plain scalar the core schema calls a number, as one (a malformed one like 0x_ stays text)."""
    text = value.replace("_", "")
    try:
        if _FLOAT.fullmatch(value):
            low = text.lower()
            if low.endswith(("inf", "nan")):
                return float(low.replace(".", ""))
            return float(text)
        sign, digits = (-1, text[1:]) if text[:1] == "-" else (1, text.lstrip("+"))
        base = {"0b": 2, "0x": 16, "0o": 8}.get(digits[:2])
        return sign * (int(digits[2:], base) if base else int(digits))
    except ValueError:
        return value


_MISSING = object()


@dataclass(eq=False, slots=True)
class _Open:
    """A mapping or list whose end has not been read yet."""

    value: dict[str, Any] | list[Any]
    loc: Loc
    anchor: str | None
    first_entry: int  # its descendants' lines start here in Composer.entries
    first_node: int
    depth: int
    deepest: int
    key: str | None = None  # a mapping: the key whose value comes next, its line, its earlier value
    key_line: int = 0
    duplicate_of: Any = _MISSING


@dataclass(frozen=True, slots=True)
class _Anchor:
    value: Any
    loc: Loc
    entries: tuple[int, int]  # its descendants' lines: Composer.entries[start:end]
    size: int  # values it holds, itself and what aliases inside it repeat included
    depth: int  # nesting levels it adds


class Composer:
    """One document from a stream of parser events: `run` returns its data and the line of each path."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.entries: list[tuple[Loc, int]] = []  # (path, line), in file order: dict(entries) is the map
        self.anchors: dict[str, _Anchor] = {}
        self.stack: list[_Open] = []
        self.nodes = 0
        self.repeated = 0  # values repeated by aliases so far
        self.root: Any = None

    def error(self, message: str, event: Event | None, loc: Loc = (), line: int | None = None) -> InputError:
        if line is None and event is not None:
            line = event.start_mark.line + 1
        return InputError(message, file=self.name, line=line, field=dotted(loc))

    def run(self, events: Iterator[Event]) -> tuple[Any, dict[Loc, int]]:
        documents = 0
        for event in events:
            if isinstance(event, NodeEvent):
                self.node(event)
            elif isinstance(event, CollectionEndEvent):
                self.close()
            elif isinstance(event, DocumentStartEvent):
                if documents:
                    raise self.error("YAML syntax: expected a single document in the stream but found another "
                                     "document", event)
                documents += 1
                if event.version or event.tags:  # yamlsrc refuses directive lines before parsing: a safety net
                    raise self.error("a directive is not supported (labkit reads YAML 1.2 with no directives)", event)
        return self.root, dict(self.entries)

    def node(self, event: NodeEvent) -> None:
        parent = self.stack[-1] if self.stack else None
        is_key = parent is not None and parent.key is None and isinstance(parent.value, dict)
        loc = self.place(parent, is_key)
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.error(f"more than {MAX_NODES:,} keys and values: labkit reads inventories and playbooks "
                             "up to that size (is this the right file?)", event, loc)
        column = event.start_mark.column + 1
        tag = getattr(event, "tag", None)
        if tag is not None:
            raise self.error(f"YAML tag {tag_shown(tag)} (column {column}) is not supported: labkit's files use no "
                             "tags; write the plain value (quote it to make it a string)", event, loc)
        if isinstance(event, CollectionStartEvent):
            kind = "a mapping" if isinstance(event, MappingStartEvent) else "a list"
            if is_key:
                raise self.error(f"keys must be strings, not {kind}", event, loc)
            if len(self.stack) >= MAX_DEPTH:
                raise self.error(f"nested deeper than {MAX_DEPTH} levels (column {column}): labkit's files need "
                                 "fewer than 10; flatten the structure", event)
            opened: dict[str, Any] | list[Any] = {} if kind == "a mapping" else []
            self.link(parent, opened, event, loc)
            if event.anchor is not None:
                self.anchors.pop(event.anchor, None)  # an alias inside names this value, not an older one
            depth = len(self.stack) + 1
            self.stack.append(_Open(opened, loc, event.anchor, len(self.entries), self.nodes, depth, depth))
            return
        if isinstance(event, AliasEvent):
            value = self.alias(event, loc, is_key)
        else:
            assert isinstance(event, ScalarEvent)
            value = self.scalar(event, loc)
            if event.anchor is not None:
                self.anchors[event.anchor] = _Anchor(value, loc, (0, 0), 1, 0)
        if is_key:
            assert parent is not None
            self.set_key(parent, value, event)
        else:
            self.link(parent, value, event, loc)

    @staticmethod
    def place(parent: _Open | None, is_key: bool) -> Loc:
        """The path of the value that starts now (a key: its mapping's)."""
        if parent is None:
            return ()
        if is_key:
            return parent.loc
        if isinstance(parent.value, list):
            return parent.loc + (len(parent.value),)
        assert parent.key is not None
        return parent.loc + (parent.key,)

    def link(self, parent: _Open | None, value: Any, event: Event, loc: Loc) -> None:
        """Put a value into its parent and record its line (a mapping's value: its key's line)."""
        if parent is None:
            self.root = value
            self.entries.append(((), event.start_mark.line + 1))
        elif isinstance(parent.value, list):
            parent.value.append(value)
            self.entries.append((loc, event.start_mark.line + 1))
        else:
            assert parent.key is not None
            if parent.duplicate_of is not _MISSING:
                self.duplicate(parent, value)
            parent.value[parent.key] = value
            self.entries.append((loc, parent.key_line))
            parent.key = None

    def set_key(self, parent: _Open, key: Any, event: NodeEvent) -> None:
        assert isinstance(parent.value, dict)
        if key == "<<" and isinstance(event, ScalarEvent) and event.implicit[0]:
            raise self.error(f"merge keys (<<, column {event.start_mark.column + 1}) are not supported: write "
                             "the keys out (an alias *name can repeat a whole value)", event, parent.loc)
        if not isinstance(key, str):
            shown = repr(key) if len(repr(key)) <= 60 else repr(key)[:57] + "..."
            raise self.error(f"keys must be strings, not {shown}", event, parent.loc)
        parent.key, parent.key_line = key, event.start_mark.line + 1
        parent.duplicate_of = parent.value.get(key, _MISSING)

    def duplicate(self, parent: _Open, value: Any) -> None:
        first = parent.duplicate_of
        if not isinstance(value, (dict, list)) and not isinstance(first, (dict, list)):
            detail = f' with value "{str(value)[:60]}" (original value: "{str(first)[:60]}")'  # as ruamel said it
        else:
            where = parent.loc + (str(parent.key),)
            line = next((n for path, n in reversed(self.entries) if path == where), None)
            detail = f" (line {line} has it too)" if line else ""
        raise self.error(f'YAML syntax: duplicate key "{parent.key}"{detail}', None, line=parent.key_line)

    def close(self) -> None:
        done = self.stack.pop()
        if self.stack:
            self.stack[-1].deepest = max(self.stack[-1].deepest, done.deepest)
        if done.anchor is not None:
            self.anchors[done.anchor] = _Anchor(done.value, done.loc, (done.first_entry, len(self.entries)),
                                                self.nodes - done.first_node + 1, done.deepest - done.depth + 1)

    def scalar(self, event: ScalarEvent, loc: Loc) -> Any:
        value: str = event.value
        if not event.implicit[0]:  # quoted, or a block scalar: a string
            return value
        if value[:1] in "~nN" and _NULL.fullmatch(value):
            return None
        if value[:1] in "tTfF" and _BOOL.fullmatch(value):
            return value[0] in "tT"
        if value[:1] in "-+.0123456789" and (_INT.fullmatch(value) or _FLOAT.fullmatch(value)):
            if len(value) > MAX_NUMBER:
                raise self.error(f"a number of {len(value):,} characters (column {event.start_mark.column + 1}) "
                                 "is too large for any labkit field", event, loc)
            return _number(value)
        return value

    def alias(self, event: AliasEvent, loc: Loc, is_key: bool) -> Any:
        """The anchored value, once its cost is within the budget; its lines are copied under `loc`."""
        name = event.anchor
        shown, column = (name if len(name) <= 40 else name[:37] + "..."), event.start_mark.column + 1
        anchor = self.anchors.get(name)
        if anchor is None:
            if any(o.anchor == name for o in self.stack):
                raise self.error(f"alias *{shown} (column {column}) is inside the value it names (&{shown}): "
                                 "a value cannot contain itself", event, loc)
            raise self.error(f"alias *{shown} (column {column}) names no anchor above it: write &{shown} on "
                             "the value to repeat, before the alias", event, loc)
        self.repeated += anchor.size
        self.nodes += anchor.size - 1
        if self.nodes > MAX_NODES:
            raise self.error(f"more than {MAX_NODES:,} keys and values, those aliases repeat included", event, loc)
        if self.repeated > ALIAS_BUDGET:
            raise self.error(f"aliases repeat more than {ALIAS_BUDGET:,} values in this file (here: *{shown}, "
                             f"column {column}): write the values out instead of nesting aliases", event, loc)
        if len(self.stack) + anchor.depth > MAX_DEPTH:
            raise self.error(f"alias *{shown} (column {column}) nests values deeper than {MAX_DEPTH} levels",
                             event)
        if self.stack:
            self.stack[-1].deepest = max(self.stack[-1].deepest, len(self.stack) + anchor.depth)
        if not is_key:
            start, end = anchor.entries
            cut = len(anchor.loc)
            self.entries.extend((loc + path[cut:], line) for path, line in self.entries[start:end])
        return anchor.value
