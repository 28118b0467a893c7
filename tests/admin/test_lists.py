"""Admin lists: every model's list renders, the columns that matter, search, filters,
and a number of queries that does not grow with the page."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext

from stripe_django.ingest.columns import mirrored_types
from stripe_django.models import Customer, Event, Invoice
from stripe_django.models.sync_state import SyncCursor
from stripe_django.sync import upsert_many
from stripe_django.webhooks.processing import store_event

from ..webhooks.conftest import customer as webhook_customer, make_event
from .conftest import mirror

pytestmark = pytest.mark.django_db


def changelist(model) -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/"


def results(response) -> str:
    """The table of rows of a list page (not its filters)."""
    html = response.content.decode()
    start = html.index('<table id="result_list"')
    return html[start:html.index("</table>", start)]


def test_every_registered_model_lists_and_shows_stripe_s_example(admin_client, stripe_examples):
    """Stripe's published example of each type, stored: its list (searched by its id)
    shows it, and its page renders. Types without an example render an empty list."""
    upsert_many(stripe_examples.values())  # (the few the mirror refuses are tested elsewhere)
    models = [*mirrored_types().values(), SyncCursor]
    assert set(models) <= set(admin.site._registry)
    shown = 0
    for model in models:
        row = model._default_manager.order_by("pk").first()
        response = admin_client.get(changelist(model), {"q": row.pk} if row else {})
        assert response.status_code == 200, (model, response.status_code)
        if row is None:
            continue
        assert quote(row.pk) in results(response), model
        page = admin_client.get(f"{changelist(model)}{quote(row.pk)}/change/")
        assert page.status_code == 200, (model, page.status_code)
        shown += 1
    assert shown >= 120


def test_customer_list_shows_email_name_and_finds_a_customer_by_email(admin_client):
    mirror(3)
    listing = admin_client.get(changelist(Customer)).content.decode()
    assert "person1@example.com" in listing and "Person 2" in listing
    found = results(admin_client.get(changelist(Customer), {"q": "person2@example.com"}))
    assert "cus_0002" in found and "cus_0001" not in found
    # part of an address, and the id whole
    assert "cus_0001" in admin_client.get(changelist(Customer), {"q": "person1@"}).content.decode()
    by_id = results(admin_client.get(changelist(Customer), {"q": "cus_0000"}))
    assert "cus_0000" in by_id and "cus_0001" not in by_id


def test_invoice_list_shows_money_status_and_links_to_the_customer(admin_client):
    mirror(1)
    listing = admin_client.get(changelist(Invoice)).content.decode()
    assert "N-in_0000" in listing  # number
    # total 5000 in cents, in the invoice's currency, on one line
    assert '<span style="white-space: nowrap">50.00 EUR</span>' in listing
    assert ">paid<" in listing
    # the customer column links to the customer's page, labelled with the customer
    assert f'/admin/stripe_django/customer/{quote("cus_0000")}/change/' in listing
    assert admin_client.get(changelist(Invoice), {"q": "N-in_0000"}).content.decode().count("N-in_0000") >= 1


def test_filters_on_status_and_a_missing_related_row(admin_client):
    mirror(2)
    Invoice.objects.filter(pk="in_0001").update(status="open")
    Customer.objects.filter(pk="cus_0000").delete()  # a reference to a row not mirrored
    listing = results(admin_client.get(changelist(Invoice), {"status": "open"}))
    assert "in_0001" in listing and "in_0000" not in listing
    listing = admin_client.get(changelist(Invoice)).content.decode()
    assert "cus_0000" in listing  # the bare id, still shown


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("model", ["customer", "invoice", "subscription", "charge", "line_item",
                                   "subscription_item", "event"])
def test_queries_of_a_list_do_not_grow_with_the_page(admin_client, model):
    """5 rows and 50 rows (a full page) take the same number of queries: related rows
    come in the same query, and nothing is counted."""
    url = changelist(mirrored_types()[model])

    def fill(start: int, n: int) -> None:
        mirror(n, start)
        for i in range(start, start + n):
            store_event(make_event(webhook_customer(f"cus_e{i}"), "customer.updated"), endpoint="")

    fill(0, 5)
    few = _queries(admin_client, url)
    fill(5, 45)
    many = _queries(admin_client, url)
    assert few == many


def test_a_large_list_is_paged_without_counting(admin_client):
    mirror(60)
    with CaptureQueriesContext(connection) as captured:
        first = admin_client.get(changelist(Customer)).content.decode()
    assert not any("COUNT(" in q["sql"].upper() for q in captured), [q["sql"] for q in captured]
    assert "more follow" in first
    # the search bar does not pass off the rows read as the count
    assert "51 results" not in first and "more than one page of results" in first
    last = admin_client.get(changelist(Customer), {"p": 2}).content.decode()
    assert "more follow" not in last and "60 customer" in last
    found = admin_client.get(changelist(Customer), {"q": "person59@"}).content.decode()
    assert "1 result" in found
    # a page past the end is the admin's "bad parameters" redirect, as with Django's paginator
    past = admin_client.get(changelist(Customer), {"p": 9})
    assert past.status_code == 302 and past["Location"].endswith("?e=1")


def test_events_list_shows_the_processing_columns(admin_client, deliver):
    deliver(make_event(webhook_customer("cus_ok"), "customer.created"))
    deliver(make_event(webhook_customer("cus_bad", balance="a lot"), "customer.updated"))
    listing = admin_client.get(changelist(Event)).content.decode()
    assert "customer.updated" in listing and "customer.created" in listing
    assert "failed" in listing and "processed" in listing
    assert "balance" in listing  # the error, in its column
    # the object column links to the mirrored row
    assert f"/admin/stripe_django/customer/{quote('cus_ok')}/change/" in listing
    failed = results(admin_client.get(changelist(Event), {"processing_status__exact": "failed"}))
    assert "customer.updated" in failed and "customer.created" not in failed


def test_filters_and_the_date_drill_down_read_a_bounded_part_of_the_table(admin_client):
    """No SELECT DISTINCT over every row: the filter values come from a sample, and the
    years of the drill-down from the first and last date."""
    import datetime as dt

    from stripe_django.sync import upsert_many

    from .conftest import customers

    objs = customers(3)
    objs[0]["created"] = int(dt.datetime(2017, 5, 1, tzinfo=dt.timezone.utc).timestamp())
    objs[1]["created"] = int(dt.datetime(2019, 5, 1, tzinfo=dt.timezone.utc).timestamp())
    objs[2].update(created=int(dt.datetime(2019, 6, 1, tzinfo=dt.timezone.utc).timestamp()), currency="jpy")
    assert not upsert_many(objs).errors
    with CaptureQueriesContext(connection) as captured:
        page = admin_client.get(changelist(Customer)).content.decode()
    assert not [q["sql"] for q in captured if "DISTINCT" in q["sql"].upper()]
    # Django 6.1 gives the drill-down's <nav> more attributes: find it by its class
    start = page.index('<nav class="toplinks"')
    drill_down = page[start:page.index("</nav>", start)]
    assert "2017" in drill_down and "2018" in drill_down and "2019" in drill_down
    assert "?currency=eur" in page and "?currency=jpy" in page
    # a year, then its months, as Django reads them
    months = admin_client.get(changelist(Customer), {"created__year": 2019}).content.decode()
    assert "May 2019" in months and "June 2019" in months and "July 2019" not in months
    assert "cus_0001" in results(admin_client.get(changelist(Customer), {"currency": "eur", "q": "cus_0001"}))


def test_the_date_drill_down_in_a_time_zone_the_database_may_not_know(admin_client, settings):
    """Months and days in the project's TIME_ZONE, also on a MySQL/MariaDB server without
    time zone tables (CONVERT_TZ to a named zone gives NULL there)."""
    import datetime as dt

    from .conftest import customers

    settings.TIME_ZONE = "America/New_York"
    objs = customers(3)
    # 2019-06-01 02:00 UTC is still May 31 in New York
    for obj, when in zip(objs, ((2019, 5, 3, 12), (2019, 6, 1, 2), (2019, 6, 20, 12))):
        obj["created"] = int(dt.datetime(*when, tzinfo=dt.timezone.utc).timestamp())
    assert not upsert_many(objs).errors
    months = admin_client.get(changelist(Customer), {"created__year": 2019})
    assert months.status_code == 200
    text = months.content.decode()
    assert "May 2019" in text and "June 2019" in text
    days = admin_client.get(changelist(Customer), {"created__year": 2019, "created__month": 5}).content.decode()
    assert "May 3" in days and "May 31" in days
    assert "cus_0001" in results(admin_client.get(
        changelist(Customer), {"created__year": 2019, "created__month": 5, "created__day": 31}))


def test_a_list_reached_from_a_row_says_whose_rows_it_shows(admin_client):
    mirror(2)
    listing = admin_client.get(changelist(Invoice), {"customer__exact": "cus_0001"}).content.decode()
    assert "Only the rows whose customer is <strong>cus_0001</strong>" in listing
    assert '(<a href="?">all rows</a>)' in listing
    assert "in_0001" in results(admin_client.get(changelist(Invoice), {"customer__exact": "cus_0001"}))
    assert "Only the rows whose" not in admin_client.get(changelist(Invoice)).content.decode()


def test_the_account_filter_names_the_platform(admin_client):
    mirror(1)
    upsert_many([webhook_customer("cus_connected")], account="acct_9")
    listing = admin_client.get(changelist(Customer)).content.decode()
    sidebar = listing[listing.index('id="changelist-filter"'):]
    assert "acct_9" in sidebar and ">platform</a>" in sidebar
