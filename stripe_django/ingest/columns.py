"""Per model, the columns ingest writes and how each payload value becomes a column value.

Built once per model from the model's fields (their classes carry the Stripe kind) and
from ``type_table`` (derivations of legacy fields). The ingest engine then turns a
payload into a row with one pass over this list and no per-type code.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Callable

from django.apps import apps
from django.db import models

from .. import type_table as table
from ..caching import model_cache
from ..models import fields as stripe_fields
from ..models.base import StripeModel

# Column kinds. REF/REF_LIST/EMBEDDED/POLY columns may carry nested objects that
# become rows of their own.
REF = "ref"
POLY = "poly"
REF_LIST = "ref_list"
EMBEDDED = "embedded"
TIMESTAMP = "timestamp"
INTEGER = "integer"
FLOAT = "float"
DECIMAL = "decimal"
BOOLEAN = "boolean"
STRING = "string"
JSON = "json"

# Columns every model has, written from the ingest context rather than the payload.
BASE_COLUMNS = ("id", "stripe_account", "stripe_data", "stripe_snapshot_at", "stripe_data_hash", "deleted")


class WrongType(Exception):
    """Raised by a converter; ingest wraps it in an IngestError naming the field."""


@dataclass(frozen=True)
class Column:
    name: str  # the Stripe field name (payload key)
    column: str  # the database column
    kind: str
    max_length: int | None
    derive: Callable[[dict], Any] | None
    target: type[StripeModel] | None  # for REF
    # A child's link to the parent of its embedded list: a payload without it leaves
    # the stored value (type_table.EMBEDDED_LIST_CHILDREN).
    keep_when_null: bool = False


@dataclass(frozen=True)
class Removal:
    """Where the children of a membership list live: their model and link column."""

    model: type[StripeModel]
    link: str  # column name


def _kind(field: models.Field) -> str:
    if isinstance(field, models.ForeignKey):
        return REF
    if isinstance(field, stripe_fields.TimestampField):
        return TIMESTAMP
    if isinstance(field, stripe_fields.EmbeddedListField):
        return EMBEDDED
    if isinstance(field, stripe_fields.IdListField):
        return REF_LIST
    if isinstance(field, models.JSONField):
        return JSON
    if isinstance(field, models.BooleanField):
        return BOOLEAN
    if isinstance(field, models.BigIntegerField):
        return INTEGER
    if isinstance(field, models.FloatField):
        return FLOAT
    if isinstance(field, models.DecimalField):
        return DECIMAL
    if isinstance(field, stripe_fields.PolymorphicReferenceField):
        return POLY
    if isinstance(field, (models.CharField, models.TextField)):
        return STRING
    raise TypeError(f"{field.model.__name__}.{field.name}: no ingest kind for {type(field).__name__}")


def _link_fields(child_type: str) -> frozenset[str]:
    """The fields of ``child_type`` that link it to the parent of an embedded list."""
    return frozenset(
        table.EMBEDDED_LISTS[key] for key, (child, _) in table.EMBEDDED_LIST_CHILDREN.items()
        if child == child_type and key in table.EMBEDDED_LISTS
    )


@lru_cache(maxsize=None)
def removal_of(parent_type: str, list_field: str) -> Removal | None:
    """For an embedded list whose complete form tells removed children, their model and
    link column; None for other lists."""
    child_type, meaning = table.EMBEDDED_LIST_CHILDREN.get((parent_type, list_field), (None, None))
    if meaning != "removed" or child_type is None:
        return None
    model = model_for(child_type)
    link = table.EMBEDDED_LISTS.get((parent_type, list_field))
    if model is None or link is None:
        return None
    return Removal(model, model._meta.get_field(link).column)


# Model fields named for a Stripe field whose name is a Python keyword -> that name.
_PAYLOAD_KEYS = {field: key for key, field in table.KEYWORD_FIELDS.items()}


@model_cache
def columns_of(model: type[StripeModel]) -> tuple[Column, ...]:
    derived = table.LEGACY_FIELDS.get(model.stripe_object, {})
    links = _link_fields(model.stripe_object)
    result = []
    for field in model._meta.concrete_fields:
        if field.name in BASE_COLUMNS or not getattr(field, "model", None):
            continue
        if field.model is not model and not issubclass(model, field.model):
            continue
        if field.name in _app_columns(model):
            continue
        kind = _kind(field)
        result.append(Column(
            name=_PAYLOAD_KEYS.get(field.name, field.name),
            column=field.column,
            kind=kind,
            max_length=getattr(field, "max_length", None) if isinstance(field, models.CharField) else None,
            derive=derived.get(field.name, (None, None))[1],
            target=field.related_model if kind == REF else None,
            keep_when_null=kind == REF and field.name in links,
        ))
    return tuple(result)


@model_cache
def layout_of(model: type[StripeModel]) -> tuple[tuple[Column, ...], dict[str, int],
                                                 tuple[tuple[int, Column], ...]]:
    """The model's columns, the index of each by payload key, and the (index, column)
    of those derived from other fields (``type_table.LEGACY_FIELDS``)."""
    columns = columns_of(model)
    index_of = {col.name: index for index, col in enumerate(columns)}
    derived = tuple((index, col) for index, col in enumerate(columns) if col.derive is not None)
    return columns, index_of, derived


# How the planner's loop takes a payload value as it is, without a converter call:
# (index, column, the one type taken as it is, its limit). ``ANY_TYPE``: every value
# (JSON columns); a str within ``limit`` characters; an int within 64 bits; a bool.
# None as the type: always through the converter. The same results as the converters,
# decided per column once instead of per value.
ANY_TYPE = object
_NO_LIMIT = 2 ** 63


@model_cache
def fast_layout_of(model: type[StripeModel]) -> dict[str, tuple[int, Column, type | None, int]]:
    """Payload key -> (index, column, type taken as it is, limit) for the planner."""
    columns, index_of, _ = layout_of(model)
    plan = {}
    for key, index in index_of.items():
        col = columns[index]
        taken: type | None = None
        limit = _NO_LIMIT
        if col.kind == JSON:
            taken = ANY_TYPE
        elif col.kind == STRING:
            taken = str
            limit = col.max_length if col.max_length is not None else _NO_LIMIT
        elif col.kind in (REF, POLY):
            taken = str
        elif col.kind == BOOLEAN:
            taken = bool
        elif col.kind == INTEGER:
            taken = int
        plan[key] = (index, col, taken, limit)
    return plan


def _app_columns(model: type[StripeModel]) -> frozenset[str]:
    """Columns of the app's own mixins (event processing state): never from payloads."""
    names = set()
    for base in model.__mro__[1:]:
        if base is StripeModel or not issubclass(base, models.Model) or base is models.Model:
            continue
        mixin: type[models.Model] = base  # issubclass() above; mypy does not narrow to an untyped class
        if mixin._meta.abstract:
            names |= {f.name for f in mixin._meta.local_fields}
    return frozenset(names)


@lru_cache(maxsize=None)
def model_for(object_name: str) -> type[StripeModel] | None:
    """The model of an object type (or of an old name of it, ``file_upload``)."""
    return _registry().get(table.OBJECT_ALIASES.get(object_name, object_name))


@lru_cache(maxsize=1)
def _registry() -> dict[str, type[StripeModel]]:
    return {
        m.stripe_object: m
        for m in apps.get_app_config("stripe_django").get_models()
        if issubclass(m, StripeModel) and m.stripe_object
    }


def mirrored_types() -> dict[str, type[StripeModel]]:
    return dict(_registry())


# --- value converters: payload value -> Python value of the column ------------------

def to_timestamp(value: Any) -> dt.datetime | None:
    """A Unix timestamp (v1 objects) or an RFC 3339 string (v2 objects) as an aware
    datetime; the sub-second part of a v2 time is kept to the microsecond."""
    if value is None:
        return None
    if type(value) is int:
        try:
            return dt.datetime.fromtimestamp(value, tz=dt.timezone.utc)
        except (OverflowError, ValueError, OSError):
            raise WrongType(f"timestamp {value} is out of range") from None
    if type(value) is str:
        return rfc3339_to_datetime(value)
    raise WrongType(f"expected a Unix timestamp (integer) or an RFC 3339 time, "
                    f"got {type(value).__name__}")


# RFC 3339 as Stripe's v2 API writes it: date "T" time, optional fraction, then "Z" or
# an offset. More than six fractional digits are cut to microseconds (what the columns
# hold); a time without an offset is refused rather than guessed.
_RFC3339 = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})\Z")


def rfc3339_to_datetime(value: str) -> dt.datetime:
    match = _RFC3339.match(value)
    if match is None:
        raise WrongType("expected a Unix timestamp or an RFC 3339 time such as "
                        f"2024-10-22T16:20:09.931Z, got {value[:40]!r}")
    date, time, fraction, offset = match.groups()
    fraction = ((fraction or "") + "000000")[:6]
    offset = "+00:00" if offset in ("Z", "z") else offset
    try:
        return dt.datetime.fromisoformat(f"{date}T{time}.{fraction}{offset}")
    except ValueError:
        raise WrongType(f"not a valid time: {value[:40]!r}") from None


# What a BigIntegerField holds on every supported database.
_INT64 = (-(2 ** 63), 2 ** 63 - 1)


def to_integer(value: Any) -> int | None:
    if value is None:
        return value
    if type(value) is int:
        if not _INT64[0] <= value <= _INT64[1]:
            raise WrongType(f"integer {value} is out of the 64-bit range")
        return value
    raise WrongType(f"expected an integer, got {type(value).__name__}")


def to_float(value: Any) -> float | None:
    if value is None or type(value) in (int, float):
        return value
    raise WrongType(f"expected a number, got {type(value).__name__}")


def to_decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    if type(value) in (str, int, float):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise WrongType(f"expected a decimal string, got {value!r}") from None
    raise WrongType(f"expected a decimal string, got {type(value).__name__}")


def to_boolean(value: Any) -> bool | None:
    if value is None or type(value) is bool:
        return value
    raise WrongType(f"expected true or false, got {type(value).__name__}")


def to_string(value: Any, max_length: int | None) -> str | None:
    if value is None:
        return None
    if type(value) is str:
        if max_length is not None and len(value) > max_length:
            raise WrongType(f"longer than {max_length} characters")
        return value
    raise WrongType(f"expected a string, got {type(value).__name__}")


SCALAR_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    TIMESTAMP: to_timestamp,
    INTEGER: to_integer,
    FLOAT: to_float,
    DECIMAL: to_decimal,
    BOOLEAN: to_boolean,
}
