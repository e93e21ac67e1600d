"""Run parsed sh (shparse.py) against one simulated machine, on the lab's virtual clock.

Every step is a generator that yields the virtual time it wants to sleep until. Whoever drives
it decides what a sleep means: a foreground command moves the lab's clock forward (labkit waits
that long), a detached job (`setsid -f`, or a `&` job its shell never waited for) is parked in
the world and resumed once the clock has passed its wake-up time. So safe apply's revert timer
is an ordinary script that sleeps, and `pkill -f` kills it as it would a real process.

The interpreter knows sh itself (lists, expansions, redirections, builtins that change the
shell: exit, wait, sleep, sh, setsid, command, test, echo: builtins.py, handed in by the
machine per OS, so Windows guests get cmd's few words and no sh builtins); every other command
is one of the machine's tools (tools.py, services.py, coreutils.py, windows.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Mapping
from typing import Protocol

from labkit.backends.sim.shparse import parse
from labkit.backends.sim.shsyntax import (
    AndOr, CommandSub, Item, Lit, Param, Pipeline, Redirect, Seq, ShellSyntaxError, Simple, Subshell, Word,
)
from labkit.backends.sim.sinks import IO, Capture, Discard, Sink
from labkit.model import OsFamily
from labkit.protocols import CommandResult

Run = Generator[float, None, int]  # yields wake-up times; returns the exit status
Builtin = Callable[["Shell", list[str], IO], Run]
_GLOB = re.compile(r"[*?]|\[.*\]")


class Machine(Protocol):
    """What the shell needs of a simulated machine (SimGuest implements it)."""

    node: str
    os: OsFamily
    builtins: Mapping[str, Builtin]  # the shell's own commands on this OS (builtins.py)
    elapsed: float  # how long the tool `call` just ran took (ping waits for its replies)

    def call(self, argv: list[str], stdin: str, env: Mapping[str, str] | None = None) -> CommandResult: ...
    def tool_path(self, name: str) -> str | None: ...
    def glob(self, pattern: str) -> list[str]: ...
    def exists(self, path: str) -> bool: ...
    def is_dir(self, path: str) -> bool: ...
    def read(self, path: str) -> str | None: ...
    def sink(self, path: str, append: bool) -> Sink: ...
    def now(self) -> float: ...
    def park(self, job: Job) -> None: ...


class ShellExit(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Job:
    """A running script that may be waiting on the clock: a `&` job or a detached process."""

    def __init__(self, node: str, run: Run, cmdline: str, script: str = "") -> None:
        self.node, self.run, self.cmdline, self.script = node, run, cmdline, script
        self.until = 0.0
        self.status: int | None = None

    def step(self) -> bool:
        """Run until it sleeps (True, `until` set) or ends (False, `status` set)."""
        try:
            self.until = next(self.run)
            return True
        except StopIteration as stop:
            self.status = stop.value
            return False

    def kill(self) -> None:
        self.run.close()
        self.status = 143


def drive(run: Run, wait_until: Callable[[float], None]) -> int:
    """Run a foreground script to its end; each sleep waits (moves the clock) via `wait_until`."""
    while True:
        try:
            until = next(run)
        except StopIteration as stop:
            return stop.value
        wait_until(until)


def script(machine: Machine, text: str, io: IO, args: tuple[str, ...] = ("sh",)) -> Run:
    """A whole script, as `sh -c TEXT` runs it (a syntax error is exit 2, as in sh)."""
    try:
        tree = parse(text)
    except ShellSyntaxError as exc:
        io.err.write(f"sh: 1: Syntax error: {exc}\n")
        return _done(2)
    return Shell(machine, args).body(tree, io)


def _done(status: int) -> Run:
    return status
    yield  # pragma: no cover  (makes this a generator)


class Shell:
    """One shell process: its variables, its `$?`, its background jobs."""

    def __init__(self, machine: Machine, args: tuple[str, ...] = ("sh",), variables: dict[str, str] | None = None,
                 status: int = 0) -> None:
        self.m = machine
        self.args = args
        self.vars = dict(variables or {})
        self.status = status
        self.jobs: list[Job] = []
        self._sub_status: int | None = None

    def child(self) -> Shell:
        """A subshell: a copy of this one's variables and `$?`."""
        return Shell(self.m, self.args, self.vars, self.status)

    def body(self, tree: Seq, io: IO) -> Run:
        """Run a script or subshell body; `exit` ends it here, unwaited jobs keep running."""
        try:
            status = yield from self.seq(tree, io)
        except ShellExit as done:
            status = done.status
        for job in self.jobs:
            if job.status is None:
                self.m.park(job)
        self.jobs.clear()
        return status

    def seq(self, tree: Seq, io: IO) -> Run:
        for item in tree.items:
            if item.background:
                self._background(item, io)
                self.status = 0
            else:
                self.status = yield from self.and_or(item.body, io)
        return self.status

    def _background(self, item: Item, io: IO) -> None:
        job = Job(self.m.node, self.child().body(Seq((Item(item.body, False, item.text),)), io), item.text)
        if job.step():
            self.jobs.append(job)

    def and_or(self, tree: AndOr, io: IO) -> Run:
        status = yield from self.pipeline(tree.first, io)
        for op, pipeline in tree.rest:
            self.status = status
            if (op == "&&") == (status == 0):
                status = yield from self.pipeline(pipeline, io)
        self.status = status
        return status

    def pipeline(self, tree: Pipeline, io: IO) -> Run:
        stdin = io.stdin
        status = 0
        for n, command in enumerate(tree.commands):
            last = n == len(tree.commands) - 1
            out = io.out if last else Capture()
            status = yield from self.command(command, IO(out, io.err, stdin))
            if not last:
                stdin = out.text() if isinstance(out, Capture) else ""
        if tree.negate:
            status = 0 if status else 1
        self.status = status
        return status

    def command(self, tree: Simple | Subshell, io: IO) -> Run:
        if isinstance(tree, Subshell):
            redirected = yield from self.redirect(io, tree.redirects)
            if redirected is None:
                return 2
            return (yield from self.child().body(tree.body, redirected))
        return (yield from self.simple(tree, io))

    def simple(self, tree: Simple, io: IO) -> Run:
        self._sub_status = None
        argv: list[str] = []
        for word in tree.words:
            argv += yield from self.expand(word, io)
        values = {}
        for name, value in tree.assigns:
            values[name] = " ".join((yield from self.expand(value, io, split=False)))
        redirected = yield from self.redirect(io, tree.redirects)
        if redirected is None:
            return 2
        if not argv:  # assignments only: they stay in this shell; the status is the last $(...)'s
            self.vars.update(values)
            return self._sub_status or 0
        status = yield from self.invoke(argv, redirected, values)  # `LC_ALL=C ping`: the command's environment
        self.status = status
        return status

    def invoke(self, argv: list[str], io: IO, env: Mapping[str, str] | None = None) -> Run:
        """Run one command: a builtin of this shell, else a tool of the machine (with `env`, the
        command's own NAME=value words)."""
        builtin = self.m.builtins.get(argv[0])
        if builtin is not None:
            return (yield from builtin(self, argv, io))
        result = self.m.call(argv, io.stdin, env)
        if self.m.elapsed:  # the tool takes time: a `&` job sleeps, the foreground moves the clock
            yield self.m.now() + self.m.elapsed
        if result.stdout:
            io.out.write(result.stdout)
        if result.stderr:
            io.err.write(result.stderr)
        return result.exit_status

    # ---- expansions ----
    def param(self, name: str) -> str:
        if name == "?":
            return str(self.status)
        if name == "#":
            return str(len(self.args) - 1)
        if name == "$":
            return "4242"
        if name in ("@", "*"):
            return " ".join(self.args[1:])
        if name.isdigit():
            k = int(name)
            return self.args[k] if k < len(self.args) else ""
        return self.vars.get(name, "")

    def expand(self, word: Word, io: IO, split: bool = True) -> Generator[float, None, list[str]]:
        """A word's fields: parameters and $(...) expanded, unquoted results split on blanks,
        then unquoted patterns matched against the machine's files (left as they are when
        nothing matches, as sh does)."""
        fields: list[tuple[str, str, bool]] = []  # (text, glob pattern, has an unquoted pattern char)
        text: list[str] = []
        pattern: list[str] = []
        started = False
        globbed = False
        for part in word.parts:
            if isinstance(part, Lit):
                value, quoted = part.text, part.quoted
            elif isinstance(part, Param):
                value, quoted = self.param(part.name), part.quoted
            else:
                value, quoted = (yield from self.substitute(part, io)), part.quoted
            if quoted or not split or isinstance(part, Lit):
                text.append(value)
                pattern.append(_escape(value) if quoted else value)
                globbed = globbed or (not quoted and bool(_GLOB.search(value)))
                started = started or quoted or bool(value)
                continue
            pieces = value.split()
            if value[:1].isspace() and started:
                fields.append(("".join(text), "".join(pattern), globbed))
                text, pattern, started, globbed = [], [], False, False
            for k, piece in enumerate(pieces):
                if k:
                    fields.append(("".join(text), "".join(pattern), globbed))
                    text, pattern, started, globbed = [], [], False, False
                text.append(piece)
                pattern.append(piece)
                globbed = globbed or bool(_GLOB.search(piece))
                started = True
            if pieces and value[-1:].isspace():
                fields.append(("".join(text), "".join(pattern), globbed))
                text, pattern, started, globbed = [], [], False, False
        if started:
            fields.append(("".join(text), "".join(pattern), globbed))
        out: list[str] = []
        for value, pat, has_glob in fields:
            matches = self.m.glob(pat) if has_glob and split else []
            out += matches or [value]
        return out

    def substitute(self, sub: CommandSub, io: IO) -> Generator[float, None, str]:
        captured = Capture()
        status = yield from self.child().body(sub.body, IO(captured, io.err, ""))
        self._sub_status = status
        return captured.text().rstrip("\n")

    def redirect(self, io: IO, redirects: tuple[Redirect, ...]) -> Generator[float, None, IO | None]:
        """The IO after the redirections, left to right; None (and sh's message) when one fails."""
        if not redirects:
            return io
        out, err, stdin = io.out, io.err, io.stdin
        for r in redirects:
            target = " ".join((yield from self.expand(r.target, io, split=False)))
            if r.op in (">", ">>"):
                if self.m.is_dir(target):
                    io.err.write(f"sh: 1: cannot create {target}: Is a directory\n")
                    return None
                sink = self.m.sink(target, r.op == ">>")
            elif r.op == ">&":
                fds = {"1": out, "2": err}
                if target == "-":
                    sink = Discard()
                elif target in fds:
                    sink = fds[target]
                else:
                    io.err.write(f"sh: 1: {target}: Bad file descriptor\n")
                    return None
            elif r.op == "<":
                text = self.m.read(target)
                if text is None:
                    io.err.write(f"sh: 1: cannot open {target}: No such file\n")
                    return None
                stdin = text
                continue
            else:  # "<&": input duplication changes nothing the simulated tools read
                continue
            if r.fd == 1:
                out = sink
            elif r.fd == 2:
                err = sink
        return IO(out, err, stdin)


def _escape(text: str) -> str:
    """Quoted text inside a glob pattern matches itself only."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)

