"""Fixtures of the mirror tests: localstripe for what it serves, a stub HTTP server
answering with Stripe's example objects for what it does not, signed webhooks."""

from __future__ import annotations

import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from stripe_django.testing.localstripe import LocalStripe
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
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                stub.requests.append({
                    "method": self.command, "path": url.path, "query": parse_qs(url.query),
                    "headers": dict(self.headers), "form": parse_qs(body),
                })
                if stub.on_request is not None:
                    stub.on_request()
                status, payload = stub.routes.get((self.command, url.path),
                                                  (404, {"error": {"type": "invalid_request_error",
                                                                   "message": f"no route {url.path}"}}))
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, format, *args):  # noqa: A002
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def answer(self, method: str, path: str, payload: Any, status: int = 200) -> Any:
        self.routes[(method.upper(), path)] = (status, payload)
        return payload

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


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
