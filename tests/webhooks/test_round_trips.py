"""Statements per webhook delivery on the inline path, counted exactly: an event is
stored and processed in ONE transaction (one commit), with no savepoint. On PostgreSQL
a new event is ONE statement (``WITH``: the event insert gating the object's upsert),
its own transaction in autocommit: no BEGIN, no COMMIT.

Django's query log holds every statement sent through a cursor and the transaction
boundaries it drives (``BEGIN``/``COMMIT``). The tests run outside any test transaction
(``transaction=True``), as the view runs in production (no ``ATOMIC_REQUESTS``).
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from stripe_django.models import Customer, Event
from stripe_django.models.processing import ProcessingStatus

from .conftest import customer, make_event

pytestmark = pytest.mark.django_db(transaction=True)


def _statements(deliver, event) -> list[str]:
    """The first word of each statement one delivery sent to the database."""
    with CaptureQueriesContext(connection) as captured:
        response = deliver(event)
    assert response.status_code == 200, response.content
    return [q["sql"].split()[0].upper() for q in captured.captured_queries]


# Django connects to MySQL with CLIENT_FOUND_ROWS, so the insert's row count cannot say
# whether the row is new: there the event goes in pending and is claimed by an UPDATE.
CLAIM = ["UPDATE"] if connection.vendor == "mysql" else []
ONE_STATEMENT = connection.vendor == "postgresql"
# A new event with its object: the event row (inserted marked processed: the claim),
# then the object's upsert under the staleness guard (no look-up of its stored state).
NEW_EVENT = ["WITH"] if ONE_STATEMENT else ["BEGIN", "INSERT", *CLAIM, "INSERT", "COMMIT"]


def test_a_new_event_is_stored_and_processed_in_one_transaction(deliver):
    deliver(make_event(customer("cus_first"), "customer.created"))  # connects, warms caches
    event = make_event(customer("cus_second"), "customer.created")
    statements = _statements(deliver, event)
    assert statements == NEW_EVENT
    row = Event.objects.get(pk=event["id"])
    assert row.processing_status == ProcessingStatus.PROCESSED
    assert row.processing_attempts == 1
    assert row.processed_at is not None and row.received_at is not None
    assert Customer.objects.get(pk="cus_second").email == "jenny@example.com"


def test_an_update_of_a_stored_object_takes_as_many_statements(deliver):
    deliver(make_event(customer("cus_1"), "customer.created"))
    statements = _statements(deliver, make_event(customer("cus_1", name="Jenny R."), "customer.updated"))
    assert statements == NEW_EVENT
    assert Customer.objects.get(pk="cus_1").name == "Jenny R."


def test_a_redelivery_writes_nothing_but_its_arrival(deliver):
    event = make_event(customer("cus_1"), "customer.created")
    deliver(event)
    Customer.objects.filter(pk="cus_1").update(email="changed-locally@example.com")
    statements = _statements(deliver, event)
    # the insert finds the row; its arrival noted (PostgreSQL, SQLite: once, only if a
    # sync stored it first); the claim finds it processed
    noted = [] if CLAIM else ["UPDATE"]
    if ONE_STATEMENT:
        # the one statement finds the row and writes nothing; then as a stored event
        assert statements == ["WITH", "BEGIN", *noted, "UPDATE", "COMMIT"]
    else:
        assert statements == ["BEGIN", "INSERT", *noted, "UPDATE", "COMMIT"]
    assert Event.objects.get(pk=event["id"]).processing_attempts == 1
    assert Customer.objects.get(pk="cus_1").email == "changed-locally@example.com"


def test_a_refused_object_rolls_back_the_transaction_and_the_event_is_kept_failed(deliver):
    """Nothing half-written: the customer is not stored, the event is (on its own: the
    object is refused while planned, before any statement), marked failed with the
    reason, answered 200."""
    event = make_event(customer("cus_1", balance="a lot"), "customer.created")
    with CaptureQueriesContext(connection) as captured:
        response = deliver(event)
    assert response.status_code == 200
    assert b"cannot be processed" in response.content
    statements = [q["sql"].split()[0].upper() for q in captured.captured_queries]
    # the event stored (MySQL asks first whether it is new), then marked failed
    assert statements == [*(["SELECT"] if CLAIM else []), "INSERT", "UPDATE"]
    row = Event.objects.get(pk=event["id"])
    assert row.processing_status == ProcessingStatus.FAILED
    assert row.processing_attempts == 1
    assert "balance" in row.processing_error
    assert row.processed_at is None
    assert row.stripe_data["data"]["object"]["id"] == "cus_1"
    assert not Customer.objects.exists()
    # A redelivery tries again (one transaction again), fails the same way, counted.
    assert deliver(event).status_code == 200
    assert Event.objects.get(pk=event["id"]).processing_attempts == 2


def test_a_deletion_takes_as_many_statements_and_marks_the_row_deleted(deliver):
    deliver(make_event(customer("cus_1"), "customer.created", created=1_800_000_000))
    statements = _statements(deliver, make_event(customer("cus_1"), "customer.deleted",
                                                 created=1_800_000_001))
    assert statements == NEW_EVENT
    stored = Customer.objects.get(pk="cus_1")
    assert stored.deleted is True
    assert stored.email == "jenny@example.com"  # the state it had, kept


def test_an_older_event_is_stored_processed_and_changes_nothing(deliver):
    """The staleness guard holds inside the one statement: the event row goes in, the
    object's row keeps its newer state."""
    deliver(make_event(customer("cus_1", name="Newer"), "customer.updated", created=1_800_000_010))
    older = make_event(customer("cus_1", name="Older"), "customer.updated", created=1_800_000_000)
    statements = _statements(deliver, older)
    assert statements == NEW_EVENT
    assert Customer.objects.get(pk="cus_1").name == "Newer"
    row = Event.objects.get(pk=older["id"])
    assert row.processing_status == ProcessingStatus.PROCESSED
    assert row.processing_attempts == 1


def test_an_expanded_object_goes_in_with_its_parent_in_the_same_statements(deliver):
    from stripe_django.models import PaymentIntent

    intent = {"id": "pi_1", "object": "payment_intent", "amount": 1000, "currency": "usd",
              "created": 1_700_000_000, "livemode": False, "status": "succeeded",
              "client_secret": "pi_1_secret_abc", "metadata": {},
              "customer": customer("cus_expanded", name="Expanded")}
    deliver(make_event(customer("cus_first"), "customer.created"))  # connects, warms caches
    statements = _statements(deliver, make_event(intent, "payment_intent.succeeded"))
    # one statement on PostgreSQL; elsewhere one upsert per model
    assert statements == (NEW_EVENT if ONE_STATEMENT else
                          ["BEGIN", "INSERT", *CLAIM, "INSERT", "INSERT", "COMMIT"])
    stored = PaymentIntent.objects.get(pk="pi_1")
    assert stored.customer_id == "cus_expanded"
    assert "client_secret" not in stored.stripe_data
    assert Customer.objects.get(pk="cus_expanded").name == "Expanded"
    assert "pi_1_secret_abc" not in str(Event.objects.get(type="payment_intent.succeeded").stripe_data)


@pytest.mark.skipif(not ONE_STATEMENT, reason="server-side prepared statements are PostgreSQL's "
                                              "(psycopg prepares a statement run prepare_threshold times)")
def test_the_statement_is_prepared_once_per_connection_when_the_database_allows(deliver):
    """Django turns psycopg's prepared statements off unless ``OPTIONS`` sets
    ``prepare_threshold`` (connection poolers); with it, events of one shape share one
    prepared statement (its text does not vary with the event)."""
    connection.ensure_connection()
    connection.connection.prepare_threshold = 2  # what OPTIONS={"prepare_threshold": 2} sets
    try:
        for n in range(8):
            deliver(make_event(customer(f"cus_{n}"), "customer.created"))
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                           ["WITH stored_event AS %"])
            assert cursor.fetchone()[0] == 1
    finally:
        connection.connection.prepare_threshold = None  # Django's default
    assert Customer.objects.count() == 8
