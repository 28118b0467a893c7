"""MRR of each rule of docs/guide/revenue-metrics.rst on the synthetic account
(conftest.py), hand-computed; each expected figure shows its arithmetic."""

from __future__ import annotations

import pytest
from django.test import override_settings

from stripe_django import analytics
from stripe_django.models import Subscription

from .conftest import day

T = day("2026-03-15")

# MRR of each counted subscription on 2026-03-15, from the definitions
EXPECTED_AT_T = {
    "sub_monthly": 3 * 2000,
    "sub_yearly": 120000 // 12,                 # 10000
    "sub_weekly": 4333,                         # 1000 x 52/12 = 4333.33
    "sub_quarterly": 2 * 9000 // 3,             # 6000
    "sub_daily": 3042,                          # 100 x 365/12 = 3041.67, half up
    "sub_graduated": 5 * 1000 + 3 * 500 + 200,  # 6700
    "sub_volume": 8 * 800 + 100,                # 6500: all 8 units at the second tier
    "sub_package": 3 * 2500,                    # 23 units = 3 packages of 10, rounded up
    "sub_percent": 2000 * 75 // 100,            # 1500
    "sub_repeating": 2 * 2000 - 500,            # 3500 until Apr 10
    "sub_cancel_end": 2000,                     # until Apr 1
    "sub_upgrade": 5 * 2000,                    # current state
    "sub_downgrade": 2000,
    "sub_items": 1800 + 5000 - 300,             # item 10% off, subscription 300 off
    "sub_metered": 4321,                        # the period Feb 1 - Mar 1
    "sub_back": 2000,
    "sub_past_due": 2000,
    "sub_connect": 1500,
}
USD_AT_T = 85396
assert sum(EXPECTED_AT_T.values()) == USD_AT_T


def test_each_subscription_at_a_date(account):
    got = analytics.mrr_by("subscription", T)
    assert got == {**{("usd", s): v for s, v in EXPECTED_AT_T.items()}, ("eur", "sub_eur"): 3000}


def test_total_per_currency_never_added(account):
    assert analytics.mrr(T) == {"eur": 3000, "usd": USD_AT_T}
    assert analytics.mrr(T, currency="EUR") == {"eur": 3000}


def test_per_connected_account(account):
    assert analytics.mrr(T, account="acct_1") == {"usd": 1500}
    assert analytics.mrr(T, account=None) == {"eur": 3000, "usd": USD_AT_T - 1500}
    assert analytics.mrr_by("account", T) == {("eur", None): 3000, ("usd", None): USD_AT_T - 1500,
                                              ("usd", "acct_1"): 1500}


def test_per_product_and_price(account):
    by_product = analytics.mrr_by("product", T)
    # prod_other: the 5000 item of sub_items; prod_connect: sub_connect
    assert by_product[("usd", "prod_other")] == 5000
    assert by_product[("usd", "prod_connect")] == 1500
    assert by_product[("usd", "prod_main")] == USD_AT_T - 5000 - 1500
    by_price = analytics.mrr_by("price", T)
    assert by_price[("usd", "price_y")] == 10000
    # price_m: monthly 6000, percent 1500, repeating 3500, cancel_end 2000, upgrade 10000,
    # downgrade 2000, sub_items' first item 1800 - 300, back 2000, past_due 2000
    assert by_price[("usd", "price_m")] == 6000 + 1500 + 3500 + 2000 + 10000 + 2000 + 1500 + 2000 + 2000
    assert sum(by_price.values()) == USD_AT_T + 3000


def test_discount_ending_mid_period(account):
    assert analytics.mrr_by("subscription", day("2026-04-09"))[("usd", "sub_repeating")] == 3500
    assert analytics.mrr_by("subscription", day("2026-04-10"))[("usd", "sub_repeating")] == 4000


def test_trial_counts_from_its_end(account):
    assert ("usd", "sub_trial") not in analytics.mrr_by("subscription", day("2026-03-19"))
    assert analytics.mrr_by("subscription", day("2026-03-20"))[("usd", "sub_trial")] == 2000
    # a subscription still trialing never counts
    assert ("usd", "sub_trialing") not in analytics.mrr_by("subscription", day("2026-05-15"))


def test_cancel_at_period_end_counts_until_the_end(account):
    assert analytics.mrr_by("subscription", day("2026-03-31T23:59:59"))[("usd", "sub_cancel_end")] == 2000
    assert ("usd", "sub_cancel_end") not in analytics.mrr_by("subscription", day("2026-04-01"))


def test_canceled_counts_before_it_ended(account):
    assert analytics.mrr_by("subscription", day("2026-03-09"))[("usd", "sub_ended_march")] == 2000
    assert ("usd", "sub_ended_march") not in analytics.mrr_by("subscription", day("2026-03-10"))


def test_statuses(account):
    counted = set(analytics.subscriptions_active_at(T).values_list("pk", flat=True))
    assert counted == set(EXPECTED_AT_T) | {"sub_eur"}
    for not_counted in ("sub_unpaid", "sub_incomplete", "sub_paused", "sub_trialing", "sub_old"):
        assert not_counted not in counted


def test_subscriptions_active_at_is_a_queryset(account):
    query = analytics.subscriptions_active_at(T).filter(customer_id__in=["cus_a", "cus_l", "cus_x"])
    assert sorted(query.values_list("pk", flat=True)) == ["sub_cancel_end", "sub_monthly"]
    assert isinstance(query.first(), Subscription)


@pytest.mark.parametrize("setting, subscription, counted", [
    ("REVENUE_COUNT_PAST_DUE", "sub_past_due", False),
    ("REVENUE_COUNT_UNPAID", "sub_unpaid", True),
    ("REVENUE_COUNT_PAUSED_COLLECTION", "sub_paused", True),
])
def test_contested_choices_are_settings(account, setting, subscription, counted):
    default = {"REVENUE_COUNT_PAST_DUE": True, "REVENUE_COUNT_UNPAID": False,
               "REVENUE_COUNT_PAUSED_COLLECTION": False}[setting]
    with override_settings(STRIPE_DJANGO={setting: not default}):
        got = analytics.mrr_by("subscription", T)
    assert (("usd", subscription) in got) is counted
    if counted:
        assert got[("usd", subscription)] == 2000


def test_metered_last_finished_period_and_switch(account):
    assert analytics.mrr_by("subscription", day("2026-02-15"))[("usd", "sub_metered")] == 3000
    assert ("usd", "sub_metered") not in analytics.mrr_by("subscription", day("2026-01-15"))
    with override_settings(STRIPE_DJANGO={"REVENUE_METERED": "exclude"}):
        assert analytics.mrr(T) == {"eur": 3000, "usd": USD_AT_T - 4321}


def test_bad_setting_and_naive_date_are_named(account):
    from django.core.exceptions import ImproperlyConfigured

    with override_settings(STRIPE_DJANGO={"REVENUE_METERED": "average"}):
        with pytest.raises(ImproperlyConfigured, match="REVENUE_METERED"):
            analytics.mrr(T)
    with pytest.raises(ValueError, match="no time zone"):
        analytics.mrr(T.replace(tzinfo=None))


def test_a_price_missing_from_the_mirror_is_reported_not_guessed(account, payloads):
    from stripe_django.models import Price
    from stripe_django.sync import upsert_many

    upsert_many([payloads.subscription("sub_lost", "cus_z", [("si_z", payloads.price("price_lost", 999), 1)])])
    Price.objects.filter(pk="price_lost").delete()
    detail = analytics.mrr_detail(T)
    assert detail.by_currency() == {"eur": 3000, "usd": USD_AT_T}
    assert detail.skipped == [("1 item(s) of price_lost", "price price_lost is not in the mirror")]


def test_query_count_does_not_grow_with_subscriptions(account, payloads, django_assert_num_queries):
    from stripe_django.sync import upsert_many

    price, coupon = payloads.price("price_many", 100), payloads.coupon("co_many", percent_off=50.0)
    upsert_many([payloads.subscription(f"sub_many{n}", f"cus_many{n}", [(f"si_many{n}", price, 1)])
                 for n in range(50)])
    # discounted ones too: one percent off each, which the database groups
    upsert_many([payloads.subscription(f"sub_half{n}", f"cus_half{n}", [(f"si_half{n}", price, 3)],
                                       discounts=[payloads.discount(f"di_half{n}", coupon, start="2025-06-01",
                                                                    subscription=f"sub_half{n}")])
                 for n in range(50)])
    # the events window (2); the items, grouped with their discounts' effect (1); the
    # discounts of the account's subscriptions priced alone (several discounts, amounts
    # off their sum: 1); the prices (1; the account has no plans) and the coupons (1);
    # the metered items and their lines (2)
    with django_assert_num_queries(2 + 1 + 1 + 1 + 1 + 2):
        assert analytics.mrr(T)["usd"] == USD_AT_T + 50 * 100 + 50 * 150
