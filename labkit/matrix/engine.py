"""Run a ping matrix: every source probes every target from inside itself, in parallel.

One transport per source, all of a source's targets in one fping run when the guest has fping
(else one ping per target), sources in parallel with a bound. The verdict comes from the parsed
output, never from the exit status alone, and a probe that could not run is an `error` with its
reason, never `unreachable`. Expectations come from the playbook's cells or from the model. A cell
a playbook expects to be `no_address` is settled without a probe when its source or target has no
address (the source is not even asked: a VM without an address is often one labkit cannot reach).
A cell caught in an address conflict in the observed state (rule 10: its target's or source's
address, or one on its way, held by more than one node) carries the conflict and gets no
expectation from the model: it is reported as a conflict, not judged; a playbook's own expectation
for it still applies.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from labkit.protocols import Lab
from labkit.errors import LabkitError
from labkit.matrix.ping import (
    OS_FAMILIES,
    PingParseError,
    PingStats,
    fping_command,
    no_route_line,
    parallel_ping_command,
    parse_fping,
    parse_ping,
    ping_command,
    split_parallel,
)
from labkit.results import Cell, Expectation, MatrixResult, Observation
from labkit.model import OsFamily, PingMatrix
from labkit.predict import Predictor
from labkit.state import LabState
from labkit.topology import Endpoint, Topology



def _stats_observation(stats: PingStats, via: str) -> Observation:
    if stats.reachable:
        return Observation("reachable", stats.loss_pct, stats.rtt_avg_ms, None, via)
    return Observation("unreachable", stats.loss_pct, None, f"{stats.transmitted} sent, no reply", via)


def _judge(output: str, os_family: OsFamily, via: str) -> Observation:
    try:
        return _stats_observation(parse_ping(output, os_family), via)
    except PingParseError as exc:
        line = no_route_line(output)  # "the kernel has no way there", in any language labkit reads
        if line is not None:
            return Observation("unreachable", 100.0, None, line, via)
        return Observation("error", None, None, f"could not read ping output: {exc}", via)


def _os_family(lab: Lab, node: str) -> OsFamily:
    """The node's OS family, as the ping builders and parsers take it (the inventory holds no other)."""
    family = lab.inventory.os_of(node)
    for known in OS_FAMILIES:
        if family == known:
            return known
    raise ValueError(f"{node}: unknown OS family {family!r}; expected one of {', '.join(OS_FAMILIES)}")


def probe_source(lab: Lab, node: str, targets: list[Endpoint], spec: PingMatrix) -> dict[str, Observation]:
    """Probe every target from `node`; one Observation per target ref."""
    out: dict[str, Observation] = {}
    live = [t for t in targets if t.address is not None]
    for t in targets:
        if t.address is None:
            out[t.ref] = Observation("error", reason=f"no address: {t.why_none}")
    if not live:
        return out
    # each address once, in address order (as text: what the command builders take)
    addresses = [str(a) for a in sorted({t.address for t in live if t.address is not None})]
    try:
        transport = lab.transport(node)
        os_family = _os_family(lab, node)
        # `via` is read after each probe ran: a fallback transport knows its channel only then
        if os_family == "linux" and transport.run("command -v fping").ok:
            res = transport.run(fping_command(addresses, spec.count, spec.timeout),
                                timeout=spec.count * spec.timeout + 30)
            via = transport.kind
            try:
                parsed = parse_fping(res.stderr + res.stdout)
            except (PingParseError, ValueError) as exc:
                parsed = {}
                for t in live:
                    out[t.ref] = Observation("error", reason=f"could not read fping output: {exc}", via=via)
            for t in live:
                if t.ref in out:
                    continue
                stats = parsed.get(str(t.address))
                out[t.ref] = (_stats_observation(stats, via) if stats is not None else
                              Observation("error", reason=f"fping printed nothing for {t.address}", via=via))
            return out
        if os_family != "windows":  # no fping: every target at once with background pings
            res = transport.run(parallel_ping_command(os_family, addresses, spec.count, spec.timeout),
                                timeout=spec.count * spec.timeout + 30)
            via = transport.kind
            sections = split_parallel(res.stdout)
            for t in live:
                text = sections.get(str(t.address))
                out[t.ref] = (_judge(text, os_family, via) if text is not None else Observation(
                    "error", reason=f"no ping output for {t.address} (exit {res.exit_status}: "
                    f"{res.stderr.strip()[:200]})", via=via))
            return out
        for t in live:
            res = transport.run(ping_command(os_family, str(t.address), spec.count, spec.timeout),
                                timeout=spec.count * spec.timeout + 30)
            out[t.ref] = _judge(res.stdout + res.stderr, os_family, transport.kind)
    except LabkitError as exc:
        for t in live:
            out.setdefault(t.ref, Observation("error", reason=f"could not run ping on {node}: {exc}"))
    except OSError as exc:
        for t in live:
            out.setdefault(t.ref, Observation("error", reason=f"could not connect to {node}: {exc}"))
    return out


def run_matrix(lab: Lab, step: str, spec: PingMatrix, state: LabState, workers: int = 8,
               on_source_done: Callable[[str], None] | None = None) -> MatrixResult:
    topo = Topology(state)
    predictor = Predictor(topo)
    targets = [topo.resolve(ref) for ref in spec.targets]
    ends = {ref: topo.resolve(ref) for ref in spec.sources}
    sources = {ref: end.node for ref, end in ends.items()}
    explicit: dict[tuple[str, str], Expectation] = {}
    use_model = spec.expect == "model"
    if not isinstance(spec.expect, str):
        explicit = {(c.source, c.target): c.result for c in spec.expect.cells}
        use_model = spec.expect.model
    # cells expected to have no address, where one side indeed has none: settled without a probe
    by_ref = {t.ref: t for t in targets}
    settled: dict[tuple[str, str], Observation] = {}
    for (src, tgt), want in explicit.items():
        obs = _no_address(ends[src], by_ref[tgt]) if want == "no_address" and src in ends and tgt in by_ref else None
        if obs is not None:
            settled[(src, tgt)] = obs

    def work(ref: str) -> tuple[str, dict[str, Observation]]:
        skip = {tgt for src, tgt in settled if src == ref}
        probes = [t for t in targets if t.ref != ref and t.ref not in skip]
        result = probe_source(lab, sources[ref], probes, spec)
        if on_source_done:
            on_source_done(ref)
        return ref, result

    workers = min(workers, lab.concurrency or workers, len(sources))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        observed = dict(pool.map(work, list(sources)))

    cells: list[Cell] = []
    for src in spec.sources:
        for t in targets:
            if t.ref == src:
                continue
            expected: Expectation | None = explicit.get((src, t.ref))
            why: str | None = None
            verdict = predictor.verdict(sources[src], t) if use_model else None
            conflict = predictor.conflict(ends[src], t, verdict)
            if verdict is not None:
                why = verdict.reason if conflict is None or verdict.conflict else f"address conflict: {conflict}"
                if expected is None and conflict is None:
                    expected = verdict.expectation
            if settled and (src, t.ref) in settled:
                obs = settled[(src, t.ref)]
            else:
                obs = observed[src][t.ref]
            cells.append(Cell(src, t.ref, str(t.address) if t.address else None, expected, obs, why, conflict))
    return MatrixResult(step, list(spec.sources), list(spec.targets), cells)


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
    predictor = Predictor(topo)
    ends = [topo.resolve(ref) for ref in targets]
    addresses = [str(t.address) if t.address else None for t in ends]
    seen: dict[int, Observation] = {}  # one Observation per distinct verdict object
    cells: list[Cell] = []
    src_ends = [topo.resolve(ref) for ref in sources]
    contested = bool(topo.contested)
    for src, src_end, (_, row) in zip(sources, src_ends, predictor.rows([e.node for e in src_ends], ends), strict=True):
        for t, address, v in zip(ends, addresses, row, strict=True):
            if t.ref == src:
                continue
            obs = seen.get(id(v))
            if obs is None or obs.reason is not v.reason:
                obs = seen[id(v)] = Observation(v.expectation or "error", reason=v.reason, via="model")
            conflict = predictor.conflict(src_end, t, v) if contested else None
            cells.append(Cell(src, t.ref, address, None, obs, v.reason, conflict))
    return MatrixResult(step, list(sources), list(targets), cells)
