"""Benchmark: the model's matrix (predict), a full simulated ping matrix (run) and its JSON report
for labs of N VMs, and one Windows source's row probed in parallel against one by one.

    .venv/bin/python benchmarks/bench.py [--sizes 10,100,1000] [--quick] [--timeout 600] [--json FILE]
    .venv/bin/python benchmarks/bench.py --sizes 1000 --profile     # cProfile, top 25 by own time

Each N runs in fresh subprocesses (three for predict, three for run, the first of which also
writes the report; the median kept, the spread shown) so each row's peak RSS is its own. The labs
are tests/generated_lab.py's. predict: what `labkit predict` computes (the described state, the topology, every cell
with its reason). run: what a ping_matrix step does on the simulated lab, `observe` then
`run_matrix` (every source's command sent through its guest transport, the guests' real output
formats, the real parsers); building the simulated lab itself (booting its N guests) is shown apart
("build s"), and the check that every cell matches the model is not timed. report: the JSON report
of that run written to disk (streamed). "cpu s" is the process's CPU time for the same span: on a
busy machine the wall time grows, the CPU time much less. A span under 0.5 s is repeated and its
median kept. "ratio" is the per-cell wall time over the smallest N's: near 1 means cost grows with
the number of cells (~N^2), not faster.

The Windows row: a simulated Windows VM pings T targets, half of them unreachable (count 1,
timeout 1 s), through labkit's parallel cmd.exe probe (over the VM's channel, and through the
Workstation console's vmrun wrapping with the simulated guest behind vmrun: tests/matrix/sim_vmrun.py)
and through the sequential fallback (one ping.exe per target); the time is the simulated lab's
clock, which charges a lost probe its timeout, so it is the time a real Windows guest would take.

Goals (printed met / NOT MET; the exit status is 0 whatever the numbers: a benchmark, not a test):
N=1000 (~1,000,000 cells) predict and run each in <= 2 s and <= 1 GB, the report in <= 1 GB; a
Windows row within one probe deadline and its 1 s wait granularity, whatever T.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labkit.backends.sim.lab import SimLab  # noqa: E402
from labkit.matrix.engine import predicted_matrix, run_matrix  # noqa: E402
from labkit.model import PingMatrix  # noqa: E402
from labkit.observe import observe  # noqa: E402
from labkit.topology import Topology  # noqa: E402
from tests.generated_lab import build_inventory  # noqa: E402

GOAL_N, GOAL_S, GOAL_MB = 1000, 2.0, 1024
WINDOWS_TARGETS = (20, 100, 250)
COUNT, TIMEOUT = 1, 1.0


def refs(inv) -> tuple[list[str], list[str]]:
    return ["host", *inv.vm_names], ["host", "router", *inv.externals, *inv.vm_names]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class Span:
    """Wall and CPU time of a block."""

    def __enter__(self) -> Span:
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall0, time.process_time() - self.cpu0


def phase_predict(inv) -> tuple[int, Span]:
    """What `labkit predict` computes (cli.predict), without rendering the table."""
    from labkit.described import described_state

    sources, targets = refs(inv)
    with Span() as span:
        cells = len(predicted_matrix(Topology(described_state(inv)), "bench", sources, targets).cells)
    return cells, span


def phase_run(inv, workers: int = 8, report: str | None = None) -> dict:
    """What a ping_matrix step does (runner.run_step): observe the SimLab, then run_matrix; then,
    with `report`, the run's JSON report written there."""
    from labkit.report.as_json import write_json
    from labkit.results import RunResult, StepResult

    sources, targets = refs(inv)
    spec = PingMatrix(sources=sources, targets=targets, count=COUNT, timeout=TIMEOUT, expect="model")
    with Span() as build:
        lab = SimLab(inv)
    try:
        with Span() as run:
            result = run_matrix(lab, "bench", spec, observe(lab), workers)
    finally:
        lab.close()
    out = {"cells": len(result.cells), "build_s": build.wall, "wall_s": run.wall, "cpu_s": run.cpu,
           "peak_mb": peak_mb(), "bad": sum(c.observed.verdict == "error" or not c.ok for c in result.cells)}
    if report:
        with Span() as written:
            write_json(RunResult("bench", "sim", [StepResult("bench", "ping_matrix", matrix=result)]), report)
        out.update(report_s=written.wall, report_cpu_s=written.cpu, report_peak_mb=peak_mb(),
                   report_mb=os.path.getsize(report) / 2**20)
        os.unlink(report)
    return out


def child(n: int, phase: str, with_report: bool = True) -> dict:
    inv = build_inventory(n)
    base = peak_mb()
    gc.collect()
    if phase == "predict":
        runs: list[tuple[int, Span]] = []
        while not runs or (sum(s.wall for _, s in runs) < 0.5 and len(runs) < 25):  # small N: repeat
            runs.append(phase_predict(inv))
        wall = statistics.median(s.wall for _, s in runs)
        cpu = statistics.median(s.cpu for _, s in runs)
        return {"n": n, "phase": phase, "cells": runs[0][0], "wall_s": wall, "cpu_s": cpu, "base_mb": base,
                "peak_mb": peak_mb(), "us_per_cell": wall / runs[0][0] * 1e6, "reps": len(runs), "status": "ok"}
    with tempfile.TemporaryDirectory() as tmp:
        done = [phase_run(inv, report=str(Path(tmp) / "report.json") if with_report else None)]
        while sum(r["wall_s"] for r in done) < 0.5 and len(done) < 25:
            done.append(phase_run(inv))
    first = done[0]
    wall = statistics.median(r["wall_s"] for r in done)
    return {"n": n, "phase": phase, "cells": first["cells"], "wall_s": wall,
            "cpu_s": statistics.median(r["cpu_s"] for r in done), "build_s": statistics.median(r["build_s"] for r in done),
            "base_mb": base, "peak_mb": first["peak_mb"], "us_per_cell": wall / first["cells"] * 1e6, "reps": len(done),
            "bad": first["bad"], "report_s": first.get("report_s"), "report_cpu_s": first.get("report_cpu_s"),
            "report_peak_mb": first.get("report_peak_mb"), "report_mb": first.get("report_mb"), "status": "ok"}


def spawn(n: int, phase: str, timeout: float, with_report: bool = True) -> dict:
    cmd = [sys.executable, __file__, "--child", f"{n}:{phase}" + ("" if with_report else ":no-report")]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:  # subprocess.run kills its own child
        return {"n": n, "phase": phase, "status": "timeout", "wall_s": time.perf_counter() - t0}
    sys.stderr.write(p.stderr)
    if p.returncode != 0 or not p.stdout.strip():
        return {"n": n, "phase": phase, "status": f"failed (exit {p.returncode})"}
    return json.loads(p.stdout.strip().splitlines()[-1])


def repeated(n: int, phase: str, timeout: float, times: int) -> dict:
    """The phase in `times` fresh processes (the first also writes the run's report): the median
    wall and CPU time, their spread (fastest, slowest) and the highest peak. One process on a
    shared machine can be 20 % off either way; the median of a few is the figure, the spread
    says how far one run may stray."""
    runs = [spawn(n, phase, timeout, with_report=k == 0) for k in range(max(1, times))]
    bad = next((r for r in runs if r["status"] != "ok"), None)
    if bad is not None:
        return bad
    out = dict(runs[0])
    walls = [r["wall_s"] for r in runs]
    out.update(wall_s=statistics.median(walls), cpu_s=statistics.median(r["cpu_s"] for r in runs),
               spread=(min(walls), max(walls)), processes=len(runs), peak_mb=max(r["peak_mb"] for r in runs))
    out["us_per_cell"] = out["wall_s"] / out["cells"] * 1e6
    if phase == "run":
        out["build_s"] = statistics.median(r["build_s"] for r in runs)
    return out


# ---- one Windows source's row -----------------------------------------------------------------------

def windows_row(targets: int) -> dict:
    """A Windows VM's row of `targets` targets, half unreachable: parallel cmd.exe probe against the
    sequential fallback, in the simulated lab's time (and the wall time the simulation took)."""
    from labkit.matrix import engine
    from labkit.matrix.ping import CheckedAddresses

    inv = build_inventory(max(40, 4 * targets))
    lab = SimLab(inv)
    topo = Topology(observe(lab))
    source = next(vm for vm in inv.vm_names if inv.os_of(vm) == "windows" and lab.world.state.vms[vm].ifaces[0].network == "nat")
    from labkit.predict import Predictor

    predictor = Predictor(topo)
    ends = [topo.resolve(vm) for vm in inv.vm_names if vm != source]
    verdicts = [(e, predictor.verdict(source, e).reachable) for e in ends]
    chosen = [e for e, ok in verdicts if ok][: targets // 2] + [e for e, ok in verdicts if ok is False][: targets - targets // 2]
    if len(chosen) < targets:
        raise RuntimeError(f"the generated lab has too few targets for a row of {targets}")
    addresses = CheckedAddresses(sorted(e.address for e in chosen))
    spec = PingMatrix(sources=[source], targets=[source], count=COUNT, timeout=TIMEOUT)
    transport = lab.transport(source)
    out: dict = {"targets": targets, "unreachable": targets - targets // 2, "deadline_s": COUNT * TIMEOUT}
    for how, probe in (("parallel", lambda: engine._windows_parallel(transport, addresses, spec, engine.Readings())),
                       ("sequential", lambda: engine._one_by_one(transport, "windows", addresses, spec, engine.Readings()))):
        clock0, wall0 = lab.clock.monotonic(), time.perf_counter()
        seen = probe()
        out[f"{how}_s"] = lab.clock.monotonic() - clock0
        out[f"{how}_wall_s"] = time.perf_counter() - wall0
        if seen is None:
            raise RuntimeError("the simulated Windows guest refused the parallel probe")
        wrong = [a for a, e in zip(addresses, sorted(chosen, key=lambda e: e.address), strict=True)
                 if seen[a].verdict != ("reachable" if predictor.verdict(source, e).reachable else "unreachable")]
        out[f"{how}_wrong"] = len(wrong)
    out["commands"] = sum(1 for c in lab.world.guest(source).commands if "start" in c)
    out["vmrun_s"] = through_vmrun(lab, source, addresses, spec)
    out["peak_mb"] = peak_mb()
    return out


def through_vmrun(lab, source: str, addresses, spec) -> float:
    """The parallel probe through the Workstation console (vmrun's guest operations, wrapping the
    line as `cmd.exe /s /c "(LINE) <NUL >OUT 2>ERR"`), the simulated guest behind vmrun; lab-clock s."""
    from labkit.backends.workstation.vmrun import Vmrun
    from labkit.backends.workstation.vmrun_console import VmrunConsole
    from labkit.matrix import engine
    from labkit.model import GuestLogin
    from tests.matrix.sim_vmrun import SimVmrun

    os.environ.setdefault("LABKIT_BENCH_GUEST_PW", "bench")
    console = VmrunConsole(source, Vmrun("vmrun", SimVmrun(lab.world.guest(source))), f"/vms/{source}.vmx",
                           GuestLogin(user="labkit", password_env="LABKIT_BENCH_GUEST_PW"), os_family="windows")
    try:
        clock0 = lab.clock.monotonic()
        seen = engine._windows_parallel(console, addresses, spec, engine.Readings())
        if seen is None or any(o.verdict == "error" for o in seen.values()):
            raise RuntimeError("the parallel probe through the vmrun console failed")
        return lab.clock.monotonic() - clock0
    finally:
        console.close()


# ---- report --------------------------------------------------------------------------------------------

def fmt(v, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def report(rows: list[dict], base_n: int, win: list[dict]) -> None:
    print("\n== predict and run: N VMs, every source against every target (sim) ==")
    print(f"{'phase':8}{'N':>6}{'cells':>10}{'wall s':>9}{'spread s':>14}{'cpu s':>8}{'peak MB':>9}{'base MB':>9}"
          f"{'us/cell':>9}{'build s':>9}  ratio vs N={base_n}")
    for r in rows:
        if r["status"] != "ok":
            print(f"{r['phase']:8}{r['n']:>6}  {r['status']} after {fmt(r.get('wall_s'), '.0f')} s")
            continue
        spread = f"{r['spread'][0]:.3f}-{r['spread'][1]:.3f}" if r.get("processes", 1) > 1 else "-"
        print(f"{r['phase']:8}{r['n']:>6}{r['cells']:>10}{r['wall_s']:>9.3f}{spread:>14}{r['cpu_s']:>8.3f}"
              f"{r['peak_mb']:>9.1f}{r['base_mb']:>9.1f}{r['us_per_cell']:>9.2f}{fmt(r.get('build_s'), '9.3f'):>9}"
              f"  {fmt(r.get('ratio'), '.2f')}")
    times = max((r.get("processes", 1) for r in rows if r["status"] == "ok"), default=1)
    if times > 1:
        print(f"(wall s and cpu s: the median of {times} fresh processes; spread: the fastest and the slowest)")
    runs = [r for r in rows if r["phase"] == "run" and r["status"] == "ok"]
    if runs:
        print(f"\n{'report':8}{'N':>6}{'cells':>10}{'wall s':>9}{'cpu s':>8}{'peak MB':>9}{'file MB':>9}   (JSON, streamed to disk)")
        for r in runs:
            print(f"{'json':8}{r['n']:>6}{r['cells']:>10}{r['report_s']:>9.3f}{r['report_cpu_s']:>8.3f}"
                  f"{r['report_peak_mb']:>9.1f}{r['report_mb']:>9.1f}")
    bad = [r for r in runs if r.get("bad")]
    for r in bad:
        print(f"  N={r['n']}: {r['bad']} cells did not match the model or were errors")
    print(f"\ngoal: N={GOAL_N} in <= {GOAL_S:g} s and <= {GOAL_MB} MB per phase (the report: <= {GOAL_MB} MB)")
    for phase in ("predict", "run"):
        done = [r for r in rows if r["phase"] == phase and r["status"] == "ok"]
        r = next((r for r in rows if r["phase"] == phase and r["n"] == GOAL_N), None)
        if r is None and done:  # linear in cells from the largest N measured
            est = done[-1]["us_per_cell"] * (GOAL_N + 1) * (GOAL_N + 2) / 1e6
            print(f"  {phase:7}: not measured; ~{est:.1f} s at N={done[-1]['n']}'s per-cell cost")
        elif r is None or r["status"] != "ok":
            print(f"  {phase:7}: NOT MET ({r['status']})" if r else f"  {phase:7}: not measured")
        else:
            ok = r["wall_s"] <= GOAL_S and r["peak_mb"] <= GOAL_MB
            spread = f"; runs {r['spread'][0]:.2f}-{r['spread'][1]:.2f} s" if r.get("processes", 1) > 1 else ""
            print(f"  {phase:7}: {'met' if ok else 'NOT MET'} ({r['wall_s']:.2f} s, {r['cpu_s']:.2f} s CPU, "
                  f"{r['peak_mb']:.0f} MB; {r['wall_s'] / GOAL_S:.2f}x the time budget{spread})")
    r = next((r for r in runs if r["n"] == GOAL_N), None)
    if r is not None:
        ok = r["report_peak_mb"] <= GOAL_MB
        print(f"  report : {'met' if ok else 'NOT MET'} ({r['report_peak_mb']:.0f} MB peak; {r['report_s']:.1f} s, "
              f"{r['report_mb']:.0f} MB file)")
    if win:
        print("\n== one Windows source's row: half the targets unreachable, count 1, timeout 1 s "
              "(simulated lab's clock) ==")
        print(f"{'targets':>8}{'unreach':>8}{'parallel s':>11}{'via vmrun s':>12}{'sequential s':>13}{'seq/par':>8}"
              f"{'lines':>6}{'sim wall ms':>12}{'peak MB':>9}")
        for w in win:
            print(f"{w['targets']:>8}{w['unreachable']:>8}{w['parallel_s']:>11.2f}{w['vmrun_s']:>12.2f}"
                  f"{w['sequential_s']:>13.2f}{w['sequential_s'] / w['parallel_s']:>8.1f}{w['commands']:>6}"
                  f"{w['parallel_wall_s'] * 1000:>12.1f}{w['peak_mb']:>9.1f}")
        for w in win:
            if w["parallel_wrong"] or w["sequential_wrong"]:
                print(f"  {w['targets']} targets: {w['parallel_wrong']} parallel and {w['sequential_wrong']} sequential "
                      "probes disagree with the model")
        limit = COUNT * TIMEOUT + 1
        one = [w for w in win if w["commands"] == 1]
        worst = max(one, key=lambda w: w["parallel_s"]) if one else None
        if worst is not None:
            ok = all(w["parallel_s"] <= limit and w["vmrun_s"] <= limit for w in one)
            print(f"goal: a Windows row within one deadline + the 1 s wait step ({limit:g} s), whatever the number of "
                  f"unreachable targets: {'met' if ok else 'NOT MET'} (up to {worst['parallel_s']:.2f} s for "
                  f"{worst['targets']} targets, {worst['unreachable']} unreachable; one by one: "
                  f"{worst['sequential_s']:.1f} s)")


def profile(sizes: list[int]) -> None:
    for n in sizes:
        inv = build_inventory(n)
        for phase in ("predict", "run"):
            print(f"\n=== cProfile N={n} {phase} (top 25 by own time; the run in one worker thread) ===")
            profs = [cProfile.Profile()]  # run_matrix probes in a thread pool: one profiler per thread

            def start(*_, profs=profs):
                profs.append(cProfile.Profile())
                profs[-1].enable()
            threading.setprofile(start)
            if phase == "predict":
                profs[0].runcall(phase_predict, inv)
            else:
                profs[0].runcall(phase_run, inv, 1)
            threading.setprofile(None)
            stats = pstats.Stats(*profs, stream=sys.stdout)
            stats.strip_dirs().sort_stats("tottime").print_stats(25)


def machine() -> str:
    """The cores and the load average: whether a run was quiet is part of what its figures mean."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None  # not on Windows
    said = f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}" if load else "load not known here"
    return f"machine: {os.cpu_count()} cores, {said}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10,100,1000", help="comma-separated VM counts (default 10,100,1000)")
    ap.add_argument("--quick", action="store_true", help="sizes 10,100 only")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per (N, phase) child (default 600)")
    ap.add_argument("--repeat", type=int, default=3, help="fresh processes per (N, phase); the median is kept (default 3)")
    ap.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    ap.add_argument("--profile", action="store_true", help="cProfile each phase in-process instead")
    ap.add_argument("--no-windows", dest="windows", action="store_false", help="skip the Windows row benchmark")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        n, phase, *rest = a.child.split(":")
        return print(json.dumps(child(int(n), phase, with_report=rest != ["no-report"])))
    sizes = sorted({int(s) for s in ("10,100" if a.quick else a.sizes).split(",") if s.strip()})
    if a.profile:
        return profile(sizes)
    print(machine(), file=sys.stderr, flush=True)
    rows = []
    for phase in ("predict", "run"):
        for n in sizes:
            rows.append(r := repeated(n, phase, a.timeout, a.repeat))
            print(f"  {phase:7} N={n:<5} {r['status']:8} {fmt(r.get('wall_s'), '.2f')} s", file=sys.stderr, flush=True)
            base = next(b for b in rows if b["phase"] == phase)
            if r.get("us_per_cell") and base.get("us_per_cell"):
                r["ratio"] = r["us_per_cell"] / base["us_per_cell"]
    win = [windows_row(t) for t in WINDOWS_TARGETS] if a.windows else []
    report(rows, sizes[0], win)
    print(f"\n{machine()} (after); the goals are for a quiet machine: a load near the core count or above "
          "means other work shared the cores")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"goal": {"n": GOAL_N, "seconds": GOAL_S, "mb": GOAL_MB}, "rows": rows, "windows": win}, f, indent=2)


if __name__ == "__main__":
    main()
