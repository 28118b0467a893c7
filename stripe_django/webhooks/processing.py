"""What happens to a verified event: store it, then process it, never twice at once.

The webhook view's inline path (:func:`receive_event`) does both in ONE transaction:
the event row is inserted already marked processed (an inserted row is claimed: a
concurrent insert of the same id waits for this transaction's end, then finds the row),
then its object is ingested. One commit per event instead of two, one statement fewer.
Both rows are planned before any statement; on PostgreSQL outside a transaction the
two writes are one statement (:mod:`.onestatement`).
Should anything fail there, the transaction is rolled back whole and the steps below
record it: the event is stored in a transaction of its own and marked failed with the
error (a refused payload is stored as text), so no verified event is lost. The steps
below are also what the tasks path and ``stripe_process_events`` use.

1. :func:`store_event` writes the event row in a transaction of its own (insert if
   absent, keyed by the event id; a redelivery changes nothing), so an event is durable
   before anything is done with it.
2. :func:`process_event` claims the event with one conditional ``UPDATE`` (marked
   processed unless it was already; the row stays locked until the commit, so a
   concurrent claim waits and then finds nothing to do), ingests its ``data.object``
   stamped with the event's ``created`` (the staleness guard keeps the newest state
   whatever the order of arrival), all in one transaction: the mirror changes if and
   only if the event is marked processed. Signals go out after the commit.
3. A failure rolls that transaction back and records ``failed`` with the error. A
   failure that may pass (a lock timeout, the API unreachable, a signal receiver that
   raised) is answered 500 so that Stripe delivers the event again; one that cannot
   (the payload itself is refused) is answered 200, since a redelivery would fail the
   same way. ``manage.py stripe_process_events`` retries both, up to
   ``STRIPE_DJANGO["EVENT_MAX_ATTEMPTS"]`` attempts.

An event whose envelope cannot be stored as it is (an id over 255 characters, a
``type`` that is not a string, a ``created`` out of range, NaN, NUL characters, nesting
a database refuses) is stored all the same: what fits goes in the columns, the body is
kept as text in ``stripe_data``, and the row is marked failed with the reason.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

import stripe
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, OperationalError, connections, router, transaction
from django.db.models import F
from django.utils import timezone

from ..client import get_client
from ..conf import api_key_for, endpoint_key, key_for_platform_account, platform_account_for
from ..dberrors import about_the_data
from ..exceptions import IngestError
from ..ingest import Snapshot, to_plain, to_stamp, upsert_many
from ..ingest import columns
from ..ingest.planner import Planner, dumps
from ..ingest.writer import cursor_for, upsert_rows, write_rows
from ..ingest.events import snapshot_from_event
from ..ingest.redaction import NonFiniteNumber, redact, redact_text
from ..models import Event
from ..models.processing import ProcessingStatus
from ..signals import event_processed, send_event_processed
from ..ingest.completion import client_pages, complete_lists, cut_off_lists
from . import onestatement, refetch, thin
from .verification import envelope_problems

logger = logging.getLogger("stripe_django.webhooks")

__all__ = ["Outcome", "StoredEvent", "store_event", "process_event", "receive_event",
           "event_for_storage"]

# Outcome statuses
PROCESSED = "processed"  # processed now
DUPLICATE = "duplicate"  # was processed before: nothing done
FAILED = "failed"  # processing (or a signal receiver) failed; recorded on the row
QUEUED = "queued"  # stored; its processing is enqueued on Django Tasks (EVENTS_ON_TASKS)

# Transient database errors (deadlock, serialization failure, lock wait timeout) are
# retried this many times before the event is marked failed.
DB_RETRIES = 3
MAX_ERROR_LENGTH = 4000
# The longest id the event table's key holds; a longer one is replaced by a digest.
MAX_ID_LENGTH = 255
_EVENT_ID = re.compile(r'^\s*\{\s*"id"\s*:\s*"(evt_[0-9A-Za-z_]{1,200})"')
# stripe_data of an event stored as text: the reason and the body.
UNUSABLE_KEY = "stripe_django_unusable"

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
    # for a failure: trying again later may succeed (the webhook view answers 500)
    transient: bool = False

    @property
    def ok(self) -> bool:
        return self.status != FAILED


@dataclass(frozen=True)
class StoredEvent:
    """What :func:`store_event` stored: the row's key, and for an event that cannot be
    processed (stored as text, marked failed) the reason."""

    key: str
    problem: str = ""
    new: bool = True  # False: it was stored before (a redelivery)

    @property
    def usable(self) -> bool:
        return not self.problem


def event_for_storage(event: Any) -> dict[str, Any]:
    """The event as a plain dict without secrets at any depth (``data.object``,
    ``previous_attributes``; see :mod:`stripe_django.ingest.redaction`)."""
    return redact(to_plain(event))


def _redacted(event: Any) -> tuple[Any, bool]:
    """:func:`event_for_storage`, and whether that walk also found no NaN nor infinity
    (then planning the event and its object need not walk it again)."""
    plain = to_plain(event)
    try:
        return redact(plain, refuse_non_finite=True), True
    except NonFiniteNumber:
        return redact(plain), False


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
        self.delete_unusable = f"DELETE FROM {table} WHERE {col['id']} = %s AND {col['data']} IS NULL"
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
                 "received_at", "webhook_endpoint", "processing_status", "processing_error",
                 "processing_attempts", "processed_at"]
        marks = ", ".join(["%s"] * len(names))
        head = f"INSERT INTO {table} ({', '.join(q(n) for n in names)}) VALUES ({marks})"
        if connection.vendor == "mysql":
            # Django connects to MySQL with CLIENT_FOUND_ROWS: the insert's row count is 1
            # for a redelivery too, so it cannot tell the caller that the row is new (and
            # hence claimed); the row goes in pending and is claimed by the UPDATE. For
            # the same reason the arrival of an event stored before (by a sync) is noted
            # by the insert itself (the endpoint first: it reads received_at unchanged).
            self.insert = (
                f"{head} ON DUPLICATE KEY UPDATE "
                f"{col['webhook_endpoint']} = IF({col['received_at']} IS NULL, "
                f"VALUES({col['webhook_endpoint']}), {col['webhook_endpoint']}), "
                f"{col['received_at']} = COALESCE({col['received_at']}, VALUES({col['received_at']}))")
            self.insert_claims = False
        else:
            self.insert_claims = True
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


def store_event(event: Any, *, endpoint: str | None = None, using: str | None = None,
                raw: bytes | None = None, problem: str = "",
                replace_unusable: bool = False, key: str | None = None) -> StoredEvent:
    """Store an event (a verified webhook payload or an Events API object) if it is not
    stored yet, in a transaction of its own. ``endpoint``: the name of the webhook
    endpoint that received it ("" for the default one, None for the Events API).

    Whatever it holds, a verified event is stored: one that cannot be a row as it is
    (or that ``problem`` says cannot be processed; ``event`` is then None or whatever
    could be read, and ``raw`` the body) is kept as text and marked failed. Only a
    database error that may pass (lock timeout, lost connection) propagates.
    ``replace_unusable``: an event stored as text before (too large, say) is replaced
    by this one (a replay from the Events API).

    ``key``: the ``API_KEYS`` name the event belongs to (default: the endpoint's); an
    event of that platform itself (no ``account``) is stored with the key's ``ACCOUNT``.
    """
    alias = _alias(using)
    key = key if key is not None else endpoint_key(endpoint)
    platform = platform_account_for(key)
    if not problem and thin.is_notification(event):
        # A thin event notification: stored by its own module (its envelope differs).
        problem = "; ".join(thin.notification_problems(event))
        if not problem:
            new = _retrying(alias, lambda: thin.store_notification(event, endpoint=endpoint,
                                                                   using=alias, key=key))
            return StoredEvent(event["id"], new=new)
    redacted = False
    if event is not None and not problem:
        event, redacted = _redacted(event)
        problems = envelope_problems(event) if isinstance(event, dict) else ["not an event"]
        problem = "; ".join(problems)
    if not problem:
        try:
            new = _retrying(alias, lambda: _insert(alias, event, endpoint, replace=replace_unusable,
                                                   platform=platform, redacted=redacted))
            return StoredEvent(event["id"], new=new)
        except IngestError as error:
            problem = f"the event cannot be stored as it is: {error.reason}"
        except DatabaseError as error:
            if not about_the_data(error):
                raise
            problem = f"the database refused the event: {_first_line(error)}"
    text = _body_text(event, raw)
    key = _unusable_key(event, text)
    logger.error("stripe_django: stored event %s as text; it cannot be processed: %s", key, problem)
    envelope = _usable_envelope(event, key, problem, text)
    _retrying(alias, lambda: _insert(alias, envelope, endpoint, failed=problem))
    return StoredEvent(key, problem)


def _insert(alias: str, payload: dict[str, Any], endpoint: str | None, failed: str = "",
            replace: bool = False, platform: str | None = None, processed: bool = False,
            redacted: bool = False) -> bool:
    """Insert the event row unless it is stored; one statement, so a transaction of its
    own (or, inside the caller's transaction, behind a savepoint: a refused insert must
    not spoil the caller's transaction before the event is stored as text).

    ``processed``: the row goes in marked processed (one attempt), for the caller that
    ingests its object in the same transaction (:func:`receive_event`), which then
    also runs the insert itself (no savepoint: a failure rolls back everything).
    ``redacted``: as for :meth:`Planner.add`.
    Returns whether the row was inserted (False: it was stored already; with
    ``processed`` on MySQL, always False: the caller claims the row by UPDATE)."""
    connection, sql = _sql(alias)
    event_row = _event_row(sql, payload, endpoint, failed=failed, platform=platform,
                           processed=processed, redacted=redacted)
    return _insert_row(alias, event_row, endpoint, replace=replace, processed=processed)


@dataclass(frozen=True)
class _EventRow:
    """The event row as the parameters of ``_Statements.insert``."""

    id: str
    params: list[Any]
    received: Any  # the arrival time, as the driver takes it


def _event_row(sql: _Statements, payload: dict[str, Any], endpoint: str | None, *, failed: str = "",
               platform: str | None = None, processed: bool = False,
               redacted: bool = False) -> _EventRow:
    """Plan the event row (raises IngestError for an envelope that cannot be a row)."""
    planner = Planner()
    try:
        stamp = timezone.now() if failed else to_stamp(payload.get("created"))
    except (TypeError, ValueError) as error:
        raise IngestError(str(error), object_type="event", field="created") from None
    account = payload.get("account")
    if account is not None and not _short_text(account):
        raise IngestError("'account' is not an account id", object_type="event", field="account")
    key = planner.add(payload, stamp, account or platform, redacted=redacted)
    row = planner.rows[key]
    received = sql.adapt_time(timezone.now())
    params = [row.id, row.account, row.data_json, sql.adapt_time(row.stamp), row.data_hash, row.deleted]
    if row.values is None:  # a deletion stub: the envelope checks keep these out
        raise IngestError("a deletion stub, not an event", object_type="event", object_id=row.id)
    for column, value in zip(sql.event_columns, row.values):
        if value is not None and column.kind in sql.json_kinds:
            value = dumps(value)
        elif value is not None and column.kind == columns.TIMESTAMP:
            value = sql.adapt_time(value)
        params.append(value)
    if failed:
        params += [received, endpoint, str(ProcessingStatus.FAILED), failed[:MAX_ERROR_LENGTH], 1, None]
    elif processed and sql.insert_claims:
        params += [received, endpoint, str(ProcessingStatus.PROCESSED), "", 1, received]
    else:
        params += [received, endpoint, str(ProcessingStatus.PENDING), "", 0, None]
    return _EventRow(row.id, params, received)


def _insert_row(alias: str, event_row: _EventRow, endpoint: str | None, *, replace: bool = False,
                processed: bool = False) -> bool:
    """The statements of :func:`_insert` for a planned row."""
    connection, sql = _sql(alias)
    row, params, received = event_row, event_row.params, event_row.received

    def run() -> int:
        if not processed and not sql.insert_claims and _one(connection, sql.status, [row.id]) is not None:
            # MySQL counts a duplicate key as a row too (CLIENT_FOUND_ROWS): whether the
            # event is new (to be queued) is asked first.
            return 0
        with cursor_for(connection) as cursor:
            cursor.execute(sql.insert, params)
            return cursor.rowcount

    if replace:
        with transaction.atomic(using=alias):
            # A row stored as text has no data column: the event read from the API
            # takes its place.
            _execute(connection, sql.delete_unusable, [row.id])
            inserted = run()
    elif connection.in_atomic_block and not processed:
        with transaction.atomic(using=alias):
            inserted = run()
    else:
        inserted = run()
    if inserted != 1:
        # Stored already (a redelivery, or fetched by a sync): note its arrival once.
        _execute(connection, sql.received, [received, endpoint, row.id])
    # For receive_event, True means "inserted as processed", which only an insert that
    # tells a new row from a stored one can do (not MySQL's: its caller claims by UPDATE).
    return inserted == 1 and (sql.insert_claims or not processed)


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _body_text(event: Any, raw: bytes | None) -> str:
    """The body as text for an event stored as text, its secrets redacted; NUL
    characters spelled out, since no database keeps them alike."""
    if raw is not None:
        text = raw.decode("utf-8", errors="replace")
    else:
        try:
            text = json.dumps(event, ensure_ascii=True, default=str)
        except (RecursionError, ValueError, TypeError):
            text = "(the event could not be written out as text)"
    return redact_text(text).replace("\x00", "\\u0000")


def _unusable_key(event: Any, text: str) -> str:
    """The event's own id where it can be a key; a digest of the body otherwise (the
    same body sent again finds the same row)."""
    event_id = event.get("id") if isinstance(event, dict) else None
    if isinstance(event_id, str) and 0 < len(event_id) <= MAX_ID_LENGTH and event_id.isprintable():
        return event_id
    # A body cut short (too large to keep) still begins with its id: a replay from the
    # Events API then replaces the row.
    found = _EVENT_ID.search(text[:1024])
    if found:
        return found.group(1)
    return "evt_unusable_" + hashlib.sha256(text.encode()).hexdigest()[:40]


def _usable_envelope(event: Any, key: str, problem: str, text: str) -> dict[str, Any]:
    """An event payload every database stores: the envelope fields that are valid
    columns, and the body as text."""
    event = event if isinstance(event, dict) else {}
    envelope: dict[str, Any] = {"id": key, "object": "event",
                                UNUSABLE_KEY: {"reason": problem, "body": text}}
    for name, ok in (("type", _short_text), ("account", _short_text), ("api_version", _short_text),
                     ("livemode", lambda v: type(v) is bool),
                     ("created", lambda v: type(v) is int and 0 <= v < 253402300800)):
        value = event.get(name)
        if value is not None and ok(value):
            envelope[name] = value
    return envelope


def _short_text(value: Any) -> bool:
    return type(value) is str and len(value) <= MAX_ID_LENGTH and "\x00" not in value


def _snapshot_to_ingest(event: dict[str, Any], client: Any) -> tuple[Snapshot | None, bool]:
    """(what to ingest for the event, whether its object type is not mirrored)."""
    snapshot, ignored, _ = _snapshot_and_origin(event, client)
    return snapshot, ignored


def _snapshot_and_origin(event: dict[str, Any], client: Any) -> tuple[Snapshot | None, bool, bool]:
    """As :func:`_snapshot_to_ingest`, and whether the payload (or part of it) was read
    from the API rather than taken from the event."""
    snapshot = snapshot_from_event(event)
    obj = snapshot.payload
    object_type = obj.get("object")
    from_api = False
    if not isinstance(object_type, str) or columns.model_for(object_type) is None:
        return None, True, from_api
    if refetch.wants_refetch(event["type"], object_type):
        fresh = refetch.fetch_object(obj, account=snapshot.account, client=client)
        if fresh is not None:
            # The state of the object now, so stamped now: newer than any event so far.
            snapshot = Snapshot(fresh, stamp=timezone.now(), account=snapshot.account)
            from_api = True
    if not snapshot.payload.get("deleted") and cut_off_lists(snapshot.payload):
        snapshot = Snapshot(_completed(snapshot.payload, snapshot.account, client),
                            stamp=snapshot.stamp, account=snapshot.account)
        from_api = True
    return snapshot, False, from_api


def _completed(obj: dict[str, Any], account: str | None, client: Any) -> dict[str, Any]:
    """``obj`` with its cut-off embedded lists read in full from the API (before the
    database transaction: no lock is held while waiting for Stripe). Without an API key
    the lists stay as the event has them; when the object is gone (404), too."""
    if client is None:
        try:
            client = get_client()
        except ImproperlyConfigured:
            logger.warning("stripe_django: %s %s has more list items than its event carries, and "
                           "no API key is set to read them; storing those the event has",
                           obj.get("object"), obj.get("id"))
            return obj
    obj = dict(obj)
    try:
        complete_lists(obj, client_pages(client, account))
    except stripe.InvalidRequestError as error:
        if error.http_status != 404:
            raise
        logger.info("stripe_django: %s %s is gone from the API; storing the list its event has",
                    obj.get("object"), obj.get("id"))
    return obj


def process_event(event_id: str, *, payload: dict[str, Any] | None = None, force: bool = False,
                  using: str | None = None, client: Any = None, key: str | None = None) -> Outcome:
    """Process a stored event unless it was processed already (``force``: again anyway).

    ``payload`` is the event as received (saves reading it back). Never raises for a
    processing error: the error is logged, recorded on the row and returned in the
    :class:`Outcome`. ``key``: the ``API_KEYS`` name of the event's platform (read from
    the stored row's ``stripe_account`` when not given); its client reads the API and
    its ``ACCOUNT`` goes on the platform's own rows.
    """
    alias = _alias(using)
    manager = Event._default_manager.db_manager(alias)
    outcome = Outcome(event_id)
    try:
        if payload is None:
            row = manager.filter(pk=event_id).values_list("stripe_data", "stripe_account").first()
            if row is None or row[0] is None:
                raise LookupError(f"event {event_id} is not stored")
            payload, stored_account = row
            if key is None and stored_account and not (payload or {}).get("account"):
                key = key_for_platform_account(stored_account)
        event = to_plain(payload)
        platform = platform_account_for(key)
        if client is None and key:
            client = get_client(api_key_for(key))
        if isinstance(event, dict) and UNUSABLE_KEY in event:
            raise IngestError(str(event[UNUSABLE_KEY].get("reason") or "stored as text"),
                              object_type="event", object_id=event_id)
        if thin.is_notification(event):
            return thin.process_notification(event_id, event, force=force, using=alias,
                                             client=client, key=key)
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
        with transaction.atomic(using=alias):
            if not _claim(connection, sql, event_id, force=force):
                if _one(connection, sql.status, [event_id]) is None:
                    raise LookupError(f"event {event_id} is not stored")
                outcome.status = DUPLICATE
                return
            _ingest(snapshot, outcome, alias, platform)

    try:
        _retrying(alias, apply)
    except Exception as error:
        return _failed(outcome, alias, error)
    if outcome.ignored and outcome.status == PROCESSED:
        logger.debug("stripe_django: event %s (%s): object type not mirrored; stored only",
                     event_id, event.get("type"))
    return outcome


def _ingest(snapshot: Snapshot | None, outcome: Outcome, alias: str, platform: str | None) -> None:
    """Write the event's object in the caller's transaction (the event row is claimed in
    it); the signal goes out after the commit."""
    if snapshot is not None:
        # No savepoint: a refusal rolls the caller's whole transaction back anyway.
        result = upsert_many([snapshot], account=platform, using=alias, savepoint=False)
        if result.errors:
            raise result.errors[0]
        outcome.stored = result.keys
    outcome.status = PROCESSED
    if event_processed.has_listeners():
        transaction.on_commit(lambda: _after_commit(outcome, alias), using=alias)


def _after_commit(outcome: Outcome, alias: str) -> None:
    try:
        row = Event._default_manager.db_manager(alias).get(pk=outcome.event_id)
        failures = send_event_processed(row)
    except Exception as error:  # reading the row back failed
        _failed(outcome, alias, error)
        return
    if failures:
        receiver, raised = failures[0]
        name = getattr(receiver, "__qualname__", repr(receiver))
        # The processing itself was counted as an attempt already.
        _failed(outcome, alias, raised, prefix=f"signal receiver {name} raised: ", logged=True,
                count_attempt=False)


def _failed(outcome: Outcome, alias: str, error: BaseException, *, prefix: str = "",
            logged: bool = False, count_attempt: bool = True) -> Outcome:
    message = prefix + (str(error) if isinstance(error, IngestError) else f"{type(error).__name__}: {error}")
    outcome.status = FAILED
    outcome.error = message
    # The payload itself is refused: no redelivery can help. Anything else may pass.
    outcome.transient = not (isinstance(error, IngestError) or about_the_data(error))
    if not logged:
        logger.error("stripe_django: processing event %s failed: %s", outcome.event_id, message,
                     exc_info=outcome.transient)
    try:
        Event._default_manager.db_manager(alias).filter(pk=outcome.event_id).update(
            processing_status=ProcessingStatus.FAILED,
            processing_attempts=F("processing_attempts") + int(count_attempt),
            processing_error=message[:MAX_ERROR_LENGTH],
            processing_retryable=outcome.transient,
        )
    except Exception:
        logger.exception("stripe_django: could not record the failure of event %s", outcome.event_id)
    return outcome


def receive_event(event: dict[str, Any] | None, *, endpoint: str | None = "",
                  using: str | None = None, client: Any = None, raw: bytes | None = None,
                  problem: str = "") -> Outcome:
    """Store a verified event and process it, in one transaction: what the webhook view
    does. An event that cannot be processed (``problem``, or one found while storing) is
    stored and reported as a failure that is not transient; a processing failure is
    recorded on the stored row as :func:`process_event` records it."""
    if event is None or problem or thin.is_notification(event):
        # A thin notification is processed by fetching from the API: stored first.
        return _receive_in_two_steps(event, endpoint=endpoint, using=using, client=client,
                                     raw=raw, problem=problem)
    stored_payload, redacted = _redacted(event)
    if not isinstance(stored_payload, dict) or envelope_problems(stored_payload):
        # Stored as text by store_event, which says why.
        return _receive_in_two_steps(event, endpoint=endpoint, using=using, client=client)
    data_object = (stored_payload.get("data") or {}).get("object")
    object_type = data_object.get("object") if isinstance(data_object, dict) else None
    if refetch.wants_refetch(stored_payload.get("type", ""), object_type):
        # Read from the API: process_event first checks whether that is needed at all;
        # the API call dwarfs the round trips saved here.
        return _receive_in_two_steps(event, endpoint=endpoint, using=using, client=client)
    alias = _alias(using)
    key = endpoint_key(endpoint)
    outcome = Outcome(stored_payload["id"])
    try:
        platform = platform_account_for(key)
        if client is None and key:
            client = get_client(api_key_for(key))
        # API calls (lists cut off in the payload) before the transaction: no lock is held
        # while waiting for Stripe. The object is the stored event's, redacted already
        # (unless its lists were completed from the API).
        snapshot, outcome.ignored, from_api = _snapshot_and_origin(stored_payload, client)
        # Both rows planned before any statement: each payload is walked and encoded once.
        connection, sql = _sql(alias)
        event_row = _event_row(sql, stored_payload, endpoint, platform=platform, processed=True,
                               redacted=redacted)
        planner, keys = _object_plan(snapshot, platform, redacted and not from_api)
    except Exception as error:
        return _store_failed(event, outcome, alias, endpoint, error)

    def apply() -> None:
        connection, sql = _sql(alias)
        stored_before = False
        if sql.insert_claims and onestatement.applies(connection, len(planner.rows),
                                                      len(planner.memberships)):
            if onestatement.store_and_apply(connection, sql.insert, event_row.params,
                                            planner.rows.values()):
                _processed(outcome, keys, alias)
                return
            stored_before = True  # nothing written: claimed below as any stored event
        with transaction.atomic(using=alias):
            if stored_before:
                _execute(connection, sql.received, [event_row.received, endpoint, event_row.id])
            if stored_before or not _insert_row(alias, event_row, endpoint, processed=True):
                # Stored before (a redelivery, a sync, or a concurrent delivery that
                # committed; MySQL: any row): claim it as process_event does.
                if not _claim(connection, sql, outcome.event_id):
                    outcome.status = DUPLICATE
                    return
            if planner.memberships:
                write_rows(planner.rows.values(), alias, planner.memberships.values())
            elif planner.rows:
                # No counts wanted: the upserts' staleness guard alone, no look-up.
                upsert_rows(planner.rows.values(), alias)
            _processed(outcome, keys, alias)

    try:
        _retrying(alias, apply)
    except Exception as error:
        return _store_failed(event, outcome, alias, endpoint, error)
    return outcome


def _object_plan(snapshot: Snapshot | None, platform: str | None,
                 redacted: bool) -> tuple[Planner, list[tuple[type, str]]]:
    """The rows of the event's object (none when its type is not mirrored), planned as
    ``upsert_many`` plans a :class:`Snapshot`, and the object's key. Raises IngestError."""
    planner = Planner()
    if snapshot is None:
        return planner, []
    try:
        stamp = to_stamp(snapshot.stamp)
    except (TypeError, ValueError) as error:
        raise IngestError(f"bad snapshot stamp: {error}") from None
    account = snapshot.account if snapshot.account is not None else platform
    return planner, [planner.add(to_plain(snapshot.payload), stamp, account, redacted=redacted)]


def _processed(outcome: Outcome, keys: list[tuple[type, str]], alias: str) -> None:
    """The event's object is written (in the caller's transaction, or committed): the
    outcome says so, and the signal goes out after the commit."""
    outcome.stored = list(keys)
    outcome.status = PROCESSED
    if event_processed.has_listeners():
        transaction.on_commit(lambda: _after_commit(outcome, alias), using=alias)


def _claim(connection: Any, sql: _Statements, event_id: str, *, force: bool = False) -> bool:
    """Mark a stored event processed and lock its row for the caller's transaction;
    False when it was processed already (``force``: claimed whatever its status) or is
    not stored."""
    processed = str(ProcessingStatus.PROCESSED)
    params = [processed, sql.adapt_time(timezone.now()), event_id]
    with connection.cursor() as cursor:
        if force:
            cursor.execute(sql.claim_again, params)
        else:
            cursor.execute(sql.claim, [*params, processed])
        return cursor.rowcount == 1


def _store_failed(event: dict[str, Any], outcome: Outcome, alias: str, endpoint: str | None,
                  error: BaseException) -> Outcome:
    """The one transaction of :func:`receive_event` failed and was rolled back: store the
    event in a transaction of its own (as text if its envelope is what failed), then
    record the failure on it. A database error that may pass propagates (answered 500:
    Stripe delivers the event again)."""
    stored = store_event(event, endpoint=endpoint, using=alias)
    if not stored.usable:
        return Outcome(stored.key, status=FAILED, error=stored.problem, transient=False)
    outcome.stored = []  # rolled back
    return _failed(outcome, alias, error)


def _receive_in_two_steps(event: dict[str, Any] | None, *, endpoint: str | None, using: str | None,
                          client: Any, raw: bytes | None = None, problem: str = "") -> Outcome:
    """Store the event in a transaction of its own, then process it in another."""
    stored = store_event(event, endpoint=endpoint, using=using, raw=raw, problem=problem)
    if not stored.usable:
        return Outcome(stored.key, status=FAILED, error=stored.problem, transient=False)
    return process_event(stored.key, payload=event, using=using, client=client,
                         key=endpoint_key(endpoint))
