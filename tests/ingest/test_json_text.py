"""The JSON text ingest makes of a payload: what the fast encoder writes, what it
refuses and leaves to the standard library, and change detection across both."""

from __future__ import annotations

import json

import pytest

from stripe_django.ingest import jsontext
from stripe_django.models import Customer, Invoice
from stripe_django.sync import upsert_many
from stripe_django.testing.payloads import customer_current, invoice_current

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", [
    {"b": 1, "a": [None, True, "é ✓ \u2028", {"z": "\x1f", "y": -2 ** 63}]},
    {"amount": 2 ** 64 - 1, "ratio": 0.5},
    {"beyond 64 bits": 2 ** 70},  # orjson refuses it: the standard library writes it
    {1: "a key that is not a string"},  # likewise
])
def test_the_text_is_the_standard_librarys_compact_sorted_form(value):
    standard = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    assert jsontext.dumps(value) == standard


def test_a_json_column_orjson_refuses_is_stored_through_the_standard_library():
    """An integer beyond 64 bits inside a JSON column (metadata is the user's own
    dict before it reaches Stripe): the batch's other rows are written as well."""
    upsert_many([customer_current("cus_huge", invoice_settings={"footer": None, "n": 2 ** 70}),
                 customer_current("cus_plain")])
    huge = Customer.objects.get(pk="cus_huge")
    assert huge.invoice_settings["n"] == 2 ** 70
    assert huge.stripe_data["invoice_settings"]["n"] == 2 ** 70
    assert Customer.objects.get(pk="cus_plain").invoice_settings["footer"] is None


@pytest.mark.parametrize("number", [float("nan"), float("inf"), -float("inf")])
def test_a_non_finite_number_at_any_depth_is_refused_naming_the_payload(number):
    """orjson would write NaN as null: the walk before encoding refuses it, also in a
    nested object that becomes a row of its own (an expanded customer)."""
    deep = customer_current("cus_deep", metadata={"a": [{"b": [number]}]})
    result = upsert_many([invoice_current("in_deep", customer=deep), customer_current("cus_ok")])
    assert result.failed == 1
    assert "NaN or an infinite number" in str(result.errors[0])
    assert "in_deep" in str(result.errors[0])
    assert not Invoice.objects.exists()
    assert list(Customer.objects.values_list("pk", flat=True)) == ["cus_ok"]


def test_floats_and_unicode_read_back_as_sent_and_an_unchanged_payload_stays_unchanged():
    payload = customer_current("cus_float", metadata={"rate": "0.1"}, name="Zoë 😀",
                               invoice_settings={"ratio": 1e-07, "big": 1e16, "third": 1 / 3})
    first = upsert_many([payload], stamp=1_800_000_000)
    again = upsert_many([payload], stamp=1_800_000_100)
    assert first.created == 1 and again.unchanged == 1 and again.updated == 0
    row = Customer.objects.get()
    assert row.name == "Zoë 😀"
    assert row.invoice_settings == {"ratio": 1e-07, "big": 1e16, "third": 1 / 3}
    assert row.stripe_data == payload
