"""Connect at scale (issue 20): ``stripe_sync --all-accounts`` against a stub Stripe
serving N express accounts.

Each account has 5 customers and 2 products; every other list is empty (the stub's
``empty_lists``). For N accounts, in a process of its own (its peak RSS is the figure):

1. a first sync, 2. an incremental run where nothing changed, 3. an incremental run
after a customer changed in 10 accounts (a ``customer.updated`` event in each).

Printed for each run: requests per connected account (counted at the stub: independent
of the machine's speed), seconds before the first list request (the connected accounts
are listed, then the cursors read and created), seconds in all, the summary's lines and
bytes, the process's RSS after the run and its peak so far; then issue 20's table for N
with the time a first and an unchanged run would take at 10,000 accounts at Stripe's 100
requests per second (the requests per account times 10,000 / 100).

``python -m benchmarks connect``; ``BENCH_QUICK=1``: N = 5 and 20;
``BENCH_CONNECT_DATABASE``: a DATABASE_URL (default SQLite in memory, which is in the
process's RSS with the mirror; on PostgreSQL the RSS is the sync's own);
``BENCH_CONNECT_ACCOUNTS=200,2000`` chooses N (default 200 and 2,000).
"""

from __future__ import annotations

import io
import os
import resource
import sys
import time

from benchmarks.ratios import QUICK

API_KEY = "sk_test_bench"
LISTS = {"customers": 5, "products": 2}
CHANGED_ACCOUNTS = 10
TARGET_ACCOUNTS = 10_000
STRIPE_READS_PER_SECOND = 100


def account_ids(n: int) -> list[str]:
    return [f"acct_1Bench{i:010d}" for i in range(n)]


def _changed_event(account: str, number: int) -> dict:
    from stripe_django.testing.objects import make_object

    obj = {**make_object("customers", 0, account), "name": f"Changed {number}"}
    return {"id": f"evt_bench{account[-8:]}{number}", "object": "event", "api_version": "2024-06-20",
            "created": int(time.time()), "type": "customer.updated", "account": account,
            "livemode": False, "pending_webhooks": 0, "request": {"id": None},
            "data": {"object": obj, "previous_attributes": {"name": "before"}}}


def rss_mb() -> tuple[float, float]:
    """The process's resident memory now and at its peak, in MB (now: Linux only)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        with open("/proc/self/status") as status:
            now = next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        now = float("nan")
    return now, peak


class RequestTally(list):
    """Stands in for the stub's log of requests (it serves from this process, and
    keeping 180,000 requests of a first sync of 2,000 accounts would be most of the
    RSS): counts the requests made for connected accounts, and notes when the first
    list request came (not the accounts'). Only ``append`` is used by the stub."""

    def __init__(self) -> None:
        super().__init__()
        self.connected = 0
        self.first_list_at: float | None = None

    def append(self, request) -> None:  # type: ignore[override]
        if request.header("Stripe-Account"):
            self.connected += 1
        if self.first_list_at is None and request.resource != "accounts":
            self.first_list_at = request.at


def _one_run(stub, label: str, n: int) -> dict:
    from django.core.management import call_command

    tally = RequestTally()
    with stub._lock:
        stub.requests = tally
    out = io.StringIO()
    started = time.monotonic()
    try:
        call_command("stripe_sync", "--all-accounts", "--quiet", "--workers", "4", stdout=out,
                     stderr=io.StringIO())
        ok = "ok"
    except SystemExit as error:
        ok = f"exit {error.code}"
    except Exception as error:  # noqa: BLE001 - printed: a benchmark prints, never fails
        ok = f"{type(error).__name__}: {error}"
    seconds = time.monotonic() - started
    # The first list request after the accounts' (the cursors are read and made between).
    first = (tally.first_list_at or started) - started
    summary = out.getvalue()
    per_account = tally.connected / n
    # The RSS is the sync's, Django's and the stub's serving (and on SQLite in memory
    # the mirror's: BENCH_CONNECT_DATABASE=postgres://... leaves that out).
    now, peak = rss_mb()
    print(f"  N={n:>5} {label:<10} {per_account:6.1f} req/account  {first:6.2f} s before the "
          f"first list  {seconds:7.1f} s  summary {summary.count(chr(10)) + 1:,} lines "
          f"{len(summary.encode()) / 1024:,.0f} KB  RSS {now:.0f} MB (peak {peak:.0f})  {ok}",
          flush=True)
    return {"per_account": per_account, "seconds": seconds, "first": first, "rss": now}


def measure(n: int) -> None:
    from django.test.utils import override_settings

    from stripe_django.models import Customer
    from stripe_django.testing.stripe_stub import StripeStub

    accounts = account_ids(n)
    print(f"  N={n:>5} RSS before the first run (Django, the stub, the schema): "
          f"{rss_mb()[0]:.0f} MB", flush=True)
    with StripeStub(LISTS, accounts=accounts, empty_lists=True) as stub, \
            override_settings(STRIPE_DJANGO={"API_KEY": API_KEY, "API_BASE": stub.api_base,
                                             "MAX_NETWORK_RETRIES": 0,
                                             "SYNC_RATE_LIMIT": 100_000}):
        first = _one_run(stub, "first", n)
        # Whole seconds apart: a run's events window ends at the second it starts, and
        # the changes are made in a second after the unchanged run's window and before
        # the changed run's.
        time.sleep(1.1)
        unchanged = _one_run(stub, "unchanged", n)
        time.sleep(1.1)
        stub.events.extend(_changed_event(a, i) for i, a in enumerate(accounts[:CHANGED_ACCOUNTS]))
        time.sleep(1.1)
        changed = _one_run(stub, "changed", n)
        applied = Customer.objects.filter(name__startswith="Changed ").count()
    _now, peak = rss_mb()
    print(f"  N={n:>5} changes applied: {applied}/{min(n, CHANGED_ACCOUNTS)}")
    rows = [
        ("requests per account, incremental run, nothing changed", f"{unchanged['per_account']:.1f}",
         "<= 1 + the unevented types with objects (0 here)"),
        ("requests per account, incremental run, 1 object changed", f"{changed['per_account']:.1f}",
         "same as unchanged + 0"),
        ("requests per account, first sync", f"{first['per_account']:.1f}", "<= 85"),
        ("seconds before the first list request, first sync", f"{first['first']:.2f}", "< 2 s"),
        ("RSS after the unchanged run (MB)", f"{unchanged['rss']:.0f}", "flat in N, < 150 MB"),
        ("peak RSS of the process, three runs (MB)", f"{peak:.0f}", ""),
    ]
    for label, run in (("first sync", first), ("unchanged run", unchanged)):
        seconds = run["per_account"] * TARGET_ACCOUNTS / STRIPE_READS_PER_SECOND
        rows.append((f"{label} at {TARGET_ACCOUNTS:,} accounts, {STRIPE_READS_PER_SECOND} req/s",
                     f"{seconds / 3600:.2f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min", ""))
    width = max(len(r[0]) for r in rows)
    print(f"  issue 20's table, N={n:,} express accounts:")
    for label, value, target in rows:
        print(f"    {label:<{width}}  {value:>9}  {target}")


def sizes() -> list[int]:
    chosen = os.environ.get("BENCH_CONNECT_ACCOUNTS")
    if chosen:
        return [int(x) for x in chosen.split(",") if x.strip()]
    return [5, 20] if QUICK else [200, 2000]


def run() -> None:
    from benchmarks.django_env import SQLITE_URL, in_subprocess

    url = os.environ.get("BENCH_CONNECT_DATABASE", SQLITE_URL)
    for n in sizes():
        in_subprocess("benchmarks.connect_bench", url, str(n))


if __name__ == "__main__":
    if len(sys.argv) >= 3:
        from benchmarks.django_env import database

        with database(sys.argv[1]):
            measure(int(sys.argv[2]))
    else:
        run()
