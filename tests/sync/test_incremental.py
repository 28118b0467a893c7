"""Resuming an interrupted run, and later runs that fetch only what changed."""

from __future__ import annotations

import time

import pytest

from stripe_django.models import Charge, Customer, SyncCursor
from stripe_django.sync import sync
from stripe_django.sync.report import format_summary

pytestmark = pytest.mark.django_db


class Interrupt(Exception):
    pass


def stop_after(pages: int):
    seen = []

    def on_page(report) -> None:
        seen.append(report.name)
        if len(seen) >= pages:
            raise Interrupt()

    return on_page


def test_an_interrupted_sync_resumes_without_refetching(seeded, server, settings,
                                                        one_page_per_commit):
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "SYNC_PAGE_SIZE": 3}
    with pytest.raises(Interrupt):
        sync(["customer"], events=False, on_page=stop_after(2))
    assert Customer.objects.count() == 6
    cursor = SyncCursor.objects.get(object_type="customer")
    assert not cursor.complete and cursor.starting_after and cursor.pass_started_at
    started = cursor.pass_started_at

    report = sync(["customer"], events=False)
    customer = report.get("customer")
    assert customer.mode == "resumed"
    assert customer.fetched == 12 - 6  # the stored pages are not fetched again
    assert customer.created == 6 and customer.updated == 0
    assert Customer.objects.count() == 12
    cursor.refresh_from_db()
    assert cursor.complete and cursor.starting_after is None
    # the pass keeps the time it began: events since then are still to be applied
    assert cursor.pass_started_at == started
    assert cursor.events_after == int(started.timestamp())


def test_an_interrupted_nested_list_resumes_after_the_last_parent(seeded, server, settings,
                                                                  one_page_per_commit):
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "SYNC_PAGE_SIZE": 2}
    with pytest.raises(Interrupt):
        sync(["tax_id"], events=False, on_page=stop_after(1))
    cursor = SyncCursor.objects.get(object_type="tax_id")
    assert not cursor.complete and cursor.starting_after.startswith("cus_")
    report = sync(["tax_id"], events=False)
    assert report.get("tax_id").mode == "resumed"
    assert SyncCursor.objects.get(object_type="tax_id").complete


def test_a_later_run_fetches_only_new_objects(seeded, server):
    first = sync(["charge"], events=False)
    listed_first = first.get("charge").fetched
    assert listed_first == Charge.objects.count() > 0

    client = server.client()
    customer = seeded["ids"]["customer"][0]
    new = [client.v1.charges.create(params={"amount": 1234 + i, "currency": "usd",
                                            "customer": customer}).id for i in range(2)]
    second = sync(["charge"], events=False)
    charge = second.get("charge")
    assert charge.mode == "incremental"
    assert charge.fetched == 2  # localstripe filters charges by created[gt]
    assert charge.created == 2
    assert set(new) <= set(Charge.objects.values_list("id", flat=True))

    third = sync(["charge"], events=False)
    assert third.get("charge").fetched == 0


def test_a_list_the_server_cannot_filter_by_created_is_listed_again(seeded, server):
    sync(["customer"], events=False)
    server.client().v1.customers.create(params={"email": "late@example.com"})
    report = sync(["customer"], events=False)
    customer = report.get("customer")
    # localstripe refuses created filters on customers: said so, and listed in full
    assert customer.mode == "relisted"
    assert any("does not filter this list by created" in n for n in customer.notes)
    assert customer.created == 1 and customer.fetched == 13
    assert report.ok


def test_full_forgets_the_cursor(seeded, server):
    sync(["charge"], events=False)
    report = sync(["charge"], events=False, full=True)
    assert report.get("charge").mode == "full"
    assert report.get("charge").fetched == Charge.objects.count()


def test_a_cursor_older_than_the_events_api_keeps_falls_back_to_a_full_pass(seeded, server):
    sync(["charge"])
    SyncCursor.objects.filter(object_type="charge").update(
        events_after=int(time.time()) - 31 * 86400)
    report = sync(["charge"])
    charge = report.get("charge")
    assert charge.mode == "full"
    assert any("older than the Events API keeps" in n for n in charge.notes)
    assert charge.fetched == Charge.objects.count()


def test_ctrl_c_returns_an_interrupted_report_and_keeps_the_cursor(seeded, server, settings):
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "SYNC_PAGE_SIZE": 4}

    def interrupt(report) -> None:
        raise KeyboardInterrupt

    report = sync(["customer", "charge"], on_page=interrupt)
    assert report.interrupted and not report.ok
    assert Customer.objects.count() + Charge.objects.count() > 0
    assert "interrupted" in format_summary(report)
    resumed = sync(["customer", "charge"])
    assert resumed.ok
    assert Customer.objects.count() == 12
