"""v2 objects in the mirror: each persisted type stored and read back equal, with its
RFC 3339 times (sub-second part kept), ``{value, currency}`` amounts, the ``from`` field,
the links between v2 objects and to v1 rows, and the v2 secrets never stored.

The payloads (stripe_django/testing/v2_examples.py) follow the response examples of
Stripe's API reference, https://docs.stripe.com/api/v2 (each factory names its page).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from stripe_django import type_table
from stripe_django.exceptions import IngestError
from stripe_django.ingest import columns
from stripe_django.models import (
    Account, Event, Invoice, V2Account, V2AccountPerson, V2EventDestination, V2OutboundPayment,
    V2Transaction, V2TransactionEntry,
)
from stripe_django.sync import upsert, upsert_many
from stripe_django.testing import v2_examples as examples
from stripe_django.testing.payloads import invoice_current

from .test_secrets import every_stored_text

pytestmark = pytest.mark.django_db

UTC = dt.timezone.utc


def _v2_models() -> dict[str, type]:
    return {name: model for name, model in columns.mirrored_types().items() if name.startswith("v2.")}


def test_every_v2_model_has_an_example_payload():
    assert set(examples.V2_EXAMPLES) == set(_v2_models())


def _expected(column: columns.Column, raw):
    """What the column must read back as, computed here without the ingest converters."""
    if raw is None:
        return None
    if column.kind == columns.TIMESTAMP:
        # "2025-06-19T17:52:34.829Z": Python reads RFC 3339 with a "Z" since 3.11
        return dt.datetime.fromisoformat(raw)
    return raw


@pytest.mark.parametrize("object_type", sorted(examples.V2_EXAMPLES))
def test_a_v2_object_is_stored_and_read_back_equal(object_type):
    payload = examples.V2_EXAMPLES[object_type]()
    upsert(payload)
    model = _v2_models()[object_type]
    row = model.objects.get(pk=payload["id"])  # read back from the database
    checked = 0
    for column in columns.columns_of(model):
        if column.name not in payload:
            continue
        field = row._meta.get_field(_field_name(column))
        value = getattr(row, field.attname)  # a reference: its id (account_id)
        assert value == _expected(column, _without_secrets(payload[column.name])), (object_type, column.name)
        checked += 1
    assert checked >= 5
    assert row.stripe_data == json.loads(json.dumps(_without_secrets(payload)))


def _field_name(column: columns.Column) -> str:
    return type_table.KEYWORD_FIELDS.get(column.name, column.name)


def _without_secrets(value):
    if isinstance(value, dict):
        return {k: _without_secrets(v) for k, v in value.items() if k not in type_table.REDACTED_FIELDS}
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


def test_v2_times_keep_their_sub_second_part():
    upsert_many([examples.outbound_payment(), examples.transaction_entry()])
    payment = V2OutboundPayment.objects.get()
    assert payment.created == dt.datetime(2025, 6, 19, 17, 52, 34, 829000, tzinfo=UTC)
    entry = V2TransactionEntry.objects.get()
    assert entry.effective_at == dt.datetime(2025, 6, 19, 17, 52, 34, 852123, tzinfo=UTC)
    # ordering and filtering see the milliseconds
    assert V2TransactionEntry.objects.filter(
        effective_at__gt=dt.datetime(2025, 6, 19, 17, 52, 34, 852122, tzinfo=UTC)).count() == 1


def test_rfc3339_offsets_and_long_fractions_become_the_same_utc_instant():
    upsert(examples.transaction(created="2025-06-19T19:52:34.8301239+02:00"))
    assert V2Transaction.objects.get().created == dt.datetime(2025, 6, 19, 17, 52, 34, 830123, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["2025-06-19", "2025-06-19T17:52:34", "yesterday", "2025-13-40T00:00:00Z"])
def test_a_time_that_is_not_rfc3339_is_refused_naming_the_field(bad):
    with pytest.raises(IngestError) as error:
        upsert(examples.transaction(created=bad))
    assert error.value.field == "created"
    assert "RFC 3339" in str(error.value) or "not a valid time" in str(error.value)
    assert not V2Transaction.objects.exists()


def test_amounts_are_kept_whole_and_queryable_by_value_and_currency():
    upsert_many([examples.outbound_payment(), examples.transaction(),
                 examples.transaction("trxn_big", amount={"value": 5_000_000_000, "currency": "idr"})])
    assert V2OutboundPayment.objects.get().amount == {"value": 1000, "currency": "gbp"}
    assert set(V2Transaction.objects.filter(amount__value__lt=0).values_list("pk", flat=True)) == {
        examples.TRANSACTION}
    assert list(V2Transaction.objects.filter(amount__currency="idr", amount__value__gte=5_000_000_000)
                .values_list("pk", flat=True)) == ["trxn_big"]


def test_the_from_field_is_stored_as_from_details():
    upsert(examples.outbound_payment())
    payment = V2OutboundPayment.objects.get(from_details__financial_account=examples.FINANCIAL_ACCOUNT)
    assert payment.from_details["debited"] == {"value": 1000, "currency": "gbp"}
    assert payment.to["recipient"] == examples.ACCOUNT
    assert "from" in payment.stripe_data  # Stripe's own name in the kept payload


def test_a_v2_event_is_stored_in_the_one_event_inbox():
    row = upsert(examples.event())
    assert isinstance(row, Event)
    row = Event.objects.get()
    assert row.type == "v2.core.account[requirements].updated"
    assert row.created == dt.datetime(2025, 6, 9, 21, 17, 30, 42000, tzinfo=UTC)
    assert row.context == examples.ACCOUNT
    assert row.stripe_data["related_object"]["url"] == f"/v2/core/accounts/{examples.ACCOUNT}"
    assert row.stripe_data["object"] == "v2.core.event"
    assert row.processing_status == "stored"


def test_v2_objects_link_to_each_other_and_to_v1_rows(stripe_examples):
    v1_account = dict(stripe_examples["account"], id=examples.ACCOUNT)
    upsert_many([examples.account_person(), examples.account(), v1_account,
                 invoice_current("in_v2", customer_account=examples.ACCOUNT)])
    person = V2AccountPerson.objects.select_related("account").get()
    assert person.account.display_name == "Furever"
    assert list(V2Account.objects.get().v2_account_persons.all()) == [person]
    # one id, two rows: each links to the other
    assert Account.objects.get().v2_account == V2Account.objects.get()
    assert V2Account.objects.get().v1_account == Account.objects.get()
    invoice = Invoice.objects.get()
    assert invoice.customer_account_id == examples.ACCOUNT
    assert invoice.customer_account == V2Account.objects.get()
    assert list(V2Account.objects.get().invoices_as_customer_account.all()) == [invoice]


def test_a_missing_other_version_of_an_account_is_none():
    upsert(examples.account())
    assert V2Account.objects.get().v1_account is None


def test_v2_secrets_never_reach_the_database():
    destination = examples.event_destination()
    token = "ek_test_meterEventSessionTokenValue42"
    session_event = examples.event(
        "evt_with_session", data={"session": {"object": "v2.billing.meter_event_session",
                                              "id": "mes_1", "authentication_token": token}})
    upsert_many([destination, session_event])
    row = V2EventDestination.objects.get()
    assert row.webhook_endpoint == {"url": "https://example.com/stripe/webhook/"}
    stored = every_stored_text()
    assert destination["webhook_endpoint"]["signing_secret"] not in stored
    assert token not in stored
    assert '"signing_secret"' not in stored and '"authentication_token"' not in stored


@pytest.mark.parametrize("object_type", sorted(t for t in type_table.EXCLUDED_TYPES
                                               if t.startswith("v2.") and t != "v2.core.event"))
def test_an_ephemeral_v2_object_is_refused_with_the_reason(object_type):
    with pytest.raises(IngestError) as error:
        upsert({"id": "x_1", "object": object_type, "created": "2025-01-01T00:00:00.000Z"})
    assert "not mirrored: " + type_table.EXCLUDED_TYPES[object_type] in str(error.value)
