"""Verify: ``verify()`` of a mirror against ``sync()`` of the same account, in the same run.

Each round empties the tables, syncs the stub's customers (timed), then verifies the
clean mirror it made (timed): objects per second of wall time of each, their requests,
and verify / sync per round (target: at least 1, since a clean mirror is only read).
The differences found must be 0. The stub is the tests' StripeStub in a process of its
own with its pages rendered in advance, as in :mod:`benchmarks.sync_bench`.
"""

from __future__ import annotations

import sys

from benchmarks.ratios import ROUNDS, Sample, compare, scaled, timed
from stripe_django.testing.stripe_stub import stub_process

API_KEY = "sk_test_bench"


def _settings(api_base: str) -> dict:
    return {"API_KEY": API_KEY, "API_BASE": api_base, "MAX_NETWORK_RETRIES": 0,
            "SYNC_RATE_LIMIT": 10_000}


def measure(n: int) -> None:
    from django.db import connection
    from django.test.utils import override_settings

    from benchmarks.baseline import empty, server_cpu
    from stripe_django.models import Customer, SyncCursor, VerificationRun
    from stripe_django.sync import sync
    from stripe_django.verify import verify

    vendor = connection.vendor
    server = server_cpu(connection)
    tables = [m._meta.db_table for m in (Customer, SyncCursor, VerificationRun)]
    syncs: list[Sample] = []
    verifies: list[Sample] = []
    requests: dict[str, set[int]] = {"sync": set(), "verify": set()}
    differences: set[int] = set()
    with stub_process({"customers": n}) as api_base, override_settings(STRIPE_DJANGO=_settings(api_base)):
        for _ in range(ROUNDS):
            empty(connection, tables)
            reports = []
            syncs.append(timed(lambda: reports.append(sync(["customer"], events=False)), server))
            verifies.append(timed(lambda: reports.append(verify(["customer"])), server))
            synced, verified = reports
            requests["sync"].add(synced.requests)
            requests["verify"].add(verified.requests)
            differences.add(len(verified.differences))
    print(f" {vendor}, {n:,} customers from the stub (requests: sync {sorted(requests['sync'])}, "
          f"verify {sorted(requests['verify'])}; differences found {sorted(differences)}):")
    compare("objects per second (wall)", "sync of the same account", [n / s.wall for s in syncs],
            [n / s.wall for s in verifies], "objects/s", key=f"verify.customers.{vendor}")
    compare("objects per CPU-second (client + server)", "sync of the same account",
            [n / s.cpu for s in syncs], [n / s.cpu for s in verifies], "objects per CPU-s",
            key=f"verify.customers_cpu.{vendor}")


def run() -> None:
    from benchmarks.django_env import in_subprocess, urls

    for url in urls():
        in_subprocess("benchmarks.verify_bench", url)


if __name__ == "__main__":
    if len(sys.argv) >= 2:
        from benchmarks.django_env import database

        with database(sys.argv[1]):
            measure(scaled(20_000, 1_000))
    else:
        run()
