"""Catching up: retry failed events, replay a time range, sweep for undelivered events.

A replay and a sweep read the v1 Events API and the v2 one (``GET /v2/core/events``,
whose events are stored and processed as thin notifications are); a key that may not
read v2 events is noted in ``Tally.v2_unavailable``, the v1 events are still caught up.

Used by ``manage.py stripe_process_events``; each function returns a :class:`Tally`.
Events fetched from the Events API are stored like delivered ones (with a null
``webhook_endpoint``) and processed the same way, so the result does not depend on
whether an event arrived by webhook, by replay or not at all until the sweep.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import stripe
from django.db import router
from django.db.models import Q
from django.utils import timezone

from ..client import get_client
from ..conf import api_key_for, key_for_platform_account, stripe_settings
from ..ingest import to_plain
from ..models import Event
from ..models.processing import ProcessingStatus
from .processing import DUPLICATE, FAILED, Outcome, process_event, store_event

logger = logging.getLogger("stripe_django.webhooks")

__all__ = ["Tally", "retry_failed", "replay", "replay_events", "sweep", "list_events",
           "list_all_v2_events"]

# A pending event older than this was abandoned (its process died mid-way).
DEFAULT_PENDING_AFTER = dt.timedelta(minutes=5)


@dataclass
class Tally:
    seen: int = 0  # events considered
    fetched: int = 0  # events read from the Events API
    missing: int = 0  # of those, events that were not stored, or not processed
    processed: int = 0
    skipped: int = 0  # processed before: nothing done
    failed: int = 0
    failures: list[Outcome] = field(default_factory=list)
    given_up: int = 0  # failed events past EVENT_MAX_ATTEMPTS, no longer retried
    kept_as_text: int = 0  # failed events stored as text, which only a replay can bring
    # Why the v2 events could not be read ("": they were, or were not asked for)
    v2_unavailable: str = ""

    def count(self, outcome: Outcome) -> None:
        self.seen += 1
        if outcome.status == FAILED:
            self.failed += 1
            self.failures.append(outcome)
        elif outcome.status == DUPLICATE:
            self.skipped += 1
        else:
            self.processed += 1


def retry_failed(*, pending_after: dt.timedelta | None = DEFAULT_PENDING_AFTER,
                 limit: int | None = None, using: str | None = None, client: Any = None,
                 max_attempts: int | None = None) -> Tally:
    """Process again every failed event that has had fewer than ``max_attempts``
    (default ``STRIPE_DJANGO["EVENT_MAX_ATTEMPTS"]``) attempts, and pending events
    received more than ``pending_after`` ago (None: failed ones only), oldest first.
    ``Tally.given_up`` counts the failed events past the limit, ``Tally.kept_as_text``
    those stored as text, which only :func:`replay` can bring."""
    alias = using or router.db_for_write(Event)
    max_attempts = max_attempts or stripe_settings.EVENT_MAX_ATTEMPTS
    # An event kept as text (it could not be a row as received) has no ``data`` to
    # process: only a replay from the Events API (``replay``) can bring it.
    failed = Q(processing_status=ProcessingStatus.FAILED, data__isnull=False)
    condition = failed & Q(processing_attempts__lt=max_attempts)
    if pending_after is not None:
        condition |= Q(processing_status=ProcessingStatus.PENDING,
                       received_at__lt=timezone.now() - pending_after)
    ids = (Event._default_manager.using(alias).filter(condition)
           .order_by("created", "id").values_list("id", flat=True))
    if limit is not None:
        ids = ids[:limit]
    tally = Tally()
    for event_id in list(ids):
        tally.count(process_event(event_id, using=alias, client=client))
    events = Event._default_manager.using(alias)
    tally.given_up = events.filter(failed, processing_attempts__gte=max_attempts).count()
    tally.kept_as_text = events.filter(processing_status=ProcessingStatus.FAILED,
                                       data__isnull=True).count()
    return tally


def list_events(*, since: dt.datetime | int, until: dt.datetime | int | None = None,
                account: str | None = None, types: Iterable[str] | None = None,
                client: Any = None, key: str | None = None) -> Iterator[list[dict[str, Any]]]:
    """Pages of events from the Events API created in ``[since, until]``, as plain dicts
    (read with the ``API_KEYS`` name ``key``, default ``API_KEY``)."""
    if client is None:
        client = get_client(api_key_for(key))
    created: dict[str, int] = {"gte": _unix(since)}
    if until is not None:
        created["lte"] = _unix(until)
    params: dict[str, Any] = {"created": created, "limit": 100}
    types = list(types or ())
    if len(types) == 1:
        params["type"] = types[0]
    elif types:
        params["types"] = types
    options = {"stripe_account": account} if account else {}
    page = client.v1.events.list(params=params, options=options)
    batch: list[dict[str, Any]] = []
    for event in page.auto_paging_iter():
        batch.append(to_plain(event))
        if len(batch) >= 100:
            yield batch
            batch = []
    if batch:
        yield batch


def list_all_v2_events(*, since: dt.datetime | int, until: dt.datetime | int | None = None,
                       account: str | None = None, types: Iterable[str] | None = None,
                       client: Any = None, key: str | None = None,
                       ) -> Iterator[list[dict[str, Any]]]:
    """Pages of v2 events (``GET /v2/core/events``, thin notifications as Stripe sent
    them) created in ``[since, until]``; ``account``: a connected account (its
    ``Stripe-Context``). https://docs.stripe.com/api/v2/core/events/list"""
    from ..sync.v2_events import list_v2_events, rfc3339

    if client is None:
        client = get_client(api_key_for(key))
    created = {"gte": rfc3339(since)}
    if until is not None:
        created["lte"] = rfc3339(until)
    return list_v2_events(client, created=created, account=account, types=list(types or ()))


def _with_v2(v1_pages: Iterable[list[dict[str, Any]]], tally: Tally,
             v2_pages: Any) -> Iterator[list[dict[str, Any]]]:
    """The v1 pages, then the v2 ones; a key that may not read v2 events (403, 404) is
    noted in ``tally.v2_unavailable`` rather than failing the v1 part."""
    from ..sync.fetcher import describe, is_unavailable

    yield from v1_pages
    try:
        for page in v2_pages():
            yield page
    except stripe.StripeError as error:
        if not is_unavailable(error):
            raise
        tally.v2_unavailable = describe(error)


def replay(*, since: dt.datetime | int, until: dt.datetime | int | None = None,
           account: str | None = None, types: Iterable[str] | None = None, force: bool = False,
           using: str | None = None, client: Any = None, key: str | None = None) -> Tally:
    """Fetch the events of a time range from the Events API, store those not stored yet
    and process those not processed yet (``force``: all of them again; the staleness
    guard still keeps the newest state of each object)."""
    tally = Tally()
    types = list(types or ())
    return _catch_up(_with_v2(
        list_events(since=since, until=until, account=account, types=types, client=client, key=key),
        tally, lambda: list_all_v2_events(since=since, until=until, account=account, types=types,
                                          client=client, key=key)),
        force=force, using=using, client=client, key=key, tally=tally)


def sweep(*, days: float = 3, account: str | None = None, using: str | None = None,
          client: Any = None, key: str | None = None) -> Tally:
    """Compare the events the API lists for the last ``days`` with the stored ones and
    store and process the missing (and the unprocessed) ones."""
    since = timezone.now() - dt.timedelta(days=days)
    tally = Tally()
    return _catch_up(_with_v2(
        list_events(since=since, account=account, client=client, key=key), tally,
        lambda: list_all_v2_events(since=since, account=account, client=client, key=key)),
        force=False, using=using, client=client, key=key, tally=tally)


def _catch_up(pages: Iterable[list[dict[str, Any]]], *, force: bool, using: str | None,
              client: Any, key: str | None = None, tally: Tally | None = None) -> Tally:
    alias = using or router.db_for_write(Event)
    tally = tally if tally is not None else Tally()
    for page in pages:
        tally.fetched += len(page)
        done = set(Event._default_manager.using(alias).filter(
            pk__in=[e["id"] for e in page], processing_status=ProcessingStatus.PROCESSED,
        ).values_list("id", flat=True))
        # Oldest first, as Stripe created them (the API lists newest first); a page is
        # all v1 events (Unix times) or all v2 ones (RFC 3339 strings).
        for event in sorted(page, key=lambda e: (e.get("created") or 0, e["id"])):
            if event["id"] in done and not force:
                continue
            tally.missing += event["id"] not in done
            tally.count(_store_and_process(event, force=force, alias=alias, client=client,
                                            key=key))
    return tally


def _store_and_process(event: dict[str, Any], *, force: bool, alias: str, client: Any,
                       key: str | None = None) -> Outcome:
    """Store an event read from the Events API (replacing one kept as text) and process it."""
    try:
        store_event(event, endpoint=None, using=alias, replace_unusable=True, key=key)
    except Exception as error:
        logger.exception("stripe_django: could not store event %s", event.get("id"))
        return Outcome(event["id"], status=FAILED, error=f"{type(error).__name__}: {error}")
    return process_event(event["id"], payload=event, force=force, using=alias, client=client,
                         key=key)


def replay_events(event_ids: Iterable[str], *, using: str | None = None, client: Any = None) -> Tally:
    """Fetch these events from the Events API again (from the connected account each
    was stored under) and store and process them, processed before or not: what the
    admin's "replay" action does. An event the API no longer has (Stripe keeps them
    30 days) is counted failed with the API's answer."""
    event_ids = list(event_ids)
    alias = using or router.db_for_write(Event)
    accounts = dict(Event._default_manager.using(alias).filter(pk__in=list(event_ids))
                    .values_list("id", "stripe_account"))
    clients: dict[str | None, Any] = {}
    tally = Tally()
    for event_id in event_ids:
        account = accounts.get(event_id)
        # A platform's own event (several API_KEYS) is read with that platform's key;
        # a connected account's with the key and its Stripe-Account header.
        key = key_for_platform_account(account)
        options = {"stripe_account": account} if account and key is None else {}
        if key not in clients:
            clients[key] = client if client is not None else get_client(api_key_for(key))
        try:
            event = to_plain(clients[key].v1.events.retrieve(event_id, options=options))
        except stripe.StripeError as error:
            tally.count(Outcome(event_id, status=FAILED, error=f"{type(error).__name__}: {error}"))
            continue
        tally.fetched += 1
        tally.count(_store_and_process(event, force=True, alias=alias, client=clients[key],
                                       key=key))
    return tally


def _unix(value: dt.datetime | int) -> int:
    if isinstance(value, dt.datetime):
        aware: dt.datetime = (timezone.make_aware(value, dt.timezone.utc)
                              if timezone.is_naive(value) else value)
        return int(aware.timestamp())
    return int(value)
