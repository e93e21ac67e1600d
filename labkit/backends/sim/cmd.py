r"""cmd.exe for the simulated Windows guests: the part of its language labkit's commands use.

A Windows guest is reached through `cmd.exe /c LINE` (VMware Tools, vmrun) or SSH to Windows'
OpenSSH server, whose default shell is cmd, so a command line there is cmd's, and the simulated
guest runs it as cmd does, not by recognising labkit's own lines. The line is read into a tree
by cmdsyntax.py (what of cmd's language is read is said there); this module runs the tree:

* `%NAME%` expanded once, before the line is read (undefined names stay as written, as on a
  command line); `for` variables (`%a`, `%~nf`, `%~xf`, `%~nxf`) at each round;
* `for %x in (SET) do ...` (an item with `*` or `?` is a file pattern), `for /l %x in (a,b,c) do ...`,
  `if [not] exist PATTERN ...`, blocks and their redirections, `&`, `&&`, `||`;
* builtins (cmdbuiltins.py): cd [/d], md/mkdir, rd/rmdir [/s] [/q], type, ren/rename, echo,
  start ["title"] [/b], exit [/b] [N], del, cmd /c; every other word is one of the machine's
  programs (ping, ipconfig, netsh, ...).

Time is the lab's virtual clock. A program that takes time (ping) moves it forward. `start /b`
runs a program in the background: it starts now, holds the files its output is redirected to
(another process cannot rename or delete them meanwhile, as on Windows) and delivers its output
when it ends; the background programs of a line end in order as the clock passes them, and any
still running when the line ends are left to the lab (world.park). Unsupported syntax (pipes,
`if` comparisons, `else`, `start` of cmd itself) is refused with cmd's syntax error, never guessed.
"""

from __future__ import annotations

import itertools
import operator
import re
from collections.abc import Generator
import fnmatch
import functools
from typing import TYPE_CHECKING

from labkit.backends.sim import tools
from labkit.backends.sim.shell import Job
from labkit.backends.sim.cmdsyntax import (
    Block, CmdSyntaxError, Command, For, Redir, Seq, Simple, argv_of, expand_variables, parse,
)
from labkit.backends.sim.cmdbuiltins import (  # noqa: F401  (the messages and words: this module's API too)
    BUILTIN_WORDS, BUILTINS, IN_USE, NOT_FOUND, PATH_NOT_FOUND, SYNTAX, Exit, run_cmd,
)
from labkit.backends.sim.sinks import Capture, Discard, FileSink, Sink
from labkit.backends.sim.started import StartedTogether
from labkit.protocols import CommandResult

if TYPE_CHECKING:
    from labkit.backends.sim.guest import SimGuest

PROFILE = "C:\\Users\\labkit"
TEMP = PROFILE + "\\AppData\\Local\\Temp"
BASE_DIRS = ("C:\\", "C:\\Windows", "C:\\Windows\\System32", "C:\\Windows\\Temp", "C:\\Users", PROFILE,
             PROFILE + "\\AppData", PROFILE + "\\AppData\\Local", TEMP)
_PLAIN_NAME = re.compile(r"[^\\/:*?\"<>|]+")  # a file name with no directory in it
_DRIVE = re.compile(r"[A-Za-z]:\\")
_ITEMS = re.compile(r"[\s,;=]+")


# ---- running -----------------------------------------------------------------------------------

# A program started with `start /b`: (when it ends, the order it started in, what it leaves, where its
# output and errors go, the files it holds open (lower case)). Its output arrives, and its files are let
# go, when it ends. A plain tuple: a thousand-target probe starts a thousand of them.
_Background = tuple[float, int, CommandResult, Sink, Sink, tuple[str, ...]]


class Cmd:
    """One `cmd.exe /c LINE` on one simulated Windows machine."""

    def __init__(self, guest: SimGuest, cwd: str = PROFILE) -> None:
        self.g = guest
        self.cwd = cwd
        self.env = {"TEMP": TEMP, "TMP": TEMP, "USERPROFILE": PROFILE, "SYSTEMROOT": "C:\\Windows",
                    "WINDIR": "C:\\Windows", "COMPUTERNAME": guest.node.upper(), "USERNAME": "labkit"}
        self.status = 0
        self.running: list[_Background] = []  # background programs, in the order they started
        self.holding: dict[str, int] = {}  # files (lower case) background programs hold open -> how many
        self._holds: tuple[str, ...] = ()  # what the simple command being run redirects into
        self.batches: list[StartedTogether] = []  # programs started together (one `for ... do start`)
        self._started = 0
        self._listing: tuple[str, int, list[str]] | None = None  # (folder, file count, its paths): see listing()
        self._lower_kept: tuple[list[str], int, str] | None = None  # see _lowered()

    # -- the line --
    def run(self, line: str) -> CommandResult:
        out, err = Capture(), Capture()
        try:
            tree = parse(expand_variables(line, self.env))
        except CmdSyntaxError as exc:
            return CommandResult(255, "", f"{exc}\r\n")
        try:
            self.seq(tree, {}, out, err)
        except Exit as done:
            self.status = done.status
        self._leave_running()
        return CommandResult(self.status, out.text(), err.text())

    def seq(self, tree: Seq, fv: dict[str, str], out: Sink, err: Sink) -> None:
        self.command(tree.first, fv, out, err)
        for op, command in tree.rest:
            if op == "&" or (op == "&&") == (self.status == 0):
                self.command(command, fv, out, err)

    def command(self, c: Command, fv: dict[str, str], out: Sink, err: Sink) -> None:
        if isinstance(c, Simple):
            self.simple(c, fv, out, err)
        elif isinstance(c, Block):
            redirected = self.redirect(c.redirs, fv, out, err)
            if redirected is not None:
                self.seq(c.body, fv, *redirected)
        elif isinstance(c, For):
            self.for_(c, fv, out, err)
        else:
            found = bool(self.matches(self.sub(c.pattern, fv), first=True))
            if found != c.negate:
                self.seq(c.body, fv, out, err)

    # -- for variables --
    def sub(self, text: str, fv: dict[str, str]) -> str:
        if not fv or "%" not in text:
            return text
        for name, value in fv.items():
            if "%~" in text:
                stem, dot, ext = value.rpartition(".")
                stem, ext = (stem, dot + ext) if dot and "\\" not in ext else (value, "")
                text = (text.replace(f"%~nx{name}", value.rsplit("\\", 1)[-1])
                        .replace(f"%~n{name}", stem.rsplit("\\", 1)[-1]).replace(f"%~x{name}", ext))
            text = text.replace(f"%{name}", value)
        return text

    def for_(self, c: For, fv: dict[str, str], out: Sink, err: Sink) -> None:
        items = self.sub(c.items, fv)
        values: list[str]
        if c.numeric:
            try:
                first, step, last = (int(x) for x in _ITEMS.split(items.strip()))
            except ValueError:
                err.write(SYNTAX)
                self.status = 1
                return
            values = [str(v) for v in range(first, last + (1 if step > 0 else -1), step)] if step else []
        elif not any(ch in items for ch in '*?"'):  # plain items: most lists
            values = [x for x in _ITEMS.split(items) if x]
        else:
            values = []
            for item in (x for x in _ITEMS.split(items) if x):
                if "*" in item or "?" in item:
                    values += [p.rsplit("\\", 1)[-1] if "\\" not in item else p for p in self.matches(item)]
                else:
                    values.append(item.replace('"', "") if item.startswith('"') else item)
        loud = not _quiet(c.body.first)  # cmd echoes each round's command unless it starts with @
        if not loud and self._start_all(c, values, fv, out, err):
            return
        inner = dict(fv)
        for value in values:
            inner[c.var] = value
            if loud:
                out.write(f"\r\n{self.cwd}>{self.sub(_text(c.body.first), inner)}\r\n")
            self.seq(c.body, inner, out, err)

    def _start_all(self, c: For, values: list[str], fv: dict[str, str], out: Sink, err: Sink) -> bool:
        """Every round of `for %x in (...) do @start ... PROGRAM ... %x >%x.out ...` at once, when the
        rounds differ only in the program's last argument and in files of their own: each round
        starts its program at the same moment, so running them together leaves the same files,
        outputs and clock as one by one (False, and nothing done, for any other body)."""
        body = c.body.first
        if c.body.rest or not isinstance(body, Simple) or body.name != "start" or not values:
            return False
        var = "%" + c.var
        words = [self.sub(w, fv) for w in body.words[1:]] if fv else list(body.words[1:])
        k = 1 if words and words[0].startswith('"') else 0
        while k < len(words) and words[k].startswith("/"):
            k += 1
        argv = argv_of(words[k:])
        bulk = tools.BULK.get(argv[0].lower()) if argv else None
        if (bulk is None or argv[-1] != var or any(var in w for w in argv[:-1]) or "%~" in body.text
                or len(set(values)) != len(values) or (_has_upper(values) and
                                                       len({v.lower() for v in values}) != len(values))
                or any(r.op == "<" or (r.op != ">&" and var not in r.target) for r in body.redirs)):
            return False
        results = bulk(self.g, argv[:-1], values)
        now = self.g.now()
        holding, files, dirs, held_after = self.holding, self.g.files, self.g.dirs, self.g.held
        push = self.running.append
        folder = self.cwd.rstrip("\\") + "\\"
        # the usual shape, `>%x.txt 2>&1` (or without the 2>&1) with a plain name: done right here
        redirs = body.redirs
        simple = (folder[:-1] in dirs and 1 <= len(redirs) <= 2 and redirs[0].fd == 1 and redirs[0].op in (">", ">>")
                  and bool(_PLAIN_NAME.fullmatch(redirs[0].target)) and redirs[0].target.strip(".") != ""
                  and (len(redirs) == 1 or (redirs[1].fd == 2 and redirs[1].op == ">&" and redirs[1].target == "1")))
        if simple:  # what the general loop below does, written out for the usual shape
            template, append, both = redirs[0].target, redirs[0].op == ">>", len(redirs) == 2
            head, found, tail = template.partition(var)
            if found and var not in tail:  # `%a.txt`: the file's name is a head, the value and a tail
                head = folder + head
                paths = [head + value + tail for value in values]
            else:
                paths = [folder + template.replace(var, value) for value in values]
            keys = list(map(str.lower, paths))
            kept = self._listing if self._listing is not None and self._listing[0] == folder[:-1] else None
            if (holding.keys().isdisjoint(keys) and held_after.isdisjoint(keys)
                    and (both or not any(result.stderr for result, _ in results))):
                # none held (the values differ, case aside): all made, held and started at once
                if kept is not None:
                    kept[2].extend(path for path in paths if path not in files)  # the folder's listing
                if append:
                    files.update({path: "" for path in paths if path not in files})
                else:
                    files.update(dict.fromkeys(paths, ""))
                holding.update(dict.fromkeys(keys, 1))
                self.batches.append(StartedTogether.start(now, self._started, results, paths, keys, append, both, err))
                self._started += len(values)
                self.status = 0
            else:
                seq, status = self._started, self.status
                for path, key, (result, took) in zip(paths, keys, results, strict=True):
                    if key in holding or key in held_after:
                        err.write(IN_USE)
                        status = 1
                        continue
                    if kept is not None and path not in files:
                        kept[2].append(path)  # the folder's listing, kept up to date
                    sink = FileSink(files, path, append)
                    holding[key] = holding.get(key, 0) + 1
                    seq += 1
                    push((now + took, seq, result, sink, sink if both else err, (key,)))
                    status = 0
                self._started, self.status = seq, status
            self._listing = (kept[0], len(files) + len(dirs), kept[2]) if kept is not None else None
            return True
        for value, (result, took) in zip(values, results, strict=True):
            redirected = self.redirect(redirs, {**fv, c.var: value}, out, err)
            if redirected is None:
                continue
            (o, e), holds = redirected, tuple(h.lower() for h in self._holds)
            for h in holds:
                holding[h] = holding.get(h, 0) + 1
            self._started += 1
            push((now + took, self._started, result, o, e, holds))
            self.status = 0
        return True

    # -- redirections --
    def redirect(self, redirs: tuple[Redir, ...], fv: dict[str, str], out: Sink,
                 err: Sink) -> tuple[Sink, Sink] | None:
        holds: list[str] = []
        for r in redirs:
            target = self.sub(r.target, fv) if fv else r.target
            if '"' in target:
                target = target.replace('"', "")
            if r.op == ">&":
                if target not in ("1", "2"):
                    err.write("The handle could not be duplicated\r\nduring redirection of handle "
                              f"{r.fd}.\r\n")
                    self.status = 1
                    return None
                sink = out if target == "1" else err
            elif r.op == "<":
                continue  # nothing simulated reads its standard input from a file
            elif target.lower() == "nul":
                sink = Discard()
            else:
                path = self.path(target)
                if self.held(path):
                    err.write(IN_USE)
                    self.status = 1
                    return None
                if _parent(path) not in self.g.dirs and not self.g.is_dir(_parent(path)):
                    err.write(PATH_NOT_FOUND)
                    self.status = 1
                    return None
                sink = FileSink(self.g.files, path, r.op == ">>")
                self._listing = None
                holds.append(path)
            if r.fd == 1:
                out = sink
            elif r.fd == 2:
                err = sink
        self._holds = tuple(holds)
        return out, err

    # -- simple commands --
    def simple(self, c: Simple, fv: dict[str, str], out: Sink, err: Sink) -> None:
        self._holds = ()
        redirected = self.redirect(c.redirs, fv, out, err) if c.redirs else (out, err)
        if redirected is None:
            return
        o, e = redirected
        if not c.words:
            self.status = 0
            return
        name = c.name if c.name is not None else self.sub(c.words[0], fv).replace('"', "").lower()
        builtin = BUILTINS.get(name) or (run_cmd if name.endswith("\\cmd.exe") else None)
        if builtin is not None:
            builtin(self, c, fv, o, e)
            return
        argv = argv_of([self.sub(w, fv) for w in c.words] if fv else c.words)
        result, took = self.program(argv)
        if took:
            self.advance(took)
        if result.stdout:
            o.write(result.stdout)
        if result.stderr:
            e.write(result.stderr)
        self.status = result.exit_status

    def program(self, argv: list[str]) -> tuple[CommandResult, float]:
        g = self.g
        result = g.call(argv)
        return result, g.elapsed

    # -- time --
    def advance(self, seconds: float) -> None:
        """The foreground waits `seconds`: background programs that end meanwhile deliver, in order."""
        until = self.g.now() + seconds
        holding = self.holding
        if self.batches:  # each writes only into files of its own: when it delivers changes nothing else
            files = self.g.files
            for batch in self.batches:
                batch.deliver(until, files, holding)
            self.batches = [b for b in self.batches if not b.done]
        # by when they end, then by when they started: `running` is in start order and the sort is
        # stable, so sorting on the end alone gives that order (with float keys, which sort fastest)
        due = sorted([e for e in self.running if e[0] <= until], key=_ENDS)
        if due:
            self.running = [e for e in self.running if e[0] > until]
        for _, _, result, out, err, holds in due:  # each touches only its own files: no clock steps needed
            if result.stdout:
                out.write(result.stdout)
            if result.stderr:
                err.write(result.stderr)
            for key in holds:
                left = holding[key] - 1
                if left:
                    holding[key] = left
                else:
                    del holding[key]
        self.g.world.wait_until(until)

    def _leave_running(self) -> None:
        """Background programs still running when the line ends go on without it."""
        left = self.running + [e for b in self.batches for e in b.left(self.g.files)]
        for done in sorted(left, key=lambda e: e[:2]):
            job = Job(self.g.node, _finish(done, self.g), "start /b", "")
            if job.step():
                self.g.world.park(job)
        self.running.clear()
        self.batches.clear()
        self.holding.clear()

    def held(self, path: str) -> bool:
        key = path.lower()
        return key in self.holding or key in self.g.held

    # -- files --
    def path(self, name: str) -> str:
        if _PLAIN_NAME.fullmatch(name) and name.strip("."):  # a name in the current directory: most of them
            return self.cwd + "\\" + name if not self.cwd.endswith("\\") else self.cwd + name
        name = name.replace("/", "\\")
        if _DRIVE.match(name):
            full = name
        elif name.startswith("\\"):
            full = self.cwd[:2] + name
        else:
            full = self.cwd.rstrip("\\") + "\\" + name
        parts: list[str] = []
        for part in full.split("\\"):
            if part == "..":
                if len(parts) > 1:
                    parts.pop()
            elif part not in (".", ""):
                parts.append(part)
        return "\\".join(parts) if len(parts) > 1 else parts[0] + "\\"

    def listing(self, folder: str) -> list[str]:
        """The paths of the files and directories right in `folder` (case-insensitive). Kept until
        this command line changes a name, or the machine's file count changes: the wait loop of a
        parallel probe looks at one folder of hundreds of files several times a second."""
        files, dirs = self.g.files, self.g.dirs
        kept = self._listing
        if kept is not None and kept[0] == folder and kept[1] == len(files) + len(dirs):
            return kept[2]
        prefix = folder.rstrip("\\") + "\\"
        low, n = prefix.lower(), len(prefix)
        found = [p for names in (files, dirs) for p in names
                 if (p.startswith(prefix) or p[:n].lower() == low) and "\\" not in p[n:]]
        self._listing = (folder, len(files) + len(dirs), found)
        return found

    def _lowered(self, names: list[str]) -> str:
        """A listing's names in lower case, each ended by a line end (no file name holds one): kept
        for that listing, which a parallel probe's wait loop asks twice for a name it no longer has."""
        kept = self._lower_kept
        if kept is None or kept[0] is not names or kept[1] != len(names):
            kept = self._lower_kept = (names, len(names), "\n".join(names).lower() + "\n")
        return kept[2]

    def matches(self, pattern: str, first: bool = False, ordered: bool = True) -> list[str]:
        """Files and directories matching PATTERN (case-insensitive, in name order unless not
        `ordered`); with `first`, at most one (what `if exist` needs)."""
        folder, _, leaf = self.path(pattern).rpartition("\\")
        names = self.listing(folder)
        want = leaf.lower()
        if want == "*":
            found = list(names)
        elif want[:1] == "*" and not any(ch in want[1:] for ch in "*?[") and len(want) <= 8:  # "*.txt": the usual
            if first:  # is there one? a name in lower case (most are) stops the look at once
                hit = next(itertools.compress(names, map(str.endswith, names, itertools.repeat(want[1:]))), None)
                if hit is not None:
                    return [hit]
                listed = self._lowered(names)  # else one search of all the names at once, in lower case
                at = listed.find(want[1:] + "\n")
                return [] if at < 0 else [names[listed.count("\n", 0, at)]]
            spellings = _spellings(want[1:])
            found = list(itertools.compress(names, map(str.endswith, names, itertools.repeat(spellings))))  # in C
        else:
            match, n = re.compile(fnmatch.translate(want)).match, len(folder.rstrip("\\")) + 1
            found = [p for p in names if match(p[n:].lower())]
        return found[:1] if first else sorted(found) if ordered else found


_ENDS = operator.itemgetter(0)  # a background program's end time


def _has_upper(values: list[str]) -> bool:
    joined = "".join(values)
    return joined != joined.lower()


@functools.lru_cache(maxsize=64)
def _spellings(tail: str) -> tuple[str, ...]:
    """Every upper and lower case spelling of a short file name ending (".txt", ".TXT", ".tXt", ...):
    str.endswith takes them all at once, a case-insensitive match with no lower() per name. The
    lower case one first, then the upper case one: most names are spelt so, and endswith stops at
    the first that fits."""
    every = {"".join(chars) for chars in itertools.product(*[(c.lower(), c.upper()) for c in tail])}
    first = list(dict.fromkeys([tail.lower(), tail.upper()]))
    return (*first, *sorted(every - set(first)))


def _quiet(c: Command) -> bool:
    return c.quiet if isinstance(c, (Simple, Block, For)) else False


def _text(c: Command) -> str:
    return c.text if isinstance(c, Simple) else "(...)"


def _parent(path: str) -> str:
    head = path.rsplit("\\", 1)[0]
    return head + "\\" if head.endswith(":") else head


def _finish(done: _Background, g: SimGuest) -> Generator[float, None, int]:
    """A background program that outlived its command line, as a job of the lab's."""
    end, _, result, out, err, holds = done
    g.held.update(holds)
    yield end
    if result.stdout:
        out.write(result.stdout)
    if result.stderr:
        err.write(result.stderr)
    g.held.difference_update(holds)
    return result.exit_status
