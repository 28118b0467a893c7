"""A local HTTP server that answers JSON, for tests that stand in for the Stripe API at
the HTTP boundary (what localstripe does not serve, or a server whose every answer the
test decides).

The test gives one function, ``respond(request) -> (status, payload)`` (or ``(status,
payload, headers)``), called in the server's threads for every request; if it raises,
the answer is a 500 whose message names the error (not a connection closed without
an answer)::

    with JSONStubServer(lambda request: (200, {"object": "list", "data": []})) as server:
        settings.STRIPE_DJANGO = {..., "API_BASE": server.url}
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

__all__ = ["JSONStubServer", "StubRequest"]


@dataclass
class StubRequest:
    """One request as the stub received it."""

    method: str
    target: str  # the path with its query string, as sent
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, list[str]]:
        """The form-encoded body (stripe-python's POST parameters)."""
        return parse_qs(self.body.decode())


Respond = Callable[[StubRequest], tuple]


class JSONStubServer:
    """A threaded HTTP server on a free port of 127.0.0.1, answering every request with
    what ``respond`` returns, encoded as JSON. Start it with ``with`` (or :meth:`start`)."""

    def __init__(self, respond: Respond) -> None:
        self.respond = respond
        self._httpd: ThreadingHTTPServer | None = None

    def start(self) -> "JSONStubServer":
        respond = self.respond

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as stripe-python's client uses it

            def _answer(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = StubRequest(self.command, self.path, url.path, parse_qs(url.query),
                                      dict(self.headers), self.rfile.read(length) if length else b"")
                try:
                    status, payload, *rest = respond(request)
                except Exception as error:  # noqa: BLE001 - a stub's bug: a 500 the test sees
                    status, rest = 500, []
                    payload = {"error": {"type": "api_error",
                                         "message": f"the stub failed: {type(error).__name__}: {error}"}}
                data = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in (rest[0] if rest else {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: the ``API_BASE`` that points at this server."""
        if self._httpd is None:
            raise RuntimeError("the stub server is not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> "JSONStubServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
