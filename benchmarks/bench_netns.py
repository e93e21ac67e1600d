"""Benchmark: a full VM-to-VM ping matrix on the real network-namespace lab, labkit against a naive baseline.

    sudo .venv/bin/python benchmarks/bench_netns.py [--sizes 10,20,50] [--repeats 3] [--workers 0] [--json FILE]
    sudo .venv/bin/python benchmarks/bench_netns.py --sizes 10,20 --no-baseline

For each N a lab of N Linux VMs (about half on NAT, half host-only, one or two bridged, all DHCP) is
built with `labkit.backends.netns.build.up` (real sshd, dnsmasq, dhclient, iptables NAT in namespaces), then:

  labkit    `observe` then `run_matrix` over `labkit.backends.open_lab(inv)` (what a playbook's
            ping_matrix step does): sources = targets = every VM, count 1, timeout 1 s, expect
            "model"; one worker per source unless --workers says otherwise. Both are timed, and
            shown apart too. Handshakes are the sum of `lab.transport(vm).handshakes`. Every cell
            must hold.
  baseline  the same pairs, one after another, each over a FRESH SSH connection (the same
            SshTransport, lab key, known_hosts and host-key alias, socket opened in the host's
            namespace) running `ping -c1 -W1 TARGET`, closed after. Addresses are looked up before
            the clock starts. Above --baseline-max-pairs ordered pairs it runs on a sample
            stratified by (source network, target network) and the wall time is extrapolated
            from each stratum's mean; the output says so ("~").
  refs      one SSH connect + `true` + close (median of 5), and one ping deadline: the nominal
            1 s (`-W1`, fping `-t 1000`) and a measured unanswered `ping -c1 -W1` run directly in
            a NAT VM's namespace towards an address of its subnet that nobody holds.

Goals (reported met / NOT MET, never an error exit), labkit's time with its `observe`: at N = 20
within 1.5 x (one ping deadline + one SSH connect) and at least 50 x faster than the baseline; at
N = 50 within 1.5 x its time at N = 10. Peak RSS is the benchmark process's, after each N.
The lab is always torn down (`down`), also on Ctrl-C or SIGTERM. Needs root.

The kernel's ARP table is one table for every namespace, capped by the root namespace's
net.ipv4.neigh.default.gc_thresh3 (1024 by default). A full matrix resolves every on-link pair at
once (about N^2/2 entries: ~1100 at N = 50), and past the cap the kernel drops probes ("neighbor
table overflow" in dmesg), which shows as cells that are unreachable against the model. The
benchmark prints the estimate against the cap and counts those kernel messages, and when a size
needs more it raises gc_thresh2/3 for its run and puts the old values back at the end (what a user
of a lab that big does once with sysctl; `labkit lab up` never changes the root namespace);
--keep-neigh-limit leaves them alone.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from contextlib import contextmanager

GOAL_N, GOAL_UNIT_X, GOAL_SPEEDUP = 20, 1.5, 50.0
SCALE_SMALL, SCALE_LARGE, GOAL_SCALE_X = 10, 50, 1.5  # time(N=50) <= 1.5 x time(N=10), observe included
COUNT, TIMEOUT = 1, 1.0  # the matrix's probe: one echo, 1 s deadline (= the baseline's -c1 -W1)


def lab_dict(n: int) -> dict:
    """seed-netns.yml's host, LAN and networks, with n DHCP Linux VMs: 1-2 bridged, then NAT / host-only halves."""
    n_bridged = 1 if n < 20 else 2
    n_nat = (n - n_bridged + 1) // 2
    vms = []
    for i in range(n):
        net = "bridged" if i < n_bridged else "nat" if i < n_bridged + n_nat else "hostonly"
        vms.append({"name": f"vm{i:02d}", "os": "linux", "dialect": "ifcfg" if i % 2 else "ifupdown",
                    "adapters": [{"interface": "eth0", "label": "Network adapter 1", "network": net,
                                  "mac": f"00:0c:29:be:{i >> 8 & 255:02x}:{i & 255:02x}",
                                  "config": {"dhcp": True}}]})
    nets = {
        "bridged": {"type": "bridged", "backend_network": "VMnet0"},
        "nat": {"type": "nat", "backend_network": "VMnet8", "subnet": "10.0.0.0/24", "gateway": "10.0.0.2",
                "host_adapter": {"address": "10.0.0.1", "enabled": True},
                "dhcp": {"server": "10.0.0.254", "start": "10.0.0.128", "end": "10.0.0.253"}},
        "hostonly": {"type": "hostonly", "backend_network": "VMnet1", "subnet": "192.168.56.0/24",
                     "host_adapter": {"address": "192.168.56.1", "enabled": True},
                     "dhcp": {"server": "192.168.56.254", "start": "192.168.56.128", "end": "192.168.56.253"}}}
    lan = {"subnet": "192.168.1.0/24", "router": "192.168.1.1", "wan_address": "198.51.100.7",
           "dhcp": {"start": "192.168.1.101", "end": "192.168.1.199"}}
    return {"lab": f"bench-netns-{n}", "backend": {"type": "netns"},
            "host": {"lan_address": "192.168.1.100", "os": "linux"}, "lan": lan,
            "externals": {"internet": {"address": "203.0.113.10"}}, "networks": nets, "vms": vms}


def build_inventory(n: int):
    from labkit.inventory import inventory_from_data

    return inventory_from_data(lab_dict(n), "<bench_netns>")  # the loader's own rules, cross-field ones included


# ---- the kernel's neighbour (ARP) table ---------------------------------------------------------------

NEIGH = "/proc/sys/net/ipv4/neigh/default/gc_thresh{}"


def neigh_needed(inv) -> int:
    """ARP entries a full VM matrix needs at once (the count `labkit lab up` warns with)."""
    from labkit.backends.netns.plan import neighbour_entries

    return neighbour_entries(inv)


def neigh_limit(level: int = 3) -> int | None:
    try:
        with open(NEIGH.format(level)) as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def set_neigh_limit(level: int, value: int) -> None:
    with open(NEIGH.format(level), "w") as f:
        f.write(str(value))


def neigh_overflows() -> int | None:
    """'neighbor table overflow' lines in the kernel log so far (rate-limited by the kernel: a lower bound)."""
    proc = subprocess.run(["dmesg"], capture_output=True, text=True)
    return proc.stdout.count("neighbor table overflow") if proc.returncode == 0 else None


# ---- SSH as the lab's own transport makes it, but fresh each time ----------------------------------

def vm_address(lab, vm: str) -> str | None:
    for nic in lab.hypervisor.guest_nics(vm):
        if nic.addresses:
            return str(nic.addresses[0].ip)
    return None


def fresh_ssh(lab, vm: str, address: str):
    """A new SshTransport with NetnsLab._ssh's settings: lab key, known_hosts, alias = VM name, host netns socket."""
    from labkit.backends.netns.nsexec import socket_in_netns
    from labkit.backends.transports.ssh import SshTransport

    d, host_ns = lab.hypervisor.dir, lab.hypervisor.state["host"]
    return SshTransport(address, 22, "root", key_file=str(d / "id_ed25519"), allow_agent=False,
                        known_hosts=str(d / "known_hosts"), host_key_alias=vm, connect_timeout=3, name=vm,
                        sock_factory=lambda h, p, t: socket_in_netns(host_ns, h, p, t))


def ref_ssh(lab, vm: str, address: str, k: int = 5) -> float:
    """Median of k × (connect + `true` + close) on a fresh transport."""
    walls = []
    for _ in range(k):
        t0 = time.perf_counter()
        t = fresh_ssh(lab, vm, address)
        try:
            res = t.run("true", timeout=10)
        finally:
            t.close()
        walls.append(time.perf_counter() - t0)
        if not res.ok:
            raise RuntimeError(f"`true` failed on {vm}: {res.exit_status} {res.stderr.strip()}")
    return statistics.median(walls)


def unused_address(lab, vm: str) -> str:
    """An address in the VM's own subnet that nobody holds: its ping waits out the whole deadline
    (ARP gets no answer), whatever the reachability rules between the lab's networks say."""
    nic = next(n for n in lab.hypervisor.guest_nics(vm) if n.addresses)
    network = nic.addresses[0].network
    taken = {a.ip for v in lab.inventory.vm_names for n in lab.hypervisor.guest_nics(v) for a in n.addresses}
    return str(next(ip for ip in reversed(list(network.hosts())[:-2]) if ip not in taken))


def ref_deadline(lab, src: str, dst_addr: str) -> float:
    """Wall time of one unanswered `ping -c1 -W1` run straight in the source VM's namespace (no SSH)."""
    ns = lab.hypervisor.state["vms"][src]["ns"]
    t0 = time.perf_counter()
    proc = subprocess.run(["ip", "netns", "exec", ns, "ping", "-n", "-c1", "-W1", dst_addr],
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if " 0 received" not in proc.stdout:
        print(f"  note: the deadline probe {src} -> {dst_addr} got a reply; measured value is not a deadline",
              file=sys.stderr)
    return wall


# ---- labkit -------------------------------------------------------------------------------------------

def run_labkit(inv, workers: int) -> dict:
    from labkit.backends import open_lab
    from labkit.matrix.engine import run_matrix
    from labkit.model import PingMatrix
    from labkit.observe import observe

    names = list(inv.vm_names)
    spec = PingMatrix(sources=names, targets=names, count=COUNT, timeout=TIMEOUT, expect="model")
    lab = open_lab(inv)
    try:
        t0 = time.perf_counter()
        state = observe(lab)
        t1 = time.perf_counter()
        result = run_matrix(lab, "bench-netns", spec, state, workers)
        t2 = time.perf_counter()
        handshakes = sum(lab.transport(vm).handshakes for vm in names)
    finally:
        lab.close()
    bad = result.failed_cells()
    return {"observe_s": t1 - t0, "wall_s": t2 - t1, "handshakes": handshakes, "cells": len(result.cells),
            "unreachable": sum(c.expected == "unreachable" for c in result.cells),
            "mismatches": len(bad),
            "mismatch_examples": [f"{c.source}->{c.target} ({c.address}): expected {c.expected}, got "
                                  f"{c.observed.verdict}" + (f" ({c.observed.reason})" if c.observed.reason else "")
                                  for c in bad[:5]],
            "via": dict(Counter(c.observed.via or "-" for c in result.cells)),
            "result": result}


# ---- naive baseline -------------------------------------------------------------------------------------

def baseline_verdict(output: str) -> str:
    from labkit.matrix.ping import PingParseError, no_route_line, parse_ping

    try:
        return "reachable" if parse_ping(output, "linux").reachable else "unreachable"
    except PingParseError:
        return "unreachable" if no_route_line(output) is not None else "error"


def choose_sample(pairs: list[tuple], group, max_pairs: int, seed: int) -> list[tuple]:
    """All pairs, or a sample stratified by group(pair) with proportional allocation (>= 1 per stratum)."""
    if len(pairs) <= max_pairs:
        return list(pairs)
    rng = random.Random(seed)
    strata: dict = defaultdict(list)
    for p in pairs:
        strata[group(p)].append(p)
    out = []
    for members in strata.values():
        k = max(1, round(len(members) * max_pairs / len(pairs)))
        out += rng.sample(members, min(k, len(members)))
    return out


def run_baseline(lab, cells, net_of: dict, max_pairs: int, seed: int) -> dict:
    from labkit.errors import LabkitError

    pairs = [(c.source, c.target, c.address, c.expected, c.observed.verdict) for c in cells]
    sources = {p[0]: vm_address(lab, p[0]) for p in pairs}  # looked up before the clock starts
    group = lambda p: (net_of[p[0]], net_of[p[1]])  # noqa: E731
    sample = choose_sample(pairs, group, max_pairs, seed)
    per_group: dict = defaultdict(list)
    handshakes, disagree, vs_model, errors = 0, [], 0, []
    t0 = time.perf_counter()
    for src, tgt, addr, expected, lk in sample:
        p0 = time.perf_counter()
        verdict = "error"
        if addr is None or sources[src] is None:
            errors.append(f"{src}->{tgt}: no address")
        else:
            t = fresh_ssh(lab, src, sources[src])
            try:
                res = t.run(f"ping -c1 -W1 {addr}", timeout=30)
                verdict = baseline_verdict(res.stdout + res.stderr)
            except LabkitError as exc:
                errors.append(f"{src}->{tgt}: {exc}")
            finally:
                handshakes += t.handshakes
                t.close()
        per_group[group((src, tgt))].append(time.perf_counter() - p0)
        vs_model += verdict == expected
        if verdict != lk:
            disagree.append(f"{src}->{tgt} ({addr}): baseline {verdict}, labkit {lk}")
    measured = time.perf_counter() - t0
    sampled = len(sample) < len(pairs)
    if sampled:  # each stratum's mean cost times its size
        sizes = Counter(group(p) for p in pairs)
        wall = sum(statistics.fmean(per_group[g]) * sizes[g] for g in sizes)
    else:
        wall = measured
    return {"wall_s": wall, "measured_s": measured, "pairs_run": len(sample), "sampled": sampled,
            "handshakes": handshakes if not sampled else round(handshakes * len(pairs) / len(sample)),
            "handshakes_measured": handshakes, "agree_with_model": vs_model, "disagree_with_labkit": len(disagree),
            "disagree_examples": disagree[:5], "errors": len(errors), "error_examples": errors[:3]}


# ---- where labkit's time goes (bench-side wrappers only; labkit itself is not changed) ------------------

@contextmanager
def tracing():
    """Wrap a few labkit functions with timers for one run, then put them back."""
    from labkit.backends.netns import lab as hv_netns
    from labkit.backends.transports import fallback, ssh
    from labkit.matrix import engine

    events: list[tuple] = []  # (thread name, what, start, end)
    lock = threading.Lock()
    originals = []

    def wrap(owner, attr, label):
        orig = getattr(owner, attr)
        originals.append((owner, attr, orig))

        def wrapper(*a, **kw):
            s = time.perf_counter()
            try:
                return orig(*a, **kw)
            finally:
                what = label(a) if callable(label) else label
                with lock:
                    events.append((threading.current_thread().name, what, s, time.perf_counter()))
        setattr(owner, attr, wrapper)

    def run_label(a):
        cmd = a[1] if len(a) > 1 else ""
        return "run fping" if "fping " in cmd else "run other"

    wrap(engine, "_probe_addresses", lambda a: f"probe a source {a[1]}")
    wrap(ssh.SshTransport, "_connect", "ssh connect")
    wrap(ssh.SshTransport, "run", run_label)
    wrap(fallback.FallbackTransport, "_channels", "address lookup (_channels)")
    wrap(hv_netns.NetnsHypervisor, "guest_nics", "guest_nics (ip -j x2)")
    wrap(hv_netns.NetnsHypervisor, "first_address", "first_address (ip -j x1)")
    try:
        yield events
    finally:
        for owner, attr, orig in reversed(originals):
            setattr(owner, attr, orig)


def trace_labkit(inv, workers: int) -> dict:
    from labkit.backends import open_lab
    from labkit.matrix.engine import run_matrix
    from labkit.model import PingMatrix
    from labkit.observe import observe

    names = list(inv.vm_names)
    spec = PingMatrix(sources=names, targets=names, count=COUNT, timeout=TIMEOUT, expect="model")
    lab = open_lab(inv)
    try:
        state = observe(lab)
        with tracing() as events:
            t0 = time.perf_counter()
            run_matrix(lab, "bench-netns-trace", spec, state, workers)
            wall = time.perf_counter() - t0
    finally:
        lab.close()
    per = defaultdict(list)
    for _, what, s, e in events:
        per[what.split(" vm")[0] if what.startswith("probe a source") else what].append((s - t0, e - t0))
    summary = {}
    for what, spans in per.items():
        durs = [e - s for s, e in spans]
        summary[what] = {"calls": len(spans), "median_s": statistics.median(durs), "max_s": max(durs),
                         "sum_s": sum(durs), "first_start_s": min(s for s, _ in spans),
                         "last_end_s": max(e for _, e in spans)}
    return {"wall_s": wall, "spans": summary}


# ---- one N -------------------------------------------------------------------------------------------------

def bench_n(n: int, a, rows: list[dict]) -> dict:
    """Measure one N; its row is appended to `rows` first, so an interrupted N still shows."""
    from labkit.backends import open_lab
    from labkit.backends.netns import build as netlab

    row: dict = {"n": n, "status": "ok"}
    rows.append(row)
    inv = build_inventory(n)
    names = list(inv.vm_names)
    net_of = {vm.name: vm.adapters[0].network for vm in inv.vms}
    workers = a.workers or len(names)
    row["workers"] = workers
    old_int = signal.getsignal(signal.SIGINT)
    try:
        netlab.down(inv)  # leftovers of a crashed run of this benchmark (its own lab name only)
        t0 = time.perf_counter()
        netlab.up(inv)
        row["up_s"] = time.perf_counter() - t0
        print(f"  N={n}: lab up in {row['up_s']:.1f} s", file=sys.stderr, flush=True)

        ref_lab = open_lab(inv)
        try:
            nat = [v for v in names if net_of[v] == "nat"]
            host_only = [v for v in names if net_of[v] == "hostonly"]
            probe_vm = nat[0] if nat else names[0]
            row["ssh_connect_s"] = ref_ssh(ref_lab, probe_vm, vm_address(ref_lab, probe_vm))
            row["deadline_s"] = TIMEOUT
            if nat and host_only:
                row["deadline_measured_s"] = ref_deadline(ref_lab, nat[0], unused_address(ref_lab, nat[0]))
        finally:
            ref_lab.close()

        row["neigh_needed"], row["neigh_limit"] = neigh_needed(inv), neigh_limit()
        before = neigh_overflows()
        runs = []
        for k in range(a.repeats):
            r = run_labkit(inv, workers)
            runs.append(r)
            print(f"  N={n}: labkit run {k + 1}/{a.repeats}: {r['wall_s']:.2f} s (+ observe {r['observe_s']:.2f} s), "
                  f"{r['handshakes']} handshakes, {r['mismatches']} mismatches", file=sys.stderr, flush=True)
        after = neigh_overflows()
        row["neigh_overflows"] = None if before is None or after is None else after - before
        walls = [r["wall_s"] for r in runs]
        first = runs[0]
        row.update({"pairs": first["cells"], "unreachable": first["unreachable"],
                    "labkit_wall_s": statistics.median(walls), "labkit_walls_s": walls,
                    "labkit_step_s": statistics.median(r["observe_s"] + r["wall_s"] for r in runs),
                    "labkit_observe_s": statistics.median(r["observe_s"] for r in runs),
                    "labkit_handshakes": max(r["handshakes"] for r in runs),
                    "labkit_mismatches": max(r["mismatches"] for r in runs),
                    "labkit_mismatch_examples": next((r["mismatch_examples"] for r in runs if r["mismatches"]), []),
                    "labkit_via": first["via"]})
        if a.trace:
            row["trace"] = trace_labkit(inv, workers)

        if not a.no_baseline:
            blab = open_lab(inv)
            try:
                print(f"  N={n}: baseline over {min(row['pairs'], a.baseline_max_pairs)} of {row['pairs']} pairs ...",
                      file=sys.stderr, flush=True)
                b = run_baseline(blab, first["result"].cells, net_of, a.baseline_max_pairs, a.seed)
            finally:
                blab.close()
            row.update({f"baseline_{k}": v for k, v in b.items()})
            print(f"  N={n}: baseline {b['measured_s']:.1f} s for {b['pairs_run']} pairs", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        row["status"] = "interrupted"
        raise
    except Exception as exc:  # e.g. the machine cannot hold a lab this size: report it, go on
        row["status"] = f"failed: {type(exc).__name__}: {exc}"
        print(f"  N={n}: {row['status']}", file=sys.stderr, flush=True)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave the lab half torn down
        try:
            t0 = time.perf_counter()
            gone = netlab.down(inv)
            print(f"  N={n}: lab down in {time.perf_counter() - t0:.1f} s ({gone['namespaces']} namespaces, "
                  f"{gone['killed']} processes)", file=sys.stderr, flush=True)
        finally:
            signal.signal(signal.SIGINT, old_int)
    row["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # this process, so far
    unit = row.get("deadline_s", TIMEOUT) + row.get("ssh_connect_s", 0)
    if row.get("labkit_wall_s"):
        row["labkit_over_unit"] = row["labkit_step_s"] / unit
        if row.get("baseline_wall_s"):
            row["speedup"] = row["baseline_wall_s"] / row["labkit_step_s"]
    return row


# ---- report --------------------------------------------------------------------------------------------------

def fmt(v, spec: str, prefix: str = "") -> str:
    return "-" if v is None else prefix + format(v, spec)


def report(rows: list[dict]) -> None:
    print(f"\n{'N':>4}{'pairs':>7}{'unreach':>8}{'labkit s':>10}{'observe':>9}{'matrix':>8}{'lk hs':>7}"
          f"{'baseline s':>12}{'bl hs':>7}{'bl/lk':>8}{'lk/(dl+ssh)':>13}{'peak MB':>9}  ssh s  deadline s (measured)")
    for r in rows:
        if r["status"] != "ok":
            print(f"{r['n']:>4}  {r['status']}")
            continue
        sampled = r.get("baseline_sampled")
        tilde = "~" if sampled else ""
        print(f"{r['n']:>4}{r['pairs']:>7}{r['unreachable']:>8}{r['labkit_step_s']:>10.2f}{r['labkit_observe_s']:>9.2f}"
              f"{r['labkit_wall_s']:>8.2f}{r['labkit_handshakes']:>7}"
              f"{fmt(r.get('baseline_wall_s'), '.1f', tilde):>12}{fmt(r.get('baseline_handshakes'), 'd', tilde):>7}"
              f"{fmt(r.get('speedup'), '.0f', tilde):>8}{r['labkit_over_unit']:>13.2f}{r['peak_mb']:>9.0f}"
              f"  {r['ssh_connect_s']:.3f}  {r['deadline_s']:g} ({fmt(r.get('deadline_measured_s'), '.3f')})")
    print()
    for r in rows:
        if r["status"] != "ok":
            continue
        n = r["n"]
        print(f"N={n}: lab up {r['up_s']:.1f} s; {r['workers']} workers; labkit runs "
              f"{', '.join(f'{w:.2f}' for w in r['labkit_walls_s'])} s (median kept); channels {r['labkit_via']}")
        if r["labkit_mismatches"]:
            print(f"  labkit: {r['labkit_mismatches']} of {r['pairs']} cells do NOT hold, e.g.:")
            for ex in r["labkit_mismatch_examples"]:
                print(f"    {ex}")
        else:
            print(f"  labkit: all {r['pairs']} cells hold (observed = model)")
        limit, need, over = r.get("neigh_limit"), r.get("neigh_needed"), r.get("neigh_overflows")
        if over or (limit and need and need > limit):
            print(f"  kernel ARP table: the matrix needs ~{need} entries at once, gc_thresh3 = {limit} (one table for "
                  f"all namespaces); the kernel logged {fmt(over, 'd')} 'neighbor table overflow' during the labkit "
                  f"runs: probes dropped there show as unreachable cells (run without --keep-neigh-limit)")
        if "baseline_wall_s" in r:
            how = (f"sampled {r['baseline_pairs_run']} of {r['pairs']} pairs (stratified by source/target "
                   f"network), {r['baseline_measured_s']:.1f} s measured, extrapolated to all pairs"
                   if r["baseline_sampled"] else f"all {r['pairs']} pairs, {r['baseline_measured_s']:.1f} s")
            print(f"  baseline: {how}; agrees with the model on {r['baseline_agree_with_model']}/"
                  f"{r['baseline_pairs_run']}, differs from labkit on {r['baseline_disagree_with_labkit']}, "
                  f"{r['baseline_errors']} errors")
            for ex in r["baseline_disagree_examples"] + r["baseline_error_examples"]:
                print(f"    {ex}")
        if "trace" in r:
            tr = r["trace"]
            print(f"  where labkit's time goes (separate traced run, {tr['wall_s']:.2f} s; times from matrix start):")
            print(f"    {'what':30}{'calls':>6}{'median s':>10}{'max s':>8}{'sum s':>8}{'first start':>13}{'last end':>10}")
            for what, s in sorted(tr["spans"].items(), key=lambda kv: kv[1]["first_start_s"]):
                print(f"    {what:30}{s['calls']:>6}{s['median_s']:>10.3f}{s['max_s']:>8.3f}{s['sum_s']:>8.2f}"
                      f"{s['first_start_s']:>13.3f}{s['last_end_s']:>10.3f}")
    print(f"\ngoals (labkit's time with its observe): at N={GOAL_N} <= {GOAL_UNIT_X:g} x (ping deadline + one SSH "
          f"connect) and baseline / labkit >= {GOAL_SPEEDUP:g}; N={SCALE_LARGE} <= {GOAL_SCALE_X:g} x N={SCALE_SMALL}")
    r = next((r for r in rows if r["n"] == GOAL_N), None)
    if r is None:
        print(f"  not measured (add {GOAL_N} to --sizes)")
    elif r["status"] == "interrupted":
        print(f"  not measured (N={GOAL_N} was interrupted)")
    elif r["status"] != "ok":
        print(f"  NOT MET: N={GOAL_N} {r['status']}")
    else:
        unit = r["deadline_s"] + r["ssh_connect_s"]
        ok1 = r["labkit_over_unit"] <= GOAL_UNIT_X
        print(f"  time bound: {'met' if ok1 else 'NOT MET'} ({r['labkit_step_s']:.2f} s = {r['labkit_over_unit']:.2f} x "
              f"{unit:.2f} s; budget {GOAL_UNIT_X * unit:.2f} s)")
        if r.get("speedup") is None:
            print("  speedup: not measured (--no-baseline)")
        else:
            ok2 = r["speedup"] >= GOAL_SPEEDUP
            est = " (baseline extrapolated from a sample)" if r["baseline_sampled"] else ""
            print(f"  speedup: {'met' if ok2 else 'NOT MET'} ({r['speedup']:.0f} x){est}")
        if r["labkit_mismatches"]:
            print(f"  note: {r['labkit_mismatches']} cells did not hold at N={GOAL_N}")
    small, large = (next((r for r in rows if r["n"] == k and r["status"] == "ok"), None)
                    for k in (SCALE_SMALL, SCALE_LARGE))
    if small is None or large is None:
        print(f"  scaling: not measured (needs N={SCALE_SMALL} and N={SCALE_LARGE} in --sizes)")
    else:
        x = large["labkit_step_s"] / small["labkit_step_s"]
        print(f"  scaling: {'met' if x <= GOAL_SCALE_X else 'NOT MET'} (N={SCALE_LARGE} {large['labkit_step_s']:.2f} s = "
              f"{x:.2f} x N={SCALE_SMALL} {small['labkit_step_s']:.2f} s)" +
              (f"; note: {large['labkit_mismatches']} cells did not hold at N={SCALE_LARGE}"
               if large["labkit_mismatches"] else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10,20,50", help="comma-separated VM counts (default 10,20,50)")
    ap.add_argument("--workers", type=int, default=0, help="run_matrix workers (default: one per source)")
    ap.add_argument("--repeats", type=int, default=3, help="labkit matrix runs per N, median kept (default 3)")
    ap.add_argument("--baseline-max-pairs", type=int, default=400,
                    help="above this many pairs the baseline runs on a stratified sample and is extrapolated "
                         "(default 400: N=20 runs in full)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the baseline's sample")
    ap.add_argument("--no-baseline", action="store_true", help="skip the naive baseline")
    ap.add_argument("--no-trace", dest="trace", action="store_false",
                    help="skip the traced labkit run that shows where its time goes")
    ap.add_argument("--keep-neigh-limit", dest="raise_neigh_limit", action="store_false",
                    help="do not raise net.ipv4.neigh.default.gc_thresh2/3 for the run (by default they are "
                         "raised when a size needs it, about N = 45 and up, and restored at the end)")
    ap.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    a = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench_netns.py needs root: it builds network namespaces, bridges and iptables rules "
                         "(run it as root, e.g. sudo .venv/bin/python benchmarks/bench_netns.py)")
    from labkit.backends.netns import build as netlab
    try:
        netlab.preflight()
    except Exception as exc:
        raise SystemExit(f"bench_netns.py: {exc}") from None
    sizes = sorted({int(s) for s in a.sizes.split(",") if s.strip()})
    a.repeats = max(1, a.repeats)

    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)  # torn down like Ctrl-C
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background (SIG_IGN)
    rows: list[dict] = []
    saved = {k: neigh_limit(k) for k in (2, 3)}
    raise_it = False
    try:
        need = max(neigh_needed(build_inventory(n)) for n in sizes)
        raise_it = a.raise_neigh_limit and None not in saved.values() and need > 0.9 * (saved[3] or 0)
        if raise_it:
            want = max(saved[3], 2 * need + 512)
            set_neigh_limit(3, want)  # raising: 3 first
            set_neigh_limit(2, max(saved[2], want // 2))
            print(f"  gc_thresh2/3 raised to {max(saved[2], want // 2)}/{want} for this run "
                  f"(were {saved[2]}/{saved[3]})", file=sys.stderr, flush=True)
        for n in sizes:
            bench_n(n, a, rows)
    except KeyboardInterrupt:
        print("\ninterrupted: lab torn down; results so far:", file=sys.stderr)
    finally:
        if raise_it:
            set_neigh_limit(2, saved[2])  # lowering: 2 first, so thresh2 never exceeds thresh3
            set_neigh_limit(3, saved[3])
    report(rows)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"goal": {"n": GOAL_N, "unit_x": GOAL_UNIT_X, "speedup": GOAL_SPEEDUP,
                                "ping_deadline_s": TIMEOUT}, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
