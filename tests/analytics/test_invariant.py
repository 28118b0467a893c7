"""starting MRR + movements == ending MRR, exactly, on every month of a randomly drawn
account (seeded: the same account on every run and database)."""

from __future__ import annotations

import datetime as dt

import pytest

from stripe_django import analytics
from stripe_django.sync import upsert_many
from stripe_django.testing.revenue import random_account

UTC = dt.timezone.utc


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [7, 2026])
def test_starting_plus_movements_is_ending_every_month(payloads, seed):
    objects = list(random_account(payloads, subscriptions=1000, months=24, seed=seed))
    result = upsert_many(objects)
    assert not result.errors and result.failed == 0
    start, end = dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2026, 1, 1, tzinfo=UTC)
    periods = analytics.movements(start, end, period="month")
    assert len(periods) == 24
    kinds_seen = set()
    for period in periods:
        for currency in set(period.starting) | set(period.ending):
            moved = sum(period.totals()[currency].values())
            assert period.starting.get(currency, 0) + moved == period.ending.get(currency, 0), (period.start, currency)
        kinds_seen |= {m.kind for m in period.customers}
    for before, after in zip(periods, periods[1:]):
        assert before.ending == after.starting
    # the per-customer figures add up to the totals computed by other groupings
    at = periods[12].start
    assert periods[12].starting == analytics.mrr(at)
    assert sum(analytics.mrr_by("price", at).values()) == sum(analytics.mrr(at).values())
    # the account exercises every kind of movement, and both currencies
    assert kinds_seen == set(analytics.KINDS)
    assert set(periods[-1].ending) == {"eur", "usd"}
