"""A subscription's own label: its customer, plan (product, amount, interval), quantity and
status, wherever it is linked, without a query per row."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.db import connection
from django.test.utils import CaptureQueriesContext

from stripe_django.models import Subscription
from stripe_django.sync import upsert_many
from stripe_django.testing import payloads

from .conftest import customers, invoices

pytestmark = pytest.mark.django_db


def _subscription(i: int, *, status: str = "active", interval_count: int = 1) -> dict:
    sub = payloads.subscription_current(f"sub_{i:04d}", customer=f"cus_{i:04d}")
    item = sub["items"]["data"][0]
    item["id"] = f"si_{i:04d}"
    item["plan"] = {**item["plan"], "product": "prod_pro", "interval_count": interval_count}
    if interval_count != 1:
        item["plan"]["id"] = item["price"]["id"] = "price_quarterly"
    sub["status"] = status
    return sub


def _mirror(n: int) -> None:
    subs = [_subscription(i, status="past_due" if i == 1 else "active",
                          interval_count=3 if i == 2 else 1) for i in range(n)]
    bills = invoices(n)
    for i, invoice in enumerate(bills):
        invoice["parent"]["subscription_details"]["subscription"] = f"sub_{i:04d}"
    product = {"id": "prod_pro", "object": "product", "name": "Pro", "active": True,
               "created": payloads.T0, "livemode": False, "metadata": {}}
    result = upsert_many([product, *customers(n), *subs, *bills])
    assert not result.errors, result.errors


def _get(client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url)
    assert page.status_code == 200
    return len(queries), page.content.decode()


def test_the_label_says_customer_product_amount_interval_and_an_unusual_status():
    _mirror(3)
    rows = {s.pk: str(s) for s in Subscription.objects.select_related("customer", "plan__product")}
    # quantity 3 of a 9.00 EUR monthly plan of the product "Pro"
    assert rows["sub_0000"] == "person0@example.com · Pro · 9.00 EUR/month · × 3 (sub_0000)"
    assert rows["sub_0001"] == "person1@example.com · Pro · 9.00 EUR/month · × 3 · past_due (sub_0001)"
    assert rows["sub_0002"] == "person2@example.com · Pro · 9.00 EUR every 3 months · × 3 (sub_0002)"
    # a row read alone never queries for its label: what is not loaded is left out
    alone = Subscription.objects.get(pk="sub_0001")
    with CaptureQueriesContext(connection) as queries:
        assert str(alone) == "× 3 · past_due (sub_0001)"
    assert len(queries) == 0


def test_the_invoice_list_links_subscriptions_by_label_in_one_query(admin_client):
    _mirror(2)
    few, _ = _get(admin_client, "/admin/stripe_django/invoice/")
    _mirror(40)
    many, text = _get(admin_client, "/admin/stripe_django/invoice/")
    # session, user, the filters' choices (3), the page of rows with their customers and
    # subscriptions' customers, plans and products (one query), the sidebar's types, the
    # date hierarchy (2): the same at 2 and at 40 invoices
    assert many == few == 9
    assert (f'<a href="/admin/stripe_django/subscription/{quote("sub_0001")}/change/">person1@example.com · Pro · '
            "9.00 EUR/month · × 3 · past_due (sub_0001)</a>") in text


def test_the_customer_page_shows_its_subscriptions_by_label(admin_client):
    _mirror(1)
    url = "/admin/stripe_django/customer/cus_0000/change/"
    _get(admin_client, url)  # (the first page also reads the content types, then cached)
    one, text = _get(admin_client, url)
    assert "person0@example.com · Pro · 9.00 EUR/month · × 3 (sub_0000)" in text
    more = [_subscription(0) for _ in range(5)]
    for i, sub in enumerate(more):
        sub["id"], sub["items"]["data"][0]["id"] = f"sub_x{i}", f"si_x{i}"
        sub["items"]["data"][0]["subscription"] = f"sub_x{i}"
    assert not upsert_many(more).errors
    six, text = _get(admin_client, url)
    # session, user, customer, its subscriptions with their customer, plan and product (one
    # query), tax ids, the sidebar's types, the related rows' counts: no query per subscription
    assert six == one == 7
    assert text.count("person0@example.com · Pro · 9.00 EUR/month · × 3 (sub_") == 6


def test_a_subscriptions_own_page_is_titled_by_its_label(admin_client):
    _mirror(2)
    url = f"/admin/stripe_django/subscription/{quote('sub_0001')}/change/"
    _get(admin_client, url)  # (the first page also reads the content types, then cached)
    n, text = _get(admin_client, url)
    label = "person1@example.com · Pro · 9.00 EUR/month · × 3 · past_due (sub_0001)"
    title = text.split("<title>", 1)[1].split("</title>", 1)[0]
    assert title.startswith(f"{label} | ")
    assert f"<h2>{label}</h2>" in text
    # the breadcrumbs end with it too
    # (Django 6.1's breadcrumbs are a list: its last item is the page)
    assert f"&rsaquo; {label}\n" in text or f'<li aria-current="page">{label}</li>' in text
