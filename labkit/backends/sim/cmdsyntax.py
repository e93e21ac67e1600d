r"""cmd.exe's command-line language, read into a tree: the part of it labkit's commands use.

What is read (cmd.py runs it): `&`, `&&`, `||`, `( ... )` blocks with redirections, `@`, `^`
escapes, double quotes; redirections `>`, `>>`, `<`, `2>&1`, `>nul`, anywhere in a command;
`for %x in (SET) do ...`, `for /l %x in (a,b,c) do ...`, `if [not] exist PATTERN ...` (the rest of
the line is their body, as in cmd). `%NAME%` is expanded once, before the line is read
(`expand_variables`); `for` variables stay in the tree, for each round. What cmd would not take,
or the simulation does not run (pipes, `if` comparisons), is a CmdSyntaxError with cmd's message.
Apart from the interpreter so that each stays small: a tree of frozen dataclasses is all they share.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field


class CmdSyntaxError(ValueError):
    """What cmd.exe does not understand (or the simulation does not run): cmd prints the message."""


# ---- syntax ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Redir:
    fd: int
    op: str  # ">", ">>", "<", ">&"
    target: str  # raw text (for variables expanded when it runs)


@dataclass(frozen=True, slots=True)
class Simple:
    words: tuple[str, ...]  # raw words, quotes kept (a program's C runtime removes them)
    args: str  # the raw text after the command word, redirections taken out (what echo prints)
    redirs: tuple[Redir, ...]
    quiet: bool  # '@'
    text: str  # as written, for echoing a for body
    name: str | None  # the command's name, lower case, quotes removed (None: it holds a for variable)


@dataclass(frozen=True, slots=True)
class Block:
    body: Seq
    redirs: tuple[Redir, ...]
    quiet: bool


@dataclass(frozen=True, slots=True)
class For:
    var: str
    numeric: bool  # /l
    items: str  # raw text between the parentheses
    body: Seq
    quiet: bool


@dataclass(frozen=True, slots=True)
class IfExist:
    negate: bool
    pattern: str
    body: Seq


Command = Simple | Block | For | IfExist


@dataclass(frozen=True, slots=True)
class Seq:
    first: Command
    rest: tuple[tuple[str, Command], ...] = field(default=())  # ("&" | "&&" | "||", command)


_PEEK = re.compile(r"[^\s&|()<>]*")
_FOR = re.compile(r"for\s+(/l\s+)?%(\w)\s+in\s*\(", re.IGNORECASE)
_DO = re.compile(r"\s*do\s", re.IGNORECASE)
_IF = re.compile(r"if\s+(not\s+)?exist\s+", re.IGNORECASE)
_CARET = re.compile(r"\^(.)")
_RUN = re.compile(r'[^\s&|<>()^"]+')  # a stretch of a word with nothing special in it
_BLANK = " \t"
# a command with nothing escaped and no parenthesis outside quotes, up to its end (quotes closed;
# the `&` of a `>&` is the redirection's, not the end)
_PLAIN_STRETCH = re.compile(r'(?:[^&|()"^>]+|>&?|"[^"]*")*')
# in such a stretch: a redirection (its handle, operator and target) or a word, after blanks
_PLAIN_TOKEN = re.compile(r'[ \t]*(?:(\d?)(>>|>&|>|<)[ \t]*((?:[^ \t<>"&|]+|"[^"]*")*)|((?:[^ \t<>"&|]+|"[^"]*")+))')


class _Parser:
    """One line (variables already expanded) -> Seq. Quotes protect everything but the end of line."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.depth = 0

    def blanks(self) -> None:
        s, n = self.s, len(self.s)
        while self.i < n and s[self.i] in _BLANK:
            self.i += 1

    def seq(self) -> Seq:
        first = self.command()
        rest: list[tuple[str, Command]] = []
        while True:
            self.blanks()
            s, i = self.s, self.i
            if i >= len(s) or (s[i] == ")" and self.depth):
                return Seq(first, tuple(rest))
            op = "&&" if s.startswith("&&", i) else "||" if s.startswith("||", i) else s[i]
            if op == "|":
                raise CmdSyntaxError("pipes are not simulated")
            if op not in ("&", "&&", "||"):
                raise CmdSyntaxError(f"{op} was unexpected at this time.")
            self.i += len(op)
            rest.append((op, self.command()))

    def command(self) -> Command:
        self.blanks()
        quiet = False
        while self.s.startswith("@", self.i):
            quiet = True
            self.i += 1
            self.blanks()
        s, i = self.s, self.i
        if i >= len(s):
            raise CmdSyntaxError("The syntax of the command is incorrect.")
        if s[i] == "(":
            self.i += 1
            self.depth += 1
            body = self.seq()
            self.blanks()
            if not self.s.startswith(")", self.i):
                raise CmdSyntaxError("( was unexpected at this time.")  # an unclosed block
            self.i += 1
            self.depth -= 1
            return Block(body, tuple(self.redirections()), quiet)
        word = self._peek_word().lower()
        if word == "for":
            return self.for_(quiet)
        if word == "if":
            return self.if_()
        return self.simple(quiet)

    def _peek_word(self) -> str:
        m = _PEEK.match(self.s, self.i)
        return m.group(0) if m else ""

    def redirections(self) -> list[Redir]:
        out: list[Redir] = []
        while True:
            self.blanks()
            r = self._redirection()
            if r is None:
                return out
            out.append(r)

    _REDIR = re.compile(r"(\d?)(>>|>&|>|<)")

    def _redirection(self) -> Redir | None:
        m = self._REDIR.match(self.s, self.i)
        if m is None:
            return None
        self.i = m.end()
        self.blanks()
        target = self.word()
        if not target:
            raise CmdSyntaxError("The syntax of the command is incorrect.")
        op = m.group(2)
        fd = int(m.group(1)) if m.group(1) else (0 if op == "<" else 1)
        return Redir(fd, op, target)

    def word(self) -> str:
        """One word as written: quotes kept, ^ escapes kept for later, ends at a blank or special."""
        s, n = self.s, len(self.s)
        start = self.i
        quoted = False
        while self.i < n:
            if not quoted:
                m = _RUN.match(s, self.i)
                if m is not None:
                    self.i = m.end()
                    continue
            c = s[self.i]
            if c == '"':
                quoted = not quoted
            elif not quoted:
                if c == "^":
                    self.i += 2
                    continue
                if c in _BLANK or c in "&|<>" or (c == ")" and self.depth) or c == "(" and self.i > start:
                    break
            self.i += 1
        return s[start:self.i]

    def simple(self, quiet: bool) -> Simple:
        return self._plain_simple(quiet) or self._simple(quiet)

    def _plain_simple(self, quiet: bool) -> Simple | None:
        """`_simple` for a command with no caret, no parenthesis outside quotes and no quote left
        open (most of them), by regular expressions; None (nothing read) for any other, or for
        what `_simple` refuses."""
        s, start = self.s, self.i
        end = _PLAIN_STRETCH.match(s, start).end()  # type: ignore[union-attr]  # it matches the empty string
        if end < len(s) and (s[end] in '"^(' or (s[end] == ")" and not self.depth)):
            return None
        words: list[str] = []
        redirs: list[Redir] = []
        args: list[str] = []
        pos = start
        while (m := _PLAIN_TOKEN.match(s, pos, end)) is not None:
            op = m.group(2)
            if op is not None:
                if not m.group(3):
                    return None  # a redirection with no target: `_simple` says what is wrong
                redirs.append(Redir(int(m.group(1)) if m.group(1) else (0 if op == "<" else 1), op, m.group(3)))
            else:
                if words:
                    args.append(s[pos:m.end()] if len(words) > 1 or args else s[pos:m.end()].lstrip(_BLANK))
                words.append(m.group(4))
            pos = m.end()
        if s[pos:end].strip(_BLANK):
            return None
        self.i = end
        name = words[0].replace('"', "").lower() if words and "%" not in words[0] else None
        return Simple(tuple(words), "".join(args), tuple(redirs), quiet, s[start:end].strip(), name)

    def _simple(self, quiet: bool) -> Simple:
        words: list[str] = []
        redirs: list[Redir] = []
        args: list[str] = []
        start = self.i
        while True:
            before = self.i
            self.blanks()
            s, i = self.s, self.i
            if i >= len(s) or s[i] in "&|" or (s[i] == ")" and self.depth):
                break
            r = self._redirection()
            if r is not None:
                redirs.append(r)
                continue
            w = self.word()
            if not w:
                raise CmdSyntaxError(f"{s[i]} was unexpected at this time.")
            if words:
                args.append(s[before:self.i] if len(words) > 1 or args else s[before:self.i].lstrip(_BLANK))
            words.append(w)
        text = self.s[start:self.i].strip()
        name = words[0].replace('"', "").lower() if words and "%" not in words[0] else None
        return Simple(tuple(words), "".join(args), tuple(redirs), quiet, text, name)

    def for_(self, quiet: bool) -> For:
        m = _FOR.match(self.s, self.i)
        if m is None:
            raise CmdSyntaxError("The syntax of the command is incorrect.")
        close = self.s.find(")", m.end())
        if close < 0:
            raise CmdSyntaxError("The syntax of the command is incorrect.")
        items = self.s[m.end():close]
        self.i = close + 1
        do = _DO.match(self.s, self.i)
        if do is None:
            raise CmdSyntaxError("The syntax of the command is incorrect.")
        self.i = do.end()
        return For(m.group(2), bool(m.group(1)), items, self.seq(), quiet)

    def if_(self) -> IfExist:
        m = _IF.match(self.s, self.i)
        if m is None:
            raise CmdSyntaxError("only `if [not] exist` is simulated")
        self.i = m.end()
        pattern = self.word()
        return IfExist(bool(m.group(1)), pattern, self.seq())


_VAR = re.compile(r"%([^%\r\n]+)%")


def expand_variables(text: str, env: dict[str, str]) -> str:
    """%NAME% as cmd expands a command line: names case-insensitive, undefined ones left as written."""
    def one(m: re.Match[str]) -> str:
        value = env.get(m.group(1).upper())
        return m.group(0) if value is None else value
    return _VAR.sub(one, text) if "%" in text else text


def parse(line: str) -> Seq:
    p = _Parser(line)
    tree = p.seq()
    p.blanks()
    if p.i < len(p.s):
        raise CmdSyntaxError(f"{p.s[p.i]} was unexpected at this time.")
    return tree


def argv_of(words: Iterable[str]) -> list[str]:
    """A program's argv as its C runtime splits its command line: quotes removed, ^ escapes done."""
    out = []
    for w in words:
        if '"' in w or "^" in w:
            w = _CARET.sub(r"\1", w).replace('"', "")
        out.append(w)
    return out
