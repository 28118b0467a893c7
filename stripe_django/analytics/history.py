"""MRR at past dates from subscription invoices, and its agreement with the subscriptions
(guide, "History").

The mirror holds a subscription's current state only, so the past comes from what was
billed: every finalized invoice (not draft, not void) line that bills a subscription
item for a period (``parent.type == "subscription_item_details"``, not a proration)
says what was in force from ``period.start`` (included) to ``period.end`` (excluded):
its amount less its discount amounts, per month by its price's interval, rounded half up
per line. Tax is not in a line's amount. Prorations (upgrades and downgrades mid-period)
are left out: the line of the next period carries the new amount.

Lines of the API versions before 2025-03-31 (``type == "subscription"``, no ``parent``)
are not read.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import BigIntegerField, Count
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from ..models import InvoiceLineItem, Subscription
from .counting import AccountFilter, subscriptions_active_at
from .mrr import Breakdown, MRRResult, _Terms, mrr_detail
from .normalize import UnsupportedPrice, per_month, round_amount

# what each breakdown reads from a line
LINE_KEY: dict[str, str | None] = {
    "currency": None,
    "price": "billed_price",
    "product": "billed_price",
    "account": "stripe_account",
    "customer": "invoice__customer_id",
    "subscription": "billed_subscription",
}


def subscription_lines_at(at: dt.datetime):
    """The invoice lines billing a subscription item for a period that contains ``at``."""
    stamp = int(at.timestamp())
    return (InvoiceLineItem.objects
            .filter(deleted=False, parent__type="subscription_item_details",
                    parent__subscription_item_details__proration=False)
            .exclude(invoice__status__in=("draft", "void"))
            .annotate(period_start=Cast(KT("period__start"), BigIntegerField()),
                      period_end=Cast(KT("period__end"), BigIntegerField()),
                      billed_price=KT("pricing__price_details__price"),
                      billed_subscription=KT("parent__subscription_item_details__subscription"))
            .filter(period_start__lte=stamp, period_end__gt=stamp))


def mrr_from_invoices(at: dt.datetime | None = None, *, by: Breakdown = "currency", currency: str | None = None,
                      account: AccountFilter = ...) -> MRRResult:
    """MRR at ``at`` from the invoice lines in force then (see the module's rule)."""
    at = at or timezone.now()
    if by not in LINE_KEY:
        raise ValueError(f"by must be one of {', '.join(LINE_KEY)}, not {by!r}")
    lines = subscription_lines_at(at)
    if currency is not None:
        lines = lines.filter(currency=currency.lower())
    if account is not ...:
        lines = lines.filter(stripe_account=account)
    # Lines of the same price, amount and discounts have the same MRR: the database
    # counts them, and each group is priced once (its rounded MRR x its count, which is
    # the sum of the lines' rounded MRR: the rule rounds per line).
    column = LINE_KEY[by]
    group = [c for c in ("currency", "billed_price", "amount", "discount_amounts", column) if c]
    rows = list(lines.values(*dict.fromkeys(group)).annotate(n=Count("pk")).order_by())
    terms = _Terms([r["billed_price"] for r in rows], [])
    result = MRRResult(at=at, by=by, source="invoices")
    for row in rows:
        try:
            price = terms.of(row["billed_price"], None)
        except UnsupportedPrice as error:
            result.skipped.append((f"{row['n']} line(s) of {row['billed_price']}", str(error)))
            continue
        net = (row["amount"] or 0) - sum((d.get("amount") or 0) for d in (row["discount_amounts"] or [])
                                          if isinstance(d, dict))
        key = price.product if by == "product" else (row[column] if column else None)
        result.add((row["currency"] or "").lower(), key, round_amount(per_month(Decimal(net), price)) * row["n"])
    return result


@dataclass(frozen=True)
class Difference:
    """One subscription whose MRR from invoices is not its MRR from its current state."""

    subscription: str
    currency: str
    from_subscriptions: int
    from_invoices: int
    cause: str

    @property
    def amount(self) -> int:
        return self.from_subscriptions - self.from_invoices


@dataclass
class Agreement:
    """Today's MRR from subscriptions and from invoices, per currency, and why they differ."""

    at: dt.datetime
    from_subscriptions: dict[str, int] = field(default_factory=dict)
    from_invoices: dict[str, int] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)

    def by_cause(self) -> dict[str, dict[str, int]]:
        """cause -> currency -> sum of (from subscriptions - from invoices)."""
        out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for diff in self.differences:
            out[diff.cause][diff.currency] += diff.amount
        return {cause: dict(v) for cause, v in out.items()}


NOT_INVOICED = "counted, but no invoice line covers the date"
NOT_COUNTED = "invoiced for the date, but not counted: {why}"
ROUNDING = "rounding (at most one unit per item)"
CHANGED = "amount changed since the invoice (price, quantity or discount)"


def why_not_counted(subscription: Subscription | None, at: dt.datetime) -> str:
    """The rule of :mod:`.counting` that leaves a subscription out at ``at``, in words."""
    if subscription is None:
        return "the subscription is not in the mirror"
    if subscription.pause_collection:
        return "its collection is paused"
    if subscription.trial_end and subscription.trial_end > at:
        return "in its trial"
    for stamp, words in ((subscription.ended_at, "it had ended"), (subscription.cancel_at, "it was canceled")):
        if stamp and stamp <= at:
            return words
    if subscription.start_date and subscription.start_date > at:
        return "it had not started"
    return f"status {subscription.status}"


def agreement(at: dt.datetime | None = None, *, currency: str | None = None, account: AccountFilter = ...) -> Agreement:
    """Compare MRR at ``at`` (default now) from current subscriptions and from invoices,
    subscription by subscription, and name the cause of each difference."""
    at = at or timezone.now()
    subs = mrr_detail(at, by="subscription", currency=currency, account=account)
    invoiced = mrr_from_invoices(at, by="subscription", currency=currency, account=account)
    result = Agreement(at=at, from_subscriptions=subs.by_currency(), from_invoices=invoiced.by_currency())
    keys = set(subs.amounts) | set(invoiced.amounts)
    counted = set(subscriptions_active_at(at, currency=currency, account=account)
                  .filter(pk__in=[s for _, s in keys]).values_list("pk", flat=True))
    subscriptions = {sub.pk: sub for sub in Subscription.objects.filter(pk__in=[s for _, s in keys]).only(
        "status", "pause_collection", "trial_end", "start_date", "ended_at", "cancel_at")}
    items: dict[str, int] = defaultdict(int)
    for sub_id in Subscription.objects.filter(pk__in=[s for _, s in keys]).values_list(
            "subscription_items__subscription_id", flat=True):
        items[sub_id] += 1
    for key in sorted(keys, key=lambda k: (k[0], str(k[1]))):
        cur, sub_id = key
        a, b = subs.amounts.get(key, 0), invoiced.amounts.get(key, 0)
        if a == b:
            continue
        if not b:
            cause = NOT_INVOICED
        elif sub_id not in counted:
            cause = NOT_COUNTED.format(why=why_not_counted(subscriptions.get(sub_id), at))
        elif abs(a - b) <= max(items.get(sub_id, 1), 1):
            cause = ROUNDING
        else:
            cause = CHANGED
        result.differences.append(Difference(subscription=sub_id, currency=cur, from_subscriptions=a,
                                             from_invoices=b, cause=cause))
    return result
