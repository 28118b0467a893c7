"""The one local stand-in for the Stripe API at the HTTP boundary, for tests, benchmarks
and demos: the real stripe-python client talks HTTP to it, on 127.0.0.1.

localstripe (:mod:`stripe_django.testing.localstripe`) is the fake Stripe with a state
of its own; this stub is for what localstripe does not serve, and for answers a test
decides: generated lists of any length, the Events API, connected accounts, several
platforms, 429s and failures, and a log of every request::

    with StripeStub({"customers": 250}, accounts=("acct_1A",), rate_limit=5) as stub:
        settings.STRIPE_DJANGO = {..., "API_BASE": stub.api_base}
        sync(["customer"], all_accounts=True)
    stub.throttled          # requests answered 429
    stub.stripe_accounts    # Counter({"acct_1A": requests made for that account})

    stub.answer("POST", "/v1/invoices/in_1/finalize", {...})   # any other call

What it serves (``GET``, unless answered otherwise with :meth:`StripeStub.answer`):

* ``/v1/<kind>`` for each ``lists`` entry: generated objects
  (:mod:`~stripe_django.testing.objects`), newest first, with Stripe's pagination
  (``limit``, ``starting_after``) and ``created[gt|gte|lt|lte]`` filters; per account
  (``Stripe-Account``) and per platform (``platforms``: API key -> its account), each
  with ids of its own. ``/v1/<kind>/<id>`` retrieves; :meth:`StripeStub.change` and
  :meth:`StripeStub.delete` make an object drift at "Stripe" with no event; lists nested in an object
  (``/v1/customers/<id>/sources``) are empty unless :attr:`StripeStub.held` has them.
  A list asked to ``expand[]=data.<field>`` embeds that nested list in each object as
  Stripe does: its first 10 items, ``has_more`` and its ``url``.
* ``/v1/accounts`` (the ``accounts``), ``/v1/account`` (the key's platform),
  ``/v1/events`` (the ``events``, filtered by ``created``, paginated) and
  ``/v1/events/<id>``. An event with an ``account`` (as Connect events carry) is served
  to that connected account only; one without, to every requester.
* v2 lists (``v2_lists``: path -> objects, e.g. ``/v2/core/accounts`` or
  ``/v2/core/accounts/<id>/persons``), paged as v2 lists are: ``limit`` and an opaque
  ``page`` token, ``next_page_url`` (null on the last page), no ``has_more``; and
  ``<path>/<id>`` retrieves one of them (a path in ``v2_lists`` is served from there
  before the in-memory destinations below).
* ``/v2/core/events/<id>``: the full v2 events of ``v2_events`` (what a thin event
  notification's ``fetch_event()`` reads), and ``/v2/core/events``: those events listed
  newest first, filtered by ``created[gt|gte|lt|lte]`` (RFC 3339) and ``object_id``,
  paged as a v2 list; the objects a notification's
  ``related_object.url`` names are answered with :meth:`StripeStub.answer`.
* ``/v1/webhook_endpoints`` and ``/v2/core/event_destinations``: listed, created and
  updated in memory (:attr:`StripeStub.destinations`,
  :class:`~stripe_django.testing.destinations.Destinations`).
* Anything else: 404, as Stripe answers an unknown URL or object; or, with
  ``empty_lists``, an empty list (an account where every other list is empty).

Each request is answered after ``latency``; beyond ``rate_limit`` requests per second
(or at the ``throttle_request``-th list request) with 429 and ``Retry-After``; then with
an injected failure (``fail``: list -> status; every request after ``fail_after``: 500),
an answer given with :meth:`~StripeStub.answer`, or what is served above.
"""

from __future__ import annotations

import bisect
import collections
import contextlib
import datetime
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence
from urllib.parse import urlencode

from ._http import JSONServer, Reply, StubRequest
from .destinations import Destinations
from .objects import KINDS, PLATFORM_ACCOUNT, account_object, created_of, index_of, make_object

__all__ = ["StripeStub", "StubRequest", "stub_process"]

# Shaped as Stripe's answer to a request over its rate limit.
RATE_LIMITED = {"error": {"type": "invalid_request_error", "code": "rate_limit",
                          "message": "Request rate limit exceeded (the stub's rate_limit)."}}
# Items of an expanded list embedded in an object (a customer's ``tax_ids``): Stripe's
# embedded lists hold the first 10, with ``has_more`` and the list's URL for the rest.
EMBEDDED_ITEMS = 10
INJECTED = {"error": {"type": "api_error", "message": "injected failure"}}
_NO_HEADERS: Mapping[str, str] = {}

#: A payload given to :meth:`StripeStub.answer`: JSON, or a function of the request
#: (called in the server's thread) returning the JSON, or ``(status, JSON)``, or
#: ``(status, JSON, headers)`` when the answer depends on the request.
Payload = Any | Callable[[StubRequest], Any]


@dataclass(frozen=True)
class _Answer:
    status: int
    payload: Payload
    headers: Mapping[str, str]

    def reply(self, request: StubRequest) -> Reply:
        if not callable(self.payload):
            return self.status, self.payload, self.headers
        made = self.payload(request)
        if isinstance(made, tuple):
            status, payload, *headers = made
            return status, payload, headers[0] if headers else self.headers
        return self.status, made, self.headers


class StripeStub:
    """A Stripe API stand-in on ``127.0.0.1:<free port>``; start it with ``with`` (or
    :meth:`start`, then :meth:`stop`).

    ``lists``: list path (a key of :data:`~stripe_django.testing.objects.KINDS`) ->
    number of objects. ``seconds_apart``: their ``created`` are that many seconds apart
    (default: ten to a second). ``accounts``: the connected accounts. ``platforms``: API
    key -> the platform account it belongs to (its objects then have ids of their own);
    any other key is the default platform's. ``events``: served by the Events API, newest
    first. ``latency``: seconds added to every request. ``rate_limit``: requests per
    second let through (a token bucket of that size); ``throttle_request``: the n-th
    request for a generated list is refused once; both answer 429 with ``Retry-After:
    retry_after``. ``fail``: list path -> status of every request for it; ``fail_after``:
    requests answered before every later one gets a 500 (an outage in the middle of a
    run). ``prerender``: make the default platform's pages of 100 before serving, so that
    serving one costs next to nothing (for benchmarks). ``empty_lists``: any other ``GET``
    is answered with an empty list rather than a 404. :attr:`held`: objects of any
    other list a test puts in one account (``held[(account, "shipping_rates")]``, None
    for the platform), served newest first with ``created`` filters and paging.

    ``events``, ``fail``, ``fail_after`` and :attr:`on_request` may be changed while it
    runs. What it saw: :attr:`requests` (every request let through, answered or failed),
    :attr:`throttled`, :attr:`throttled_at`, and the counts below.
    """

    def __init__(self, lists: Mapping[str, int] | None = None, *, seconds_apart: int = 0,
                 accounts: Sequence[str] = (), platforms: Mapping[str, str] | None = None,
                 events: Iterable[dict[str, Any]] = (), latency: float = 0.0,
                 rate_limit: float | None = None, throttle_request: int | None = None,
                 retry_after: str = "1", fail: Mapping[str, int] | None = None,
                 fail_after: int | None = None, prerender: bool = False,
                 v2_lists: Mapping[str, Sequence[dict[str, Any]]] | None = None,
                 v2_events: Iterable[dict[str, Any]] = (),
                 empty_lists: bool = False) -> None:
        unknown = set(lists or ()) - set(KINDS)
        if unknown:
            raise ValueError(f"the stub generates no {sorted(unknown)} (it does {sorted(KINDS)}); "
                             "answer other paths with answer()")
        self.lists = dict(lists or {})
        self.seconds_apart = seconds_apart
        self.accounts = tuple(accounts)
        self.platforms = dict(platforms or {})
        self.events = list(events)
        self.v2_lists = {path: list(objects) for path, objects in (v2_lists or {}).items()}
        #: Full v2 events by id (``GET /v2/core/events/<id>``); may be changed while it runs.
        self.v2_events: dict[str, dict[str, Any]] = {e["id"]: e for e in v2_events}
        #: Webhook endpoints and event destinations, kept as Stripe keeps them.
        self.destinations = Destinations()
        self.latency = latency
        self.rate_limit = rate_limit
        self.throttle_request = throttle_request
        self.retry_after = retry_after
        self.fail = dict(fail or {})
        self.fail_after = fail_after
        self.empty_lists = empty_lists
        #: Called with each request let through, in the server's thread, before it is
        #: answered (a test's moment to act "while Stripe is being called").
        self.on_request: Callable[[StubRequest], None] | None = None
        self.requests: list[StubRequest] = []
        self.throttled = 0  # requests answered 429
        self.throttled_at: float | None = None  # when ``throttle_request`` was refused
        self._answers: dict[tuple[str, str], _Answer] = {}
        self._list_requests = 0
        self._lock = threading.Lock()
        self._tokens = float(rate_limit or 0)
        self._refilled = time.monotonic()
        # (list path, starting_after) -> a page of 100 of the default platform, encoded
        self._pages: dict[tuple[str, str], bytes] = {}
        # Drift made at "Stripe" with no event (:meth:`change`, :meth:`delete`).
        self._changed: dict[str, dict[str, Any]] = {}
        #: (connected account or None, list path) -> objects served by that list in that
        #: account, newest first; may be changed while it runs.
        self.held: dict[tuple[str | None, str], list[dict[str, Any]]] = {}
        self._deleted: set[str] = set()
        if prerender:
            self._prerender()
        self._server: JSONServer | None = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> "StripeStub":
        self._server = JSONServer(self._respond).start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port. Idempotent."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> "StripeStub":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def api_base(self) -> str:
        """``http://127.0.0.1:PORT``: the ``API_BASE`` that points at this stub."""
        if self._server is None:
            raise RuntimeError("the stub is not started")
        return f"http://127.0.0.1:{self._server.port}"

    # -- answers a test gives --------------------------------------------------------
    def answer(self, method: str, path: str, payload: Payload, status: int = 200,
               headers: Mapping[str, str] | None = None) -> Payload:
        """Answer ``method path`` (``"/v1/..."``, whatever the query string) with
        ``payload`` from now on; returns ``payload``."""
        self._answers[(method.upper(), path)] = _Answer(status, payload, dict(headers or {}))
        return payload

    def change(self, object_id: str, **fields: Any) -> None:
        """Serve generated object ``object_id`` with ``fields`` set, in lists and when
        retrieved, as if it had been updated at Stripe without an event."""
        self._changed.setdefault(object_id, {}).update(fields)

    def delete(self, object_id: str) -> None:
        """Leave generated object ``object_id`` out of its list and answer 404 when it is
        retrieved, as if it had been deleted at Stripe without an event."""
        self._deleted.add(object_id)

    def _served(self, obj: dict[str, Any]) -> dict[str, Any]:
        changed = self._changed.get(obj["id"])
        return {**obj, **changed} if changed else obj

    # -- what it saw -----------------------------------------------------------------
    @property
    def served(self) -> int:
        """Requests let through (not refused with a 429)."""
        return len(self.requests)

    @property
    def first_at(self) -> float | None:
        """``time.monotonic()`` of the first request let through."""
        return min((r.at for r in self.requests), default=None)

    @property
    def last_at(self) -> float | None:
        return max((r.at for r in self.requests), default=None)

    @property
    def stripe_accounts(self) -> collections.Counter[str]:
        """Requests per connected account (``Stripe-Account``, the platform's own aside)."""
        return collections.Counter(a for r in self.requests if (a := self._connected(r)))

    @property
    def api_keys(self) -> collections.Counter[str]:
        """Requests per API key."""
        return collections.Counter(r.api_key for r in self.requests)

    @property
    def first_pages(self) -> collections.Counter[tuple[str, str | None]]:
        """(path under /v1/, connected account) -> requests that start a listing (no
        ``starting_after``, no ``created[gt]``): a list read twice from its start shows."""
        return collections.Counter(
            (r.resource, self._connected(r)) for r in self.requests
            if "starting_after" not in r.query and "created[gt]" not in r.query)

    def per_second(self, paths: Iterable[str] = ("customers", "products")) -> dict[int, int]:
        """Requests for ``paths`` in each whole second since the first of them."""
        times = self._times(paths)
        return dict(collections.Counter(int(t - times[0]) for t in times)) if times else {}

    def max_in_window(self, window: float = 1.0, paths: Iterable[str] = ("customers", "products")) -> int:
        """The most requests for ``paths`` within any ``window`` seconds."""
        times = self._times(paths)
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while t - times[lo] >= window:
                lo += 1
            best = max(best, hi - lo + 1)
        return best

    def _times(self, paths: Iterable[str]) -> list[float]:
        wanted = set(paths)
        return sorted(r.at for r in self.requests if r.resource in wanted)

    # -- answering -------------------------------------------------------------------
    def _respond(self, request: StubRequest) -> Reply:
        if self.latency:
            time.sleep(self.latency)
        with self._lock:
            if not self._admit(request):
                self.throttled += 1
                return 429, RATE_LIMITED, {"Retry-After": self.retry_after}
            self.requests.append(request)
            outage = self.fail_after is not None and len(self.requests) > self.fail_after
        if self.on_request is not None:
            self.on_request(request)
        status = self.fail.get(request.resource) or (500 if outage else None)
        if status:
            return status, INJECTED, _NO_HEADERS
        answer = self._answers.get((request.method, request.path))
        if answer is not None:
            return answer.reply(request)
        if request.method == "GET" and self._serves_v2_list(request.path):
            return self._read_v2(request)
        if self.destinations.handles(request):
            return self.destinations.respond(request)
        if request.method == "GET":
            return self._read(request)
        return self._missing(request)

    def _admit(self, request: StubRequest) -> bool:
        """Whether the request is let through (under the lock)."""
        if request.method == "GET" and request.resource in self.lists:
            self._list_requests += 1
            if self._list_requests == self.throttle_request:
                self.throttled_at = request.at
                return False
        if not self.rate_limit:
            return True
        now = time.monotonic()
        self._tokens = min(self.rate_limit, self._tokens + (now - self._refilled) * self.rate_limit)
        self._refilled = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    def _platform(self, request: StubRequest) -> str:
        return self.platforms.get(request.api_key, PLATFORM_ACCOUNT)

    def _connected(self, request: StubRequest) -> str | None:
        """The connected account the request acts for (None: its platform itself)."""
        account = request.header("Stripe-Account")
        return account if account and account != self._platform(request) else None

    def _owner(self, request: StubRequest) -> str | None:
        """Whose objects the request reads: None for the default platform's."""
        return self._connected(request) or self.platforms.get(request.api_key)

    def _read(self, request: StubRequest) -> Reply:
        path, params = request.resource, request.params
        if request.path == "/v2/core/events":
            return self._v2_event_list(request)
        if path.startswith("/v2/core/events/"):
            found = self.v2_events.get(path.removeprefix("/v2/core/events/"))
            return (200, found, _NO_HEADERS) if found else self._missing(request)
        if path == "accounts":
            return self._page([account_object(a) for a in self.accounts], params, path)
        if path == "account":
            return 200, account_object(self._platform(request), platform=True), _NO_HEADERS
        if path == "events":
            connected = self._connected(request)
            return self._page([e for e in self.events if _created_ok(e["created"], params)
                               and e.get("account") in (None, connected)], params, path)
        held = self.held.get((self._connected(request), path))
        if held is not None:
            return self._embed(request, self._page([o for o in held if _created_ok(o["created"], params)],
                                                   params, path))
        kind, _, rest = path.partition("/")
        if kind == "events" and rest:
            found = next((e for e in self.events if e["id"] == rest), None)
            return (200, found, _NO_HEADERS) if found else self._missing(request)
        if kind not in self.lists:
            if self.empty_lists:
                return 200, _list_page([], False, f"/v1/{path}"), _NO_HEADERS
            return self._missing(request)
        if not rest:
            return self._embed(request, self._list(kind, params, self._owner(request)))
        object_id, _, nested = rest.partition("/")
        if nested:  # a list nested in one object (a customer's sources): none here
            return 200, _list_page([], False, f"/v1/{path}"), _NO_HEADERS
        index = index_of(object_id)
        if index is None or object_id in self._deleted:
            return self._missing(request)
        # The object the list would have at that index, under the id asked for (a test
        # may fetch an object by the id its own event names).
        return 200, self._served({**make_object(kind, index, self._owner(request), self.seconds_apart),
                                  "id": object_id}), _NO_HEADERS

    def _embed(self, request: StubRequest, reply: Reply) -> Reply:
        """A list answer with the lists its request expands (``expand[]=data.<field>``)
        embedded in each object, as Stripe embeds an includable list: its first
        ``EMBEDDED_ITEMS`` items, ``has_more`` and the list's own ``url``. The lists
        nested in an object are those of :attr:`held` (``customers/<id>/tax_ids``), else
        empty."""
        fields = [value.removeprefix("data.") for key, values in request.query.items()
                  if key.startswith("expand") for value in values if value.startswith("data.")]
        status, body, headers = reply
        if not fields or status != 200 or not isinstance(body, dict):
            return reply
        account = self._connected(request)

        def embedded(obj: dict[str, Any]) -> dict[str, Any]:
            # a copy: the page's objects may be the ones the stub holds (``held``), which
            # a plain listing must go on serving without the embedded lists
            out = dict(obj)
            for field in fields:
                nested = f"{request.resource}/{obj['id']}/{field}"
                items = self.held.get((account, nested), [])
                out[field] = _list_page(items[:EMBEDDED_ITEMS], len(items) > EMBEDDED_ITEMS, f"/v1/{nested}")
            return out

        return status, {**body, "data": [embedded(obj) for obj in body.get("data", ())]}, headers

    def _serves_v2_list(self, path: str) -> bool:
        """Whether ``path`` is one of ``v2_lists`` or an object of one."""
        return path in self.v2_lists or path.rpartition("/")[0] in self.v2_lists

    def _v2_event_list(self, request: StubRequest) -> Reply:
        """A page of the v2 events (https://docs.stripe.com/api/v2/core/events/list)."""
        params = request.params
        bounds = {op: _rfc3339(params[f"created[{op}]"]) for op in ("gt", "gte", "lt", "lte")
                  if f"created[{op}]" in params}
        tests = {"gt": lambda a, b: a > b, "gte": lambda a, b: a >= b,
                 "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b}
        wanted = params.get("object_id")
        events = [e for e in self.v2_events.values()
                  if all(tests[op](_rfc3339(e["created"]), bound) for op, bound in bounds.items())
                  and (wanted is None or (e.get("related_object") or {}).get("id") == wanted)]
        events.sort(key=lambda e: _rfc3339(e["created"]), reverse=True)
        return self._read_v2(request, events)

    def _read_v2(self, request: StubRequest,
                 listed: list[dict[str, Any]] | None = None) -> Reply:
        """A page of a v2 list (``listed``, else the one at the request's path), or one
        object of it (https://docs.stripe.com/api/v2)."""
        objects = listed if listed is not None else self.v2_lists.get(request.path)
        if objects is None:
            parent, _, object_id = request.path.rpartition("/")
            found = next((o for o in self.v2_lists.get(parent, ()) if o.get("id") == object_id), None)
            if found is None:
                return 404, {"error": {"type": "not_found", "code": "not_found",
                                       "message": f"No such object: {object_id}"}}, _NO_HEADERS
            return 200, found, _NO_HEADERS
        params = request.params
        token = params.get("page")
        start = _V2_PAGES.get(token, -1) if token else 0
        if start < 0:
            return 400, {"error": {"type": "invalid_request_error", "code": "invalid_page",
                                   "param": "page", "message": "Invalid page token."}}, _NO_HEADERS
        end = start + min(int(params.get("limit", 20)), 100)
        next_url = None
        if end < len(objects):
            query = {k: v for k, v in params.items() if k != "page"}
            next_url = f"{request.path}?{urlencode({**query, 'page': _v2_token(end)})}"
        return 200, {"data": objects[start:end], "next_page_url": next_url,
                     "previous_page_url": None}, _NO_HEADERS

    def _list(self, kind: str, params: dict[str, str], owner: str | None) -> Reply:
        count = self.lists[kind]
        after = params.get("starting_after", "")
        if owner is None and self._pages and not (self._changed or self._deleted):
            page = self._pages.get((kind, after))
            if page is not None and _plain_page_of_100(params):
                return 200, page, _NO_HEADERS
        limit = min(int(params.get("limit", 10)), 100)
        # Indexes are newest first: ``created`` decreases as the index grows.
        created = lambda i: -created_of(i, self.seconds_apart)  # noqa: E731 - increasing with i
        lo, hi = 0, count
        for op in ("gt", "gte", "lt", "lte"):
            if f"created[{op}]" not in params:
                continue
            value = int(params[f"created[{op}]"])
            if op in ("gt", "gte"):
                bound = value + 1 if op == "gt" else value
                hi = min(hi, bisect.bisect_right(range(count), -bound, key=created))
            else:
                bound = value - 1 if op == "lt" else value
                lo = max(lo, bisect.bisect_left(range(count), -bound, key=created))
        if after:
            index = index_of(after)
            if index is None or index >= count:
                return 400, _no_such(after, "starting_after"), _NO_HEADERS
            lo = max(lo, index + 1)
        end = min(hi, lo + limit)
        data = [self._served(o) for o in (make_object(kind, i, owner, self.seconds_apart)
                                          for i in range(lo, end)) if o["id"] not in self._deleted]
        return 200, _list_page(data, end < hi, f"/v1/{kind}"), _NO_HEADERS

    def _page(self, objects: list[dict[str, Any]], params: dict[str, str], path: str) -> Reply:
        """A page of a list held in memory, with Stripe's ``limit`` and ``starting_after``."""
        start = 0
        after = params.get("starting_after")
        if after:
            ids = [o["id"] for o in objects]
            if after not in ids:
                return 400, _no_such(after, "starting_after"), _NO_HEADERS
            start = ids.index(after) + 1
        end = start + min(int(params.get("limit", 10)), 100)
        return 200, _list_page(objects[start:end], end < len(objects), f"/v1/{path}"), _NO_HEADERS

    @staticmethod
    def _missing(request: StubRequest) -> Reply:
        parts = request.resource.split("/")
        if request.method == "GET" and len(parts) == 2 and parts[1]:
            return 404, _no_such(parts[1]), _NO_HEADERS
        if request.method == "GET" and request.path.startswith("/v2/") and len(parts) > 4:
            return 404, {"error": {"type": "not_found", "code": "not_found",
                                   "message": f"No such object: '{parts[-1]}'"}}, _NO_HEADERS
        return 404, {"error": {"type": "invalid_request_error", "message":
                               f"Unrecognized request URL ({request.method}: {request.path})"}}, _NO_HEADERS

    def _prerender(self) -> None:
        for kind in self.lists:
            after = ""
            while True:
                _, body, _ = self._list(kind, {"limit": "100", "starting_after": after}, None)
                self._pages[(kind, after)] = json.dumps(body).encode()
                if not body["has_more"]:
                    break
                after = body["data"][-1]["id"]

    def __repr__(self) -> str:
        state = f"at {self.api_base}" if self._server else "stopped"
        return f"<StripeStub {state}, lists {self.lists}>"


# Opaque page tokens of the v2 lists (the offset they stand for), as Stripe's are opaque.
_V2_PAGES: dict[str, int] = {}


def _v2_token(offset: int) -> str:
    token = "page_" + hashlib.sha256(f"v2 page {offset}".encode()).hexdigest()[:24]
    _V2_PAGES[token] = offset
    return token


def _rfc3339(value: str) -> datetime.datetime:
    """A v2 time (``2024-10-22T16:20:09.931Z``) to compare with another."""
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _created_ok(value: int, params: dict[str, str]) -> bool:
    checks = {"created[gt]": lambda b: value > b, "created[gte]": lambda b: value >= b,
              "created[lt]": lambda b: value < b, "created[lte]": lambda b: value <= b}
    return all(check(int(params[key])) for key, check in checks.items() if key in params)


def _plain_page_of_100(params: dict[str, str]) -> bool:
    """Whether a request asks for what a pre-rendered page holds: 100 objects after a
    cursor, no filter (``expand`` is left out: the benchmarks that pre-render serve
    customers without nested lists, and a pre-rendered page embeds none)."""
    rest = {k for k in params if not k.startswith("expand")} - {"starting_after", "limit"}
    return params.get("limit") == "100" and not rest


def _list_page(data: list[dict[str, Any]], has_more: bool, url: str) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def _no_such(object_id: str, param: str | None = None) -> dict[str, Any]:
    error = {"type": "invalid_request_error", "code": "resource_missing",
             "message": f"No such object: '{object_id}'"}
    return {"error": {**error, "param": param} if param else error}


# -- a stub in a process of its own --------------------------------------------------

@contextlib.contextmanager
def stub_process(lists: Mapping[str, int]) -> Iterator[str]:
    """A :class:`StripeStub` with pre-rendered pages in a process of its own (its work
    and memory are then not the measured process's); yields its API base URL. The
    process ends when the block does (or when this process dies: it reads its stdin
    until the end)."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    child = subprocess.Popen(
        [sys.executable, "-m", "stripe_django.testing.stripe_stub",
         *(f"{kind}={count}" for kind, count in lists.items())],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=path))
    try:
        line = child.stdout.readline() if child.stdout else ""
        if not line.startswith("PORT "):
            raise RuntimeError(f"the stub did not start (exit code {child.wait()})")
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        if child.stdin:
            child.stdin.close()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout:
            child.stdout.close()


def _serve(args: list[str]) -> None:
    lists = {kind: int(count) for kind, count in (arg.split("=") for arg in args)}
    with StripeStub(lists, prerender=True) as stub:
        print(f"PORT {stub.api_base.rsplit(':', 1)[1]}", flush=True)
        sys.stdin.read()  # the parent closes it (or dies): stop


if __name__ == "__main__":
    _serve(sys.argv[1:])
