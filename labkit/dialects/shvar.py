r"""The shell-variable file format of RHEL's ifcfg-* and route-* files: read, quote, edit lines in place.

Two readers: bash sources the file (initscripts, the RHEL 5-7 network service) and NetworkManager's
ifcfg-rh plugin reads it line by line (shvar.c, after which this module is named). labkit edits it,
then restarts the network over the link it changed, so what it writes must mean the same to both, and
a file whose meaning it cannot pin down is refused with GuestConfigError `name:line: KEY: reason`,
never guessed at. labkit/dialects/ifcfg.py says which keys labkit owns and how it sets them.

Reading follows NM's svUnescape. `[blanks]NAME=...` is an assignment whose value is one shell word of
bare characters, `\x` escapes, '...', "..." (backslash escapes only `\ $ " \``, else it stays) and
$'...' (ANSI-C; octal/hex bytes decode as UTF-8), then optional blanks, one `;`, a `#` comment. As in
NM, a bare `$`, backquote or leading `~` is literal (NM's writer tests hold `UUID=${UUID}`) though bash
would expand it: labkit's own keys then fail validation, and the others are never rewritten. `$` or a
backquote inside "..." is refused, as NM does; an old NM writer's `"it\'s"` reads as NM reads it.
Blank lines, comments and other lines are kept verbatim and ignored, as NM does.
Departures from NM, on purpose, where the two readers disagree (`IfcfgFile.parse` raises at that line):
NM takes a value it cannot unescape (open quote, trailing backslash, `a b`, `a|b`, an escape giving NUL)
as "" and reads the next lines as assignments, but bash joins the lines of an open quote or runs the
rest as a command; so it is for any other line that leaves a quote open. An assignment line ending in
a carriage return (a file saved with CRLF line ends) is refused too: NM takes the CR for a blank, bash
reads `BOOTPROTO='none\r'`. Lines labkit adds end in LF, which both read alike.

Writing (`quote`: NM's svEscape with an allow-list): bare when every character is in [A-Za-z0-9] or
`-_.:/@+,%=` (also the empty value: NM writes `KEY=`); else "..." escaping `\ $ " \``; else, for a
control character (< 0x20, 0x7f-0x9f, U+2028/9, an undecodable byte), $'...' with 3-digit octal
escapes of the UTF-8 bytes, which RHEL 6's bash 4.1 reads ($'\u' came in bash 4.2). NUL is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from labkit.errors import GuestConfigError

_BLANK = " \t\n\v\f\r"  # what NM (g_ascii_isspace) treats as a blank
_ENDS_WORD = _BLANK + ";|&()<>"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGN = re.compile(r"[ \t\v\f\r]*([A-Za-z_][A-Za-z0-9_]*)=")
_TAIL = re.compile(r"[ \t\v\f\r]*(?:;[ \t\v\f\r]*)?(?:#.*)?")
_OLD_NM = re.compile(r'"(?:[^"\\\'$`~]|\\["\\\'$`~])*"')  # a whole value as an old NM escaped it
_OCT, _HEX = re.compile("[0-7]{1,3}"), re.compile("[0-9A-Fa-f]+")
_ANSI_IN = {"a": 7, "b": 8, "e": 27, "E": 27, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11,
            "?": 63, '"': 34, "\\": 92, "'": 39}
_ANSI_OUT = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
             "\v": "\\v", "\\": "\\\\", "'": "\\'"}
_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:/@+,%=")


def _enc(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise GuestConfigError("holds a lone surrogate, which is not text") from None


def _dquoted(raw: str, i: int, out: bytearray, expand_ok: bool) -> int:
    start = i
    while True:
        if i >= len(raw):
            raise GuestConfigError("unterminated double quote")
        c = raw[i]
        if c == '"':
            return i + 1
        if c in "$`" and not expand_ok:
            raise GuestConfigError(f"unescaped {c!r} inside double quotes (expansion is not supported)")
        if c == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            old_nm = nxt in "'~" and start == 1 and _OLD_NM.fullmatch(raw) is not None
            if nxt not in '$`"\\' and not old_nm:
                out += b"\\"
            c, i = nxt, i + 1
        out += _enc(c)
        i += 1


def _ansi_c(raw: str, i: int, out: bytearray) -> int:
    while True:
        if i >= len(raw) or (raw[i] == "\\" and i + 1 >= len(raw)):
            raise GuestConfigError("unterminated $'...' quote")
        c = raw[i]
        if c == "'":
            return i + 1
        if c != "\\":
            out += _enc(c)
            i += 1
            continue
        e, i = raw[i + 1], i + 2
        width = {"x": 2, "u": 4, "U": 8}.get(e, 0)
        if e in _ANSI_IN:
            piece = bytes([_ANSI_IN[e]])
        elif e in "01234567" and (m := _OCT.match(raw, i - 1)):  # always matches: raw[i - 1] is e
            i, piece = m.end(), bytes([int(m.group(), 8) & 0xFF])
        elif width and (m := _HEX.match(raw, i, min(len(raw), i + width))):
            i, code = m.end(), int(m.group(), 16)
            if e != "x" and (code > 0x10FFFF or 0xD800 <= code <= 0xDFFF):
                raise GuestConfigError(f"\\{e}{m.group()} is not a Unicode character")
            piece = bytes([code]) if e == "x" else chr(code).encode()
        else:  # an unknown escape, or \x without digits, is kept as written, as NM does
            piece = _enc("\\" + e)
        if piece == b"\0":
            raise GuestConfigError("an escape gives a NUL character")
        out += piece


def _word(raw: str, i: int, expand_ok: bool = False) -> tuple[bytearray, int]:
    """Read one shell word of raw from i: its bytes, and where it ends (a blank, ';', metachar, end)."""
    out = bytearray()
    while i < len(raw) and raw[i] not in _ENDS_WORD:
        c = raw[i]
        if c == "\\":
            if i + 1 == len(raw):
                raise GuestConfigError("backslash at end of line (line continuation is not supported)")
            out += _enc(raw[i + 1])
            i += 2
        elif c == "'":
            j = raw.find("'", i + 1)
            if j < 0:
                raise GuestConfigError("unterminated single quote")
            out += _enc(raw[i + 1:j])
            i = j + 1
        elif c == '"':
            i = _dquoted(raw, i + 1, out, expand_ok)
        elif raw.startswith("$'", i):
            i = _ansi_c(raw, i + 2, out)
        else:
            out += _enc(c)
            i += 1
    return out, i


def _value(raw: str) -> tuple[str, int]:
    """Unescape the text after `KEY=`: the value, and where its word ends (the rest is kept on edit)."""
    if "\0" in raw:
        raise GuestConfigError("holds a NUL character")
    out, end = _word(raw, 0)
    if end < len(raw) and raw[end] in "|&()<>":
        raise GuestConfigError(f"unquoted shell metacharacter {raw[end]!r}")
    if not _TAIL.fullmatch(raw, end):
        raise GuestConfigError("text after the value that bash would run as a command")
    return out.decode("utf-8", "surrogateescape"), end


def _check_other(line: str) -> None:
    """A line that is no assignment is ignored, but it must not leave a quote open for the next line."""
    i = 0
    while i < len(line) and line[i] != "#":
        i = i + 1 if line[i] in _ENDS_WORD else _word(line, i, expand_ok=True)[1]


def unquote(raw: str) -> str:
    """The value bash and NM both read from `raw`, the text after `KEY=`.

    GuestConfigError when they would not agree (see the module docstring)."""
    return _value(raw)[0]


def _control(c: str) -> bool:
    o = ord(c)
    return o < 0x20 or 0x7F <= o <= 0x9F or o in (0x2028, 0x2029) or 0xD800 <= o <= 0xDFFF


def _ansi_char(c: str) -> str:
    if c in _ANSI_OUT:
        return _ANSI_OUT[c]
    return "".join(f"\\{b:03o}" for b in _enc(c)) if _control(c) else c


def quote(value: str) -> str:
    """The shortest of bare, "..." or $'...' that gives back exactly `value`, and only it, to bash and NM."""
    if "\0" in value:
        raise GuestConfigError("a NUL character cannot be written to an ifcfg file")
    if _enc(value).decode("utf-8", "surrogateescape") != value:  # "\udcc3\udca9" would come back as "é"
        raise GuestConfigError("holds surrogate escapes of valid UTF-8: no file decodes to that")
    if all(c in _SAFE for c in value):
        return value
    if any(_control(c) for c in value):
        return "$'" + "".join(_ansi_char(c) for c in value) + "'"
    return '"' + "".join("\\" + c if c in '\\$"`' else c for c in value) + '"'


@dataclass(slots=True, eq=False)
class _Line:
    text: str
    key: str | None = None
    value: str | None = None
    start: int = 0  # text[start:end] is the raw value; what follows (blanks, ';', comment) is kept on edit
    end: int = 0


class IfcfgFile:
    """An ifcfg file as its lines; only the value part of edited lines ever changes."""

    def __init__(self, lines: list[_Line], name: str) -> None:
        self._lines = lines
        self.name = name

    @classmethod
    def parse(cls, text: str, name: str = "ifcfg") -> IfcfgFile:
        lines = []
        for number, line in enumerate(text.split("\n"), 1):
            m = _ASSIGN.match(line)
            try:
                if m is None:
                    _check_other(line)
                    lines.append(_Line(line))
                    continue
                value, end = _value(line[m.end():])
            except GuestConfigError as e:
                raise GuestConfigError(f"{name}:{number}: {m.group(1) + ': ' if m else ''}{e}") from None
            if line.endswith("\r"):
                raise GuestConfigError(f"{name}:{number}: {m.group(1)}: the line ends in a carriage return (a "
                                       "CRLF file): bash reads it as part of the value, NetworkManager does not")
            lines.append(_Line(line, m.group(1), value, m.end(), m.end() + end))
        return cls(lines, name)

    def _last(self, key: str) -> int | None:
        return next((n for n in range(len(self._lines) - 1, -1, -1) if self._lines[n].key == key), None)

    def where(self, key: str) -> str:
        """`name:line: KEY` of the assignment that counts, for error messages."""
        n = self._last(key)
        return f"{self.name}: {key}" if n is None else f"{self.name}:{n + 1}: {key}"

    def get(self, key: str) -> str | None:
        n = self._last(key)
        return None if n is None else self._lines[n].value

    def set(self, key: str, value: str) -> None:
        if not _NAME.fullmatch(key):
            raise GuestConfigError(f"{self.name}: {key!r} is not a valid ifcfg key")
        try:
            raw = quote(value)
        except GuestConfigError as e:
            raise GuestConfigError(f"{self.name}: {key}: {e}") from None
        n = self._last(key)
        if n is None:  # appended before the final newline, adding one if the file lacked it
            at = len(self._lines) - (bool(self._lines) and self._lines[-1].text == "")
            self._lines[at:] = [_Line(f"{key}={raw}", key, value, len(key) + 1, len(key) + 1 + len(raw)),
                                _Line("")]
        elif (line := self._lines[n]).value != value:
            line.text = line.text[:line.start] + raw + line.text[line.end:]
            line.value, line.end = value, line.start + len(raw)

    def unset(self, key: str) -> None:
        self._lines = [line for line in self._lines if line.key != key]

    def keys(self) -> list[str]:
        return list(dict.fromkeys(line.key for line in self._lines if line.key))

    def render(self) -> str:
        return "\n".join(line.text for line in self._lines)
