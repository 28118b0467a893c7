"""A price's amount for one month of service: the first rule of docs/guide/revenue-metrics.rst.

A price bills an amount per interval (``recurring.interval`` x ``recurring.interval_count``);
its monthly amount is that amount scaled to a month, one month being 365/12 days, 52/12
weeks or a twelfth of a year, then divided by the interval count. The amount per
interval comes from ``unit_amount_decimal`` x quantity (per-unit prices, with
``transform_quantity`` for package prices) or from the tiers (graduated or volume).

Everything here is exact ``Decimal`` arithmetic except the one division by the interval
(done with 40 digits of precision); rounding to the smallest currency unit happens once,
per subscription item, in :func:`round_amount` (half up, see the guide).

Plans (the older object, a subscription item's ``plan``) have the same fields under
slightly different names; :func:`terms_of` reads either.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

# Precision of the one division per amount; far above any amount Stripe accepts.
CONTEXT = decimal.Context(prec=40)

# One month in each interval unit, as (numerator, denominator) of the factor that turns an
# amount per interval into an amount per month (before dividing by interval_count).
MONTH_FACTOR: dict[str, tuple[int, int]] = {
    "day": (365, 12),   # 365/12 days in a month
    "week": (52, 12),   # 52/12 weeks in a month
    "month": (1, 1),
    "year": (1, 12),    # a twelfth of a year
}


class UnsupportedPrice(ValueError):
    """A price whose monthly amount cannot be computed (no interval, a tier without amounts, ...)."""


@dataclass(frozen=True)
class PriceTerms:
    """What the monthly amount of a price depends on, read from a Price or a Plan row."""

    id: str
    currency: str
    interval: str
    interval_count: int
    usage_type: str  # "licensed" or "metered"
    billing_scheme: str  # "per_unit" or "tiered"
    unit_amount: Decimal | None
    tiers_mode: str | None  # "graduated" or "volume"
    tiers: tuple[dict[str, Any], ...]
    divide_by: int | None  # package prices: transform_quantity.divide_by
    round: str | None  # "up" or "down"
    product: str | None

    @property
    def metered(self) -> bool:
        return self.usage_type == "metered"


def terms_of(row: Any) -> PriceTerms:
    """The terms of a ``Price`` or ``Plan`` model instance."""
    if hasattr(row, "recurring"):  # a Price
        recurring = row.recurring or {}
        interval = recurring.get("interval")
        count = recurring.get("interval_count") or 1
        usage = recurring.get("usage_type") or "licensed"
        unit = row.unit_amount_decimal if row.unit_amount_decimal is not None else row.unit_amount
    else:  # a Plan
        interval, count = row.interval, row.interval_count or 1
        usage = row.usage_type or "licensed"
        unit = row.amount_decimal if row.amount_decimal is not None else row.amount
    transform = row.transform_quantity if hasattr(row, "transform_quantity") else row.transform_usage
    transform = transform or {}
    if not interval:
        raise UnsupportedPrice(f"price {row.pk} has no recurring interval: it is not a subscription price")
    return PriceTerms(
        id=row.pk, currency=(row.currency or "").lower(), interval=interval, interval_count=int(count),
        usage_type=usage, billing_scheme=row.billing_scheme or "per_unit",
        unit_amount=None if unit is None else Decimal(unit),
        tiers_mode=row.tiers_mode, tiers=tuple(row.tiers or ()),
        divide_by=transform.get("divide_by"), round=transform.get("round"),
        product=row.product_id,
    )


def monthly_factor(interval: str, interval_count: int) -> tuple[int, int]:
    """(numerator, denominator): amount per interval x numerator / denominator = per month."""
    try:
        num, den = MONTH_FACTOR[interval]
    except KeyError:
        raise UnsupportedPrice(f"unknown recurring interval {interval!r}") from None
    if interval_count < 1:
        raise UnsupportedPrice(f"interval_count must be at least 1, not {interval_count}")
    return num, den * interval_count


def per_month(amount_per_interval: Decimal, terms: PriceTerms) -> Decimal:
    """An amount per billing interval of ``terms``, per month (exact to 40 digits, unrounded)."""
    num, den = monthly_factor(terms.interval, terms.interval_count)
    return CONTEXT.divide(amount_per_interval * num, Decimal(den))


def amount_per_interval(terms: PriceTerms, quantity: int) -> Decimal:
    """What ``quantity`` units of a licensed price bill per interval, before discounts and tax."""
    if terms.billing_scheme == "tiered":
        return _tiered(terms, quantity)
    if terms.unit_amount is None:
        raise UnsupportedPrice(f"price {terms.id} has no unit_amount")
    units = Decimal(quantity)
    if terms.divide_by:  # a package price: whole packages
        rounding = ROUND_CEILING if terms.round == "up" else ROUND_FLOOR
        units = (units / Decimal(terms.divide_by)).to_integral_value(rounding=rounding)
    return terms.unit_amount * units


def _tier_amounts(tier: dict[str, Any], price_id: str) -> tuple[Decimal, Decimal]:
    unit = tier.get("unit_amount_decimal", tier.get("unit_amount"))
    flat = tier.get("flat_amount_decimal", tier.get("flat_amount"))
    if unit is None and flat is None:
        raise UnsupportedPrice(f"price {price_id} has a tier without unit or flat amount")
    return Decimal(unit or 0), Decimal(flat or 0)


def _tiered(terms: PriceTerms, quantity: int) -> Decimal:
    if not terms.tiers:
        raise UnsupportedPrice(f"tiered price {terms.id} has no tiers in the mirror (list prices with "
                               "expand=['data.tiers'])")
    if terms.tiers_mode == "volume":
        # every unit at the rate of the tier the whole quantity falls in
        for tier in terms.tiers:
            if tier.get("up_to") is None or quantity <= tier["up_to"]:
                unit, flat = _tier_amounts(tier, terms.id)
                return unit * quantity + (flat if quantity else 0)
        raise UnsupportedPrice(f"price {terms.id}: quantity {quantity} is above its last tier")
    # graduated: each tier bills the units that fall in it, plus its flat amount if any do
    total, below = Decimal(0), 0
    for tier in terms.tiers:
        top = tier.get("up_to")
        in_tier = (quantity if top is None else min(quantity, top)) - below
        if in_tier <= 0:
            break
        unit, flat = _tier_amounts(tier, terms.id)
        total += unit * in_tier + flat
        if top is None:
            break
        below = top
    return total


def monthly_amount(terms: PriceTerms, quantity: int) -> Decimal:
    """MRR of ``quantity`` units of a licensed price, unrounded (no discounts)."""
    return per_month(amount_per_interval(terms, quantity), terms)


def round_amount(amount: Decimal) -> int:
    """To the smallest currency unit, halves away from zero (the guide's rounding rule)."""
    return int(amount.to_integral_value(rounding=ROUND_HALF_UP))
