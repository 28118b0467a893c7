"""Revenue analytics on a large mirror: MRR at a date and a 12-month movement table.

``run()``: on PostgreSQL (``BENCH_POSTGRES_URL``) and SQLite, in a process each, store
``REVENUE_BENCH_SUBSCRIPTIONS`` subscriptions (default 30,000) drawn by
``stripe_django.testing.revenue.random_account`` and, for ``REVENUE_BENCH_MONTHS``
months (default 6), a paid invoice a month for each subscription counting then (one
line each). Measured (best of 3, and queries): ``mrr(at)`` against a plain SQL ``SUM``
of unit amount x quantity over the same subscription items, ``mrr_from_invoices(at)``
against a plain ``SUM`` of the lines' amounts, a 12-month movement table from the
subscriptions, and the peak of Python memory allocated by each (tracemalloc).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
import tracemalloc
from pathlib import Path

from .django_env import ROOT, SQLITE_URL, database, in_subprocess, urls
from .ratios import QUICK

SUBSCRIPTIONS = int(os.environ.get("REVENUE_BENCH_SUBSCRIPTIONS", "2000" if QUICK else "30000"))
MONTHS = int(os.environ.get("REVENUE_BENCH_MONTHS", "6"))
UTC = dt.timezone.utc
AT = dt.datetime(2025, 6, 15, tzinfo=UTC)
EXAMPLES = ROOT.parent / "shared" / "stripe-openapi" / "fixtures3.json"


def _best(work, rounds: int = 3) -> tuple[float, int, float]:
    """(best milliseconds, queries, peak MiB allocated in Python). The timed rounds run
    without tracemalloc (it slows every allocation several times); one more round
    measures the memory."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    with CaptureQueriesContext(connection) as captured:
        work()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return best * 1000, len(captured), peak


def _invoices(subscriptions: list[dict], payloads) -> list[dict]:
    """A paid invoice (one line) per subscription per month it counted, the last MONTHS months."""
    from stripe_django.testing.revenue import month_start

    out = []
    for sub in subscriptions:
        item = sub["items"]["data"][0]
        price = item["price"]
        if price["recurring"]["interval"] != "month" or price["recurring"]["interval_count"] != 1:
            continue
        for back in range(MONTHS):
            start = month_start(AT.year, AT.month - back)
            end = month_start(AT.year, AT.month - back + 1)
            stamp = int(start.timestamp())
            if sub["start_date"] > stamp or (sub["ended_at"] and sub["ended_at"] <= stamp):
                continue
            amount = int(price["unit_amount"] or 0) * item["quantity"]
            iid = f"in_{sub['id'][4:]}_{back}"
            line = payloads.line(f"il_{sub['id'][4:]}_{back}", subscription=sub["id"], item=item["id"],
                                 price=price["id"], amount=amount, quantity=item["quantity"],
                                 currency=price["currency"], start=start.isoformat()[:19], end=end.isoformat()[:19])
            out.append(payloads.invoice(iid, sub["customer"], [line], subscription=sub["id"],
                                        created=start.isoformat()[:19], currency=price["currency"]))
    return out


def main(url: str) -> None:
    with database(url):
        from django.db import connection

        from stripe_django import analytics
        from stripe_django.sync import upsert_many
        from stripe_django.testing.revenue import Payloads, random_account

        payloads = Payloads(json.loads(Path(EXAMPLES).read_text())["resources"])
        objects = list(random_account(payloads, subscriptions=SUBSCRIPTIONS, months=24, seed=11,
                                      start=dt.datetime(2023, 7, 1, tzinfo=UTC)))
        subscriptions = [o for o in objects if o["object"] == "subscription"]
        invoices = _invoices(subscriptions, payloads)
        start = time.perf_counter()
        for offset in range(0, len(objects), 5000):
            upsert_many(objects[offset:offset + 5000])
        for offset in range(0, len(invoices), 5000):
            upsert_many(invoices[offset:offset + 5000])
        stored = time.perf_counter() - start
        vendor = connection.vendor
        if vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        print(f"  {vendor}: {len(subscriptions):,} subscriptions, {len(invoices):,} invoices with one line "
              f"stored in {stored:.1f} s")
        counted = analytics.subscriptions_active_at(AT).count()
        print(f"  {vendor}: {counted:,} subscriptions count on {AT:%Y-%m-%d}; MRR {analytics.mrr(AT)}")

        def plain_items() -> None:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT s.currency, SUM(p.unit_amount * i.quantity) FROM stripe_django_subscriptionitem i "
                    "JOIN stripe_django_subscription s ON s.id = i.subscription_id "
                    "JOIN stripe_django_price p ON p.id = i.price_id "
                    "WHERE s.status IN ('active', 'past_due') AND s.start_date <= %s "
                    "AND (s.ended_at IS NULL OR s.ended_at > %s) GROUP BY s.currency", [AT, AT])
                cursor.fetchall()

        def plain_lines() -> None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT currency, SUM(amount) FROM stripe_django_invoicelineitem GROUP BY currency")
                cursor.fetchall()

        rows = [
            ("plain SQL SUM over the subscription items", plain_items),
            ("mrr(at) from subscriptions", lambda: analytics.mrr(AT)),
            ("plain SQL SUM over the invoice lines", plain_lines),
            ("mrr_from_invoices(at)", lambda: analytics.mrr_from_invoices(AT)),
            ("12-month movement table (subscriptions)",
             lambda: analytics.movements(dt.datetime(2024, 6, 1, tzinfo=UTC), dt.datetime(2025, 6, 1, tzinfo=UTC))),
        ]
        figures = {}
        for label, work in rows:
            ms, queries, peak = _best(work, rounds=1 if "12-month" in label else 3)
            figures[label] = ms
            print(f"  {vendor}: {label:<42} {ms:9.1f} ms  {queries:3d} queries  peak {peak:6.1f} MiB")
        report = analytics.agreement(AT)
        print(f"  {vendor}: on {AT:%Y-%m-%d}, from subscriptions {report.from_subscriptions}, from invoices "
              f"{report.from_invoices}; the differences by cause:")
        for cause, amounts in sorted(report.by_cause().items()):
            print(f"  {vendor}:   {cause}: {amounts}")
        print(f"  {vendor}: mrr(at) / plain SUM = "
              f"{figures['mrr(at) from subscriptions'] / figures['plain SQL SUM over the subscription items']:.1f}x; "
              f"mrr_from_invoices(at) / plain SUM = "
              f"{figures['mrr_from_invoices(at)'] / figures['plain SQL SUM over the invoice lines']:.1f}x")


def run() -> None:
    print(f"revenue analytics over {SUBSCRIPTIONS:,} subscriptions (REVENUE_BENCH_SUBSCRIPTIONS) and "
          f"{MONTHS} months of invoices (REVENUE_BENCH_MONTHS)")
    for url in urls():
        if url == SQLITE_URL or "postgres" in url:
            in_subprocess("benchmarks.revenue_bench", url)


if __name__ == "__main__":
    main(sys.argv[1])
