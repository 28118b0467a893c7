"""Payload shapes seen in the wild, and payloads no database can hold alike."""

from __future__ import annotations

from decimal import Decimal

import pytest
import stripe

from stripe_django.exceptions import IngestError
from stripe_django.models import ClimateOrder, Customer, File, Invoice, TreasuryFinancialAccount
from stripe_django.sync import upsert, upsert_many
from stripe_django.testing.payloads import T0, customer_current, invoice_current

pytestmark = pytest.mark.django_db


def test_an_embedded_list_sent_as_an_empty_object_is_an_empty_list():
    """One customer with ``tax_ids: {}`` inside an invoice used to sink the invoice."""
    invoice = invoice_current("in_empty_list", customer=customer_current("cus_empty", tax_ids={}))
    upsert(invoice)
    assert Invoice.objects.get().customer_id == "cus_empty"
    assert Customer.objects.get().tax_ids == []


def test_file_upload_is_the_old_name_of_file():
    row = upsert({"id": "file_old", "object": "file_upload", "created": T0, "filename": "a.pdf",
                  "purpose": "dispute_evidence", "size": 10, "type": "pdf", "url": None})
    assert isinstance(row, File) and row.filename == "a.pdf"
    assert row.stripe_data["object"] == "file_upload"  # as received


def test_a_type_the_sdk_does_not_model_is_refused_naming_the_sdk_version():
    with pytest.raises(IngestError) as error:
        upsert({"id": "ist_1", "object": "issuing.settlement", "created": T0})
    message = str(error.value)
    assert "issuing.settlement ist_1" in message
    assert f"stripe-python {stripe.VERSION}" in message and stripe.api_version in message


def test_a_financial_accounts_features_are_kept(stripe_examples):
    account = dict(stripe_examples["treasury.financial_account"])
    account["features"] = {"object": "treasury.financial_account_features",
                           "card_issuing": {"requested": True, "status": "active", "status_details": []}}
    row = upsert(account)
    row.refresh_from_db()
    assert isinstance(row, TreasuryFinancialAccount)
    assert row.features["card_issuing"]["status"] == "active"


def test_decimals_are_read_back_exactly():
    value = "12345678.123456789012"  # 20 significant digits, 12 decimal places
    upsert({"id": "climorder_1", "object": "climate.order", "created": T0, "livemode": False,
            "metadata": {}, "metric_tons": value, "amount_total": 1, "currency": "usd"})
    assert ClimateOrder.objects.get().metric_tons == Decimal(value)
    assert ClimateOrder.objects.filter(metric_tons=Decimal(value)).count() == 1


@pytest.mark.parametrize("payload, reason", [
    ({"id": "il_tmp_1", "object": "line_item", "amount": 1, "currency": "usd"}, "preview"),
    ({"id": "upcoming_in_1", "object": "invoice", "created": T0, "currency": "usd"}, "preview"),
    (customer_current("cus_nan", metadata={"ratio": float("nan")}), "NaN"),
    (customer_current("cus_nul", name="Jenny\x00Rosen"), "NUL"),
    (customer_current("cus_far", created=10 ** 15), "out of range"),
    (customer_current("cus_big", balance=2 ** 70), "64-bit"),
], ids=["upcoming line", "upcoming invoice", "nan", "nul", "timestamp", "integer"])
def test_what_no_database_holds_alike_is_refused_and_the_rest_is_stored(payload, reason):
    result = upsert_many([payload, customer_current("cus_fine")])
    assert result.failed == 1 and reason in str(result.errors[0])
    assert payload["id"] in str(result.errors[0])
    assert list(Customer.objects.values_list("pk", flat=True)) == ["cus_fine"]


def test_deep_nesting_is_refused_clearly():
    deep: dict = {}
    inner = deep
    for _ in range(5000):
        inner["x"] = {}
        inner = inner["x"]
    with pytest.raises(IngestError, match="nested too deeply"):
        upsert(customer_current("cus_deep", metadata=deep))
