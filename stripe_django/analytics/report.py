"""The monthly revenue table shown by ``manage.py stripe_metrics`` and the admin's Revenue
page: one row per month and currency, starting MRR, each kind of movement, ending MRR."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from django.utils import timezone

from .counting import AccountFilter
from .discounts import add_months
from .movements import KINDS, PeriodMovements, Source, movements


@dataclass(frozen=True)
class MonthRow:
    """One period of the table in one currency (amounts in the smallest unit)."""

    start: dt.datetime
    end: dt.datetime
    currency: str
    starting: int
    new: int
    expansion: int
    contraction: int
    churn: int
    reactivation: int
    ending: int
    customers: int  # with MRR at the end
    # what the starting and ending figures come from ("subscriptions", "events", "invoices")
    starting_source: str = ""
    ending_source: str = ""

    @property
    def sources(self) -> str:
        """The sources in a word, or two (``events -> subscriptions``) when they differ."""
        if self.starting_source == self.ending_source:
            return self.ending_source
        return f"{self.starting_source} -> {self.ending_source}"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["start"], data["end"] = self.start.isoformat(), self.end.isoformat()
        return data


COLUMNS = ("start", "end", "currency", "starting", *KINDS, "ending", "customers", "starting_source",
           "ending_source")


def last_months(months: int, *, until: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """The ``months`` calendar months up to ``until`` (default now), the current month's
    part included: (first day of the first month, ``until``)."""
    if months < 1:
        raise ValueError(f"months must be at least 1, not {months}")
    until = until or timezone.now()
    first = until.astimezone(dt.timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if first == until:  # the first instant of a month: the months before it, all whole
        first = add_months(first, -1)
    return add_months(first, -(months - 1)), until


def rows_of(periods: list[PeriodMovements]) -> list[MonthRow]:
    rows = []
    for period in periods:
        totals = period.totals()
        ending_customers: dict[str, int] = {}
        for cur in period.customers_at_start:
            ending_customers[cur] = period.customers_at_start[cur]
        for move in period.customers:
            if not move.starting and move.ending:
                ending_customers[move.currency] = ending_customers.get(move.currency, 0) + 1
            elif move.starting and not move.ending:
                ending_customers[move.currency] = ending_customers.get(move.currency, 0) - 1
        for cur in sorted(totals):
            kinds = totals[cur]
            rows.append(MonthRow(start=period.start, end=period.end, currency=cur,
                                 starting=period.starting.get(cur, 0), ending=period.ending.get(cur, 0),
                                 customers=ending_customers.get(cur, 0), starting_source=period.starting_source,
                                 ending_source=period.ending_source, **kinds))
    return rows


def monthly_table(months: int = 12, *, until: dt.datetime | None = None, currency: str | None = None,
                  account: AccountFilter = ..., source: Source = "subscriptions") -> tuple[list[MonthRow], list[PeriodMovements]]:
    """The table of the last ``months`` months, and the periods it was made of (for the
    customers behind each movement)."""
    start, end = last_months(months, until=until)
    periods = movements(start, end, "month", currency=currency, account=account, source=source)
    return rows_of(periods), periods
