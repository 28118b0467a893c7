"""The v2 events catch-up of a sync run: after an account's v1 Events API catch-up, the
v2 events (``GET /v2/core/events``) created since its own cursor, oldest first, each
stored and processed as a thin event notification is (:mod:`..webhooks.thin`): the
event row first, then its related object fetched and applied. Stripe API reference:
https://docs.stripe.com/api/v2/core/events/list.

The cursor is a ``SyncCursor`` whose ``object_type`` is ``v2.core.event``; its
``starting_after`` holds an RFC 3339 time (v2 times have sub-second precision, which
the cursor's Unix-seconds columns would lose; ``events_after`` has it in seconds). It
moves to the ``created`` of each event handled, so a run stopped anywhere (even by
kill -9) resumes there, and at the end of a run to the run's (exclusive) end, before
which every event was read. A run asks for ``created >= cursor``: an event created in
the same instant as the last one handled is not lost, and the one handled already is
found processed, so nothing is done with it again (no API call). An event whose processing
fails stays stored and failed, retried by ``manage.py stripe_process_events``.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Iterator

import stripe
from django.db import DatabaseError
from django.utils import timezone

from .. import type_table as table
from ..dberrors import retrying
from ..ingest import to_plain
from ..webhooks.processing import DUPLICATE, FAILED, process_event, store_event
from .fetcher import describe, http_status, is_unavailable
from .report import FAILED as REPORT_FAILED
from .report import OK, UNAVAILABLE, SyncReport, TypeReport

__all__ = ["V2_CHANGES", "V2_EVENTS_CURSOR", "catch_up_v2_events", "list_v2_events", "rfc3339"]

#: The name of the v2 events catch-up in the sync report.
V2_CHANGES = "v2 changes"
#: The ``object_type`` of its cursor.
V2_EVENTS_CURSOR = "v2.core.event"
# Events of one page of the list.
_PAGE = 100


def rfc3339(value: dt.datetime | int) -> str:
    """A time as the v2 API writes it (UTC, milliseconds, ``Z``)."""
    when = (value if isinstance(value, dt.datetime)
            else dt.datetime.fromtimestamp(int(value), tz=dt.timezone.utc))
    if timezone.is_naive(when):
        when = timezone.make_aware(when, dt.timezone.utc)
    return when.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def list_v2_events(client: stripe.StripeClient, *, created: dict[str, str],
                   account: str | None = None, types: list[str] | None = None,
                   ) -> Iterator[list[dict[str, Any]]]:
    """Pages of v2 events (plain dicts as Stripe sent them) created within ``created``
    (``{"gte": rfc3339(...)}``...), in the API's order (newest first). ``account``: a
    connected account, named by the ``Stripe-Context`` header as v2 requests name it."""
    params: dict[str, Any] = {"created": created, "limit": _PAGE}
    if types:
        params["types"] = list(types)
    options: dict[str, Any] = {"stripe_context": account} if account else {}
    page = client.v2.core.events.list(params=params, options=options)  # type: ignore[arg-type]
    body = _as_sent(page)
    while True:
        data = [e for e in body.get("data") or [] if isinstance(e, dict)]
        if data:
            yield data
        next_page_url = body.get("next_page_url")
        if not next_page_url:
            return
        # The URL carries the request's parameters and the page token; the context is
        # sent again (a header, not a parameter).
        answer = client.raw_request("get", next_page_url, **options)
        body = answer.data if isinstance(answer.data, dict) else {}


def _as_sent(page: Any) -> dict[str, Any]:
    """A page's JSON as Stripe sent it (the SDK turns v2 decimal strings into
    ``Decimal`` when it builds its objects; ingest stores what Stripe wrote)."""
    response = getattr(page, "last_response", None)
    data = getattr(response, "data", None)
    if isinstance(data, dict):
        return data
    plain = to_plain(page)
    return plain if isinstance(plain, dict) else {}


def _created(event: dict[str, Any]) -> dt.datetime:
    """An event's ``created`` (the earliest time when it has none: it is refused)."""
    from ..webhooks.thin import created_of

    return created_of(event) or dt.datetime.min.replace(tzinfo=dt.timezone.utc)


def catch_up_v2_events(client: stripe.StripeClient, account: str | None, report: SyncReport, *,
                       db: str, livemode: bool, platform: str | None,
                       key: str | None = None) -> TypeReport:
    """Store and process the v2 events of ``account`` (None: the platform) since its
    cursor; its line is added to ``report``. On its first run the cursor starts as far
    back as the Events API keeps events (``type_table.EVENTS_RETENTION_DAYS``). A key
    that may not read v2 events (403, 404) makes the line ``unavailable``."""
    from ..models import SyncCursor

    line = TypeReport(V2_CHANGES, account, mode="events")
    report.types.append(line)
    line.started = time.monotonic()
    try:
        cursor, _ = retrying(lambda: SyncCursor._default_manager.using(db).get_or_create(
            account=account or platform or "", livemode=livemode, object_type=V2_EVENTS_CURSOR),
            using=db)
    except DatabaseError as error:
        line.status = REPORT_FAILED
        line.errors.append(f"its sync cursor could not be read or created: {describe(error)}")
        line.finished = time.monotonic()
        return line
    now = timezone.now()
    horizon = now - dt.timedelta(days=table.EVENTS_RETENTION_DAYS)
    if cursor.events_after is not None and cursor.events_after < horizon.timestamp():
        line.note("the cursor is older than Stripe keeps events: v2 events between them may "
                  "be missing (stripe_sync lists the v2 objects for their current state)")
    since = cursor.starting_after or rfc3339(horizon)
    # Exclusive end: an event of the current instant waits for the next run, when the
    # list holds all of that instant's events.
    until_time = now.replace(microsecond=now.microsecond // 1000 * 1000)
    until = rfc3339(until_time)
    events: list[dict[str, Any]] = []
    try:
        for page in list_v2_events(client, created={"gte": since, "lt": until}, account=account):
            line.requests += 1
            events.extend(page)
    except stripe.StripeError as error:
        line.status = UNAVAILABLE if is_unavailable(error) else REPORT_FAILED
        line.http_status = http_status(error)
        line.errors.append(describe(error))
        cursor.last_error = describe(error)
        cursor.save(update_fields=["last_error"])
        if line.status == UNAVAILABLE:
            line.note("this key may not read v2 events (GET /v2/core/events); v2 changes "
                      "come only from thin event destinations")
        line.finished = time.monotonic()
        return line
    applied = 0
    newest: dt.datetime | None = None
    # Oldest first, as Stripe created them (the list is newest first: reversed, then a
    # stable sort keeps the list's order within one instant).
    for event in sorted(reversed(events), key=_created):
        line.fetched += 1
        # The webhook path's own store-then-process: one that cannot be a row as it is
        # is kept as text and marked failed (nothing lost), with the reason.
        stored = store_event(event, endpoint=None, using=db, key=key)
        if not stored.usable:
            line.failed += 1
            line.errors.append(f"{stored.key}: {stored.problem}")
        else:
            outcome = process_event(stored.key, payload=event, using=db, client=client, key=key)
            if outcome.status == FAILED:
                line.failed += 1
                line.errors.append(f"{event['id']}: {outcome.error}")
            elif outcome.status == DUPLICATE:
                line.unchanged += 1
            else:
                applied += 1
                line.updated += len(outcome.stored or ())
        # Handled (processed, or stored and failed for stripe_process_events): the
        # cursor moves past it.
        if newest is None or _created(event) > newest:
            newest = _created(event)
            # Milliseconds, as Stripe writes them: the next ``gte`` never skips an event.
            cursor.starting_after = rfc3339(newest.replace(microsecond=newest.microsecond
                                                           // 1000 * 1000))
            cursor.events_after = int(newest.timestamp())
        cursor.last_synced_at = timezone.now()
        cursor.save(update_fields=["starting_after", "events_after", "last_synced_at"])
    # Every event created before ``until`` is read: the next run starts there.
    cursor.starting_after = until
    cursor.events_after = int(until_time.timestamp())
    cursor.complete = True
    cursor.last_error = ""
    cursor.last_synced_at = timezone.now()
    cursor.save(update_fields=["starting_after", "events_after", "complete", "last_error",
                               "last_synced_at"])
    line.status = OK
    line.note(f"{applied:,} v2 event(s) applied")
    line.finished = time.monotonic()
    return line
