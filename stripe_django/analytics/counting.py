"""Which subscriptions count toward MRR at a date (guide, "Which subscriptions count").

The mirror keeps each subscription's current state; its timestamps (``start_date``,
``trial_end``, ``cancel_at``, ``ended_at``) place it in time. A subscription counts at
``at`` when all of these hold:

- it had started: ``start_date <= at``;
- it was out of its trial: no ``trial_end``, or ``trial_end <= at``;
- it had not ended: no ``ended_at``, or ``ended_at > at``; a cancellation at period end
  (``cancel_at``) counts until that moment, and not after;
- its status is counted: ``active``, ``past_due`` (setting ``REVENUE_COUNT_PAST_DUE``),
  ``unpaid`` only with ``REVENUE_COUNT_UNPAID``; ``canceled`` counts only for the dates
  before it ended; ``trialing``, ``incomplete``, ``incomplete_expired`` and ``paused``
  (a trial that ended without a payment method) never count;
- its collection is not paused (``pause_collection`` set) unless
  ``REVENUE_COUNT_PAUSED_COLLECTION``; the mirror knows only the current pause, so a
  paused subscription is left out at every date.
"""

from __future__ import annotations

import datetime as dt
from types import EllipsisType

from django.db.models import Q, QuerySet

try:  # Django 6.1 names JSON null explicitly; before it, None meant JSON null here.
    from django.db.models import JSONNull  # type: ignore[attr-defined]

    JSON_NULL: object = JSONNull()
except ImportError:  # Django < 6.1
    JSON_NULL = None
from django.utils import timezone

from ..conf import stripe_settings
from ..models import Subscription

# ``account=`` of the analytics functions: a connected account's id, None for the
# platform's own rows, or left out (``...``) for every account.
AccountFilter = str | None | EllipsisType

ALWAYS_COUNTED = ("active",)
# Present in the mirror but past its life: counted for the dates before ``ended_at``.
ENDED = ("canceled",)


def counted_statuses() -> tuple[str, ...]:
    """The statuses that count, from the settings."""
    statuses = list(ALWAYS_COUNTED)
    if stripe_settings.REVENUE_COUNT_PAST_DUE:
        statuses.append("past_due")
    if stripe_settings.REVENUE_COUNT_UNPAID:
        statuses.append("unpaid")
    return tuple(statuses)


def subscriptions_active_at(at: dt.datetime | None = None, *, currency: str | None = None,
                            account: AccountFilter = ...) -> QuerySet[Subscription]:
    """The subscriptions counted at ``at`` (default now), as a queryset to filter further.

    ``currency`` keeps one currency (lower case, as Stripe writes it); ``account`` keeps one
    connected account's subscriptions (None: the platform's own); left out, every account.
    """
    at = at or timezone.now()
    if timezone.is_naive(at):
        raise ValueError(f"the date {at} has no time zone: pass an aware datetime")
    status = Q(status__in=counted_statuses()) | Q(status__in=ENDED, ended_at__gt=at)
    query = (Subscription.objects.filter(status, deleted=False, start_date__lte=at)
             .filter(Q(trial_end__isnull=True) | Q(trial_end__lte=at))
             .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=at))
             .filter(Q(cancel_at__isnull=True) | Q(cancel_at__gt=at)))
    if not stripe_settings.REVENUE_COUNT_PAUSED_COLLECTION:
        query = query.filter(Q(pause_collection__isnull=True) | Q(pause_collection=JSON_NULL))
    if currency is not None:
        query = query.filter(currency=currency.lower())
    if account is not ...:
        query = query.filter(stripe_account=account)
    return query
