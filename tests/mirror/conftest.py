"""Fixtures of the mirror tests: localstripe for what it serves, a stub HTTP server
answering with Stripe's example objects for what it does not, signed webhooks."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.urls import reverse

from stripe_django.testing.localstripe import LocalStripe
from stripe_django.testing.stubserver import JSONStubServer, StubRequest
from tests.sync.conftest import point_at
from tests.webhooks.conftest import body_of, make_event, sign


@pytest.fixture(scope="session")
def localstripe():
    with LocalStripe() as server:
        yield server


@pytest.fixture
def server(localstripe, settings):
    """An empty localstripe, with the settings pointing at it."""
    localstripe.flush()
    point_at(settings, localstripe.api_base, localstripe.api_key,
             WEBHOOK_SECRETS=["whsec_tests_primary"])
    return localstripe


class Stub:
    """A local Stripe stand-in: answers ``(method, path)`` with the JSON it was given and
    records each request (path, headers, form body)."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], tuple[int, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.on_request = None  # called in the server thread while a request is answered
        self.server = JSONStubServer(self._respond).start()
        self.url = self.server.url

    def _respond(self, request: StubRequest) -> tuple[int, Any]:
        self.requests.append({"method": request.method, "path": request.path,
                              "query": request.query, "headers": request.headers,
                              "form": request.form})
        if self.on_request is not None:
            self.on_request()
        return self.routes.get((request.method, request.path), (404, {"error": {
            "type": "invalid_request_error", "message": f"no route {request.path}"}}))

    def answer(self, method: str, path: str, payload: Any, status: int = 200) -> Any:
        self.routes[(method.upper(), path)] = (status, payload)
        return payload

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture
def stub(settings):
    """A stub server and the settings pointing at it."""
    server = Stub()
    point_at(settings, server.url, WEBHOOK_SECRETS=["whsec_tests_primary"])
    yield server
    server.stop()


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
