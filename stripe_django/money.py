"""Amounts as people read them: ``format_amount(1234, "usd") == "12.34 USD"``.

Stripe amounts are integers in the currency's smallest unit. Most currencies have two
decimal places; the ones below have none or three. The lists are Stripe's, from
https://docs.stripe.com/currencies (minor units in API amounts).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

ZERO_DECIMAL_CURRENCIES = frozenset({
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd",
    "vuv", "xaf", "xof", "xpf",
})
THREE_DECIMAL_CURRENCIES = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})


def decimal_places(currency: str) -> int:
    code = currency.lower()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def format_amount(amount: int | None, currency: str | None) -> str:
    """``"12.34 USD"``, ``"1,000 JPY"``, ``"-5.000 KWD"``; "" without an amount.

    Without a currency the bare integer is shown, since its unit is unknown.
    """
    if amount is None:
        return ""
    if not currency:
        return f"{amount:,}"
    places = decimal_places(currency)
    value = Decimal(amount).scaleb(-places)
    return f"{value:,.{places}f} {currency.upper()}"


def to_minor_units(value: Decimal, currency: str) -> int:
    """``Decimal("12.50")`` USD -> ``1250``: an amount as people write it, in the integer
    unit Stripe's API takes. ``ValueError`` says what is wrong with it: more decimal
    places than the currency has (none for JPY, three for KWD), or not above zero."""
    places = decimal_places(currency)
    code = currency.upper()
    if not value.is_finite() or value <= 0:
        raise ValueError(f"Enter an amount above zero, in {code}.")
    try:
        quantized = value.quantize(Decimal(1).scaleb(-places))
    except InvalidOperation:  # more digits than a Decimal context holds (e.g. 1e30)
        raise ValueError(f"{value} is too large an amount of {code}.") from None
    if value != quantized:
        if places == 0:
            raise ValueError(f"{code} has no decimal places: enter a whole number of {code}.")
        raise ValueError(f"{code} amounts have at most {places} decimal places.")
    return int(value.scaleb(places))
