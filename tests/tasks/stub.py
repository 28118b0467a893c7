"""A stub of the Stripe API for the sync-on-tasks tests: lists of customers and products
per account (Stripe-Account header), connected accounts, no events. Every request is
recorded with its time, path and account, to count requests per second and shards run."""

from __future__ import annotations

import collections
import threading
import time
from urllib.parse import parse_qsl, urlsplit

from stripe_django.testing.stubserver import JSONStubServer

T0 = 1_760_000_000
KINDS = {"customers": ("customer", "cus"), "products": ("product", "prod")}


def make(kind: str, index: int, account: str | None, api_key: str = "") -> dict:
    """Object ``index`` of a list; ids differ by account (by platform key for the
    platform's own objects), as Stripe's ids are unique across accounts."""
    name, prefix = KINDS[kind]
    tag = (account or api_key or "platform")[-6:]
    obj = {"id": f"{prefix}_{tag}{index:06d}", "object": name, "created": T0 - index,
           "livemode": False, "metadata": {}}
    if name == "customer":
        obj.update({"email": f"c{index}@example.com", "name": f"Customer {index}", "balance": 0,
                    "currency": "usd", "delinquent": False, "description": None})
    else:
        obj.update({"name": f"Product {index}", "active": True, "description": None, "images": [],
                    "type": "service", "url": None})
    return obj


class Stub:
    def __init__(self, sizes: dict[str, int], accounts: tuple[str, ...] = (), latency: float = 0.0,
                 throttle: tuple[int, float] | None = None):
        """``throttle=(n, seconds)``: the n-th list request is answered 429 with that
        ``Retry-After`` (``throttled_at``: when)."""
        self.throttle = throttle
        self.on_list = None  # called (path, query) in the server's thread for each list request
        self.throttled_at: float | None = None
        self.sizes = sizes
        self.accounts = accounts
        self.latency = latency
        self.requests: list[tuple[float, str, str | None]] = []
        self.keys: collections.Counter = collections.Counter()  # API key of each request
        self.first_pages: collections.Counter = collections.Counter()  # (path, account)
        self._lock = threading.Lock()
        self._server: JSONStubServer | None = None

    def __enter__(self) -> "Stub":
        self._server = JSONStubServer(lambda request: self.handle(
            request.target, request.headers.get("Stripe-Account"),
            (request.headers.get("Authorization") or "").removeprefix("Bearer "))).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.stop()

    @property
    def api_base(self) -> str:
        return self._server.url

    def handle(self, raw: str, account: str | None, api_key: str = "") -> tuple:
        parts = urlsplit(raw)
        path = parts.path.removeprefix("/v1/")
        query = dict(parse_qsl(parts.query))
        with self._lock:
            if self.throttle and path in KINDS and self.throttled_at is None:
                if sum(1 for _t, p, _a in self.requests if p in KINDS) + 1 == self.throttle[0]:
                    self.throttled_at = time.time()
                    return 429, {"error": {"type": "rate_limit_error", "message": "slow down"}}, {
                        "Retry-After": str(self.throttle[1])}
            self.requests.append((time.time(), path, account))
            self.keys[api_key] += 1
            if "starting_after" not in query and "created[gt]" not in query:
                self.first_pages[(path, account)] += 1
        if self.on_list is not None and path in KINDS:
            self.on_list(path, query)
        if self.latency:
            time.sleep(self.latency)
        if path == "accounts":
            data = [{"id": a, "object": "account", "created": T0, "type": "express",
                     "livemode": False, "metadata": {}} for a in self.accounts]
            return 200, {"object": "list", "data": data, "has_more": False, "url": "/v1/accounts"}
        if path == "events":
            return 200, {"object": "list", "data": [], "has_more": False, "url": "/v1/events"}
        kind, _, object_id = path.partition("/")
        if object_id and kind in KINDS:  # retrieve: the object as the list has it
            obj = make(kind, int(object_id[-6:]), account, api_key)
            obj["id"] = object_id
            return 200, obj
        if path not in KINDS or path not in self.sizes:
            return 404, {"error": {"type": "invalid_request_error",
                                   "message": f"Unrecognized request URL (GET: /v1/{path})"}}
        count = self.sizes[path]
        limit = int(query.get("limit", 10))
        start = 0
        if query.get("starting_after"):
            start = int(query["starting_after"][-6:]) + 1
        end = min(count, start + limit)
        data = [make(path, i, account, api_key) for i in range(start, end)]
        return 200, {"object": "list", "data": data, "has_more": end < count, "url": f"/v1/{path}"}

    def per_second(self, paths=("customers", "products")) -> dict[int, int]:
        """Requests in each whole second since the first (list requests only)."""
        times = sorted(t for t, p, _a in self.requests if p in paths)
        if not times:
            return {}
        counts: collections.Counter = collections.Counter(int(t - times[0]) for t in times)
        return dict(counts)

    def max_in_window(self, window: float = 1.0, paths=("customers", "products")) -> int:
        """The most list requests seen within any ``window`` seconds."""
        times = sorted(t for t, p, _a in self.requests if p in paths)
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while t - times[lo] >= window:
                lo += 1
            best = max(best, hi - lo + 1)
        return best
