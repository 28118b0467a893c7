"""Events from cloud event buses (Amazon EventBridge, Azure Event Grid) through
``stripe_django.webhooks.receive_cloud_event``, and the SQS consumer built on it.

The envelopes are those of stripe-node's tests, test/CloudProviderEvent.spec.ts
(EVENTBRIDGE_PAYLOAD, EVENTGRID_PAYLOAD, EVENTBRIDGE_V2_PAYLOAD, EVENTGRID_V2_PAYLOAD).
"""

from __future__ import annotations

import json
import sys

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection
from django.test.utils import override_settings

from stripe_django.models import Customer, Event
from stripe_django.testing.sqs import MemoryQueue
from stripe_django.testing.stripe_stub import StripeStub
from stripe_django.webhooks import receive_cloud_event
from stripe_django.webhooks.cloud import CloudEventError
from stripe_django.webhooks.sqs import poll

from .conftest import SECRET

pytestmark = pytest.mark.django_db

EVENTBRIDGE_PAYLOAD = {
    "version": "0", "id": "17e8dff5-d6cd-3770-ace9-aeac02b6ac3f", "detail-type": "customer.created",
    "source": "aws.partner/stripe.com/ed_123", "account": "506417113029",
    "time": "2024-03-07T18:27:56Z", "region": "us-west-2", "resources": [],
    "detail": {
        "id": "evt_test_123", "object": "event", "api_version": "2023-10-16", "created": 1709836076,
        "data": {"object": {"id": "cus_123", "object": "customer"}}, "livemode": True,
        "pending_webhooks": 0, "request": {"id": "req_123", "idempotency_key": None},
        "type": "customer.created",
    },
}
EVENTGRID_PAYLOAD = {
    "specversion": "1.0", "type": "customer.created", "source": "/providers/stripe/ed_test_123",
    "id": "9aeb0fdf-c01e-0131-0922-9eb54906e209", "time": "2025-07-11T14:30:00Z", "subject": None,
    "dataContentType": "application/cloudevents+json",
    "data": {
        "id": "evt_test_456", "object": "event", "api_version": "2023-10-16", "created": 1709836076,
        "data": {"object": {"id": "cus_456", "object": "customer"}}, "livemode": False,
        "pending_webhooks": 0, "request": {"id": "req_456", "idempotency_key": None},
        "type": "customer.created",
    },
}
EVENTBRIDGE_V2_PAYLOAD = {
    "version": "0", "id": "17e8dff5-d6cd-3770-ace9-aeac02b6ac3f",
    "detail-type": "v2.billing.meter.error_report_triggered", "source": "aws.partner/stripe.com/ed_123",
    "account": "506417113029", "time": "2024-03-07T18:27:56Z", "region": "us-west-2", "resources": [],
    "detail": {
        "id": "evt_notif_test_789", "object": "v2.core.event",
        "type": "v2.billing.meter.error_report_triggered", "created": "2024-03-07T18:27:56.000Z",
        "context": None, "livemode": False, "related_object": None,
    },
}
EVENTGRID_V2_PAYLOAD = {
    "specversion": "1.0", "type": "v2.billing.meter.error_report_triggered",
    "source": "/providers/stripe/ed_test_123", "id": "abc123-eventgrid-v2", "time": "2025-07-11T14:30:00Z",
    "subject": None, "dataContentType": "application/cloudevents+json",
    "data": {
        "id": "evt_notif_test_012", "object": "v2.core.event",
        "type": "v2.billing.meter.error_report_triggered", "created": "2025-07-11T14:30:00.000Z",
        "context": None, "livemode": False, "related_object": None,
    },
}


@pytest.fixture
def stub():
    with StripeStub() as stub, override_settings(STRIPE_DJANGO={
            "API_KEY": "sk_test_cloud", "API_BASE": stub.api_base, "MAX_NETWORK_RETRIES": 0,
            "WEBHOOK_SECRETS": [SECRET]}):
        yield stub


@pytest.mark.parametrize("envelope, endpoint", [(EVENTBRIDGE_PAYLOAD, "amazon_eventbridge"),
                                                (EVENTGRID_PAYLOAD, "azure_event_grid")])
def test_snapshot_event_from_a_bus_is_stored_and_processed(stub, envelope, endpoint):
    inner = envelope.get("detail") or envelope["data"]
    outcome = receive_cloud_event(json.dumps(envelope))  # as the queue hands it over: text
    assert (outcome.ok, outcome.status, outcome.event_id) == (True, "processed", inner["id"])
    row = Event.objects.get(pk=inner["id"])
    assert (row.processing_status, row.webhook_endpoint, row.type) == ("processed", endpoint,
                                                                       "customer.created")
    assert Customer.objects.filter(pk=inner["data"]["object"]["id"]).exists()
    assert receive_cloud_event(envelope).status == "duplicate"  # parsed, and delivered twice
    assert not stub.requests


@pytest.mark.parametrize("envelope", [EVENTBRIDGE_V2_PAYLOAD, EVENTGRID_V2_PAYLOAD])
def test_thin_notification_from_a_bus_is_processed(stub, envelope):
    inner = envelope.get("detail") or envelope["data"]
    stub.v2_events[inner["id"]] = {**inner, "data": {"developer_message_summary": "an error"}}
    outcome = receive_cloud_event(json.dumps(envelope).encode())
    assert outcome.ok, outcome.error
    row = Event.objects.get(pk=inner["id"])
    assert row.processing_status == "processed"
    assert row.stripe_data["object"] == "v2.core.event"
    assert row.data == {"developer_message_summary": "an error"}
    # no related object to fetch; the type is unknown to the SDK, so the full event is read
    assert [r.path for r in stub.requests] == [f"/v2/core/events/{inner['id']}"]


@pytest.mark.parametrize("message", ["not json", json.dumps({"hello": "world"}), b"\xff",
                                     json.dumps([1, 2])])
def test_message_that_is_not_an_event_is_refused_and_nothing_stored(stub, message):
    with pytest.raises(CloudEventError, match="not a Stripe event|no event"):
        receive_cloud_event(message)
    assert not Event.objects.exists()


def test_unusable_event_in_an_envelope_is_kept_as_failed(stub):
    envelope = dict(EVENTBRIDGE_PAYLOAD, detail={**EVENTBRIDGE_PAYLOAD["detail"], "data": "nope"})
    outcome = receive_cloud_event(envelope)
    assert not outcome.ok and not outcome.transient
    row = Event.objects.get(pk="evt_test_123")
    assert row.processing_status == "failed" and "data.object" in row.processing_error


def test_sqs_poller_deletes_stored_events_and_leaves_the_rest(stub):
    queue = MemoryQueue()
    queue.send(json.dumps(EVENTBRIDGE_PAYLOAD))
    queue.send("not a stripe event")
    thin = EVENTBRIDGE_V2_PAYLOAD["detail"]
    queue.send(json.dumps(EVENTBRIDGE_V2_PAYLOAD))  # its event fetch fails: 404 at first
    tally = poll(queue.queue_url, client=queue, once=True)
    assert (tally.received, tally.processed, tally.failed, tally.left) == (3, 1, 0, 2)
    assert queue.deleted == [json.dumps(EVENTBRIDGE_PAYLOAD)]
    assert Event.objects.get(pk=thin["id"]).processing_status == "failed"
    # the queue delivers what was left again; the event can be fetched now
    stub.v2_events[thin["id"]] = {**thin, "data": {}}
    tally = poll(queue.queue_url, client=queue, once=True)
    assert (tally.received, tally.processed, tally.left) == (2, 1, 1)
    assert queue.waiting == ["not a stripe event"]
    assert Event.objects.get(pk=thin["id"]).processing_status == "processed"


def test_sqs_command_without_boto3_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "boto3", None)  # an import of it fails, as when absent
    with pytest.raises(CommandError, match="needs boto3.*pip install boto3"):
        call_command("stripe_sqs_poll", "https://sqs.example/123/stripe", "--once")


def test_sqs_poller_keeps_polling_when_the_database_refuses_a_message(stub):
    queue = MemoryQueue()
    queue.send(json.dumps(EVENTBRIDGE_PAYLOAD))

    def refuse_event_inserts(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(("INSERT", "WITH")) and "stripe_django_event" in sql:
            raise OperationalError("the database is restarting")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse_event_inserts):
        tally = poll(queue.queue_url, client=queue, once=True)  # no exception: keeps polling
    assert (tally.received, tally.processed, tally.left) == (1, 0, 1)
    assert queue.waiting == [json.dumps(EVENTBRIDGE_PAYLOAD)] and not Event.objects.exists()
    tally = poll(queue.queue_url, client=queue, once=True)  # the database is back
    assert (tally.received, tally.processed) == (1, 1)
    assert Event.objects.get(pk=EVENTBRIDGE_PAYLOAD["detail"]["id"]).processing_status == "processed"
