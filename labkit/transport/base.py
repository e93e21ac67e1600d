"""The guest transport protocol: the one boundary between labkit and a guest's operating system.

Every backend provides it (SSH for real guests, a console channel that needs no guest networking,
and the simulated guest). Everything above it, dialect editing, network restarts and ping matrices,
is the same code whichever transport carries it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What a command left behind: its exit status and both output streams, all kept."""

    exit_status: int
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


@runtime_checkable
class GuestTransport(Protocol):
    """Read a file, write a file atomically, run a command. `kind` names the channel for reports."""

    kind: str

    def read_file(self, path: str) -> str:
        """Return the file's text; raise FileNotFoundError when it does not exist."""
        ...

    def write_file(self, path: str, data: str, mode: int = 0o644) -> None:
        """Replace the file in one step (temp file + rename): readers see the old or the new text, never half."""
        ...

    def run(self, command: str, timeout: float | None = None) -> CommandResult:
        """Run a shell command line; a non-zero exit is a result, not an exception."""
        ...

    def close(self) -> None:
        ...
