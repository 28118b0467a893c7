"""The mirror's health page of a Connect platform: size, time and queries.

``HEALTH_BENCH_ACCOUNTS`` connected accounts (default 500) each with a sync cursor for
each of ``HEALTH_BENCH_TYPES`` listed types (default 70), a tenth of them failing and a
quarter never synced, plus the platform's own cursors and 20 customers per account;
then the page is requested through Django's test client as a superuser. Printed: the
page's bytes, milliseconds (best of 3) and queries. (Issue 20 measured 11.2 MB and
4.5 s with one table row per cursor.)
"""

from __future__ import annotations

import os
import sys
import time

from .django_env import MYSQL_URL, database, in_subprocess, urls
from .ratios import QUICK

ACCOUNTS = int(os.environ.get("HEALTH_BENCH_ACCOUNTS", "20" if QUICK else "500"))
TYPES = int(os.environ.get("HEALTH_BENCH_TYPES", "70"))
HEALTH = "/admin/stripe_django/synccursor/health/"


def _fill() -> None:
    import datetime as dt

    from django.utils import timezone

    from stripe_django import type_table
    from stripe_django.models.sync_state import SyncCursor
    from stripe_django.sync import upsert_many

    now = timezone.now()
    names = list(type_table.SYNC_LISTS)[:TYPES]
    cursors = []
    for a in range(ACCOUNTS + 1):
        account = "" if a == 0 else f"acct_{a:05d}"
        for t, name in enumerate(names):
            never = (a + t) % 4 == 0
            cursors.append(SyncCursor(
                account=account, object_type=name, complete=not never,
                last_synced_at=None if never else now - dt.timedelta(minutes=a % 60),
                created_after=None if never else 1_600_000_000,
                last_error="APIConnectionError: timed out" if (a * 7 + t) % 10 == 0 else ""))
    SyncCursor.objects.bulk_create(cursors, batch_size=2000)
    for a in range(1, ACCOUNTS + 1):
        upsert_many([{"id": f"cus_{a:05d}_{i:02d}", "object": "customer", "created": 1_600_000_000 + i,
                      "livemode": False, "email": f"p{i}@example.com", "metadata": {}}
                     for i in range(20)], account=f"acct_{a:05d}")


def main(url: str) -> None:
    with database(url):
        from django.contrib.auth.models import User
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        _fill()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        client = Client()
        client.force_login(User.objects.create_superuser("bench", "b@example.com", "pw"))
        vendor = url.split(":")[0]
        for label, path in [("health page", HEALTH), ("health page, all types", HEALTH + "?all=1")]:
            best = float("inf")
            for _ in range(3):
                with CaptureQueriesContext(connection) as captured:
                    start = time.perf_counter()
                    response = client.get(path)
                    best = min(best, time.perf_counter() - start)
                assert response.status_code == 200, response.status_code
            print(f"  {vendor}: {label:<24} {len(response.content):>12,} bytes {best * 1000:8.1f} ms "
                  f"{len(captured):3d} queries ({ACCOUNTS} accounts x {TYPES} types of cursors)")


def run() -> None:
    print(f"health page of {ACCOUNTS} connected accounts x {TYPES} types (HEALTH_BENCH_ACCOUNTS), best of 3")
    for url in urls():
        if url != MYSQL_URL:
            in_subprocess("benchmarks.health_bench", url)


if __name__ == "__main__":
    main(sys.argv[1])
