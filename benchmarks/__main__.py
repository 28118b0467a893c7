"""``python -m benchmarks [NAME ...]``: run every benchmark module (or the named ones).

Each module in this package whose name ends in ``_bench`` has a ``run()`` that prints
its figures. Benchmarks print numbers; they do not pass or fail.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(names: list[str]) -> None:
    here = Path(__file__).resolve().parent
    modules = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.endswith("_bench"))
    for name in modules:
        if names and name not in names and name.removesuffix("_bench") not in names:
            continue
        print(f"== {name}")
        importlib.import_module(f"benchmarks.{name}").run()
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
