"""A sync never loses an object to a database error that may pass.

A second connection (another writer: a webhook, a worker) holds a lock on the table
the sync writes to. On SQLite that is the "database table is locked" error; on
PostgreSQL and MariaDB the sync's connection is told to wait at most a moment for
locks, so it gets the lock wait timeout a busy production database gives. Either the
page is stored again once the lock is gone, or the type fails with its cursor where it
was and the next run lists the page again: every object ends up stored.
"""

from __future__ import annotations

import io
import threading

import pytest
from django.db import connection

from stripe_django.models import Customer, SyncCursor
from stripe_django.sync import sync
from stripe_django.sync.report import FAILED
from stripe_django.testing.stripe_stub import StripeStub

from ..conftest import point_at

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = Customer._meta.db_table


class TableLock:
    """A write lock on one table, held by a connection of its own."""

    def __init__(self, table: str = TABLE) -> None:
        self.table = table
        self.held = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def start(self) -> None:
        self.thread.start()
        assert self.held.wait(10), "the lock could not be taken"

    def stop(self) -> None:
        self.release.set()
        self.thread.join(10)

    def _hold(self) -> None:
        vendor = connection.vendor
        settings = connection.settings_dict
        if vendor == "sqlite":
            import sqlite3

            other = sqlite3.connect(settings["NAME"], uri=True, isolation_level=None,
                                    check_same_thread=False)
            other.execute("BEGIN IMMEDIATE")
            other.execute(f'DELETE FROM "{self.table}" WHERE 1 = 0')
        elif vendor == "postgresql":
            import psycopg

            other = psycopg.connect(host=settings["HOST"], port=settings["PORT"] or 5432,
                                    user=settings["USER"], dbname=settings["NAME"])
            other.execute(f'LOCK TABLE "{self.table}" IN EXCLUSIVE MODE')
        else:
            import MySQLdb

            other = MySQLdb.connect(host=settings["HOST"], port=int(settings["PORT"] or 3306),
                                    user=settings["USER"], password=settings["PASSWORD"],
                                    database=settings["NAME"])
            other.cursor().execute(f"LOCK TABLES `{self.table}` WRITE")
        self.held.set()
        self.release.wait(60)
        if vendor == "mysql":
            other.cursor().execute("UNLOCK TABLES")
        else:
            other.rollback()
        other.close()


@pytest.fixture
def short_lock_waits():
    """PostgreSQL and MariaDB wait for locks: let the sync's connection wait 0.2 s."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET lock_timeout = '200ms'")
        elif connection.vendor == "mysql":
            cursor.execute("SET SESSION lock_wait_timeout = 1")
            cursor.execute("SET SESSION innodb_lock_wait_timeout = 1")
    yield
    connection.close()  # the next test gets a connection with the defaults


def locked_after_first_page(lock: TableLock, release_after_pages: int | None):
    pages = []

    def on_page(report) -> None:
        pages.append(report.fetched)
        if len(pages) == 1:
            lock.start()
            if release_after_pages == 0:
                threading.Timer(1.5, lock.stop).start()  # longer than a lock wait

    return on_page, pages


def test_a_page_stored_while_another_writer_holds_a_lock_is_stored_again(settings, short_lock_waits,
                                                                         one_page_per_commit):
    lock = TableLock()
    with StripeStub({"customers": 50}) as stub:
        point_at(settings, stub.api_base, SYNC_PAGE_SIZE=10)
        on_page, pages = locked_after_first_page(lock, release_after_pages=0)
        report = sync(["customer"], events=False, on_page=on_page)
    lock.stop()
    customers = report.get("customer")
    assert report.ok, customers.errors
    assert customers.failed == 0 and customers.created == 50
    assert any("database was busy" in note for note in customers.notes)
    assert Customer.objects.count() == 50


def test_when_the_lock_outlasts_the_retries_the_cursor_stays_and_the_next_run_stores_the_rest(
        settings, short_lock_waits, one_page_per_commit):
    lock = TableLock()
    with StripeStub({"customers": 50}) as stub:
        point_at(settings, stub.api_base, SYNC_PAGE_SIZE=10)
        on_page, pages = locked_after_first_page(lock, release_after_pages=None)
        try:
            first = sync(["customer"], events=False, on_page=on_page)
        finally:
            lock.stop()
        customers = first.get("customer")
        assert not first.ok and customers.status == FAILED
        assert "the cursor was not moved" in customers.errors[0]
        assert customers.failed == 0  # nothing was "refused": the objects were fine
        stored = Customer.objects.count()
        assert stored == 10
        cursor = SyncCursor.objects.get()
        assert not cursor.complete and cursor.starting_after == max(
            Customer.objects.values_list("pk", flat=True))

        second = sync(["customer"], events=False)
    assert second.ok
    assert second.get("customer").mode == "resumed"
    assert Customer.objects.count() == 50


# --- a lock on the cursors, at the very start of a run -----------------------------------

CURSORS = SyncCursor._meta.db_table


def test_a_lock_on_the_cursor_table_at_the_start_of_a_run_is_waited_out(settings, short_lock_waits):
    # The run's first statements read and create the cursors in bulk: while another
    # writer holds the table they are tried again, as a page's writes are.
    lock = TableLock(CURSORS)
    with StripeStub({"customers": 30}) as stub:
        point_at(settings, stub.api_base, SYNC_PAGE_SIZE=10)
        lock.start()
        threading.Timer(1.5, lock.stop).start()  # longer than a lock wait, shorter than the retries
        try:
            report = sync(["customer"], events=False)
        finally:
            lock.stop()
    assert report.ok, report.get("customer").errors
    assert report.get("customer").created == 30
    assert SyncCursor.objects.get().complete


def test_a_lock_on_the_cursor_table_that_outlasts_the_retries_fails_the_types_not_the_run(
        settings, short_lock_waits, monkeypatch):
    from django.core.management import CommandError, call_command

    from stripe_django.sync import plan

    monkeypatch.setattr(plan, "CURSOR_RETRY_DELAYS", (0.1, 0.1))
    lock = TableLock(CURSORS)
    with StripeStub({"customers": 30}) as stub:
        point_at(settings, stub.api_base, SYNC_PAGE_SIZE=10)
        lock.start()
        try:
            report = sync(["customer", "product"], events=False)
            out, err = io.StringIO(), io.StringIO()
            with pytest.raises(CommandError, match="not everything was synced"):
                call_command("stripe_sync", "customer", "--no-events", stdout=out, stderr=err)
        finally:
            lock.stop()
        assert not stub.requests  # nothing listed whose cursor could not be kept
    assert not report.ok
    for name in ("customer", "product"):
        line = report.get(name)
        assert line.status == FAILED
        assert line.errors[0].startswith("its sync cursor could not be read or created: ")
    assert "its sync cursor could not be read or created" in out.getvalue() + err.getvalue()
    assert Customer.objects.count() == 0 and SyncCursor.objects.count() == 0


def test_a_cursor_that_cannot_be_reset_for_a_full_pass_fails_its_type_not_the_run(
        settings, short_lock_waits, monkeypatch):
    from stripe_django.sync import plan

    if connection.vendor != "postgresql":
        pytest.skip("needs a lock that lets the cursors be read but not written: PostgreSQL's "
                    "EXCLUSIVE table lock (SQLite's and MariaDB's write locks block reads too)")
    monkeypatch.setattr(plan, "CURSOR_RETRY_DELAYS", (0.1, 0.1))
    with StripeStub({"customers": 30}) as stub:
        point_at(settings, stub.api_base, SYNC_PAGE_SIZE=10)
        assert sync(["customer"], events=False).ok
        served = len(stub.requests)
        lock = TableLock(CURSORS)
        lock.start()
        try:
            report = sync(["customer"], events=False, full=True)  # starts its cursor over
        finally:
            lock.stop()
        assert len(stub.requests) == served  # not listed: its cursor could not be kept
    line = report.get("customer")
    assert not report.ok and line.status == FAILED
    assert line.errors[0].startswith("its sync cursor could not be reset for a full pass: ")
    assert SyncCursor.objects.get().complete  # as the last run left it
