"""Is a guest's configuration file only configuration? An inventory's `files:` seeds guests with them,
and some of these formats are programs in disguise.

An ifcfg file is *sourced* by the RHEL network service, as root: `touch /tmp/proof` on a line of its
own, `IPADDR=$(reboot)`, a backquote or a function definition run when the network starts. On the
netns lab that is root on the machine labkit runs on; on a real guest, root there. ifupdown runs
the commands of `up`, `pre-up`, `post-down`... and a mapping's `script` with /bin/sh, and `source`
pulls in other files. For the simulated lab such text is data (nothing runs it), but for the
netns and real backends labkit refuses it, naming the line, before anything is built or written.

`problems(path, text)` -> [(line in the text, why)] for the dialect the path belongs to:
- ifcfg: every line blank, a comment, or one assignment NAME=VALUE whose value bash reads as the
  literal text NetworkManager reads (shvar.unquote: one word, nothing after it but `;` and a
  comment), with no `$` expansion (`$'...'` quoting is fine) and no backquote outside single quotes;
- ifupdown (/etc/network/interfaces and interfaces.d): the file as ifupdown reads it, and none of
  the statements that run or include something;
- nmkeyfile, netplan: read as data by their tools; the dialect's own parser must accept the file.
A path no dialect owns is not a network configuration labkit knows: no backend but sim seeds it.
"""

from __future__ import annotations

import re

from labkit.dialects.shvar import unquote
from labkit.errors import GuestConfigError

_IFCFG = re.compile(r"/etc/sysconfig/network-scripts/ifcfg-[^/]+")
_IFUPDOWN = re.compile(r"/etc/network/interfaces(?:\.d/[^/]+)?")
_NMKEYFILE = re.compile(r"/etc/NetworkManager/system-connections/[^/]+")
_NETPLAN = re.compile(r"/(?:etc|lib|run)/netplan/[^/]+\.ya?ml")

_ASSIGNMENT = re.compile(r"[ \t]*([A-Za-z_][A-Za-z0-9_]*)=(.*)")
# ifupdown statements that run a command with /bin/sh, or read another file
_RUNS = {"up": "runs its command with /bin/sh", "down": "runs its command with /bin/sh",
         "pre-up": "runs its command with /bin/sh", "post-up": "runs its command with /bin/sh",
         "pre-down": "runs its command with /bin/sh", "post-down": "runs its command with /bin/sh",
         "script": "runs a mapping script", "mapping": "runs a mapping script",
         "source": "includes another file", "source-directory": "includes other files",
         "source-dir": "includes other files"}
_IFUPDOWN_WS = " \t\v\f\r"


def dialect_of(path: str) -> str | None:
    """The file dialect a guest path belongs to, or None."""
    for name, pattern in (("ifcfg", _IFCFG), ("ifupdown", _IFUPDOWN), ("nmkeyfile", _NMKEYFILE),
                          ("netplan", _NETPLAN)):
        if pattern.fullmatch(path):
            return name
    return None


def problems(path: str, text: str) -> list[tuple[int, str]]:
    """Every line of `text` (at `path` in a guest) that is not plain configuration: (line, why)."""
    dialect = dialect_of(path)
    if dialect == "ifcfg":
        return _ifcfg(text)
    if dialect == "ifupdown":
        return _ifupdown(path, text)
    if dialect in ("nmkeyfile", "netplan"):
        from labkit.dialects import file_dialect

        try:
            file_dialect(dialect).parse(text, path)
        except GuestConfigError as exc:
            return [(_line_in(str(exc), path), f"{dialect} would not read it: {exc}")]
    return []


def _line_in(message: str, name: str) -> int:
    """The line a dialect's `name:LINE: ...` message names (1 when it names none)."""
    m = re.match(re.escape(name) + r":(\d+):", message)
    return int(m.group(1)) if m else 1


def _ifcfg(text: str) -> list[tuple[int, str]]:
    out = []
    for number, line in enumerate(text.split("\n"), 1):
        stripped = line.strip(" \t\r")
        if not stripped or stripped.startswith("#"):
            continue
        m = _ASSIGNMENT.fullmatch(line.rstrip("\r"))
        if m is None:
            out.append((number, f"{_shown(stripped)!r} is not an assignment: the network service sources the "
                                "file with the shell, which would run it"))
            continue
        try:
            unquote(m.group(2))
        except GuestConfigError as exc:
            out.append((number, f"{m.group(1)}: {exc}"))
            continue
        expansion = _expansion(m.group(2))
        if expansion:
            out.append((number, f"{m.group(1)}: {expansion} (the shell would expand it; ifcfg values "
                                "here are plain text)"))
    return out


def _expansion(raw: str) -> str | None:
    """What in an assignment's raw value the shell would expand or run, outside single quotes."""
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == "\\":
            i += 2
        elif c == "'":
            end = raw.find("'", i + 1)
            i = len(raw) if end < 0 else end + 1
        elif raw.startswith("$'", i):  # ANSI-C quoting: escapes only, up to an unescaped quote
            i += 2
            while i < len(raw) and raw[i] != "'":
                i += 2 if raw[i] == "\\" else 1
            i += 1
        elif c == "`":
            return "a backquote runs a command"
        elif c == "$":
            return "a '$' expansion"
        elif c == "#" and i > 0 and raw[i - 1] in " \t;":
            return None  # a comment: the rest is not read
        else:
            i += 1
    return None


def _ifupdown(path: str, text: str) -> list[tuple[int, str]]:
    from labkit.dialects import ifupdown

    try:
        ifupdown.parse(text, path)
    except GuestConfigError as exc:
        return [(_line_in(str(exc), path), f"ifupdown would not read it: {exc}")]
    out = []
    lines = text.split("\n")
    number = 0
    while number < len(lines):
        first = number + 1
        logical = lines[number]
        while logical.endswith("\\") and not logical.lstrip(_IFUPDOWN_WS).startswith("#") and number + 1 < len(lines):
            number += 1
            logical = logical[:-1] + lines[number]
        number += 1
        words = logical.split()
        if words and not words[0].startswith("#") and words[0] in _RUNS:
            out.append((first, f"{words[0]!r} {_RUNS[words[0]]}: labkit seeds plain configuration only"))
    return out


def _shown(line: str, limit: int = 60) -> str:
    return line if len(line) <= limit else line[:limit - 3] + "..."
