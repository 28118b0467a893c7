"""Fixtures of the mirror tests: the Stripe stub answering with Stripe's example objects
for what localstripe does not serve (localstripe's ``server`` is in tests/conftest.py),
signed webhooks."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.urls import reverse

from stripe_django.testing.stripe_stub import StripeStub
from tests.conftest import point_at
from tests.webhooks.conftest import body_of, make_event, sign


@pytest.fixture
def stub(settings):
    """The Stripe stub, answering only what a test tells it to, and the settings
    pointing at it."""
    with StripeStub() as server:
        point_at(settings, server.api_base, WEBHOOK_SECRETS=["whsec_tests_primary"])
        yield server


@pytest.fixture
def example(stripe_examples):
    """A deep copy of Stripe's example object of a type, with fields overridden."""

    def make(object_type: str, **fields: Any) -> dict[str, Any]:
        return {**copy.deepcopy(stripe_examples[object_type]), **fields}

    return make


@pytest.fixture
def deliver(client):
    """POST an event for ``obj`` to the webhook URL, signed with the test secret."""

    def post(obj: dict[str, Any], event_type: str, *, created: int, account: str | None = None):
        body = body_of(make_event(obj, event_type, created=created, account=account))
        response = client.post(reverse("stripe_django:webhook"), data=body,
                               content_type="application/json",
                               HTTP_STRIPE_SIGNATURE=sign(body))
        assert response.status_code == 200, response.content
        return response

    return post
