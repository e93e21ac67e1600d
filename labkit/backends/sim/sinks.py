"""Where a simulated command's output goes: captured for the caller, discarded, or into a guest file.

A file sink writes through at once (as an open file descriptor does), so `echo x > f; cat f`
and a detached job's log read back what was written so far.
"""

from __future__ import annotations

from dataclasses import dataclass


class Sink:
    def write(self, text: str) -> None:
        raise NotImplementedError


class Capture(Sink):
    """Output kept for the caller (a command's stdout/stderr, a `$(...)`)."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def text(self) -> str:
        return "".join(self.parts)


class Discard(Sink):
    """/dev/null."""

    def write(self, text: str) -> None:
        pass


class FileSink(Sink):
    """A guest file opened for writing: `>` empties it now, `>>` appends."""

    def __init__(self, files: dict[str, str], path: str, append: bool) -> None:
        self.files, self.path = files, path
        if not append or path not in files:
            files[path] = ""

    def write(self, text: str) -> None:
        self.files[self.path] = self.files.get(self.path, "") + text


@dataclass(slots=True)
class IO:
    """A command's standard streams: output sinks and the text on its standard input."""

    out: Sink
    err: Sink
    stdin: str = ""
