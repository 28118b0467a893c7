"""A subscription's state at a past date, rebuilt from the subscription events stored
after it (guide, "History: from events").

Every ``customer.subscription.*`` event carries the subscription as it was right after
the event, and an ``updated`` event also carries ``previous_attributes``: the fields the
event changed, with their values before it (an array changed in any element comes
whole). So the state at a date ``at`` is the first event after ``at`` with its
``previous_attributes`` laid over its object; a ``created`` event says the subscription
did not exist yet; a subscription without an event after ``at`` was then as it is now.

Only the events of the window are read: ``REVENUE_EVENTS_DAYS`` days before now
(default 30, how long Stripe keeps events). The state is exact at dates from the start
of the window (or the mirror's oldest subscription event, if younger: before it, the
mirror was not receiving them) until now; before that, each subscription's earliest
known state (at the window's start) is applied to the past, as the current state was
before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.models import Exists, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KT
from django.utils import timezone

from ..conf import SETTING_NAME, stripe_settings
from ..models import Discount, Event, Subscription
from .counting import ENDED, AccountFilter, counted_statuses
from .item_changes_sql import ItemsChanged

CREATED = "customer.subscription.created"
UPDATED = "customer.subscription.updated"
# Every event type whose object is a subscription (named, not matched by prefix: the
# ``type`` index then serves the queries)
TYPES = (CREATED, UPDATED, "customer.subscription.deleted",
         "customer.subscription.paused", "customer.subscription.resumed",
         "customer.subscription.pending_update_applied", "customer.subscription.pending_update_expired",
         "customer.subscription.trial_will_end")

# The events that tell the state before them: ``updated`` by its ``previous_attributes``,
# ``created`` (nothing before), ``deleted`` (its object as it ended). ``paused``,
# ``resumed``, ``pending_update_*`` and ``trial_will_end`` carry the state after the
# change and no ``previous_attributes``: Stripe sends an ``updated`` event in the same
# second that does, so they are not read for the state before.
STATE_BEFORE_TYPES = (CREATED, UPDATED, "customer.subscription.deleted")

# What a figure at a date comes from (``MRRResult.source``, ``PeriodMovements``):
CURRENT = "subscriptions"  # the subscriptions' current state
EVENTS = "events"  # the state at the date, rebuilt from the subscription events after it
INVOICES = "invoices"  # the invoice lines in force at the date


def window_days() -> int:
    days = stripe_settings.REVENUE_EVENTS_DAYS
    if days is None:
        return 0
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise ImproperlyConfigured(f"{SETTING_NAME}['REVENUE_EVENTS_DAYS'] must be a whole number of days "
                                   f"(0 or None: no events), not {days!r}")
    return days


@dataclass(frozen=True)
class Window:
    """The span of the stored subscription events: ``read_from`` is where they are read
    from (``REVENUE_EVENTS_DAYS`` before ``now``), ``exact_from`` where they are complete
    (the later of that and the oldest stored subscription event)."""

    read_from: dt.datetime
    exact_from: dt.datetime
    now: dt.datetime

    def source_at(self, at: dt.datetime) -> str:
        """The source of a figure at ``at`` from subscriptions: ``events`` inside the
        window, ``subscriptions`` at or after now and before the window."""
        return EVENTS if self.exact_from <= at < self.now else CURRENT


def window(now: dt.datetime | None = None) -> Window | None:
    """The events window, or None when no subscription event is stored in it (one or
    two queries, neither reading the events before the window)."""
    days = window_days()
    if not days:
        return None
    now = now or timezone.now()
    read_from = now - dt.timedelta(days=days)
    stored = Event.objects.filter(type__in=TYPES, deleted=False)
    if stored.filter(created__lte=read_from).exists():
        return Window(read_from=read_from, exact_from=read_from, now=now)
    oldest = stored.filter(created__gt=read_from).aggregate(first=Min("created"))["first"]
    if oldest is None:
        return None
    return Window(read_from=read_from, exact_from=oldest, now=now)


def overlay(obj: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """``obj`` with ``previous`` laid over it: nested objects merged key by key (only
    the changed keys are in ``previous``), everything else (arrays, scalars) replaced."""
    out = dict(obj)
    for key, value in previous.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = overlay(out[key], value)
        else:
            out[key] = value
    return out


@dataclass
class Rebuilt:
    """The subscriptions whose state at a date was rebuilt: id -> state (None: it did
    not exist yet), and the account each belongs to."""

    states: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    accounts: dict[str, str | None] = field(default_factory=dict)


# What MRR reads of a subscription (counts_at, item_rows, discount_ids): an ``updated``
# event whose ``previous_attributes`` name none of these changed nothing MRR depends on
# (a renewal moving ``current_period_start``/``_end`` and ``latest_invoice``, a metadata
# edit): the state before it is the state after it, so it is not read.
MRR_KEYS = ("status", "start_date", "trial_end", "ended_at", "cancel_at", "pause_collection", "currency",
            "customer", "discount", "discounts", "items", "plan", "quantity")
# ``items`` comes whole when any item changed, a renewal's new item periods too (API
# versions from 2025-03-31 keep the period on the items, so every renewal names
# ``items``): an event naming ``items`` and none of the others is decided by comparing
# what MRR reads of each item before and after, in the database
# (:mod:`.item_changes_sql`), not by the key alone.
OTHER_MRR_KEYS = tuple(key for key in MRR_KEYS if key != "items")

# At most this many ids bound in one query: SQLite builds with a low
# SQLITE_MAX_VARIABLE_NUMBER (999 before 3.32, or lower) refuse a statement with more,
# and a price migration can rebuild tens of thousands of subscriptions at once
CHUNK = 500


def chunks(values: list[str]) -> list[list[str]]:
    return [values[n:n + CHUNK] for n in range(0, len(values), CHUNK)]


def _after(at: dt.datetime, span: Window) -> QuerySet[Event]:
    return (Event.objects.filter(type__in=STATE_BEFORE_TYPES, deleted=False, created__gt=max(at, span.read_from))
            .annotate(subscription_id=KT("data__object__id")))


def events_after(at: dt.datetime, span: Window) -> QuerySet[Event]:
    """The events that tell a subscription's state at ``at`` and change its MRR: those
    of the window after it that are not ``updated``, or name a key of
    :data:`OTHER_MRR_KEYS` in ``previous_attributes``, or name ``items`` and changed
    what MRR reads of them (:class:`.item_changes_sql.ItemsChanged`: a renewal, which
    moves only the items' periods, did not), each annotated with its
    ``subscription_id``. A subscription with none of them was at ``at`` as it is now,
    for MRR."""
    # the comparison of the items last: the database evaluates it only for the
    # ``updated`` events the keys alone do not decide
    return _after(at, span).filter(
        ~Q(type=UPDATED) | Q(data__previous_attributes__has_any_keys=OTHER_MRR_KEYS)
        | (Q(data__previous_attributes__has_key="items") & Q(ItemsChanged())))


def without_events_after(subscriptions: QuerySet[Subscription], at: dt.datetime,
                         span: Window) -> QuerySet[Subscription]:
    """``subscriptions`` less those rebuilt at ``at``, the ones :func:`events_after`
    names, by a subquery (not their ids as parameters: tens of thousands at a price
    migration). SQLite and MariaDB run NOT EXISTS as a scan of the events per
    subscription (each comparing every event's items again) and NOT IN as one list;
    PostgreSQL runs NOT IN as a loop once the list outgrows work_mem, and NOT EXISTS as
    one anti-join."""
    named = events_after(at, span)
    if subscriptions.db and connections[subscriptions.db].vendor in ("sqlite", "mysql"):
        # (a NULL in a NOT IN list would leave out every subscription)
        return subscriptions.exclude(pk__in=named.filter(subscription_id__isnull=False).values("subscription_id"))
    return subscriptions.filter(~Exists(named.filter(subscription_id=OuterRef("pk"))))


def states_at(at: dt.datetime, span: Window) -> Rebuilt:
    """The state at ``at`` of every subscription with an event in the window after
    ``at`` that changes what MRR reads (:func:`events_after`: one query for the events'
    ids, then the first event of each subscription, whole, :data:`CHUNK` at a time)."""
    firsts: dict[str, tuple[dt.datetime, str]] = {}
    for sub_id, created, pk in events_after(at, span).values_list("subscription_id", "created", "pk"):
        # the first event after ``at``; within one second, the lower id (Stripe's
        # timestamps have no finer order)
        if sub_id and (sub_id not in firsts or (created, pk) < firsts[sub_id]):
            firsts[sub_id] = (created, pk)
    result = Rebuilt()
    # the mirror's account wins (an event of the platform names none), by a subquery:
    # not the rebuilt subscriptions' ids bound as parameters
    mirror = Subscription.objects.filter(pk=OuterRef("subscription_id"))
    for pks in chunks(sorted(pk for _, pk in firsts.values())):
        events = (Event.objects.filter(pk__in=pks)
                  .annotate(subscription_id=KT("data__object__id"), in_mirror=Exists(mirror),
                            mirror_account=Subquery(mirror.values("stripe_account")[:1]))
                  .values_list("type", "data", "stripe_account", "account", "in_mirror", "mirror_account"))
        for kind, data, stripe_account, account, in_mirror, mirror_account in events:
            obj = (data or {}).get("object") or {}
            sub_id = obj.get("id")
            if not sub_id:
                continue
            result.accounts[sub_id] = mirror_account if in_mirror else (stripe_account or account or None)
            if kind == CREATED:
                result.states[sub_id] = None
            else:
                result.states[sub_id] = overlay(obj, (data or {}).get("previous_attributes") or {})
    return result


def _stamp(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def counts_at(state: dict[str, Any] | None, at: dt.datetime) -> bool:
    """Whether a subscription in ``state`` counts at ``at``: the rule of
    :func:`.counting.subscriptions_active_at`, on a payload (Unix timestamps)."""
    if state is None:
        return False
    stamp = at.timestamp()
    ended = _stamp(state.get("ended_at"))
    status = state.get("status")
    if not (status in counted_statuses() or (status in ENDED and ended is not None and ended > stamp)):
        return False
    start = _stamp(state.get("start_date"))
    if start is None or start > stamp:
        return False
    for key in ("ended_at", "cancel_at"):
        when = _stamp(state.get(key))
        if when is not None and when <= stamp:
            return False
    trial_end = _stamp(state.get("trial_end"))
    if trial_end is not None and trial_end > stamp:
        return False
    return bool(stripe_settings.REVENUE_COUNT_PAUSED_COLLECTION or not state.get("pause_collection"))


def _ref(value: Any) -> str | None:
    """An id, or an expanded object's id."""
    if isinstance(value, dict):
        return value.get("id")
    return value if isinstance(value, str) else None


def item_rows(sub_id: str, state: dict[str, Any], account: str | None) -> list[dict[str, Any]]:
    """The state's items as the rows :mod:`.mrr` prices (the columns it reads)."""
    rows = []
    for item in ((state.get("items") or {}).get("data") or []):
        if not isinstance(item, dict):
            continue
        rows.append({"pk": item.get("id"), "subscription_id": sub_id, "created": item.get("created") or 0,
                     "price_id": _ref(item.get("price")), "plan_id": _ref(item.get("plan")),
                     "quantity": item.get("quantity"), "subscription__currency": (state.get("currency") or "").lower(),
                     "subscription__stripe_account": account, "subscription__customer_id": _ref(state.get("customer"))})
    return rows


def discount_ids(state: dict[str, Any]) -> tuple[list[str], dict[str, list[str]]]:
    """The discounts the state names: the subscription's (``discounts``, and the older
    single ``discount``) and each item's."""
    own = [d for d in (_ref(x) for x in state.get("discounts") or []) if d]
    single = _ref(state.get("discount"))
    if single and single not in own:
        own.append(single)
    items = {}
    for item in ((state.get("items") or {}).get("data") or []):
        if isinstance(item, dict) and item.get("id"):
            items[item["id"]] = [d for d in (_ref(x) for x in item.get("discounts") or []) if d]
    return own, items


def reductions_of(rebuilt: dict[str, dict[str, Any]]) -> dict[str, list]:
    """The discounts each rebuilt state names, keyed like
    :func:`.discounts.reductions_for` (a subscription's by its id, an item's by the
    item's), read from the mirror's Discount rows, removed ones too (a query per
    :data:`CHUNK` discounts)."""
    from . import discounts as disc

    wanted: dict[str, list[str]] = {}
    for sub_id, state in rebuilt.items():
        own, items = discount_ids(state)
        wanted[sub_id] = own
        wanted.update(items)
    ids = {d for names in wanted.values() for d in names}
    rows = {row["id"]: disc._reduction(row) for chunk in chunks(sorted(ids))
            for row in Discount.objects.filter(pk__in=chunk).values(*disc.COLUMNS)}
    return {key: [rows[d] for d in names if d in rows] for key, names in wanted.items()}


def keep(state_account: str | None, state: dict[str, Any], currency: str | None, account: AccountFilter) -> bool:
    """Whether a rebuilt subscription passes the ``currency`` and ``account`` filters."""
    if currency is not None and (state.get("currency") or "").lower() != currency.lower():
        return False
    return account is ... or state_account == account
