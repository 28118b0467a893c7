"""A verified event is stored, then processed through ingest; the newest state wins."""

from __future__ import annotations

import json
import random
import time

import pytest
from django.test.utils import override_settings

from stripe_django.models import Customer, Event, PaymentIntent
from stripe_django.models.processing import ProcessingStatus
from stripe_django.webhooks.processing import process_event, receive_event, store_event

from .conftest import customer, make_event

pytestmark = pytest.mark.django_db


def test_event_is_stored_with_its_processing_columns(deliver):
    event = make_event(customer(), "customer.created")
    response = deliver(event)
    assert response.status_code == 200
    row = Event.objects.get(pk=event["id"])
    assert row.type == "customer.created"
    assert row.processing_status == ProcessingStatus.PROCESSED
    assert row.processing_attempts == 1
    assert row.processing_error == ""
    assert row.received_at is not None and row.processed_at is not None
    assert row.webhook_endpoint == ""
    assert row.stripe_data["data"]["object"]["email"] == "jenny@example.com"
    stored = Customer.objects.get(pk="cus_webhook1")
    assert stored.email == "jenny@example.com"
    assert int(stored.stripe_snapshot_at.timestamp()) == event["created"]


def test_redelivery_is_answered_200_and_not_processed_again(deliver):
    event = make_event(customer(), "customer.created")
    assert deliver(event).status_code == 200
    Customer.objects.filter(pk="cus_webhook1").update(email="changed-locally@example.com")
    response = deliver(event)
    assert response.status_code == 200
    assert response.content == b"already processed\n"
    assert Event.objects.get().processing_attempts == 1
    assert Customer.objects.get().email == "changed-locally@example.com"


def test_same_events_twice_and_in_reverse_order_end_with_the_newest_state(deliver):
    start = int(time.time()) - 100
    updates = [make_event(customer(name=f"name {i}"), "customer.updated", created=start + i * 10)
               for i in range(5)]
    for event in reversed(updates):
        assert deliver(event).status_code == 200
    for event in updates:  # every one again, oldest first
        assert deliver(event).status_code == 200
    stored = Customer.objects.get(pk="cus_webhook1")
    assert stored.name == "name 4"
    assert int(stored.stripe_snapshot_at.timestamp()) == start + 40
    assert Event.objects.filter(processing_status="processed").count() == 5


def test_shuffled_deliveries_with_a_deletion(deliver):
    start = int(time.time()) - 100
    events = [make_event(customer(name=f"name {i}"), "customer.updated", created=start + i)
              for i in range(8)]
    deletion = make_event({"id": "cus_webhook1", "object": "customer", "deleted": True},
                          "customer.deleted", created=start + 50)
    mixed = events + [deletion] + events[:3]
    random.Random(4).shuffle(mixed)
    for event in mixed:
        assert deliver(event).status_code == 200
    stored = Customer.objects.get(pk="cus_webhook1")
    assert stored.deleted is True
    # an older update arriving after the deletion does not bring the customer back
    assert deliver(make_event(customer(name="zombie"), "customer.updated", created=start + 40)).status_code == 200
    assert Customer.objects.get(pk="cus_webhook1").deleted is True


def test_deleted_event_with_the_full_object_keeps_its_data(deliver):
    start = int(time.time()) - 10
    deliver(make_event(customer(), "customer.created", created=start))
    deliver(make_event(customer(name="last"), "customer.deleted", created=start + 1))
    stored = Customer.objects.get()
    assert stored.deleted is True
    assert stored.name == "last"


def test_unmirrored_object_type_is_stored_and_answered_200(deliver):
    event = make_event({"object": "billing.alert_triggered", "alert": {"id": "alrt_1"},
                        "customer": "cus_1", "value": 5, "created": 1700000000, "livemode": False},
                       "billing.alert.triggered")
    response = deliver(event)
    assert response.status_code == 200
    assert b"not mirrored" in response.content
    assert Event.objects.get().processing_status == ProcessingStatus.PROCESSED


def test_unknown_object_type_is_stored_and_answered_200(deliver):
    event = make_event({"id": "xyz_1", "object": "a_type_from_the_future"}, "a_type_from_the_future.created")
    assert deliver(event).status_code == 200
    assert Event.objects.filter(pk=event["id"], processing_status="processed").exists()


def test_examples_of_stripe(deliver, stripe_examples):
    """Stripe's published example event (a plan) goes through; so do events around other
    example objects (checkout sessions are re-fetched from the API: see
    test_end_to_end.py)."""
    from stripe_django.models import Plan

    example = dict(stripe_examples["event"], created=int(time.time()))
    assert deliver(example).status_code == 200
    assert Plan.objects.filter(pk=example["data"]["object"]["id"]).exists()
    for object_type in ("invoice", "subscription", "charge", "payment_intent", "product", "price"):
        response = deliver(make_event(stripe_examples[object_type], f"{object_type}.updated"))
        assert response.status_code == 200, (object_type, response.content)


def test_a_refused_payload_is_recorded_failed_and_answered_200(deliver):
    """The payload itself is refused: Stripe sending it again cannot help, so the event
    is kept as failed (with the reason) and the answer is 200."""
    event = make_event(customer(balance="a lot"), "customer.updated")  # balance must be an integer
    response = deliver(event)
    assert response.status_code == 200
    assert b"cannot be processed" in response.content
    assert b"a lot" not in response.content
    row = Event.objects.get()
    assert row.processing_status == ProcessingStatus.FAILED
    assert row.processing_attempts == 1
    assert "balance" in row.processing_error
    assert not Customer.objects.exists()
    # A redelivery is processed again (and fails again, counted)
    assert deliver(event).status_code == 200
    assert Event.objects.get().processing_attempts == 2


def test_a_failure_that_may_pass_is_answered_500(deliver, settings, unused_port):
    """The API cannot be reached to fetch the object: Stripe must deliver it again."""
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "REFETCH_ON_EVENT": True,
                              "API_BASE": f"http://127.0.0.1:{unused_port}", "MAX_NETWORK_RETRIES": 0}
    event = make_event(customer(), "customer.updated")
    response = deliver(event)
    assert response.status_code == 500
    assert b"Traceback" not in response.content
    row = Event.objects.get()
    assert row.processing_status == ProcessingStatus.FAILED
    assert "APIConnectionError" in row.processing_error


def test_connect_events_tag_the_rows_with_the_account(deliver):
    with override_settings(STRIPE_DJANGO={"API_KEY": "sk_test_x", "WEBHOOK_SECRETS": ["whsec_tests_primary"],
                                          "WEBHOOK_ENDPOINTS": {"connect": {"SECRETS": ["whsec_c"]}}}):
        event = make_event(customer("cus_on_connected"), "customer.created", account="acct_1Connected")
        assert deliver(event, endpoint="connect", secret="whsec_c").status_code == 200
    assert Customer.objects.get(pk="cus_on_connected").stripe_account == "acct_1Connected"
    row = Event.objects.get()
    assert row.stripe_account == "acct_1Connected"
    assert row.account == "acct_1Connected"
    assert row.webhook_endpoint == "connect"


def test_client_secret_is_never_stored(deliver, stripe_examples):
    intent = dict(stripe_examples["payment_intent"], client_secret="pi_x_secret_y")
    event = make_event(intent, "payment_intent.succeeded")
    assert deliver(event).status_code == 200
    assert "pi_x_secret_y" not in json.dumps(Event.objects.get().stripe_data)
    assert "pi_x_secret_y" not in json.dumps(Event.objects.get().data)
    assert "pi_x_secret_y" not in json.dumps(PaymentIntent.objects.get().stripe_data)


def test_store_then_process_from_the_stored_payload():
    event = make_event(customer(), "customer.created")
    store_event(event, endpoint=None)
    row = Event.objects.get()
    assert row.processing_status == ProcessingStatus.PENDING
    assert row.webhook_endpoint is None
    assert not Customer.objects.exists()
    outcome = process_event(event["id"])
    assert outcome.ok and outcome.status == "processed"
    assert Customer.objects.exists()
    assert process_event(event["id"]).status == "duplicate"
    assert process_event(event["id"], force=True).status == "processed"
    assert Event.objects.get().processing_attempts == 2


def test_storing_twice_keeps_one_row_and_the_first_endpoint():
    event = make_event(customer(), "customer.created")
    store_event(event, endpoint="")
    store_event(event, endpoint="other")
    assert Event.objects.get().webhook_endpoint == ""


def test_processing_an_event_that_is_not_stored():
    outcome = process_event("evt_nowhere")
    assert outcome.status == "failed"
    assert "not stored" in outcome.error


def test_receive_event_is_the_view_without_http():
    outcome = receive_event(make_event(customer(), "customer.created"))
    assert outcome.ok
    assert Customer.objects.count() == 1


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0), (2, 0, 1)])
def test_events_of_one_second_keep_the_lifecycle_order(deliver, order):
    """``created`` has one-second resolution: a creation and an update of the same second
    end with the update, and a deletion of that second wins over both, in any order."""
    t = int(time.time())
    lifecycle = [make_event(customer(name="new"), "customer.created", created=t),
                 make_event(customer(name="renamed"), "customer.updated", created=t),
                 make_event({"id": "cus_webhook1", "object": "customer", "deleted": True},
                            "customer.deleted", created=t)]
    for index in order:
        if index != 2:
            assert deliver(lifecycle[index]).status_code == 200
    assert Customer.objects.get().name == "renamed"
    for index in order:
        assert deliver(lifecycle[index]).status_code == 200
    stored = Customer.objects.get()
    assert stored.deleted is True and stored.name == "renamed"


def test_an_event_a_sync_stored_first_notes_its_webhook_arrival(deliver):
    from stripe_django.sync import upsert

    event = make_event(customer("cus_synced_first"), "customer.created")
    upsert(event)  # as a sync stores the Events API's events: not received by a webhook
    assert Event.objects.get(pk=event["id"]).received_at is None
    assert deliver(event).status_code == 200
    assert Event.objects.get(pk=event["id"]).received_at is not None


def test_an_event_read_from_the_events_api_first_notes_its_arrival_by_webhook(deliver):
    event = make_event(customer("cus_api_first"), "customer.created")
    assert store_event(event, endpoint=None).new
    Event.objects.update(received_at=None)  # as a sync stores it from the Events API
    assert not store_event(event, endpoint="").new
    row = Event.objects.get(pk=event["id"])
    assert row.received_at is not None and row.webhook_endpoint == ""
