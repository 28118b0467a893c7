"""Ingest: ``upsert_many`` against a plain bulk load of the same rows, in the same run.

For 10,000 customers and for 2,000 invoices with 5 lines each, in pages of 100 (as the
sync hands them over), rounds interleaved: the baseline (:mod:`benchmarks.baseline`: no
project code; on PostgreSQL a psycopg ``COPY`` per table and page, on SQLite and
MariaDB an ``executemany`` INSERT, one transaction per page) into the emptied tables,
then ``upsert_many`` into the emptied tables, then ``upsert_many`` of the same objects
again with a newer stamp (a re-sync of unchanged objects).

Figures: objects per CPU-second of this process plus the database server serving it
(PostgreSQL backends and the MariaDB connection's thread, read from /proc; SQLite runs
in this process), and the ratio ours / baseline of each round. On a quiet machine
objects per wall-second tell the same; on a busy one the CPU figure is the one to trust.
"""

from __future__ import annotations

import sys

from benchmarks.baseline import PlainTable, count, empty, server_cpu, writer
from benchmarks.django_env import database, in_subprocess, urls
from benchmarks.ratios import ROUNDS, compare, scaled, timed

PAGE = 100
STAMP = 1_800_000_000


def _pages(objs: list, size: int = PAGE):
    for start in range(0, len(objs), size):
        yield objs[start:start + size]


def _dataset(name: str, objs: list, tables: list[PlainTable], units: int) -> None:
    """Interleaved rounds of the baseline and ours on one list of objects; ``units``:
    objects counted per run (the top-level ones)."""
    from django.db import connection

    from stripe_django.sync import upsert_many

    names = [t.table for t in tables]
    plain_write = writer(connection, tables)
    server = server_cpu(connection)
    pages = list(_pages(objs))
    stored: dict[str, list[int]] = {"plain": [], "ours": []}

    def plain():
        for page in pages:
            rows: dict[str, list] = {}
            for obj in page:
                tables[0].rows(obj, rows)
            plain_write(rows)

    def ours_new():
        for page in pages:
            upsert_many(page, stamp=STAMP)

    def ours_again():
        for page in pages:
            upsert_many(page, stamp=STAMP + 100)

    figures: dict[str, list[float]] = {"plain": [], "new": [], "again": []}
    for _ in range(ROUNDS):
        for label, run in (("plain", plain), ("new", ours_new), ("again", ours_again)):
            if label != "again":
                empty(connection, names)
            sample = timed(run, server)
            figures[label].append(units / sample.cpu)
            if label != "again":
                stored["plain" if label == "plain" else "ours"].append(sum(count(connection, t) for t in names))
    rows = {k: sorted(set(v)) for k, v in stored.items()}
    vendor = connection.vendor
    print(f" {vendor}, {name} (rows stored per run: plain {rows['plain']}, ours {rows['ours']}):")
    dataset = "customers" if "customers" in name else "invoices"
    compare("new objects", "plain bulk load", figures["plain"], figures["new"], "objects per CPU-s",
            key=f"ingest.{dataset}.{vendor}")
    compare("the same again, unchanged (re-sync)", "plain bulk load (new)", figures["plain"],
            figures["again"], "objects per CPU-s", key=f"ingest.{dataset}_resync.{vendor}")


def measure(url: str) -> None:
    with database(url):
        from django.db import connection

        from stripe_django.models import Customer, Invoice, InvoiceLineItem
        from stripe_django.testing import payloads

        n_customers, n_invoices = scaled(10_000, 500), scaled(2_000, 100)
        vendor = connection.vendor
        customers = [payloads.customer_current(f"cus_bench{i:06d}", email=f"c{i}@example.com")
                     for i in range(n_customers)]
        _dataset(f"{n_customers:,} customers", customers, [PlainTable(Customer, vendor, STAMP)], n_customers)
        invoices = [payloads.invoice_current(f"in_bench{i:06d}", n_lines=5) for i in range(n_invoices)]
        lines = PlainTable(InvoiceLineItem, vendor, STAMP)
        _dataset(f"{n_invoices:,} invoices x 5 lines", invoices,
                 [PlainTable(Invoice, vendor, STAMP, {"lines": lines}), lines], n_invoices)


def run() -> None:
    for url in urls():
        in_subprocess("benchmarks.ingest_bench", url)


if __name__ == "__main__":
    measure(sys.argv[1])
