"""The syntax tree of the simulated guests' sh: what shparse.py builds and shell.py runs.

Plain frozen data. A word keeps its quoting per part, because quoting decides what the shell
does with it later: quoted text is never split into fields nor matched against file names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


class ShellSyntaxError(ValueError):
    """The text is not sh, or uses sh the simulated guest does not run."""


@dataclass(frozen=True, slots=True)
class Lit:
    text: str
    quoted: bool


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    quoted: bool


@dataclass(frozen=True, slots=True)
class CommandSub:
    body: Seq
    quoted: bool


Part = Union[Lit, Param, CommandSub]


@dataclass(frozen=True, slots=True)
class Word:
    parts: tuple[Part, ...]

    def plain(self) -> str | None:
        """The word's text when it is unquoted literal text only (a keyword, a name), else None."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Lit) and not self.parts[0].quoted:
            return self.parts[0].text
        return None


@dataclass(frozen=True, slots=True)
class Redirect:
    fd: int
    op: str  # ">", ">>", "<", ">&", "<&"
    target: Word


@dataclass(frozen=True, slots=True)
class Simple:
    assigns: tuple[tuple[str, Word], ...]
    words: tuple[Word, ...]
    redirects: tuple[Redirect, ...]


@dataclass(frozen=True, slots=True)
class Subshell:
    body: Seq
    redirects: tuple[Redirect, ...]


Command = Union[Simple, Subshell]


@dataclass(frozen=True, slots=True)
class Pipeline:
    commands: tuple[Command, ...]
    negate: bool = False


@dataclass(frozen=True, slots=True)
class AndOr:
    first: Pipeline
    rest: tuple[tuple[str, Pipeline], ...]  # ("&&" | "||", pipeline), left to right


@dataclass(frozen=True, slots=True)
class Item:
    body: AndOr
    background: bool
    text: str  # its source, the command line `ps` (and pkill -f) would show for it


@dataclass(frozen=True, slots=True)
class Seq:
    items: tuple[Item, ...]
