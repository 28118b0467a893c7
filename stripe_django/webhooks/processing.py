"""What happens to a verified event: store it, then process it, never twice at once.

1. :func:`store_event` writes the event row in a transaction of its own (insert if
   absent, keyed by the event id; a redelivery changes nothing), so an event is durable
   before anything is done with it.
2. :func:`process_event` claims the event with one conditional ``UPDATE`` (marked
   processed unless it was already; the row stays locked until the commit, so a
   concurrent claim waits and then finds nothing to do), ingests its ``data.object``
   stamped with the event's ``created`` (the staleness guard keeps the newest state
   whatever the order of arrival), all in one transaction: the mirror changes if and
   only if the event is marked processed. Signals go out after the commit.
3. A failure rolls that transaction back and records ``failed`` with the error; the
   caller answers 500, and Stripe (or ``manage.py stripe_process_events``) retries.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from django.db import OperationalError, connections, router, transaction
from django.db.models import F
from django.utils import timezone

from .. import type_table as table
from ..exceptions import IngestError
from ..ingest import Snapshot, to_plain, to_stamp, upsert_many
from ..ingest import columns
from ..ingest.planner import Planner, dumps
from ..ingest.events import snapshot_from_event
from ..models import Event
from ..models.processing import ProcessingStatus
from ..signals import event_processed, send_event_processed
from . import refetch

logger = logging.getLogger("stripe_django.webhooks")

__all__ = ["Outcome", "store_event", "process_event", "receive_event", "event_for_storage"]

# Outcome statuses
PROCESSED = "processed"  # processed now
DUPLICATE = "duplicate"  # was processed before: nothing done
FAILED = "failed"  # processing (or a signal receiver) failed; recorded on the row

# Transient database errors (deadlock, serialization failure, lock wait timeout) are
# retried this many times before the event is marked failed.
DB_RETRIES = 3
MAX_ERROR_LENGTH = 4000

T = TypeVar("T")


@dataclass
class Outcome:
    """What :func:`process_event` did with one event."""

    event_id: str
    status: str = PROCESSED
    error: str = ""
    # the event's object type is not mirrored (the event is stored and marked processed)
    ignored: bool = False
    stored: list[tuple[type, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status != FAILED


def event_for_storage(event: Any) -> dict[str, Any]:
    """The event as a plain dict, without the secrets ``type_table.REDACTED_FIELDS``
    names inside its ``data.object`` (a payment intent's ``client_secret``)."""
    event = to_plain(event)
    data = event.get("data")
    if not isinstance(data, dict):
        return event
    cleaned = {}
    for key in ("object", "previous_attributes"):
        value = data.get(key)
        if isinstance(value, dict) and not value.keys().isdisjoint(table.REDACTED_FIELDS):
            cleaned[key] = {k: v for k, v in value.items() if k not in table.REDACTED_FIELDS}
    if not cleaned:
        return event
    return {**event, "data": {**data, **cleaned}}


def _alias(using: str | None) -> str:
    return using or router.db_for_write(Event)


class _Statements:
    """The few statements on the event row run for every delivery, as SQL built once per
    database vendor: the ORM would compile each of them anew on every request."""

    def __init__(self, connection) -> None:
        q = connection.ops.quote_name
        table = q(Event._meta.db_table)
        col = {f.name: q(f.column) for f in Event._meta.concrete_fields}
        self.received = (f"UPDATE {table} SET {col['received_at']} = %s, {col['webhook_endpoint']} = %s "
                         f"WHERE {col['id']} = %s AND {col['received_at']} IS NULL")
        self.status = f"SELECT {col['processing_status']} FROM {table} WHERE {col['id']} = %s"
        # Claims the event: marks it processed and locks the row until the transaction
        # ends. A concurrent claim of the same event waits for that, then finds it
        # processed (nothing to do) or, if the first one rolled back, claims it itself.
        done = (f"UPDATE {table} SET {col['processing_status']} = %s, "
                f"{col['processing_attempts']} = {col['processing_attempts']} + 1, "
                f"{col['processing_error']} = '', {col['processed_at']} = %s WHERE {col['id']} = %s")
        self.claim = f"{done} AND {col['processing_status']} <> %s"
        self.claim_again = done
        self.adapt_time = connection.ops.adapt_datetimefield_value
        # Insert if absent: the event row with its payload columns (as ingest plans them)
        # and where it came from; the processing columns take their database defaults.
        self.event_columns = columns.columns_of(Event)
        names = [*columns.BASE_COLUMNS, *(c.column for c in self.event_columns),
                 "received_at", "webhook_endpoint"]
        marks = ", ".join(["%s"] * len(names))
        head = f"INSERT INTO {table} ({', '.join(q(n) for n in names)}) VALUES ({marks})"
        if connection.vendor == "mysql":
            self.insert = f"{head} ON DUPLICATE KEY UPDATE {col['id']} = {col['id']}"
        else:
            self.insert = f"{head} ON CONFLICT ({col['id']}) DO NOTHING"
        self.json_kinds = frozenset({columns.JSON, columns.REF_LIST, columns.EMBEDDED})


_statements: dict[str, _Statements] = {}


def _sql(alias: str) -> tuple[Any, _Statements]:
    connection = connections[alias]
    statements = _statements.get(connection.vendor)
    if statements is None:
        statements = _statements[connection.vendor] = _Statements(connection)
    return connection, statements


def _one(connection, sql: str, params: list[Any]) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def _execute(connection, sql: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _retrying(alias: str, func: Callable[[], T]) -> T:
    """Run ``func`` (one transaction), again on a transient database error when that is
    possible (not inside an outer transaction)."""
    attempt = 0
    while True:
        try:
            return func()
        except OperationalError:
            attempt += 1
            if attempt >= DB_RETRIES or connections[alias].in_atomic_block:
                raise
            logger.info("stripe_django: transient database error; trying again", exc_info=True)
            time.sleep(0.01 * attempt)


def store_event(event: Any, *, endpoint: str | None = None, using: str | None = None) -> None:
    """Store an event (a verified webhook payload or an Events API object) if it is not
    stored yet, in a transaction of its own. ``endpoint``: the name of the webhook
    endpoint that received it ("" for the default one, None for the Events API)."""
    payload = event_for_storage(event)
    alias = _alias(using)
    snapshot = Snapshot(payload, stamp=payload.get("created"), account=payload.get("account"))

    def store() -> None:
        # One statement, so a transaction of its own (or part of the caller's).
        connection, sql = _sql(alias)
        planner = Planner()
        key = planner.add(snapshot.payload, to_stamp(snapshot.stamp), snapshot.account)
        row = planner.rows[key]
        received = sql.adapt_time(timezone.now())
        params = [row.id, row.account, row.data_json, sql.adapt_time(row.stamp), row.data_hash, row.deleted]
        for column, value in zip(sql.event_columns, row.values):
            if value is not None and column.kind in sql.json_kinds:
                value = dumps(value)
            elif value is not None and column.kind == columns.TIMESTAMP:
                value = sql.adapt_time(value)
            params.append(value)
        params += [received, endpoint]
        with connection.cursor() as cursor:
            cursor.execute(sql.insert, params)
            inserted = cursor.rowcount
        if inserted != 1:
            # Stored already (a redelivery, or fetched by a sync): note its arrival once.
            _execute(connection, sql.received, [received, endpoint, row.id])

    _retrying(alias, store)


def _snapshot_to_ingest(event: dict[str, Any], client: Any) -> tuple[Snapshot | None, bool]:
    """(what to ingest for the event, whether its object type is not mirrored)."""
    snapshot = snapshot_from_event(event)
    obj = snapshot.payload
    object_type = obj.get("object")
    if not isinstance(object_type, str) or columns.model_for(object_type) is None:
        return None, True
    if refetch.wants_refetch(event["type"], object_type):
        fresh = refetch.fetch_object(obj, account=snapshot.account, client=client)
        if fresh is not None:
            # The state of the object now, so stamped now: newer than any event so far.
            return Snapshot(fresh, stamp=timezone.now(), account=snapshot.account), False
    return snapshot, False


def process_event(event_id: str, *, payload: dict[str, Any] | None = None, force: bool = False,
                  using: str | None = None, client: Any = None) -> Outcome:
    """Process a stored event unless it was processed already (``force``: again anyway).

    ``payload`` is the event as received (saves reading it back). Never raises for a
    processing error: the error is logged, recorded on the row and returned in the
    :class:`Outcome`.
    """
    alias = _alias(using)
    manager = Event._default_manager.db_manager(alias)
    outcome = Outcome(event_id)
    try:
        if payload is None:
            payload = manager.filter(pk=event_id).values_list("stripe_data", flat=True).first()
            if payload is None:
                raise LookupError(f"event {event_id} is not stored")
        event = to_plain(payload)
        if refetch.wants_refetch(event.get("type", ""), (event.get("data") or {}).get("object", {}).get("object")):
            # Save the API call when there is nothing to do.
            connection, sql = _sql(alias)
            status = _one(connection, sql.status, [event_id])
            if status == ProcessingStatus.PROCESSED and not force:
                outcome.status = DUPLICATE
                return outcome
        snapshot, outcome.ignored = _snapshot_to_ingest(event, client)
    except Exception as error:
        return _failed(outcome, alias, error)

    def apply() -> None:
        connection, sql = _sql(alias)
        processed = ProcessingStatus.PROCESSED.value
        params = [processed, sql.adapt_time(timezone.now()), event_id]
        with transaction.atomic(using=alias):
            with connection.cursor() as cursor:
                if force:
                    cursor.execute(sql.claim_again, params)
                else:
                    cursor.execute(sql.claim, [*params, processed])
                claimed = cursor.rowcount == 1
            if not claimed:
                if _one(connection, sql.status, [event_id]) is None:
                    raise LookupError(f"event {event_id} is not stored")
                outcome.status = DUPLICATE
                return
            if snapshot is not None:
                result = upsert_many([snapshot], using=alias)
                if result.errors:
                    raise result.errors[0]
                outcome.stored = result.keys
            outcome.status = PROCESSED
            if event_processed.has_listeners():
                transaction.on_commit(lambda: _after_commit(outcome, alias), using=alias)

    try:
        _retrying(alias, apply)
    except Exception as error:
        return _failed(outcome, alias, error)
    if outcome.ignored and outcome.status == PROCESSED:
        logger.debug("stripe_django: event %s (%s): object type not mirrored; stored only",
                     event_id, event.get("type"))
    return outcome


def _after_commit(outcome: Outcome, alias: str) -> None:
    try:
        row = Event._default_manager.db_manager(alias).get(pk=outcome.event_id)
        failures = send_event_processed(row)
    except Exception as error:  # reading the row back failed
        _failed(outcome, alias, error)
        return
    if failures:
        receiver, error = failures[0]
        name = getattr(receiver, "__qualname__", repr(receiver))
        # The processing itself was counted as an attempt already.
        _failed(outcome, alias, error, prefix=f"signal receiver {name} raised: ", logged=True,
                count_attempt=False)


def _failed(outcome: Outcome, alias: str, error: BaseException, *, prefix: str = "",
            logged: bool = False, count_attempt: bool = True) -> Outcome:
    message = prefix + (str(error) if isinstance(error, IngestError) else f"{type(error).__name__}: {error}")
    outcome.status = FAILED
    outcome.error = message
    if not logged:
        logger.error("stripe_django: processing event %s failed: %s", outcome.event_id, message,
                     exc_info=not isinstance(error, IngestError))
    try:
        Event._default_manager.db_manager(alias).filter(pk=outcome.event_id).update(
            processing_status=ProcessingStatus.FAILED,
            processing_attempts=F("processing_attempts") + int(count_attempt),
            processing_error=message[:MAX_ERROR_LENGTH],
        )
    except Exception:
        logger.exception("stripe_django: could not record the failure of event %s", outcome.event_id)
    return outcome


def receive_event(event: dict[str, Any], *, endpoint: str | None = "", using: str | None = None,
                  client: Any = None) -> Outcome:
    """Store a verified event, then process it: what the webhook view does."""
    store_event(event, endpoint=endpoint, using=using)
    return process_event(event["id"], payload=event, using=using, client=client)
