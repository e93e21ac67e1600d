"""Programs a simulated cmd.exe line started together, each writing into a file of its own.

`for %a in (...) do @start "" /b ping ... %a >%a.txt 2>&1` starts hundreds of programs in one
moment, each holding one file open until it ends. Kept as one record rather than hundreds: the
files are made, held, filled and let go in bulk. Only programs whose every output goes into a
file of their own are kept this way, and no one else may write a file a program holds, so the
order in which those that have ended deliver changes nothing anybody can see; the line's other
background programs stay single records (cmd.py `_Background`), and any still running when the
line ends are handed on one by one, in the order they end (then start).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from labkit.backends.sim.sinks import FileSink, Sink
from labkit.protocols import CommandResult


@dataclass(slots=True)
class StartedTogether:
    """Programs started at one moment, in the order they started."""

    ends: list[float]  # when each ends
    first_seq: int  # the line's count of started programs before them
    results: list[CommandResult]
    paths: list[str]  # the file each writes into
    keys: list[str]  # the same, lower case (what `holding` counts)
    append: bool  # `>>`: after what the file held; `>`: the file was emptied when it started
    both: bool  # `2>&1`: errors into the same file (else the program printed none)
    err: Sink  # where errors go otherwise (never written: kept for a program that outlives the line)
    last_end: float
    pending: list[int] | None = None  # those still running (None: all of them)

    @classmethod
    def start(cls, now: float, first_seq: int, runs: list[tuple[CommandResult, float]], paths: list[str],
              keys: list[str], append: bool, both: bool, err: Sink) -> StartedTogether:
        ends = [now + took for _, took in runs]
        return cls(ends, first_seq, [r for r, _ in runs], paths, keys, append, both, err, max(ends, default=now))

    @property
    def done(self) -> bool:
        return self.pending == []

    def deliver(self, until: float, files: dict[str, str], holding: dict[str, int]) -> None:
        """Those ending by `until` leave their output and let their files go."""
        if self.pending is None and self.last_end <= until:  # the usual: all of them at once
            due: list[int] | range = range(len(self.ends))
            self.pending = []
        else:
            waiting = range(len(self.ends)) if self.pending is None else self.pending
            ends = self.ends
            due = [i for i in waiting if ends[i] <= until]
            if not due:
                return
            self.pending = [i for i in waiting if ends[i] > until]
        results, paths = self.results, self.paths
        texts = ([results[i].stdout + results[i].stderr for i in due] if self.both
                 else [results[i].stdout for i in due])
        if self.append:
            for i, text in zip(due, texts, strict=True):
                files[paths[i]] = files.get(paths[i], "") + text
        else:  # emptied when they started, and nobody else may write a held file: the output is all of it
            files.update(zip([paths[i] for i in due], texts, strict=True))
        keys = self.keys
        for i in due:
            key = keys[i]
            left = holding[key] - 1
            if left:
                holding[key] = left
            else:
                del holding[key]

    def left(self, files: dict[str, str]) -> Iterator[tuple[float, int, CommandResult, Sink, Sink, tuple[str, ...]]]:
        """Those still running, one record each, as cmd.py keeps a single background program."""
        for k in range(len(self.ends)) if self.pending is None else self.pending:
            sink = FileSink(files, self.paths[k], True)  # already made (and emptied) when it started
            yield (self.ends[k], self.first_seq + 1 + k, self.results[k], sink, sink if self.both else self.err,
                   (self.keys[k],))
