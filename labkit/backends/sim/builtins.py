"""The commands the simulated shell runs itself, because they act on the shell or on time.

`sleep` yields a wake-up time (shell.py: the foreground moves the clock, a detached job is
parked); `wait` resumes this shell's `&` jobs; `sh FILE`/`sh -c TEXT` start a new shell;
`setsid -f CMD` starts CMD as a detached job that outlives the command that started it;
`command -v` asks the machine which tools it has. dash's messages and exit statuses throughout.
"""

from __future__ import annotations

from collections.abc import Mapping

from labkit.backends.sim.shell import Builtin, IO, Job, Run, Shell, ShellExit, script
from labkit.backends.sim.shparse import parse
from labkit.backends.sim.shsyntax import ShellSyntaxError


def _status(value: int) -> Run:
    return value
    yield  # pragma: no cover  (a generator, as every builtin is)


def _true(sh: Shell, argv: list[str], io: IO) -> Run:
    return (yield from _status(0))


def _false(sh: Shell, argv: list[str], io: IO) -> Run:
    return (yield from _status(1))


def _echo(sh: Shell, argv: list[str], io: IO) -> Run:
    words = argv[1:]
    newline = True
    if words[:1] == ["-n"]:
        words, newline = words[1:], False
    io.out.write(" ".join(words) + ("\n" if newline else ""))
    return (yield from _status(0))


def _exit(sh: Shell, argv: list[str], io: IO) -> Run:
    if len(argv) > 1 and not argv[1].lstrip("-").isdigit():
        io.err.write(f"sh: 1: exit: Illegal number: {argv[1]}\n")
        raise ShellExit(2)
    raise ShellExit(int(argv[1]) & 255 if len(argv) > 1 else sh.status)
    yield  # pragma: no cover


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _sleep(sh: Shell, argv: list[str], io: IO) -> Run:
    """`sleep N[smhd]...` on the lab's virtual clock."""
    if len(argv) < 2:
        io.err.write("sleep: missing operand\n")
        return 1
    total = 0.0
    for arg in argv[1:]:
        unit = _UNITS.get(arg[-1:], 0)
        try:
            total += float(arg[:-1] if unit else arg) * (unit or 1)
        except ValueError:
            io.err.write(f"sleep: invalid time interval '{arg}'\n")
            return 1
    yield sh.m.now() + total
    return 0


def _wait(sh: Shell, argv: list[str], io: IO) -> Run:
    """Every `&` job of this shell, to its end (each may sleep: the wait sleeps with it)."""
    status = 0
    for job in sh.jobs:
        while job.status is None:
            yield job.until
            job.step()
        status = job.status
    sh.jobs.clear()
    return status


def _test(sh: Shell, argv: list[str], io: IO) -> Run:
    args = argv[1:]
    if argv[0] == "[":
        if args[-1:] != ["]"]:
            io.err.write("sh: 1: [: missing ]\n")
            return 2
        args = args[:-1]
    try:
        ok = _evaluate(sh, args)
    except ValueError as exc:
        io.err.write(f"sh: 1: {argv[0]}: {exc}\n")
        return 2
    return (yield from _status(0 if ok else 1))


def _evaluate(sh: Shell, args: list[str]) -> bool:
    if not args:
        return False
    if args[0] == "!":
        return not _evaluate(sh, args[1:])
    if len(args) == 1:
        return args[0] != ""
    m = sh.m
    if len(args) == 2:
        op, x = args
        unary = {"-e": m.exists, "-f": lambda p: m.read(p) is not None, "-d": m.is_dir,
                 "-s": lambda p: bool(m.read(p)), "-n": bool, "-z": lambda v: not v}
        if op not in unary:
            raise ValueError(f"{op}: unexpected operator")
        return bool(unary[op](x))
    if len(args) == 3:
        x, op, y = args
        if op in ("=", "!="):
            return (x == y) == (op == "=")
        numeric = {"-eq": int.__eq__, "-ne": int.__ne__, "-lt": int.__lt__, "-le": int.__le__,
                   "-gt": int.__gt__, "-ge": int.__ge__}
        if op in numeric:
            try:
                return bool(numeric[op](int(x), int(y)))
            except ValueError:
                raise ValueError(f"Illegal number: {x if not x.lstrip('-').isdigit() else y}") from None
    raise ValueError(f"{' '.join(args)}: unexpected operator")


_PROGRAMS = {"sh": "/bin/sh", "setsid": "/usr/bin/setsid", "sleep": "/bin/sleep"}  # programs, not dash builtins


def _command(sh: Shell, argv: list[str], io: IO) -> Run:
    """`command -v NAME...`: a builtin's name or a tool's path per name found; fails if one is not."""
    if argv[1:2] != ["-v"]:
        return (yield from sh.invoke(argv[1:], io)) if len(argv) > 1 else 0
    status = 0
    for name in argv[2:]:
        found = _PROGRAMS.get(name) or (name if name in sh.m.builtins else sh.m.tool_path(name))
        if found is None:
            status = 1
        else:
            io.out.write(found + "\n")
    return status


def _sh(sh: Shell, argv: list[str], io: IO) -> Run:
    """`sh -c TEXT [NAME ARGS...]` or `sh FILE [ARGS...]`: a new shell, its own variables."""
    if argv[1:2] == ["-c"]:
        if len(argv) < 3:
            io.err.write("sh: 0: -c requires an argument\n")
            return 2
        return (yield from script(sh.m, argv[2], io, tuple(argv[3:]) or ("sh",)))
    if len(argv) < 2:
        return 0  # an interactive shell on no terminal reads nothing: stdin is not simulated as a script
    text = sh.m.read(argv[1])
    if text is None:
        io.err.write(f"sh: 0: cannot open {argv[1]}: No such file\n")
        return 2
    return (yield from script(sh.m, text, io, tuple(argv[1:])))


def _setsid(sh: Shell, argv: list[str], io: IO) -> Run:
    """`setsid -f CMD...`: CMD runs detached (it outlives us and sleeps on the lab's clock);
    without -f it runs in the foreground, as setsid does when not a process group leader."""
    rest = argv[1:]
    detach = False
    while rest[:1] and rest[0].startswith("-"):
        detach = detach or "f" in rest[0] or rest[0] == "--fork"
        rest = rest[1:]
    if not rest:
        io.err.write("setsid: no command specified\n")
        return 1
    if not detach:
        return (yield from Shell(sh.m).invoke(rest, io))
    job = Job(sh.m.node, _detached(sh, rest, io), " ".join(rest), _script_of(sh, rest))
    if job.step():
        sh.m.park(job)
    return 0


def _detached(sh: Shell, argv: list[str], io: IO) -> Run:
    try:
        return (yield from Shell(sh.m).invoke(argv, io))
    except ShellExit as done:
        return done.status


def _script_of(sh: Shell, argv: list[str]) -> str:
    """The text a detached `sh` runs, so pkill -f can match it as well as the command line."""
    if argv[0] != "sh" or len(argv) < 2:
        return ""
    if argv[1] == "-c":
        return argv[2] if len(argv) > 2 else ""
    return sh.m.read(argv[1]) or ""


def _dot(sh: Shell, argv: list[str], io: IO) -> Run:
    """`. FILE`: run FILE in this shell (its variables stay)."""
    text = sh.m.read(argv[1]) if len(argv) > 1 else None
    if text is None:
        io.err.write(f"sh: 1: .: cannot open {argv[1] if len(argv) > 1 else ''}: No such file\n")
        return 2
    try:
        tree = parse(text)
    except ShellSyntaxError as exc:
        io.err.write(f"sh: 1: Syntax error: {exc}\n")
        return 2
    return (yield from sh.seq(tree, io))


BUILTINS: Mapping[str, Builtin] = {
    ":": _true, "true": _true, "false": _false, "echo": _echo, "exit": _exit, "sleep": _sleep,
    "wait": _wait, "[": _test, "test": _test, "command": _command, "sh": _sh, "setsid": _setsid, ".": _dot,
}
WINDOWS_BUILTINS: Mapping[str, Builtin] = {"exit": _exit}  # cmd.exe: the rest are programs (ping, netsh)
