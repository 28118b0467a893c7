"""``python -m benchmarks [NAME ...]``: run every benchmark module (or the named ones).

Each module in this package whose name ends in ``_bench`` has a ``run()`` that prints
its figures. Benchmarks print numbers; they do not pass or fail.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from pathlib import Path


def _machine() -> str:
    """CPU model and cores, for the figures to be read against."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f
                          if line.startswith("model name")), model)
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {sys.version.split()[0]}"


def main(names: list[str]) -> None:
    from benchmarks.calibration import postgres_reference, python_reference
    from benchmarks.django_env import POSTGRES_URL

    print(f"machine: {_machine()}")
    server = postgres_reference(POSTGRES_URL)
    print(f"reference workloads (lower is faster; see benchmarks/calibration.py): Python "
          f"{python_reference():.0f} ms, PostgreSQL "
          + (f"{server:.1f} ms" if server is not None else "not reachable"))
    here = Path(__file__).resolve().parent
    modules = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.endswith("_bench"))
    for name in modules:
        if names and name not in names and name.removesuffix("_bench") not in names:
            continue
        print(f"== {name} (load average %.1f %.1f %.1f)" % os.getloadavg())
        importlib.import_module(f"benchmarks.{name}").run()
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
