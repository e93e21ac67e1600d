"""/etc/network/interfaces as ifupdown reads it, and the line edits labkit makes to it. Pure.

Reading follows ifupdown's own reader (config.c, 0.8): a line whose first non-blank character is `#`
is a comment (even inside a stanza, even ending in a backslash); any other line ending in a backslash
is joined with the next one; blanks are C's isspace. The first word of a logical line is either a
stanza keyword (`iface`, `mapping`, `auto`, `allow-*`, `source`, `source-dir*`, `no-auto-down`,
`no-scripts`) or the name of an option of the `iface`/`mapping` stanza above it; the option's value
is the rest of the line, blanks trimmed. There is no quoting and no trailing comment: `address
10.0.0.1 # lab` is the value `10.0.0.1 # lab`. What ifupdown itself refuses (an option outside any
stanza or after an `auto`/`source` line, an option without a value, an `iface` line without a name or
an address family) makes `parse` raise GuestConfigError at that line, since ifupdown would not bring
up anything from such a file. Every line, blank and comment is kept; an unedited file renders
byte-identical (CRLF, missing final newline, continuations too), and an edit rewrites only the
logical lines it changes, in the file's indentation and line ending. labkit/dialects/ifupdown.py
says which lines labkit owns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from labkit.errors import GuestConfigError

PATH = "/etc/network/interfaces"

_WS = " \t\n\v\f\r"  # C's isspace in the C locale: what ifupdown splits and trims on
SPLIT = re.compile(r"[ \t\n\v\f\r]+")
_OPTION = re.compile(r"([^ \t\n\v\f\r]+)[ \t\n\v\f\r]*(.*)", re.S)
_LEAD = re.compile(r"[ \t\n\v\f\r]*")
_KEY_SEP = re.compile(r"([ \t\v\f]*)([^ \t\n\v\f\r]+)([ \t\v\f]+)")
_METHOD = re.compile(r"([ \t\v\f]*iface[ \t\v\f]+[^ \t\v\f\r]+[ \t\v\f]+inet[ \t\v\f]+)([^ \t\v\f\r]+)(.*)", re.S)
_FAMILIES = frozenset({"inet", "inet6", "ipx", "can", "link", "meta"})
OWNED = ("address", "netmask", "gateway", "dns-nameservers")
ONBOOT = frozenset({"auto", "allow-auto", "allow-hotplug"})


@dataclass(slots=True, eq=False)
class _Stmt:
    """One logical line: its physical lines (verbatim, without "\\n") and, unless blank or comment, its words."""

    lines: list[str]
    words: list[str] = field(default_factory=list)
    value: str = ""  # for an option line: the text after its name, as ifupdown reads it

    @property
    def key(self) -> str | None:
        return self.words[0] if self.words else None

    @property
    def eol(self) -> str:
        return "\r" if self.lines[-1].endswith("\r") else ""


def _stmt(lines: list[str]) -> _Stmt:
    first = lines[0].lstrip(_WS)
    if first.startswith("#"):
        return _Stmt(lines)
    logical = "".join(line[:-1] if n < len(lines) - 1 or line.endswith("\\") else line
                      for n, line in enumerate(lines)).strip(_WS)
    m = _OPTION.fullmatch(logical)
    if m is None:
        return _Stmt(lines)
    return _Stmt(lines, [m.group(1), *SPLIT.split(m.group(2))] if m.group(2) else [m.group(1)], m.group(2))


def _keyword(key: str) -> bool:
    return (key in ("iface", "mapping", "auto", "source", "no-auto-down", "no-scripts")
            or key.startswith("source-dir") or (key.startswith("allow-") and len(key) > 6))


class InterfacesFile:
    """/etc/network/interfaces as logical lines; only the lines labkit edits ever change."""

    def __init__(self, stmts: list[_Stmt], name: str) -> None:
        self._stmts = stmts
        self.name = name
        self._owners()

    def line_of(self, index: int) -> int:
        return 1 + sum(len(s.lines) for s in self._stmts[:index])

    def where(self, index: int) -> str:
        key = self._stmts[index].key
        return f"{self.name}:{self.line_of(index)}: {key}"

    def _owners(self) -> list[int | None]:
        """For each statement, the index of the iface/mapping stanza it is an option of; raises as ifupdown does."""
        owners: list[int | None] = []
        current: int | None = None
        for n, s in enumerate(self._stmts):
            key = s.key
            owners.append(None)
            if key is None:
                continue
            if _keyword(key):
                current = n if key in ("iface", "mapping") else None
                if key == "iface" and (len(s.words) < 3 or (len(s.words) < 4 and s.words[2] in _FAMILIES)):
                    raise GuestConfigError(f"{self.where(n)}: an iface line needs a name, an address family "
                                           "and a method (ifupdown refuses the file)")
            elif current is None:
                raise GuestConfigError(f"{self.where(n)}: option outside an iface stanza "
                                       "(ifupdown refuses the file: misplaced option)")
            elif not s.value:
                raise GuestConfigError(f"{self.where(n)}: option without a value (ifupdown refuses the file)")
            else:
                owners[n] = current
        return owners

    def render(self) -> str:
        return "\n".join(line for s in self._stmts for line in s.lines)


def parse(text: str, name: str = PATH) -> InterfacesFile:
    """Read the file as ifupdown does; GuestConfigError `name:line: word: reason` where ifupdown would refuse it."""
    if "\0" in text:
        raise GuestConfigError(f"{name}: holds a NUL character")
    physical = text.split("\n")
    stmts: list[_Stmt] = []
    i = 0
    while i < len(physical):
        group = [physical[i]]
        i += 1
        if not group[0].lstrip(_WS).startswith("#"):
            while group[-1].endswith("\\") and i < len(physical):
                group.append(physical[i])
                i += 1
        stmts.append(_stmt(group))
    return InterfacesFile(stmts, name)


def render(doc: InterfacesFile) -> str:
    return doc.render()


def options(doc: InterfacesFile, at: int) -> dict[str, list[int]]:
    opts: dict[str, list[int]] = {}
    for n, owner in enumerate(doc._owners()):
        if owner == at:
            opts.setdefault(doc._stmts[n].key or "", []).append(n)
    return opts


def onboot_lines(doc: InterfacesFile, interface: str) -> list[int]:
    return [n for n, s in enumerate(doc._stmts) if s.key in ONBOOT and interface in s.words[1:]]


# ---------------------------------------------------------------- editing

def _lead(line: str) -> str:
    """The line's leading whitespace (_LEAD matches the empty string too, so it always matches)."""
    m = _LEAD.match(line)
    return m.group() if m else ""


def _indent(doc: InterfacesFile, at: int) -> str:
    owners = doc._owners()
    for wanted in (at, None):
        for n, owner in enumerate(owners):
            if owner is not None and (wanted is None or owner == wanted):
                return _lead(doc._stmts[n].lines[0])
    return "\t"


def rewrite(s: _Stmt, key: str, value: str) -> None:
    m = _KEY_SEP.match(s.lines[0])
    indent, sep = (m.group(1), m.group(3)) if m and len(s.lines) == 1 else (_lead(s.lines[0]), " ")
    eol = s.eol
    s.lines, s.words, s.value = [f"{indent}{key}{sep}{value}{eol}"], [key, *value.split(" ")], value


def set_option(doc: InterfacesFile, at: int, key: str, value: str, keep: bool = False) -> None:
    """One `key value` option in the stanza: the first one rewritten (unless keep), the others removed."""
    opts = options(doc, at)
    found = opts.get(key, [])
    if found:
        for n in reversed(found[1:]):
            del doc._stmts[n]
        if not keep and doc._stmts[found[0]].value != value:
            rewrite(doc._stmts[found[0]], key, value)
        return
    before = OWNED[:OWNED.index(key)] if key in OWNED else OWNED
    where = max((n for k in before for n in opts.get(k, [])), default=at)
    s = _Stmt([""])
    rewrite(s, key, value)
    s.lines = [_indent(doc, at) + s.lines[0].lstrip(_WS) + doc._stmts[at].eol]
    doc._stmts.insert(where + 1, s)


def unset_option(doc: InterfacesFile, at: int, key: str) -> None:
    for n in reversed(options(doc, at).get(key, [])):
        del doc._stmts[n]


def set_method(doc: InterfacesFile, at: int, method: str) -> None:
    s = doc._stmts[at]
    if s.words[3] == method:
        return
    m = _METHOD.fullmatch(s.lines[0]) if len(s.lines) == 1 else None
    if m:
        s.lines = [m.group(1) + method + m.group(3)]
    else:
        s.lines = [f"{_lead(s.lines[0])}iface {s.words[1]} inet {method}{s.eol}"]
    s.words[3] = method


def set_onboot(doc: InterfacesFile, at: int, interface: str, onboot: bool) -> None:
    lines = onboot_lines(doc, interface)
    if onboot and not lines:
        s = doc._stmts[at]
        doc._stmts.insert(at, _Stmt([f"{_lead(s.lines[0])}auto {interface}{s.eol}"],
                                    ["auto", interface], interface))
    if not onboot:
        for n in reversed(lines):
            s = doc._stmts[n]
            names = [w for w in s.words[1:] if w != interface]
            if not names:
                del doc._stmts[n]
            else:
                s.lines = [f"{_lead(s.lines[0])}{s.words[0]} {' '.join(names)}{s.eol}"]
                s.words, s.value = [s.words[0], *names], " ".join(names)


def append_stanza(doc: InterfacesFile, interface: str, method: str) -> int:
    """A new stanza at the end, after a blank line, in the file's line ending (CRLF files stay CRLF)."""
    stmts = doc._stmts
    lines = [line for s in stmts for line in s.lines]
    eol = "\r" if sum(line.endswith("\r") for line in lines) * 2 > len(lines) - 1 > 0 else ""
    end = len(stmts) - (bool(stmts) and stmts[-1].lines == [""])  # keep the final newline last
    new = [_Stmt([f"iface {interface} inet {method}{eol}"], ["iface", interface, "inet", method],
                 f"{interface} inet {method}")]
    if end > 0 and stmts[end - 1].lines[-1].strip(_WS):
        new.insert(0, _Stmt([eol]))
    stmts[end:] = [*new, _Stmt([""])]
    return end + len(new) - 1
