"""Realistic billing payloads for the revenue analytics tests and benchmark.

Each builder starts from Stripe's published example object of its type (the
``resources`` of ../shared/stripe-openapi/fixtures3.json, handed in by the caller) and
sets the fields a scenario is about, so what is ingested has every field Stripe sends.
:func:`random_account` draws a whole account (subscriptions over months, upgrades,
downgrades, cancellations, discounts) from a seed.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any, Iterator

import orjson

UTC = dt.timezone.utc


def ts(value: dt.datetime | str | None) -> int | None:
    """A Unix timestamp from an aware datetime or an ISO date ("2026-03-01")."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value).replace(tzinfo=UTC)
    return int(value.timestamp())


class Payloads:
    """Builders of prices, coupons, discounts, subscriptions and invoices."""

    def __init__(self, examples: dict[str, Any]) -> None:
        self.examples = examples
        # each example as JSON once: a fresh copy is then parsed from it, some 15 times
        # faster than copy.deepcopy (the benchmark builds a million invoice lines)
        self._encoded: dict[str, bytes] = {}

    def _copy(self, kind: str, part: Any = None) -> Any:
        """A fresh copy of the example of ``kind`` (or of ``part``'s path in it)."""
        key = kind if part is None else f"{kind}:{part}"
        if key not in self._encoded:
            value = self.examples[kind]
            if part is not None:
                value = value[part]["data"][0]
            self._encoded[key] = orjson.dumps(value)
        return orjson.loads(self._encoded[key])

    def _example(self, kind: str, **fields: Any) -> dict[str, Any]:
        obj = self._copy(kind)
        obj.update(fields)
        return obj

    def customer(self, cid: str) -> dict[str, Any]:
        return self._example("customer", id=cid, name=f"Customer {cid}", email=f"{cid}@example.com",
                             discount=None)

    def price(self, pid: str, amount: int | str | None, *, interval: str = "month", count: int = 1,
              currency: str = "usd", product: str = "prod_main", usage: str = "licensed",
              tiers: list[dict[str, Any]] | None = None, tiers_mode: str | None = None,
              divide_by: int | None = None, round: str = "up") -> dict[str, Any]:
        return self._example(
            "price", id=pid, currency=currency, product=product, type="recurring",
            billing_scheme="tiered" if tiers else "per_unit", tiers=tiers, tiers_mode=tiers_mode,
            unit_amount=None if amount is None else int(float(amount)),
            unit_amount_decimal=None if amount is None else str(amount),
            transform_quantity={"divide_by": divide_by, "round": round} if divide_by else None,
            recurring={"interval": interval, "interval_count": count, "meter": None, "usage_type": usage,
                       "trial_period_days": None})

    def coupon(self, cid: str, *, percent_off: float | None = None, amount_off: int | None = None,
               currency: str | None = None, duration: str = "forever", months: int | None = None) -> dict[str, Any]:
        return self._example("coupon", id=cid, percent_off=percent_off, amount_off=amount_off,
                             currency=currency, duration=duration, duration_in_months=months,
                             name=cid, redeem_by=None)

    def discount(self, did: str, coupon: dict[str, Any], *, start: str, end: str | None = None,
                 subscription: str | None = None, item: str | None = None,
                 customer: str | None = None) -> dict[str, Any]:
        return self._example("discount", id=did, source={"type": "coupon", "coupon": coupon},
                             start=ts(start), end=ts(end), subscription=subscription,
                             subscription_item=item, customer=customer)

    def subscription(self, sid: str, customer: str, items: list[tuple[str, dict[str, Any], int]], *,
                     status: str = "active", start: str = "2025-06-01", currency: str = "usd",
                     trial_end: str | None = None, cancel_at: str | None = None,
                     ended_at: str | None = None, pause_collection: dict[str, Any] | None = None,
                     discounts: list[dict[str, Any]] = (),  # type: ignore[assignment]
                     item_discounts: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
        data = []
        for iid, price, quantity in items:
            item = self._copy("subscription", "items")
            item.update(id=iid, price=price, plan=None, quantity=quantity, subscription=sid,
                        created=ts(start), discounts=(item_discounts or {}).get(iid, []),
                        current_period_start=ts(start), current_period_end=None)
            data.append(item)
        return self._example(
            "subscription", id=sid, customer=customer, status=status, currency=currency,
            start_date=ts(start), created=ts(start), billing_cycle_anchor=ts(start),
            trial_start=ts(start) if trial_end else None, trial_end=ts(trial_end),
            cancel_at=ts(cancel_at), cancel_at_period_end=bool(cancel_at and not ended_at),
            canceled_at=ts(ended_at or cancel_at) if (ended_at or cancel_at) else None,
            ended_at=ts(ended_at), pause_collection=pause_collection, discounts=list(discounts),
            schedule=None, latest_invoice=None, test_clock=None, default_payment_method=None,
            items={"object": "list", "data": data, "has_more": False, "url": f"/v1/subscription_items?subscription={sid}"})

    def line(self, lid: str, *, subscription: str, item: str, price: str, amount: int, start: str, end: str,
             quantity: int = 1, currency: str = "usd", proration: bool = False,
             discount_amounts: list[dict[str, Any]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
        line = self._copy("invoice", "lines")
        line.update(
            id=lid, amount=amount, currency=currency, quantity=quantity, discount_amounts=list(discount_amounts),
            period={"start": ts(start), "end": ts(end)}, subscription=subscription,
            pricing={"type": "price_details", "price_details": {"price": price, "product": "prod_main"},
                     "unit_amount_decimal": None},
            parent={"type": "subscription_item_details", "invoice_item_details": None,
                    "subscription_item_details": {"invoice_item": None, "proration": proration,
                                                  "proration_details": {"credited_items": None},
                                                  "subscription": subscription, "subscription_item": item}})
        return line

    def invoice(self, iid: str, customer: str, lines: list[dict[str, Any]], *, subscription: str | None = None,
                status: str = "paid", created: str = "2026-01-01", currency: str = "usd") -> dict[str, Any]:
        for line in lines:
            line["invoice"] = iid
        total = sum(line["amount"] for line in lines)
        return self._example(
            "invoice", id=iid, customer=customer, status=status, currency=currency, created=ts(created),
            billing_reason="subscription_cycle", amount_due=total, amount_paid=total if status == "paid" else 0,
            amount_remaining=0 if status == "paid" else total, subtotal=total, total=total,
            parent={"type": "subscription_details", "quote_details": None,
                    "subscription_details": {"metadata": {}, "subscription": subscription}},
            lines={"object": "list", "data": lines, "has_more": False, "url": f"/v1/invoices/{iid}/lines"})


def month_start(year: int, month: int) -> dt.datetime:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return dt.datetime(year, month, 1, tzinfo=UTC)


def random_account(payloads: Payloads, *, subscriptions: int = 1000, months: int = 24, seed: int = 7,
                   start: dt.datetime = dt.datetime(2024, 1, 1, tzinfo=UTC)) -> Iterator[dict[str, Any]]:
    """Objects of an account drawn from ``seed``: prices (monthly, yearly, weekly, tiered,
    package, two currencies), coupons and discounts, and ``subscriptions`` subscriptions
    that start, trial, change quantity, pause and end at random over ``months`` months,
    several per customer (so customers churn and come back)."""
    from ..analytics.discounts import add_months  # (here: the module is imported before Django is set up)

    rng = random.Random(seed)
    prices = [
        payloads.price("price_r_m", 1500), payloads.price("price_r_y", 99000, interval="year"),
        payloads.price("price_r_w", 700, interval="week"), payloads.price("price_r_q", 4000, count=3),
        payloads.price("price_r_eur", 1200, currency="eur", product="prod_eu"),
        payloads.price("price_r_g", None, tiers_mode="graduated",
                       tiers=[{"up_to": 3, "unit_amount": 1000, "unit_amount_decimal": "1000", "flat_amount": None,
                               "flat_amount_decimal": None},
                              {"up_to": None, "unit_amount": 650, "unit_amount_decimal": "650", "flat_amount": 99,
                               "flat_amount_decimal": "99"}]),
        payloads.price("price_r_p", 2500, divide_by=5, round="up"),
    ]
    coupons = [payloads.coupon("co_r_pct", percent_off=15.0),
               payloads.coupon("co_r_amt", amount_off=300, currency="usd", duration="repeating", months=3)]
    yield from prices
    yield from coupons
    customers = max(subscriptions // 3, 1)
    span = (month_start(start.year, start.month + months) - start).total_seconds()
    for n in range(subscriptions):
        price = rng.choice(prices)
        currency = price["currency"]
        begin = start + dt.timedelta(seconds=int(rng.random() * span))
        sid, iid = f"sub_r{n:05d}", f"si_r{n:05d}"
        options: dict[str, Any] = {"status": "active"}
        roll = rng.random()
        if roll < 0.3:
            options["ended_at"] = (begin + dt.timedelta(days=rng.randint(1, 400))).isoformat()
            options["status"] = "canceled"
        elif roll < 0.4:
            options["cancel_at"] = (begin + dt.timedelta(days=rng.randint(20, 300))).isoformat()
        elif roll < 0.5:
            options["trial_end"] = (begin + dt.timedelta(days=14)).isoformat()
        elif roll < 0.55:
            options["status"] = rng.choice(["past_due", "unpaid", "incomplete_expired"])
        elif roll < 0.58:
            options["pause_collection"] = {"behavior": "void", "resumes_at": None}
        discounts = []
        if currency == "usd" and rng.random() < 0.2:
            coupon = rng.choice(coupons)
            # (Stripe stores the end of a repeating coupon's discount; once and forever have none)
            end = (add_months(begin, coupon["duration_in_months"]).isoformat()
                   if coupon["duration"] == "repeating" else None)
            discounts.append(payloads.discount(f"di_r{n:05d}", coupon, subscription=sid, start=begin.isoformat(),
                                               end=end, customer=f"cus_r{n % customers:05d}"))
        for key in ("ended_at", "cancel_at", "trial_end"):
            if key in options:
                options[key] = options[key][:19]
        sub = payloads.subscription(sid, f"cus_r{n % customers:05d}", [(iid, price, rng.randint(1, 12))],
                                    start=begin.isoformat()[:19], currency=currency, discounts=discounts,
                                    **options)
        yield sub
