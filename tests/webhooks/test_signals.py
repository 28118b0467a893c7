"""Signals go out after the commit; a receiver that raises gets the event retried."""

from __future__ import annotations

import pytest
from django.db import connection

from stripe_django.models import Customer, Event
from stripe_django.signals import event_processed, on_event

from .conftest import customer, make_event

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def calls():
    """Receivers connected for one test (and disconnected after it)."""
    seen: list[tuple[str, str]] = []
    connected = []

    def connect(*types: str, fail: int = 0):
        failures = {"left": fail}

        @on_event(*types, dispatch_uid=f"test-{len(connected)}")
        def receiver(sender, event, event_type, **kwargs):
            assert sender is Event
            assert event.type == event_type
            # after the commit: no transaction open, the rows are there
            assert not connection.in_atomic_block
            assert Event.objects.get(pk=event.id).processing_status == "processed"
            seen.append((types[0], event_type))
            if failures["left"]:
                failures["left"] -= 1
                raise RuntimeError("receiver broke")

        connected.append(receiver)
        return receiver

    yield seen, connect
    for receiver in connected:
        receiver.disconnect()


def test_on_event_receives_only_its_types(deliver, calls):
    seen, connect = calls
    connect("customer.created")
    connect("customer.*")
    assert deliver(make_event(customer(), "customer.created")).status_code == 200
    assert deliver(make_event(customer(), "customer.updated")).status_code == 200
    assert deliver(make_event({"id": "prod_1", "object": "product", "name": "P"}, "product.created")).status_code == 200
    assert seen == [("customer.created", "customer.created"), ("customer.*", "customer.created"),
                    ("customer.*", "customer.updated")]


def test_generic_signal_and_object_already_stored(deliver):
    received = []

    def receiver(sender, event, event_type, **kwargs):
        received.append((event_type, Customer.objects.filter(pk="cus_webhook1").exists()))

    event_processed.connect(receiver)
    try:
        deliver(make_event(customer(), "customer.created"))
        deliver(make_event({"object": "billing.alert_triggered", "customer": "cus_1"}, "billing.alert.triggered"))
    finally:
        event_processed.disconnect(receiver)
    assert received == [("customer.created", True), ("billing.alert.triggered", True)]


def test_not_sent_again_for_a_redelivery_nor_for_a_failure(deliver, calls):
    seen, connect = calls
    connect("customer.*")
    event = make_event(customer(), "customer.created")
    deliver(event)
    deliver(event)
    refused = deliver(make_event(customer(balance="not a number"), "customer.updated"))
    assert refused.status_code == 200 and b"cannot be processed" in refused.content
    assert seen == [("customer.*", "customer.created")]


def test_a_receiver_that_raises_fails_the_event_and_the_retry_sends_again(deliver, calls, caplog):
    seen, connect = calls
    connect("customer.created", fail=1)
    connect("customer.*")
    event = make_event(customer(), "customer.created")
    response = deliver(event)
    assert response.status_code == 500
    row = Event.objects.get()
    assert row.processing_status == "failed"
    assert "receiver broke" in row.processing_error and "receiver" in row.processing_error
    assert "receiver broke" in caplog.text
    # the other receiver still ran
    assert ("customer.*", "customer.created") in seen
    # Stripe retries: processed again, every receiver called again
    assert deliver(event).status_code == 200
    row.refresh_from_db()
    assert row.processing_status == "processed" and row.processing_error == ""
    assert row.processing_attempts == 2
    assert seen.count(("customer.created", "customer.created")) == 2
    assert seen.count(("customer.*", "customer.created")) == 2


def test_on_event_needs_a_type():
    with pytest.raises(TypeError):
        on_event()
