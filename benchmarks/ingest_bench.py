"""Ingest throughput: ``upsert_many`` of customers and of invoices with their lines.

Prints objects per second for 10,000 customers and 2,000 invoices with 5 lines each,
written in pages of 100 (as the sync does), on SQLite and PostgreSQL: first into an
empty table (inserts), then the same objects again with a newer stamp (re-sync).

Two figures per line: objects per second of wall time, and objects per CPU-second of
this process plus the PostgreSQL backend serving it (read from /proc when the server
runs on this machine). The client waits for each statement, so on a quiet machine the
two agree; on a busy one the second is the one to trust.
"""

from __future__ import annotations

import os
import sys
import time

from benchmarks.django_env import POSTGRES_URL, SQLITE_URL, database, in_subprocess

PAGE = 100


def _pages(objs: list, size: int = PAGE):
    for start in range(0, len(objs), size):
        yield objs[start:start + size]


def _backend_pid() -> int | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    return pid if os.path.exists(f"/proc/{pid}/stat") else None


def _cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measure(label: str, objs: list, stamp: int, unit_count: int) -> None:
    from stripe_django.sync import upsert_many

    backend = _backend_pid()
    cpu_before = time.process_time() + _cpu_seconds(backend)
    started = time.perf_counter()
    for page in _pages(objs):
        upsert_many(page, stamp=stamp)
    seconds = time.perf_counter() - started
    cpu = time.process_time() + _cpu_seconds(backend) - cpu_before
    print(f"  {label:<44} {unit_count / seconds:>9,.0f} objects/s  ({seconds:.2f} s);"
          f" {unit_count / cpu:>9,.0f} per CPU-second")


def measure(url: str) -> None:
    with database(url):
        from django.db import connection

        from stripe_django.testing import payloads

        print(f" {connection.vendor}:")
        customers = [payloads.customer_current(f"cus_bench{i:06d}", email=f"c{i}@example.com")
                     for i in range(10_000)]
        invoices = [payloads.invoice_current(f"in_bench{i:06d}", n_lines=5) for i in range(2_000)]
        _measure("10,000 customers, new", customers, 1_800_000_000, len(customers))
        _measure("10,000 customers, unchanged (re-sync)", customers, 1_800_000_100, len(customers))
        for c in customers:
            c["description"] = "changed"
        _measure("10,000 customers, all changed", customers, 1_800_000_200, len(customers))
        _measure("2,000 invoices x 5 lines, new (invoices/s)", invoices, 1_800_000_000, len(invoices))
        _measure("2,000 invoices x 5 lines, new+lines (rows/s)", [payloads.invoice_current(
            f"in_rows{i:06d}", n_lines=5) for i in range(2_000)], 1_800_000_000, 2_000 * 7)


def run() -> None:
    for url in (SQLITE_URL, POSTGRES_URL):
        in_subprocess("benchmarks.ingest_bench", url)


if __name__ == "__main__":
    measure(sys.argv[1])
