"""Sync: ``sync()`` against "fetch the same pages + plain COPY per page", in the same run.

Prints, rounds interleaved, on each database:

1. the baseline: the stub's pages of 100 customers fetched one after the other over one
   keep-alive HTTP connection, parsed by orjson, each stored in one transaction by the
   plain loader of :mod:`benchmarks.baseline` (no project code); then ``sync()`` of the
   same customers from the same stub into the emptied tables. Objects per second of
   wall time (the figure of the target), objects per CPU-second of this process plus
   the database server, and ours / baseline of each round; and the RSS of the syncing
   process, sampled at every page: its growth after the first tenth of the pages
   (memory must stay flat);
2. with ``workers=4``, a server that adds 200 ms to every request and lets through
   15 requests/s (answering 429 with ``Retry-After`` beyond that), the achieved request
   rate as a share of that limit (target: at least 80%);
3. one list at 200 ms per request, in one go (``workers=1``) and cut into created
   windows (``workers=8``): objects per second of each and their ratio;
4. the peak memory (RSS) of a process syncing 100,000 customers, sampled as it goes
   (target: flat, under 200 MB).

The stub is the tests' (:class:`stripe_django.testing.stripe_stub.StripeStub`), in a
process of its own with its pages rendered in advance for 1 (so its work is not this
process's; it shares the machine's cores all the same).
"""

from __future__ import annotations

import http.client
import os
import resource
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlparse

from benchmarks.ratios import QUICK, ROUNDS, Sample, compare, record, scaled, spread, timed
from stripe_django.testing.stripe_stub import StripeStub, stub_process

API_KEY = "sk_test_bench"
STAMP = 1_800_000_000


def _settings(api_base: str, **extra) -> dict:
    return {"API_KEY": API_KEY, "API_BASE": api_base, "MAX_NETWORK_RETRIES": 0, **extra}


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _fetch_and_copy(api_base: str, table, write) -> int:
    """The baseline: every page of the customer list, one request after the other, each
    page stored in one transaction. Returns the objects stored."""
    import orjson

    address = urlparse(api_base)
    conn = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    after, stored = "", 0
    try:
        while True:
            conn.request("GET", "/v1/customers?limit=100" + (f"&starting_after={after}" if after else ""),
                         headers=headers)
            response = conn.getresponse()
            page = orjson.loads(response.read())
            if response.status != 200:
                raise RuntimeError(f"the stub answered {response.status}: {page}")
            rows: dict[str, list] = {}
            for obj in page["data"]:
                table.rows(obj, rows)
            write(rows)
            stored += len(page["data"])
            if not page["has_more"]:
                return stored
            after = page["data"][-1]["id"]
    finally:
        conn.close()


def measure_ratio(n: int) -> None:
    from django.db import connection
    from django.test.utils import override_settings

    from benchmarks.baseline import PlainTable, count, empty, server_cpu, writer
    from stripe_django.models import Customer, SyncCursor, SyncRun, SyncShard
    from stripe_django.sync import sync

    vendor = connection.vendor
    table = PlainTable(Customer, vendor, STAMP)
    write = writer(connection, [table])
    server = server_cpu(connection)
    tables = [m._meta.db_table for m in (Customer, SyncCursor, SyncShard, SyncRun)]
    growth: list[float] = []
    peaks: list[float] = []
    stored: dict[str, set[int]] = {"plain": set(), "ours": set()}

    with stub_process({"customers": n}) as api_base:
        def plain() -> Sample:
            empty(connection, tables)
            sample = timed(lambda: _fetch_and_copy(api_base, table, write), server)
            stored["plain"].add(count(connection, table.table))
            return sample

        def ours() -> Sample:
            empty(connection, tables)
            rss: list[float] = []
            with override_settings(STRIPE_DJANGO=_settings(api_base, SYNC_RATE_LIMIT=10_000)):
                sample = timed(lambda: sync(["customer"], events=False, on_page=lambda r: rss.append(_rss_mb())),
                               server)
            stored["ours"].add(count(connection, table.table))
            growth.append(max(rss) - rss[len(rss) // 10])
            peaks.append(max(rss))
            return sample

        results = {"plain": [], "ours": []}
        for _ in range(ROUNDS):
            results["plain"].append(plain())
            results["ours"].append(ours())
    print(f" {vendor}, {n:,} customers from the stub (stored per run: plain {sorted(stored['plain'])}, "
          f"ours {sorted(stored['ours'])}):")
    base, mine = results["plain"], results["ours"]
    compare("objects per second (wall)", "fetch + plain bulk load", [n / s.wall for s in base],
            [n / s.wall for s in mine], "objects/s", key=f"sync.customers.{vendor}")
    compare("objects per CPU-second (client + server)", "fetch + plain bulk load", [n / s.cpu for s in base],
            [n / s.cpu for s in mine], "objects per CPU-s", key=f"sync.customers_cpu.{vendor}")
    print(f"    RSS of the syncing process: peak {spread(peaks, 0)} MB; growth after the first "
          f"tenth of the pages {spread(growth, 1)} MB", flush=True)
    record(f"sync.rss_growth.{vendor}", growth)


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
    rates = []
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
        rates.append(count / seconds)
    print(f"  one list: workers=8 / workers=1 = {rates[1] / rates[0]:.1f}x the objects per second")


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

    if QUICK:  # tables from the models, as benchmarks.django_env.quick_schema
        from django.apps import apps

        with override_settings(MIGRATION_MODULES={a.label: None for a in apps.get_app_configs()}):
            call_command("migrate", run_syncdb=True, verbosity=0)
    else:
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
    from benchmarks.django_env import SQLITE_URL, in_subprocess, urls

    for url in urls():
        in_subprocess("benchmarks.sync_bench", url, "ratio")
    in_subprocess("benchmarks.sync_bench", SQLITE_URL, "rate")
    in_subprocess("benchmarks.sync_bench", SQLITE_URL, "one-list")
    measure_memory(scaled(100_000, 5_000))


if __name__ == "__main__":
    if sys.argv[1:2] == ["memory"]:
        _memory_child(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) >= 3:
        from benchmarks.django_env import database

        with database(sys.argv[1]):
            {"ratio": lambda: measure_ratio(scaled(20_000, 1_000)),
             "rate": lambda: measure_rate_share(pages=scaled(80, 3)),
             "one-list": lambda: measure_one_list(pages=scaled(100, 5))}[sys.argv[2]]()
    else:
        run()
