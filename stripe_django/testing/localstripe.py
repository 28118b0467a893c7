"""Run `localstripe <https://pypi.org/project/localstripe/>`_ in a subprocess.

localstripe is a fake, stateful, in-memory Stripe API server (aiohttp app).
This module starts it for tests and demos so that the *real* stripe-python
client can talk HTTP to it::

    from stripe_django.testing.localstripe import LocalStripe

    with LocalStripe() as ls:
        client = ls.client()          # stripe.StripeClient pointed at it
        client.v1.customers.create(params={"email": "a@example.com"})
        ls.register_webhook("test", "http://127.0.0.1:8000/hook", "whsec_x")

Why not just ``python -m localstripe``?  Its CLI (1.15.10):

* binds ``::`` (every interface, IPv4 and IPv6) on ``--port`` (default 8420);
  we want 127.0.0.1 only and an OS-chosen free port;
* loads ``/tmp/localstripe.pickle`` at start-up unless ``--from-scratch`` is
  given, and rewrites that hard-coded file after *every* object creation and
  every POST/PUT/DELETE (there is no option to move or disable it).  Besides
  leaking state between runs and between concurrent servers, pickling the
  whole store on every write makes seeding quadratic.

So the child process runs a tiny bootstrap (``_BOOTSTRAP`` below) that turns
the store's disk persistence into no-ops, binds 127.0.0.1:0 itself, reports
the chosen port through a file in a private temporary directory and serves
``localstripe.server.app``.  Nothing is written outside that directory, which
is deleted on stop.

The child can never outlive us: its stdin is a pipe held by this process, and
a watchdog thread in the child exits as soon as that pipe reaches EOF (which
happens on ``stop()`` or when this process dies, however it dies).  ``stop()``
additionally terminates, then kills, the process after timeouts.

Standard library only; ``stripe`` is imported lazily by :meth:`client`.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import weakref
from typing import IO

__all__ = ["LocalStripe", "LocalStripeError", "WEBHOOK_DELAY_SECONDS"]

#: The only interface the server ever listens on.
HOST = "127.0.0.1"

#: localstripe delivers each webhook event about this many seconds after the
#: event was created (it does ``asyncio.sleep(1)`` before POSTing).
WEBHOOK_DELAY_SECONDS = 1.0

# Any key starting with "sk_" (and longer than 5 characters) is accepted by
# localstripe; there are no accounts, so the value itself does not matter.
DEFAULT_API_KEY = "sk_test_localstripe"

# Code run by the child interpreter (``python -c _BOOTSTRAP <port_file>``).
# Kept free of stripe_django imports so the child only needs localstripe.
_BOOTSTRAP = r"""
import logging, os, socket, sys, threading

def _exit_when_parent_goes_away():
    # stdin is a pipe whose write end only the parent holds: EOF means the
    # parent called stop() or died. Either way, do not linger.
    try:
        sys.stdin.buffer.read()
    finally:
        os._exit(0)

threading.Thread(target=_exit_when_parent_goes_away, daemon=True).start()

# Disable localstripe's hard-coded /tmp/localstripe.pickle persistence
# *before* anything can load or dump the store.
from localstripe import resources
resources.Store.try_load_from_disk = lambda self: None
resources.Store.dump_to_disk = lambda self: None

from aiohttp import web
from localstripe import server

logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                    format="%(asctime)s %(name)s %(message)s")

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.bind(("127.0.0.1", 0))
port_file = sys.argv[1]
with open(port_file + ".tmp", "w") as f:
    f.write(str(sock.getsockname()[1]))
os.replace(port_file + ".tmp", port_file)  # atomic: parent never reads half

web.run_app(server.app, sock=sock, print=None,
            access_log=logging.getLogger("aiohttp.access"))
"""

# Every LocalStripe still running; stopped at interpreter exit as a safety
# net for callers that forget the context manager.
_running: "weakref.WeakSet[LocalStripe]" = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for instance in list(_running):
        instance.stop()


class LocalStripeError(RuntimeError):
    """localstripe failed to start, or rejected a /_config request."""


class LocalStripe:
    """A localstripe server in a child process, on 127.0.0.1:<free port>.

    Use as a context manager (or call :meth:`start` / :meth:`stop`).  All
    state lives in the child's memory and disappears when it stops.

    Attributes available while running:

    ``api_base``
        e.g. ``"http://127.0.0.1:54321"``; pass it as
        ``stripe.StripeClient(key, base_addresses={"api": api_base})``
    ``port``
        the TCP port
    ``pid``
        the child's process id
    ``api_key``
        a secret key localstripe accepts (any ``sk_...`` works)
    """

    def __init__(
        self,
        *,
        startup_timeout: float = 20.0,
        stop_timeout: float = 5.0,
        api_key: str = DEFAULT_API_KEY,
    ) -> None:
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.api_key = api_key
        self.port: int | None = None
        self._proc: subprocess.Popen | None = None
        self._tmpdir: str | None = None
        self._log_file: IO[bytes] | None = None

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self) -> "LocalStripe":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def api_base(self) -> str:
        if self.port is None:
            raise LocalStripeError("LocalStripe is not running")
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def tmpdir(self) -> str | None:
        """Private directory holding the port file and the server log."""
        return self._tmpdir

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> "LocalStripe":
        if self._proc is not None:
            raise LocalStripeError("LocalStripe already started")
        if importlib.util.find_spec("localstripe") is None:
            raise LocalStripeError(
                "the 'localstripe' package is not installed "
                "(pip install localstripe)"
            )

        self._tmpdir = tempfile.mkdtemp(prefix="localstripe-")
        port_file = os.path.join(self._tmpdir, "port")
        self._log_file = open(os.path.join(self._tmpdir, "server.log"), "wb")
        env = dict(os.environ, PYTHONUNBUFFERED="1", TMPDIR=self._tmpdir)
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _BOOTSTRAP, port_file],
                stdin=subprocess.PIPE,  # the child's lifeline, see module doc
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
                cwd=self._tmpdir,  # `-c` puts cwd on sys.path: keep it empty
                env=env,
                close_fds=True,
            )
            _running.add(self)
            self._wait_until_ready(port_file)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self, port_file: str) -> None:
        deadline = time.monotonic() + self.startup_timeout
        # 1. The child writes its port once the socket is bound.
        while not os.path.exists(port_file):
            self._check_alive_before(deadline, "bind a port")
            time.sleep(0.02)
        with open(port_file) as f:
            self.port = int(f.read())
        # 2. Then wait for the HTTP API to answer an authenticated request.
        #    (A side-effect-free one: GET /v1/balance would create events.)
        while True:
            try:
                self.request("GET", "/v1/customers?limit=1", auth=True)
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                self._check_alive_before(deadline, "answer HTTP")
                time.sleep(0.05)

    def _check_alive_before(self, deadline: float, what: str) -> None:
        assert self._proc is not None, "start() sets it before waiting"
        if self._proc.poll() is not None:
            raise LocalStripeError(
                f"localstripe exited with code {self._proc.returncode} "
                f"before it could {what}. Log:\n{self.read_log()}"
            )
        if time.monotonic() > deadline:
            raise LocalStripeError(
                f"localstripe did not {what} within {self.startup_timeout}s. "
                f"Log:\n{self.read_log()}"
            )

    def stop(self) -> None:
        """Stop the server and delete its temporary directory.  Idempotent."""
        proc, self._proc = self._proc, None
        _running.discard(self)
        if proc is not None:
            # Closing stdin makes the child's watchdog exit it immediately.
            try:
                if proc.stdin:
                    proc.stdin.close()
            except OSError:
                pass
            try:
                proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(timeout=self.stop_timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
        self.port = None

    # -- helpers -----------------------------------------------------------

    def read_log(self) -> str:
        """The server's output so far (aiohttp access log, webhook results)."""
        if self._tmpdir is None:
            return ""
        try:
            with open(os.path.join(self._tmpdir, "server.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def request(
        self,
        method: str,
        path: str,
        body: dict | None = None,
        *,
        auth: bool = False,
        timeout: float = 10.0,
    ) -> tuple[int, bytes]:
        """Raw HTTP call to the server; returns (status, body bytes).

        ``body`` is sent as JSON (localstripe accepts JSON as well as form
        encoding).  HTTP error statuses are returned, not raised.
        """
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data else {}
        if auth:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(
            self.api_base + path, data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def register_webhook(
        self,
        name: str,
        url: str,
        secret: str,
        events: list[str] | None = None,
    ) -> None:
        """Deliver events to ``url``, signed with ``secret``.

        Wraps ``POST /_config/webhooks/<name>`` (no auth needed).  Registering
        the same ``name`` again replaces it.  ``events`` restricts delivery to
        those event types (exact names, no wildcards); ``None`` means all.

        Deliveries are ``POST url`` with a JSON event body and a
        ``Stripe-Signature: t=<event.created>,v1=<hex HMAC-SHA256(secret,
        "<t>.<body>")>`` header, about one second after the event is created,
        attempted once (no retries).  ``stripe.Webhook.construct_event``
        verifies them.  Registrations live in server memory only.
        """
        payload: dict = {"url": url, "secret": secret}
        if events is not None:
            payload["events"] = list(events)
        status, body = self.request(
            "POST", f"/_config/webhooks/{urllib.parse.quote(name, safe='')}",
            payload,
        )
        if status != 200:
            raise LocalStripeError(
                f"registering webhook {name!r} failed: HTTP {status} "
                f"{body.decode('utf-8', 'replace')}"
            )

    def disable_webhook(self, name: str) -> None:
        """Stop deliveries to webhook ``name``.

        localstripe has no "delete webhook" route, so this re-registers the
        name with an empty event filter (which matches no event).
        """
        self.register_webhook(name, "http://127.0.0.1:9/", "disabled", events=[])

    def flush(self) -> None:
        """Delete every object (``DELETE /_config/data``); webhooks stay."""
        status, body = self.request("DELETE", "/_config/data")
        if status != 200:
            raise LocalStripeError(f"flush failed: HTTP {status} {body!r}")

    def client(self, **kwargs):
        """A ``stripe.StripeClient`` talking to this server.

        ``max_network_retries`` defaults to 0: stripe-python otherwise retries
        409s and 5xx, and localstripe answers 500 for many unsupported
        parameters, so retries only slow tests down (and may repeat writes).
        """
        import stripe  # lazy: keep this module importable without stripe

        kwargs.setdefault("max_network_retries", 0)
        base_addresses = dict(kwargs.pop("base_addresses", None) or {})
        base_addresses.setdefault("api", self.api_base)
        return stripe.StripeClient(
            kwargs.pop("api_key", self.api_key),
            base_addresses=base_addresses,
            **kwargs,
        )

    def __repr__(self) -> str:
        state = f"running at {self.api_base}" if self.is_running() else "stopped"
        return f"<LocalStripe {state}>"
