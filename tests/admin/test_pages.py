"""Change pages: what a support person needs to answer "did this customer pay?"."""

from __future__ import annotations

import html
import re

import pytest
from django.contrib.admin.utils import quote

from stripe_django.models import Customer, Invoice
from stripe_django.sync import upsert
from stripe_django.testing import payloads

from .conftest import mirror

pytestmark = pytest.mark.django_db


def test_invoice_page_shows_amount_status_customer_and_lines(admin_client):
    mirror(1)
    page = admin_client.get("/admin/stripe_django/invoice/in_0000/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "50.00 EUR" in text  # total
    assert "50.10 EUR" in text  # amount_paid
    # a reference or an amount without a value shows the admin's empty mark
    assert '<div class="readonly">None</div>' not in text
    assert ">paid<" in text
    # the customer, linked to its page and labelled with the customer row
    assert f'href="/admin/stripe_django/customer/{quote("cus_0000")}/change/"' in text
    # the lines, inline, each with its description, amount and a link to its own page
    for n in range(2):
        assert f"il_in_0000_{n}" in text and f"line {n}" in text
        assert f"/admin/stripe_django/invoicelineitem/{quote(f'il_in_0000_{n}')}/change/" in text
    assert "10.00 EUR" in text and "10.01 EUR" in text
    # the stored payload, pretty-printed in a collapsible block
    assert '<details class="stripe-django-payload">' in text
    assert html.escape('"subscription_details": {') in text
    # read-only
    assert 'name="_save"' not in text and 'name="_continue"' not in text


def test_customer_page_lists_invoices_subscriptions_and_hides_no_field(admin_client):
    mirror(1)
    # (empty fields are left out unless asked for: see the test below)
    text = admin_client.get("/admin/stripe_django/customer/cus_0000/change/",
                            {"all_fields": "1"}).content.decode()
    assert "person0@example.com" in text
    # every Stripe field of the model is on the page
    for field in Customer._meta.concrete_fields:
        assert field.name.replace("_", " ") in text.lower() or field.verbose_name in text.lower(), field.name


def test_subscription_page_shows_its_items(admin_client):
    mirror(1)
    text = admin_client.get("/admin/stripe_django/subscription/sub_0000/change/").content.decode()
    assert "si_0000" in text and f"/admin/stripe_django/price/{quote('price_now')}/change/" in text


def test_a_secret_never_reaches_the_page(admin_client):
    upsert({**payloads.customer_current("cus_s"), "client_secret": "cs_secret_value"})
    upsert({"id": "pi_s", "object": "payment_intent", "amount": 100, "currency": "usd",
            "client_secret": "pi_s_secret_zzz", "customer": "cus_s", "status": "succeeded",
            "livemode": False, "created": payloads.T0})
    for url in ("/admin/stripe_django/paymentintent/pi_s/change/", "/admin/stripe_django/paymentintent/"):
        assert b"pi_s_secret_zzz" not in admin_client.get(url).content


def test_staff_without_permission_and_anonymous_users_see_nothing(client, db):
    from django.contrib.auth.models import User

    mirror(1)
    anonymous = client.get("/admin/stripe_django/invoice/in_0000/change/")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    client.force_login(User.objects.create_user("clerk", is_staff=True))
    assert client.get("/admin/stripe_django/invoice/in_0000/change/").status_code == 403
    assert client.get("/admin/stripe_django/synccursor/health/").status_code == 403
    assert Invoice.objects.count() == 1


def test_customer_page_links_to_their_invoices_and_charges_in_one_query(admin_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    mirror(2)
    url = "/admin/stripe_django/customer/cus_0000/change/"

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(url).status_code == 200
        return len(captured)

    queries()  # (the first page of a session reads more than the page itself)
    before = queries()
    upsert(payloads.invoice_current("in_more", customer="cus_0000", created=payloads.T0 + 9))
    assert queries() == before  # the numbers are read in one query, however many rows
    text = html.unescape(admin_client.get(url).content.decode())
    invoices_url = "/admin/stripe_django/invoice/?customer__exact=cus_0000"
    assert f'<a href="{invoices_url}">invoices: 2</a>' in text
    assert '<a href="/admin/stripe_django/charge/?customer__exact=cus_0000">charges: 1</a>' in text
    assert "refunds:" not in text  # relations without rows are left out
    listed = admin_client.get(invoices_url).content.decode()
    assert "in_more" in listed and "in_0000" in listed and "in_0001" not in listed


@pytest.mark.parametrize("make, url", [
    (lambda n: payloads.invoice_current("in_q", customer="cus_0000", n_lines=n),
     "/admin/stripe_django/invoice/in_q/change/"),
    (lambda n: {**payloads.subscription_current("sub_q", customer="cus_0000"), "items": {
        "object": "list", "has_more": False, "url": "/v1/subscription_items",
        "data": [{**payloads.subscription_current()["items"]["data"][0], "id": f"si_q{i}",
                  "subscription": "sub_q"} for i in range(n)]}},
     "/admin/stripe_django/subscription/sub_q/change/"),
])
def test_queries_of_a_page_do_not_grow_with_its_child_rows(admin_client, make, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    mirror(1)

    def queries(children: int) -> list[str]:
        upsert(make(children))
        with CaptureQueriesContext(connection) as captured:
            page = admin_client.get(url)
        assert page.status_code == 200
        return [q["sql"] for q in captured]

    queries(1)  # (the first page of a session reads more than the page itself)
    few, many = queries(2), queries(12)
    assert len(few) == len(many), "\n".join(q[:150] for q in [*few, "----", *many])


def test_rows_referring_under_another_name_say_as_what(admin_client):
    mirror(1)  # sub_0000's latest invoice is "in_now"
    upsert(payloads.invoice_current("in_now", customer="cus_0000"))
    text = html.unescape(admin_client.get("/admin/stripe_django/invoice/in_now/change/").content.decode())
    assert ('<a href="/admin/stripe_django/subscription/?latest_invoice__exact=in_now">'
            "subscriptions (as latest invoice): 1</a>") in text
    listed = admin_client.get("/admin/stripe_django/subscription/?latest_invoice__exact=in_now")
    assert "sub_0000" in listed.content.decode()


def test_every_amount_is_money_with_its_currency(admin_client):
    """Older API versions' amounts too: an invoice's ``tax``, a customer's
    ``account_balance`` (they showed as raw cents beside the money of the others)."""
    upsert(payloads.invoice_current("in_taxed", customer="cus_taxed", tax=1800, application_fee=250))
    upsert(payloads.customer_current("cus_taxed", currency="usd", account_balance=-1234))
    text = admin_client.get("/admin/stripe_django/invoice/in_taxed/change/").content.decode()
    assert "18.00 EUR" in text and "2.50 EUR" in text
    assert '<div class="readonly">1800</div>' not in text
    text = admin_client.get("/admin/stripe_django/customer/cus_taxed/change/").content.decode()
    assert "-12.34 USD" in text and '<div class="readonly">-1234</div>' not in text


def test_subscriptions_show_their_plan_with_its_amount(admin_client):
    mirror(2)
    listing = admin_client.get("/admin/stripe_django/subscription/").content.decode()
    table = listing[listing.index('<table id="result_list"'):]
    # the customer by email, the plan by its amount (not only sub_...)
    assert "person1@example.com (cus_0001)" in table
    assert "9.00 EUR/month (price_now)" in table
    page = admin_client.get("/admin/stripe_django/subscription/sub_0001/change/").content.decode()
    assert "9.00 EUR/month (price_now)" in page[:page.index("All fields")]


def test_a_plan_based_item_shows_its_plan(admin_client):
    """An item of an older API version's subscription has a plan and no price."""
    upsert(payloads.subscription_2017())
    item = admin_client.get("/admin/stripe_django/subscriptionitem/").content.decode()
    assert "20.00 USD/month (gold)" in item[item.index('<table id="result_list"'):]


def test_a_change_page_leaves_out_its_empty_fields_unless_asked(admin_client):
    mirror(1)
    page = admin_client.get("/admin/stripe_django/customer/cus_0000/change/").content.decode()
    # a field with a value is shown, an empty one is not (and the page says how many)
    assert "field-email" in page and "field-created" in page and "field-tax_exempt" in page
    assert "field-phone" not in page and "field-description" not in page  # None
    assert "field-preferred_locales" not in page  # []
    found = re.search(r"(\d+) empty fields not shown", page)
    assert found and int(found.group(1)) > 5
    every = admin_client.get("/admin/stripe_django/customer/cus_0000/change/", {"all_fields": "1"})
    text = every.content.decode()
    assert "field-phone" in text and "empty fields not shown" not in text
    assert len(page) < len(text)
