"""stripe_django beside dj-stripe 2.11, in the same run, against the same stub.

Two long-lived child processes, each with a fresh PostgreSQL test database of its own:
stripe_django's (here, ``ours``) and dj-stripe's (``benchmarks/djstripe_side``, in its
own virtualenv, which ``make bench-djstripe`` creates at ``DJSTRIPE_VENV``, default
/tmp/djstripe-venv; without it this benchmark says so and stops). Rounds interleaved,
each into emptied tables:

* ingest of the same customers, and of the same invoices with 5 lines each:
  ``upsert_many`` in pages of 100 against dj-stripe's ``sync_from_stripe_data`` per
  object (which fetches each invoice's customer from the stub, as it would from
  Stripe). Objects per CPU-second of the child plus its PostgreSQL backends;
* the sync of the stub's customers: ``sync(["customer"])`` against ``manage.py
  djstripe_sync_models Customer`` (which also asks for each customer's sources; the
  stub answers an empty list). Objects per second of wall time.

Printed as ratios ours / dj-stripe's. Counts: ``DJSTRIPE_BENCH_CUSTOMERS`` (default
2,000) customers, a tenth as many invoices.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.ratios import ROUNDS, compare, scaled

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("DJSTRIPE_VENV", "/tmp/djstripe-venv"))
CUSTOMERS = int(os.environ.get("DJSTRIPE_BENCH_CUSTOMERS", scaled(2000, 100)))
INVOICES = max(1, CUSTOMERS // 10)


# --- stripe_django's side (a child process) ------------------------------------------------

def _ours(api_base: str, payloads: str) -> None:
    from benchmarks.django_env import database

    with database(os.environ["DATABASE_URL"]):
        from django.test.utils import override_settings

        from stripe_django.models import Customer, Invoice, InvoiceLineItem, SyncCursor, SyncRun, SyncShard
        from stripe_django.sync import sync, upsert_many
        from stripe_django.testing import payloads as made

        data = {"customers": [made.customer_current(f"cus_bench{i:06d}", email=f"c{i}@example.com")
                              for i in range(CUSTOMERS)],
                "invoices": [made.invoice_current(f"in_bench{i:06d}", customer=f"cus_bench{i:06d}", n_lines=5)
                             for i in range(INVOICES)]}
        for name, objs in data.items():
            with open(os.path.join(payloads, name + ".json"), "w") as f:
                json.dump(objs, f)
        config = {"API_KEY": "sk_test_bench", "API_BASE": api_base, "MAX_NETWORK_RETRIES": 0,
                  "SYNC_RATE_LIMIT": 10_000}

        def ingest(objs: list) -> int:
            for start in range(0, len(objs), 100):
                upsert_many(objs[start:start + 100])
            return len(objs)

        print("READY", flush=True)
        for line in sys.stdin:
            command, *args = line.split()
            for model in (Customer, Invoice, InvoiceLineItem, SyncCursor, SyncShard, SyncRun):
                model.objects.all().delete()
            cpu, started = time.process_time(), time.perf_counter()
            if command == "sync":
                with override_settings(STRIPE_DJANGO=config):
                    sync(["customer"], events=False)
                stored = Customer.objects.count()
            else:
                stored = ingest(data[args[0]])
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            print(f"RESULT {stored} {seconds:.3f} {cpu:.3f}", flush=True)


# --- the parent --------------------------------------------------------------------------

class Side:
    """A child answering commands (``sync``, ``ingest NAME``) with ``RESULT stored s cpu``."""

    def __init__(self, name: str, args: list[str], env: dict, database: str):
        self.name = name
        self.child = subprocess.Popen(args, env=env, cwd=ROOT, stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)
        self.database = database
        self.backends = None
        self._answer("READY")

    def _answer(self, tag: str) -> str:
        for line in self.child.stdout:
            if line.startswith("ERRORS "):
                print(f"  ({self.name} reported: {line[7:300].strip()})")
            if line.startswith(tag):
                return line
        raise RuntimeError(f"{self.name} stopped (exit code {self.child.wait()})")

    def run(self, command: str) -> tuple[int, float, float]:
        """(objects stored, wall seconds, CPU seconds of the child and its backends)."""
        from benchmarks.baseline import _postgres_backends

        self.backends = self.backends or _postgres_backends(f"test_{self.database}")
        before = self.backends() if self.backends else 0.0
        self.child.stdin.write(command + "\n")
        self.child.stdin.flush()
        stored, seconds, cpu = self._answer("RESULT").split()[1:]
        server = self.backends() - before if self.backends else 0.0
        return int(stored), float(seconds), float(cpu) + server

    def close(self) -> None:
        self.child.stdin.close()
        self.child.wait(timeout=120)


def run() -> None:
    from benchmarks.django_env import POSTGRES_URL, reachable
    from stripe_django.testing.stripe_stub import stub_process

    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"  skipped: no dj-stripe virtualenv at {VENV} (`make bench-djstripe` makes it)")
        return
    if not reachable(POSTGRES_URL):
        print(f"  skipped: nothing listens at {POSTGRES_URL}")
        return
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("DJANGO_SETTINGS_MODULE", None)
    theirs_url = POSTGRES_URL + "_djstripe"  # a test database of its own, both alive at once
    sides: list[Side] = []
    with stub_process({"customers": CUSTOMERS}) as api_base, tempfile.TemporaryDirectory() as payloads:
        try:
            sides.append(Side("stripe_django", [sys.executable, "-m", "benchmarks.djstripe_bench", "ours",
                                                api_base, payloads],
                              dict(env, DATABASE_URL=POSTGRES_URL, DJANGO_SETTINGS_MODULE="tests.settings"),
                              POSTGRES_URL.rsplit("/", 1)[1]))
            sides.append(Side("dj-stripe", [str(python), "-m", "benchmarks.djstripe_side.run", payloads],
                              dict(env, DATABASE_URL=theirs_url, STUB_API_BASE=api_base),
                              theirs_url.rsplit("/", 1)[1]))
            results: dict[str, dict[str, list]] = {}
            for _ in range(ROUNDS):
                for command in ("ingest customers", "ingest invoices", "sync"):
                    for side in sides:
                        results.setdefault(command, {}).setdefault(side.name, []).append(side.run(command))
        finally:
            for side in sides:
                side.close()
    per_cpu = lambda r: r[0] / r[2]  # noqa: E731 - objects per CPU-second
    per_second = lambda r: r[0] / r[1]  # noqa: E731 - objects per second of wall time
    for command, key, what, figure, unit in (
            ("ingest customers", "djstripe.ingest.customers", f"ingest of {CUSTOMERS:,} customers",
             per_cpu, "objects per CPU-s"),
            ("ingest invoices", "djstripe.ingest.invoices", f"ingest of {INVOICES:,} invoices x 5 lines",
             per_cpu, "objects per CPU-s"),
            ("sync", "djstripe.sync.customers", f"sync of {CUSTOMERS:,} customers from the stub",
             per_second, "objects/s")):
        ours, theirs = results[command]["stripe_django"], results[command]["dj-stripe"]
        stored = sorted({r[0] for r in ours}), sorted({r[0] for r in theirs})
        compare(f"{what} (stored per run: ours {stored[0]}, dj-stripe {stored[1]})", "dj-stripe 2.11",
                [figure(r) for r in theirs], [figure(r) for r in ours], unit, digits=1,
                key=key)


if __name__ == "__main__":
    if sys.argv[1:2] == ["ours"]:
        _ours(sys.argv[2], sys.argv[3])
    else:
        run()
