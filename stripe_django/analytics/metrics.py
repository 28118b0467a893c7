"""Figures derived from MRR and its movements (guide, "Other metrics").

Ratios are ``Decimal`` and rounded half up: rates to 4 decimal places (0.0250 is 2.5%),
ARPU to the smallest currency unit. A rate with nothing to divide by (no customer or no
MRR at the start) is None, not zero.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from .counting import AccountFilter
from .movements import PeriodMovements, Source, customer_mrr
from .mrr import mrr

RATE_PLACES = Decimal("0.0001")


def arr(at: dt.datetime | None = None, *, currency: str | None = None, account: AccountFilter = ...) -> dict[str, int]:
    """Annual run rate: MRR x 12, per currency."""
    return {cur: amount * 12 for cur, amount in mrr(at, currency=currency, account=account).items()}


def subscribers(at: dt.datetime | None = None, *, currency: str | None = None, account: AccountFilter = ...,
                source: Source = "subscriptions") -> dict[str, int]:
    """Customers with MRR above zero at ``at``, per currency."""
    from django.utils import timezone

    counts: dict[str, int] = defaultdict(int)
    for (cur, _), amount in customer_mrr(at or timezone.now(), currency=currency, account=account,
                                         source=source).items():
        if amount > 0:
            counts[cur] += 1
    return dict(sorted(counts.items()))


def arpu(at: dt.datetime | None = None, *, currency: str | None = None, account: AccountFilter = ...) -> dict[str, int]:
    """Average MRR per paying customer, per currency (rounded half up to the smallest unit)."""
    from django.utils import timezone

    at = at or timezone.now()
    totals = mrr(at, currency=currency, account=account)
    people = subscribers(at, currency=currency, account=account)
    return {cur: int((Decimal(totals[cur]) / people[cur]).to_integral_value(ROUND_HALF_UP))
            for cur in totals if people.get(cur)}


def _rate(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(RATE_PLACES, ROUND_HALF_UP)


def customer_churn_rate(period: PeriodMovements) -> dict[str, Decimal | None]:
    """Customers lost in the period / customers with MRR at its start, per currency."""
    counts = period.counts()
    return {cur: _rate(counts.get(cur, {}).get("churn", 0), period.customers_at_start.get(cur, 0))
            for cur in sorted(set(period.starting) | set(period.ending))}


def revenue_churn_rate(period: PeriodMovements, *, net: bool = False) -> dict[str, Decimal | None]:
    """Gross: (churn + contraction) / starting MRR; net: less expansion and reactivation."""
    out: dict[str, Decimal | None] = {}
    for cur, kinds in period.totals().items():
        lost = -(kinds["churn"] + kinds["contraction"])
        if net:
            lost -= kinds["expansion"] + kinds["reactivation"]
        out[cur] = _rate(lost, period.starting.get(cur, 0))
    return out
