"""A support person searches invoices, charges, subscriptions and payment intents by the
customer's email address."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from stripe_django.models import Charge, Invoice, PaymentIntent, Subscription
from stripe_django.sync import upsert_many
from stripe_django.testing import payloads

from .conftest import mirror
from .test_lists import changelist, results

pytestmark = pytest.mark.django_db


def search(admin_client, model, term: str) -> str:
    response = admin_client.get(changelist(model), {"q": term})
    assert response.status_code == 200
    if '<table id="result_list"' not in response.content.decode():
        return ""  # no row found
    return results(response)


@pytest.mark.parametrize("model, prefix", [
    (Invoice, "in_"), (Charge, "ch_"), (Subscription, "sub_"),
])
def test_the_customer_s_email_finds_their_rows(admin_client, model, prefix):
    mirror(3)
    found = search(admin_client, model, "person1@example.com")
    assert f"{prefix}0001" in found
    assert f"{prefix}0000" not in found and f"{prefix}0002" not in found
    # typed in another case than Stripe stored it
    assert f"{prefix}0001" in search(admin_client, model, "Person1@Example.COM")
    # an address nobody has: nothing, not every row
    assert "0001" not in search(admin_client, model, "nobody@example.com")


def test_payment_intents_by_the_customer_s_email_or_the_receipt_email(admin_client):
    mirror(2)
    example = {"object": "payment_intent", "amount": 1000, "currency": "usd", "status": "succeeded",
               "livemode": False, "created": payloads.T0, "metadata": {}}
    result = upsert_many([
        {**example, "id": "pi_by_customer", "customer": "cus_0001"},
        {**example, "id": "pi_by_receipt", "customer": None, "receipt_email": "walk-in@example.com"},
        {**example, "id": "pi_other", "customer": "cus_0000"},
    ])
    assert not result.errors, result.errors
    found = search(admin_client, PaymentIntent, "person1@example.com")
    assert "pi_by_customer" in found and "pi_other" not in found
    found = search(admin_client, PaymentIntent, "walk-in@example.com")
    assert "pi_by_receipt" in found and "pi_by_customer" not in found


def test_an_invoice_is_found_by_its_own_customer_email(admin_client):
    """The invoice's customer is not mirrored: its ``customer_email`` still finds it."""
    upsert_many([payloads.invoice_current("in_lonely", customer="cus_absent",
                                          customer_email="lonely@example.com")])
    assert "in_lonely" in search(admin_client, Invoice, "lonely@example.com")


def test_the_email_search_compares_whole_values_on_indexed_columns(admin_client):
    """The customers are found by an equality on their email and the invoices by their
    ids or ``customer_email`` (indexed columns): no LIKE over a table."""
    mirror(3)
    with CaptureQueriesContext(connection) as captured:
        search(admin_client, Invoice, "person2@example.com")
    listed = [q["sql"] for q in captured.captured_queries if "stripe_django_invoice" in q["sql"]
              and "customer_email" in q["sql"] and "cus_0002" in q["sql"]]
    assert listed, [q["sql"] for q in captured.captured_queries]
    assert all("LIKE" not in sql.upper() for sql in listed), listed
