"""The synthetic account of the revenue tests: one subscription per rule of
docs/guide/revenue-metrics.rst, ingested through ``upsert_many`` from Stripe's example
objects. The mirror is taken on 2026-04-20; the expected figures are in the tests."""

from __future__ import annotations

import datetime as dt

import pytest

from stripe_django.sync import upsert_many
from stripe_django.testing.revenue import Payloads

UTC = dt.timezone.utc


def day(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso).replace(tzinfo=UTC)


@pytest.fixture
def payloads(stripe_examples) -> Payloads:
    return Payloads(stripe_examples)


def tiers(*rows: tuple[int | None, int, int | None]) -> list[dict]:
    return [{"up_to": up_to, "unit_amount": unit, "unit_amount_decimal": str(unit), "flat_amount": flat,
             "flat_amount_decimal": None if flat is None else str(flat)} for up_to, unit, flat in rows]


@pytest.fixture
def account(db, payloads):
    return revenue_account(payloads)


def revenue_account(p: Payloads) -> list[dict]:
    """Store the account (through upsert_many) and return its objects."""
    monthly = p.price("price_m", 2000)
    monthly2 = p.price("price_m2", 5000, product="prod_other")
    yearly = p.price("price_y", 120000, interval="year")
    weekly = p.price("price_w", 1000, interval="week")
    quarterly = p.price("price_q", 9000, count=3)
    daily = p.price("price_d", 100, interval="day")
    graduated = p.price("price_g", None, tiers_mode="graduated", tiers=tiers((5, 1000, None), (None, 500, 200)))
    volume = p.price("price_v", None, tiers_mode="volume", tiers=tiers((5, 1000, 0), (None, 800, 100)))
    package = p.price("price_p", 2500, divide_by=10, round="up")
    metered = p.price("price_meter", 10, usage="metered")
    euro = p.price("price_eur", 3000, currency="eur", product="prod_eu")
    connect = p.price("price_ca", 1500, product="prod_connect")

    pct25 = p.coupon("co_25", percent_off=25.0)
    pct10 = p.coupon("co_10", percent_off=10.0)
    off500 = p.coupon("co_500x3", amount_off=500, currency="usd", duration="repeating", months=3)
    off300 = p.coupon("co_300", amount_off=300, currency="usd")

    sub = p.subscription
    objects = [
        sub("sub_monthly", "cus_a", [("si_a", monthly, 3)]),
        sub("sub_yearly", "cus_b", [("si_b", yearly, 1)]),
        sub("sub_weekly", "cus_c", [("si_c", weekly, 1)]),
        sub("sub_quarterly", "cus_d", [("si_d", quarterly, 2)]),
        sub("sub_daily", "cus_e", [("si_e", daily, 1)]),
        sub("sub_graduated", "cus_f", [("si_f", graduated, 8)]),
        sub("sub_volume", "cus_g", [("si_g", volume, 8)]),
        sub("sub_package", "cus_h", [("si_h", package, 23)]),
        sub("sub_percent", "cus_i", [("si_i", monthly, 1)],
            discounts=[p.discount("di_i", pct25, start="2025-06-01", subscription="sub_percent")]),
        # 500 off for 3 months from Jan 10: ends Apr 10, mid-period
        sub("sub_repeating", "cus_j", [("si_j", monthly, 2)], start="2026-01-10",
            discounts=[p.discount("di_j", off500, start="2026-01-10", subscription="sub_repeating")]),
        sub("sub_trial", "cus_k", [("si_k", monthly, 1)], start="2026-02-01", trial_end="2026-03-20"),
        sub("sub_trialing", "cus_k2", [("si_k2", monthly, 1)], status="trialing", start="2026-04-10",
            trial_end="2026-05-10"),
        sub("sub_cancel_end", "cus_l", [("si_l", monthly, 1)], cancel_at="2026-04-01"),
        sub("sub_upgrade", "cus_m", [("si_m", monthly, 5)]),
        sub("sub_downgrade", "cus_n", [("si_n", monthly, 1)]),
        sub("sub_paused", "cus_o", [("si_o", monthly, 1)], pause_collection={"behavior": "void", "resumes_at": None}),
        sub("sub_eur", "cus_p", [("si_p", euro, 1)], currency="eur"),
        sub("sub_items", "cus_r", [("si_r1", monthly, 1), ("si_r2", monthly2, 1)],
            discounts=[p.discount("di_r", off300, start="2025-06-01", subscription="sub_items")],
            item_discounts={"si_r1": [p.discount("di_r1", pct10, start="2025-06-01", subscription="sub_items",
                                                 item="si_r1")]}),
        sub("sub_metered", "cus_s", [("si_s", metered, 1)]),
        sub("sub_old", "cus_t", [("si_t1", monthly, 1)], status="canceled", start="2025-06-01", ended_at="2026-01-20"),
        sub("sub_back", "cus_t", [("si_t2", monthly, 1)], start="2026-02-10"),
        sub("sub_past_due", "cus_u", [("si_u", monthly, 1)], status="past_due"),
        sub("sub_unpaid", "cus_v", [("si_v", monthly, 1)], status="unpaid"),
        sub("sub_incomplete", "cus_w", [("si_w", monthly, 1)], status="incomplete_expired", start="2026-03-01"),
        sub("sub_ended_march", "cus_x", [("si_x", monthly, 1)], status="canceled", ended_at="2026-03-10"),
    ]
    line, invoice = p.line, p.invoice

    def cycle(iid, customer, sid, item, price, amount, start, end, status="paid", **extra):
        return invoice(iid, customer, [line(f"il_{iid}", subscription=sid, item=item, price=price, amount=amount,
                                            start=start, end=end, **extra)], subscription=sid, created=start,
                       status=status)

    objects += [
        cycle("in_a3", "cus_a", "sub_monthly", "si_a", "price_m", 6000, "2026-03-01", "2026-04-01", quantity=3),
        cycle("in_a4", "cus_a", "sub_monthly", "si_a", "price_m", 6000, "2026-04-01", "2026-05-01", quantity=3),
        cycle("in_b", "cus_b", "sub_yearly", "si_b", "price_y", 120000, "2025-06-01", "2026-06-01"),
        cycle("in_m2", "cus_m", "sub_upgrade", "si_m", "price_m", 4000, "2026-02-01", "2026-03-01", quantity=2),
        cycle("in_m3", "cus_m", "sub_upgrade", "si_m", "price_m", 4000, "2026-03-01", "2026-04-01", quantity=2),
        # the upgrade on Mar 10: prorations, left out of MRR
        invoice("in_m3p", "cus_m", [
            line("il_m3p1", subscription="sub_upgrade", item="si_m", price="price_m", amount=-2839, quantity=2,
                 start="2026-03-10", end="2026-04-01", proration=True),
            line("il_m3p2", subscription="sub_upgrade", item="si_m", price="price_m", amount=7097, quantity=5,
                 start="2026-03-10", end="2026-04-01", proration=True)], subscription="sub_upgrade",
            created="2026-03-10"),
        cycle("in_m4", "cus_m", "sub_upgrade", "si_m", "price_m", 10000, "2026-04-01", "2026-05-01", quantity=5),
        cycle("in_n3", "cus_n", "sub_downgrade", "si_n", "price_m", 8000, "2026-03-01", "2026-04-01", quantity=4),
        cycle("in_n4", "cus_n", "sub_downgrade", "si_n", "price_m", 2000, "2026-04-01", "2026-05-01"),
        cycle("in_l3", "cus_l", "sub_cancel_end", "si_l", "price_m", 2000, "2026-03-01", "2026-04-01"),
        cycle("in_j3", "cus_j", "sub_repeating", "si_j", "price_m", 4000, "2026-03-10", "2026-04-10", quantity=2,
              discount_amounts=[{"amount": 500, "discount": "di_j"}]),
        cycle("in_o3", "cus_o", "sub_paused", "si_o", "price_m", 2000, "2026-03-01", "2026-04-01"),
        cycle("in_k", "cus_k", "sub_trial", "si_k", "price_m", 2000, "2026-03-20", "2026-04-20"),
        cycle("in_draft", "cus_k", "sub_trial", "si_k", "price_m", 2000, "2026-04-20", "2026-05-20", status="draft"),
        # metered: billed in arrears for the period just finished
        cycle("in_s1", "cus_s", "sub_metered", "si_s", "price_meter", 3000, "2026-01-01", "2026-02-01"),
        cycle("in_s2", "cus_s", "sub_metered", "si_s", "price_meter", 4321, "2026-02-01", "2026-03-01"),
    ]
    customers = sorted({o["customer"] for o in objects if o["object"] in ("subscription", "invoice")})
    objects += [p.customer(c) for c in customers]
    result = upsert_many(objects)
    assert not result.errors, result.errors
    connected = upsert_many([p.subscription("sub_connect", "cus_q", [("si_q", connect, 1)])], account="acct_1")
    assert not connected.errors, connected.errors
    return objects
