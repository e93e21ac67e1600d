"""Benchmark: switching N VMs' adapters on vcsim, labkit's batch against a sequential baseline.

    .venv/bin/python benchmarks/bench_vsphere.py [--sizes 1,10,50] [--delay-ms 300] [--repeats 1] [--workers 32]

One vcsim (tests/vcsim, built by `make vcsim`) with 50 VMs and a method delay on ReconfigVM_Task
(vcsim delays the SOAP call itself, as a busy vCenter's round trip would), TLS verified against a
certificate made for the run. For each N, both sides move the same N VMs between a standard port
group and an opaque network (alternating, so every run is a real change):

  labkit    VsphereHypervisor.set_adapter_networks: reconfigure tasks submitted from a pool of
            backend.workers (32) threads, waited for together, each VM read back to verify.
  baseline  one VM at a time, as an Ansible loop with one fork does: read the NIC, submit
            ReconfigVM_Task with the same edit, wait for it, next VM (the same pyvmomi session).

Goal (printed met / NOT MET, exit status 0 either way): 50 VMs within 3 x labkit's time for 1 VM.
Peak RSS is this process's (labkit's side; vcsim runs apart), after each N.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyVim.task import WaitForTask  # noqa: E402

from labkit.backends.vsphere.lab import VsphereLab  # noqa: E402
from labkit.backends.vsphere import nics  # noqa: E402
from tests.backends.vsphere.conftest import PASSWORD_ENV, sim_inventory, start_vcsim, stop_vcsim, vm_entry  # noqa: E402

MODES = ("standard", "opaque")


def labkit_switch(lab: VsphereLab, names: list[str], mode: str) -> float:
    requests = [(n, lab.inventory.vm(n).adapters[0], mode) for n in names]
    start = time.perf_counter()
    out = lab.hypervisor.set_adapter_networks(requests)
    elapsed = time.perf_counter() - start
    bad = {n: o for n, o in out.items() if o is not True}
    if bad:
        raise SystemExit(f"labkit: not every VM changed: {bad}")
    return elapsed


def sequential_switch(lab: VsphereLab, names: list[str], mode: str) -> float:
    hv = lab.hypervisor
    target = hv._target(mode)
    start = time.perf_counter()
    for n in names:
        _, obj, card, _ = hv._card(n, lab.inventory.vm(n).adapters[0])
        WaitForTask(obj.ReconfigVM_Task(spec=nics.edit_spec(card, target)))
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,10,50")
    ap.add_argument("--delay-ms", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--workers", type=int, default=32, help="backend.workers (the inventory default: 32)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        sim = start_vcsim(Path(tmp), "-vm", str(max(sizes)), "-reconfig-delay", str(args.delay_ms))
        os.environ[PASSWORD_ENV] = sim.password
        try:
            run(sim, sizes, args)
        finally:
            stop_vcsim(sim)


def run(sim, sizes: list[int], args) -> None:
    vms = [vm_entry(f"vm{i}", i) for i in range(max(sizes))]
    lab = VsphereLab(sim_inventory(sim, vms, workers=args.workers))
    names_all = [v["name"] for v in vms]
    flip = 0
    try:
        labkit_switch(lab, names_all, "distributed")  # warm up: session, lookups, every VM on a third network
        print(f"vcsim, ReconfigVM_Task delay {args.delay_ms} ms, workers {lab.hypervisor.workers}")
        print(f"{'N':>4} {'labkit s':>9} {'baseline s':>11} {'baseline/labkit':>16} {'labkit N / labkit 1':>20} "
              f"{'peak MB':>8}")
        one = None
        for n in sizes:
            names = names_all[:n]
            t_lab, t_seq = [], []
            for _ in range(args.repeats):
                t_lab.append(labkit_switch(lab, names, MODES[flip % 2]))
                flip += 1
                t_seq.append(sequential_switch(lab, names, MODES[flip % 2]))
                flip += 1
            lab_s, seq_s = min(t_lab), min(t_seq)
            one = lab_s if one is None and n == 1 else one
            ratio = f"{lab_s / one:.2f}" if one else "-"
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{n:>4} {lab_s:>9.2f} {seq_s:>11.2f} {seq_s / lab_s:>15.1f}x {ratio:>20} {peak:>8.0f}")
        if one and 50 in sizes:
            print(f"goal: 50 VMs within 3 x one VM: {'met' if lab_s <= 3 * one else 'NOT MET'} "
                  f"({lab_s:.2f} s vs {3 * one:.2f} s)")
    finally:
        lab.close()


if __name__ == "__main__":
    main()
