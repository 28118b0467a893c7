"""``str()`` of a mirrored row: what names it, its amount, its id.

``"jenny@example.com (cus_123)"``, ``"INV-0042 · 12.34 USD (in_123)"``,
``"pro plan (prod_123)"``, or the bare id when the row has nothing better. Which fields
name a row comes from ``type_table.DISPLAY_FIELDS`` / ``DISPLAY_AMOUNT_FIELDS``, with a
default for types not listed there. Never a query: fields not loaded are skipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

from .. import type_table as table
from ..caching import model_cache
from ..money import format_amount

if TYPE_CHECKING:
    from .base import StripeModel


@model_cache
def display_fields(model: type[StripeModel]) -> tuple[tuple[str, ...], str | None]:
    """(label fields, amount field) of a model, limited to the fields it has."""
    # Scalar columns only: a nested object (identity report's ``email``) names nothing.
    present = {f.attname for f in model._meta.concrete_fields
               if not isinstance(f, models.JSONField)}
    labels = table.DISPLAY_FIELDS.get(model.stripe_object, table.DEFAULT_DISPLAY_FIELDS)
    amount = table.DISPLAY_AMOUNT_FIELDS.get(model.stripe_object, "amount")
    return (
        tuple(name for name in labels if name in present),
        amount if amount in present and "currency" in present else None,
    )


def describe(row) -> str:
    labels, amount_field = display_fields(type(row))
    deferred = row.get_deferred_fields()
    parts = []
    label = next((value for name in labels if name not in deferred
                  for value in [getattr(row, name)] if value not in (None, "")), None)
    if label is not None:
        parts.append(str(label))
    if amount_field and not {amount_field, "currency"} & deferred:
        money = format_amount(getattr(row, amount_field), row.currency)
        if money:
            parts.append(money)
    if not parts:
        return str(row.pk)
    return f"{' · '.join(parts)} ({row.pk})"
