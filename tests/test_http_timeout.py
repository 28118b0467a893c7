"""``HTTP_TIMEOUT`` bounds every request the app makes (its own client, the mirrored
client, async calls on rows): a Stripe that does not answer fails the call after that
many seconds instead of holding a sync shard or a worker for stripe-python's 80 s.

The stub answers each request after ``LATENCY`` seconds, longer than the bound."""

from __future__ import annotations

import asyncio
import time

import pytest
import stripe

import stripe_django
from stripe_django.client import get_client
from stripe_django.models import Customer
from stripe_django.sync import upsert
from stripe_django.testing.stripe_stub import StripeStub

from .conftest import point_at

LATENCY = 2.0
BOUND = 0.3
CUSTOMER = {"id": "cus_slow", "object": "customer", "created": 1700000000, "livemode": False}


@pytest.fixture
def slow_stripe(settings):
    with StripeStub(latency=LATENCY) as server:
        server.answer("GET", "/v1/customers/cus_slow", CUSTOMER)
        point_at(settings, server.api_base)
        settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "MAX_NETWORK_RETRIES": 0, "HTTP_TIMEOUT": BOUND}
        yield server


def _fails_within_the_bound(call) -> None:
    started = time.monotonic()
    with pytest.raises(stripe.APIConnectionError):
        call()
    assert time.monotonic() - started < LATENCY - 0.5


def test_the_apps_client_gives_up_after_the_bound(slow_stripe):
    _fails_within_the_bound(lambda: get_client().v1.customers.retrieve("cus_slow"))


def test_the_mirrored_client_gives_up_after_the_bound(slow_stripe):
    _fails_within_the_bound(lambda: stripe_django.mirrored_client().v1.customers.retrieve("cus_slow"))


@pytest.mark.django_db(transaction=True)
def test_async_calls_on_rows_give_up_after_the_bound(slow_stripe):
    upsert(CUSTOMER)
    row = Customer.objects.get(pk="cus_slow")
    _fails_within_the_bound(lambda: asyncio.run(row.stripe.retrieve_async()))


def test_without_the_setting_a_slow_answer_is_waited_for(slow_stripe, settings):
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "HTTP_TIMEOUT": None}
    assert get_client().v1.customers.retrieve("cus_slow").id == "cus_slow"


def test_without_an_async_http_library_the_bound_still_holds(slow_stripe, monkeypatch):
    """stripe-python needs only ``requests``; httpx and aiohttp are optional. Without
    either, its async stand-in takes no timeout: the client is built all the same."""
    from stripe import _http_client

    monkeypatch.setattr(_http_client, "_default_async_client", _http_client.NoImportFoundAsyncClient)
    _fails_within_the_bound(lambda: get_client().v1.customers.retrieve("cus_slow"))
