"""Real workers in processes of their own: two ``django-tasks-db`` workers
(``manage.py db_worker``) and two RQ workers (``manage.py rqworker`` of django-rq, through
``django-tasks-rq``), each pair processing webhook events and a sharded sync of several
connected accounts at once. Only the Stripe API is a stub
(``stripe_django.testing.stripe_stub``), at the HTTP boundary: every object is stored
once, no shard runs twice, and the stub sees no more requests in any second than the
rate limit.

The workers share the test's database, so these run on PostgreSQL and MariaDB (an
in-memory SQLite database belongs to one process): CI runs them in its PostgreSQL and
MariaDB passes. The RQ tests need the Redis at STRIPE_DJANGO_TEST_REDIS
(redis://127.0.0.1:6379/3 by default).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from stripe_django.models import Customer, Event, Product, SyncRun, SyncShard
from stripe_django.models.processing import ProcessingStatus
from stripe_django.sync.distributed import CHANGES, enqueue_run, run_report
from stripe_django.testing.stripe_stub import StripeStub

from ..conftest import missing
from ..webhooks.conftest import customer, deliver, make_event  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS = ("acct_1WORKER1", "acct_1WORKER2", "acct_1WORKER3", "acct_1WORKER4")
RATE = 20  # requests per second, for all workers together
WAIT = 90  # seconds a test waits for its workers
# What a worker prints once its loop runs (django-tasks-db's db_worker, rq's worker).
READY = {"db": "Starting worker", "rq": ": started with PID"}


@pytest.fixture(autouse=True)
def shared_database():
    if connection.vendor == "sqlite":
        pytest.skip("worker processes need a database they can share with the test: "
                    "PostgreSQL or MariaDB (CI's PostgreSQL and MariaDB passes run these)")


class Workers:
    """Worker processes on the test's database, stopped (and their output shown on a
    failure) at the end of the test."""

    def __init__(self, kind: str, settings, tmp_path: Path) -> None:
        self.kind = kind
        self.queue = f"stripe-tests-{uuid.uuid4().hex[:8]}"
        self.settings = settings
        self.tmp_path = tmp_path
        self.procs: list[tuple[subprocess.Popen, Path]] = []
        if kind == "db":
            backend = {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": [self.queue]}
            self.rq_queues = {}
        else:
            backend = {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": [self.queue]}
            self.rq_queues = {self.queue: {"USE_REDIS_CACHE": "rq"}}
        self.tasks = {"default": backend}

    def configure(self, stripe: dict) -> None:
        """The same settings here and in the workers."""
        stripe = {**stripe, "TASKS_QUEUE": self.queue}
        self.settings.TASKS = self.tasks
        self.settings.RQ_QUEUES = self.rq_queues
        self.settings.STRIPE_DJANGO = stripe
        self.stripe = stripe

    def start(self, count: int = 2) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
               "DJANGO_SETTINGS_MODULE": "tests.tasks.worker_settings",
               "STRIPE_DJANGO_TEST_WORKER": json.dumps({
                   "DATABASE_NAME": connection.settings_dict["NAME"], "TASKS": self.tasks,
                   "RQ_QUEUES": self.rq_queues, "STRIPE_DJANGO": self.stripe})}
        if self.kind == "db":
            command = ["db_worker", "--queue-name", self.queue, "--interval", "0.1",
                       "--no-startup-delay", "--no-reload"]
        else:
            command = ["rqworker", self.queue, "--job-class", "django_tasks_rq.Job",
                       "--worker-class", "rq.worker.SimpleWorker", "--with-scheduler"]
        for index in range(count):
            log = self.tmp_path / f"{self.kind}-worker-{index}.log"
            # The child has its own copy of the file: the parent's is closed at once.
            with log.open("wb") as output:
                proc = subprocess.Popen([sys.executable, "-m", "django", *command], env=env,
                                        cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
            self.procs.append((proc, log))
        # Every worker's loop runs before any work is enqueued: a worker that started
        # late on a busy machine would otherwise find no shard left to take.
        wait_for(lambda: all(READY[self.kind] in log.read_text() for _p, log in self.procs),
                 self, f"{count} {self.kind} worker(s) starting")

    def check_alive(self) -> None:
        for proc, log in self.procs:
            if proc.poll() is not None:
                raise AssertionError(f"a worker exited ({proc.returncode}):\n{log.read_text()[-3000:]}")

    def stop(self) -> None:
        for proc, _log in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 10
        for proc, _log in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-2000:]}" for _p, log in self.procs)


@pytest.fixture(params=["db", "rq"])
def workers(request, settings, tmp_path):
    if request.param == "rq":
        import redis

        try:
            redis.Redis.from_url(settings.REDIS_URL).ping()
        except redis.exceptions.ConnectionError:
            missing(f"no Redis at {settings.REDIS_URL}")
    pool = Workers(request.param, settings, tmp_path)
    yield pool
    pool.stop()
    if request.param == "rq":
        import django_rq

        django_rq.get_queue(pool.queue).empty()


def wait_for(condition, workers: Workers, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if condition():
            return
        workers.check_alive()
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {WAIT} s\n{workers.logs()}")


def test_webhook_events_are_processed_by_the_workers(workers, deliver):  # noqa: F811
    workers.configure({"API_KEY": "sk_test_workers", "WEBHOOK_SECRETS": ["whsec_tests_primary"],
                       "EVENTS_ON_TASKS": True})
    workers.start(2)
    events = [make_event(customer(f"cus_worker{i:04d}", name=f"Customer {i}")) for i in range(40)]
    # the same object updated by a later event, and a redelivery
    events.append(make_event(customer("cus_worker0000", name="Renamed"), created=events[0]["created"] + 5))
    for event in events:
        response = deliver(event)
        assert response.status_code == 200 and b"queued" in response.content
    for event in events[:3]:  # redelivered: queued again, or already done by a worker
        response = deliver(event)
        assert response.status_code == 200, response.content
        assert b"queued" in response.content or b"already processed" in response.content

    def done() -> bool:
        return not Event.objects.exclude(processing_status=ProcessingStatus.PROCESSED).exists()

    wait_for(done, workers, "processing the events")
    assert Event.objects.count() == 41
    assert Customer.objects.count() == 40
    assert Customer.objects.get(pk="cus_worker0000").name == "Renamed"
    assert set(Event.objects.values_list("processing_attempts", flat=True)) == {1}


def test_a_sharded_sync_runs_on_two_workers(workers):
    with StripeStub({"customers": 45, "products": 12}, accounts=ACCOUNTS, latency=0.02,
                    throttle_request=8, retry_after="1.0") as stub:
        stripe = {"API_KEY": "sk_test_workers", "API_BASE": stub.api_base, "MAX_NETWORK_RETRIES": 0,
                  "SYNC_RATE_LIMIT": RATE, "SYNC_PAGE_SIZE": 10}
        if workers.kind == "rq":
            stripe["SYNC_RATE_LIMIT_REDIS"] = workers.settings.REDIS_URL
        workers.configure(stripe)
        workers.start(2)
        run = enqueue_run(["customer", "product"], all_accounts=True)
        wait_for(lambda: SyncRun.objects.get(pk=run.pk).finished, workers, "the sync run")
        shards = SyncShard.objects.filter(run=run)
        assert shards.count() == 2 * 5 + 5
        report = run_report(run.pk)
        assert report.ok, report
        # every object stored once
        for account in (None, *ACCOUNTS):
            assert Customer.objects.for_account(account).count() == 45
            assert Product.objects.for_account(account).count() == 12
        # no shard run twice: each list read once from its start, each shard started once
        assert set(stub.first_pages.values()) == {1}
        assert set(shards.values_list("attempts", flat=True)) == {1}
        assert set(shards.filter(name=CHANGES).values_list("status", flat=True)) == {"ok"}
        # both workers took part
        assert len(set(shards.values_list("worker", flat=True))) == 2
        # the rate limit held for both together: each worker alone would send RATE a
        # second. Slack: a request per worker that reaches the stub late (the stub
        # stamps arrivals in this process, which a busy machine stalls), and the accounts
        # listed by enqueue_run itself.
        busiest = stub.max_in_window(1.0, paths=("customers", "products", "events", "accounts"))
        assert busiest <= RATE + 3, stub.per_second()
        # the 429 held back both workers for its Retry-After (1 s). Its first 0.2 s are
        # left out: a request that had its slot already may arrive then.
        assert stub.throttled_at is not None
        held = [r.at for r in stub.requests
                if stub.throttled_at + 0.2 < r.at < stub.throttled_at + 0.9]
        assert len(held) <= 2, held
        assert len(stub.requests) >= 5 * (5 + 2)


def test_an_enqueued_verification_runs_on_two_workers_and_heals(workers):
    from stripe_django.models import VerificationRun
    from stripe_django.sync import sync
    from stripe_django.verify.enqueued import enqueue_verification, verification_report

    with StripeStub({"customers": 45, "products": 12}, accounts=ACCOUNTS, latency=0.02) as stub:
        stripe = {"API_KEY": "sk_test_workers", "API_BASE": stub.api_base, "MAX_NETWORK_RETRIES": 0,
                  "SYNC_RATE_LIMIT": RATE, "SYNC_PAGE_SIZE": 10}
        if workers.kind == "rq":
            stripe["SYNC_RATE_LIMIT_REDIS"] = workers.settings.REDIS_URL
        workers.configure(stripe)
        assert sync(["customer", "product"], all_accounts=True, events=False).ok
        # drift: a row deleted here, an object changed and one deleted at Stripe
        Customer.objects.filter(pk="cus_00000005").delete()
        stub.change("cus_00000007", email="changed@example.com")
        stub.delete("cus_00000009")
        workers.start(2)
        served = len(stub.requests)
        run = enqueue_verification(["customer", "product"], all_accounts=True, heal=True)
        wait_for(lambda: SyncRun.objects.get(pk=run.pk).finished, workers, "the verification")
        shards = SyncShard.objects.filter(run=run)
        assert shards.count() == 2 * 5
        assert set(shards.values_list("status", flat=True)) == {"ok"}
        assert set(shards.values_list("attempts", flat=True)) == {1}
        assert len(set(shards.values_list("worker", flat=True))) == 2
        # each shard's result in a VerificationRun row, as an inline run records it
        records = VerificationRun.objects.filter(run=run.options["verify"]["run"])
        assert records.count() == 10 and set(records.values_list("status", flat=True)) == {"ok"}
        found = {(d["kind"], d["id"]) for r in records for d in r.differences}
        assert found == {("missing", "cus_00000005"), ("stale", "cus_00000007"),
                         ("extra", "cus_00000009")}
        assert sum(records.values_list("healed", flat=True)) == 3
        assert Customer.objects.get(pk="cus_00000005").email == "customer5@example.com"
        assert Customer.objects.get(pk="cus_00000009").deleted
        report = verification_report(SyncRun.objects.get(pk=run.pk))
        assert report.ok and report.clean
        # the workers shared the key's pace: no more requests in any second than the
        # rate (each alone would send RATE a second), but for a request per worker
        # arriving late at the stub
        times = sorted(r.at for r in stub.requests[served:])
        busiest = max(sum(1 for u in times if t <= u < t + 1.0) for t in times)
        assert busiest <= RATE + 2, stub.per_second()
