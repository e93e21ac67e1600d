"""Programs a simulated cmd.exe line started together, each writing into a file of its own.

`for %a in (...) do @start "" /b ping ... %a >%a.txt 2>&1` starts hundreds of programs in one
moment, each holding one file open until it ends. Kept as one record rather than hundreds: the
files are made, held, filled and let go in bulk, in the order the programs end (by end, then by
start). Only programs whose every output goes into their own file are kept this way, so when
one of them delivers relative to the line's other background programs changes nothing anybody
can see; the others stay single records (cmd.py `_Background`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass

from labkit.backends.sim.sinks import FileSink, Sink
from labkit.protocols import CommandResult


@dataclass(slots=True)
class StartedTogether:
    """Programs started at one moment, sorted by when each ends (ties: by when it started)."""

    ends: list[float]
    seqs: list[int]  # the order each started in (the line's count of started programs)
    results: list[CommandResult]
    paths: list[str]  # the file each writes into
    keys: list[str]  # the same, lower case (what `holding` counts)
    texts: list[str]  # what each leaves in its file
    append: bool  # `>>`: after what the file held; `>`: the file was emptied when it started
    both: bool  # `2>&1`: errors into the same file (else the program printed none)
    err: Sink  # where errors go otherwise (never written: kept for a program that outlives the line)
    next: int = 0  # the first that has not ended yet

    @classmethod
    def start(cls, now: float, first_seq: int, runs: list[tuple[CommandResult, float]], paths: list[str],
              keys: list[str], append: bool, both: bool, err: Sink) -> StartedTogether:
        ends = [now + took for _, took in runs]
        order = sorted(range(len(runs)), key=ends.__getitem__)  # stable: equal ends stay in start order
        results = [runs[i][0] for i in order]
        texts = [r.stdout + r.stderr for r in results] if both else [r.stdout for r in results]
        return cls([ends[i] for i in order], [first_seq + 1 + i for i in order], results, [paths[i] for i in order],
                   [keys[i] for i in order], texts, append, both, err)

    @property
    def done(self) -> bool:
        return self.next == len(self.ends)

    def deliver(self, until: float, files: dict[str, str], holding: dict[str, int]) -> None:
        """Those ending by `until` leave their output and let their files go."""
        first = self.next
        cut = bisect_right(self.ends, until, first)
        if cut == first:
            return
        if self.append:
            for path, text in zip(self.paths[first:cut], self.texts[first:cut], strict=True):
                files[path] = files.get(path, "") + text
        else:  # emptied when they started, and nobody else may write a held file: the output is all of it
            files.update(zip(self.paths[first:cut], self.texts[first:cut], strict=True))
        for key in self.keys[first:cut]:
            left = holding[key] - 1
            if left:
                holding[key] = left
            else:
                del holding[key]
        self.next = cut

    def left(self, files: dict[str, str]) -> Iterator[tuple[float, int, CommandResult, Sink, Sink, tuple[str, ...]]]:
        """Those still running, one record each, as cmd.py keeps a single background program."""
        for k in range(self.next, len(self.ends)):
            sink = FileSink(files, self.paths[k], True)  # already made (and emptied) when it started
            yield self.ends[k], self.seqs[k], self.results[k], sink, sink if self.both else self.err, (self.keys[k],)
