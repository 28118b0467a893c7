"""List calls of the sync through stripe-python, paced by the run's limiter, and the
helpers that read the errors they raise.

Network errors and 5xx are retried by stripe-python itself (``max_network_retries``);
429 is retried here after the ``Retry-After`` the API asked for, holding back every
worker meanwhile. Stripe API reference: https://docs.stripe.com/api/pagination,
https://docs.stripe.com/rate-limits.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Generator
from urllib.parse import parse_qs, urlsplit

import stripe

from ..ingest.completion import complete_lists
from ..mirror.services import service_of
from .parents import ParentPages
from .plain import plain_service
from .ratelimit import RateLimiter
from .report import TypeReport

__all__ = ["Fetcher", "Stopped", "is_v2", "next_page_token", "MAX_RATE_LIMIT_RETRIES", "names_param", "retry_after",
           "http_status", "describe", "is_unavailable"]

# How often one request is retried after a 429 before the shard fails.
MAX_RATE_LIMIT_RETRIES = 20


class Stopped(Exception):
    """The run is being stopped (interrupt, or an error in the writer)."""


class Fetcher:
    """List calls through stripe-python, paced by the shared limiter (see the module
    docstring for what is retried where)."""

    def __init__(self, client: stripe.StripeClient, limiter: RateLimiter, page_size: int,
                 stop: threading.Event, workers: int = 1) -> None:
        self.client = client
        self.limiter = limiter
        self.page_size = page_size
        self.stop = stop
        self.workers = workers  # threads of the run
        # Taken by each thread listing a created window or searching for one, so that
        # the lists cut into windows fetch with at most ``workers`` threads in all.
        self.window_slots = threading.BoundedSemaphore(workers)
        self.requests = 0
        self._lock = threading.Lock()
        self._no_limit: set[str] = set()  # services whose server refuses ``limit``
        self._services: dict[str, Any] = {}
        # The page token of the last v2 page each thread fetched (resume_point).
        self._v2_pages = threading.local()
        # Parent lists shared by the run's nested lists (listed once per run and account).
        self.parents = ParentPages()

    def service(self, path: str) -> Any:
        """The list service at ``path``, answering plain dicts where the SDK allows
        (:mod:`.plain`); the SDK's own service, whose objects are read back, otherwise."""
        svc = self._services.get(path)
        if svc is None:
            svc = service_of(self.client, tuple(path.split(".")))
            svc = self._services[path] = plain_service(self.client, svc) or svc
        return svc

    def page(self, path: str, args: tuple, params: dict[str, Any], account: str | None,
             report: TypeReport, limit: int | None = None) -> tuple[list[dict], bool]:
        """One page of ``limit`` objects (default: the page size): (plain objects, has_more)."""
        svc = self.service(path)
        params = dict(params)
        if path not in self._no_limit:
            params["limit"] = limit or self.page_size
        options = {"stripe_account": account} if account else None
        throttled = 0
        while True:
            if self.stop.is_set():
                raise Stopped()
            self.limiter.acquire()
            with self._lock:  # several threads may list windows of one report's list
                self.requests += 1
                report.requests += 1
            try:
                result = svc.list(*args, params=params, options=options)
            except stripe.RateLimitError as error:
                throttled += 1
                if throttled > MAX_RATE_LIMIT_RETRIES:
                    raise
                self.limiter.pause(retry_after(error, throttled))
                continue
            except stripe.InvalidRequestError as error:
                # A server that refuses the page size (localstripe on some nested lists)
                # is asked again without it: it then returns the whole list.
                if "limit" in params and names_param(error, "limit"):
                    self._no_limit.add(path)
                    params.pop("limit")
                    report.note("the server refuses a page size on this list; listed at once")
                    continue
                raise
            if type(result) is dict:
                body = result  # parsed by .plain: plain dicts already
            else:
                body = result.last_response.data if result.last_response is not None else result.to_dict()
            data = body.get("data") or []
            objs = [obj if type(obj) is dict else dict(obj) for obj in data]
            if is_v2(path):
                token = next_page_token(body.get("next_page_url"))
                self._v2_tokens()[path] = token
                return objs, token is not None
            return objs, bool(body.get("has_more"))

    def resume_point(self, path: str, objs: list[dict]) -> str | None:
        """Where a list continues after ``objs``, the last page this thread fetched of
        ``path``: the id of its last object (``starting_after``), or for a v2 list the
        page token of its ``next_page_url`` (v2 lists page by token, not by id). None:
        no point to resume from that fits the cursor (a token longer than its column)."""
        if not is_v2(path):
            return objs[-1].get("id") if objs else None
        token = self._v2_tokens().get(path)
        return token if token is not None and len(token) <= MAX_RESUME_POINT else None

    def _v2_tokens(self) -> dict[str, str | None]:
        """This thread's page token of the last page of each v2 list it fetched."""
        tokens = getattr(self._v2_pages, "tokens", None)
        if tokens is None:
            tokens = self._v2_pages.tokens = {}
        return tokens

    def pages(self, path: str, args: tuple, params: dict[str, Any], account: str | None,
              report: TypeReport, starting_after: str | None = None,
              ) -> Generator[tuple[list[dict], bool, int], None, None]:
        """Every page from ``starting_after`` on: (objects, has_more, stamp)."""
        previous: set[str | None] = set()
        first = True
        v2 = is_v2(path)
        while True:
            query = dict(params)
            if starting_after:
                query["page" if v2 else "starting_after"] = starting_after
            stamp = int(time.time())
            try:
                objs, has_more = self.page(path, args, query, account, report)
            except stripe.InvalidRequestError as error:
                if not (first and starting_after
                        and names_param(error, "page" if v2 else "starting_after")):
                    raise
                # The object a resumed pass stopped after is gone: start the list over
                # (what is stored already comes back unchanged).
                report.note(f"the resume point {starting_after} is gone; listed from the start")
                starting_after = None
                continue
            first = False
            # read before yielding: the caller may list other pages meanwhile
            next_token = self._v2_tokens().get(path) if v2 else None
            ids = {o.get("id") for o in objs}
            if previous & ids:
                # starting_after pointed at an object the server no longer knows, and it
                # began the list again (localstripe does): stop rather than loop.
                raise RuntimeError(f"the server restarted the list after {starting_after!r}")
            yield objs, has_more and bool(objs), stamp
            if not has_more or not objs:
                return
            previous = ids
            starting_after = next_token if v2 else objs[-1].get("id")

    def complete_embedded(self, obj: dict, account: str | None, report: TypeReport) -> None:
        """Replace every embedded list of ``obj`` cut off at ``has_more`` by the whole list."""

        def list_all(path: str, args: tuple, params: dict[str, Any]) -> list[dict]:
            items: list[dict] = []
            for objs, _more, _stamp in self.pages(path, args, params, account, report):
                items.extend(objs)
            return items

        complete_lists(obj, list_all)


# The cursor's ``starting_after`` column holds a resume point of at most this length.
MAX_RESUME_POINT = 255


def is_v2(path: str) -> bool:
    """Whether a service path (``type_table.ListSpec.service``) is a v2 one."""
    return path.startswith("v2.")


def next_page_token(next_page_url: Any) -> str | None:
    """The ``page`` token of a v2 list's ``next_page_url`` (None: the last page). The
    other parameters of that URL are the request's own, sent again with the token."""
    if not next_page_url or not isinstance(next_page_url, str):
        return None
    values = parse_qs(urlsplit(next_page_url).query).get("page")
    if not values:
        raise ValueError(f"a v2 next_page_url without a page token: {next_page_url[:200]!r}")
    return values[0]


def names_param(error: stripe.StripeError, param: str) -> bool:
    """Whether the API's error is about the request parameter ``param``."""
    return getattr(error, "param", None) == param or param in str(getattr(error, "user_message", "") or error)


def retry_after(error: stripe.StripeError, attempt: int) -> float:
    """Seconds to wait after a 429: its ``Retry-After``, else a backoff by ``attempt``."""
    headers = getattr(error, "headers", None) or {}
    value = next((headers[key] for key in ("Retry-After", "retry-after") if key in headers), "")
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return min(0.5 * 2 ** (attempt - 1), 30.0)


def http_status(error: BaseException) -> int | None:
    return getattr(error, "http_status", None)


def describe(error: BaseException) -> str:
    """One line: the error's class, HTTP status and message (never the request)."""
    if isinstance(error, stripe.StripeError):
        message = str(error.user_message or error or "")
        message = message.replace("Invalid response body from API:", "").strip()
        message = message.split("(HTTP response code was")[0].strip()
        message = " ".join(message.split()) or type(error).__name__
        status = error.http_status
        message = message.removeprefix(f"{status}: ") if status else message
        return f"{type(error).__name__} (HTTP {status}): {message}" if status else f"{type(error).__name__}: {message}"
    return f"{type(error).__name__}: {error}"


def is_unavailable(error: BaseException) -> bool:
    """The key may not read this list, or the account/server does not have it."""
    return isinstance(error, stripe.PermissionError) or http_status(error) in (403, 404)
