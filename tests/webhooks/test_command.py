"""``manage.py stripe_process_events`` on stored events (the Events API parts run
against localstripe in test_end_to_end.py)."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from stripe_django.models import Customer, Event
from stripe_django.webhooks.processing import store_event
from stripe_django.webhooks.recovery import retry_failed

from .conftest import customer, make_event

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("stripe_process_events", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_retries_failed_events(deliver):
    event = make_event(customer(), "customer.created")
    store_event(event, endpoint="")
    Event.objects.filter(pk=event["id"]).update(processing_status="failed", processing_attempts=1,
                                                 processing_error="boom")
    assert "1 processed" in run()
    row = Event.objects.get()
    assert (row.processing_status, row.processing_attempts, row.processing_error) == ("processed", 2, "")
    assert Customer.objects.exists()
    assert "0 processed" in run()


def test_retries_pending_events_left_behind_but_not_fresh_ones():
    abandoned = make_event(customer("cus_abandoned"), "customer.created")
    fresh = make_event(customer("cus_fresh"), "customer.created")
    store_event(abandoned, endpoint="")
    store_event(fresh, endpoint="")
    Event.objects.filter(pk=abandoned["id"]).update(received_at=timezone.now() - dt.timedelta(minutes=10))
    assert "1 processed" in run()
    assert list(Customer.objects.values_list("id", flat=True)) == ["cus_abandoned"]
    assert "1 processed" in run("--pending-after", "0")
    assert Customer.objects.count() == 2


def test_events_never_received_are_not_retried():
    """Rows a sync stored from the Events API (no received_at) are the sync's business."""
    from stripe_django.sync import upsert

    upsert(make_event(customer(), "customer.created"))
    assert retry_failed(pending_after=dt.timedelta(0)).seen == 0


def test_named_events_and_force():
    event = make_event(customer(), "customer.created")
    store_event(event, endpoint="")
    assert f"{event['id']}: processed" in run(event["id"])
    assert f"{event['id']}: duplicate" in run(event["id"])
    assert f"{event['id']}: processed" in run(event["id"], "--force")


def test_a_failure_is_an_error_exit():
    event = make_event(customer(balance="not a number"), "customer.updated")
    store_event(event, endpoint="")
    with pytest.raises(CommandError, match="1 event"):
        run(event["id"])
    assert Event.objects.get().processing_status == "failed"


def test_date_arguments_are_checked():
    with pytest.raises(CommandError):
        run("--since", "yesterday-ish")


def test_retries_stop_after_event_max_attempts(settings):
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "EVENT_MAX_ATTEMPTS": 3}
    event = make_event(customer(balance="not a number"), "customer.updated")
    store_event(event, endpoint="")
    Event.objects.filter(pk=event["id"]).update(processing_status="failed", processing_attempts=1)
    for attempts in (2, 3):
        tally = retry_failed()
        assert tally.failed == 1
        assert Event.objects.get().processing_attempts == attempts
    tally = retry_failed()
    assert tally.seen == 0 and tally.given_up == 1
    assert Event.objects.get().processing_attempts == 3
    err = StringIO()
    call_command("stripe_process_events", stdout=StringIO(), stderr=err)
    assert "no longer retried" in err.getvalue()
    # naming it still processes it
    with pytest.raises(CommandError):
        run(event["id"])
    assert Event.objects.get().processing_attempts == 4
