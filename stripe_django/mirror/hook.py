"""The one place the mirrored client hooks into stripe-python: its HTTP client.

:class:`MirroringHTTPClient` wraps the SDK's own HTTP client. Every successful answer
passes through ``request_with_retries`` (after the SDK's retries, before the SDK turns
it into a ``StripeObject``), so one hook covers every service and method of the SDK,
present and future, with no per-method code. The answer is stored after the HTTP call
has returned: no database transaction is open while the request is in flight.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping
from urllib.parse import urlsplit

import stripe
from django.db import DEFAULT_DB_ALIAS, DatabaseError, router
from django.utils import timezone

from .. import type_table as table
from ..client import new_http_client
from ..conf import stripe_settings
from ..exceptions import IngestError, MirrorError
from ..ingest import UpsertResult, upsert_many
from ..ingest.columns import model_for
from .time_bound import StoreTimeout, time_bound

logger = logging.getLogger("stripe_django.mirror")

__all__ = ["MirroringHTTPClient", "Answer", "capture", "store", "stored_payloads", "is_mirrored"]


@dataclass
class Answer:
    """One API answer as the hook saw it."""

    method: str
    path: str
    payload: Any  # the parsed JSON body
    stamp: dt.datetime  # when it was received
    account: str | None  # the Stripe-Account header of the request
    preview: bool  # an answer that describes an operation, not stored objects
    result: UpsertResult | None = None  # what ingest did (None: nothing to store)
    errors: list[BaseException] = field(default_factory=list)

    @property
    def stored(self) -> bool:
        return self.result is not None and not self.errors


# The answers seen while a ``capture()`` block runs (the row and manager methods use it
# to return the rows their call wrote). A context variable: threads and async tasks
# each see their own.
_captured: contextvars.ContextVar[list[Answer] | None] = contextvars.ContextVar(
    "stripe_django_mirror_captured", default=None)


@contextlib.contextmanager
def capture() -> Iterator[list[Answer]]:
    """Collect the answers the mirrored client receives inside the block."""
    answers: list[Answer] = []
    token = _captured.set(answers)
    try:
        yield answers
    finally:
        _captured.reset(token)


class MirroringHTTPClient(stripe.HTTPClient):
    """An HTTP client for ``stripe.StripeClient`` that stores every answer of a mirrored
    type (through ``stripe_django.sync.upsert_many``) before the SDK returns it."""

    def __init__(self, inner: stripe.HTTPClient | None = None, *,
                 platform_account: str | None = None) -> None:
        super().__init__()
        if inner is None:
            inner = new_http_client()
        self.inner = inner
        # The account that answers sent without a Stripe-Account header belong to: the
        # ACCOUNT of the API_KEYS entry whose key the client uses (None: one platform).
        self.platform_account = platform_account

    @property
    def name(self) -> str:  # type: ignore[override]  # reported in the user agent
        return self.inner.name

    def request_with_retries(self, method, url, headers, post_data=None,
                             max_network_retries=None, *, _usage=None):
        response = self.inner.request_with_retries(method, url, headers, post_data,
                                                   max_network_retries, _usage=_usage)
        received = timezone.now()
        mirror_answer(method, url, headers, response, received, self.platform_account)
        return response

    async def request_with_retries_async(self, method, url, headers, post_data=None,
                                         max_network_retries=None, *, _usage=None):
        from asgiref.sync import sync_to_async

        response = await self.inner.request_with_retries_async(
            method, url, headers, post_data, max_network_retries, _usage=_usage)
        received = timezone.now()
        await sync_to_async(mirror_answer)(method, url, headers, response, received,
                                           self.platform_account)
        return response

    # Streams (PDFs, report files) are not JSON objects: passed through untouched.
    def request_stream_with_retries(self, *args, **kwargs):
        return self.inner.request_stream_with_retries(*args, **kwargs)

    async def request_stream_with_retries_async(self, *args, **kwargs):
        return await self.inner.request_stream_with_retries_async(*args, **kwargs)

    def request(self, *args, **kwargs):
        return self.inner.request(*args, **kwargs)

    def request_stream(self, *args, **kwargs):
        return self.inner.request_stream(*args, **kwargs)

    def close(self) -> None:
        self.inner.close()

    async def close_async(self) -> None:
        await self.inner.close_async()


def mirror_answer(method: str, url: str, headers: Mapping[str, str],
                  response: tuple[Any, int, Mapping[str, str]], received: dt.datetime,
                  platform_account: str | None = None) -> None:
    """Store what a successful answer holds; record it for ``capture()``. Rows are
    tagged with the request's Stripe-Account, else with ``platform_account``."""
    body, status, _ = response
    if not 200 <= status < 300:
        return  # the SDK raises the API error; there is nothing to store
    try:
        payload = json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
    except (TypeError, ValueError):
        return  # not JSON: the SDK reports that itself
    path = urlsplit(url).path
    answer = Answer(method=method, path=path, payload=payload, stamp=received,
                    account=acting_account(headers) or platform_account,
                    preview=path.endswith(table.PREVIEW_PATHS))
    captured = _captured.get()
    if captured is not None:
        captured.append(answer)
    if answer.preview:
        return  # describes what an operation would do: nothing of it exists at Stripe
    if method.lower() == "delete" and path.startswith("/v2/") and _names_only(payload):
        # A v2 deletion answers with the object's id and type alone, without v1's
        # "deleted": true (https://docs.stripe.com/api/v2/core/event_destinations/delete).
        payload = {**payload, "deleted": True}
    payloads = stored_payloads(payload)
    if payloads:
        store(answer, payloads)


def store(answer: Answer, payloads: list[dict[str, Any]]) -> None:
    """Store the objects of an answer with its stamp and account, within
    ``MIRROR_STORE_TIMEOUT``. A failure is logged or raised as ``MIRROR_FAILURES`` says,
    and recorded in ``answer.errors``."""
    seconds = stripe_settings.MIRROR_STORE_TIMEOUT
    started = time.monotonic()
    try:
        with time_bound(_alias(payloads), seconds):
            answer.result = upsert_many(payloads, stamp=answer.stamp, account=answer.account)
        answer.errors = list(answer.result.errors)
    except Exception as error:  # a database failure must not hide the API's answer
        spent = time.monotonic() - started
        answer.errors = [_timed_out(error, seconds, spent)]
    if answer.errors:
        _report(answer, payloads)


def _alias(payloads: list[dict[str, Any]]) -> str:
    """The database the answer's first object is written to."""
    object_type = payloads[0].get("object")
    model = model_for(table.OBJECT_ALIASES.get(object_type, object_type)) if isinstance(
        object_type, str) else None
    return router.db_for_write(model) if model is not None else DEFAULT_DB_ALIAS


def _timed_out(error: Exception, seconds: float | None, spent: float) -> Exception:
    """A database error that ended the store at its time bound (a statement timeout,
    "max_statement_time exceeded", "database is locked" after the busy timeout), said as
    such; the database's own words follow."""
    if seconds is None or isinstance(error, StoreTimeout) or not isinstance(error, DatabaseError):
        return error
    if spent < seconds * 0.9:
        return error  # refused before the time was up: not a hang
    timeout = StoreTimeout(f"storing did not finish within {seconds:g} s: {str(error).strip()}")
    timeout.__cause__ = error
    return timeout


def _report(answer: Answer, payloads: list[dict[str, Any]] | None = None) -> None:
    message = (f"stripe_django: the answer to {answer.method.upper()} {answer.path} was not "
               f"stored in the mirror: {answer.errors[0]}")
    if isinstance(answer.errors[0], StoreTimeout):
        # The change is made at Stripe: say which objects the mirror lacks, and what
        # brings them (never their contents: the log is no place for a client_secret).
        ids = [str(p.get("id")) for p in payloads or () if p.get("id")]
        shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
        message += (f" (MIRROR_STORE_TIMEOUT); not stored: {shown or 'the answer'}. The next "
                    "stripe_sync (its Events API catch-up), the webhook of the change, "
                    "refresh_from_stripe() or upsert_many(MirrorError.payload) stores it")
    if stripe_settings.MIRROR_FAILURES == "raise":
        raise MirrorError(message, payload=answer.payload, errors=answer.errors)
    # A refused payload is explained by its message; a database failure needs its trace.
    first = answer.errors[0]
    logger.error(message, exc_info=None if isinstance(first, IngestError) else first)


def _names_only(payload: Any) -> bool:
    return isinstance(payload, dict) and "id" in payload and payload.keys() <= {"id", "object"}


def acting_account(headers: Mapping[str, str]) -> str | None:
    """The account a request acts on, from its headers: the last segment of
    ``Stripe-Context`` (``acct_platform/acct_connected``; it supersedes the older header,
    https://docs.stripe.com/context), else ``Stripe-Account``; None: the key's own."""
    context = _header(headers, "Stripe-Context")
    if context:
        segments = [part for part in context.split("/") if part]
        if segments:
            return segments[-1]
    return _header(headers, "Stripe-Account")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value or None
    return None


def stored_payloads(data: Any, depth: int = 0) -> list[dict[str, Any]]:
    """The objects of an answer that ingest stores: the answer itself when it is of a
    mirrored type (ingest splits out what it embeds), else the outermost mirrored
    objects inside it (the items of a list or search page, an expanded object inside an
    object that is not mirrored)."""
    if depth > 8:
        return []
    if isinstance(data, list):
        return [found for item in data for found in stored_payloads(item, depth + 1)]
    if not isinstance(data, dict):
        return []
    if is_mirrored(data):
        return [data]
    return [found for value in data.values() if isinstance(value, (dict, list))
            for found in stored_payloads(value, depth + 1)]


def is_mirrored(data: dict[str, Any]) -> bool:
    object_type = data.get("object")
    if not isinstance(object_type, str):
        return False
    object_type = table.OBJECT_ALIASES.get(object_type, object_type)
    if model_for(object_type) is None:
        return False
    object_id = data.get("id")
    if not isinstance(object_id, str) or not object_id:
        return object_type in table.SYNTHETIC_KEYS
    return not object_id.startswith(table.PREVIEW_ID_PREFIXES.get(object_type, ()))
