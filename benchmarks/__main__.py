"""``python -m benchmarks [NAME ...]``: run every benchmark module (or the named ones).

Each module in this package whose name ends in ``_bench`` has a ``run()`` that prints
its figures, each beside a baseline measured in the same run and as a ratio to it
(:mod:`benchmarks.ratios`); at the end, the table of issue 16's targets. Benchmarks
print numbers; they do not pass or fail. ``BENCH_QUICK=1``: small counts, SQLite only
(``BENCH_DATABASES=sqlite,postgres,mysql`` chooses), to see that everything runs.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import tempfile
from pathlib import Path


def main(names: list[str]) -> None:
    from benchmarks.calibration import postgres_reference, python_reference
    from benchmarks.django_env import POSTGRES_URL
    from benchmarks.ratios import QUICK, ROUNDS, machine, summary

    print(f"machine: {machine()}")
    print(f"{ROUNDS} rounds, interleaved" + (" (quick mode: small counts)" if QUICK else ""))
    server = postgres_reference(POSTGRES_URL)
    print(f"reference workloads (lower is faster; see benchmarks/calibration.py): Python "
          f"{python_reference():.0f} ms, PostgreSQL "
          + (f"{server:.1f} ms" if server is not None else "not reachable"))
    results = tempfile.NamedTemporaryFile(prefix="bench-ratios-", suffix=".jsonl", delete=False)
    results.close()
    os.environ["BENCH_RESULTS"] = results.name  # the children append their ratios to it
    here = Path(__file__).resolve().parent
    modules = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.endswith("_bench"))
    for name in modules:
        if names and name not in names and name.removesuffix("_bench") not in names:
            continue
        if QUICK and not names and name == "djstripe_bench":
            print("== djstripe_bench: skipped in the quick mode (its migrations alone take a minute); "
                  "`python -m benchmarks djstripe` runs it")
            continue
        print(f"== {name} (load average %.1f %.1f %.1f)" % os.getloadavg())
        importlib.import_module(f"benchmarks.{name}").run()
        sys.stdout.flush()
    summary(results.name)
    os.unlink(results.name)


if __name__ == "__main__":
    main(sys.argv[1:])
