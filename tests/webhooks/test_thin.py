"""Thin event notifications end to end: through the real webhook view with real
signatures, processed by fetching from the Stripe stub at the HTTP boundary.

The notifications are shaped as in Stripe's SDK tests: stripe-python
``tests/test_v2_event.py`` (``v2_payload_no_data`` / ``v2_payload_with_data``: a
``v1.billing.meter.error_report_triggered`` notification with ``context`` and
``related_object``) and stripe-node ``test/CloudProviderEvent.spec.ts`` (a notification
without a related object); the objects fetched are Stripe's published examples
(../shared/stripe-openapi/fixtures3.json).
"""

from __future__ import annotations

import datetime as dt
import json
import itertools
from typing import Any

import pytest
from django.core.management import call_command
from django.test.utils import override_settings
from django.utils import timezone

from stripe_django.models import BillingMeter, Customer, Event, Invoice
from stripe_django.signals import on_event
from stripe_django.testing.stripe_stub import StripeStub

from .conftest import SECRET, make_event, sign

pytestmark = pytest.mark.django_db

THIN_SECRET = "whsec_tests_thin_destination"
_ids = itertools.count(1)


def notification(event_type: str, related: dict[str, str] | None = None, *,
                 event_id: str | None = None, context: str | None = None,
                 created: str = "2022-02-15T00:27:45.330Z") -> dict[str, Any]:
    """A thin event notification as an event destination delivers it."""
    body: dict[str, Any] = {
        "id": event_id or f"evt_thin{next(_ids):010d}",
        "object": "v2.core.event",
        "type": event_type,
        "livemode": False,
        "created": created,
        "context": context,
        "reason": {"type": "request", "request": {"id": "req_thin", "idempotency_key": "ik_thin"}},
    }
    if related is not None:
        body["related_object"] = related
    return body


def related(object_type: str, object_id: str, path: str) -> dict[str, str]:
    return {"id": object_id, "type": object_type, "url": f"{path}/{object_id}"}


@pytest.fixture
def stub():
    with StripeStub() as stub, override_settings(STRIPE_DJANGO={
            "API_KEY": "sk_test_thin", "API_BASE": stub.api_base, "MAX_NETWORK_RETRIES": 0,
            "WEBHOOK_SECRETS": [SECRET],
            "WEBHOOK_ENDPOINTS": {"thin": {"SECRETS": [THIN_SECRET], "PAYLOAD": "thin"}}}):
        yield stub


@pytest.fixture
def invoice(stripe_examples) -> dict[str, Any]:
    return dict(stripe_examples["invoice"], status="paid")


def test_v1_thin_event_updates_the_v1_row(deliver, stub, invoice):
    stub.answer("GET", f"/v1/invoices/{invoice['id']}", invoice)
    note = notification("v1.invoice.paid", related("invoice", invoice["id"], "/v1/invoices"),
                        context="acct_1Connected")
    before = timezone.now()
    response = deliver(note)
    assert response.status_code == 200, response.content
    row = Event.objects.get(pk=note["id"])
    assert row.processing_status == "processed"
    assert row.stripe_data["object"] == "v2.core.event"
    assert row.type == "v1.invoice.paid"
    assert row.created == dt.datetime(2022, 2, 15, 0, 27, 45, 330000, tzinfo=dt.timezone.utc)
    assert row.stripe_account == "acct_1Connected"
    stored = Invoice.objects.get(pk=invoice["id"])
    assert stored.status == "paid"
    assert stored.stripe_account == "acct_1Connected"
    # stamped with the time the answer arrived, not the notification's created
    assert before <= stored.stripe_snapshot_at <= timezone.now()
    [request] = stub.requests  # the related object only: v1.invoice.paid carries no data
    assert request.path == f"/v1/invoices/{invoice['id']}"
    assert request.header("Stripe-Context") == "acct_1Connected"
    assert request.header("Stripe-Request-Trigger") == f"event={note['id']}"


def test_thin_event_with_data_fetches_the_full_event(deliver, stub, stripe_examples):
    meter = stripe_examples["billing.meter"]
    note = notification("v1.billing.meter.error_report_triggered",
                        related("billing.meter", meter["id"], "/v1/billing/meters"),
                        event_id="evt_234", context="acct_123")
    stub.answer("GET", f"/v1/billing/meters/{meter['id']}", meter)
    full = {**note, "data": {"reason": {"error_count": 1}, "developer_message_summary": "1 error"}}
    stub.v2_events[note["id"]] = full
    assert deliver(note).status_code == 200
    assert sorted(r.path for r in stub.requests) == sorted(
        [f"/v1/billing/meters/{meter['id']}", "/v2/core/events/evt_234"])
    assert all(r.header("Stripe-Context") == "acct_123" for r in stub.requests)
    row = Event.objects.get(pk="evt_234")
    assert row.data == full["data"]
    assert row.stripe_data["data"] == full["data"]
    assert BillingMeter.objects.get(pk=meter["id"]).stripe_account == "acct_123"


def test_a_secret_in_a_full_events_data_is_never_stored(deliver, stub):
    # The full event's data goes to two columns (stripe_data and data): both redacted.
    note = notification("v1.billing.meter.no_meter_found", event_id="evt_secret_data")
    stub.v2_events[note["id"]] = {**note, "data": {
        "developer_message_summary": "no meter",
        "destination": {"signing_secret": "whsec_from_the_event", "client_secret": "pi_1_secret_2"}}}
    assert deliver(note).status_code == 200
    row = Event.objects.get(pk="evt_secret_data")
    assert row.processing_status == "processed"
    stored = json.dumps([row.data, row.stripe_data])
    assert "whsec_from_the_event" not in stored and "pi_1_secret_2" not in stored
    assert row.data["developer_message_summary"] == "no meter"


def test_notification_without_related_object_fetches_no_object(deliver, stub):
    # stripe-node test/CloudProviderEvent.spec.ts: "related_object": null
    note = notification("v1.billing.meter.no_meter_found", event_id="evt_notif_test_789")
    stub.v2_events[note["id"]] = {**note, "data": {"developer_message_summary": "no meter"}}
    assert deliver(note).status_code == 200
    assert [r.path for r in stub.requests] == ["/v2/core/events/evt_notif_test_789"]
    row = Event.objects.get(pk="evt_notif_test_789")
    assert row.processing_status == "processed"
    assert row.data == {"developer_message_summary": "no meter"}


def test_same_notification_twice_is_processed_once(deliver, stub, invoice):
    stub.answer("GET", f"/v1/invoices/{invoice['id']}", invoice)
    note = notification("v1.invoice.paid", related("invoice", invoice["id"], "/v1/invoices"))
    assert deliver(note).content == b"processed\n"
    assert deliver(note).content == b"already processed\n"
    assert len(stub.requests) == 1
    row = Event.objects.get(pk=note["id"])
    assert row.processing_attempts == 1


@pytest.mark.parametrize("order", ["older first", "newer first"])
def test_two_notifications_in_any_order_leave_the_newest_state(deliver, stub, invoice, order):
    states = iter([dict(invoice, status="open", amount_due=100),
                   dict(invoice, status="paid", amount_due=200)])
    stub.answer("GET", f"/v1/invoices/{invoice['id']}", lambda request: next(states))
    path = related("invoice", invoice["id"], "/v1/invoices")
    older = notification("v1.invoice.finalized", path, created="2026-01-01T00:00:00.000Z")
    newer = notification("v1.invoice.paid", path, created="2026-01-01T00:00:05.000Z")
    for note in ([older, newer] if order == "older first" else [newer, older]):
        assert deliver(note).status_code == 200
    stored = Invoice.objects.get(pk=invoice["id"])
    # The state Stripe answered last is the current one, whichever notification asked.
    assert (stored.status, stored.amount_due) == ("paid", 200)


def test_a_fetched_state_never_overwrites_a_newer_one(deliver, stub, invoice):
    """A snapshot stamped after the fetch's answer (a later event) is kept: the fetched
    object goes through the staleness guard with the time its answer arrived."""
    stub.answer("GET", f"/v1/invoices/{invoice['id']}", dict(invoice, status="open"))
    later = int(timezone.now().timestamp()) + 3600
    assert deliver(make_event(dict(invoice, status="void"), "invoice.voided",
                              created=later)).status_code == 200
    note = notification("v1.invoice.finalized", related("invoice", invoice["id"], "/v1/invoices"))
    assert deliver(note).status_code == 200
    assert Event.objects.get(pk=note["id"]).processing_status == "processed"
    assert Invoice.objects.get(pk=invoice["id"]).status == "void"


def test_failed_fetch_is_retried_and_recovered(deliver, stub, invoice):
    url = f"/v1/invoices/{invoice['id']}"
    stub.answer("GET", url, {"error": {"type": "api_error", "message": "down"}}, status=500)
    note = notification("v1.invoice.paid", related("invoice", invoice["id"], "/v1/invoices"))
    assert deliver(note).status_code == 500  # Stripe delivers it again
    row = Event.objects.get(pk=note["id"])
    assert (row.processing_status, row.processing_attempts) == ("failed", 1)
    assert "down" in row.processing_error
    assert not Invoice.objects.exists()
    stub.answer("GET", url, invoice)
    call_command("stripe_process_events", stdout=None)
    row.refresh_from_db()
    assert (row.processing_status, row.processing_attempts) == ("processed", 2)
    assert Invoice.objects.get(pk=invoice["id"]).status == "paid"


@pytest.mark.parametrize("how", ["unsigned", "tampered", "wrong secret"])
def test_unsigned_or_tampered_notification_is_refused(deliver, stub, invoice, how):
    note = notification("v1.invoice.paid", related("invoice", invoice["id"], "/v1/invoices"))
    from .conftest import body_of

    body = body_of(note)
    if how == "unsigned":
        response = deliver(body, signature="")
    elif how == "tampered":
        response = deliver(body.replace(b"v1.invoice.paid", b"v1.invoice.void"),
                           signature=sign(body))
    else:
        response = deliver(body, secret="whsec_someone_else")
    assert response.status_code == 400
    assert not Event.objects.exists()
    assert not stub.requests


def test_deleted_object_is_marked_deleted(deliver, stub, stripe_examples):
    customer = stripe_examples["customer"]
    stub.answer("GET", f"/v1/customers/{customer['id']}", customer)
    path = related("customer", customer["id"], "/v1/customers")
    assert deliver(notification("v1.customer.updated", path)).status_code == 200
    assert not Customer.objects.get(pk=customer["id"]).deleted
    stub.answer("GET", f"/v1/customers/{customer['id']}",
                {"error": {"type": "invalid_request_error", "code": "resource_missing",
                           "message": "No such customer"}}, status=404)
    note = notification("v1.customer.deleted", path)
    assert deliver(note).status_code == 200
    assert Event.objects.get(pk=note["id"]).processing_status == "processed"
    row = Customer.objects.get(pk=customer["id"])
    assert row.deleted
    assert row.email == customer["email"]  # the data it had stays


def test_404_of_an_update_leaves_the_row(deliver, stub, stripe_examples):
    customer = stripe_examples["customer"]
    stub.answer("GET", f"/v1/customers/{customer['id']}", customer)
    path = related("customer", customer["id"], "/v1/customers")
    deliver(notification("v1.customer.created", path))
    stub.answer("GET", f"/v1/customers/{customer['id']}", {"error": {"message": "gone"}}, status=404)
    assert deliver(notification("v1.customer.updated", path)).status_code == 200
    assert not Customer.objects.get(pk=customer["id"]).deleted


@pytest.mark.django_db(transaction=True)  # signals go out after the commit
def test_signals_receive_thin_events_with_the_fetched_object(deliver, stub, invoice):
    stub.answer("GET", f"/v1/invoices/{invoice['id']}", invoice)
    seen = []

    @on_event("v1.invoice.*")
    def paid(sender, event, event_type, related_object=None, notification=None, **kwargs):
        seen.append((event.pk, event_type, related_object.id, related_object.status,
                     type(notification).__name__, Invoice.objects.filter(pk=invoice["id"]).exists()))

    try:
        note = notification("v1.invoice.paid", related("invoice", invoice["id"], "/v1/invoices"))
        assert deliver(note).status_code == 200
        deliver(note)  # processed once: the signal too
    finally:
        paid.disconnect()
    assert seen == [(note["id"], "v1.invoice.paid", invoice["id"], "paid",
                     "V1InvoicePaidEventNotification", True)]


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_raises_fails_the_thin_event(deliver, stub, invoice):
    stub.answer("GET", f"/v1/invoices/{invoice['id']}", invoice)
    calls = []

    @on_event("v1.invoice.paid")
    def flaky(sender, event, **kwargs):
        calls.append(event.pk)
        if len(calls) == 1:
            raise RuntimeError("receiver down")

    try:
        note = notification("v1.invoice.paid", related("invoice", invoice["id"], "/v1/invoices"))
        assert deliver(note).status_code == 500
        row = Event.objects.get(pk=note["id"])
        assert row.processing_status == "failed" and "receiver down" in row.processing_error
        assert deliver(note).status_code == 200  # Stripe's redelivery
    finally:
        flaky.disconnect()
    assert calls == [note["id"], note["id"]]
    assert Event.objects.get(pk=note["id"]).processing_status == "processed"


def test_thin_endpoint_has_its_own_secret_and_takes_thin_payloads_only(deliver, stub, invoice):
    stub.answer("GET", f"/v1/invoices/{invoice['id']}", invoice)
    note = notification("v1.invoice.paid", related("invoice", invoice["id"], "/v1/invoices"))
    # signed with the default endpoint's secret: refused by the thin destination
    assert deliver(note, endpoint="thin").status_code == 400
    assert not Event.objects.exists()
    response = deliver(note, endpoint="thin", secret=THIN_SECRET)
    assert response.status_code == 200
    row = Event.objects.get(pk=note["id"])
    assert (row.webhook_endpoint, row.processing_status) == ("thin", "processed")
    # a snapshot event signed for the thin destination: kept, marked failed, not processed
    snapshot = make_event(dict(invoice, status="void"), "invoice.voided")
    assert deliver(snapshot, endpoint="thin", secret=THIN_SECRET).status_code == 200
    kept = Event.objects.get(pk=snapshot["id"])
    assert kept.processing_status == "failed"
    assert "takes thin events" in kept.processing_error
    assert Invoice.objects.get(pk=invoice["id"]).status == "paid"


def test_unusable_signed_notification_is_kept_and_failed(deliver, stub):
    note = notification("v1.invoice.paid", {"id": "in_1", "type": "invoice"})  # no url
    note["created"] = "yesterday"
    assert deliver(note).status_code == 200
    row = Event.objects.get(pk=note["id"])
    assert row.processing_status == "failed"
    assert "created time" in row.processing_error and "related_object" in row.processing_error
    assert not stub.requests


def test_admin_lists_shows_and_retries_a_failed_thin_event(admin_client, deliver, stub, invoice):
    url = f"/v1/invoices/{invoice['id']}"
    stub.answer("GET", url, {"error": {"type": "api_error", "message": "down"}}, status=500)
    note = notification("v1.invoice.paid", related("invoice", invoice["id"], "/v1/invoices"))
    assert deliver(note).status_code == 500
    events = "/admin/stripe_django/event/"
    listing = admin_client.get(events)
    assert listing.status_code == 200 and note["id"].encode() in listing.content
    assert admin_client.get(f"{events}{note['id']}/change/").status_code == 200
    stub.answer("GET", url, invoice)
    response = admin_client.post(events, {"action": "retry", "_selected_action": [note["id"]]},
                                 follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "Retried 1 event(s): 1 processed, 0 already processed, 0 failed"]
    assert Event.objects.get(pk=note["id"]).processing_status == "processed"
    assert Invoice.objects.get(pk=invoice["id"]).status == "paid"


def test_v2_notification_updates_the_v2_account(deliver, stub):
    """``v2.core.account[requirements].updated`` (delivered only as a thin notification;
    stripe_django.testing.v2_examples.event): the v2 account is fetched with the
    notification's Stripe-Context and stored through the generic ingest by its
    ``object`` name, stamped with the time the answer arrived."""
    from stripe_django.models import V2Account
    from stripe_django.testing import v2_examples

    account = v2_examples.account(display_name="Furever after")
    stub.answer("GET", f"/v2/core/accounts/{account['id']}", account)
    note = v2_examples.event("evt_test_v2thin1")
    before = timezone.now()
    response = deliver(note)
    assert response.content == b"processed\n"
    [request] = stub.requests  # the SDK's typed event declares no data: no event fetch
    assert request.path == f"/v2/core/accounts/{account['id']}"
    assert request.header("Stripe-Context") == note["context"]
    row = Event.objects.get(pk="evt_test_v2thin1")
    assert (row.processing_status, row.type) == ("processed", "v2.core.account[requirements].updated")
    stored = V2Account.objects.get(pk=account["id"])
    assert stored.display_name == "Furever after"
    assert before <= stored.stripe_snapshot_at <= timezone.now()
    # a later notification, the account changed meanwhile: the newer state
    stub.answer("GET", f"/v2/core/accounts/{account['id']}", dict(account, display_name="Furever"))
    assert deliver(v2_examples.event("evt_test_v2thin2")).status_code == 200
    assert V2Account.objects.get(pk=account["id"]).display_name == "Furever"


def test_v2_deletion_marks_the_v2_row_deleted(deliver, stub):
    from stripe_django.models import V2AccountPerson
    from stripe_django.testing import v2_examples

    person = v2_examples.account_person()
    url = f"/v2/core/accounts/{person['account']}/persons/{person['id']}"
    link = {"id": person["id"], "type": "v2.core.account_person", "url": url}
    stub.answer("GET", url, person)
    # Both types carry data in the SDK (the account's id): the full events are read too.
    stub.v2_events["evt_person_new"] = {"id": "evt_person_new", "data": {"account_id": person["account"]}}
    stub.v2_events["evt_person_gone"] = {"id": "evt_person_gone", "data": {"account_id": person["account"]}}
    assert deliver(notification("v2.core.account_person.created", link, event_id="evt_person_new",
                                context=person["account"])).status_code == 200
    assert not V2AccountPerson.objects.get(pk=person["id"]).deleted
    stub.answer("GET", url, {"error": {"type": "not_found", "code": "not_found",
                                       "message": "gone"}}, status=404)
    assert deliver(notification("v2.core.account_person.deleted", link, event_id="evt_person_gone",
                                context=person["account"])).status_code == 200
    row = V2AccountPerson.objects.get(pk=person["id"])
    assert row.deleted and row.given_name == "Jenny"
