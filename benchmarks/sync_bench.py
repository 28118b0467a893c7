"""Sync throughput, request-rate use and memory, against a local stub of the Stripe API.

Prints:

1. objects/s of ``sync()`` of 20,000 customers from a local server, in a process of its
   own, that serves pages rendered in advance (on SQLite, then PostgreSQL);
2. with ``workers=4``, a server that adds 200 ms to every request and lets through
   15 requests/s (answering 429 with ``Retry-After`` beyond that), the achieved request
   rate as a share of that limit (target: at least 80%);
3. the peak memory (RSS) of a process syncing 100,000 customers, sampled as it goes
   (target: flat, under 200 MB).

The stub is the tests' (:class:`stripe_django.testing.stripe_stub.StripeStub`): it
serves generated objects, newest first, with Stripe's pagination and ``created``
filters; object ``i`` is computed from ``i``, so the server holds nothing in memory.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time

from stripe_django.testing.stripe_stub import StripeStub, stub_process


def _settings(api_base: str, **extra) -> dict:
    return {"API_KEY": "sk_test_bench", "API_BASE": api_base, "MAX_NETWORK_RETRIES": 0, **extra}


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure_throughput(n: int = 20_000) -> None:
    from django.db import connection
    from django.test.utils import override_settings

    from stripe_django.models import Customer
    from stripe_django.sync import sync

    with stub_process({"customers": n}) as api_base:
        with override_settings(STRIPE_DJANGO=_settings(api_base, SYNC_RATE_LIMIT=10_000)):
            cpu = time.process_time()
            started = time.perf_counter()
            report = sync(["customer"], events=False)
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu
    assert Customer.objects.count() == n, report
    print(f"  throughput ({connection.vendor}): {n:,} customers from pre-rendered pages in "
          f"{seconds:.2f} s = {n / seconds:,.0f} objects/s ({report.requests} requests of 100; "
          f"this process used {cpu:.2f} CPU-s = {n / cpu:,.0f} objects per CPU-second)")


def measure_rate_share(limit: float = 15.0, latency: float = 0.2, pages: int = 80) -> None:
    from django.test.utils import override_settings

    from stripe_django.sync import sync

    kinds = ["customers", "products", "coupons", "tax_rates"]
    size = 10
    with StripeStub({k: pages * size for k in kinds}, latency=latency, rate_limit=limit) as stub:
        config = _settings(stub.api_base, SYNC_RATE_LIMIT=limit, SYNC_PAGE_SIZE=size)
        with override_settings(STRIPE_DJANGO=config):
            started = time.perf_counter()
            report = sync(["customer", "product", "coupon", "tax_rate"], workers=4, events=False, full=True)
            seconds = time.perf_counter() - started
        achieved = stub.served / (stub.last_at - stub.first_at + 1 / limit)
    ceiling = 4 / latency
    print(f"  rate: workers=4, {latency * 1000:.0f} ms latency (at most {ceiling:.0f} req/s), "
          f"server limit {limit:.0f} req/s: {stub.served} requests in {seconds:.1f} s, "
          f"{achieved:.1f} req/s = {achieved / limit:.0%} of the limit; "
          f"429 answers: {stub.throttled}; ok={report.ok}")


def measure_one_list(latency: float = 0.2, pages: int = 100) -> None:
    """One long list at a live API's latency. In one go its pages follow one another
    (each asks for the objects after the last one), one page per round trip; cut into
    created windows (a first pass with ``workers`` > 1), the windows go at once."""
    from django.test.utils import override_settings

    from stripe_django.models import Customer, SyncCursor
    from stripe_django.sync import sync

    count = pages * 100
    for workers in (1, 8):
        Customer.objects.all().delete()
        SyncCursor.objects.all().delete()
        with StripeStub({"customers": count}, latency=latency, seconds_apart=600) as stub:
            with override_settings(STRIPE_DJANGO=_settings(stub.api_base, SYNC_RATE_LIMIT=100)):
                started = time.perf_counter()
                report = sync(["customer"], workers=workers, events=False)
                seconds = time.perf_counter() - started
        print(f"  one list, {latency * 1000:.0f} ms per request, workers={workers}: {count:,} "
              f"customers in {seconds:.1f} s = {count / seconds:,.0f} objects/s "
              f"({stub.served} requests, {stub.served / seconds:.1f} req/s of the 100 allowed); "
              f"ok={report.ok and Customer.objects.count() == count}")


def measure_memory(n: int = 100_000) -> None:
    """In a child process (its RSS is the figure), against a stub process."""
    with stub_process({"customers": n}) as api_base, tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="tests.settings",
                   DATABASE_URL=f"sqlite:///{tmp}/bench.sqlite3",
                   PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        done = subprocess.run([sys.executable, "-m", "benchmarks.sync_bench", "memory",
                               api_base, str(n)], env=env, capture_output=True, text=True)
        print(done.stdout.rstrip())
        if done.returncode:
            print(f"  (memory run failed: {done.stderr[-2000:]})")


def _memory_child(api_base: str, n: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import override_settings

    from stripe_django.models import Customer
    from stripe_django.sync import sync

    call_command("migrate", verbosity=0)
    baseline = _rss_mb()
    samples: list[float] = []

    def sample(report) -> None:
        if report.fetched % 10_000 < 100:
            samples.append(_rss_mb())

    with override_settings(STRIPE_DJANGO=_settings(api_base, SYNC_RATE_LIMIT=10_000)):
        started = time.perf_counter()
        sync(["customer"], events=False, on_page=sample)
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stored = Customer.objects.count()
    trace = ", ".join(f"{s:.0f}" for s in samples[:: max(1, len(samples) // 10)])
    print(f"  memory: {stored:,} customers in {seconds:.1f} s ({stored / seconds:,.0f} objects/s); "
          f"RSS before {baseline:.0f} MB, every 10,000 objects [{trace}] MB, peak {peak:.0f} MB")


def run() -> None:
    from benchmarks.django_env import POSTGRES_URL, SQLITE_URL, in_subprocess

    in_subprocess("benchmarks.sync_bench", SQLITE_URL, "speed")
    in_subprocess("benchmarks.sync_bench", SQLITE_URL, "one-list")
    in_subprocess("benchmarks.sync_bench", POSTGRES_URL, "throughput")
    measure_memory()


if __name__ == "__main__":
    if sys.argv[1:2] == ["memory"]:
        _memory_child(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[2:3] == ["one-list"]:
        from benchmarks.django_env import database

        with database(sys.argv[1]):
            measure_one_list()
    elif sys.argv[2:3] in (["speed"], ["throughput"]):
        from benchmarks.django_env import database

        with database(sys.argv[1]):
            measure_throughput()
            if sys.argv[2] == "speed":
                measure_rate_share()
    else:
        run()
