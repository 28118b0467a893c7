"""The Events API catch-up: updates and deletions reach the mirror on the next run."""

from __future__ import annotations

import time

import pytest

from stripe_django.models import Customer, SyncCursor
from stripe_django.sync import sync
from stripe_django.sync.events import _oldest_first
from stripe_django.testing.objects import make_object
from stripe_django.testing.stripe_stub import StripeStub

from ..conftest import point_at

pytestmark = pytest.mark.django_db


def test_changes_and_deletions_in_localstripe_reach_the_mirror(seeded, server):
    sync(["customer"])
    kept, gone = seeded["ids"]["customer"][2], seeded["ids"]["customer"][3]
    client = server.client()
    time.sleep(1.05)
    client.v1.customers.update(kept, params={"metadata": {"tier": "gold"}})
    client.v1.customers.delete(gone)
    time.sleep(1.05)  # the catch-up stops before the current second

    # Listing alone cannot see a deletion ...
    sync(["customer"], events=False)
    assert Customer.objects.get(pk=gone).deleted is False
    # ... the Events API brings it (localstripe emits customer.deleted).
    started = int(time.time())
    report = sync(["customer"])
    assert report.ok
    assert Customer.objects.get(pk=gone).deleted is True
    assert Customer.objects.get(pk=kept).metadata["tier"] == "gold"
    assert Customer.objects.existing().count() == 11
    events = report.get("changes")
    assert events.fetched >= 2
    cursor = SyncCursor.objects.get(object_type="customer")
    assert cursor.events_after >= started - 1  # caught up to about when the run began


def _event(evt_id: str, event_type: str, obj: dict, created: int) -> dict:
    return {"id": evt_id, "object": "event", "type": event_type, "created": created,
            "livemode": False, "api_version": "2026-10-28.endive", "data": {"object": obj}}


def test_events_update_and_delete_what_incremental_listing_does_not_fetch(db, settings):
    # localstripe emits few event types (no charge events, for one): this server, a
    # stand-in at the HTTP boundary only, serves the Events API the way Stripe does.
    with StripeStub({"customers": 5}) as stub:
        point_at(settings, stub.api_base)
        first = sync(["customer"])
        assert first.get("customer").fetched == 5
        now = int(time.time())
        older = {**make_object("customers", 1), "email": "first@example.com"}
        newer = {**make_object("customers", 1), "email": "second@example.com"}
        gone = make_object("customers", 2)
        # newest first, as Stripe lists them; two in the same second
        stub.events = [
            _event("evt_3", "customer.deleted", gone, now),
            _event("evt_2", "customer.updated", newer, now),
            _event("evt_1", "customer.updated", older, now),
            _event("evt_0", "customer.updated", {**older, "email": "ancient@example.com"},
                   now - 40 * 86400),  # before the cursor: already covered
        ]
        time.sleep(1.05)
        report = sync(["customer"])
    customer = report.get("customer")
    # Customers' creations come with events too: the list is not listed again (issue 20).
    assert customer.mode == "events" and customer.fetched == 0 and customer.requests == 0
    events = report.get("changes")
    assert events.fetched == 3
    assert events.updated == 2  # one update (the newer state of the two), one deletion
    assert Customer.objects.get(pk=newer["id"]).email == "second@example.com"
    assert Customer.objects.get(pk=gone["id"]).deleted is True
    assert Customer.objects.existing().count() == 4


def test_events_are_applied_oldest_first_in_either_list_order():
    a = {"id": "evt_a", "created": 10}
    b = {"id": "evt_b", "created": 11}
    c = {"id": "evt_c", "created": 11}
    assert [e["id"] for e in _oldest_first([c, b, a])] == ["evt_a", "evt_b", "evt_c"]
    assert [e["id"] for e in _oldest_first([a, b, c])] == ["evt_a", "evt_b", "evt_c"]
