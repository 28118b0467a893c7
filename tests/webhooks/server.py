"""The test project under a real WSGI server on 127.0.0.1 (Django's own, as runserver).

On PostgreSQL and MySQL each request thread has its own database connection. An
in-memory SQLite database exists only in the test's connection, so then the server shares
it (as Django's LiveServerTestCase does) and a lock keeps the test thread and the server
from using it at the same time: wrap the test's own queries in ``server.lock``.
"""

from __future__ import annotations

import contextlib
import socketserver
import threading
import time
from typing import Iterator

from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler, WSGIServer
from django.db import connections


class QuietHandler(WSGIRequestHandler):
    disable_nagle_algorithm = True  # no delayed-ACK stall between headers and body

    def log_message(self, format, *args):  # noqa: A002
        pass


class _Serial(WSGIServer):
    def __init__(self, *args, connections_override=None, **kwargs):
        super().__init__(*args, **kwargs)


class _Threaded(ThreadedWSGIServer):
    # no thread per connection left behind when the test ends
    daemon_threads = True
    block_on_close = False
    # Django's backlog of 10 overflows when two dozen senders connect at once (the
    # kernel's ListenOverflows counter rises); on a loaded machine a connection then
    # now and then fails instead of waiting.
    request_queue_size = 64


class Server:
    def __init__(self, httpd: socketserver.BaseServer, lock: threading.Lock | contextlib.nullcontext):
        self.httpd = httpd
        self.lock = lock
        host, port = httpd.server_address[:2]
        self.url = f"http://{host}:{port}"
        self.in_flight = 0
        self.last_request = 0.0
        self._count = threading.Lock()

    def wait_idle(self, quiet: float = 0.5, timeout: float = 15.0) -> None:
        """Wait until no request is running and none came for ``quiet`` seconds (late
        deliveries must not reach the database after the test has ended)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._count:
                idle = self.in_flight == 0 and time.monotonic() - self.last_request > quiet
            if idle:
                return
            time.sleep(0.05)
        raise AssertionError("the server did not become idle")


def _shared_connections() -> dict:
    shared = {}
    for conn in connections.all():
        if conn.vendor == "sqlite" and conn.is_in_memory_db():
            conn.inc_thread_sharing()
            shared[conn.alias] = conn
    return shared


@contextlib.contextmanager
def serve(*, threaded: bool = True) -> Iterator[Server]:
    """Serve the project's WSGI application on 127.0.0.1:<free port> until the block ends."""
    shared = _shared_connections()
    lock: threading.Lock | contextlib.nullcontext = threading.Lock() if shared else contextlib.nullcontext()
    server_class = _Serial if (shared or not threaded) else _Threaded
    httpd = server_class(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False,
                         connections_override=shared or None)
    app = WSGIHandler()

    def locked_app(environ, start_response):
        with lock:
            return app(environ, start_response)

    def counted_app(environ, start_response):
        with server._count:
            server.in_flight += 1
            server.last_request = time.monotonic()
        try:
            return locked_app(environ, start_response)
        finally:
            with server._count:
                server.in_flight -= 1
                server.last_request = time.monotonic()

    httpd.set_app(counted_app)
    server = Server(httpd, lock)

    def run() -> None:
        for alias, conn in shared.items():
            connections[alias] = conn
        try:
            httpd.serve_forever(poll_interval=0.05)
        finally:
            if not shared:
                connections.close_all()

    thread = threading.Thread(target=run, name="webhook-test-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
        for conn in shared.values():
            conn.dec_thread_sharing()
