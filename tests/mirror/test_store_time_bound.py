"""A database that hangs after Stripe has answered (issue 21): the caller of a mirrored
call gets Stripe's answer within ``MIRROR_STORE_TIMEOUT``, and what was not stored is
reported, by id, with what brings it (``MIRROR_FAILURES``: logged, or ``MirrorError``
carrying the answer, which stores it once the database is free).

The hang is a real one: another connection holds the customer's row lock in an open
transaction, as a long transaction of the project would. PostgreSQL and MariaDB wait
for it without limit (PostgreSQL) or for 50 s (MariaDB's default); SQLite's in-memory
test database answers "table is locked" at once rather than waiting, so a hang cannot
be expressed there.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest
from django.db import connection

import stripe_django
from stripe_django.exceptions import MirrorError
from stripe_django.models import Customer
from stripe_django.sync import upsert, upsert_many

pytestmark = pytest.mark.django_db(transaction=True)

BOUND = 1.0  # seconds: MIRROR_STORE_TIMEOUT of these tests
# The call's own time besides the store (an HTTP round trip to the local stub, ingest):
# generous, so that only a store waiting for the lock past the bound fails the test.
SLACK = 4.0


@pytest.fixture(autouse=True)
def hanging_database_only():
    if connection.vendor == "sqlite":
        pytest.skip("SQLite's in-memory test database refuses a locked table at once "
                    "(SQLITE_LOCKED) instead of waiting: a hang cannot be expressed there")


class RowLock:
    """The customer's row locked by another connection, in a transaction left open."""

    def __init__(self, pk: str) -> None:
        self.pk = pk
        self.held = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def __enter__(self) -> RowLock:
        self.thread.start()
        assert self.held.wait(10), "the lock could not be taken"
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.thread.join(10)

    def _hold(self) -> None:
        settings = connection.settings_dict
        table = Customer._meta.db_table
        if connection.vendor == "postgresql":
            import psycopg

            other = psycopg.connect(host=settings["HOST"], port=settings["PORT"] or 5432,
                                    user=settings["USER"], dbname=settings["NAME"])
            other.execute(f'SELECT 1 FROM "{table}" WHERE id = %s FOR UPDATE', [self.pk])
        else:
            import MySQLdb

            other = MySQLdb.connect(host=settings["HOST"], port=int(settings["PORT"] or 3306),
                                    user=settings["USER"], password=settings["PASSWORD"],
                                    database=settings["NAME"])
            other.cursor().execute("START TRANSACTION")
            other.cursor().execute(f"SELECT 1 FROM `{table}` WHERE id = %s FOR UPDATE", [self.pk])
        self.held.set()
        self.release.wait(60)
        other.rollback()
        other.close()


@pytest.fixture
def bounded(settings, stub):
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "MIRROR_STORE_TIMEOUT": BOUND}
    yield
    connection.close()  # the next test's connection starts with the server's defaults


def test_the_caller_gets_stripes_answer_within_the_bound_and_the_ids_are_logged(
        stub, example, bounded, caplog):
    upsert(example("customer", id="cus_hang1", name="before"))
    stub.answer("POST", "/v1/customers/cus_hang1", example("customer", id="cus_hang1", name="after"))
    client = stripe_django.mirrored_client()
    with RowLock("cus_hang1"), caplog.at_level(logging.ERROR, logger="stripe_django.mirror"):
        started = time.monotonic()
        answer = client.v1.customers.update("cus_hang1", params={"name": "after"})
        spent = time.monotonic() - started
        # Still locked: nothing of the answer is in the mirror.
    assert answer.name == "after"  # Stripe's answer, as the SDK gives it
    assert BOUND * 0.9 <= spent < BOUND + SLACK
    assert "POST /v1/customers/cus_hang1 was not stored" in caplog.text
    assert "storing did not finish within 1 s" in caplog.text
    assert "not stored: cus_hang1" in caplog.text and "stripe_sync" in caplog.text
    assert Customer.objects.get(pk="cus_hang1").name == "before"
    # The connection is as it was: later statements have no bound of the store's.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW statement_timeout")
            assert cursor.fetchone()[0] == "0"
    # Once the lock is gone, the next call stores as usual.
    assert client.v1.customers.update("cus_hang1", params={"name": "after"}).name == "after"
    assert Customer.objects.get(pk="cus_hang1").name == "after"


def test_with_mirror_failures_raise_the_error_carries_the_answer_to_store_later(
        stub, example, bounded, settings):
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "MIRROR_FAILURES": "raise"}
    row = upsert(example("customer", id="cus_hang2", name="before"))
    stub.answer("POST", "/v1/customers/cus_hang2", example("customer", id="cus_hang2", name="after"))
    with RowLock("cus_hang2"):
        started = time.monotonic()
        with pytest.raises(MirrorError, match="MIRROR_STORE_TIMEOUT") as caught:
            row.stripe.update(name="after")
        assert time.monotonic() - started < BOUND + SLACK
    assert caught.value.payload["name"] == "after"
    assert not upsert_many([caught.value.payload]).errors
    assert Customer.objects.get(pk="cus_hang2").name == "after"


def test_a_store_inside_the_callers_transaction_is_bounded_and_leaves_it_usable(
        stub, example, bounded):
    from django.db import transaction

    upsert(example("customer", id="cus_hang3", name="before"))
    upsert(example("customer", id="cus_free3", name="free"))
    stub.answer("POST", "/v1/customers/cus_hang3", example("customer", id="cus_hang3", name="after"))
    client = stripe_django.mirrored_client()
    with RowLock("cus_hang3"), transaction.atomic():
        started = time.monotonic()
        client.v1.customers.update("cus_hang3", params={"name": "after"})
        assert time.monotonic() - started < BOUND + SLACK
        # The caller's transaction goes on: the store was rolled back to its savepoint.
        Customer.objects.filter(pk="cus_free3").update(name="changed")
    assert Customer.objects.get(pk="cus_free3").name == "changed"
    assert Customer.objects.get(pk="cus_hang3").name == "before"


def test_the_callers_own_set_local_ends_with_its_transaction(stub, example, bounded):
    """PostgreSQL: the bound is set for the caller's transaction only; restored for the
    session it would keep a caller's SET LOCAL alive on a persistent connection."""
    from django.db import transaction

    if connection.vendor != "postgresql":
        pytest.skip("SET LOCAL statement_timeout is PostgreSQL's (MariaDB bounds each "
                    "statement with SET STATEMENT, which leaves the session alone)")

    def timeout() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            return cursor.fetchone()[0]

    upsert(example("customer", id="cus_local", name="before"))
    stub.answer("POST", "/v1/customers/cus_local", example("customer", id="cus_local", name="after"))
    client = stripe_django.mirrored_client()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = '3s'")
        client.v1.customers.update("cus_local", params={"name": "after"})
        assert timeout() == "3s"  # the caller's value, back after the store
    assert timeout() == "0"  # and gone with its transaction
    assert Customer.objects.get(pk="cus_local").name == "after"
