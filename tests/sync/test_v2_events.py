"""The v2 events catch-up of ``stripe_sync`` against the Stripe stub: ``GET
/v2/core/events`` read from its own cursor, each event stored as a thin notification
and processed by fetching its related object; the next run reads only what is newer;
a key that may not read v2 events is reported, not failed.

The events are shaped as thin notifications are in stripe-python's
``tests/test_v2_event.py`` and https://docs.stripe.com/api/v2/core/events/object; the
v2 account is :mod:`stripe_django.testing.v2_examples`' (Stripe's API reference), the
invoice Stripe's published example (../shared/stripe-openapi/fixtures3.json).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from django.utils import timezone

from stripe_django.models import Event, Invoice, SyncCursor, V2Account
from stripe_django.sync import sync
from stripe_django.sync.report import OK, UNAVAILABLE
from stripe_django.sync.v2_events import V2_CHANGES, V2_EVENTS_CURSOR, rfc3339
from stripe_django.testing import v2_examples as examples
from stripe_django.testing.stripe_stub import StripeStub
from tests.conftest import point_at

pytestmark = pytest.mark.django_db

ACCOUNT = "acct_v2events01"


def v2_event(event_id: str, event_type: str, created: str, related: dict[str, str] | None,
             context: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": event_id, "object": "v2.core.event", "type": event_type,
                            "livemode": False, "created": created, "context": context,
                            "reason": None}
    if related is not None:
        body["related_object"] = related
    return body


def account_update(event_id: str, created: str) -> dict[str, Any]:
    return v2_event(event_id, "v2.core.account.updated", created,
                    {"id": ACCOUNT, "type": "v2.core.account", "url": f"/v2/core/accounts/{ACCOUNT}"})


@pytest.fixture
def stub(settings, stripe_examples):
    invoice = dict(stripe_examples["invoice"], status="paid")
    lists = {"/v2/core/accounts": [examples.account(ACCOUNT, display_name="Renamed")]}
    with StripeStub(v2_lists=lists) as server:
        server.answer("GET", f"/v1/invoices/{invoice['id']}", invoice)
        server.v2_events.update({e["id"]: e for e in [
            account_update("evt_v2sync_1", "2026-12-01T10:00:00.250Z"),
            v2_event("evt_v2sync_2", "v1.invoice.paid", "2026-12-01T10:00:01.500Z",
                     {"id": invoice["id"], "type": "invoice", "url": f"/v1/invoices/{invoice['id']}"}),
        ]})
        point_at(settings, server.api_base)
        server.invoice_id = invoice["id"]
        yield server


def _line(result, name=V2_CHANGES):
    return next(t for t in result.types if t.name == name)


def _event_lists(stub):
    return [r for r in stub.requests if r.path == "/v2/core/events"]


def test_v2_events_are_stored_and_their_objects_applied(stub):
    result = sync(["v2.core.account"], events=True)
    line = _line(result)
    assert line.status == OK, (line.errors, line.notes)
    assert line.fetched == 2 and line.failed == 0
    rows = {e.pk: e for e in Event.objects.all()}
    assert set(rows) == {"evt_v2sync_1", "evt_v2sync_2"}
    assert all(r.processing_status == "processed" and r.webhook_endpoint is None
               and r.stripe_data["object"] == "v2.core.event" for r in rows.values())
    assert V2Account.objects.get(pk=ACCOUNT).display_name == "Renamed"
    assert Invoice.objects.get(pk=stub.invoice_id).status == "paid"
    # Oldest first: the account (created first) is fetched before the invoice.
    fetched = [r.path for r in stub.requests if r.path in (
        f"/v2/core/accounts/{ACCOUNT}", f"/v1/invoices/{stub.invoice_id}")]
    assert fetched == [f"/v2/core/accounts/{ACCOUNT}", f"/v1/invoices/{stub.invoice_id}"]
    cursor = SyncCursor.objects.get(object_type=V2_EVENTS_CURSOR)
    assert cursor.starting_after > "2026-12-01T10:00:01.500Z"  # the run's end


def test_a_second_run_reads_only_newer_events(stub):
    first = sync(["v2.core.account"], events=True)
    [listing] = _event_lists(stub)
    assert listing.params["created[gte]"] < "2026-12-01"  # the retention horizon
    end = listing.params["created[lt]"]
    cursor = SyncCursor.objects.get(object_type=V2_EVENTS_CURSOR)
    assert cursor.starting_after == end and cursor.complete
    assert _line(first).fetched == 2
    newer = account_update("evt_v2sync_3", rfc3339(timezone.now() + dt.timedelta(seconds=1)))
    stub.v2_events[newer["id"]] = newer
    time.sleep(1.1)  # the event is in the past for the second run
    stub.requests.clear()
    result = sync(["v2.core.account"], events=True)
    [listing] = _event_lists(stub)
    assert listing.params["created[gte]"] == end
    line = _line(result)
    assert (line.fetched, line.unchanged, line.failed) == (1, 0, 0)
    assert [r.path for r in stub.requests if r.path.startswith("/v1/invoices/")] == []
    assert Event.objects.get(pk="evt_v2sync_3").processing_status == "processed"
    assert SyncCursor.objects.get(object_type=V2_EVENTS_CURSOR).starting_after > newer["created"]


def test_a_stopped_run_resumes_from_the_last_event_handled(stub):
    # As a run killed after the first event leaves it: the cursor at that event's time.
    sync(["v2.core.account"], events=True)
    cursor = SyncCursor.objects.get(object_type=V2_EVENTS_CURSOR)
    Event.objects.filter(pk="evt_v2sync_2").delete()
    cursor.starting_after = "2026-12-01T10:00:00.250Z"
    cursor.save()
    stub.requests.clear()
    line = _line(sync(["v2.core.account"], events=True))
    [listing] = _event_lists(stub)
    assert listing.params["created[gte]"] == "2026-12-01T10:00:00.250Z"
    # The first event comes again but is done; the second is stored and processed.
    assert (line.fetched, line.unchanged) == (2, 1)
    assert Event.objects.get(pk="evt_v2sync_2").processing_status == "processed"
    assert [r.path for r in stub.requests if r.path.startswith("/v2/core/accounts/")] == []


def test_an_event_whose_fetch_fails_is_stored_failed_and_the_cursor_moves_on(stub):
    # The invoice's fetch fails: that event is stored failed (retried by
    # stripe_process_events, nothing lost); the cursor still moved past both.
    stub.fail[f"invoices/{stub.invoice_id}"] = 500
    result = sync(["v2.core.account"], events=True)
    line = _line(result)
    assert line.failed == 1 and "evt_v2sync_2" in line.errors[0]
    assert Event.objects.get(pk="evt_v2sync_2").processing_status == "failed"
    assert Event.objects.get(pk="evt_v2sync_1").processing_status == "processed"
    assert SyncCursor.objects.get(object_type=V2_EVENTS_CURSOR).starting_after > \
        "2026-12-01T10:00:01.500Z"


@pytest.mark.parametrize("status", [403, 404])
def test_a_key_that_cannot_read_v2_events_is_reported_unavailable(stub, status):
    stub.answer("GET", "/v2/core/events", {"error": {"type": "invalid_request_error",
                                                     "message": "not allowed"}}, status=status)
    result = sync(["v2.core.account"], events=True)
    line = _line(result)
    assert line.status == UNAVAILABLE and line.http_status == status
    assert _line(result, "v2.core.account").status == OK
    assert not result.failed
    assert any("GET /v2/core/events" in note for note in result.notes)
    assert not Event.objects.exists()
    assert not SyncCursor.objects.get(object_type=V2_EVENTS_CURSOR).starting_after


def test_v1_only_runs_do_not_read_v2_events(stub):
    stub.v2_events.clear()
    sync(["invoice"], events=True)
    assert _event_lists(stub) == []


def test_more_events_than_a_page_are_read_page_by_page_with_their_context(stub):
    stub.v2_events.clear()
    for n in range(130):
        event = account_update(f"evt_v2page_{n:03d}", f"2026-12-02T10:{n // 60:02d}:{n % 60:02d}.000Z")
        stub.v2_events[event["id"]] = {**event, "context": "acct_v2connected"}
    result = sync(["v2.core.account"], account="acct_v2connected", events=True)
    line = _line(result)
    assert (line.status, line.fetched, line.failed) == (OK, 130, 0), line.errors
    pages = _event_lists(stub)
    assert [r.params.get("page") is None for r in pages] == [True, False]
    assert [r.header("Stripe-Context") for r in pages] == ["acct_v2connected"] * 2
    assert Event.objects.filter(pk__startswith="evt_v2page_",
                                stripe_account="acct_v2connected").count() == 130
    cursor = SyncCursor.objects.get(object_type=V2_EVENTS_CURSOR, account="acct_v2connected")
    assert cursor.starting_after > "2026-12-02T10:02:09.000Z" and cursor.complete


def test_an_unusable_v2_event_is_kept_as_text_and_marked_failed(stub):
    bad = account_update("evt_v2bad", "2026-12-01T09:00:00.000Z")
    bad["type"] = ""
    stub.v2_events[bad["id"]] = bad
    line = _line(sync(["v2.core.account"], events=True))
    assert (line.fetched, line.failed) == (3, 1)
    assert "evt_v2bad" in line.errors[0] and "type" in line.errors[0]
    row = Event.objects.get(pk="evt_v2bad")
    assert row.processing_status == "failed" and "type" in row.processing_error
    assert Event.objects.get(pk="evt_v2sync_2").processing_status == "processed"
