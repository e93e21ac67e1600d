"""The file and process utilities of a simulated Linux guest, over its in-memory file system.

What labkit's scripts use (cat, cp, mv, rm, touch, mkdir, mktemp -d, ls -d, pkill -f, hostname),
with GNU coreutils' and procps' messages and exit statuses. Globs never reach these: the shell
has expanded them, as a real one does. Each takes the guest (SimGuest) and its argv.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

from labkit.protocols import CommandResult

if TYPE_CHECKING:
    from labkit.backends.sim.guest import SimGuest


def _operands(argv: list[str]) -> tuple[set[str], list[str]]:
    """(option letters, operands), with `--` ending the options."""
    flags: set[str] = set()
    operands: list[str] = []
    options = True
    for a in argv[1:]:
        if options and a == "--":
            options = False
        elif options and a.startswith("-") and len(a) > 1:
            flags.update(a[1:])
        else:
            operands.append(a)
    return flags, operands


def cat(g: SimGuest, argv: list[str]) -> CommandResult:
    _, paths = _operands(argv)
    if not paths:
        return CommandResult(0, g.stdin)
    out, err = [], []
    for path in paths:
        text = g.read(path)
        if text is None:
            err.append(f"cat: {path}: {'Is a directory' if g.is_dir(path) else 'No such file or directory'}\n")
        else:
            out.append(text)
    return CommandResult(1 if err else 0, "".join(out), "".join(err))


def _target(g: SimGuest, src: str, dst: str) -> str:
    return dst.rstrip("/") + "/" + src.rsplit("/", 1)[-1] if g.is_dir(dst) else dst


def cp(g: SimGuest, argv: list[str]) -> CommandResult:
    return _copy(g, argv, move=False)


def mv(g: SimGuest, argv: list[str]) -> CommandResult:
    return _copy(g, argv, move=True)


def _copy(g: SimGuest, argv: list[str], move: bool) -> CommandResult:
    name = argv[0]
    _, paths = _operands(argv)
    if len(paths) != 2:
        return CommandResult(1, "", f"{name}: missing file operand\n" if len(paths) < 2 else
                             f"{name}: copying several files is not simulated\n")
    src, dst = paths
    text = g.read(src)
    if text is None:
        verb = "cannot stat" if name == "cp" else "cannot move"
        return CommandResult(1, "", f"{name}: {verb} '{src}': No such file or directory\n")
    g.files[_target(g, src, dst)] = text
    if move:
        del g.files[src]
    return CommandResult(0)


def rm(g: SimGuest, argv: list[str]) -> CommandResult:
    flags, paths = _operands(argv)
    force, recursive = "f" in flags, bool({"r", "R"} & flags)
    err = []
    for path in paths:
        if g.is_dir(path):
            if not recursive:
                err.append(f"rm: cannot remove '{path}': Is a directory\n")
                continue
            g.remove_tree(path)
        elif path in g.files:
            del g.files[path]
        elif not force:
            err.append(f"rm: cannot remove '{path}': No such file or directory\n")
    return CommandResult(1 if err else 0, "", "".join(err))


def touch(g: SimGuest, argv: list[str]) -> CommandResult:
    _, paths = _operands(argv)
    for path in paths:
        if not g.is_dir(path):
            g.files.setdefault(path, "")
    return CommandResult(0)


def mkdir(g: SimGuest, argv: list[str]) -> CommandResult:
    flags, paths = _operands(argv)
    err = []
    for path in paths:
        if g.exists(path) and "p" not in flags:
            err.append(f"mkdir: cannot create directory '{path}': File exists\n")
        else:
            g.dirs.add(path.rstrip("/") or "/")
    return CommandResult(1 if err else 0, "", "".join(err))


def mktemp(g: SimGuest, argv: list[str]) -> CommandResult:
    """`mktemp [-d]`: a fresh name under /tmp (deterministic, so runs repeat exactly)."""
    flags, _ = _operands(argv)
    g.temp_count += 1
    path = "/tmp/tmp." + hashlib.sha256(f"{g.node}:{g.temp_count}".encode()).hexdigest()[:10]
    if "d" in flags:
        g.dirs.add(path)
    else:
        g.files[path] = ""
    return CommandResult(0, path + "\n")


def ls(g: SimGuest, argv: list[str]) -> CommandResult:
    """`ls -d PATH...`: the ones that exist, sorted; a message for each that does not (exit 2)."""
    _, paths = _operands(argv)
    found = sorted(p for p in paths if g.exists(p))
    err = "".join(f"ls: cannot access '{p}': No such file or directory\n" for p in paths if not g.exists(p))
    return CommandResult(2 if err else 0, "".join(p + "\n" for p in found), err)


def pkill(g: SimGuest, argv: list[str]) -> CommandResult:
    """`pkill [-f] PATTERN`: end the guest's waiting jobs whose name (with -f: command line, or the
    script it runs) matches the extended regex. Exit 1 when none did, as procps does."""
    flags, operands = _operands(argv)
    if len(operands) != 1:
        return CommandResult(2, "", "pkill: only one pattern can be provided\n" if operands else
                             "pkill: no matching criteria specified\n")
    try:
        pattern = re.compile(operands[0])
    except re.error as exc:
        return CommandResult(2, "", f"pkill: invalid regular expression: {exc}\n")
    killed = g.world.kill_jobs(g.node, pattern, full="f" in flags)
    return CommandResult(0 if killed else 1)


def hostname(g: SimGuest, argv: list[str]) -> CommandResult:
    return CommandResult(0, g.node + "\n")


HANDLERS = {"cat": cat, "cp": cp, "mv": mv, "rm": rm, "touch": touch, "mkdir": mkdir, "mktemp": mktemp,
            "ls": ls, "pkill": pkill, "hostname": hostname}
PATHS = {"cat": "/bin/cat", "cp": "/bin/cp", "mv": "/bin/mv", "rm": "/bin/rm", "touch": "/usr/bin/touch",
         "mkdir": "/bin/mkdir", "mktemp": "/bin/mktemp", "ls": "/bin/ls", "pkill": "/usr/bin/pkill",
         "hostname": "/bin/hostname"}
