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
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable

from django.db.models import Q, QuerySet

from ..models import Discount
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


def _reduction(row: dict[str, Any]) -> Reduction:
    """A discount row (``COLUMNS``) and its coupon's terms."""
    percent = row["coupon__percent_off"]
    amounts: dict[str, int] = {}
    if row["coupon__amount_off"] is not None and row["coupon__currency"]:
        amounts[row["coupon__currency"].lower()] = row["coupon__amount_off"]
    for currency, option in (row["coupon__currency_options"] or {}).items():
        if isinstance(option, dict) and option.get("amount_off") is not None:
            amounts[currency.lower()] = option["amount_off"]
    duration, end = row["coupon__duration"], row["end"]
    if end is None and duration == "repeating" and row["coupon__duration_in_months"] and row["start"]:
        end = add_months(row["start"], row["coupon__duration_in_months"])
    return Reduction(discount=row["id"], subscription=row["subscription"] or None,
                     subscription_item=row["subscription_item"] or None,
                     percent_off=None if percent is None else Decimal(str(percent)),
                     amount_off=amounts, start=row["start"], end=end, duration=duration)


def reductions_for(subscription_ids: Iterable[str] | QuerySet, item_ids: Iterable[str] | QuerySet = ()
                   ) -> dict[str, list[Reduction]]:
    """The discounts on these subscriptions and items (one query, values only), keyed by
    subscription id (an item's discount by its ``subscription_item`` id). The ids may be
    querysets of ids: subqueries then, not thousands of bound parameters."""
    found: dict[str, list[Reduction]] = defaultdict(list)
    sub_ids = subscription_ids if isinstance(subscription_ids, QuerySet) else list(subscription_ids)
    items = item_ids if isinstance(item_ids, QuerySet) else list(item_ids)
    if isinstance(sub_ids, list) and isinstance(items, list) and not sub_ids and not items:
        return found
    rows = (Discount.objects.filter(Q(subscription__in=sub_ids) | Q(subscription_item__in=items), deleted=False)
            .order_by("start", "id").values(*COLUMNS))
    return keyed(_reduction(row) for row in rows)


def keyed(reductions: Iterable[Reduction]) -> dict[str, list[Reduction]]:
    """``reductions`` (in their order) keyed as :func:`reductions_for` keys them."""
    found: dict[str, list[Reduction]] = defaultdict(list)
    for reduction in reductions:
        found[reduction.subscription_item or reduction.subscription or ""].append(reduction)
    return found


def subscription_reductions() -> list[Reduction]:
    """Every discount on a subscription (or on its item), in the order of
    :func:`reductions_for` (one query): MRR at several dates reads them once and keeps
    each date's own (:func:`.mrr.mrr_at_dates`)."""
    rows = (Discount.objects.filter(deleted=False, subscription__isnull=False).exclude(subscription="")
            .order_by("start", "id").values(*COLUMNS))
    return [_reduction(row) for row in rows]


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
