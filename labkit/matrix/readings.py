"""What a matrix's probe outputs say: each distinct output read once by the real parsers.

A thousand sources print the same line for a target a thousand times (the same loss, the same
round trip), and equivalent Windows sources print the same block for a batch of targets. Reading
each distinct text once, and making each distinct observation one object, is what lets a
million-cell matrix be read in about a second; the parsers themselves are matrix/ping.py's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labkit.matrix.ping import (
    PingParseError,
    PingStats,
    no_route_line,
    parse_fping,
    parse_ping,
    ping_target,
    split_windows_outputs,
)
from labkit.model import OsFamily
from labkit.results import Observation


def _stats_observation(stats: PingStats, via: str | None) -> Observation:
    if stats.reachable:
        return Observation("reachable", stats.loss_pct, stats.rtt_avg_ms, None, via)
    return Observation("unreachable", stats.loss_pct, None, f"{stats.transmitted} sent, no reply", via)


def _judge(output: str, os_family: OsFamily, via: str | None) -> Observation:
    try:
        return _stats_observation(parse_ping(output, os_family), via)
    except PingParseError as exc:
        line = no_route_line(output)  # "the kernel has no way there", in any language labkit reads
        if line is not None:
            return Observation("unreachable", 100.0, None, line, via)
        return Observation("error", None, None, f"could not read ping output: {exc}", via)


class Readings:
    """What a matrix's outputs said, each distinct output read once, each observation one object.

    A thousand sources print the same line for a target a thousand times (the same loss, the same
    round trip): each distinct line (fping) or output (ping) goes through the real parser once,
    and becomes one Observation per channel. Shared by the sources' threads: a race only builds
    an equal object twice. Memos start again past a bound, so memory stays bounded.
    """

    LIMIT = 200_000
    BLOCK_CHARS = 32_000_000  # at most this much text of whole Windows blocks kept (windows)

    def __init__(self) -> None:
        self._lines: dict[str | None, dict[str, tuple[str, Observation] | tuple[()]]] = {}  # via -> line -> reading
        self._outputs: dict[tuple[OsFamily, str], Observation] = {}  # (os, output) -> reading, via None
        self._windows: dict[str, tuple[str | None, Observation]] = {}  # ping.exe output -> (its address, reading)
        self._via: dict[str | None, dict[int, tuple[Observation, Observation]]] = {}  # via -> id(reading) -> with via
        self._blocks: dict[tuple[str, str | None], dict[str, Observation]] = {}  # (ping.exe outputs, via) -> reading
        self._block_chars = 0  # the blocks' size in characters

    def _table(self, tables: dict[Any, Any], key: object) -> dict[Any, Any]:
        table = tables.get(key)
        if table is None or len(table) > self.LIMIT:
            table = tables[key] = {}
        return table

    def _carried(self, reading: Observation, via: str | None) -> Observation:
        """The reading as seen through one channel (`via`), one object per pair."""
        if via is None:
            return reading
        table = self._table(self._via, via)
        hit = table.get(id(reading))
        if hit is None:
            hit = table[id(reading)] = (reading, Observation(reading.verdict, reading.loss_pct, reading.rtt_avg_ms,
                                                             reading.reason, via))
        return hit[1]

    def fping(self, text: str, via: str | None) -> dict[str, Observation]:
        """fping -C output, scanned once, per address (addresses fping printed no line for are absent)."""
        table = self._table(self._lines, via)
        get = table.get
        lines = text.split("\n")
        hits = list(map(get, lines))
        if None not in hits:  # every line read before (the usual, past the first source): no Python loop
            return dict(filter(None, hits))
        out: dict[str, Observation] = {}
        for line in lines:
            hit = get(line)
            if hit is None:
                parsed = parse_fping(line)
                hit = table[line] = next(((a, _stats_observation(st, via)) for a, st in parsed.items()), ())
            if hit:
                out[hit[0]] = hit[1]
        return out

    def output(self, text: str, os_family: OsFamily, via: str | None) -> Observation:
        """One ping's output, as `_judge` reads it."""
        if len(self._outputs) > self.LIMIT:
            self._outputs = {}
        reading = self._outputs.get((os_family, text))
        if reading is None:
            reading = self._outputs[(os_family, text)] = _judge(text, os_family, None)
        return self._carried(reading, via)

    def windows(self, text: str, via: str | None) -> Mapping[str, Observation]:
        """Several ping.exe outputs one after another (windows_parallel_command), per address.

        Equivalent sources print the same block for a batch of targets (the same outputs in the
        same order): a block seen before is not cut and looked up again, its reading is kept
        (`BLOCK_CHARS` of blocks at most, then they start again). The answer is shared: read it,
        never change it."""
        key = (text, via)
        hit = self._blocks.get(key)
        if hit is not None:
            return hit
        read = self._pieces(text, via)
        if self._block_chars + len(text) > self.BLOCK_CHARS:
            self._blocks, self._block_chars = {}, 0
        self._blocks[key] = read
        self._block_chars += len(text)
        return read

    def _pieces(self, text: str, via: str | None) -> dict[str, Observation]:
        if len(self._windows) > self.LIMIT:
            self._windows = {}
        table = self._windows
        carried = self._table(self._via, via) if via is not None else None
        out: dict[str, Observation] = {}
        for piece in split_windows_outputs(text):
            hit = table.get(piece)
            if hit is None:
                hit = table[piece] = (ping_target(piece), _judge(piece, "windows", None))
            address, reading = hit
            if address is None:
                continue
            if carried is not None:
                seen = carried.get(id(reading))
                out[address] = seen[1] if seen is not None else self._carried(reading, via)
            else:
                out[address] = reading
        return out
