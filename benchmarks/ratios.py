"""Rounds, medians, ranges and ratios: what every benchmark prints, in one place.

Machines here differ twofold from one day to the next, so no figure is read alone: each
is set beside a baseline measured in the same run, rounds interleaved (baseline, ours,
baseline, ours, ...), and printed as the ratio of the two in each round, median and
range. ``BENCH_ROUNDS`` sets the rounds (default 3); ``BENCH_QUICK=1`` runs everything
with small counts, to see that the benchmarks work (its figures mean little).

Each ratio is also appended to the file named by ``BENCH_RESULTS`` (``python -m
benchmarks`` sets it), from which :func:`summary` prints the targets of issue 16.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Callable

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2" if QUICK else "3"))


def scaled(full: int, quick: int) -> int:
    """A count of the full run, or of the quick one."""
    return quick if QUICK else full


def machine() -> str:
    """CPU model, cores and load average, for the figures to be read against."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f
                          if line.startswith("model name")), model)
    except OSError:
        pass
    return (f"{model}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
            f"load average {load()}")


def load() -> str:
    return "%.2f %.2f %.2f" % os.getloadavg()


# --- measuring ---------------------------------------------------------------------------

@dataclass
class Sample:
    wall: float  # seconds
    cpu: float  # CPU-seconds of this process, plus the database server's where readable


def timed(work: Callable[[], object], server_cpu: Callable[[], float] | None = None) -> Sample:
    """Run ``work`` once; its wall time and the CPU time of this process (every thread)
    plus ``server_cpu()``'s growth (the database backend serving it)."""
    server_before = server_cpu() if server_cpu else 0.0
    cpu, started = time.process_time(), time.perf_counter()
    work()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return Sample(wall, cpu + (server_cpu() - server_before if server_cpu else 0.0))


def interleave(contenders: dict[str, Callable[[], object]], rounds: int = ROUNDS) -> dict[str, list]:
    """Each contender once per round, in the order given, ``rounds`` times; their results
    by name, one per round."""
    results: dict[str, list] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():
            results[name].append(run())
    return results


def spread(values: list[float], digits: int = 2) -> str:
    """``median (lowest-highest)``."""
    if not values:
        return "-"
    fmt = f"{{:,.{digits}f}}"
    middle = fmt.format(statistics.median(values))
    if len(values) == 1:
        return middle
    return f"{middle} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def compare(label: str, base_name: str, base: list[float], ours: list[float], unit: str, *,
            key: str | None = None, lower_is_better: bool = False, digits: int = 0) -> list[float]:
    """Print a figure of ours beside its baseline's, and their ratio per round (ours /
    baseline); record the ratios under ``key``. Returns the ratios."""
    ratios = [o / b for o, b in zip(ours, base) if b]
    better = "lower" if lower_is_better else "higher"
    print(f"  {label}")
    print(f"    {base_name:<28} {spread(base, digits):>28} {unit}")
    print(f"    {'stripe_django':<28} {spread(ours, digits):>28} {unit}")
    print(f"    {'ratio (' + better + ' is better)':<28} {spread(ratios):>28}", flush=True)
    if key:
        record(key, ratios)
    return ratios


def record(key: str, values: list[float]) -> None:
    path = os.environ.get("BENCH_RESULTS")
    if path and values:
        with open(path, "a") as f:
            f.write(json.dumps({"key": key, "values": values}) + "\n")


# --- the targets of issue 16 -------------------------------------------------------------

# key, path, target (operator, value); PostgreSQL unless the path says otherwise.
TARGETS = [
    ("ingest.customers.postgresql", "ingest customers, per CPU-s (client + server), / plain COPY", ">=", 0.85),
    ("ingest.invoices.postgresql", "ingest invoices x 5 lines, per CPU-s, / plain COPY", ">=", 0.85),
    ("djstripe.ingest.customers", "ingest customers, per CPU-s, / dj-stripe 2.11", ">=", 80),
    ("djstripe.ingest.invoices", "ingest invoices x 5 lines, per CPU-s, / dj-stripe 2.11", ">=", 80),
    ("sync.customers.postgresql", "sync customers from the stub, objects/s, / fetch + plain COPY", ">=", 0.85),
    ("sync.rss_growth.postgresql", "sync: RSS growth after the first tenth of the pages (MB)", "<=", 10),
    ("webhooks.inline.cpu.postgresql", "webhooks inline, events per server CPU-s, / empty-view floor", ">=", 0.5),
    ("webhooks.inline.p99.postgresql", "webhooks inline, p99 / the floor's p99", "<=", 2),
    ("webhooks.tasks.cpu.postgresql", "webhooks on tasks (store + enqueue), / empty-view floor", ">=", 0.6),
    # issue 18: a clean mirror's verification reads and compares, writes nothing
    ("verify.customers.postgresql", "verify customers from the stub, objects/s, / sync of them", ">=", 1.0),
]


def summary(path: str) -> None:
    """The targets' table, from the ratios recorded in ``path``; then every other ratio
    by its key (``what.detail.database``): SQLite's and MariaDB's, which have no target
    but must not get worse from one run to the next, and the secondary figures."""
    measured: dict[str, list[float]] = {}
    try:
        with open(path) as f:
            for line in f:
                entry = json.loads(line)
                measured.setdefault(entry["key"], []).extend(entry["values"])
    except OSError:
        pass
    rows = []
    for key, label, op, target in TARGETS:
        values = measured.pop(key, [])
        if not values:
            rows.append((label, "not measured", f"{op} {target:g}", "-"))
            continue
        median = statistics.median(values)
        met = median >= target if op == ">=" else median <= target
        rows.append((label, spread(values), f"{op} {target:g}", "met" if met else "NOT met"))
    for key, values in sorted(measured.items()):  # no target: not worse than the last run
        rows.append((key, spread(values), "as before", "compare runs"))
    width = max(len(r[0]) for r in rows)
    print(f"\n== summary: ratios of this run (median (range) over rounds); {machine()}")
    print(f"  {'path':<{width}}  {'now':>22}  {'target':>10}  met")
    for label, now, target, met in rows:
        print(f"  {label:<{width}}  {now:>22}  {target:>10}  {met}")
