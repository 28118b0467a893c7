"""Many deliveries at once against a real threaded server and PostgreSQL: distinct
events, duplicates of one event, and many events about one object. No deadlock, no
duplicate key error, no lost event, each event processed once, the newest state wins."""

from __future__ import annotations

import logging
import random
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from stripe_django.models import Customer, Event

from .conftest import body_of, customer, make_event, sign
from .server import serve

pytestmark = pytest.mark.django_db(transaction=True)

SENDERS = 24


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the concurrency test needs PostgreSQL (DATABASE_URL=postgres://...); "
                    "it runs in CI's PostgreSQL pass")


def post(url: str, event: dict) -> int:
    body = body_of(event)
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "Stripe-Signature": sign(body)})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_many_deliveries_at_once(caplog):
    now = int(time.time())
    distinct = [make_event(customer(f"cus_many{i:03d}", name=f"n{i}"), "customer.created", created=now - 5)
                for i in range(60)]
    duplicated = [make_event(customer(f"cus_dup{i:02d}"), "customer.updated", created=now - 5)
                  for i in range(10)]
    one_object = [make_event(customer("cus_hot", name=f"v{i:02d}"), "customer.updated", created=now - 100 + i)
                  for i in range(30)]
    deliveries = distinct + duplicated * 4 + one_object + one_object[:10]
    random.Random(7).shuffle(deliveries)

    with caplog.at_level(logging.WARNING), serve(threaded=True) as server:
        url = f"{server.url}/stripe/webhook/"
        start = threading.Barrier(SENDERS)

        def send(index: int) -> list[int]:
            start.wait(10)
            return [post(url, event) for event in deliveries[index::SENDERS]]

        with ThreadPoolExecutor(SENDERS) as pool:
            statuses = [s for result in pool.map(send, range(SENDERS)) for s in result]

    assert len(statuses) == len(deliveries)
    assert set(statuses) == {200}, [r.getMessage() for r in caplog.records][:5]
    expected = {e["id"] for e in distinct + duplicated + one_object}
    assert set(Event.objects.values_list("id", flat=True)) == expected
    assert not Event.objects.exclude(processing_status="processed").exists()
    # each event processed exactly once, however often and however concurrently it came
    assert set(Event.objects.values_list("processing_attempts", flat=True)) == {1}
    assert Customer.objects.filter(id__startswith="cus_many").count() == 60
    assert Customer.objects.filter(id__startswith="cus_dup").count() == 10
    assert Customer.objects.get(pk="cus_hot").name == "v29"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_thin_notifications_delivered_many_times_at_once(caplog, settings, stripe_examples):
    """Copies of thin notifications at once: each stored once and processed once
    (the losers of the claim may have fetched too: their answer is dropped), the
    object's state is the one the API gives."""
    from stripe_django.models import Invoice
    from stripe_django.testing.stripe_stub import StripeStub

    from .test_thin import notification, related

    invoice = dict(stripe_examples["invoice"], status="paid")
    notes = [notification("v1.invoice.updated", related("invoice", invoice["id"], "/v1/invoices"))
             for _ in range(6)]
    deliveries = notes * 5
    random.Random(11).shuffle(deliveries)
    with StripeStub() as stub, caplog.at_level(logging.WARNING), serve(threaded=True) as server:
        settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "API_KEY": "sk_test_thin",
                                  "API_BASE": stub.api_base, "MAX_NETWORK_RETRIES": 0}
        stub.answer("GET", f"/v1/invoices/{invoice['id']}", invoice)
        url = f"{server.url}/stripe/webhook/"
        start = threading.Barrier(10)

        def send(index: int) -> list[int]:
            start.wait(10)
            return [post(url, event) for event in deliveries[index::10]]

        with ThreadPoolExecutor(10) as pool:
            statuses = [s for result in pool.map(send, range(10)) for s in result]
    assert set(statuses) == {200}, [r.getMessage() for r in caplog.records][:5]
    assert set(Event.objects.values_list("id", flat=True)) == {n["id"] for n in notes}
    assert set(Event.objects.values_list("processing_status", "processing_attempts")) == {("processed", 1)}
    assert Invoice.objects.get(pk=invoice["id"]).status == "paid"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
