"""The simulated cmd.exe's builtins: cd, md, rd, type, ren, echo, start, exit, del, and cmd itself.

Each takes the running line (cmd.py's Cmd), the command as read, the `for` variables of the round
and its output and error sinks, and answers as cmd.exe does: its messages word for word, its exit
statuses, a file another process holds refused. Apart from the interpreter so that each stays small.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from labkit.backends.sim.cmdsyntax import Simple, argv_of
from labkit.backends.sim.sinks import Discard, Sink

if TYPE_CHECKING:
    from labkit.backends.sim.cmd import Cmd

BUILTIN_WORDS = frozenset({"cd", "chdir", "md", "mkdir", "rd", "rmdir", "type", "ren", "rename", "echo", "start",
                           "exit", "for", "if", "set", "del", "erase", "copy", "move", "dir", "call", "goto"})
NOT_FOUND = "The system cannot find the file specified.\r\n"
PATH_NOT_FOUND = "The system cannot find the path specified.\r\n"
IN_USE = "The process cannot access the file because it is being used by another process.\r\n"
SYNTAX = "The syntax of the command is incorrect.\r\n"


class Exit(Exception):
    """`exit`: the line ends here, with this status."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


Builtin = Callable[["Cmd", Simple, dict[str, str], Sink, Sink], None]


def _args(cmd: Cmd, c: Simple, fv: dict[str, str]) -> list[str]:
    return [cmd.sub(w, fv) for w in c.words[1:]]


def _echo(cmd: Cmd, c: Simple, fv: dict[str, str], out: Sink, err: Sink) -> None:
    text = cmd.sub(c.args, fv)
    out.write(("ECHO is on." if not text.strip() else text) + "\r\n")
    cmd.status = 0


def _cd(cmd: Cmd, c: Simple, fv: dict[str, str], out: Sink, err: Sink) -> None:
    args = [a for a in _args(cmd, c, fv) if a.lower() != "/d"]
    if not args:
        out.write(cmd.cwd + "\r\n")
        cmd.status = 0
        return
    path = cmd.path(" ".join(args).replace('"', ""))
    if not cmd.g.is_dir(path):
        err.write(PATH_NOT_FOUND)
        cmd.status = 1
        return
    cmd.cwd = path
    cmd.status = 0


def _md(cmd: Cmd, c: Simple, fv: dict[str, str], out: Sink, err: Sink) -> None:
    cmd.status = 0
    for arg in _args(cmd, c, fv):
        path = cmd.path(arg.replace('"', ""))
        if cmd.g.exists(path):
            err.write(f"A subdirectory or file {arg} already exists.\r\n")
            cmd.status = 1
        else:
            cmd.g.dirs.add(path)
            cmd._listing = None


def _rd(cmd: Cmd, c: Simple, fv: dict[str, str], out: Sink, err: Sink) -> None:
    args = _args(cmd, c, fv)
    tree = any(a.lower() == "/s" for a in args)
    cmd.status = 0
    for arg in (a for a in args if not a.startswith("/")):
        path = cmd.path(arg.replace('"', ""))
        if not cmd.g.is_dir(path):
            err.write(NOT_FOUND)
            cmd.status = 2
            continue
        files = cmd.g.files
        below, low = path + "\\", path.lower() + "\\"
        n = len(low)
        inside = [f for f in files if f.startswith(below) or f[:n].lower() == low]
        if inside and not tree:
            err.write("The directory is not empty.\r\n")
            cmd.status = 145
            continue
        kept = {f for f in inside if cmd.held(f)} if cmd.holding or cmd.g.held else set()
        for f in inside:
            if f not in kept:
                del files[f]
        cmd._listing = None
        if kept:
            err.write(IN_USE)
            cmd.status = 32
            continue
        below = path.lower() + "\\"
        cmd.g.dirs -= {d for d in cmd.g.dirs if d.lower() == path.lower() or d.lower().startswith(below)}


def _type(cmd: Cmd, c: Simple, fv: dict[str, str], out: Sink, err: Sink) -> None:
    cmd.status = 0
    for arg in _args(cmd, c, fv):
        name = arg.replace('"', "")
        files = cmd.g.files
        paths = cmd.matches(name) if "*" in name or "?" in name else [cmd.path(name)]
        paths = list(filter(files.__contains__, paths))
        if not paths:
            err.write(NOT_FOUND)
            cmd.status = 1
            continue
        if len(paths) == 1 or isinstance(err, Discard):  # no names between them: one write of them all
            out.write("".join(map(files.__getitem__, paths)))
            continue
        for p in paths:  # each file's name (on stderr) before it, when more than one
            err.write(f"\r\n{p.rsplit(chr(92), 1)[-1]}\r\n\r\n\r\n")
            out.write(files[p])


def _renamed(name: str, mask: str) -> str | None:
    """A file's new name under a `ren` target mask: literal, or `*` then a literal ("*.out" keeps
    the name up to its last dot). Other masks (Windows has intricate rules for them) are refused."""
    if "*" not in mask and "?" not in mask:
        return mask
    if mask.startswith("*") and "*" not in mask[1:] and "?" not in mask:
        tail = mask[1:]
        stem = name.rsplit(".", 1)[0] if tail.startswith(".") and "." in name else name
        return stem + tail
    return None


def _ren(cmd: Cmd, c: Simple, fv: dict[str, str], out: Sink, err: Sink) -> None:
    """`ren SOURCE TARGET`: SOURCE may be a pattern (each match renamed, the failures reported and
    the others done, as Windows does); TARGET is a name or a mask, never a path."""
    args = [a.replace('"', "") for a in _args(cmd, c, fv)]
    if len(args) != 2 or "\\" in args[1]:
        err.write(SYNTAX)
        cmd.status = 1
        return
    pattern = "*" in args[0] or "?" in args[0]
    sources = list(filter(cmd.g.files.__contains__, cmd.matches(args[0], ordered=False))) if pattern else [
        cmd.path(args[0])]
    if not sources or (not pattern and sources[0] not in cmd.g.files):
        err.write(NOT_FOUND)
        cmd.status = 1
        return
    if _renamed("x.y", args[1]) is None:
        err.write(SYNTAX)
        cmd.status = 1
        return
    cmd.status = 0
    files, dirs, holding, held = cmd.g.files, cmd.g.dirs, cmd.holding, cmd.g.held
    listing = cmd._listing
    names = set(listing[2]) if listing is not None and pattern and len(sources) > 8 else None
    renamed: dict[str, str] = {}
    mask = args[1]
    extension = mask[1:] if mask[:2] == "*." else None  # "*.out": the name up to its last dot, then .out
    busy = holding or held
    tail = args[0][1:] if args[0][:2] == "*." and "\\" not in args[0] else ""
    if (extension is not None and not busy and len(tail) > 1 and not any(ch in tail[1:] for ch in ".*?[")
            and sources):
        # `ren *.txt *.out` with nothing held (a parallel probe's wait loop): every source ends in
        # `tail` (in some case) and has no dot after it, so each new name is the name less `tail`,
        # plus the extension; when no new name is taken (nor twice), all are renamed at once (in C)
        cut = len(tail)
        targets = [src[:-cut] + extension for src in sources]
        if files.keys().isdisjoint(targets) and dirs.isdisjoint(targets) and len(set(targets)) == len(targets):
            files.update(zip(targets, map(files.pop, sources), strict=True))
            renamed = dict(zip(sources, targets, strict=True))
            sources = []
    for src in sources:
        if extension is not None:  # the name up to its last dot (if it has one), then the extension
            dot = src.rfind(".")
            dst = (src[:dot] if dot > src.rfind("\\") else src) + extension
        else:
            folder, _, name = src.rpartition("\\")
            dst = folder + "\\" + str(_renamed(name, mask))
        if busy and (src.lower() in holding or src.lower() in held):
            err.write(IN_USE)
            cmd.status = 1
        elif dst in files or dst in dirs:
            err.write("A duplicate file name exists, or the file\r\ncannot be found.\r\n")
            cmd.status = 1
        else:
            files[dst] = files.pop(src)
            renamed[src] = dst
    if renamed:
        if names is not None and listing is not None and names.isdisjoint(renamed.values()):
            cmd._listing = (listing[0], listing[1], list(map(renamed.get, listing[2], listing[2])))  # same count
        else:
            cmd._listing = None


def _start(cmd: Cmd, c: Simple, fv: dict[str, str], out: Sink, err: Sink) -> None:
    """`start ["title"] [/b] PROGRAM ARGS`: the program runs on while the line goes on."""
    words = [cmd.sub(w, fv) for w in c.words[1:]] if fv else list(c.words[1:])
    k = 1 if words and words[0].startswith('"') else 0  # the window title
    while k < len(words) and words[k].startswith("/"):
        k += 1
    argv = argv_of(words[k:])
    if not argv:
        err.write(SYNTAX)
        cmd.status = 1
        return
    if argv[0].lower() in ("cmd", "cmd.exe") or argv[0].lower() in BUILTIN_WORDS:
        err.write(f"start {argv[0]}: not simulated (labkit starts programs only)\r\n")
        cmd.status = 1
        return
    holds = tuple(h.lower() for h in cmd._holds)
    holding = cmd.holding
    for h in holds:
        holding[h] = holding.get(h, 0) + 1
    result, took = cmd.program(argv)
    cmd._started += 1
    cmd.running.append((cmd.g.now() + took, cmd._started, result, out, err, holds))
    cmd.status = 0


def _exit(cmd: Cmd, c: Simple, fv: dict[str, str], out: Sink, err: Sink) -> None:
    args = [a for a in _args(cmd, c, fv) if a.lower() != "/b"]
    raise Exit(int(args[0]) if args and args[0].lstrip("-").isdigit() else cmd.status)


_CMD_FLAGS = re.compile(r"\s*((?:/[a-z](?::\S*)?\s+)*)/([ck])(?:\s+|$)(.*)$", re.IGNORECASE | re.DOTALL)


def run_cmd(cmd: Cmd, c: Simple, fv: dict[str, str], out: Sink, err: Sink) -> None:
    """`cmd [/s] [/q] [/d] /c LINE`: a new cmd.exe runs LINE (its %VARIABLES% expanded anew) in
    this one's folder. A LINE that starts with a quote loses it and the line's last quote, as cmd
    does with /s or when the quotes hold any of &<>()@^| (else they are kept)."""
    m = _CMD_FLAGS.match(cmd.sub(c.args, fv))
    if m is None or m.group(2).lower() != "c":
        err.write("cmd: only `cmd /c LINE` is simulated\r\n")
        cmd.status = 1
        return
    flags, line = m.group(1).lower().split(), m.group(3)
    if line.startswith('"') and line.count('"') >= 2:
        last = line.rindex('"')
        if "/s" in flags or any(ch in line[1:last] for ch in "&<>()@^|"):
            line = line[1:last] + line[last + 1:]
    result = type(cmd)(cmd.g, cmd.cwd).run(line)
    if result.stdout:
        out.write(result.stdout)
    if result.stderr:
        err.write(result.stderr)
    cmd.status = result.exit_status


def _del(cmd: Cmd, c: Simple, fv: dict[str, str], out: Sink, err: Sink) -> None:
    """`del [/f] [/q] FILE...`: a missing one is reported, a held one refused, the others removed."""
    cmd.status = 0
    for arg in (a.replace('"', "") for a in _args(cmd, c, fv) if not a.startswith("/")):
        paths = [p for p in cmd.matches(arg) if p in cmd.g.files] if "*" in arg or "?" in arg else [cmd.path(arg)]
        for path in paths:
            if path not in cmd.g.files:
                err.write(f"Could Not Find {path}\r\n")
            elif cmd.held(path):
                err.write(f"{path}\r\n{IN_USE}")
                cmd.status = 1
            else:
                del cmd.g.files[path]
                cmd._listing = None


BUILTINS: dict[str, Builtin] = {
    "cmd": run_cmd, "cmd.exe": run_cmd, "del": _del, "erase": _del, "echo": _echo, "cd": _cd, "chdir": _cd, "md": _md,
    "mkdir": _md, "rd": _rd, "rmdir": _rd, "type": _type, "ren": _ren, "rename": _ren, "start": _start, "exit": _exit}
