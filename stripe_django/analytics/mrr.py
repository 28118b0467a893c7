"""MRR at a date from the mirror's current subscriptions (guide, "MRR").

The work is split so that the database does the counting: subscription items are
grouped in SQL by (price, quantity, currency, and the breakdown asked for) and, for
subscriptions with a discount, by what the database says that discount does to the
item at the date (:mod:`.item_groups`); each group is priced once
(its monthly amount x its count). Only the subscriptions it cannot group (several
discounts, an amount off their sum, an end it cannot place) and metered items are
priced one by one, from rows read in a fixed number of queries.

Each item's monthly amount is rounded to the smallest currency unit (half up) after its
percent discounts, so totals are sums of integers and any breakdown adds up to the total
exactly. Currencies are never added together: every figure is keyed by currency.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Literal

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q, QuerySet
from django.utils import timezone

from ..conf import SETTING_NAME, stripe_settings
from ..models import InvoiceLineItem, Plan, Price, Subscription, SubscriptionItem
from . import discounts as disc
from . import events
from .counting import AccountFilter, subscriptions_active_at
from .item_groups import COUPON, EFFECT, grouped_items
from .normalize import PriceTerms, UnsupportedPrice, monthly_amount, per_month, round_amount, terms_of

Breakdown = Literal["currency", "product", "price", "account", "customer", "subscription"]

# The column of SubscriptionItem each breakdown groups on (besides the currency).
GROUP_COLUMN: dict[str, str | None] = {
    "currency": None,
    "price": "price_id",  # (the plan's id for items without a price)
    "product": "price_id",  # mapped to the price's product after grouping
    "account": "subscription__stripe_account",
    "customer": "subscription__customer_id",
    "subscription": "subscription_id",
}
# (the account only when grouped by it: a column less to group on otherwise)
ITEM_COLUMNS = ("price_id", "plan_id", "quantity", "subscription__currency")


@dataclass
class MRRResult:
    """MRR keyed by (currency, breakdown value), and the items that could not be priced."""

    at: dt.datetime
    by: str
    amounts: dict[tuple[str, Any], int] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (subscription item, why)
    # what the figures come from: "subscriptions" (their current state), "events" (their
    # state at the date, rebuilt from the events after it) or "invoices"
    source: str = "subscriptions"
    # subscriptions whose state at the date was rebuilt from their events
    rebuilt: int = 0

    def add(self, currency: str, key: Any, amount: int) -> None:
        if amount:
            self.amounts[(currency, key)] = self.amounts.get((currency, key), 0) + amount

    def by_currency(self) -> dict[str, int]:
        totals: dict[str, int] = defaultdict(int)
        for (currency, _), amount in self.amounts.items():
            totals[currency] += amount
        return dict(sorted(totals.items()))


def _metered_mode() -> str:
    mode = stripe_settings.REVENUE_METERED
    if mode not in ("last_period", "exclude"):
        raise ImproperlyConfigured(f"{SETTING_NAME}['REVENUE_METERED'] must be 'last_period' or "
                                   f"'exclude', not {mode!r}")
    return mode


TERMS_FIELDS = {
    Price: ("currency", "recurring", "unit_amount", "unit_amount_decimal", "billing_scheme", "tiers_mode",
            "tiers", "transform_quantity", "product"),
    Plan: ("currency", "interval", "interval_count", "usage_type", "amount", "amount_decimal", "billing_scheme",
           "tiers_mode", "tiers", "transform_usage", "product"),
}


class _Terms:
    """Price and plan terms read once per call (one query each for the ids asked).

    ``read`` keeps the rows already read by model, for calls at several dates
    (:func:`mrr_at_dates`): each date's terms are then built from it, reading only the
    ids not read yet, and hold exactly the ids that date asks, as a call of its own."""

    def __init__(self, price_ids: Iterable[str | None], plan_ids: Iterable[str | None],
                 read: dict[type, dict[str, PriceTerms | str | None]] | None = None) -> None:
        self.terms: dict[str, PriceTerms | str] = {}
        read = {} if read is None else read
        for model, ids in ((Plan, plan_ids), (Price, price_ids)):  # a price wins over its plan
            wanted = {i for i in ids if i}
            known = read.setdefault(model, {})
            missing = wanted - known.keys()
            # (not stripe_data: the whole object, parsed for nothing)
            for row in model.objects.filter(pk__in=missing).only(*TERMS_FIELDS[model]) if missing else ():
                try:
                    known[row.pk] = terms_of(row)
                except UnsupportedPrice as error:
                    known[row.pk] = str(error)
            known.update((i, None) for i in missing if i not in known)  # not in the mirror: not asked again
            self.terms.update((i, found) for i in wanted if (found := known[i]) is not None)

    def of(self, price_id: str | None, plan_id: str | None) -> PriceTerms:
        for key in (price_id, plan_id):
            found = self.terms.get(key) if key else None
            if isinstance(found, PriceTerms):
                return found
            if isinstance(found, str):
                raise UnsupportedPrice(found)
        raise UnsupportedPrice(f"price {price_id or plan_id} is not in the mirror")


@dataclass
class _Dates:
    """What MRR at several dates (:func:`mrr_at_dates`) reads once for all of them: the
    events window, the price and plan terms, the coupons."""

    now: dt.datetime
    span: events.Window | None
    terms: dict[type, dict[str, PriceTerms | str | None]] = field(default_factory=dict)
    coupons: dict[str, disc.Reduction | None] = field(default_factory=dict)


def _coupons(ids: Iterable[str | None], read: dict[str, disc.Reduction | None] | None) -> dict[str, disc.Reduction]:
    """The coupons of these ids (one query for those not in ``read`` yet)."""
    read = {} if read is None else read
    missing = {i for i in ids if i} - read.keys()
    if missing:
        found = disc.coupon_reductions(missing)
        read.update((i, found.get(i)) for i in missing)  # not in the mirror: no reduction
    return {i: r for i, r in read.items() if r is not None}


def _key(by: str, row: dict[str, Any], terms: PriceTerms | None) -> Any:
    if by == "currency":
        return None
    if by == "product":
        return terms.product if terms else None
    if by == "price":
        return terms.id if terms else row.get("price_id") or row.get("plan_id")
    return row[GROUP_COLUMN[by]]  # type: ignore[index]


def _price_group(terms: _Terms, coupons: dict[str, disc.Reduction], asked: tuple[Any, ...],
                 at: dt.datetime) -> tuple[PriceTerms, int | None] | str:
    """The monthly amount of one item of a group (price, plan, quantity, currency,
    discount effect, coupon), with its discount if the database found it in force;
    None for a metered price or an item priced one by one; the reason it cannot be
    priced."""
    price_id, plan_id, quantity, currency, effect, coupon_id = asked
    try:
        item_terms = terms.of(price_id, plan_id)
        if item_terms.metered or effect == disc.ONE_BY_ONE:
            return item_terms, None
        monthly = monthly_amount(item_terms, quantity or 0)
    except UnsupportedPrice as error:
        return str(error)
    coupon = coupons.get(coupon_id) if effect in disc.REDUCING else None
    if coupon is not None:  # in force (the database said so), and alone on this item
        monthly = disc.reduce_item(monthly, item_terms, currency, at, [coupon] if effect == disc.ON_THIS_ITEM else [],
                                   [coupon] if effect == disc.PERCENT_ON_SUBSCRIPTION else [])
    return item_terms, round_amount(monthly)


def mrr_at_dates(dates: list[dt.datetime], *, by: Breakdown = "currency", currency: str | None = None,
                 account: AccountFilter = ...) -> list[MRRResult]:
    """:func:`mrr_detail` at each of ``dates``, the same figures, with what does not
    depend on the date read once: the events window, the terms, the coupons."""
    now = timezone.now()
    dates_ = _Dates(now=now, span=events.window(now) if any(at < now for at in dates) else None)
    return [mrr_detail(at, by=by, currency=currency, account=account, _dates=dates_) for at in dates]


def mrr_detail(at: dt.datetime | None = None, *, by: Breakdown = "currency", currency: str | None = None,
               account: AccountFilter = ...,
               subscriptions: QuerySet[Subscription] | None = None, _dates: _Dates | None = None) -> MRRResult:
    """MRR at ``at`` (default now) broken down ``by`` one of :data:`GROUP_COLUMN`.

    ``subscriptions`` narrows the counted subscriptions further (it is intersected with
    :func:`subscriptions_active_at`).

    Inside the events window (:mod:`.events`), the subscriptions with an event after
    ``at`` are counted and priced in the state the events give for ``at``; the others
    are as they are now (``result.source`` says which: ``events`` or ``subscriptions``)."""
    now = _dates.now if _dates else timezone.now()
    at = at or now
    if by not in GROUP_COLUMN:
        raise ValueError(f"by must be one of {', '.join(GROUP_COLUMN)}, not {by!r}")
    metered_mode = _metered_mode()
    counted = subscriptions_active_at(at, currency=currency, account=account)
    if subscriptions is not None:
        counted = counted.filter(pk__in=subscriptions.values("pk"))
    span = (_dates.span if _dates else events.window(now)) if at < now else None
    rebuilt = events.states_at(at, span) if span is not None else events.Rebuilt()
    if rebuilt.states:
        # their current state is not the one at ``at``: priced below from the events
        # (a subquery, not their ids: tens of thousands of parameters to bind)
        counted = events.without_events_after(counted, at, span)  # type: ignore[arg-type]
    items = SubscriptionItem.objects.filter(subscription__in=counted.values("pk"), deleted=False)
    result = MRRResult(at=at, by=by, source=span.source_at(at) if span else events.CURRENT,
                       rebuilt=len(rebuilt.states))
    columns = list(ITEM_COLUMNS)
    group = GROUP_COLUMN[by]
    if group and group not in columns:
        columns.append(group)

    # every counted item in groups counted by the database, by price, quantity and what
    # their subscription's discount does to them at ``at``; the items it cannot price
    # alone (several discounts, an amount off a subscription's sum, an end it cannot
    # place) come one by one, priced below a subscription at a time with its discounts
    # (chosen by a subquery, not by their ids: thousands of parameters to bind)
    groups = grouped_items(items, columns, at, group=by not in ("customer", "subscription"))
    # (in the order of their creation, as ORDER BY created puts NULLs: last)
    single_rows = sorted((row for row in groups if row[EFFECT] == disc.ONE_BY_ONE),
                         key=lambda row: (row["subscription_id"], row["created"] is None, str(row["created"] or ""),
                                          row["pk"]))
    # (of every such subscription in the mirror, counted or not: narrowing them to the
    # counted ones costs the counted subscriptions' scan again, more than the few rows it
    # saves; at 100,000 subscriptions the bench's profiles show 35 ms without it, 147 ms
    # with it, that run under more load)
    found = disc.reductions_for(disc.one_by_one_subscriptions(at).using(items.db)) if single_rows else {}
    terms = _Terms([r["price_id"] for r in groups], [r["plan_id"] for r in groups],
                   _dates.terms if _dates else None)
    coupons = _coupons([r[COUPON] for r in groups if r[EFFECT] in disc.REDUCING],
                       _dates.coupons if _dates else None)
    metered: list[tuple[dict[str, Any], PriceTerms]] = []
    # each (price, plan, quantity, currency, discount) looked up and priced once: by
    # customer or by subscription there is about a group per item, but few of these
    priced: dict[tuple[Any, ...], tuple[PriceTerms, int | None] | str] = {}
    skipped: dict[tuple[str, str], int] = {}  # (price, why) -> items: one line per price, not per group
    for row in groups:
        asked = (row["price_id"], row["plan_id"], row["quantity"], row["subscription__currency"], row[EFFECT],
                 row[COUPON])
        outcome = priced.get(asked)
        if outcome is None:
            outcome = priced[asked] = _price_group(terms, coupons, asked, at)
        if isinstance(outcome, str):
            reason = (row["price_id"] or row["plan_id"], outcome)
            skipped[reason] = skipped.get(reason, 0) + row["n"]
            continue
        item_terms, each = outcome
        if each is None:  # metered, or among single_rows
            if item_terms.metered:  # never discounted: read one by one below, whatever their discounts
                metered.append((row, item_terms))
            continue
        result.add(row["subscription__currency"], _key(by, row, item_terms), each * row["n"])
    result.skipped += [(f"{n} item(s) of {price}", why) for (price, why), n in skipped.items()]
    # (their metered items are counted with the others: "exclude" here)
    _add_discounted(result, single_rows, terms, at, "exclude", reductions=found, report_skipped=False)
    if metered and metered_mode == "last_period":
        _add_metered(result, items, metered, at)
    if rebuilt.states:
        _add_rebuilt(result, rebuilt, at, metered_mode, currency, account, subscriptions,
                     _dates.terms if _dates else None)
    # (a breakdown's key whose items were all discounted to nothing)
    result.amounts = {key: amount for key, amount in result.amounts.items() if amount}
    return result


def _add_rebuilt(result: MRRResult, rebuilt: events.Rebuilt, at: dt.datetime, metered_mode: str,
                 currency: str | None, account: AccountFilter, subscriptions: QuerySet[Subscription] | None,
                 read_terms: dict[type, dict[str, PriceTerms | str | None]] | None = None) -> None:
    """The subscriptions whose state at ``at`` the events gave: counted by the same rule
    and priced like the discounted ones, with the discounts their state names."""
    wanted = set(rebuilt.states)
    if subscriptions is not None:
        # (a chunk at a time: a change of thousands of subscriptions would bind them all)
        wanted = {pk for chunk in events.chunks(sorted(wanted))
                  for pk in subscriptions.filter(pk__in=chunk).values_list("pk", flat=True)}
    states = {sub_id: state for sub_id, state in rebuilt.states.items()
              if sub_id in wanted and state is not None and events.counts_at(state, at)
              and events.keep(rebuilt.accounts.get(sub_id), state, currency, account)}
    rows = [row for sub_id, state in states.items()
            for row in events.item_rows(sub_id, state, rebuilt.accounts.get(sub_id))]
    if not rows:
        return
    terms = _Terms([r["price_id"] for r in rows], [r["plan_id"] for r in rows], read_terms)
    _add_discounted(result, rows, terms, at, metered_mode, reductions=events.reductions_of(states))


def _add_discounted(result: MRRResult, rows: list[dict[str, Any]], terms: _Terms, at: dt.datetime,
                    metered_mode: str, reductions: dict[str, list[disc.Reduction]],
                    report_skipped: bool = True) -> None:
    """Subscriptions priced one by one (their items' ``rows``, in order), with their
    discounts (``reductions``, keyed as :func:`.discounts.reductions_for` keys them)."""
    if not rows:
        return
    by_sub: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_sub[row["subscription_id"]].append(row)
    meters = []
    for sub_id, sub_rows in by_sub.items():
        sub_reductions = reductions.get(sub_id, [])
        priced: list[tuple[dict[str, Any], PriceTerms, int]] = []
        for row in sub_rows:
            try:
                item_terms = terms.of(row["price_id"], row["plan_id"])
                if item_terms.metered:
                    if metered_mode == "last_period":
                        meters.append((row, item_terms))
                    continue
                monthly = monthly_amount(item_terms, row["quantity"] or 0)
            except UnsupportedPrice as error:
                if report_skipped:
                    result.skipped.append((row["pk"], str(error)))
                continue
            currency = row["subscription__currency"]
            monthly = disc.reduce_item(monthly, item_terms, currency, at, reductions.get(row["pk"], []),
                                       sub_reductions)
            priced.append((row, item_terms, round_amount(monthly)))
        if not priced:
            continue
        currency = priced[0][0]["subscription__currency"]
        off = round_amount(disc.subscription_amount_off(priced[0][1], currency, at, sub_reductions))
        # the subscription's amount off comes off its items in order, never below zero
        for row, item_terms, amount in priced:
            taken = min(off, amount)
            off -= taken
            result.add(currency, _key(result.by, row, item_terms), amount - taken)
    if meters:
        _add_metered_rows(result, meters, at)


def _line_net(line: InvoiceLineItem) -> int:
    discounted = sum((d.get("amount") or 0) for d in (line.discount_amounts or []) if isinstance(d, dict))
    return (line.amount or 0) - discounted


def _add_metered(result: MRRResult, items: QuerySet[SubscriptionItem],
                 metered: list[tuple[dict[str, Any], PriceTerms]], at: dt.datetime) -> None:
    """The metered items among the grouped ones, one row each (one query): discounts
    do not bear on them, whatever their subscription's."""
    terms_of_price = {row["price_id"] or row["plan_id"]: terms for row, terms in metered}
    columns = ["pk", *ITEM_COLUMNS]
    group = GROUP_COLUMN[result.by]
    if group and group not in columns:
        columns.append(group)
    price_ids = [p for p in terms_of_price if p]
    query = items.filter(Q(price_id__in=price_ids) | Q(price__isnull=True, plan_id__in=price_ids))
    rows = [(row, terms_of_price[row["price_id"] or row["plan_id"]]) for row in query.values(*columns)]
    _add_metered_rows(result, rows, at)


def _add_metered_rows(result: MRRResult, rows: list[tuple[dict[str, Any], PriceTerms]], at: dt.datetime) -> None:
    """A metered item adds the amount billed for its last period that ended by ``at``,
    per month (one query for all the items' lines)."""
    by_item = {row["pk"]: (row, terms) for row, terms in rows}
    lines = (InvoiceLineItem.objects
             .filter(parent__subscription_item_details__subscription_item__in=list(by_item), deleted=False)
             .exclude(invoice__status__in=("draft", "void")).only("amount", "discount_amounts", "period", "parent"))
    latest: dict[str, tuple[int, int]] = {}
    stamp = int(at.timestamp())
    for line in lines:
        item = (line.parent or {}).get("subscription_item_details", {}).get("subscription_item")
        end = (line.period or {}).get("end")
        if item not in by_item or end is None or end > stamp:
            continue
        if item not in latest or end > latest[item][0]:
            latest[item] = (end, 0)
        if end == latest[item][0]:
            latest[item] = (end, latest[item][1] + _line_net(line))
    for item, (_, amount) in latest.items():
        row, terms = by_item[item]
        result.add(row["subscription__currency"], _key(result.by, row, terms),
                   round_amount(per_month(Decimal(amount), terms)))


def mrr(at: dt.datetime | None = None, *, currency: str | None = None,
        account: AccountFilter = ...) -> dict[str, int]:
    """MRR at ``at`` (default now) per currency, in the smallest unit: ``{"usd": 123400}``."""
    return mrr_detail(at, currency=currency, account=account).by_currency()


def mrr_by(by: Breakdown, at: dt.datetime | None = None, *, currency: str | None = None,
           account: AccountFilter = ...) -> dict[tuple[str, Any], int]:
    """MRR at ``at`` per (currency, product / price / account / customer / subscription)."""
    return dict(sorted(mrr_detail(at, by=by, currency=currency, account=account).amounts.items(),
                       key=lambda kv: (kv[0][0], str(kv[0][1]))))
