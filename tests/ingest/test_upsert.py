"""upsert / upsert_many: rows, nested objects, staleness, deletion, bad input, queries."""

import datetime as dt

import pytest
import stripe
from django.db import connection
from django.test.utils import CaptureQueriesContext

from stripe_django import models
from stripe_django.exceptions import IngestError
from stripe_django.ingest import Snapshot
from stripe_django.sync import upsert, upsert_many
from stripe_django.testing import payloads

pytestmark = pytest.mark.django_db

NOW = 1_800_000_000


def test_upsert_returns_the_saved_instance_with_typed_columns():
    invoice = upsert(payloads.invoice_current(), stamp=NOW)
    assert isinstance(invoice, models.Invoice)
    assert invoice.amount_due == 5010
    assert invoice.created == dt.datetime.fromtimestamp(payloads.T0 + 3 * 10**8, tz=dt.timezone.utc)
    assert invoice.customer_id == "cus_now"
    assert invoice.stripe_snapshot_at == dt.datetime.fromtimestamp(NOW, tz=dt.timezone.utc)
    assert invoice.stripe_data["lines"]["data"][0]["id"] == "il_in_now_0"
    assert invoice.stripe_account is None and invoice.deleted is False


def test_stripe_objects_are_accepted_like_dicts():
    obj = stripe.StripeObject.construct_from(payloads.customer_current(), "sk_test_x")
    assert upsert(obj).email == "now@example.com"


def test_expanded_objects_become_rows_of_their_own():
    invoice = payloads.invoice_current(customer=payloads.customer_current())
    upsert(invoice)
    assert models.Invoice.objects.get(pk="in_now").customer_id == "cus_now"
    assert models.Customer.objects.get(pk="cus_now").email == "now@example.com"


def test_counts_created_updated_unchanged():
    first = upsert_many([payloads.customer_current("cus_a"), payloads.customer_current("cus_b")], stamp=NOW)
    assert first.as_tuple() == (2, 0, 0, 0)
    again = upsert_many([payloads.customer_current("cus_a"),
                         payloads.customer_current("cus_b", email="new@example.com")], stamp=NOW + 1)
    assert again.as_tuple() == (0, 1, 1, 0)
    assert again.by_type["customer"].updated == 1


def test_an_older_snapshot_never_overwrites_a_newer_one():
    upsert(payloads.customer_current(email="new@example.com"), stamp=NOW)
    upsert(payloads.customer_current(email="old@example.com"), stamp=NOW - 60)
    row = models.Customer.objects.get(pk="cus_now")
    assert row.email == "new@example.com"
    assert row.stripe_data["email"] == "new@example.com"


def test_an_unchanged_object_moves_its_stamp_forward():
    upsert(payloads.customer_current(), stamp=NOW)
    upsert(payloads.customer_current(), stamp=NOW + 100)  # same data, newer snapshot
    upsert(payloads.customer_current(email="stale@example.com"), stamp=NOW + 50)
    assert models.Customer.objects.get(pk="cus_now").email == "now@example.com"


def test_the_newest_state_wins_within_one_batch_in_any_order():
    result = upsert_many([
        Snapshot(payloads.customer_current(email="c@example.com"), stamp=NOW + 2),
        Snapshot(payloads.customer_current(email="a@example.com"), stamp=NOW),
        Snapshot(payloads.customer_current(email="b@example.com"), stamp=NOW + 1),
    ])
    assert result.created == 1
    assert models.Customer.objects.get(pk="cus_now").email == "c@example.com"


def test_a_deleted_stub_marks_the_row_deleted_and_keeps_its_data():
    upsert(payloads.customer_current(), stamp=NOW)
    row = upsert({"id": "cus_now", "object": "customer", "deleted": True}, stamp=NOW + 1)
    assert row.deleted is True
    assert row.email == "now@example.com"
    assert models.Customer.objects.existing().count() == 0
    # A late update from before the deletion does not bring it back.
    upsert(payloads.customer_current(email="late@example.com"), stamp=NOW - 5)
    assert models.Customer.objects.get(pk="cus_now").deleted is True


def test_a_deleted_stub_for_an_unknown_row_creates_a_deleted_row():
    row = upsert({"id": "prod_gone", "object": "product", "deleted": True})
    assert (row.deleted, row.name) == (True, None)


def test_rows_are_tagged_with_the_connected_account():
    upsert(payloads.invoice_current(customer=payloads.customer_current()), account="acct_1")
    assert models.Invoice.objects.for_account("acct_1").count() == 1
    assert models.Customer.objects.get(pk="cus_now").stripe_account == "acct_1"
    assert models.Invoice.objects.for_account(None).count() == 0


def test_objects_without_an_id_get_a_synthetic_key():
    balance = {"object": "balance", "livemode": False, "available": [{"amount": 5, "currency": "usd"}],
               "pending": []}
    assert upsert(balance).id == "balance:platform:test"
    assert upsert(balance, account="acct_9").id == "balance:acct_9:test"
    cash = upsert({"object": "cash_balance", "customer": "cus_1", "available": {"eur": 100},
                   "livemode": False, "settings": {}})
    assert cash.id == "cash_balance:cus_1"


def test_secrets_in_payloads_are_never_stored():
    intent = {"id": "pi_1", "object": "payment_intent", "amount": 100, "currency": "usd",
              "client_secret": "pi_1_secret_abc", "status": "succeeded", "livemode": False, "created": NOW}
    row = upsert(intent)
    assert "client_secret" not in row.stripe_data
    assert not hasattr(row, "client_secret")
    with connection.cursor() as cursor:
        cursor.execute("SELECT stripe_data FROM stripe_django_paymentintent")
        assert "pi_1_secret_abc" not in str(cursor.fetchall())


@pytest.mark.parametrize("payload, fragment", [
    ({"id": "cus_1"}, "no 'object'"),
    ({"object": "customer"}, "customer (no id) field 'id'"),
    ({"id": "x_1", "object": "spaceship"}, "spaceship x_1: unknown object type"),
    ({"id": "cus_1", "object": "customer", "balance": "12"}, "customer cus_1 field 'balance': expected an integer"),
    ({"id": "cus_1", "object": "customer", "created": "yesterday"}, "field 'created': expected a Unix timestamp"),
    ({"id": "cus_1", "object": "customer", "delinquent": 1}, "field 'delinquent': expected true or false"),
    ({"id": "in_1", "object": "invoice", "customer": 42}, "invoice in_1 field 'customer': expected an id"),
    ({"id": "in_1", "object": "invoice", "lines": 5}, "field 'lines': expected a list object"),
    ({"id": "ephkey_1", "object": "ephemeral_key"}, "not mirrored"),
    ("not an object", "expected a JSON object"),
])
def test_bad_input_raises_one_error_type_naming_type_id_and_field(payload, fragment):
    with pytest.raises(IngestError) as info:
        upsert(payload)
    assert fragment in str(info.value)
    assert models.Customer.objects.count() == 0


def test_a_bad_nested_object_refuses_its_whole_parent_and_nothing_is_half_written():
    bad = payloads.invoice_current(customer=payloads.customer_current(balance="lots"))
    with pytest.raises(IngestError, match="customer cus_now field 'balance'"):
        upsert(bad)
    assert models.Invoice.objects.count() == 0
    assert models.InvoiceLineItem.objects.count() == 0
    assert models.Customer.objects.count() == 0


def test_the_rest_of_a_batch_is_written_and_failures_are_reported():
    result = upsert_many([
        payloads.customer_current("cus_ok1"),
        {"id": "cus_bad", "object": "customer", "email": ["not", "a", "string"]},
        {"object": "customer"},
        payloads.customer_current("cus_ok2"),
    ])
    assert result.as_tuple() == (2, 0, 0, 2)
    assert [e.object_id for e in result.errors] == ["cus_bad", None]
    assert result.errors[0].field == "email"
    assert set(models.Customer.objects.values_list("id", flat=True)) == {"cus_ok1", "cus_ok2"}


def test_a_page_of_invoices_takes_a_constant_number_of_queries():
    def page(n, prefix):
        return [payloads.invoice_current(f"in_{prefix}{i}", n_lines=5) for i in range(n)]

    def queries_for(objs):
        with CaptureQueriesContext(connection) as ctx:
            upsert_many(objs)
        return len(ctx.captured_queries)

    small, large = queries_for(page(30, "a")), queries_for(page(100, "b"))
    # Per model (invoice, line item, invoice payment): one SELECT of stamps and one
    # upsert; plus the transaction's savepoint and release. On PostgreSQL new rows go
    # in by COPY, in a savepoint of its own: two statements more per model.
    copies = 3 * 2 if connection.vendor == "postgresql" else 0
    assert small == large == 3 * 2 + 2 + copies
    # Unchanged again: the look-ups only, and one stamp update per model.
    assert queries_for(page(100, "b")) == 3 * 2 + 2


def test_secrets_inside_a_stored_event_are_never_stored():
    intent = {"id": "pi_2", "object": "payment_intent", "client_secret": "pi_2_secret_xyz",
              "amount": 1, "currency": "usd", "livemode": False, "created": NOW}
    event = {"id": "evt_1", "object": "event", "type": "payment_intent.created", "created": NOW,
             "livemode": False, "data": {"object": intent, "previous_attributes": {"client_secret": "old"}}}
    row = upsert(event)
    assert "client_secret" not in row.data["object"]
    assert "client_secret" not in row.stripe_data["data"]["object"]
    assert row.data["previous_attributes"] == {}
    assert intent["client_secret"] == "pi_2_secret_xyz"  # the caller's payload is untouched


def test_without_a_savepoint_a_batch_in_the_callers_transaction_costs_two_queries_less():
    from django.db import transaction

    with CaptureQueriesContext(connection) as with_savepoint, transaction.atomic():
        upsert_many([payloads.customer_current("cus_sp1")], stamp=NOW)
    with CaptureQueriesContext(connection) as without, transaction.atomic():
        result = upsert_many([payloads.customer_current("cus_sp2"),
                              payloads.customer_current("cus_sp3")], stamp=NOW, savepoint=False)
    assert result.created == 2 and not result.errors
    assert len(without) == len(with_savepoint) - 2
    assert set(models.Customer.objects.values_list("pk", flat=True)) == {"cus_sp1", "cus_sp2", "cus_sp3"}
