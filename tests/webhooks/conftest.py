"""Fixtures of the webhook tests: events built like Stripe's, signed with the real scheme."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any

import pytest
from django.urls import reverse

SECRET = "whsec_tests_primary"  # tests/settings.py
CONNECT_SECRET = "whsec_tests_connect"

_ids = itertools.count(1)


def sign(body: bytes | str, secret: str = SECRET, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header computed the way Stripe does (HMAC-SHA256 of
    ``"<t>.<body>"`` with the endpoint secret, hex, scheme ``v1``)."""
    if isinstance(body, str):
        body = body.encode()
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def make_event(obj: dict[str, Any], event_type: str | None = None, *, created: int | None = None,
               event_id: str | None = None, account: str | None = None,
               previous: dict | None = None) -> dict[str, Any]:
    """An event around ``obj`` shaped like Stripe's (API version 2026-10-28)."""
    object_type = obj.get("object", "customer")
    event: dict[str, Any] = {
        "id": event_id or f"evt_test{next(_ids):010d}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()) if created is None else created,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type or f"{object_type}.updated",
    }
    if previous is not None:
        event["data"]["previous_attributes"] = previous
    if account is not None:
        event["account"] = account
    return event


def customer(customer_id: str = "cus_webhook1", **fields: Any) -> dict[str, Any]:
    return {
        "id": customer_id, "object": "customer", "created": 1700000000, "livemode": False,
        "email": "jenny@example.com", "name": "Jenny Rosen", "metadata": {}, "balance": 0,
        "currency": "usd", "delinquent": False, "description": None, **fields,
    }


def body_of(event: dict[str, Any]) -> bytes:
    return json.dumps(event, indent=2).encode()


@pytest.fixture
def deliver(client):
    """POST an event (or raw bytes) to a webhook endpoint, signed unless told otherwise."""

    def post(event: dict[str, Any] | bytes, *, secret: str = SECRET, endpoint: str | None = None,
             signature: str | None = None, timestamp: int | None = None, **headers: Any):
        body = event if isinstance(event, bytes) else body_of(event)
        url = reverse("stripe_django:webhook", kwargs={"name": endpoint} if endpoint else {})
        if signature is None:
            signature = sign(body, secret, timestamp)
        if signature:
            headers["HTTP_STRIPE_SIGNATURE"] = signature
        return client.post(url, data=body, content_type="application/json", **headers)

    return post
