"""Discounted subscriptions priced by the database's grouping (one discount whose effect
on an item stands alone) and one by one (the rest), at dates before, inside and after
each discount: every figure hand-computed from the guide's rules."""

from __future__ import annotations

import pytest

from stripe_django import analytics
from stripe_django.models import Price
from stripe_django.sync import upsert_many

from .conftest import day

C, A, B = day("2026-02-15"), day("2026-03-15"), day("2026-04-15")
M1, M2 = day("2026-03-01"), day("2026-04-01")  # the movement table's month boundaries


@pytest.fixture
def discounted(db, payloads):
    p = payloads
    monthly, weekly, yearly = p.price("price_m", 2000), p.price("price_w", 1000, interval="week"), \
        p.price("price_y", 120000, interval="year")
    pct25, pct10, pct15 = (p.coupon("co_25", percent_off=25.0), p.coupon("co_10", percent_off=10.0),
                           p.coupon("co_15", percent_off=15.0))
    rep10 = p.coupon("co_10x2", percent_off=10.0, duration="repeating", months=2)
    off500 = p.coupon("co_500x3", amount_off=500, currency="usd", duration="repeating", months=3)
    off300 = p.coupon("co_300", amount_off=300, currency="usd")
    half_once = p.coupon("co_50once", percent_off=50.0, duration="once")
    eur_only = p.coupon("co_eur", amount_off=400, currency="eur")
    # 400 off in euros, 300 in dollars (a currency option)
    both = dict(p.coupon("co_eur_usd", amount_off=400, currency="eur"), currency_options={"usd": {"amount_off": 300}})
    lost = p.price("price_lost", 999)  # removed from the mirror below
    sub, disc = p.subscription, p.discount
    objects = [
        # a percent off the subscription, forever: grouped
        sub("sub_pct", "cus_1", [("si_1", monthly, 1)],
            discounts=[disc("di_1", pct25, start="2026-01-01", subscription="sub_pct")]),
        # the same, starting Apr 1: full price before
        sub("sub_future", "cus_2", [("si_2", monthly, 1)],
            discounts=[disc("di_2", pct25, start="2026-04-01", subscription="sub_future")]),
        # 500 off the sum for 3 months, its end stored (Apr 10): one by one in force, then grouped
        sub("sub_rep_end", "cus_3", [("si_3", monthly, 2)], start="2026-01-10",
            discounts=[disc("di_3", off500, start="2026-01-10", end="2026-04-10", subscription="sub_rep_end")]),
        # 10% repeating, its end stored (Mar 1)
        sub("sub_rep_pct_end", "cus_4", [("si_4", monthly, 1)],
            discounts=[disc("di_4", rep10, start="2026-01-01", end="2026-03-01", subscription="sub_rep_pct_end")]),
        # 10% repeating for 2 months from Jan 20, no end stored: Mar 20 by month arithmetic
        sub("sub_rep_noend", "cus_5", [("si_5", monthly, 1)],
            discounts=[disc("di_5", rep10, start="2026-01-20", subscription="sub_rep_noend")]),
        # 300 off the first item alone; the weekly item at full price (1000 x 52 / 12)
        sub("sub_item_amt", "cus_6", [("si_6a", monthly, 1), ("si_6b", weekly, 1)],
            item_discounts={"si_6a": [disc("di_6", off300, start="2026-01-01", subscription="sub_item_amt",
                                           item="si_6a")]}),
        # 15% off a yearly price (10,000 a month)
        sub("sub_yearly_pct", "cus_7", [("si_7", yearly, 1)],
            discounts=[disc("di_7", pct15, start="2026-01-01", subscription="sub_yearly_pct")]),
        # 50% once from Mar 1, no end (Stripe stores none): the first monthly interval
        sub("sub_once", "cus_8", [("si_8", monthly, 1)],
            discounts=[disc("di_8", half_once, start="2026-03-01", subscription="sub_once")]),
        # two discounts at once: 2000 x 0.75 x 0.9
        sub("sub_two", "cus_9", [("si_9", monthly, 1)],
            discounts=[disc("di_9a", pct25, start="2026-01-01", subscription="sub_two"),
                       disc("di_9b", pct10, start="2026-01-01", subscription="sub_two")]),
        # an amount off in euros only, on a subscription in dollars: nothing off
        sub("sub_eur_only", "cus_10", [("si_10", monthly, 1)],
            item_discounts={"si_10": [disc("di_10", eur_only, start="2026-01-01", subscription="sub_eur_only",
                                           item="si_10")]}),
        # 10% off the first item alone
        sub("sub_item_pct", "cus_11", [("si_11a", monthly, 1), ("si_11b", monthly, 1)],
            item_discounts={"si_11a": [disc("di_11", pct10, start="2026-01-01", subscription="sub_item_pct",
                                            item="si_11a")]}),
        # the dollar amount of a coupon in euros, off the item
        sub("sub_option", "cus_12", [("si_12", monthly, 1)],
            item_discounts={"si_12": [disc("di_12", both, start="2026-01-01", subscription="sub_option",
                                           item="si_12")]}),
        # a price no longer in the mirror: without a discount, with one, with two
        sub("sub_lost", "cus_13", [("si_13", lost, 1)]),
        sub("sub_lost_pct", "cus_14", [("si_14", lost, 1)],
            discounts=[disc("di_14", pct25, start="2026-01-01", subscription="sub_lost_pct")]),
        sub("sub_lost_two", "cus_15", [("si_15", lost, 1)],
            discounts=[disc("di_15a", pct25, start="2026-01-01", subscription="sub_lost_two"),
                       disc("di_15b", pct10, start="2026-01-01", subscription="sub_lost_two")]),
    ]
    result = upsert_many(objects)
    assert not result.errors, result.errors
    Price.objects.filter(pk="price_lost").delete()


# the same at every date
ALWAYS = {"sub_pct": 1500, "sub_item_amt": 1700 + 4333, "sub_yearly_pct": 8500, "sub_two": 1350, "sub_eur_only": 2000,
          "sub_item_pct": 1800 + 2000, "sub_option": 1700}
# the others, date by date
CHANGING = {
    C: {"sub_future": 2000, "sub_rep_end": 3500, "sub_rep_pct_end": 1800, "sub_rep_noend": 1800, "sub_once": 2000},
    # Mar 1: sub_rep_pct_end's end, sub_once's start
    M1: {"sub_future": 2000, "sub_rep_end": 3500, "sub_rep_pct_end": 2000, "sub_rep_noend": 1800, "sub_once": 1000},
    A: {"sub_future": 2000, "sub_rep_end": 3500, "sub_rep_pct_end": 2000, "sub_rep_noend": 1800, "sub_once": 1000},
    # Apr 1: sub_future's start, sub_once's end (one monthly interval), sub_rep_noend's end (Mar 20) passed
    M2: {"sub_future": 1500, "sub_rep_end": 3500, "sub_rep_pct_end": 2000, "sub_rep_noend": 2000, "sub_once": 2000},
    # Apr 15: sub_rep_end's end (Apr 10) passed
    B: {"sub_future": 1500, "sub_rep_end": 4000, "sub_rep_pct_end": 2000, "sub_rep_noend": 2000, "sub_once": 2000},
}
EXPECTED = {at: {**ALWAYS, **changing} for at, changing in CHANGING.items()}


@pytest.mark.parametrize("at", [C, M1, A, M2, B], ids=["feb15", "mar1", "mar15", "apr1", "apr15"])
def test_each_discount_at_each_date(discounted, at):
    assert analytics.mrr_by("subscription", at) == {("usd", sid): amount for sid, amount in EXPECTED[at].items()}
    assert analytics.mrr(at) == {"usd": sum(EXPECTED[at].values())}


def test_the_movement_table_prices_each_date_alike(discounted):
    table = analytics.movements(C, B)
    dates = [C, M1, M2, B]
    assert [(period.starting, period.ending) for period in table] == [
        ({"usd": sum(EXPECTED[start].values())}, {"usd": sum(EXPECTED[end].values())})
        for start, end in zip(dates, dates[1:])]
    assert [sorted((m.customer, m.kind, m.amount) for m in period.customers) for period in table] == [
        [("cus_4", "expansion", 200), ("cus_8", "contraction", -1000)],
        [("cus_2", "contraction", -500), ("cus_5", "expansion", 200), ("cus_8", "expansion", 1000)],
        [("cus_3", "expansion", 500)]]


def test_a_price_not_in_the_mirror_is_one_line_whatever_the_discounts(discounted):
    assert analytics.mrr_detail(A).skipped == [("3 item(s) of price_lost", "price price_lost is not in the mirror")]
    assert analytics.mrr_detail(A, by="customer").skipped == [
        ("3 item(s) of price_lost", "price price_lost is not in the mirror")]
