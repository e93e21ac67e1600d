"""Parse the POSIX sh subset labkit sends to guests into a small syntax tree (shell.py runs it).

Why a parser and not patterns over known scripts: the producer of a script (safe apply's revert
timer, the ping engine's background jobs, a dialect's restart) owns its wording, and the
simulated guest must run any equivalent script the way sh would, comments and reordering
included. The subset is what those producers use: lists (`;`, newlines, `&&`, `||`, `&`),
pipelines, `( ... )`, `$(...)`, `$name`/`${name}`/`$?`/`$1`, '' and "" quoting, backslashes,
redirections (`>`, `>>`, `<`, `N>&M`), `#` comments and `NAME=value`. Anything else
(here-documents, `if`/`for`, backquotes, arithmetic) is a ShellSyntaxError, which the
interpreter reports as sh does (exit 2) instead of guessing.
"""

from __future__ import annotations

from labkit.backends.sim.shsyntax import (
    AndOr, Command, CommandSub, Item, Lit, Param, Part, Pipeline, Redirect, Seq, ShellSyntaxError, Simple, Subshell,
    Word,
)

_BREAK = frozenset(" \t\n;&|()<>")
_SPECIAL_PARAMS = frozenset("?#$!@*0123456789-")
_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_NAME_CHARS = _NAME_START | frozenset("0123456789")
_UNSUPPORTED_WORDS = frozenset({"if", "then", "elif", "else", "fi", "for", "while", "until", "do", "done",
                                "case", "esac", "{", "}"})


def parse(source: str) -> Seq:
    """The whole script; raises ShellSyntaxError."""
    parser = _Parser(source, 0)
    seq = parser.seq(closing=None)
    return seq


class _Parser:
    def __init__(self, src: str, pos: int) -> None:
        self.src = src
        self.i = pos

    # ---- lexing helpers ----
    def _blanks(self) -> None:
        """Skip spaces, tabs, line continuations and comments (a `#` starting a word), not newlines."""
        src, n = self.src, len(self.src)
        while self.i < n:
            c = src[self.i]
            if c in " \t":
                self.i += 1
            elif c == "\\" and src.startswith("\n", self.i + 1):
                self.i += 2
            elif c == "#":
                end = src.find("\n", self.i)
                self.i = n if end < 0 else end
            else:
                return

    def _op(self) -> str | None:
        """The control operator at the cursor (not consumed), or None."""
        src, i = self.src, self.i
        two = src[i:i + 2]
        if two in ("&&", "||", ";;"):
            return two
        if i < len(src) and src[i] in ";&|()\n":
            return src[i]
        return None

    def _redirect_op(self) -> tuple[int, str, int] | None:
        """(fd, op, length) of a redirection at the cursor, or None."""
        src, j = self.src, self.i
        while j < len(src) and src[j].isdigit():
            j += 1
        if j >= len(src) or src[j] not in "<>":
            return None
        fd_text = src[self.i:j]
        rest = src[j:j + 2]
        if rest in ("<<", "<>", ">|"):
            raise ShellSyntaxError(f"{rest!r} is not simulated")
        op = rest if rest in (">>", ">&", "<&") else src[j]
        fd = int(fd_text) if fd_text else (0 if op[0] == "<" else 1)
        return fd, op, j - self.i + len(op)

    # ---- grammar ----
    def seq(self, closing: str | None) -> Seq:
        items: list[Item] = []
        while True:
            self._blanks()
            if self.i >= len(self.src):
                if closing is not None:
                    raise ShellSyntaxError(f"missing {closing!r}")
                break
            op = self._op()
            if op == "\n":
                self.i += 1
                continue
            if op == closing and closing is not None:
                self.i += 1
                break
            if op not in (None, "("):
                raise ShellSyntaxError(f"unexpected {op!r}")
            start = self.i
            body = self.and_or()
            text = self.src[start:self.i].strip()
            self._blanks()
            op = self._op()
            background = op == "&"
            if op in ("&", ";"):
                self.i += 1
            elif op not in ("\n", None) and op != closing:
                raise ShellSyntaxError(f"unexpected {op!r}")
            items.append(Item(body, background, text))
        if not items and closing is not None:
            raise ShellSyntaxError(f"empty {closing!r} group")
        return Seq(tuple(items))

    def and_or(self) -> AndOr:
        first = self.pipeline()
        rest: list[tuple[str, Pipeline]] = []
        while True:
            self._blanks()
            op = self._op()
            if op not in ("&&", "||"):
                return AndOr(first, tuple(rest))
            self.i += 2
            self._newlines()
            rest.append((op, self.pipeline()))

    def _newlines(self) -> None:
        while True:
            self._blanks()
            if self.src.startswith("\n", self.i):
                self.i += 1
            else:
                return

    def pipeline(self) -> Pipeline:
        self._blanks()
        negate = False
        if self.src.startswith("!", self.i) and self.src[self.i + 1:self.i + 2] in (" ", "\t"):
            negate = True
            self.i += 1
        commands = [self.command()]
        while True:
            self._blanks()
            if self._op() != "|":
                return Pipeline(tuple(commands), negate)
            self.i += 1
            self._newlines()
            commands.append(self.command())

    def command(self) -> Command:
        self._blanks()
        if self._op() == "(":
            self.i += 1
            body = self.seq(closing=")")
            return Subshell(body, tuple(self._redirects_only()))
        return self.simple()

    def _redirects_only(self) -> list[Redirect]:
        out: list[Redirect] = []
        while True:
            self._blanks()
            r = self._redirect_op()
            if r is None:
                return out
            out.append(self._redirect(*r))

    def _redirect(self, fd: int, op: str, length: int) -> Redirect:
        self.i += length
        self._blanks()
        target = self.word()
        if target is None:
            raise ShellSyntaxError(f"redirection {op!r} without a target")
        return Redirect(fd, op, target)

    def simple(self) -> Simple:
        assigns: list[tuple[str, Word]] = []
        words: list[Word] = []
        redirects: list[Redirect] = []
        while True:
            self._blanks()
            r = self._redirect_op()
            if r is not None:
                redirects.append(self._redirect(*r))
                continue
            w = self.word()
            if w is None:
                break
            if not words and (split := _assignment(w)) is not None:
                assigns.append(split)
                continue
            if not words and w.plain() in _UNSUPPORTED_WORDS:
                raise ShellSyntaxError(f"{w.plain()!r} is not simulated")
            words.append(w)
        if not (assigns or words or redirects):
            found = self._op()
            raise ShellSyntaxError(f"unexpected {found!r}" if found else "unexpected end of input")
        return Simple(tuple(assigns), tuple(words), tuple(redirects))

    # ---- words ----
    def word(self) -> Word | None:
        src, n = self.src, len(self.src)
        parts: list[Part] = []
        plain: list[str] = []

        def flush() -> None:
            if plain:
                parts.append(Lit("".join(plain), False))
                plain.clear()

        while self.i < n:
            c = src[self.i]
            if c in _BREAK:
                break
            if c == "\\":
                if src.startswith("\n", self.i + 1):
                    self.i += 2
                    continue
                flush()
                parts.append(Lit(src[self.i + 1:self.i + 2], True))
                self.i += 2
            elif c == "'":
                end = src.find("'", self.i + 1)
                if end < 0:
                    raise ShellSyntaxError("unterminated quoted string")
                flush()
                parts.append(Lit(src[self.i + 1:end], True))
                self.i = end + 1
            elif c == '"':
                flush()
                self.i += 1
                parts.extend(self._double_quoted())
            elif c == "$":
                flush()
                parts.append(self._dollar(quoted=False))
            elif c == "`":
                raise ShellSyntaxError("backquotes are not simulated: use $(...)")
            else:
                plain.append(c)
                self.i += 1
        flush()
        return Word(tuple(parts)) if parts else None

    def _double_quoted(self) -> list[Part]:
        src, n = self.src, len(self.src)
        parts: list[Part] = []
        text: list[str] = []
        while True:
            if self.i >= n:
                raise ShellSyntaxError("unterminated quoted string")
            c = src[self.i]
            if c == '"':
                self.i += 1
                break
            if c == "\\" and src[self.i + 1:self.i + 2] in ('"', "\\", "$", "`", "\n"):
                if src[self.i + 1] != "\n":
                    text.append(src[self.i + 1])
                self.i += 2
            elif c == "$":
                if text:
                    parts.append(Lit("".join(text), True))
                    text.clear()
                parts.append(self._dollar(quoted=True))
            elif c == "`":
                raise ShellSyntaxError("backquotes are not simulated: use $(...)")
            else:
                text.append(c)
                self.i += 1
        if text or not parts:
            parts.append(Lit("".join(text), True))  # "" is an empty word, not nothing
        return parts

    def _dollar(self, quoted: bool) -> Part:
        src, i = self.src, self.i
        nxt = src[i + 1:i + 2]
        if nxt == "(":
            if src.startswith("((", i + 1):
                raise ShellSyntaxError("arithmetic expansion is not simulated")
            inner = _Parser(src, i + 2)
            body = inner.seq(closing=")")
            self.i = inner.i
            return CommandSub(body, quoted)
        if nxt == "{":
            end = src.find("}", i + 2)
            name = src[i + 2:end] if end > 0 else ""
            if not name or not (_is_name(name) or name in _SPECIAL_PARAMS):
                raise ShellSyntaxError(f"bad substitution: ${{{name}...")
            self.i = end + 1
            return Param(name, quoted)
        if nxt and nxt in _SPECIAL_PARAMS:
            self.i += 2
            return Param(nxt, quoted)
        if nxt and nxt in _NAME_START:
            j = i + 1
            while j < len(src) and src[j] in _NAME_CHARS:
                j += 1
            self.i = j
            return Param(src[i + 1:j], quoted)
        self.i += 1
        return Lit("$", quoted)


def _is_name(text: str) -> bool:
    return bool(text) and text[0] in _NAME_START and all(c in _NAME_CHARS for c in text)


def _assignment(w: Word) -> tuple[str, Word] | None:
    """`NAME=value` -> (NAME, value word), when the name part is unquoted literal text."""
    first = w.parts[0]
    if not isinstance(first, Lit) or first.quoted or "=" not in first.text:
        return None
    name, _, value = first.text.partition("=")
    if not _is_name(name):
        return None
    rest = ((Lit(value, False),) if value else ()) + w.parts[1:]
    return name, Word(rest)
