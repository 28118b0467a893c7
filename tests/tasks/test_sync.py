"""stripe_sync --enqueue: shards, their claim, cursor leases, the shared pace, the run's
record. Tasks run here in the test's own process (the worker-process tests are in
test_workers.py); these run on SQLite, PostgreSQL and MariaDB alike."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from stripe_django.models import Customer, Product, SyncCursor, SyncRun, SyncShard
from stripe_django.sync import sync
from stripe_django.sync.distributed import CHANGES, enqueue_run, run_report, run_shard
from stripe_django.sync.leases import CursorLease, LeaseLost
from stripe_django.sync.ratelimit import DatabaseSlots, SharedRateLimiter
from stripe_django.sync.report import FAILED, format_summary
from stripe_django.sync.service import WorkerHooks
from stripe_django.testing.stripe_stub import StripeStub, StubRequest

from ..conftest import missing
from .conftest import DUMMY

pytestmark = pytest.mark.django_db

ACCOUNTS = ("acct_1AAAAAAA", "acct_1BBBBBBB", "acct_1CCCCCCC")


@pytest.fixture
def dummy(settings):
    from .conftest import task_backends

    settings.TASKS = {"default": {"BACKEND": DUMMY}}
    backend = task_backends()["default"]
    backend.clear()
    return backend


def point(settings, stub: StripeStub, **extra) -> None:
    settings.STRIPE_DJANGO = {"API_KEY": "sk_test_tasks", "API_BASE": stub.api_base,
                              "MAX_NETWORK_RETRIES": 0, "SYNC_RATE_LIMIT": 1000,
                              "SYNC_PAGE_SIZE": 10, **extra}


def drain(backend, django_capture_on_commit_callbacks) -> list[dict]:
    """Run every queued shard task, as a worker would, until none is left."""
    done: list[dict] = []
    seen = 0
    while seen < len(backend.results):
        result = backend.results[seen]
        seen += 1
        if result.task.name != "run_sync_shard":
            continue
        with django_capture_on_commit_callbacks(execute=True):
            done.append(result.task.call(*result.args))
    return done


def test_a_run_is_split_into_shards_and_each_object_is_stored_once(
        settings, dummy, django_capture_on_commit_callbacks):
    with StripeStub({"customers": 25, "products": 7}, accounts=ACCOUNTS) as stub:
        point(settings, stub)
        with django_capture_on_commit_callbacks(execute=True):
            run = enqueue_run(["customer", "product"], all_accounts=True)
        shards = SyncShard.objects.filter(run=run)
        assert shards.count() == 2 * 4 + 4  # (type x account) + the changes of each account
        assert shards.filter(name=CHANGES, status="waiting").count() == 4
        assert [r.args for r in dummy.results] == [
            [s.pk, None] for s in shards.exclude(name=CHANGES).order_by("pk")]
        results = drain(dummy, django_capture_on_commit_callbacks)
    assert len(results) == 12 and all(r["ran"] for r in results)
    run.refresh_from_db()
    assert run.finished
    assert set(shards.values_list("status", flat=True)) == {"ok"}
    for account in (None, *ACCOUNTS):
        assert Customer.objects.for_account(account).count() == 25
        assert Product.objects.for_account(account).count() == 7
    # every list read once from its first page: no shard ran twice
    assert set(stub.first_pages.values()) == {1}
    report = run_report(run.pk)
    assert report.ok and report.totals()["created"] == 4 * 32
    summary = format_summary(report)
    assert "customer" in summary and "acct_1BBBBBBB" in summary and "changes" in summary
    # the next run is incremental from the cursors
    with StripeStub({"customers": 25, "products": 7}, accounts=ACCOUNTS) as stub:
        point(settings, stub)
        dummy.clear()
        with django_capture_on_commit_callbacks(execute=True):
            again = enqueue_run(["customer"], account="acct_1AAAAAAA", events=False)
        drain(dummy, django_capture_on_commit_callbacks)
    assert SyncShard.objects.get(run=again).mode == "incremental"


def test_a_shard_delivered_twice_runs_once(settings, dummy, django_capture_on_commit_callbacks):
    with StripeStub({"customers": 5}) as stub:
        point(settings, stub)
        with django_capture_on_commit_callbacks(execute=True):
            run = enqueue_run(["customer"], events=False)
        shard = SyncShard.objects.get(run=run)
        first = run_shard(shard.pk)
        requests = len(stub.requests)
        second = run_shard(shard.pk)
    assert first["ran"] and first["status"] == "ok" and first["created"] == 5
    assert second == {"shard": shard.pk, "status": "ok", "ran": False}
    assert len(stub.requests) == requests
    assert SyncShard.objects.get().attempts == 1


def test_a_shard_whose_cursor_is_leased_elsewhere_is_queued_again(
        settings, dummy, django_capture_on_commit_callbacks):
    with StripeStub({"customers": 5}) as stub:
        point(settings, stub)
        with django_capture_on_commit_callbacks(execute=True):
            run = enqueue_run(["customer"], events=False)
        cursor = SyncCursor.objects.create(account="", livemode=False, object_type="customer")
        other = CursorLease(owner="elsewhere:1")
        assert other.acquire(cursor.pk, connection.alias)
        shard = SyncShard.objects.get(run=run)
        before = timezone.now()
        with django_capture_on_commit_callbacks(execute=True):
            assert run_shard(shard.pk)["status"] == "queued"
        retry = dummy.results[-1]
        assert retry.args == [shard.pk, None] and retry.task.run_after > before + dt.timedelta(seconds=20)
        assert not stub.requests and not Customer.objects.exists()
        other.release(connection.alias)
        drain(dummy, django_capture_on_commit_callbacks)
    assert Customer.objects.count() == 5 and SyncShard.objects.get().status == "ok"


def test_leases(settings):
    cursor = SyncCursor.objects.create(account="", livemode=False, object_type="customer")
    db = connection.alias
    first, second = CursorLease(owner="a", seconds=60), CursorLease(owner="b", seconds=60)
    assert first.acquire(cursor.pk, db)
    assert not second.acquire(cursor.pk, db)
    assert first.acquire(cursor.pk, db)  # its own lease again
    first.renew(db)
    # expired: another worker may take it over, and the first one then loses it
    SyncCursor.objects.filter(pk=cursor.pk).update(lease_expires=timezone.now() - dt.timedelta(seconds=1))
    assert second.acquire(cursor.pk, db)
    with pytest.raises(LeaseLost):
        first.renew(db)
    second.release(db)
    assert SyncCursor.objects.get().leased_by == ""
    assert first.acquire(cursor.pk, db)


def test_a_lost_lease_stops_the_shard_and_leaves_its_cursor(settings, monkeypatch):
    from stripe_django.sync import pipeline

    monkeypatch.setattr(pipeline, "GROUP_PAGES", 1)  # a page per commit: steal between two
    with StripeStub({"customers": 50}) as stub:
        point(settings, stub)
        lease = CursorLease(owner="me", seconds=60)
        pages = []

        def steal(type_report) -> None:
            pages.append(type_report.fetched)
            if len(pages) == 2:  # another worker takes the cursor over
                SyncCursor.objects.update(leased_by="thief")

        report = sync(["customer"], events=False, hooks=WorkerHooks(lease=lease), on_page=steal)
    t = report.get("customer")
    assert t.status == FAILED and "another worker took over" in t.errors[0]
    assert Customer.objects.count() == 20
    cursor = SyncCursor.objects.get()
    assert not cursor.complete and cursor.starting_after.endswith("000019")
    assert cursor.leased_by == "thief"  # not released: it is not this worker's any more


class Slots:
    """When each request of some limiters may go: the time of the call plus the wait it
    was asked to sleep (the calls themselves take a while on a busy machine, and shorten
    the waits, so the waits alone would not show the pace)."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.times.append(time.time() + seconds)

    def take(self, limiter: SharedRateLimiter) -> float:
        called, count = time.time(), len(self.times)
        limiter.acquire()
        return self.times[count] if len(self.times) > count else called

    def spacing(self, limiters) -> list[float]:
        times = [self.take(limiter) for limiter in limiters]
        return [b - a for a, b in zip(times, times[1:])]


# One request a second: the calls' own duration (milliseconds, a few tens on a loaded
# machine) is small beside the interval, so the slots' spacing is exact within 0.25 s.
ONE_SECOND_APART = pytest.approx(1.0, abs=0.25)


def test_the_database_pace_is_shared_by_every_limiter_of_a_key(settings):
    slots = Slots()
    store = DatabaseSlots(connection.alias)
    one, two, other = (SharedRateLimiter(key, 1, store, sleep=slots.sleep)
                       for key in ("key1", "key1", "key2"))
    # key1: four slots 1 s apart whoever takes them; key2 is paced on its own
    assert slots.spacing([one, two, one, two]) == [ONE_SECOND_APART] * 3
    count = len(slots.times)
    other.acquire()
    assert len(slots.times) == count  # no wait
    one.pause(10.0)  # later than key1's next slot (about 4 s ahead)
    assert slots.take(two) - time.time() > 9.0 and one.throttled == 1


def test_the_redis_pace_is_shared(settings):
    import redis

    from stripe_django.sync.ratelimit import RedisSlots

    try:
        store = RedisSlots(settings.REDIS_URL, prefix=f"stripe_django:test:{threading.get_ident()}:")
        store.redis.ping()
    except redis.exceptions.ConnectionError:
        missing("no Redis at " + settings.REDIS_URL)
    slots = Slots()
    one, two = (SharedRateLimiter("key", 1, store, sleep=slots.sleep) for _ in range(2))
    try:
        assert slots.spacing([one, two, one, two]) == [ONE_SECOND_APART] * 3
    finally:
        store.redis.delete(store.prefix + "key")


@pytest.mark.django_db(transaction=True)
def test_skip_locked_does_not_wait_for_a_worker_taking_the_row():
    if not connection.features.has_select_for_update_skip_locked:
        pytest.skip(f"{connection.vendor} has no SKIP LOCKED: the conditional UPDATE decides "
                    "(test_leases)")
    cursor = SyncCursor.objects.create(account="", livemode=False, object_type="customer")
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        from django.db import connections

        try:
            with transaction.atomic():
                SyncCursor.objects.select_for_update().get(pk=cursor.pk)
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10)
        started = timezone.now()
        assert not CursorLease(owner="b").acquire(cursor.pk, connection.alias)
        # skipped, not waited for (waiting would last until the holder lets go, 10 s)
        assert (timezone.now() - started).total_seconds() < 5
    finally:
        release.set()
        holder.join()
    assert CursorLease(owner="b").acquire(cursor.pk, connection.alias)


def test_the_command_enqueues_and_shows_a_run(settings, dummy, capsys,
                                              django_capture_on_commit_callbacks):
    with StripeStub({"customers": 3}) as stub:
        point(settings, stub)
        with django_capture_on_commit_callbacks(execute=True):
            call_command("stripe_sync", "customer", "--enqueue", "--no-events")
        out = capsys.readouterr().out
        run = SyncRun.objects.get()
        assert f"sync run {run.pk}: 1 shard(s) enqueued" in out
        call_command("stripe_sync", "--run", str(run.pk))
        assert "running" in capsys.readouterr().out
        drain(dummy, django_capture_on_commit_callbacks)
        call_command("stripe_sync", "--run", str(run.pk))
    out = capsys.readouterr().out
    assert "finished" in out and "customer" in out and "3" in out


def test_a_cursor_older_than_the_events_api_gets_its_full_pass_in_its_list_shard(
        settings, dummy, django_capture_on_commit_callbacks):
    SyncCursor.objects.create(account="", livemode=False, object_type="customer", complete=True,
                              created_after=1, events_after=1_000_000)
    with StripeStub({"customers": 4}) as stub:
        point(settings, stub)
        with django_capture_on_commit_callbacks(execute=True):
            run = enqueue_run(["customer"])
        drain(dummy, django_capture_on_commit_callbacks)
    listed = SyncShard.objects.get(run=run, name="customer")
    assert listed.mode == "full" and listed.created == 4
    assert any("older than the Events API" in note for note in listed.notes)
    assert SyncShard.objects.get(run=run, name=CHANGES).status == "ok"
    assert SyncCursor.objects.get().complete


def test_requeue_takes_back_the_shards_of_a_dead_worker(settings, dummy,
                                                        django_capture_on_commit_callbacks):
    from stripe_django.sync.distributed import requeue

    with StripeStub({"customers": 6}) as stub:
        point(settings, stub, SYNC_LEASE_SECONDS=60)
        with django_capture_on_commit_callbacks(execute=True):
            run = enqueue_run(["customer", "product"], events=False)
        customers, products = SyncShard.objects.filter(run=run).order_by("pk")
        # a worker took "customer" and died a while ago; another is on "product" right now
        SyncShard.objects.filter(pk=customers.pk).update(
            status="running", started_at=timezone.now() - dt.timedelta(minutes=5))
        SyncShard.objects.filter(pk=products.pk).update(status="running", started_at=timezone.now())
        dummy.clear()
        with django_capture_on_commit_callbacks(execute=True):
            assert requeue(run.pk) == 1
        assert [r.args for r in dummy.results] == [[customers.pk, None]]
        drain(dummy, django_capture_on_commit_callbacks)
    assert SyncShard.objects.get(pk=customers.pk).status == "ok"
    assert Customer.objects.count() == 6


def test_requeue_leaves_the_queued_shards_of_a_run_that_progresses(
        settings, dummy, django_capture_on_commit_callbacks):
    import io

    from stripe_django.sync.distributed import requeue

    out = io.StringIO()

    with StripeStub({"customers": 3}) as stub:
        point(settings, stub, SYNC_LEASE_SECONDS=60)
        with django_capture_on_commit_callbacks(execute=True):
            run = enqueue_run(["customer", "product", "price"], events=False)
        customers, products, prices = SyncShard.objects.filter(run=run).order_by("pk")
        # workers are at it: one shard done a moment ago, the others wait in the queue
        # (their tasks are there): queuing them again would only double the queue
        SyncShard.objects.filter(pk=customers.pk).update(
            status="ok", started_at=timezone.now(), finished_at=timezone.now())
        dummy.clear()
        with django_capture_on_commit_callbacks(execute=True):
            assert requeue(run.pk) == 0
            call_command("stripe_sync", "--run", str(run.pk), "--requeue", stdout=out)
        assert dummy.results == []
        assert (f"sync run {run.pk}: 0 shard(s) queued again\n  2 other shard(s) running or "
                "queued: a running shard is taken back once its lease has expired, queued ones "
                "once the run has not moved for SYNC_LEASE_SECONDS") in out.getvalue()
        # nothing has moved for longer than a lease: their tasks are taken for lost
        long_ago = timezone.now() - dt.timedelta(minutes=5)
        SyncRun.objects.filter(pk=run.pk).update(created_at=long_ago)
        SyncShard.objects.filter(pk=customers.pk).update(started_at=long_ago, finished_at=long_ago)
        with django_capture_on_commit_callbacks(execute=True):
            assert requeue(run.pk) == 2
        assert sorted(r.args[0] for r in dummy.results) == [products.pk, prices.pk]


@pytest.mark.django_db(transaction=True)
def test_a_worker_that_lost_its_shard_leaves_the_shard_to_its_new_worker(
        settings, dummy, django_capture_on_commit_callbacks):
    from django.db import OperationalError

    from ..conftest import close_thread_connections

    with StripeStub({"customers": 50}) as stub:
        point(settings, stub)
        with django_capture_on_commit_callbacks(execute=True):
            run = enqueue_run(["customer"], events=False)
        shard = SyncShard.objects.get(run=run)

        def stall(request: StubRequest) -> None:
            # This worker stalled past its lease: the shard was queued again
            # (--requeue) and another worker took it and its cursor over.
            if request.resource == "customers" and request.params.get(
                    "starting_after", "").endswith("000019"):
                # The next page may be asked for while the previous one is still being
                # written: the takeover comes once those 20 are stored, as in the story.
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    try:
                        if Customer.objects.count() >= 20:
                            break
                    except OperationalError:
                        pass  # SQLite's shared cache: the table is locked while a page is written
                    time.sleep(0.01)
                for _ in range(500):  # SQLite: a moment while the page is written
                    try:
                        with transaction.atomic():
                            SyncShard.objects.filter(pk=shard.pk).update(
                                worker="other:1", attempts=2, status="running")
                            SyncCursor.objects.update(leased_by="other:1:shard",
                                                      lease_expires=timezone.now() + dt.timedelta(minutes=5))
                        break
                    except OperationalError:
                        time.sleep(0.01)
                close_thread_connections()  # this runs in the stub server's thread

        stub.on_request = stall
        result = run_shard(shard.pk)
    assert not result.get("ran", True), SyncShard.objects.get(pk=shard.pk).errors
    row = SyncShard.objects.get(pk=shard.pk)
    # the row stays the new worker's: neither failed nor finished by the one that lost it
    assert (row.status, row.worker, row.finished_at) == ("running", "other:1", None)
    assert SyncRun.objects.get(pk=run.pk).finished_at is None
    # the pages stored before the takeover (the page being written meanwhile may be lost)
    assert Customer.objects.count() in (10, 20)


def test_requeue_queues_the_changes_a_dead_worker_did_not(
        settings, dummy, django_capture_on_commit_callbacks):
    from stripe_django.sync.distributed import requeue

    with StripeStub({"customers": 3}) as stub:
        point(settings, stub, SYNC_LEASE_SECONDS=60)
        with django_capture_on_commit_callbacks(execute=True):
            run = enqueue_run(["customer"])
        listed = SyncShard.objects.get(run=run, name="customer")
        # its worker recorded the list's result and died before queuing the changes
        long_ago = timezone.now() - dt.timedelta(minutes=5)
        SyncRun.objects.filter(pk=run.pk).update(created_at=long_ago)
        SyncShard.objects.filter(pk=listed.pk).update(status="ok", started_at=long_ago,
                                                      finished_at=long_ago)
        dummy.clear()
        with django_capture_on_commit_callbacks(execute=True):
            assert requeue(run.pk) == 1
        changes = SyncShard.objects.get(run=run, name=CHANGES)
        assert [r.args for r in dummy.results] == [[changes.pk, None]]
        drain(dummy, django_capture_on_commit_callbacks)
    assert SyncShard.objects.get(pk=changes.pk).status == "ok"
    assert SyncRun.objects.get(pk=run.pk).finished_at is not None


def test_waiting_for_a_run_no_worker_takes_stops_at_the_timeout_and_says_why(
        settings, dummy, capsys, django_capture_on_commit_callbacks):
    """``--wait`` without a worker would wait forever; ``--timeout`` ends it with exit
    status 2 (still running, not failed) and names the queue nobody reads."""
    with StripeStub({"customers": 3}) as stub:
        point(settings, stub)
        with django_capture_on_commit_callbacks(execute=True):
            call_command("stripe_sync", "customer", "--enqueue", "--no-events")
        run = SyncRun.objects.get()
        started = timezone.now()
        with pytest.raises(CommandError) as raised:
            call_command("stripe_sync", "--run", str(run.pk), "--wait", "--timeout", "1")
        assert 1 <= (timezone.now() - started).total_seconds() < 10
        assert raised.value.returncode == 2
        message = str(raised.value)
        assert f"run {run.pk} still running after 1 s" in message
        assert "no worker has started any of its shards" in message
        assert "tasks backend 'default' (" + DUMMY + "), queue 'default'" in message
        assert "running" in capsys.readouterr().out  # the run as it stands

        # Once a worker has taken a shard, the message no longer blames the queue.
        SyncShard.objects.filter(run=run).update(status="running")
        with pytest.raises(CommandError) as raised:
            call_command("stripe_sync", "--run", str(run.pk), "--wait", "--timeout", "0.5")
        assert "still running after 0.5 s" in str(raised.value)
        assert "no worker" not in str(raised.value)

        # A finished run: --timeout changes nothing.
        SyncShard.objects.filter(run=run).update(status="queued")
        drain(dummy, django_capture_on_commit_callbacks)
        call_command("stripe_sync", "--run", str(run.pk), "--wait", "--timeout", "1")
        assert "finished" in capsys.readouterr().out


def test_the_worker_hint_names_the_command_of_the_tested_backends(settings):
    from stripe_django.sync.distributed import worker_hint

    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "TASKS_QUEUE": "stripe"}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    assert worker_hint() == ("tasks backend 'default' (django_tasks_db.DatabaseBackend), queue "
                             "'stripe': is `manage.py db_worker --backend default --queue-name "
                             "stripe` running?")
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["stripe"]}}
    assert "`manage.py rqworker stripe --job-class django_tasks_rq.Job`" in worker_hint()
    settings.TASKS = {}
    assert worker_hint() == ("tasks backend 'default' (not in TASKS), queue 'stripe': is a "
                             "worker of that backend running?")


@pytest.mark.parametrize("args", [["--timeout", "5"], ["--run", "1", "--timeout", "5"],
                                  ["--run", "1", "--wait", "--timeout", "0"]])
def test_timeout_goes_with_wait(args):
    with pytest.raises(CommandError, match="--timeout goes with --wait"):
        call_command("stripe_sync", *args)


def test_a_shard_lists_a_long_list_in_created_windows_with_the_run_s_workers(
        settings, dummy, django_capture_on_commit_callbacks):
    with StripeStub({"customers": 1_000}, seconds_apart=3600) as stub:
        point(settings, stub, SYNC_PAGE_SIZE=20)
        with django_capture_on_commit_callbacks(execute=True):
            run = enqueue_run(["customer"], events=False, workers=4)
        assert run.options["workers"] == 4
        drain(dummy, django_capture_on_commit_callbacks)
    shard = SyncShard.objects.get(run=run)
    assert shard.status == "ok", shard.errors
    assert any("created windows by 4 threads" in note for note in shard.notes)
    assert Customer.objects.count() == 1_000
    cursor = SyncCursor.objects.get(object_type="customer")
    assert cursor.complete and cursor.slices is None
