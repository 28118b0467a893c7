"""The HTTP plumbing under :class:`~stripe_django.testing.stripe_stub.StripeStub`: a
threaded server on 127.0.0.1 that hands each request, parsed, to one function and
writes what it returns as JSON. Not a stand-in for Stripe by itself: what is answered is
the stub's business.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Mapping
from urllib.parse import parse_qs, parse_qsl, urlsplit

__all__ = ["JSONServer", "Reply", "StubRequest"]


@dataclass
class StubRequest:
    """One request as the stub received it."""

    method: str
    target: str  # the path with its query string, as sent
    path: str  # "/v1/customers"
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)  # when it was received

    @property
    def form(self) -> dict[str, list[str]]:
        """The form-encoded body (stripe-python's POST parameters)."""
        return parse_qs(self.body.decode())

    @property
    def params(self) -> dict[str, str]:
        """The query string as one value per name (the last, if repeated)."""
        return dict(parse_qsl(urlsplit(self.target).query))

    @property
    def resource(self) -> str:
        """The path under ``/v1/``: ``"customers"``, ``"customers/cus_1"``."""
        return self.path.removeprefix("/v1/")

    def header(self, name: str) -> str | None:
        """A header, whatever the case the client wrote its name in."""
        name = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == name), None)

    @property
    def api_key(self) -> str:
        """The key of ``Authorization: Bearer <key>`` ("" without one)."""
        return (self.header("Authorization") or "").removeprefix("Bearer ")


#: What the answering function returns: status, the JSON payload (``bytes``: already
#: encoded), headers.
Reply = tuple[int, Any, Mapping[str, str]]


class JSONServer:
    """A threaded HTTP server on a free port of 127.0.0.1 answering every request with
    what ``respond`` returns. If ``respond`` raises, the answer is a 500 whose message
    names the error (a bug of the stub shows in the test as such, not as a connection
    closed without an answer)."""

    def __init__(self, respond: Callable[[StubRequest], Reply]) -> None:
        self.respond = respond
        self._httpd: ThreadingHTTPServer | None = None

    def start(self) -> "JSONServer":
        respond = self.respond

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as stripe-python's client uses it
            # The headers and the body go out in two writes; with Nagle's algorithm on,
            # a small body waits for the client's delayed ACK (~40 ms) of the headers.
            disable_nagle_algorithm = True

            def _answer(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = StubRequest(self.command, self.path, url.path, parse_qs(url.query),
                                      dict(self.headers), self.rfile.read(length) if length else b"")
                try:
                    status, payload, headers = respond(request)
                except Exception as error:  # noqa: BLE001 - a stub's bug: a 500 the test sees
                    status, headers = 500, {}
                    payload = {"error": {"type": "api_error",
                                         "message": f"the stub failed: {type(error).__name__}: {error}"}}
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True  # no thread per connection left behind
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket. Idempotent."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the stub server is not started")
        return self._httpd.server_address[1]
