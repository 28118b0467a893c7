"""The same sync by stripe_django and by dj-stripe 2.11, against the same stub.

Both list the stub's customers (pages of 100, rendered in advance, served by a process
of their own: :func:`stripe_django.testing.stripe_stub.stub_process`) into a fresh PostgreSQL test
database, one after the other: stripe_django with ``sync(["customer"])``, dj-stripe with
``manage.py djstripe_sync_models Customer``. Prints objects per second of each and the
ratio.

dj-stripe runs in its own virtualenv with its own settings
(``benchmarks/djstripe_side``), which ``make bench-djstripe`` creates at
``DJSTRIPE_VENV`` (default /tmp/djstripe-venv); without it this benchmark says so and
stops. dj-stripe reads each customer's sources with one more request per customer;
the stub answers those with an empty list.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("DJSTRIPE_VENV", "/tmp/djstripe-venv"))
CUSTOMERS = int(os.environ.get("DJSTRIPE_BENCH_CUSTOMERS", "2000"))


def _ours(api_base: str, n: int) -> None:
    """Child: stripe_django's sync into a fresh test database (DATABASE_URL)."""
    from benchmarks.django_env import database

    with database(os.environ["DATABASE_URL"]):
        from django.test.utils import override_settings

        from stripe_django.models import Customer
        from stripe_django.sync import sync

        config = {"API_KEY": "sk_test_bench", "API_BASE": api_base, "MAX_NETWORK_RETRIES": 0,
                  "SYNC_RATE_LIMIT": 10_000}
        with override_settings(STRIPE_DJANGO=config):
            cpu, started = time.process_time(), time.perf_counter()
            sync(["customer"], events=False)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(f"OURS {Customer.objects.count()} {seconds:.3f} {cpu:.3f}", flush=True)


def _run(args: list[str], env: dict, tag: str) -> tuple[int, float, float] | None:
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    for line in done.stdout.splitlines():
        if line.startswith("ERRORS "):
            print(f"  ({tag} reported: {line[7:300]})")
        if line.startswith(tag + " "):
            stored, seconds, cpu = line.split()[1:]
            return int(stored), float(seconds), float(cpu)
    print(f"  ({tag} run failed, exit code {done.returncode}: {done.stderr[-1500:]})")
    return None


def run() -> None:
    from benchmarks.django_env import POSTGRES_URL
    from stripe_django.testing.stripe_stub import stub_process

    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"  skipped: no dj-stripe virtualenv at {VENV} (`make bench-djstripe` makes it)")
        return
    env = dict(os.environ, DATABASE_URL=POSTGRES_URL, PYTHONPATH=str(ROOT))
    env.pop("DJANGO_SETTINGS_MODULE", None)
    with stub_process({"customers": CUSTOMERS}) as api_base:
        env["STUB_API_BASE"] = api_base
        ours = _run([sys.executable, "-m", "benchmarks.djstripe_bench", "ours", api_base,
                     str(CUSTOMERS)], dict(env, DJANGO_SETTINGS_MODULE="tests.settings"), "OURS")
        theirs = _run([str(python), "-m", "benchmarks.djstripe_side.run", str(CUSTOMERS)], env,
                      "DJSTRIPE")
    load = "load average %.1f %.1f %.1f" % os.getloadavg()
    results = {}
    for name, figures in (("stripe_django", ours), ("dj-stripe 2.11", theirs)):
        if figures is None:
            continue
        stored, seconds, cpu = figures
        results[name] = stored / seconds
        print(f"  {name:<15} {stored:,} customers in {seconds:.2f} s = {stored / seconds:,.0f} "
              f"objects/s ({cpu:.2f} CPU-s in the syncing process)")
    if len(results) == 2:
        ratio = results["stripe_django"] / results["dj-stripe 2.11"]
        print(f"  ratio: stripe_django syncs {ratio:,.1f} times as many objects per second "
              f"as dj-stripe ({load}; PostgreSQL)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["ours"]:
        _ours(sys.argv[2], int(sys.argv[3]))
    else:
        run()
