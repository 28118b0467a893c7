"""What moved MRR between two dates, per customer (guide, "Movements").

For each customer and currency, with MRR ``a`` at the start and ``b`` at the end:

- ``new``: ``a == 0 < b`` and the customer never counted before the start;
- ``reactivation``: ``a == 0 < b`` and the customer had counted before (a subscription
  of theirs in that currency ended before the start, after counting);
- ``expansion``: ``0 < a < b``; ``contraction``: ``0 < b < a``;
- ``churn``: ``a > 0 == b``.

Each movement is ``b - a`` (churn and contraction negative), so for every period
``starting MRR + sum of movements == ending MRR`` holds exactly: it holds for each
customer, and the totals are sums of the same integers.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from django.db.models import F, Q

from .counting import AccountFilter
from ..models import Subscription
from .discounts import add_months
from .mrr import MRRResult, mrr_at_dates, mrr_detail

KINDS = ("new", "expansion", "contraction", "churn", "reactivation")
Period = Literal["month", "week", "day"]
Source = Literal["subscriptions", "invoices"]


@dataclass(frozen=True)
class Movement:
    """One customer's change of MRR in one currency over a period."""

    customer: str
    currency: str
    kind: str
    starting: int
    ending: int

    @property
    def amount(self) -> int:
        return self.ending - self.starting


@dataclass
class PeriodMovements:
    """Starting and ending MRR of a period per currency, and the movements between."""

    start: dt.datetime
    end: dt.datetime
    source: str  # the source asked for: "subscriptions" or "invoices"
    starting: dict[str, int] = field(default_factory=dict)
    ending: dict[str, int] = field(default_factory=dict)
    # customers with MRR above zero at the start, per currency
    customers_at_start: dict[str, int] = field(default_factory=dict)
    customers: list[Movement] = field(default_factory=list)
    # what the starting and the ending figures come from: "subscriptions" (their current
    # state), "events" (their state then, rebuilt from the events) or "invoices"
    starting_source: str = ""
    ending_source: str = ""

    def totals(self) -> dict[str, dict[str, int]]:
        """currency -> movement kind -> amount (every kind present, zero when none)."""
        out: dict[str, dict[str, int]] = {}
        for currency in sorted(set(self.starting) | set(self.ending)):
            out[currency] = dict.fromkeys(KINDS, 0)
        for move in self.customers:
            out.setdefault(move.currency, dict.fromkeys(KINDS, 0))[move.kind] += move.amount
        return out

    def counts(self) -> dict[str, dict[str, int]]:
        """currency -> movement kind -> number of customers."""
        out: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(KINDS, 0))
        for move in self.customers:
            out[move.currency][move.kind] += 1
        return dict(out)


def customer_mrr(at: dt.datetime, *, currency: str | None = None, account: AccountFilter = ...,
                 source: Source = "subscriptions") -> dict[tuple[str, str], int]:
    """(currency, customer) -> MRR at ``at``, from subscriptions (their state at ``at``
    inside the events window, their current state otherwise) or from invoices."""
    return _customer_figures(at, currency=currency, account=account, source=source)[0]


Figures = tuple[dict[tuple[str, str], int], str]


def _customer_figures(at: dt.datetime, *, currency: str | None, account: AccountFilter,
                      source: Source) -> Figures:
    """:func:`customer_mrr`, and what it came from (``MRRResult.source``)."""
    return _figures_at([at], currency=currency, account=account, source=source)[0]


def _figures_at(dates: list[dt.datetime], *, currency: str | None, account: AccountFilter,
                source: Source) -> list[Figures]:
    """:func:`_customer_figures` at each of ``dates`` (from subscriptions, what does not
    depend on the date is read once: :func:`.mrr.mrr_at_dates`)."""
    results: list[MRRResult]
    if source == "invoices":
        from .history import mrr_from_invoices

        results = [mrr_from_invoices(at, by="customer", currency=currency, account=account) for at in dates]
    elif source == "subscriptions":
        results = (mrr_at_dates(dates, by="customer", currency=currency, account=account) if len(dates) > 1
                   else [mrr_detail(dates[0], by="customer", currency=currency, account=account)])
    else:
        raise ValueError(f"source must be 'subscriptions' or 'invoices', not {source!r}")
    return [({(cur, customer or ""): amount for (cur, customer), amount in result.amounts.items() if amount},
             result.source) for result in results]


def _counted_before(arrivals: list[tuple[set[tuple[str, str]], dt.datetime]]) -> list[set[tuple[str, str]]]:
    """For each (``customers``, ``start``) of ``arrivals``: the (currency, customer)
    pairs among ``customers`` with a subscription that counted and ended before
    ``start`` (one query for all of them)."""
    everyone = {c for customers, _ in arrivals for _, c in customers}
    if not everyone:
        return [set() for _ in arrivals]
    ended = (Subscription.objects.filter(customer_id__in=everyone, ended_at__lte=max(start for _, start in arrivals),
                                         start_date__lt=F("ended_at"))
             .filter(Q(trial_end__isnull=True) | Q(trial_end__lt=F("ended_at")))
             .values_list("currency", "customer_id", "ended_at"))
    # each pair's earliest end: it counted before ``start`` when that end is by ``start``
    first_end: dict[tuple[str, str], dt.datetime] = {}
    for cur, cus, ended_at in ended:
        if (cur, cus) not in first_end or ended_at < first_end[(cur, cus)]:
            first_end[(cur, cus)] = ended_at
    return [{key for key in customers if key in first_end and first_end[key] <= start}
            for customers, start in arrivals]


def movements_between(start: dt.datetime, end: dt.datetime, *, currency: str | None = None, account: AccountFilter = ...,
                      source: Source = "subscriptions", _starting: Figures | None = None,
                      _ending: Figures | None = None,
                      _returning: set[tuple[str, str]] | None = None) -> PeriodMovements:
    """Movements of MRR from ``start`` to ``end``, per customer and currency."""
    if end <= start:
        raise ValueError(f"the end ({end}) must be after the start ({start})")
    a, a_source = _starting or _customer_figures(start, currency=currency, account=account, source=source)
    b, b_source = _ending or _customer_figures(end, currency=currency, account=account, source=source)
    result = PeriodMovements(start=start, end=end, source=source, starting_source=a_source, ending_source=b_source)
    for (cur, _), amount in a.items():
        result.starting[cur] = result.starting.get(cur, 0) + amount
        result.customers_at_start[cur] = result.customers_at_start.get(cur, 0) + (amount > 0)
    for (cur, _), amount in b.items():
        result.ending[cur] = result.ending.get(cur, 0) + amount
    returning = _returning if _returning is not None else _counted_before([(_arrivals(a, b), start)])[0]
    # only the customers whose MRR changed are sorted: most of them, month to month, not
    changed = [(key, before, after) for key in a.keys() | b.keys()
               if (before := a.get(key, 0)) != (after := b.get(key, 0))]
    for key, before, after in sorted(changed):
        if not before:
            kind = "reactivation" if key in returning else "new"
        elif not after:
            kind = "churn"
        else:
            kind = "expansion" if after > before else "contraction"
        result.customers.append(Movement(customer=key[1], currency=key[0], kind=kind, starting=before,
                                         ending=after))
    return result


def boundaries(start: dt.datetime, end: dt.datetime, period: Period = "month") -> list[dt.datetime]:
    """``start``, each period's start after it (months from the first of the month), ``end``."""
    if end <= start:
        raise ValueError(f"the end ({end}) must be after the start ({start})")
    points = [start]
    if period == "month":
        step = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        nxt = add_months(step, 1)
        while nxt < end:
            points.append(nxt)
            nxt = add_months(nxt, 1)
    elif period in ("week", "day"):
        delta = dt.timedelta(weeks=1) if period == "week" else dt.timedelta(days=1)
        nxt = start + delta
        while nxt < end:
            points.append(nxt)
            nxt += delta
    else:
        raise ValueError(f"period must be 'month', 'week' or 'day', not {period!r}")
    points.append(end)
    return points


def movements(start: dt.datetime, end: dt.datetime, period: Period = "month", *, currency: str | None = None,
              account: AccountFilter = ..., source: Source = "subscriptions") -> list[PeriodMovements]:
    """Movements for each period between ``start`` and ``end`` (MRR computed once per boundary)."""
    points = boundaries(start, end, period)
    figures = _figures_at(points, currency=currency, account=account, source=source)
    returning = _counted_before([(_arrivals(figures[i][0], figures[i + 1][0]), points[i])
                                 for i in range(len(points) - 1)])
    return [movements_between(points[i], points[i + 1], currency=currency, account=account, source=source,
                              _starting=figures[i], _ending=figures[i + 1], _returning=returning[i])
            for i in range(len(points) - 1)]


def _arrivals(a: dict[tuple[str, str], int], b: dict[tuple[str, str], int]) -> set[tuple[str, str]]:
    """The (currency, customer) pairs with MRR at the end and none at the start."""
    return {key for key in b if not a.get(key)}
