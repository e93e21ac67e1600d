"""YAML edited as text: the file keeps its own characters, and only the values that move change.

People, installers, cloud-init and NetworkManager each write netplan YAML in their own layout (flow
or block, `[ a ]`, quoted keys with escapes, `key :`, trailing blanks, CRLF, lines of any length).
A YAML library that loads and dumps re-emits every line in its own style, so a file nobody needed
to change would differ, and an edit would look like a rewrite. So this module reads the structure
with ruamel's composer, whose nodes keep their offsets in the text, and an `Editor` records each
change as a splice of the original text: an unedited document renders byte-identical, and an edit
touches only the lines of the values that move. New lines take the file's line ending,
indentation and sequence style (measured from the file), and flow collections stay flow.

`load(text, name)` gives the root node, None for an empty or comment-only file, and raises
GuestConfigError `name:line: problem` for what does not parse (or holds several documents).
Nodes are ruamel's MappingNode (`.value`: [(key, value)]), SequenceNode and ScalarNode (`.value`:
the decoded text; `.style`: None when plain). An alias is the anchored node itself, so a node
reached twice is shared: `shared(root)` lists them, for callers that must not edit through one.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from labkit.errors import GuestConfigError

MERGE_TAG = "tag:yaml.org,2002:merge"
_PLAIN = re.compile(r"[A-Za-z0-9_./-][A-Za-z0-9_./@-]*")
_NOT_STR = re.compile(  # what a YAML 1.1 or 1.2 reader would take for a bool, null, number or date
    r"(?i:y|n|yes|no|true|false|on|off|null|~)|[-+]?(?:0[xob]?[0-9a-f_]*|[0-9][0-9_]*(?:\.[0-9_]*)?"
    r"(?:e[-+]?[0-9]+)?|\.[0-9_]+(?:e[-+]?[0-9]+)?|\.(?i:inf|nan))|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*")


_ALIAS = re.compile(r"[ \t\r\n]*(?::[ \t\r\n]*)?(?:-[ \t]+)?\*[^ \t\r\n,\]}]+")
_Splice = tuple[int, int, tuple[int, int], str]  # (start, stop, order among splices at one offset, new text)


def _order(node: Node, n: int) -> tuple[int, int]:
    """Additions at one offset: a nested collection's before its parent's (it starts later), then in turn."""
    return (-int(node.start_mark.index), n)


class Raw(str):
    """Text written as it is: a boolean in the spelling of the value it replaces (`no`, `Off`)."""


def load(text: str, name: str) -> Node | None:
    try:
        docs = list(YAML(typ="safe", pure=True).compose_all(text))
    except YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise GuestConfigError(f"{name}:{mark.line + 1}: {problem}" if mark else f"{name}: {problem}") from None
    if len(docs) > 1:
        raise GuestConfigError(f"{name}:{docs[1].start_mark.line + 1}: a second YAML document "
                               "(netplan reads one per file)")
    root = docs[0] if docs else None
    return None if isinstance(root, ScalarNode) and root.value == "" else root


def line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def shared(root: Node | None) -> set[int]:
    """id() of every node the document reaches more than once (through an alias)."""
    seen: Counter[int] = Counter()
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        seen[id(node)] += 1
        if seen[id(node)] > 1:
            continue
        if isinstance(node, MappingNode):
            stack += [n for pair in node.value for n in pair]
        elif isinstance(node, SequenceNode):
            stack += node.value
    return {n for n, count in seen.items() if count > 1}


def flow(node: Node) -> bool:
    """Whether a collection is written in flow style (`[a, b]`, `{k: v}`)."""
    return bool(getattr(node, "flow_style", False))


def text_of(node: Node | None) -> str | None:
    return node.value if isinstance(node, ScalarNode) else None


def scalar(value: Any, flow: bool = False) -> str:
    """A value labkit writes (str, bool, int), plain when every YAML reader takes it as that string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Raw):
        return str(value)
    if _PLAIN.fullmatch(value) and not _NOT_STR.fullmatch(value) and value[0] != "-" and not (flow and "," in value):
        return value
    return "'" + value.replace("'", "''") + "'"


def requote(old: ScalarNode, value: str) -> str:
    """`value` written as the scalar it replaces was: in its quotes, or plain."""
    if old.style is None:
        return scalar(value)
    if old.style == '"':
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "'" + value.replace("'", "''") + "'"


@dataclass(slots=True)
class _Plan:
    """What changes in one collection: items or entries dropped, and new ones before an index."""

    node: Node
    drop: set[int] = field(default_factory=set)
    add: list[tuple[int, Any, Any]] = field(default_factory=list)  # (before index, key or None, value)


class Editor:
    """Splices on `text`, rendered all at once; plans per collection so that drops and additions in one
    collection are laid out together (a flow collection's commas, a block's lines)."""

    def __init__(self, text: str, root: Node | None) -> None:
        self.text = text
        self.eol = "\r\n" if "\r\n" in text else "\n"
        self._splices: list[_Splice] = []
        self._plans: dict[int, _Plan] = {}
        self.step, self.offset, self.seq_indent, self.flow_lists = _measure(text, root)

    # ---------------------------------------------------------------- positions

    def _line_start(self, i: int) -> int:
        return self.text.rfind("\n", 0, i) + 1

    def _next_line(self, i: int) -> int:
        j = self.text.find("\n", i)
        return len(self.text) if j < 0 else j + 1

    def _starts_line(self, i: int) -> bool:
        return self.text[self._line_start(i):i].strip(" \t") == ""

    def column(self, node: Node) -> int:
        return int(node.start_mark.column)

    def end(self, node: Node, after: int = -1) -> int:
        """Where the node's own text ends; `after`: where its text must start (an alias is found there)."""
        start = node.start_mark.index
        if start < after:  # an alias: the anchored node lies elsewhere, `*name` is here
            m = _ALIAS.match(self.text, after)
            return m.end() if m else after
        if isinstance(node, ScalarNode) or flow(node):
            stop = node.end_mark.index
            while stop > start and isinstance(node, ScalarNode) and node.style in ("|", ">") \
                    and self.text[stop - 1] in " \t\r\n":
                stop -= 1
            return stop
        items = node.value
        if not items:
            return start
        if isinstance(node, MappingNode):
            return self.entry_end(node, len(items) - 1)
        return self.end(items[-1], self._item_floor(node, len(items) - 1))

    def _item_floor(self, seq: Node, i: int) -> int:
        return seq.value[i - 1].end_mark.index if i else seq.start_mark.index

    def entry_end(self, mapping: Node, i: int) -> int:
        key, value = mapping.value[i]
        key_end = self.end(key, mapping.value[i - 1][0].start_mark.index if i else -1)
        if isinstance(value, ScalarNode) and value.value == "" and value.style is None:
            return key_end
        return max(key_end, self.end(value, key_end))

    def _item_start(self, seq: Node, i: int) -> int:
        """Where item i begins: its dash in a block sequence."""
        node = seq.value[i]
        start = node.start_mark.index
        if start < self._item_floor(seq, i):  # an alias
            start = self.text.index("*", self._item_floor(seq, i))
        if not flow(seq):
            start = self.text.rindex("-", 0, start)
        return start

    # ---------------------------------------------------------------- recording

    def replace(self, node: Node, value: str) -> None:
        """Replace a scalar's text, keeping its quoting."""
        assert isinstance(node, ScalarNode), "only a scalar is replaced in place"
        new = requote(node, value)
        if new != self.text[node.start_mark.index:node.end_mark.index]:
            self._splices.append((node.start_mark.index, node.end_mark.index, (0, len(self._splices)), new))

    def _plan(self, node: Node) -> _Plan:
        return self._plans.setdefault(id(node), _Plan(node))

    def drop(self, node: Node, index: int) -> None:
        """Drop a mapping entry or a sequence item (a block mapping entry must start its line)."""
        self._plan(node).drop.add(index)

    def add(self, node: Node, value: Any, key: Any = None, before: int | None = None) -> None:
        """Add an entry (key given) to a mapping or an item to a sequence, before `before` or at the end."""
        self._plan(node).add.append((len(node.value) if before is None else before, key, value))

    def append_document(self, value: dict[str, Any]) -> None:
        """An empty or comment-only file gets its first content after what it has."""
        lead = "" if not self.text or self.text.endswith("\n") else self.eol
        body = self.eol.join(line for k, v in value.items() for line in self._block(k, v, 0))
        self._splices.append((len(self.text), len(self.text), (0, 0), lead + body + self.eol))

    # ---------------------------------------------------------------- rendering new values

    def _flow(self, value: Any) -> str:
        if isinstance(value, dict):
            return "{" + ", ".join(f"{scalar(k, True)}: {self._flow(v)}" for k, v in value.items()) + "}"
        if isinstance(value, list):
            return "[" + ", ".join(self._flow(v) for v in value) + "]"
        return scalar(value, True)

    def _inline(self, value: Any) -> bool:
        return not isinstance(value, dict | list) or not value or (
            isinstance(value, list) and self.flow_lists and not any(isinstance(v, dict | list) for v in value))

    def _block(self, key: Any, value: Any, col: int) -> list[str]:
        head = " " * col + scalar(key) + ":"
        if self._inline(value):
            return [f"{head} {self._flow(value)}"]
        if isinstance(value, dict):
            return [head] + [line for k, v in value.items() for line in self._block(k, v, col + self.step)]
        return [head] + [line for v in value for line in self._item(v, col + self.offset)]

    def _item(self, value: Any, dash: int) -> list[str]:
        pad = " " * dash + "-" + " " * (self.seq_indent - 1)
        if not isinstance(value, dict) or not value:
            return [pad + self._flow(value)]
        lines = [line for k, v in value.items() for line in self._block(k, v, dash + self.seq_indent)]
        return [pad + lines[0].lstrip(" ")] + lines[1:]

    # ---------------------------------------------------------------- materialising the plans

    def render(self) -> str:
        splices = list(self._splices)
        for plan in self._plans.values():
            if flow(plan.node):
                splices += self._flow_plan(plan)
            else:
                splices += self._block_plan(plan)
        out, pos = [], 0
        for start, stop, _, new in sorted(splices):
            if start < pos:
                raise AssertionError(f"overlapping edits at offset {start}")
            out += [self.text[pos:start], new]
            pos = stop
        out.append(self.text[pos:])
        return "".join(out)

    def _block_plan(self, plan: _Plan) -> list[_Splice]:
        node, out = plan.node, []
        is_map = isinstance(node, MappingNode)
        for i in sorted(plan.drop):
            start = node.value[i][0].start_mark.index if is_map else self._item_start(node, i)
            if not self._starts_line(start):
                raise AssertionError("a block entry that shares its line with its parent cannot be dropped")
            stop = self.entry_end(node, i) if is_map else self.end(node.value[i], self._item_floor(node, i))
            out.append((self._line_start(start), self._next_line(stop - 1), (0, 0), ""))
        first = node.value[0][0] if is_map else node.value[0]
        col = self.column(first) if is_map else self._item_start(node, 0) - self._line_start(self._item_start(node, 0))
        for n, (before, key, value) in enumerate(plan.add):
            lines = self._block(key, value, col) if is_map else self._item(value, col)
            text = "".join(line + self.eol for line in lines)
            at_start = node.value[before][0].start_mark.index if is_map and before < len(node.value) else \
                self._item_start(node, before) if before < len(node.value) else None
            if at_start is not None and self._starts_line(at_start):
                pos = self._line_start(at_start)
            else:
                pos = self._next_line(self.end(node) - 1)
                if pos == len(self.text) and not self.text.endswith("\n"):
                    text = self.eol + text[:-len(self.eol)]
            out.append((pos, pos, _order(node, n), text))
        return out

    def _flow_plan(self, plan: _Plan) -> list[_Splice]:
        """Between kept items only: the text of a kept item (and any edit inside it) never moves."""
        node, n = plan.node, len(plan.node.value)
        is_map = isinstance(node, MappingNode)
        starts = [(node.value[i][0] if is_map else node.value[i]).start_mark.index for i in range(n)]
        ends = [self.entry_end(node, i) if is_map else self.end(node.value[i], starts[i]) for i in range(n)]
        sep = next((self.text[ends[i]:starts[i + 1]] for i in range(n - 1)
                    if re.fullmatch(r"[ \t]*,[ \t]*", self.text[ends[i]:starts[i + 1]])), ", ")
        new: dict[int, list[str]] = {}
        for before, key, value in plan.add:
            new.setdefault(before, []).append(f"{scalar(key, True)}: {self._flow(value)}" if is_map
                                              else self._flow(value))
        kept = [i for i in range(n) if i not in plan.drop]
        out: list[_Splice] = []
        # a region between two kept items (or an end) becomes: separator, new items, separator
        bounds = [-1, *kept, n]
        for a, b in zip(bounds, bounds[1:], strict=False):
            items = [t for i in range(a + 1, b + 1) for t in new.get(i, [])]
            dropped = any(i in plan.drop for i in range(a + 1, b))
            if not items and not dropped:
                continue
            lo = ends[a] if a >= 0 else (starts[0] if n else node.start_mark.index + 1)
            hi = starts[b] if b < n else (ends[n - 1] if n else lo)
            if a < 0 and b == n and n and not kept:
                lo, hi = starts[0], ends[n - 1]
            body = sep.join(items)
            if a >= 0 and b < n:
                text = sep + body + sep if items else sep
            elif a >= 0:
                text = sep + body if items else ""
            elif b < n:
                text = body + sep if items else ""
            else:
                text = body
            out.append((lo, hi, _order(node, len(out)), text))
        return out


def _measure(text: str, root: Node | None) -> tuple[int, int, int, bool]:
    """(mapping step, dash offset from the parent key, item indent after the dash, flow scalar lists?)
    most common in the file; defaults as the Ubuntu installer writes: 2, 0, 2, block."""
    steps: Counter[int] = Counter()
    seqs: Counter[tuple[int, int]] = Counter()
    lists: Counter[bool] = Counter()
    stack = [root] if root is not None else []
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            stack += node.value
            if node.value and all(isinstance(v, ScalarNode) for v in node.value):
                lists[bool(node.flow_style)] += 1
        if not isinstance(node, MappingNode):
            continue
        for key, value in node.value:
            stack.append(value)
            if node.flow_style or isinstance(value, ScalarNode) or value.flow_style or not value.value:
                continue
            kcol, kline = key.start_mark.column, key.start_mark.line
            first = value.value[0][0] if isinstance(value, MappingNode) else value.value[0]
            if first.start_mark.line <= kline:
                continue
            if isinstance(value, MappingNode):
                steps[first.start_mark.column - kcol] += 1
            else:
                dash = text.rfind("-", 0, first.start_mark.index)
                dcol = dash - (text.rfind("\n", 0, dash) + 1)
                if first.start_mark.line == text.count("\n", 0, dash):
                    seqs[(dcol - kcol, first.start_mark.column - dcol)] += 1
    step = steps.most_common(1)[0][0] if steps else 2
    offset, indent = seqs.most_common(1)[0][0] if seqs else (0, 2)
    return max(step, 1), max(offset, 0), max(indent, 2), lists[True] > lists[False]
