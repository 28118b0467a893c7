"""Revenue analytics on a large mirror: MRR at a date, MRR from invoices and a 12-month
movement table, each against a plain SQL of the same shape, in interleaved rounds.

``run()``: on PostgreSQL (``BENCH_POSTGRES_URL``) and SQLite (``BENCH_DATABASES``), in
a process each, store ``REVENUE_BENCH_SUBSCRIPTIONS`` subscriptions (default 100,000)
drawn by ``stripe_django.testing.revenue.random_account`` (through ``upsert_many``) and,
for the ``REVENUE_BENCH_MONTHS`` months (default 15, 4 in the quick mode) before the
date, a paid invoice for each billing period of each subscription, whatever its
interval, a line per item: about a million of each at 100,000 subscriptions, written
by the plain loader once a sample has shown it stores what ``upsert_many`` stores
(:mod:`benchmarks.revenue_seed`, which also keeps the database between runs with
``REVENUE_BENCH_KEEP=1``). Then, ``BENCH_ROUNDS`` rounds, each running every baseline
and its contender in turn, timed in CPU-seconds of this process and the database
server's backends (and in wall time, printed too):

- ``mrr(at)`` against the SQL ``SUM(unit_amount x quantity)`` over the items of
  ``subscriptions_active_at(at)`` (the same counting rule, no discounts, no tiers);
- ``mrr_from_invoices(at)`` against the SQL ``SUM(amount)`` of the same lines in force
  at the date (the queryset's own SQL with a ``SUM``: the same JSON reads and filters);
- the 12-month movement table against its 13 boundaries' per-customer SQL sums (the
  plain SQL of the same shape, fetched, without the pricing or the classification);
- ``mrr(at)`` at a date inside the events window (``REVENUE_EVENTS_DAYS``, 15 days
  before now) against the same SQL ``SUM`` at that date, with a renewal stored for
  ``REVENUE_BENCH_RENEWALS`` (default 90%) of the subscriptions running then: a
  ``customer.subscription.updated`` event after the date whose ``previous_attributes``
  hold what a renewal changes (the items' ``current_period_start``/``_end``, or the
  subscription's with ``REVENUE_BENCH_RENEWAL_SHAPE=subscription``, and the
  ``latest_invoice``), as Stripe sends on every renewal. Measured after the other
  figures: these events are after AT too.

Printed: each figure's median and range over the rounds, the ratio to its baseline in
each round, the queries and the peak of Python memory (tracemalloc, in a round of its
own: it slows every allocation), and a profile (``cProfile``, the database's share
apart) of ``mrr`` and ``mrr_from_invoices``: where the time above the baseline goes.

The memory ceiling it checks: each figure's Python peak against ``PEAK_CEILING``
(``mrr(at)`` 8 MiB, ``mrr_from_invoices`` 8 MiB, the movement table 280 MiB, ``mrr(at)``
inside the window 8 MiB: about twice each peak measured at 100,000 subscriptions, 8 at least),
and at the end the process's peak RSS (``getrusage``) against ``RSS_CEILING``; a figure
above its ceiling is printed OVER THE CEILING.
"""

from __future__ import annotations

import cProfile
import datetime as dt
import io
import json
import os
import pstats
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable

from .django_env import ROOT, SQLITE_URL, database, in_subprocess, urls
from .baseline import server_cpu
from .ratios import QUICK, ROUNDS, compare, interleave, machine, timed

SUBSCRIPTIONS = int(os.environ.get("REVENUE_BENCH_SUBSCRIPTIONS", "2000" if QUICK else "100000"))
# the quick mode: a few months of invoices, enough for the figures to run
MONTHS = int(os.environ.get("REVENUE_BENCH_MONTHS", "4" if QUICK else "15"))
SEED = 11
KEEP = os.environ.get("REVENUE_BENCH_KEEP", "") not in ("", "0")
PROFILE = os.environ.get("REVENUE_BENCH_PROFILE", "1") not in ("", "0")
UTC = dt.timezone.utc
AT = dt.datetime(2025, 6, 15, tzinfo=UTC)
RENEWALS = float(os.environ.get("REVENUE_BENCH_RENEWALS", "0.9"))
# where a renewal's new period shows: "items" (API versions from 2025-03-31, the SDK's:
# each item's current_period_start/_end, so previous_attributes holds the items) or
# "subscription" (older versions: the subscription's own current_period_start/_end)
RENEWAL_SHAPE = os.environ.get("REVENUE_BENCH_RENEWAL_SHAPE", "items")
# a date inside the events window (the window ends now: the date is taken when the bench runs)
IN_WINDOW = dt.datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=15)
TABLE = (dt.datetime(2024, 6, 1, tzinfo=UTC), dt.datetime(2025, 6, 1, tzinfo=UTC))
EXAMPLES = ROOT.parent / "shared" / "stripe-openapi" / "fixtures3.json"


def _renewals(subscriptions: list[dict], start: int) -> list[dict]:
    """A renewal event after IN_WINDOW for RENEWALS of the subscriptions running then:
    the subscription as it is after the renewal (its item's period moved on a month),
    and in ``previous_attributes`` the items as they were and the previous invoice."""
    import copy
    import random

    rng = random.Random(start)
    stamp = int(IN_WINDOW.timestamp())
    out = []
    for n, sub in enumerate(subscriptions, start):
        if sub["status"] not in ("active", "past_due") or sub["start_date"] > stamp or rng.random() >= RENEWALS:
            continue
        renewed = stamp + rng.randint(3600, 14 * 86400)
        obj = dict(sub, latest_invoice=f"in_renew{n}")
        previous: dict[str, Any] = {"latest_invoice": f"in_prev{n}"}
        if RENEWAL_SHAPE == "items":
            before = copy.deepcopy(sub["items"]["data"])
            for item in before:
                item["current_period_start"], item["current_period_end"] = renewed - 30 * 86400, renewed
            obj["items"] = copy.deepcopy(sub["items"])
            for item in obj["items"]["data"]:
                item["current_period_start"], item["current_period_end"] = renewed, renewed + 30 * 86400
            previous["items"] = {"data": before}
        else:
            obj.update(current_period_start=renewed, current_period_end=renewed + 30 * 86400)
            previous.update(current_period_start=renewed - 30 * 86400, current_period_end=renewed)
        out.append({"id": f"evt_renew{n:06d}", "object": "event", "api_version": "2026-10-28.endive",
                    "created": renewed, "livemode": False, "pending_webhooks": 0,
                    "request": {"id": None, "idempotency_key": None}, "type": "customer.subscription.updated",
                    "data": {"object": obj, "previous_attributes": previous}})
    return out


def _store(connection) -> tuple[list[dict], int, int, float, str]:
    """Build the account and store it, or find it stored (``REVENUE_BENCH_KEEP``):
    (subscriptions, invoices, invoice lines, seconds, how)."""
    from stripe_django.models import Event, Invoice, InvoiceLineItem, Subscription
    from stripe_django.sync import upsert_many
    from stripe_django.testing.revenue import Payloads, month_start, random_account

    from . import revenue_seed as seed

    payloads = Payloads(json.loads(Path(EXAMPLES).read_text())["resources"])
    objects = list(random_account(payloads, subscriptions=SUBSCRIPTIONS, months=24, seed=SEED,
                                  start=dt.datetime(2023, 7, 1, tzinfo=UTC)))
    subscriptions = [o for o in objects if o["object"] == "subscription"]
    parameters = {"subscriptions": SUBSCRIPTIONS, "months": MONTHS, "seed": SEED}
    if KEEP and seed.seeded(connection, parameters):
        # the last run's renewal events are after AT too: without them the account is
        # as stored (storing an event writes only the event's row)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(Event._meta.db_table)} WHERE id LIKE %s",
                           ["evt_renew%"])
        return (subscriptions, Invoice.objects.count(), InvoiceLineItem.objects.count(), 0.0,
                "kept from an earlier run (REVENUE_BENCH_KEEP)")
    if KEEP and (Subscription.objects.exists() or seed.MARKER in connection.introspection.table_names()):
        seed.empty(connection)
    started = time.perf_counter()
    for offset in range(0, len(objects), 5000):
        upsert_many(objects[offset:offset + 5000])
    del objects
    public = time.perf_counter() - started
    first = month_start(AT.year, AT.month - MONTHS + 1)
    invoices, lines, verdict = seed.store_invoices(connection, subscriptions, payloads, first, AT,
                                                   int(time.time()))
    if KEEP:
        seed.mark(connection, parameters)
    stored = time.perf_counter() - started
    return (subscriptions, invoices, lines, stored,
            f"stored in {stored:.0f} s (the subscriptions by upsert_many in {public:.0f} s, the invoices by "
            f"the plain loader in {stored - public:.0f} s; {verdict})")


def _store_renewals(subscriptions: list[dict]) -> int:
    """Store the renewal events (after the other figures are measured: they are in the
    window after AT too, so they would change what those figures measure)."""
    from stripe_django.sync import upsert_many

    # the mirror has received subscription events since before the window: the state
    # is exact in all of it (an event older than the window, never read)
    old = dict(subscriptions[0], status="canceled")
    upsert_many([{"id": "evt_renew_old", "object": "event", "api_version": "2026-10-28.endive",
                  "created": int((IN_WINDOW - dt.timedelta(days=40)).timestamp()), "livemode": False,
                  "pending_webhooks": 0, "request": {"id": None, "idempotency_key": None},
                  "type": "customer.subscription.deleted", "data": {"object": old}}])
    renewals = 0
    for offset in range(0, len(subscriptions), 5000):
        events = _renewals(subscriptions[offset:offset + 5000], offset)
        renewals += len(events)
        upsert_many(events)
    return renewals


def _raw(queryset) -> Callable[[], Any]:
    """The queryset's own SQL, run through the cursor and fetched: what the database
    alone costs for that shape."""
    from django.db import connection

    sql, params = queryset.query.sql_with_params()

    def run() -> list:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    return run


def baselines() -> dict[str, Callable[[], Any]]:
    from django.db.models import F, Sum

    from stripe_django import analytics
    from stripe_django.analytics.history import subscription_lines_at
    from stripe_django.analytics.movements import boundaries
    from stripe_django.models import SubscriptionItem

    def item_sums(at: dt.datetime, *group: str):
        return (SubscriptionItem.objects
                .filter(subscription__in=analytics.subscriptions_active_at(at).values("pk"), deleted=False)
                .values("subscription__currency", *group)
                .annotate(total=Sum(F("price__unit_amount") * F("quantity"))).order_by())

    lines = subscription_lines_at(AT).values("currency").annotate(total=Sum("amount")).order_by()
    per_boundary = [_raw(item_sums(at, "subscription__customer_id")) for at in boundaries(*TABLE)]
    return {
        "items": _raw(item_sums(AT)),
        "window": _raw(item_sums(IN_WINDOW)),
        "lines": _raw(lines),
        "movements": lambda: [run() for run in per_boundary],
    }


def contenders() -> dict[str, Callable[[], Any]]:
    from stripe_django import analytics

    return {
        "items": lambda: analytics.mrr(AT),
        "window": lambda: analytics.mrr(IN_WINDOW),
        "lines": lambda: analytics.mrr_from_invoices(AT),
        "movements": lambda: analytics.movements(*TABLE),
    }


# The memory ceiling (MiB), about twice each figure's Python peak measured at the full
# size (100,000 subscriptions, 1,037,868 lines: 2.2, 0.1, 136.2 and 0.2 MiB; 8 MiB
# at least): a peak above it is printed as OVER THE CEILING.
PEAK_CEILING = {"items": 8, "lines": 8, "movements": 280, "window": 8}
# and of the whole process's peak RSS (getrusage; 2,142 MiB measured), most of which is
# the account's payloads, held for the renewals
RSS_CEILING = 4096

LABELS = {
    "items": ("mrr(at)", "SQL SUM over the items"),
    "window": ("mrr(at) in the events window", "SQL SUM over the items"),
    "lines": ("mrr_from_invoices(at)", "SQL SUM over the lines"),
    "movements": ("12-month movement table", "13 per-customer SQL SUMs"),
}


def _queries_and_peak(work: Callable[[], Any]) -> tuple[int, float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    tracemalloc.start()
    with CaptureQueriesContext(connection) as captured:
        work()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return len(captured), peak


def profile(label: str, work: Callable[[], Any], top: int = 14) -> None:
    """Where ``work``'s time goes: the database's share (time inside ``execute`` and
    the fetches) and the Python functions taking the most of the rest."""
    from django.db import connection

    queries: list[tuple[float, str]] = []

    def timer(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            queries.append((time.perf_counter() - started, sql))

    profiler = cProfile.Profile()
    started = time.perf_counter()
    with connection.execute_wrapper(timer):
        profiler.enable()
        work()
        profiler.disable()
    wall = time.perf_counter() - started
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    body = out.getvalue()
    body = body[body.find("   ncalls"):] if "   ncalls" in body else body
    in_db = sum(seconds for seconds, _ in queries)
    print(f"    profile of {label}: {wall * 1000:.0f} ms under the profiler, of which {in_db * 1000:.0f} ms "
          f"inside the database's execute (the rows' fetch is in the Python part); its queries:")
    for seconds, sql in queries:
        print(f"      {seconds * 1000:8.1f} ms  {sql[:130]}")
    print("    top functions by own time:")
    for line in body.rstrip().splitlines()[:top + 1]:
        print(f"      {line[:150]}")


def main(url: str) -> None:
    with database(url, keep=KEEP):
        from django.db import connection

        from stripe_django import analytics

        vendor = connection.vendor
        subscriptions, invoices, lines, stored, how = _store(connection)
        if vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        print(f"  {vendor}: {len(subscriptions):,} subscriptions, {invoices:,} invoices with {lines:,} lines, {how}; "
              f"{analytics.subscriptions_active_at(AT).count():,} subscriptions count on {AT:%Y-%m-%d}")
        print(f"  {vendor}: MRR {analytics.mrr(AT)}, from invoices {analytics.mrr_from_invoices(AT).by_currency()}")
        base, ours = baselines(), contenders()
        # CPU-seconds of this process and of the database server's backends: on a
        # shared machine wall time swings with the neighbours' load, CPU much less
        server = server_cpu(connection)

        def measure(keys: list[str]) -> None:
            for key in keys:  # warm the caches once, untimed
                base[key]()
                ours[key]()
            order = {}
            for key in keys:
                order[f"base:{key}"] = base[key]
                order[f"ours:{key}"] = ours[key]
            if vendor == "postgresql":
                # parallel workers' processes do not name the database: their CPU would be
                # missed (the plain SUMs use them more), so both sides run in one backend
                with connection.cursor() as cursor:
                    cursor.execute("SET max_parallel_workers_per_gather = 0")
            measured = interleave({name: (lambda w=work: timed(w, server)) for name, work in order.items()})
            print(f"  {vendor}: {ROUNDS} interleaved rounds (baseline, ours, for each figure); CPU "
                  f"{'client + server' if server else 'of this process'}; {machine()}")
            for key in keys:
                label, base_name = LABELS[key]
                queries, peak = _queries_and_peak(ours[key])
                if peak > PEAK_CEILING[key]:
                    print(f"  {vendor}: {label}: Python peak {peak:.1f} MiB, OVER THE CEILING of "
                          f"{PEAK_CEILING[key]} MiB")
                base_runs, our_runs = measured[f"base:{key}"], measured[f"ours:{key}"]
                compare(f"{label} ({queries} queries, Python peak {peak:.1f} MiB), CPU", base_name,
                        [r.cpu * 1000 for r in base_runs], [r.cpu * 1000 for r in our_runs], "ms",
                        key=f"revenue.{key}.{vendor}", lower_is_better=True, digits=1)
                compare(f"{label}, wall time", base_name, [r.wall * 1000 for r in base_runs],
                        [r.wall * 1000 for r in our_runs], "ms", lower_is_better=True, digits=1)

        measure(["items", "lines", "movements"])
        report = analytics.agreement(AT)
        print(f"  {vendor}: on {AT:%Y-%m-%d}, from subscriptions {report.from_subscriptions}, from invoices "
              f"{report.from_invoices}; the differences by cause:")
        for cause, amounts in sorted(report.by_cause().items()):
            print(f"  {vendor}:   {cause}: {amounts}")
        if PROFILE:
            profile("mrr(at)", ours["items"])
            profile("mrr_from_invoices(at)", ours["lines"])

        renewals = _store_renewals(subscriptions)
        del subscriptions
        if vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        inside = analytics.mrr_detail(IN_WINDOW)
        print(f"  {vendor}: {renewals:,} renewal events after {IN_WINDOW:%Y-%m-%d} (in the events window); MRR "
              f"then {inside.by_currency()} from {inside.source}, {inside.rebuilt:,} subscriptions rebuilt "
              f"from their events")
        measure(["window"])
        if PROFILE:
            profile("mrr(at) in the events window", ours["window"])
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        print(f"  {vendor}: peak RSS of the process {rss:,.0f} MiB (ceiling {RSS_CEILING:,} MiB"
              + (", OVER THE CEILING)" if rss > RSS_CEILING else ")"))


def run() -> None:
    print(f"revenue analytics over {SUBSCRIPTIONS:,} subscriptions (REVENUE_BENCH_SUBSCRIPTIONS) and "
          f"{MONTHS} months of invoices (REVENUE_BENCH_MONTHS)")
    for url in urls():
        if url == SQLITE_URL or "postgres" in url:
            in_subprocess("benchmarks.revenue_bench", url)


if __name__ == "__main__":
    main(sys.argv[1])
