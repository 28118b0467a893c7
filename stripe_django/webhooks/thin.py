"""Thin event notifications: stored like every event, processed by fetching the current
state from the API.

A thin notification (``"object": "v2.core.event"``, see
https://docs.stripe.com/api/v2/core/events/object) names what changed
(``related_object``) without its state. It goes through the same durable path as a
snapshot event: the webhook view verifies it with the endpoint's signing secret and
hands it to :func:`~.processing.receive_event`, which stores it under its own id in the
one event inbox (the ``Event`` model; v1 and v2 events share the ``evt_`` id space) and
then processes it; a failure is recorded on the row and retried by Stripe or by
``manage.py stripe_process_events`` like any other.

Processing (:func:`process_notification`), with the SDK's typed notification
(``StripeClient.parse_event_notification``'s classes, bound to the ``Stripe-Context``
the notification's ``context`` names):

1. fetch the related object (``related_object.url``) and, for event types that carry
   data, the full event (``GET /v2/core/events/{id}``). Before any transaction: no lock
   is held while Stripe answers;
2. in one transaction, claim the event row (marked processed unless it was already)
   and ingest the fetched object stamped with the time its answer arrived: it is the
   state at Stripe then, so the staleness guard keeps it over anything older and a
   slow older fetch never overwrites a newer state. A 404 after a deleted-like event
   marks the row deleted;
3. after the commit, ``event_processed`` (and ``@on_event``) receivers get the event
   row, ``related_object`` (the fetched ``StripeObject``, or None) and
   ``notification`` (the SDK's notification object).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import stripe
from django.db import router, transaction
from django.db.models import F
from django.utils import timezone

from .. import type_table as table
from ..client import get_client
from ..conf import api_key_for, platform_account_for
from ..ingest import Snapshot, to_plain, upsert_many
from ..ingest.columns import model_for
from ..ingest.redaction import redact
from ..models import Event
from ..models.processing import ProcessingStatus

if TYPE_CHECKING:
    from .processing import Outcome

logger = logging.getLogger("stripe_django.webhooks")

__all__ = ["THIN_OBJECT", "is_notification", "notification_problems", "store_notification",
           "process_notification", "Fetched"]

#: The ``object`` of a thin event notification (and of a v2 event).
THIN_OBJECT = "v2.core.event"
# The longest text the event row's string columns hold.
_MAX_TEXT = 255


def is_notification(payload: Any) -> bool:
    """Whether a parsed body is a thin event notification."""
    return isinstance(payload, dict) and payload.get("object") == THIN_OBJECT


def notification_problems(payload: dict[str, Any]) -> list[str]:
    """What keeps a thin notification from being stored and processed (empty: nothing)."""
    problems = []
    for name in ("id", "type"):
        value = payload.get(name)
        if not isinstance(value, str) or not value or len(value) > _MAX_TEXT or "\x00" in value:
            problems.append(f"the notification has no usable {name}")
    if created_of(payload) is None:
        problems.append("the notification has no created time (RFC 3339)")
    context = payload.get("context")
    if context is not None and (not isinstance(context, str) or len(context) > _MAX_TEXT):
        problems.append("the notification's context is not an account path")
    related = payload.get("related_object")
    if related is not None and not (
            isinstance(related, dict) and all(isinstance(related.get(k), str) and related.get(k)
                                              for k in ("id", "type", "url"))
            and related["url"].startswith("/")):
        problems.append("the notification's related_object has no id, type and url")
    return problems


def created_of(payload: dict[str, Any]) -> dt.datetime | None:
    """The notification's ``created`` (an RFC 3339 string) as an aware datetime."""
    created = payload.get("created")
    if not isinstance(created, str):
        return None
    try:
        value = dt.datetime.fromisoformat(created)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def account_of(payload: dict[str, Any]) -> str | None:
    """The account a notification is about: the last segment of its ``context``
    (``acct_platform/acct_connected``), None for the platform itself."""
    context = payload.get("context")
    if not isinstance(context, str):
        return None
    segments = [part for part in context.split("/") if part]
    return segments[-1] if segments else None


# --- storing -----------------------------------------------------------------------

def store_notification(payload: dict[str, Any], *, endpoint: str | None, using: str | None = None,
                       key: str | None = None) -> bool:
    """Insert the notification's event row unless it is stored (a redelivery changes
    nothing); returns whether it is new. ``stripe_data`` is the notification as Stripe
    sent it (secrets redacted); ``data`` is what it carries (``{}`` when nothing: the
    row is processable, unlike an event kept as text)."""
    alias = using or router.db_for_write(Event)
    payload = redact(to_plain(payload))
    now = timezone.now()
    created = created_of(payload)
    row = Event(
        id=payload["id"], stripe_data=payload, stripe_snapshot_at=created or now,
        stripe_account=account_of(payload) or platform_account_for(key),
        type=payload["type"], created=created, livemode=bool(payload.get("livemode")),
        context=payload.get("context"), data=payload.get("data") or {},
        received_at=now, webhook_endpoint=endpoint, processing_status=ProcessingStatus.PENDING,
    )
    manager = Event._default_manager.db_manager(alias)
    if manager.filter(pk=row.id).exists():
        return False
    # Two deliveries at once: the later insert is ignored (the row's claim, not this
    # answer, decides who processes it).
    manager.bulk_create([row], ignore_conflicts=True)
    return True


# --- processing --------------------------------------------------------------------

@dataclass
class Fetched:
    """What processing a notification read from the API."""

    notification: Any  # the SDK's EventNotification
    has_object: bool = False  # the notification names a related object
    related_object: Any = None  # the fetched StripeObject (None: none, or gone)
    stamp: dt.datetime | None = None  # when its answer arrived
    gone: bool = False  # the related object answered 404
    event: dict[str, Any] | None = None  # the full v2 event, when fetched


def process_notification(event_id: str, payload: dict[str, Any], *, force: bool = False,
                         using: str | None = None, client: Any = None,
                         key: str | None = None) -> Outcome:
    """Process a stored thin notification (what :func:`~.processing.process_event` does
    for one): fetch, then claim and ingest in one transaction. Returns an
    :class:`~.processing.Outcome`; never raises for a processing error (it is recorded
    on the row)."""
    from . import processing

    alias = using or router.db_for_write(Event)
    outcome = processing.Outcome(event_id)
    events = Event._default_manager.db_manager(alias)
    try:
        status = events.filter(pk=event_id).values_list("processing_status", flat=True).first()
        if status is None:
            raise LookupError(f"event {event_id} is not stored")
        if status == ProcessingStatus.PROCESSED and not force:
            outcome.status = processing.DUPLICATE  # saves the API calls
            return outcome
        if client is None:
            client = get_client(api_key_for(key))
        fetched = fetch(payload, client)
        snapshots = _snapshots(payload, fetched, platform_account_for(key))
        # Its object's type is not mirrored (a v2 type without a model, say): stored only.
        outcome.ignored = fetched.related_object is not None and not snapshots
    except Exception as error:
        return processing._failed(outcome, alias, error)

    def apply() -> None:
        with transaction.atomic(using=alias):
            if not _claim(events, event_id, force=force):
                outcome.status = processing.DUPLICATE
                return
            if snapshots:
                result = upsert_many(snapshots, account=platform_account_for(key), using=alias,
                                     savepoint=False)
                if result.errors:
                    raise result.errors[0]
                outcome.stored = result.keys
            if fetched.event is not None:
                # The full event: what the notification carries, and its data (both
                # columns from the one redacted copy: a secret may sit in the data).
                full = redact(fetched.event)
                events.filter(pk=event_id).update(stripe_data=full, data=full.get("data") or {})
            outcome.status = processing.PROCESSED
            transaction.on_commit(lambda: _after_commit(outcome, alias, fetched), using=alias)

    try:
        processing._retrying(alias, apply)
    except Exception as error:
        return processing._failed(outcome, alias, error)
    return outcome


def fetch(payload: dict[str, Any], client: stripe.StripeClient) -> Fetched:
    """Read what the notification points at, through ``client`` with the notification's
    ``Stripe-Context``. API errors propagate (the event is then failed and retried),
    except a 404 of the related object, which says it is gone."""
    notification = stripe.v2.core.EventNotification.from_json(dict(payload), client)
    result = Fetched(notification, has_object=payload.get("related_object") is not None)
    if result.has_object:
        try:
            obj = notification.fetch_related_object()  # type: ignore[attr-defined]
        except stripe.InvalidRequestError as error:
            if error.http_status != 404:
                raise
            result.gone = True
            logger.info("stripe_django: the object of event %s (%s) is gone from the API",
                        payload["id"], payload["type"])
        else:
            result.related_object = obj
        # The time its answer arrived: the state it holds is Stripe's at that moment.
        result.stamp = timezone.now()
    if carries_data(payload["type"]):
        result.event = as_sent(notification.fetch_event())
    return result


def as_sent(obj: Any) -> Any:
    """An answer's JSON as Stripe sent it: the SDK turns v2 decimal strings into
    ``Decimal`` when it builds its object, ingest stores what Stripe wrote."""
    response = getattr(obj, "last_response", None)
    data = getattr(response, "data", None)
    return data if isinstance(data, dict) else to_plain(obj)


def carries_data(event_type: str) -> bool:
    """Whether events of this type carry data beyond the notification (so the full event
    is fetched): the SDK's typed event class declares ``data``. For a type the SDK does
    not know, it cannot tell: the full event is fetched."""
    from stripe.events._event_classes import get_v2_event_class

    event_class = get_v2_event_class(event_type)
    if not (isinstance(event_class, type) and issubclass(event_class, stripe.v2.core.Event)):
        return True
    return any("data" in vars(cls).get("__annotations__", {}) for cls in event_class.__mro__)


def is_deletion(event_type: str) -> bool:
    """Whether an event type says its object was deleted (its last segment is one of
    ``type_table.DELETION_EVENT_ACTIONS``)."""
    return event_type.rsplit(".", 1)[-1] in table.DELETION_EVENT_ACTIONS


def _snapshots(payload: dict[str, Any], fetched: Fetched,
               platform: str | None) -> list[Snapshot]:
    """What to ingest: the fetched object stamped with its arrival, or a deletion stub
    for an object gone after a deleted-like event."""
    account = account_of(payload) or platform
    related = payload.get("related_object") or {}
    if fetched.related_object is not None:
        obj = as_sent(fetched.related_object)
        object_type = obj.get("object") if isinstance(obj, dict) else None
        if not isinstance(object_type, str) or model_for(object_type) is None:
            logger.debug("stripe_django: event %s: %s is not mirrored; stored only",
                         payload["id"], object_type)
            return []
        return [Snapshot(obj, stamp=fetched.stamp, account=account)]
    if fetched.gone and is_deletion(payload["type"]) and model_for(related.get("type", "")) is not None:
        return [Snapshot({"id": related["id"], "object": related["type"], "deleted": True},
                         stamp=fetched.stamp, account=account)]
    return []


def _claim(events: Any, event_id: str, *, force: bool) -> bool:
    """Mark the event processed, locking its row until the transaction ends (a
    concurrent claim waits, then finds it processed); False if it was already."""
    rows = events.filter(pk=event_id)
    if not force:
        rows = rows.exclude(processing_status=ProcessingStatus.PROCESSED)
    return rows.update(processing_status=ProcessingStatus.PROCESSED, processing_error="",
                       processing_attempts=F("processing_attempts") + 1,
                       processed_at=timezone.now()) == 1


def _after_commit(outcome: Outcome, alias: str, fetched: Fetched) -> None:
    from ..signals import event_processed, send_event_processed
    from . import processing

    if not event_processed.has_listeners():
        return
    try:
        row = Event._default_manager.db_manager(alias).get(pk=outcome.event_id)
        failures = send_event_processed(row, related_object=fetched.related_object,
                                        notification=fetched.notification)
    except Exception as error:  # reading the row back failed
        processing._failed(outcome, alias, error)
        return
    if failures:
        receiver, raised = failures[0]
        name = getattr(receiver, "__qualname__", repr(receiver))
        processing._failed(outcome, alias, raised, prefix=f"signal receiver {name} raised: ",
                           logged=True, count_attempt=False)

