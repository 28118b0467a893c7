"""The mirror's health page of a Connect platform: size, time and queries (issue 20:
< 200 KB, < 1 s and constant queries at 10,000 accounts x 76 types).

For each number of connected accounts in ``HEALTH_BENCH_ACCOUNTS`` (default 500 and
10,000), in a fresh database: a sync cursor per account for each of
``HEALTH_BENCH_TYPES`` listed types (default 76), a tenth of them failing and a quarter
never synced, plus the platform's own cursors, created in bulk a batch of accounts at a
time; and ``HEALTH_BENCH_CUSTOMERS`` customers (default 10,000) spread over the
accounts. Then the page is requested through Django's test client as a superuser, best
of 3. Printed: the page's size, its time as a ratio to an empty admin page (the sync
runs' list, with no run) requested by the same client in the same process (so that the
figure does not depend on the machine), the milliseconds of both, and the queries; the
queries should be the same at every number of accounts. (Issue 20 measured 11.2 MB and
4.5 s at 500 accounts with one table row per cursor.)
"""

from __future__ import annotations

import os
import sys
import time

from .django_env import MYSQL_URL, database, in_subprocess, urls
from .ratios import QUICK

SIZES = [int(n) for n in os.environ.get("HEALTH_BENCH_ACCOUNTS", "20" if QUICK else "500,10000").split(",")
         if n.strip()]
TYPES = int(os.environ.get("HEALTH_BENCH_TYPES", "76"))
CUSTOMERS = int(os.environ.get("HEALTH_BENCH_CUSTOMERS", "400" if QUICK else "10000"))
HEALTH = "/admin/stripe_django/synccursor/health/"
EMPTY = "/admin/stripe_django/syncrun/"  # an admin page with nothing to show
# Accounts whose cursors are made and inserted at once (76,000 model instances at most
# in memory).
ACCOUNTS_PER_BATCH = 1000


def _fill(accounts: int) -> None:
    import datetime as dt

    from django.utils import timezone

    from stripe_django import type_table
    from stripe_django.models.sync_state import SyncCursor
    from stripe_django.sync import upsert_many

    now = timezone.now()
    names = list(type_table.SYNC_LISTS)[:TYPES]
    for first in range(0, accounts + 1, ACCOUNTS_PER_BATCH):
        cursors = []
        for a in range(first, min(first + ACCOUNTS_PER_BATCH, accounts + 1)):
            account = "" if a == 0 else f"acct_{a:05d}"
            for t, name in enumerate(names):
                never = (a + t) % 4 == 0
                cursors.append(SyncCursor(
                    account=account, object_type=name, complete=not never,
                    last_synced_at=None if never else now - dt.timedelta(minutes=a % 60),
                    created_after=None if never else 1_600_000_000,
                    last_error="APIConnectionError: timed out" if (a * 7 + t) % 10 == 0 else ""))
        SyncCursor.objects.bulk_create(cursors, batch_size=2000)
    per_account = max(1, CUSTOMERS // accounts)
    for a in range(1, min(accounts, CUSTOMERS) + 1):
        upsert_many([{"id": f"cus_{a:05d}_{i:02d}", "object": "customer", "created": 1_600_000_000 + i,
                      "livemode": False, "email": f"p{i}@example.com", "metadata": {}}
                     for i in range(per_account)], account=f"acct_{a:05d}")


def _best_of_3(client, path: str):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    best = float("inf")
    for _ in range(3):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(path)
            best = min(best, time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code)
    return response, best, len(captured)


def main(url: str, accounts: int) -> None:
    with database(url):
        from django.contrib.auth.models import User
        from django.db import connection
        from django.test import Client

        started = time.perf_counter()
        _fill(accounts)
        filled = time.perf_counter() - started
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        client = Client()
        client.force_login(User.objects.create_superuser("bench", "b@example.com", "pw"))
        vendor = url.split(":")[0]
        from stripe_django.models.sync_state import SyncCursor

        cursors = SyncCursor.objects.count()
        print(f"  {vendor}: {accounts:,} accounts x {TYPES} types: {cursors:,} cursors "
              f"(made in {filled:.0f} s)", flush=True)
        _empty, empty_best, empty_queries = _best_of_3(client, EMPTY)
        print(f"    {'empty admin page':<24} {len(_empty.content) / 1024:>9,.0f} KB {empty_best * 1000:8.1f} ms "
              f"  1.00x {empty_queries:3d} queries", flush=True)
        for label, path in [("health page", HEALTH), ("health page, all types", HEALTH + "?all=1")]:
            response, best, queries = _best_of_3(client, path)
            print(f"    {label:<24} {len(response.content) / 1024:>9,.0f} KB {best * 1000:8.1f} ms "
                  f"{best / empty_best:6.2f}x {queries:3d} queries", flush=True)


def run() -> None:
    print(f"health page of N connected accounts x {TYPES} types (HEALTH_BENCH_ACCOUNTS={SIZES}), "
          f"best of 3; time also as a ratio to an empty admin page")
    for url in urls():
        if url != MYSQL_URL:
            for accounts in SIZES:
                in_subprocess("benchmarks.health_bench", url, str(accounts))


if __name__ == "__main__":
    if len(sys.argv) >= 3:
        main(sys.argv[1], int(sys.argv[2]))
    else:
        run()
