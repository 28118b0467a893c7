"""Discounts in force at a date, and how they reduce a subscription's MRR (guide, "Discounts").

A discount is read from the mirror's ``Discount`` rows (``subscription`` or
``subscription_item`` names what it is on) and its coupon. It is in force at ``at`` when
``start <= at < end``; without an ``end`` the coupon's duration decides: ``forever`` has
none, ``repeating`` ends ``duration_in_months`` after the start, ``once`` after the first
billing interval.

Reductions, in this order, for each item: every percent-off discount on the item or on
its subscription multiplies the item's monthly amount (``x (1 - percent/100)``), then the
item's own amount-off discounts are taken off (normalized to a month like the price, and
never below zero), then the item is rounded. A subscription's amount-off discounts come
off the sum of its items, normalized by its first item's interval and rounded, never
below zero. Tax plays no part (amounts are before tax).

Most discounted subscriptions carry one discount whose effect on an item does not
depend on the subscription's other items: the database says so (:func:`subscription_discounts`)
and MRR groups those items by price, quantity and coupon like the undiscounted ones;
only the rest (several discounts, an amount off the subscription's sum, an end the
database cannot place) are read and priced one subscription at a time.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable

from django.db.models import Case, Count, IntegerField, Max, Q, QuerySet, Value, When

from ..models import Coupon, Discount
from .normalize import PriceTerms, per_month

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Reduction:
    """One discount with its coupon's terms."""

    discount: str
    subscription: str | None
    subscription_item: str | None
    percent_off: Decimal | None
    amount_off: dict[str, int]  # currency -> amount off per billing interval
    start: dt.datetime | None
    end: dt.datetime | None
    duration: str | None

    def in_force(self, at: dt.datetime, terms: PriceTerms | None) -> bool:
        if self.start is not None and at < self.start:
            return False
        end = self.end
        if end is None and self.duration == "once" and self.start is not None and terms is not None:
            end = add_interval(self.start, terms.interval, terms.interval_count)
        return end is None or at < end

    def amount_off_in(self, currency: str) -> int | None:
        return self.amount_off.get(currency.lower())


def add_months(when: dt.datetime, months: int) -> dt.datetime:
    """``when`` plus whole months, the day clamped to the month's last (Jan 31 + 1 = Feb 28)."""
    index = when.month - 1 + months
    year, month = when.year + index // 12, index % 12 + 1
    return when.replace(year=year, month=month, day=min(when.day, calendar.monthrange(year, month)[1]))


def add_interval(when: dt.datetime, interval: str, count: int) -> dt.datetime:
    if interval == "day":
        return when + dt.timedelta(days=count)
    if interval == "week":
        return when + dt.timedelta(weeks=count)
    return add_months(when, count * (12 if interval == "year" else 1))


COLUMNS = ("id", "subscription", "subscription_item", "start", "end", "coupon_id", "coupon__percent_off",
           "coupon__amount_off", "coupon__currency", "coupon__currency_options", "coupon__duration",
           "coupon__duration_in_months")


def _amounts_off(amount_off: int | None, currency: str | None, options: dict[str, Any] | None) -> dict[str, int]:
    """A coupon's amount off per currency (its own and its ``currency_options``)."""
    amounts: dict[str, int] = {}
    if amount_off is not None and currency:
        amounts[currency.lower()] = amount_off
    for option_currency, option in (options or {}).items():
        if isinstance(option, dict) and option.get("amount_off") is not None:
            amounts[option_currency.lower()] = option["amount_off"]
    return amounts


def _percent(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _reduction(row: dict[str, Any]) -> Reduction:
    """A discount row (``COLUMNS``) and its coupon's terms."""
    duration, end = row["coupon__duration"], row["end"]
    if end is None and duration == "repeating" and row["coupon__duration_in_months"] and row["start"]:
        end = add_months(row["start"], row["coupon__duration_in_months"])
    return Reduction(discount=row["id"], subscription=row["subscription"] or None,
                     subscription_item=row["subscription_item"] or None,
                     percent_off=_percent(row["coupon__percent_off"]),
                     amount_off=_amounts_off(row["coupon__amount_off"], row["coupon__currency"],
                                             row["coupon__currency_options"]),
                     start=row["start"], end=end, duration=duration)


# How the one discount of a subscription bears on one of its items at a date, as the
# database decides it (:func:`subscription_discounts`, :mod:`.item_groups`):
NOT_IN_FORCE = 0  # it has not started or has ended: the item at full price
PERCENT_ON_SUBSCRIPTION = 1  # a percent off the subscription, in force: the item reduced alone
ON_THIS_ITEM = 2  # the item's own discount, in force: the item reduced alone
ON_ANOTHER_ITEM = 3  # another item's discount: this one at full price
# several discounts, an amount off the subscription's sum, or an end not stored: the
# subscription is read and priced alone (:func:`one_by_one_subscriptions`)
ONE_BY_ONE = 9
REDUCING = (PERCENT_ON_SUBSCRIPTION, ON_THIS_ITEM)  # the grouped effects that reduce the item


def _effect(at: dt.datetime) -> Case:
    """A discount row's effect at ``at``; an item's own discount in force is
    :data:`ON_ANOTHER_ITEM` here, and the grouping query makes it :data:`ON_THIS_ITEM`
    on that item (:mod:`.item_groups`).

    In force is :meth:`Reduction.in_force`: started, and before a stored ``end``
    (Stripe stores it for ``repeating`` coupons) or of a ``forever`` coupon. Without a
    stored end, a ``once`` or ``repeating`` coupon's end depends on the price or on
    month arithmetic: :data:`ONE_BY_ONE`, priced in Python. (Each case is written
    positively, in order: a negated test on a NULL column would be neither true nor
    false.)"""
    decided = Q(end__isnull=False) | Q(coupon__duration="forever")
    on_subscription = Q(subscription_item__isnull=True) | Q(subscription_item="")
    return Case(
        When(Q(start__gt=at) | Q(end__lte=at), then=Value(NOT_IN_FORCE)),
        When(decided & Q(subscription_item__gt=""), then=Value(ON_ANOTHER_ITEM)),
        When(decided & on_subscription & Q(coupon__percent_off__isnull=False), then=Value(PERCENT_ON_SUBSCRIPTION)),
        default=Value(ONE_BY_ONE), output_field=IntegerField())


def _on_subscriptions() -> QuerySet[Discount]:
    return Discount.objects.filter(deleted=False, subscription__gt="").order_by()


def subscription_discounts(at: dt.datetime) -> QuerySet[Discount]:
    """A row per subscription with discounts (on it or its items): ``subscription``,
    their number ``n``, and of the first (the only one when ``n`` is 1) its ``coupon``,
    ``item`` (``subscription_item``) and ``effect`` at ``at`` (:func:`_effect`)."""
    return (_on_subscriptions().values("subscription")
            .annotate(n=Count("pk"), effect=Max(_effect(at)), coupon=Max("coupon_id"),
                      item=Max("subscription_item")))


def one_by_one_subscriptions(at: dt.datetime) -> QuerySet[Discount]:
    """The ids of the subscriptions whose discounts the database does not group at
    ``at``: several discounts, or one whose effect is :data:`ONE_BY_ONE` (the rule
    of :func:`.item_groups.grouped_items`)."""
    return (_on_subscriptions().values("subscription")
            .annotate(n=Count("pk"), alone=Max(_effect(at)))
            .filter(Q(n__gt=1) | Q(alone=ONE_BY_ONE)).values("subscription"))


def coupon_reductions(ids: Iterable[str]) -> dict[str, Reduction]:
    """The coupons of these ids as reductions in force (their discounts' dates already
    decided by the database), keyed by coupon id (one query)."""
    wanted = sorted({i for i in ids if i})
    rows = Coupon.objects.filter(pk__in=wanted).values("id", "percent_off", "amount_off", "currency",
                                                          "currency_options") if wanted else ()
    return {row["id"]: Reduction(discount="", subscription=None, subscription_item=None,
                                 percent_off=_percent(row["percent_off"]),
                                 amount_off=_amounts_off(row["amount_off"], row["currency"], row["currency_options"]),
                                 start=None, end=None, duration="forever")
            for row in rows}


def reductions_for(subscription_ids: QuerySet) -> dict[str, list[Reduction]]:
    """The discounts on these subscriptions, on them or on their items (one query,
    values only), in order of start, keyed by subscription id (an item's discount by
    its ``subscription_item`` id). The ids are a queryset: a subquery, not thousands of
    bound parameters."""
    rows = (Discount.objects.filter(subscription__in=subscription_ids, deleted=False)
            .using(subscription_ids.db).order_by("start", "id").values(*COLUMNS))
    found: dict[str, list[Reduction]] = defaultdict(list)
    for reduction in (_reduction(row) for row in rows):
        found[reduction.subscription_item or reduction.subscription or ""].append(reduction)
    return found


def reduce_item(monthly: Decimal, terms: PriceTerms, currency: str, at: dt.datetime,
                item_reductions: list[Reduction], subscription_reductions: list[Reduction]) -> Decimal:
    """An item's monthly amount after its percent discounts, its subscription's percent
    discounts and its own amount-off discounts (unrounded, at least zero)."""
    for reduction in (*item_reductions, *subscription_reductions):
        if reduction.percent_off is not None and reduction.in_force(at, terms):
            monthly = monthly * (HUNDRED - reduction.percent_off) / HUNDRED
    for reduction in item_reductions:
        off = reduction.amount_off_in(currency)
        if off is not None and reduction.percent_off is None and reduction.in_force(at, terms):
            monthly -= per_month(Decimal(off), terms)
    return max(monthly, Decimal(0))


def subscription_amount_off(terms: PriceTerms, currency: str, at: dt.datetime,
                            subscription_reductions: list[Reduction]) -> Decimal:
    """What a subscription's amount-off discounts take off its monthly sum (unrounded)."""
    total = Decimal(0)
    for reduction in subscription_reductions:
        off = reduction.amount_off_in(currency)
        if off is not None and reduction.percent_off is None and reduction.in_force(at, terms):
            total += per_month(Decimal(off), terms)
    return total
