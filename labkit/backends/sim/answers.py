"""What the simulated network answers to pings, and what the ping tools print: computed in bulk.

A thousand-VM matrix asks a million times whether an echo comes back. The answer is the model's
(predict.py) over the world's settled topology, so it is the same for every pair of equivalent
machines: `Answers` asks the Predictor once per class of target for each source, and keeps, per
topology, each address's endpoint and class and the text each tool prints for each target and
outcome. Every target's text is still printed and every output still parsed by the real parsers;
only equal work is not redone.

Round-trip times are made up per target (they differ from target to target and repeat exactly
from run to run); a NAT-translated path is slower. Loopback (127.0.0.0/8) always answers.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from ipaddress import ip_network
from typing import TYPE_CHECKING, Any

from labkit.backends.sim.ping import fping_line, render_ping
from labkit.model import OsFamily
from labkit.predict import Predictor, Verdict
from labkit.protocols import CommandResult
from labkit.topology import Endpoint

if TYPE_CHECKING:
    from labkit.backends.sim.world import SimWorld

_LOOPBACK = ip_network("127.0.0.0/8")
_LOOP = "loopback"
# what an echo request gets back: (reachable, translated by a NAT on the way)
Answer = tuple[bool, bool]
_REPLY = (True, False)
# per target: None (not an address), _LOOP, or (its class for the Predictor, its endpoint)
_Target = tuple[int, Endpoint] | str | None
Printed = tuple[CommandResult, list[float | None]]  # (what the ping leaves, its round trips)
# per target, for a tool's loop: (its class, -1 for loopback; the node answering, "" for loopback;
# what the tool prints for it per slot: lost, a direct reply, a reply through a NAT)
_Record = tuple[int, str, list[Any]]
_UNSEEN: Any = object()


def _places(items: Sequence[str], item: str) -> list[int]:
    """Where `item` is in `items` (by list.index, in C: a source's own address seldom is)."""
    out: list[int] = []
    k = -1
    try:
        while True:
            k = items.index(item, k + 1)
            out.append(k)
    except ValueError:
        return out


def rtts(target: str, count: int, reachable: bool, natted: bool) -> list[float | None]:
    """Round-trip times per probe: None for each lost one."""
    if not reachable:
        return [None] * count
    seed = zlib.crc32(target.encode()) & 0xFFFFFF
    base = (1.1 if natted else 0.35) + (seed % 300) / 1000
    return [round(base + ((seed >> i) % 7) / 100, 3) for i in range(count)]


def _answer(verdict: Verdict) -> Answer:
    """Whether the echo came back, and through a NAT. The world's topology has its conflicts
    settled, so the model always has a verdict here; None would be a guess, and the sim does not guess."""
    if verdict.reachable is None:
        raise RuntimeError(f"the simulated lab left an address conflict unsettled: {verdict.reason}")
    return verdict.reachable, "translated" in verdict.reason


def _slot(answer: Answer) -> int:
    return 2 if answer[1] else int(answer[0])  # 0 lost, 1 a direct reply, 2 a reply through a NAT


class Answers:
    """One world's answers and printed lines, kept until its topology changes."""

    def __init__(self, world: SimWorld) -> None:
        self.world = world
        self._predictor: Predictor | None = None
        self._targets: dict[str, _Target] = {}
        self._fping: dict[tuple[int, int], dict[str, _Record | None]] = {}  # (count, width) -> target -> its lines
        self._ping: dict[tuple[OsFamily, int], dict[str, _Record | None]] = {}  # (os, count) -> target -> outputs
        # (a table's key, a class of sources) -> target -> (what it prints for them, its slot): every
        # member of the class gets the same, except for its own addresses (`_owned`)
        self._by_source: dict[tuple[Any, int], tuple[dict[str, Any], dict[str, int]]] = {}
        self._owned: dict[str, dict[str, None]] = {}  # node -> the targets it answers as (their owner), once each

    def _fresh(self) -> Predictor:
        predictor = self.world.predictor()
        if predictor is not self._predictor:  # a new topology: a new predictor, and nothing kept is valid
            self._predictor = predictor
            self._targets = {}
            self._fping.clear()
            self._ping.clear()
            self._by_source.clear()
            self._owned.clear()
        return predictor

    def _target(self, predictor: Predictor, target: str) -> _Target:
        found = self._targets.get(target, "")
        if found == "":
            addr = self.world.address(target)
            if addr is None:
                found = None
            elif addr in _LOOPBACK:
                found = _LOOP
            else:
                holders = predictor.topo.by_ip.get(addr)
                end = Endpoint(target, holders[0].name if holders else target, addr)
                found = (predictor.target_class(end), end)
            self._targets[target] = found
        return found

    def _record(self, predictor: Predictor, target: str) -> _Record | None:
        """What a tool's loop needs of one target, in one look-up: its class (-1: loopback, which
        always answers), the node answering there ("" for loopback) and its printed texts per slot
        (kept by the caller's table); None when `target` is not an address."""
        found = self._target(predictor, target)
        if found is None:
            return None
        if isinstance(found, tuple):
            self._owned.setdefault(found[1].node, {})[target] = None  # one record per table: the same target again
            return found[0], found[1].node, [None, None, None]
        return -1, "", [None, None, None]

    def _slots(self, predictor: Predictor, node: str, targets: Sequence[str], table: dict[str, _Record | None],
               new: Callable[[str, int], object], key: object) -> tuple[list[Any], bool, bool]:
        """Each target's printed text (None: not an address), made by `new(target, slot)` the first
        time (slot 0 lost, 1 a direct reply, 2 a reply through a NAT), and whether any probe was
        lost and whether any reply came through a NAT. A thousand-target probe is what a big
        matrix costs the simulation: a source whose class has seen every one of these targets
        before reads them from that class's memo in whole lists (only its own addresses are asked
        again); any other walks them (`_walk`), filling the memo."""
        skey = predictor.source_class(node)
        memo = self._by_source.get((key, skey))
        if memo is not None:
            texts, slot_of = memo
            out = list(map(texts.get, targets))
            if None not in out:
                own = [(i, t) for t in self._owned.get(node, ()) for i in _places(targets, t)]
                if not own:  # the usual: the engine does not ask a source to ping itself
                    slots = set(map(slot_of.__getitem__, targets))
                    return out, 0 in slots, 2 in slots
                each = list(map(slot_of.__getitem__, targets))
                for i, t in own:  # the source's own addresses: each asked apart
                    each[i] = k = self._ask(predictor, node, t)
                    out[i] = self._printed(table, t, k, new)
                return out, 0 in each, 2 in each
        else:
            memo = self._by_source[(key, skey)] = ({}, {})
        return self._walk(predictor, node, targets, table, new, memo)

    def _walk(self, predictor: Predictor, node: str, targets: Sequence[str], table: dict[str, _Record | None],
              new: Callable[[str, int], object], memo: tuple[dict[str, Any], dict[str, int]]
              ) -> tuple[list[Any], bool, bool]:
        """`_slots` target by target. The model is asked once per class of target (and for the
        source's own addresses, which are no class's); what the others print goes into `memo`."""
        by_class: dict[int, int] = {-1: 1}  # class -> slot; loopback always answers
        lost = natted = False
        out: list[Any] = []
        append = out.append
        get = table.get
        texts, slot_of = memo
        for t in targets:
            rec = get(t, _UNSEEN)
            if rec is _UNSEEN:
                rec = table[t] = self._record(predictor, t)
            if rec is None:
                append(None)
                continue
            cls, owner, printed = rec
            mine = owner == node
            k = by_class.get(cls) if not mine else None
            if k is None:
                k = self._ask(predictor, node, t)
                if not mine:
                    by_class[cls] = k
                lost, natted = lost or k == 0, natted or k == 2
            done = printed[k]
            if done is None:
                done = printed[k] = new(t, k)
            if not mine:
                texts[t] = done
                slot_of[t] = k
            append(done)
        return out, lost, natted

    def _ask(self, predictor: Predictor, node: str, target: str) -> int:
        found = self._targets[target]
        assert isinstance(found, tuple)  # a record with a class is a target with an endpoint
        return _slot(_answer(predictor.classify(node, found[1])))

    @staticmethod
    def _printed(table: dict[str, _Record | None], target: str, k: int, new: Callable[[str, int], object]) -> Any:
        rec = table[target]
        assert rec is not None  # an owned target is an address
        done = rec[2][k]
        if done is None:
            done = rec[2][k] = new(target, k)
        return done

    def fping(self, node: str, targets: Sequence[str], count: int) -> tuple[list[str], bool, bool]:
        """fping -C COUNT's line for each target that is an address (names padded to one width), and
        whether any probe was lost and whether any reply came through a NAT. One pass: it is what a
        thousand-target fping costs the simulation."""
        predictor = self._fresh()
        width = max(map(len, targets), default=0)
        table = self._fping.setdefault((count, width), {})
        lines, lost, natted = self._slots(predictor, node, targets, table, lambda t, k: fping_line(
            t, rtts(t, count, k > 0, k == 2), width), ("fping", count, width))
        return (lines if None not in lines else [line for line in lines if line is not None]), lost, natted

    def ping(self, node: str, os_family: OsFamily, target: str, count: int) -> Printed | None:
        """What one ping of `target` prints (None: `target` is not an address)."""
        return self.pings(node, os_family, [target], count)[0]

    def pings(self, node: str, os_family: OsFamily, targets: Sequence[str], count: int) -> list[Printed | None]:
        """What a ping of each target prints (None: not an address): one pass for many targets."""
        predictor = self._fresh()
        table = self._ping.setdefault((os_family, count), {})

        def new(t: str, k: int) -> Printed:
            trips = rtts(t, count, k > 0, k == 2)
            return CommandResult(*render_ping(os_family, t, trips)), trips
        return self._slots(predictor, node, targets, table, new, ("ping", os_family, count))[0]

    def loopback(self, target: str) -> bool:
        """Whether `target` is in 127.0.0.0/8 (asked after `ping` or `fping`)."""
        return self._targets.get(target) is _LOOP
