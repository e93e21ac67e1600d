"""Run a ping matrix: every source probes every target from inside itself, in parallel.

One transport per source and one command per source where the guest allows: Linux runs fping over
all its targets (and, when the guest has no fping, background pings in one sh command); Windows
runs its own ping.exe for every target at once from one cmd.exe line (matrix/ping.py says how),
and one ping per target only where no cmd.exe answers (labkit's own Windows host, which runs
programs without a shell). Sources run in parallel with a bound. The verdict comes from the parsed
output, never from the exit status alone, and a probe that could not run is an `error` with its
reason, never `unreachable`. Expectations come from the playbook's cells or from the model. A cell
a playbook expects to be `no_address` is settled without a probe when its source or target has no
address (the source is not even asked: a VM without an address is often one labkit cannot reach).
A cell caught in an address conflict in the observed state (rule 10: its target's or source's
address, or one on its way, held by more than one node) carries the conflict and gets no
expectation from the model: it is reported as a conflict, not judged; a playbook's own expectation
for it still applies.

A million-cell matrix is built row by row: the targets' addresses are validated and printed once,
equal outputs are read once (`Readings`, matrix/readings.py), equal observations are one object, and the model's
verdicts come a row per class of equivalent sources (Predictor.rows).
"""

from __future__ import annotations

import gc
import secrets
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from itertools import repeat
from operator import attrgetter

from labkit.protocols import GuestTransport, Lab
from labkit.errors import LabkitError, TransportError
from labkit.matrix.ping import (
    OS_FAMILIES,
    WINDOWS_BATCH,
    FPING_REFUSED,
    CheckedAddresses,
    fping_command,
    parallel_ping_command,
    ping_command,
    split_parallel,
    windows_parallel_command,
)
from labkit.matrix.readings import Readings
from labkit.results import AddressConflict, Cell, Expectation, MatrixResult, Observation
from labkit.model import OsFamily, PingMatrix
from labkit.predict import EXPECTATION_OF, Predictor, Verdict
from labkit.state import LabState
from labkit.topology import Endpoint, Topology

# what a cell would show that was not probed: the source itself and settled cells, which never show it
_NOT_PROBED = Observation("error", reason="not probed")
_NOT_FOUND = (126, 127)  # sh: the command is missing or cannot run (fping is not installed)


def _os_family(lab: Lab, node: str) -> OsFamily:
    """The node's OS family, as the ping builders and parsers take it (the inventory holds no other)."""
    family = lab.inventory.os_of(node)
    for known in OS_FAMILIES:
        if family == known:
            return known
    raise ValueError(f"{node}: unknown OS family {family!r}; expected one of {', '.join(OS_FAMILIES)}")


def _limit(spec: PingMatrix) -> float:
    """How long one probe command may take before the transport gives up on it."""
    return spec.count * spec.timeout + 30


def _fping(transport: GuestTransport, addresses: CheckedAddresses, spec: PingMatrix,
           readings: Readings) -> dict[str, Observation] | None:
    """fping over every address in one command; None when the guest has no fping. An old fping that
    will not send faster than its default for this user is asked again at its default."""
    res = transport.run(fping_command(addresses, spec.count, spec.timeout), timeout=_limit(spec))
    if res.exit_status in _NOT_FOUND:
        return None
    if FPING_REFUSED in res.stderr and " : " not in res.stderr:  # no target's line: it did not run
        res = transport.run(fping_command(addresses, spec.count, spec.timeout, None), timeout=_limit(spec))
    via = transport.kind
    out = readings.fping(res.stderr + res.stdout, via)
    if len(out) < len(addresses):
        for a in addresses:
            if a not in out:
                out[a] = Observation("error", reason=f"fping printed nothing for {a}", via=via)
    return out


def _sh_parallel(transport: GuestTransport, os_family: OsFamily, addresses: CheckedAddresses, spec: PingMatrix,
                 readings: Readings) -> dict[str, Observation]:
    """Background pings in one sh command (a guest without fping)."""
    res = transport.run(parallel_ping_command(os_family, addresses, spec.count, spec.timeout), timeout=_limit(spec))
    via = transport.kind
    sections = split_parallel(res.stdout)
    out: dict[str, Observation] = {}
    for a in addresses:
        text = sections.get(a)
        out[a] = (readings.output(text, os_family, via) if text is not None else Observation(
            "error", reason=f"no ping output for {a} (exit {res.exit_status}: {res.stderr.strip()[:200]})", via=via))
    return out


def _windows_parallel(transport: GuestTransport, addresses: CheckedAddresses, spec: PingMatrix,
                      readings: Readings) -> dict[str, Observation] | None:
    """Every IPv4 address through ping.exe at once, WINDOWS_BATCH per cmd.exe line; the IPv6 ones
    one by one. None when no cmd.exe ran the first line (no shell there, or another shell)."""
    v4 = addresses.without({a for a in addresses if ":" in a})
    out: dict[str, Observation] = {}
    for k, batch in enumerate(v4.batches(WINDOWS_BATCH)):
        command = windows_parallel_command(batch, spec.count, spec.timeout, secrets.token_hex(4))
        try:
            res = transport.run(command, timeout=_limit(spec) + spec.count * max(1.0, spec.timeout))
        except TransportError:
            if k == 0:
                return None  # refused (a Windows host runs programs without a shell): one by one
            raise
        via = transport.kind
        seen = readings.windows(res.stdout, via)
        if not seen and k == 0:
            return None  # no ping.exe output at all: no cmd.exe ran it (PowerShell as OpenSSH's shell)
        found = list(map(seen.get, batch))
        if all(found):  # every address printed (the usual): in C (an Observation is always true)
            out.update(zip(batch, found, strict=True))  # type: ignore[arg-type]
            continue
        for a in batch:
            out[a] = seen.get(a) or Observation(
                "error", reason=f"ping.exe for {a} printed nothing or did not end in time "
                f"(exit {res.exit_status}: {(res.stderr or res.stdout).strip()[:200]})", via=via)
    for a in addresses:
        if a not in out:  # IPv6
            res = transport.run(ping_command("windows", a, spec.count, spec.timeout), timeout=_limit(spec))
            out[a] = readings.output(res.stdout + res.stderr, "windows", transport.kind)
    return out


def _one_by_one(transport: GuestTransport, os_family: OsFamily, addresses: CheckedAddresses, spec: PingMatrix,
                readings: Readings) -> dict[str, Observation]:
    out: dict[str, Observation] = {}
    for a in addresses:
        res = transport.run(ping_command(os_family, a, spec.count, spec.timeout), timeout=_limit(spec))
        out[a] = readings.output(res.stdout + res.stderr, os_family, transport.kind)
    return out


def _probe_addresses(lab: Lab, node: str, addresses: CheckedAddresses, spec: PingMatrix,
                     readings: Readings) -> dict[str, Observation]:
    """Probe every address from `node` (`via` is read after each probe ran: a fallback transport
    knows its channel only then). A probe that cannot run leaves every address an error."""
    try:
        transport = lab.transport(node)
        os_family = _os_family(lab, node)
        if os_family == "linux":
            found = _fping(transport, addresses, spec, readings)
            if found is not None:
                return found
        if os_family == "windows":
            done = _windows_parallel(transport, addresses, spec, readings)
            return done if done is not None else _one_by_one(transport, os_family, addresses, spec, readings)
        return _sh_parallel(transport, os_family, addresses, spec, readings)
    except LabkitError as exc:
        failed = Observation("error", reason=f"could not run ping on {node}: {exc}")
    except OSError as exc:
        failed = Observation("error", reason=f"could not connect to {node}: {exc}")
    return dict.fromkeys(addresses, failed)


def _no_address_observations(targets: list[Endpoint]) -> dict[str, Observation]:
    return {t.ref: Observation("error", reason=f"no address: {t.why_none}") for t in targets if t.address is None}


def probe_source(lab: Lab, node: str, targets: list[Endpoint], spec: PingMatrix,
                 readings: Readings | None = None) -> dict[str, Observation]:
    """Probe every target from `node`; one Observation per target ref."""
    out = _no_address_observations(targets)
    # each address once, in address order (as text: what the command builders take)
    addresses = CheckedAddresses(sorted({t.address for t in targets if t.address is not None}))
    if addresses:
        seen = _probe_addresses(lab, node, addresses, spec, readings or Readings())
        for t in targets:
            if t.address is not None:
                out[t.ref] = seen[str(t.address)]
    return out


class _Targets:
    """A matrix's targets, worked out once for every source: refs, address texts (validated),
    the sorted list of distinct addresses, and which refs stand for each address."""

    def __init__(self, targets: list[Endpoint]) -> None:
        self.ends = targets
        self.refs = [t.ref for t in targets]
        self.texts = [str(t.address) if t.address is not None else None for t in targets]
        self.by_address: dict[str, list[str]] = {}
        for ref, text in zip(self.refs, self.texts, strict=True):
            if text is not None:
                self.by_address.setdefault(text, []).append(ref)
        order = sorted({t.address for t in targets if t.address is not None})
        self.addresses = CheckedAddresses(order)
        self.unaddressed = _no_address_observations(targets)
        self.places: dict[str, list[int]] = {}  # ref -> its places in the targets (once, unless listed twice)
        for k, ref in enumerate(self.refs):
            self.places.setdefault(ref, []).append(k)

    def addresses_for(self, skip: set[str]) -> CheckedAddresses:
        """The addresses to probe when the refs in `skip` are not probed."""
        if not skip:
            return self.addresses
        places = self.places
        texts = {self.texts[k] for r in skip for k in places.get(r, ())} - {None}
        drop = {a for a in texts if a is not None and all(r in skip for r in self.by_address[a])}
        return self.addresses.without(drop)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a matrix's cells are made: a million new objects (no
    cycles among them) would otherwise have the collector walk them all again and again (about
    half the time of a million-cell matrix). Reference counting frees as usual; the collector
    is back, as it was, afterwards. What was made meanwhile joins the oldest generation
    (gc.freeze, then gc.unfreeze, which moves without looking) rather than the youngest, whose
    next collection, at the next allocation, would walk all of it at once: it is looked at in
    the next full collection, as any long-lived object is."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            if not gc.get_freeze_count():  # never thaw what the program itself froze
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def run_matrix(lab: Lab, step: str, spec: PingMatrix, state: LabState, workers: int = 8,
               on_source_done: Callable[[str], None] | None = None) -> MatrixResult:
    with _collector_paused():
        return _run_matrix(lab, step, spec, state, workers, on_source_done)


def _run_matrix(lab: Lab, step: str, spec: PingMatrix, state: LabState, workers: int,
                on_source_done: Callable[[str], None] | None) -> MatrixResult:
    topo = Topology(state)
    predictor = Predictor(topo)
    tg = _Targets([topo.resolve(ref) for ref in spec.targets])
    ends = {ref: topo.resolve(ref) for ref in spec.sources}
    sources = {ref: end.node for ref, end in ends.items()}
    explicit: dict[tuple[str, str], Expectation] = {}
    use_model = spec.expect == "model"
    if not isinstance(spec.expect, str):
        explicit = {(c.source, c.target): c.result for c in spec.expect.cells}
        use_model = spec.expect.model
    # cells expected to have no address, where one side indeed has none: settled without a probe
    by_ref = {t.ref: t for t in tg.ends}
    settled: dict[tuple[str, str], Observation] = {}
    for (src, tgt), want in explicit.items():
        obs = _no_address(ends[src], by_ref[tgt]) if want == "no_address" and src in ends and tgt in by_ref else None
        if obs is not None:
            settled[(src, tgt)] = obs
    readings = Readings()

    def work(ref: str) -> tuple[str, dict[str, Observation]]:
        skip = {tgt for src, tgt in settled if src == ref} | {ref}
        addresses = tg.addresses_for(skip)
        result = _probe_addresses(lab, sources[ref], addresses, spec, readings) if addresses else {}
        if on_source_done:
            on_source_done(ref)
        return ref, result

    workers = min(workers, lab.concurrency or workers, len(sources))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        observed = dict(pool.map(work, list(sources)))

    cells: list[Cell] = []
    verdicts = predictor.rows([sources[s] for s in spec.sources], tg.ends) if use_model else None
    unaddressed = [(k, tg.unaddressed[r]) for k, (r, a) in enumerate(zip(tg.refs, tg.texts, strict=True)) if a is None]
    reachable, reason = attrgetter("reachable"), attrgetter("reason")
    one_by_one = bool(explicit or settled or topo.contested)
    for src in spec.sources:
        row = next(verdicts)[1] if verdicts is not None else None
        seen = observed[src]
        got: Iterable[Observation]
        if unaddressed or one_by_one:
            got = [seen.get(a, _NOT_PROBED) for a in tg.texts]  # type: ignore[arg-type]
            for k, obs in unaddressed:
                got[k] = obs
        else:  # every target has an address: read lazily, as the row's cells are made
            got = map(seen.get, tg.texts, repeat(_NOT_PROBED))  # type: ignore[arg-type]
        if one_by_one:
            cells += _cells_one_by_one(src, ends[src], tg, row, list(got), explicit, settled, predictor)
        elif row is None:
            cells += _row_cells(src, tg, repeat(None), repeat(None), got)
        else:
            cells += _row_cells(src, tg, map(EXPECTATION_OF.__getitem__, map(reachable, row)), map(reason, row), got)
    return MatrixResult(step, list(spec.sources), list(spec.targets), cells)


def _row_cells(src: str, tg: _Targets, expected: Iterable[Expectation | None], why: Iterable[str | None],
               obs: Iterable[Observation]) -> list[Cell]:
    """A row's cells when nothing in it needs a cell-by-cell look (no explicit cell, no conflict).
    `expected`, `why` and `obs` are per target, in the targets' order, each read once as the cells
    are made (no list of a million expectations or reasons is built on the way); the cell of the
    source against itself is made and dropped (cheaper than cutting five lists around it)."""
    cells = list(map(Cell, repeat(src), tg.refs, tg.texts, expected, obs, why))
    for k in reversed(tg.places.get(src, ())):  # a source is no target of itself
        del cells[k]
    return cells


def _cells_one_by_one(src: str, src_end: Endpoint, tg: _Targets, row: list[Verdict] | None, obs: list[Observation],
                      explicit: dict[tuple[str, str], Expectation], settled: dict[tuple[str, str], Observation],
                      predictor: Predictor) -> list[Cell]:
    out: list[Cell] = []
    for j, t in enumerate(tg.ends):
        if t.ref == src:
            continue
        expected: Expectation | None = explicit.get((src, t.ref))
        why: str | None = None
        verdict = row[j] if row is not None else None
        conflict: AddressConflict | None = predictor.conflict(src_end, t, verdict)
        if verdict is not None:
            why = verdict.reason if conflict is None or verdict.conflict else f"address conflict: {conflict}"
            if expected is None and conflict is None:
                expected = verdict.expectation
        seen = settled.get((src, t.ref)) or obs[j]
        out.append(Cell(src, t.ref, tg.texts[j], expected, seen, why, conflict))
    return out


def _no_address(source: Endpoint, target: Endpoint) -> Observation | None:
    """A `no_address` observation when the source or the target has no address now, else None."""
    for end, side in ((source, "source"), (target, "target")):
        if end.address is None:
            return Observation("no_address", reason=f"{side} has no address: {end.why_none or end.ref}")
    return None


def predicted_matrix(topo: Topology, step: str, sources: list[str], targets: list[str]) -> MatrixResult:
    """The model's matrix with nothing probed: each cell's `observed` is the model's verdict (via "model").

    A conflict (the model will not guess) shows as `error` with its reason, and the cell carries it.
    """
    with _collector_paused():
        return _predicted_matrix(topo, step, sources, targets)


def _predicted_matrix(topo: Topology, step: str, sources: list[str], targets: list[str]) -> MatrixResult:
    predictor = Predictor(topo)
    tg = _Targets([topo.resolve(ref) for ref in targets])
    seen: dict[int, tuple[Verdict, Observation]] = {}  # one Observation per distinct verdict object

    def observation(v: Verdict) -> Observation:
        hit = seen.get(id(v))
        if hit is None:
            hit = seen[id(v)] = (v, Observation(v.expectation or "error", reason=v.reason, via="model"))
        return hit[1]

    cells: list[Cell] = []
    src_ends = [topo.resolve(ref) for ref in sources]
    contested = bool(topo.contested)
    for src, src_end, (_, row) in zip(sources, src_ends, predictor.rows([e.node for e in src_ends], tg.ends),
                                      strict=True):
        obs = [observation(v) for v in row]
        if not contested:
            cells += _row_cells(src, tg, repeat(None), map(attrgetter("reason"), row), obs)
            continue
        for j, (t, v) in enumerate(zip(tg.ends, row, strict=True)):
            if t.ref != src:
                cells.append(Cell(src, t.ref, tg.texts[j], None, obs[j], v.reason, predictor.conflict(src_end, t, v)))
    return MatrixResult(step, list(sources), list(targets), cells)
