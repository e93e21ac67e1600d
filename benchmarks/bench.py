"""Benchmark: the model's matrix (predict) and a full simulated ping matrix (run) for labs of N VMs.

    .venv/bin/python benchmarks/bench.py [--sizes 10,100,1000] [--quick] [--timeout 600] [--json FILE]
    .venv/bin/python benchmarks/bench.py --sizes 100 --profile     # cProfile, top 15 cumulative

Each (N, phase) runs in a fresh subprocess so its peak RSS is its own. A phase's wall time covers
building the lab from the Inventory (SimWorld / SimLab + observe) and every cell; the inventory's
validation and the imports are outside it. A phase under 0.5 s is repeated and its median kept.
"ratio" is the per-cell cost over the smallest N's (N=10 by default): near 1 means cost grows with
the number of cells (~N^2), not faster.
The product's goal: N=1000 (~1,000,000 cells) in <= 2 s and <= 1 GB per phase. A missed goal is
reported, never an error exit: this is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import resource
import statistics
import subprocess
import sys
import threading
import time

from labkit.backends.sim.lab import SimLab, SimWorld
from labkit.matrix.engine import predicted_matrix, run_matrix
from labkit.model import PingMatrix
from labkit.observe import observe
from labkit.topology import Topology

GOAL_N, GOAL_S, GOAL_MB = 1000, 2.0, 1024
PHASES = ("predict", "run")


def lab_dict(n: int) -> dict:
    """The seed lab's host, LAN and networks (NAT widened to a /16), with n VMs spread over them."""
    vms = []
    n_host = min(100, max(1, n // 20))  # host-only pool: 126 leases
    n_bridged = min(90, max(1, n // 20))  # LAN pool: 99 leases
    for i in range(n):
        net = "hostonly" if i < n_host else "bridged" if i < n_host + n_bridged else "nat"
        windows = i % 5 == 4
        config = {"dhcp": True}
        if net == "nat" and i % 10 == 3:  # a few static NAT guests, like the tutorial's centos
            config = {"address": f"10.0.{i // 250}.{i % 250 + 3}/16", "gateway": "10.0.0.2", "dns": ["10.0.0.2"]}
        vms.append({"name": f"vm{i:04d}", "os": "windows" if windows else "linux",
                    "dialect": "netsh" if windows else "ifcfg", "icmp_firewall": i % 7 == 6,
                    "adapters": [{"interface": "eth0", "label": "Network adapter 1", "network": net,
                                  "mac": f"00:0c:29:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}",
                                  "config": config}]})
    nets = {
        "bridged": {"type": "bridged", "backend_network": "VMnet0"},
        "nat": {"type": "nat", "backend_network": "VMnet8", "subnet": "10.0.0.0/16", "gateway": "10.0.0.2",
                "host_adapter": {"address": "10.0.0.1"},
                "dhcp": {"server": "10.0.255.254", "start": "10.0.8.0", "end": "10.0.255.253"}},
        "hostonly": {"type": "hostonly", "backend_network": "VMnet1", "subnet": "192.168.56.0/24",
                     "host_adapter": {"address": "192.168.56.1"},
                     "dhcp": {"server": "192.168.56.254", "start": "192.168.56.128", "end": "192.168.56.253"}}}
    lan = {"subnet": "192.168.1.0/24", "router": "192.168.1.1", "wan_address": "198.51.100.7",
           "dhcp": {"start": "192.168.1.101", "end": "192.168.1.199"}}
    return {"lab": f"bench-{n}", "backend": {"type": "sim"}, "host": {"lan_address": "192.168.1.100", "os": "windows"},
            "lan": lan, "externals": {"internet": {"address": "203.0.113.10"}}, "networks": nets, "vms": vms}


def build_inventory(n: int):
    from labkit.inventory import inventory_from_data

    return inventory_from_data(lab_dict(n), "<bench>")  # the loader's own rules, cross-field ones included


def refs(inv) -> tuple[list[str], list[str]]:
    return ["host", *inv.vm_names], ["host", "router", *inv.externals, *inv.vm_names]


def phase_predict(inv) -> int:
    """What `labkit predict` computes (cli.predict), without rendering the table."""
    sources, targets = refs(inv)
    return len(predicted_matrix(Topology(SimWorld(inv).state), "bench", sources, targets).cells)


def phase_run(inv, workers: int = 8) -> int:
    """What a ping_matrix step does (runner.run_step): observe the SimLab, then run_matrix."""
    sources, targets = refs(inv)
    spec = PingMatrix(sources=sources, targets=targets, count=1, expect="model")
    lab = SimLab(inv)
    try:
        result = run_matrix(lab, "bench", spec, observe(lab), workers)
    finally:
        lab.close()
    bad = sum(c.observed.verdict == "error" or not c.ok for c in result.cells)
    if bad:
        print(f"warning: {bad} cells did not match the model or were errors", file=sys.stderr)
    return len(result.cells)


def child(n: int, phase: str) -> dict:
    inv = build_inventory(n)
    base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    walls: list[float] = []
    while not walls or (sum(walls) < 0.5 and len(walls) < 25):  # small N: repeat, keep the median
        t0 = time.perf_counter()
        cells = (phase_predict if phase == "predict" else phase_run)(inv)
        walls.append(time.perf_counter() - t0)
    wall = statistics.median(walls)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"n": n, "phase": phase, "cells": cells, "wall_s": wall, "base_mb": base_mb, "peak_mb": peak_mb,
            "us_per_cell": wall / cells * 1e6, "reps": len(walls), "status": "ok"}


def spawn(n: int, phase: str, timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--child", f"{n}:{phase}"]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:  # subprocess.run kills its own child
        return {"n": n, "phase": phase, "status": "timeout", "wall_s": time.perf_counter() - t0}
    sys.stderr.write(p.stderr)
    if p.returncode != 0 or not p.stdout.strip():
        return {"n": n, "phase": phase, "status": f"failed (exit {p.returncode})"}
    return json.loads(p.stdout.strip().splitlines()[-1])


def profile(sizes: list[int]) -> None:
    for n in sizes:
        inv = build_inventory(n)
        for phase in PHASES:
            print(f"\n=== cProfile N={n} {phase} (top 15 by cumulative time) ===")
            profs = [cProfile.Profile()]  # run_matrix probes in a thread pool: one profiler per thread

            def start(*_, profs=profs):
                profs.append(cProfile.Profile())
                profs[-1].enable()
            threading.setprofile(start)
            if phase == "predict":
                profs[0].runcall(phase_predict, inv)
            else:  # one worker: no lock contention in the worker's numbers (the sim serialises anyway)
                profs[0].runcall(phase_run, inv, 1)
            threading.setprofile(None)
            stats = pstats.Stats(*profs, stream=sys.stdout)
            stats.strip_dirs().sort_stats("cumulative").print_stats(15)


def fmt(v, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def report(rows: list[dict], base_n: int) -> None:
    print(f"\n{'phase':8}{'N':>6}{'cells':>10}{'wall s':>9}{'peak MB':>9}{'base MB':>9}{'us/cell':>9}  ratio vs N={base_n}")
    for r in rows:
        if r["status"] != "ok":
            print(f"{r['phase']:8}{r['n']:>6}  {r['status']} after {fmt(r.get('wall_s'), '.0f')} s")
        else:
            print(f"{r['phase']:8}{r['n']:>6}{r['cells']:>10}{r['wall_s']:>9.3f}{r['peak_mb']:>9.1f}"
                  f"{r['base_mb']:>9.1f}{r['us_per_cell']:>9.2f}  {fmt(r.get('ratio'), '.2f')}")
    print(f"\ngoal: N={GOAL_N} in <= {GOAL_S:g} s and <= {GOAL_MB} MB per phase")
    for phase in PHASES:
        done = [r for r in rows if r["phase"] == phase and r["status"] == "ok"]
        r = next((r for r in rows if r["phase"] == phase and r["n"] == GOAL_N), None)
        if r is None and done:  # linear in cells from the largest N measured
            est = done[-1]["us_per_cell"] * (GOAL_N + 1) * (GOAL_N + 2) / 1e6
            print(f"  {phase:7}: not measured; ~{est:.1f} s at N={done[-1]['n']}'s per-cell cost")
        elif r is None or r["status"] != "ok":
            print(f"  {phase:7}: NOT MET ({r['status']})" if r else f"  {phase:7}: not measured")
        else:
            ok = r["wall_s"] <= GOAL_S and r["peak_mb"] <= GOAL_MB
            print(f"  {phase:7}: {'met' if ok else 'NOT MET'} ({r['wall_s']:.2f} s, {r['peak_mb']:.0f} MB; "
                  f"{r['wall_s'] / GOAL_S:.1f}x the time budget)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10,100,1000", help="comma-separated VM counts (default 10,100,1000)")
    ap.add_argument("--quick", action="store_true", help="sizes 10,100 only")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per (N, phase) child (default 600)")
    ap.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    ap.add_argument("--profile", action="store_true", help="cProfile each phase in-process instead")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        n, phase = a.child.split(":")
        return print(json.dumps(child(int(n), phase)))
    sizes = sorted({int(s) for s in ("10,100" if a.quick else a.sizes).split(",") if s.strip()})
    if a.profile:
        return profile(sizes)
    rows = []
    for phase in PHASES:
        for n in sizes:
            rows.append(r := spawn(n, phase, a.timeout))
            print(f"  {phase:7} N={n:<5} {r['status']:8} {fmt(r.get('wall_s'), '.2f')} s", file=sys.stderr, flush=True)
            base = next(b for b in rows if b["phase"] == phase)
            if r.get("us_per_cell") and base.get("us_per_cell"):
                r["ratio"] = r["us_per_cell"] / base["us_per_cell"]
    report(rows, sizes[0])
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"goal": {"n": GOAL_N, "seconds": GOAL_S, "mb": GOAL_MB}, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
