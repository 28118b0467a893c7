"""``str()`` of a mirrored row: what names it, its amount, its id.

``"jenny@example.com (cus_123)"``, ``"INV-0042 · 12.34 USD (in_123)"``,
``"pro plan (prod_123)"``, ``"jenny@example.com · Pro · 9.00 EUR/month · past_due
(sub_123)"``, or the bare id when the row has nothing better. Which fields name a row
comes from ``type_table.DISPLAY_*``, with a default for types not listed there. Never a
query: fields not loaded and related rows not selected with the row are skipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

from .. import type_table as table
from ..caching import model_cache
from ..money import format_amount

if TYPE_CHECKING:
    from .base import StripeModel

__all__ = ["describe", "display_fields", "display_paths"]


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


@model_cache
def _related_fields(model: type[StripeModel]) -> tuple[models.ForeignKey, ...]:
    names = table.DISPLAY_RELATED.get(getattr(model, "stripe_object", ""), ())
    fields = (model._meta.get_field(name) for name in names)
    return tuple(f for f in fields if isinstance(f, models.ForeignKey))


def display_paths(model: type[models.Model]) -> tuple[str, ...]:
    """The ``select_related`` paths that give rows of ``model`` their full label
    (``("customer", "plan", "plan__product")`` for a subscription)."""
    paths: list[str] = []
    for field in _related_fields(model):  # type: ignore[arg-type]
        paths.append(field.name)
        paths += [f"{field.name}__{sub}" for sub in display_paths(field.related_model)]
    return tuple(paths)


def _loaded(row: Any, name: str) -> Any:
    return None if name in row.get_deferred_fields() else getattr(row, name, None)


def _interval(row: Any) -> str:
    fields = table.DISPLAY_INTERVAL_FIELDS.get(row.stripe_object)
    if not fields:
        return ""
    interval, count = _loaded(row, fields[0]), _loaded(row, fields[1])
    if not interval:
        return ""
    return f" every {count} {interval}s" if count and count > 1 else f"/{interval}"


def _parts(row: Any) -> list[str]:
    parts = []
    for field in _related_fields(type(row)):
        related = field.get_cached_value(row, default=None) if field.is_cached(row) else None
        if related is not None:
            parts += _parts(related)
    labels, amount_field = display_fields(type(row))
    deferred = row.get_deferred_fields()
    label = next((value for name in labels if name not in deferred
                  for value in [getattr(row, name)] if value not in (None, "")), None)
    if label is not None:
        parts.append(str(label))
    if amount_field and not {amount_field, "currency"} & deferred:
        money = format_amount(getattr(row, amount_field), row.currency)
        if money:
            parts.append(money + _interval(row))
    quantity_field = table.DISPLAY_QUANTITY_FIELDS.get(row.stripe_object)
    quantity = _loaded(row, quantity_field) if quantity_field else None
    if quantity is not None and quantity > 1:
        parts.append(f"× {quantity}")
    usual = table.DISPLAY_USUAL_STATUS.get(row.stripe_object)
    status = _loaded(row, "status") if usual else None
    if status and status != usual:
        parts.append(str(status))
    return parts


def describe(row: Any) -> str:
    parts = _parts(row)
    if not parts:
        return str(row.pk)
    return f"{' · '.join(parts)} ({row.pk})"
