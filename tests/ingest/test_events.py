"""An event's object, as of the event: deletions, canceled subscriptions, accounts."""

import pytest

from stripe_django import models
from stripe_django.exceptions import IngestError
from stripe_django.ingest.events import snapshot_from_event
from stripe_django.sync import upsert_many
from stripe_django.testing import payloads

pytestmark = pytest.mark.django_db


def event(event_type, obj, created=1_800_000_000, **extra):
    return {"id": f"evt_{event_type}_{created}", "object": "event", "type": event_type,
            "created": created, "data": {"object": obj}, "livemode": False, **extra}


def test_a_deleted_event_marks_its_object_deleted():
    upsert_many([snapshot_from_event(event("customer.deleted", payloads.customer_current()))])
    assert models.Customer.objects.get(pk="cus_now").deleted is True


def test_a_canceled_subscription_is_not_marked_deleted():
    sub = payloads.subscription_current(status="canceled")
    upsert_many([snapshot_from_event(event("customer.subscription.deleted", sub))])
    row = models.Subscription.objects.get(pk="sub_now")
    assert (row.status, row.deleted) == ("canceled", False)


def test_connect_events_tag_rows_with_their_account():
    snap = snapshot_from_event(event("customer.updated", payloads.customer_current(), account="acct_9"))
    upsert_many([snap])
    assert models.Customer.objects.get(pk="cus_now").stripe_account == "acct_9"


def test_an_event_without_an_object_is_refused():
    with pytest.raises(IngestError, match="event evt_x field 'data'"):
        snapshot_from_event({"id": "evt_x", "object": "event", "type": "customer.created", "data": {}})
