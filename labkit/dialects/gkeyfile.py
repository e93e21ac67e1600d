r"""GLib's GKeyFile format, as NetworkManager reads its keyfiles: parse, escape, edit lines in place. Pure.

Syntax (checked against GLib 2.74): lines split on LF, a CR before the LF dropped. After leading
blanks and tabs a line is empty or a `#` comment, a `[group]` header (the name non-empty, no `[`, `]`
or control character; blanks/tabs may follow the `]`), or `key=value`: the key is what precedes the
first `=` with trailing whitespace removed (no `[`/`]` except one trailing `[locale]`, no leading or
trailing blank), the value what follows it with leading whitespace removed (trailing whitespace is
part of the value). Any other line, or a key before the first group, makes GKeyFile refuse the whole
file, so `Keyfile.parse` refuses it with GuestConfigError `name:line: reason`. A group appearing twice
is one group (GKeyFile merges them); a key appearing twice means its last value.

Values (`unescape` / `escape`): `\s` space, `\t`, `\n`, `\r`, `\\`; in a list `\;` is a `;` inside an
item and a bare `;` ends an item (the trailing one is optional: `dns=8.8.8.8;8.8.4.4;`). Any other
escape, or a backslash ending the value, is an error to GKeyFile, so reading it raises here. Writing
escapes exactly as g_key_file_set_string(_list) does: leading blanks/tabs as `\s`/`\t`, newline, CR
and backslash always, and `;` in list items.

Edits change only the value part of a line, or add a line where NetworkManager would write it (a
group whose keys are in sorted order gets the new key in sorted position, `[connection]` and any
unsorted group after their last key, a new group at the end after a blank line); a CRLF file's new
lines end in CRLF. An unedited file renders byte-identical.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from labkit.errors import GuestConfigError

DEFAULT_NAME = "/etc/NetworkManager/system-connections/*.nmconnection"
_ASCII_SPACE = " \t\n\r\f\v"  # g_ascii_isspace
_KEY = re.compile(r"[^\[\]=]+(?:\[[^\[\]=]+\])?")
_UNESCAPE = {"s": " ", "t": "\t", "n": "\n", "r": "\r", "\\": "\\"}
_ESCAPE = {"\n": "\\n", "\r": "\\r", "\\": "\\\\"}


# ---------------------------------------------------------------- GKeyFile escaping

def _unescape(raw: str, as_list: bool) -> list[str]:
    items: list[str] = []
    out: list[str] = []
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == "\\":
            if i + 1 == len(raw):
                raise GuestConfigError("escape character at end of the value")
            e = raw[i + 1]
            if e in _UNESCAPE:
                out.append(_UNESCAPE[e])
            elif as_list and e == ";":
                out.append(";")
            else:
                raise GuestConfigError(f"invalid escape sequence \\{e}")
            i += 2
            continue
        if as_list and c == ";":
            items.append("".join(out))
            out = []
        else:
            out.append(c)
        i += 1
    if out or not as_list:  # the last item needs no `;` after it; an empty one after the last `;` is no item
        items.append("".join(out))
    return items


def unescape(raw: str) -> str:
    """The string g_key_file_get_string reads from a raw value; GuestConfigError where GKeyFile errs."""
    return _unescape(raw, False)[0]


def unescape_list(raw: str) -> list[str]:
    """The items g_key_file_get_string_list reads from a raw value; GuestConfigError where GKeyFile errs."""
    return _unescape(raw, True)


def escape(value: str, *, in_list: bool = False) -> str:
    """The raw text g_key_file_set_string (or, in_list, one item of g_key_file_set_string_list) writes."""
    out: list[str] = []
    leading = True
    for c in value:
        if leading and c in " \t":
            out.append("\\s" if c == " " else "\\t")
            continue
        leading = False
        if c in _ESCAPE:
            out.append(_ESCAPE[c])
        elif in_list and c == ";":
            out.append("\\;")
        else:
            out.append(c)
    return "".join(out)


def escape_list(values: list[str]) -> str:
    """A list as g_key_file_set_string_list writes it: every item followed by `;`."""
    return "".join(escape(v, in_list=True) + ";" for v in values)


# ---------------------------------------------------------------- lines

@dataclass(slots=True, eq=False)
class _Line:
    text: str  # without the LF; a CR of a CRLF stays here and is outside [start:end]
    group: str | None = None  # the group a header opens, or the group a key belongs to
    header: bool = False
    key: str | None = None
    start: int = 0  # text[start:end] is the raw value of a key line
    end: int = 0


class Keyfile:
    """A keyfile as its lines; only the value part of edited lines ever changes."""

    def __init__(self, lines: list[_Line], name: str) -> None:
        self._lines = lines
        self.name = name
        self._cr = any(line.text.endswith("\r") for line in lines)

    @classmethod
    def parse(cls, text: str, name: str = DEFAULT_NAME) -> Keyfile:
        pieces = text.split("\n")
        lines: list[_Line] = []
        group: str | None = None
        for number, piece in enumerate(pieces, 1):
            body = piece[:-1] if piece.endswith("\r") and number < len(pieces) else piece
            stripped = body.lstrip(" \t")
            where = f"{name}:{number}"
            if stripped == "" or stripped.startswith("#"):
                lines.append(_Line(piece, group))
            elif stripped.startswith("[") and (m := re.fullmatch(r"\[([^\]]*)\][ \t]*", stripped)):
                group = m.group(1)
                if group == "" or "[" in group or any(ord(c) < 0x20 or ord(c) == 0x7F for c in group):
                    raise GuestConfigError(f"{where}: invalid group name {group!r}")
                lines.append(_Line(piece, group, header=True))
            elif "=" in stripped:
                eq = stripped.index("=")
                key = stripped[:eq].rstrip(_ASCII_SPACE)
                if not key:
                    raise GuestConfigError(f"{where}: {stripped!r} is not a key-value pair, group or comment")
                if not _KEY.fullmatch(key) or key[0] == " ":
                    raise GuestConfigError(f"{where}: invalid key name {key!r}")
                if group is None:
                    raise GuestConfigError(f"{where}: {key}: the file does not start with a [group]")
                at = len(body) - len(stripped) + eq + 1
                while at < len(body) and body[at] in _ASCII_SPACE:
                    at += 1
                lines.append(_Line(piece, group, key=key, start=at, end=len(body)))
            else:
                raise GuestConfigError(f"{where}: {body!r} is not a key-value pair, group or comment")
        return cls(lines, name)

    def render(self) -> str:
        return "\n".join(line.text for line in self._lines)

    # -- lookups

    def _last(self, group: str, key: str) -> int | None:
        return next((n for n in range(len(self._lines) - 1, -1, -1)
                     if self._lines[n].key == key and self._lines[n].group == group), None)

    def has_group(self, group: str) -> bool:
        return any(line.header and line.group == group for line in self._lines)

    def keys(self, group: str) -> list[str]:
        return list(dict.fromkeys(line.key for line in self._lines if line.key and line.group == group))

    def where(self, group: str, key: str) -> str:
        """`name:line: [group] key` of the assignment that counts, for error messages."""
        n = self._last(group, key)
        return f"{self.name}: [{group}] {key}" if n is None else f"{self.name}:{n + 1}: [{group}] {key}"

    def raw(self, group: str, key: str) -> str | None:
        n = self._last(group, key)
        return None if n is None else self._lines[n].text[self._lines[n].start:self._lines[n].end]

    def get(self, group: str, key: str) -> str | None:
        raw = self.raw(group, key)
        try:
            return None if raw is None else unescape(raw)
        except GuestConfigError as e:
            raise GuestConfigError(f"{self.where(group, key)}: {e}") from None

    def get_list(self, group: str, key: str) -> list[str] | None:
        raw = self.raw(group, key)
        try:
            return None if raw is None else unescape_list(raw)
        except GuestConfigError as e:
            raise GuestConfigError(f"{self.where(group, key)}: {e}") from None

    # -- edits

    def set_raw(self, group: str, key: str, raw: str) -> None:
        """Set key to an already escaped value: in place if present, else where NM would write it."""
        if not _KEY.fullmatch(key) or key != key.strip(_ASCII_SPACE) or "\n" in raw or "\r" in raw:
            raise GuestConfigError(f"{self.name}: [{group}] {key!r}: not a key or value GKeyFile can hold")
        n = self._last(group, key)
        if n is not None:
            line = self._lines[n]
            line.text = line.text[:line.start] + raw + line.text[line.end:]
            line.end = line.start + len(raw)
            return
        text = f"{key}={raw}"
        self._insert(self._key_position(group, key), _Line(text, group, key=key, start=len(key) + 1,
                                                           end=len(text)))

    def set(self, group: str, key: str, value: str) -> None:
        if self.raw(group, key) is None or self._value_or_none(group, key) != value:
            self.set_raw(group, key, escape(value))

    def set_list(self, group: str, key: str, values: list[str]) -> None:
        try:
            same = self.get_list(group, key) == values
        except GuestConfigError:
            same = False
        if not same:
            self.set_raw(group, key, escape_list(values))

    def unset(self, group: str, key: str) -> None:
        self._lines = [line for line in self._lines if not (line.key == key and line.group == group)]

    def _value_or_none(self, group: str, key: str) -> str | None:
        try:
            return self.get(group, key)
        except GuestConfigError:
            return None

    def _insert(self, at: int, line: _Line) -> None:
        if self._cr:
            line.text += "\r"
        if at == len(self._lines) and self._lines and self._lines[-1].text != "":
            self._lines.append(line)
            self._lines.append(_Line("", line.group))  # the file gains a final newline
        else:
            self._lines.insert(at, line)

    def _key_position(self, group: str, key: str) -> int:
        if not self.has_group(group):
            self.add_group(group)
        head = max(n for n, line in enumerate(self._lines) if line.header and line.group == group)
        end = next((n for n in range(head + 1, len(self._lines)) if self._lines[n].header), len(self._lines))
        keyed = [n for n in range(head + 1, end) if self._lines[n].key is not None]
        names = [self._lines[n].key or "" for n in keyed]
        if group != "connection" and names == sorted(names):  # NM puts id, uuid, type first there
            later = [n for n in keyed if (self._lines[n].key or "") > key]
            if later:
                return later[0]
        return (keyed[-1] if keyed else head) + 1

    def add_group(self, group: str) -> None:
        """Append `[group]` at the end, after a blank line as NM separates groups."""
        at = len(self._lines) - (bool(self._lines) and self._lines[-1].text == "")
        new = []
        if at > 0 and self._lines[at - 1].text.strip() != "":
            new.append(_Line("\r" if self._cr else "", self._lines[at - 1].group))
        new.append(_Line(f"[{group}]" + ("\r" if self._cr else ""), group, header=True))
        if at == len(self._lines):
            new.append(_Line("", group))
        self._lines[at:at] = new
