"""Ingest CPU per object, the code of a git revision against the working tree, interleaved.

``python -m benchmarks.ingest_ab [REV] [DATABASE_URL]`` (default ``main`` and
PostgreSQL's ``BENCH_POSTGRES_URL``): ``stripe_django/ingest`` of ``REV`` is extracted
into a temporary directory and imported as ``stripe_django._ingest_before`` (the
directory is added to the package's search path, so its relative imports reach the
same models and type table; nothing is written into the source tree). Both then store
the same customers and invoices with 5 lines, in pages of 100 into emptied tables,
alternately (before, after; after, before; ...), ``BENCH_ROUNDS`` rounds (default 6).
Printed: CPU-microseconds per object of this process plus the database server (as
:mod:`benchmarks.ingest_bench` reads it), and of this process alone, medians and
ranges, and the before / after ratio per round. For the per-object work, whose change
of a few per cent the machine's load would hide between two separate runs.
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

from benchmarks.django_env import POSTGRES_URL, ROOT, database

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "6"))
STAMP = 1_800_000_000


def _extract(rev: str, into: str) -> None:
    archive = subprocess.run(["git", "archive", rev, "stripe_django/ingest"], cwd=ROOT,
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    os.rename(os.path.join(into, "stripe_django", "ingest"), os.path.join(into, "_ingest_before"))


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def measure(rev: str, url: str) -> None:
    with tempfile.TemporaryDirectory() as tmp, database(url):
        _extract(rev, tmp)
        import stripe_django

        stripe_django.__path__.append(tmp)
        from django.db import connection

        from benchmarks.baseline import count, empty, server_cpu
        from stripe_django import _ingest_before as before
        from stripe_django import ingest as after
        from stripe_django.models import Customer, Invoice, InvoiceLineItem
        from stripe_django.testing import payloads

        n = int(os.environ.get("BENCH_AB_CUSTOMERS", "3000"))
        datasets = [
            ("customers", [payloads.customer_current(f"cus_ab{i:06d}", email=f"c{i}@example.com")
                           for i in range(n)], [Customer._meta.db_table]),
            ("invoices x 5 lines", [payloads.invoice_current(f"in_ab{i:06d}", n_lines=5)
                                    for i in range(n // 5)],
             [Invoice._meta.db_table, InvoiceLineItem._meta.db_table]),
        ]
        server = server_cpu(connection) or (lambda: 0.0)
        print(f"{connection.vendor}: {rev} (before) against the working tree (after), "
              f"{ROUNDS} rounds, CPU-us per top-level object")
        for name, objs, tables in datasets:
            total: dict[str, list[float]] = {"before": [], "after": []}
            client: dict[str, list[float]] = {"before": [], "after": []}
            for round_ in range(ROUNDS):
                order = [("before", before), ("after", after)]
                for label, module in (order if round_ % 2 == 0 else order[::-1]):
                    empty(connection, tables)
                    server_start, start = server(), time.process_time()
                    for page in range(0, len(objs), 100):
                        module.upsert_many(objs[page:page + 100], stamp=STAMP)
                    used = time.process_time() - start
                    total[label].append((used + server() - server_start) / len(objs) * 1e6)
                    client[label].append(used / len(objs) * 1e6)
                    assert count(connection, tables[0]) == len(objs)
            ratios = [b / a for b, a in zip(total["before"], total["after"])]
            print(f" {name}: before {_spread(total['before'])} (client {_spread(client['before'])}); "
                  f"after {_spread(total['after'])} (client {_spread(client['after'])}); "
                  f"before / after {statistics.median(ratios):.3f} "
                  f"({min(ratios):.3f}-{max(ratios):.3f})", flush=True)


if __name__ == "__main__":
    revision = sys.argv[1] if len(sys.argv) > 1 else "main"
    target = sys.argv[2] if len(sys.argv) > 2 else POSTGRES_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    sys.path.insert(0, str(ROOT))
    measure(revision, target)
