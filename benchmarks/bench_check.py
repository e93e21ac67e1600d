"""Benchmark: `labkit check` of a valid inventory of N VMs, written as a person would (the seed lab's style).

    .venv/bin/python benchmarks/bench_check.py [--sizes 500,5000] [--repeats 3] [--keep DIR]
    .venv/bin/python benchmarks/bench_check.py --sizes 5000 --profile     # cProfile, top 20 by own time

Each size runs `python -m labkit.cli check FILE` in a fresh process, `--repeats` times; the fastest
wall time and that run's CPU time and peak RSS are kept. "check" includes interpreter start and
imports, so the script also times an inventory of 1 VM and reports the difference ("work"): the
parse, validation and cross-field checks. The ratio of work per VM, largest N over smallest, near 1
means the cost grows linearly with the inventory. A benchmark, not a test: it never fails.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

HEAD = """\
lab: bench-{n}
backend:
  type: sim
host:
  lan_address: 192.168.1.100
  os: windows
lan:
  subnet: 192.168.1.0/24
  router: 192.168.1.1
  dhcp: {{start: 192.168.1.101, end: 192.168.1.199}}
externals:
  internet: {{address: 203.0.113.10}}
networks:
  bridged:
    type: bridged
    backend_network: VMnet0
  nat:
    type: nat
    backend_network: VMnet8
    subnet: 10.0.0.0/16
    host_adapter: {{address: 10.0.0.1, enabled: true}}
    gateway: 10.0.0.2
    dhcp: {{server: 10.0.255.254, start: 10.0.8.0, end: 10.0.255.253}}
  hostonly:
    type: hostonly
    backend_network: VMnet1
    subnet: 192.168.56.0/24
    host_adapter: {{address: 192.168.56.1, enabled: true}}
vms:
"""

VM = """\
  - name: vm{i:05d}
    os: {os}
    dialect: {dialect}
    adapters:
      - interface: eth0
        label: Network adapter 1
        mac: 00:0c:29:{a:02x}:{b:02x}:{c:02x}
        network: nat
        config: {config}
"""


def inventory_text(n: int) -> str:
    """n VMs on the NAT network, one in five Windows, one in ten with a static address (as the seed lab's centos)."""
    parts = [HEAD.format(n=n)]
    for i in range(n):
        windows = i % 5 == 4
        config = "{dhcp: true}"
        if i % 10 == 3:
            j = i // 10
            config = f"{{address: 10.0.{1 + j // 250}.{j % 250 + 3}/16, gateway: 10.0.0.2, dns: [10.0.0.2]}}"
        parts.append(VM.format(i=i, os="windows" if windows else "linux", dialect="netsh" if windows else "ifcfg",
                               a=i >> 16 & 255, b=i >> 8 & 255, c=i & 255, config=config))
    return "".join(parts)


def nodes(text: str) -> int:
    """Keys and values in the document (what labkit.yamlcompose.MAX_NODES bounds)."""
    from ruamel.yaml import YAML

    from labkit.yamlcompose import Composer

    composer = Composer("<bench>")
    composer.run(YAML(typ="safe", pure=True).parse(text))
    return composer.nodes


def run_check(path: Path) -> tuple[float, float, int, int]:
    """(wall s, cpu s, peak RSS MB, exit status) of one `labkit check` in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "labkit.cli", "check", str(path)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    if status:
        print(err, file=sys.stderr)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024, os.waitstatus_to_exitcode(status)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="500,5000")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="write the inventories here (default: a temporary directory)")
    ap.add_argument("--profile", action="store_true", help="profile checking the largest size in-process")
    args = ap.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    directory = args.keep or Path(tempfile.mkdtemp(prefix="labkit-bench-check-"))
    directory.mkdir(parents=True, exist_ok=True)

    if args.profile:
        path = directory / f"inventory-{sizes[-1]}.yml"
        path.write_text(inventory_text(sizes[-1]))
        from labkit.inventory import load_inventory

        profile = cProfile.Profile()
        profile.runcall(load_inventory, path)
        pstats.Stats(profile).sort_stats("tottime").print_stats(20)
        return 0

    rows = []
    for n in [1, *sizes]:
        text = inventory_text(n)
        path = directory / f"inventory-{n}.yml"
        path.write_text(text)
        runs = [run_check(path) for _ in range(args.repeats)]
        wall, cpu, rss, code = min(runs)
        rows.append((n, len(text.encode()), nodes(text), wall, cpu, rss, code))
    base_wall = rows[0][3]
    print(f"{'VMs':>6} {'bytes':>10} {'keys+values':>12} {'check s':>8} {'cpu s':>6} {'peak MB':>8} "
          f"{'work s':>7} {'ms/VM':>6} exit")
    for n, size, count, wall, cpu, rss, code in rows:
        work = wall - base_wall
        per_vm = f"{1000 * work / n:6.2f}" if n > 1 else "     -"
        print(f"{n:>6} {size:>10,} {count:>12,} {wall:>8.2f} {cpu:>6.2f} {rss:>8} {work:>7.2f} {per_vm} {code}")
    (small, *_), (large, *_) = rows[1], rows[-1]
    small_work, large_work = rows[1][3] - base_wall, rows[-1][3] - base_wall
    if small_work > 0 and large != small:
        ratio = (large_work / large) / (small_work / small)
        print(f"work per VM, {large} VMs / {small} VMs: {ratio:.2f} (1.0: linear); "
              f"check time {large} / {small}: {rows[-1][3] / rows[1][3]:.2f}")
    print(f"inventories in {directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
