"""Movements, history from invoices, the agreement report and the derived metrics on the
synthetic account (conftest.py), hand-computed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from stripe_django import analytics
from stripe_django.analytics import history

from .conftest import day

ZERO = dict.fromkeys(analytics.KINDS, 0)


def test_march_from_subscriptions(account):
    march = analytics.movements_between(day("2026-03-01"), day("2026-04-01"))
    # everything counted on Mar 15 (85396) + sub_ended_march (ended Mar 10)
    assert march.starting == {"eur": 3000, "usd": 87396}
    assert march.totals() == {"eur": ZERO, "usd": {**ZERO, "new": 2000, "churn": -4000}}
    assert march.ending == {"eur": 3000, "usd": 85396}
    assert sorted((m.customer, m.kind, m.amount) for m in march.customers) == [
        ("cus_k", "new", 2000),     # trial ended Mar 20
        ("cus_l", "churn", -2000),  # canceled at period end, Apr 1
        ("cus_x", "churn", -2000),  # ended Mar 10
    ]


def test_february_reactivation_and_metered_expansion(account):
    february = analytics.movements_between(day("2026-02-01"), day("2026-03-01"))
    assert february.starting["usd"] == 87396 - 2000 - 1321
    assert sorted((m.customer, m.kind, m.amount) for m in february.customers) == [
        ("cus_s", "expansion", 4321 - 3000),  # metered: January's 3000, then February's 4321
        ("cus_t", "reactivation", 2000),      # sub_old ended Jan 20, sub_back from Feb 10
    ]
    assert february.ending["usd"] == 87396


def test_monthly_table_and_discount_expiry(account):
    periods = analytics.movements(day("2026-02-01"), day("2026-05-01"), period="month")
    assert [(p.start, p.end) for p in periods] == [
        (day("2026-02-01"), day("2026-03-01")), (day("2026-03-01"), day("2026-04-01")),
        (day("2026-04-01"), day("2026-05-01"))]
    # April: the 500 off of sub_repeating ended on Apr 10
    assert periods[2].totals()["usd"] == {**ZERO, "expansion": 500}
    for before, after in zip(periods, periods[1:]):
        assert before.ending == after.starting


def test_march_from_invoices(account):
    march = analytics.movements_between(day("2026-03-01"), day("2026-04-01"), source="invoices")
    # Mar 1: cus_a 6000, cus_b 120000/12, cus_m 4000, cus_n 8000, cus_l 2000, cus_o 2000
    assert march.starting == {"usd": 32000}
    assert march.totals()["usd"] == {**ZERO, "new": 2000 + 3500, "expansion": 6000, "contraction": -6000,
                                     "churn": -4000}
    assert march.ending == {"usd": 33500}
    assert sorted((m.customer, m.kind, m.amount) for m in march.customers) == [
        ("cus_j", "new", 3500),          # first line Mar 10 - Apr 10, 500 off
        ("cus_k", "new", 2000),          # first line after the trial, Mar 20
        ("cus_l", "churn", -2000),
        ("cus_m", "expansion", 6000),    # upgrade 2 -> 5 (prorations left out)
        ("cus_n", "contraction", -6000),  # downgrade 4 -> 1
        ("cus_o", "churn", -2000),       # paused: no April invoice
    ]


def test_invoices_skip_drafts_prorations_and_lines_outside_their_period(account):
    # in_draft (Apr 20 - May 20) is not read; in_k ends Apr 20 (excluded)
    assert ("usd", "sub_trial") not in history.mrr_from_invoices(day("2026-04-25"), by="subscription").amounts
    # the prorations of Mar 10 do not change March's 4000
    assert history.mrr_from_invoices(day("2026-03-15"), by="subscription").amounts[("usd", "sub_upgrade")] == 4000


def test_agreement_reports_the_difference_and_its_causes(account):
    report = analytics.agreement(day("2026-03-15"))
    assert report.from_subscriptions == {"eur": 3000, "usd": 85396}
    # invoiced for Mar 15: a 6000, b 10000, m 4000, n 8000, l 2000, j 3500, o 2000
    assert report.from_invoices == {"usd": 35500}
    assert report.by_cause() == {
        history.NOT_INVOICED: {"eur": 3000, "usd": 4333 + 6000 + 3042 + 6700 + 6500 + 7500 + 1500 + 6500 + 4321
                               + 2000 + 2000 + 1500},
        history.CHANGED: {"usd": (10000 - 4000) + (2000 - 8000)},
        history.NOT_COUNTED.format(why="its collection is paused"): {"usd": -2000},
    }
    total = sum(d.amount for d in report.differences if d.currency == "usd")
    assert total == 85396 - 35500


def test_metrics(account):
    t = day("2026-03-15")
    assert analytics.arr(t) == {"eur": 36000, "usd": 85396 * 12}
    # usd customers with MRR on Mar 15: a b c d e f g h i j l m n r s t u q
    assert analytics.subscribers(t) == {"eur": 1, "usd": 18}
    assert analytics.arpu(t) == {"eur": 3000, "usd": 4744}  # 85396 / 18 = 4744.2
    march = analytics.movements_between(day("2026-03-01"), day("2026-04-01"))
    # 2 of the 19 usd customers of Mar 1 churned (x counted then)
    assert analytics.customer_churn_rate(march) == {"eur": Decimal("0.0000"), "usd": Decimal("0.1053")}
    assert analytics.revenue_churn_rate(march) == {"eur": Decimal("0.0000"), "usd": Decimal("0.0458")}
    february = analytics.movements_between(day("2026-02-01"), day("2026-03-01"))
    # net: (0 lost - 1321 expansion - 2000 reactivation) / 84075
    assert analytics.revenue_churn_rate(february, net=True)["usd"] == Decimal("-0.0395")


def test_bad_periods_are_named(account):
    with pytest.raises(ValueError, match="must be after"):
        analytics.movements(day("2026-03-01"), day("2026-02-01"))
    with pytest.raises(ValueError, match="period must be"):
        analytics.movements(day("2026-01-01"), day("2026-03-01"), period="quarter")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="source must be"):
        analytics.movements_between(day("2026-01-01"), day("2026-03-01"), source="events")  # type: ignore[arg-type]


def test_a_table_has_the_figures_of_its_periods_alone(account):
    # the table reads the terms, the discounts and the returning customers once for
    # all its boundaries: each period as if it were asked alone
    table = analytics.movements(day("2025-05-01"), day("2026-05-01"))
    assert len(table) == 12
    assert table == [analytics.movements_between(p.start, p.end) for p in table]
    assert table[0].totals()["usd"]["new"] > 0 and table[-1].totals()["usd"]["expansion"] == 500


def test_table_queries_do_not_grow_with_subscriptions(account, payloads, django_assert_num_queries):
    from stripe_django.sync import upsert_many

    price, coupon = payloads.price("price_many", 100), payloads.coupon("co_many", percent_off=50.0)
    upsert_many([payloads.subscription(f"sub_many{n}", f"cus_many{n}", [(f"si_many{n}", price, 1)],
                                       discounts=[payloads.discount(f"di_many{n}", coupon, start="2025-06-01",
                                                                    subscription=f"sub_many{n}")])
                 for n in range(50)])
    # 13 boundaries, 2025-05-01 to 2026-05-01 (nothing counts at the first; every price
    # and coupon is first asked at the second): the events window (2), the prices (1),
    # the coupons (1) and the returning customers (1) once;
    # at each boundary the items, grouped with their discounts' effect (1 x 13); from
    # the second on, the discounts of the subscriptions priced alone (the account's
    # several discounts and amounts off), and the metered items and their invoice
    # lines (1 x 12 + 2 x 12)
    with django_assert_num_queries(2 + 1 + 1 + 1 + 13 + 12 + 2 * 12):
        table = analytics.movements(day("2025-05-01"), day("2026-05-01"))
    # each new at 100 x 50% from 2025-06-01
    assert [(m.customer, m.kind, m.amount) for m in table[0].customers if m.customer.startswith("cus_many")] == [
        (f"cus_many{n}", "new", 50) for n in sorted(range(50), key=str)]
