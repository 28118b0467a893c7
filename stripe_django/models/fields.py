"""The column types of mirrored Stripe fields.

Generated model modules declare every Stripe field through these constructors, so a
reader sees the Stripe kind of a field (``fields.Timestamp()``, ``fields.Reference(...)``)
rather than its storage details, and the ingest engine can tell kinds apart by class.
"""

from __future__ import annotations

import decimal

from django.db import models


class PolymorphicReferenceField(models.CharField):
    """The id of an object of one of several types (``default_source``), or of a type
    that is not mirrored. An expanded object is stored as a row of its own model.
    """


class TimestampField(models.DateTimeField):
    """A Unix timestamp in the payload, an aware datetime in Python."""


class ExactDecimalField(models.DecimalField):
    """A decimal string (``unit_amount_decimal``, ``metric_tons``) kept digit for digit.

    PostgreSQL and MySQL store it as ``numeric``. SQLite's numeric storage keeps 15
    significant digits, so there the column is text and the value is read back exactly;
    SQLite then compares these columns as text, not as numbers.
    """

    def db_type(self, connection) -> str | None:
        if connection.vendor == "sqlite":
            return "text"
        return connection.data_types["DecimalField"] % self.db_type_parameters(connection)

    def get_internal_type(self) -> str:
        # Not "DecimalField": SQLite's converter for those reads the value as a float.
        return "TextField"

    def from_db_value(self, value, expression, connection):
        if value is None or isinstance(value, decimal.Decimal):
            return value
        return decimal.Decimal(str(value))

    def get_db_prep_value(self, value, connection, prepared=False):
        if not prepared:
            value = self.get_prep_value(value)
        if value is None:
            return None
        if connection.vendor == "sqlite":
            return str(value)
        return connection.ops.adapt_decimalfield_value(value, self.max_digits, self.decimal_places)


class IdListField(models.JSONField):
    """A list of references (``discounts``): the ids, in Stripe's order.

    Expanded elements are stored as rows of their own model; the column keeps the ids.
    """


class EmbeddedListField(models.JSONField):
    """An embedded list (``invoice.lines``): the ids of the child rows, in order.

    The child rows themselves live in the child model, linked back to this row.
    """


def String() -> models.TextField:
    return models.TextField(null=True, blank=True)


def Enum() -> models.CharField:
    # Stripe adds enum values without notice, so values are not validated here.
    return models.CharField(max_length=255, null=True, blank=True)


def Integer() -> models.BigIntegerField:
    # Amounts are in the smallest currency unit and can exceed 2**31 (e.g. in IDR).
    return models.BigIntegerField(null=True, blank=True)


def Float() -> models.FloatField:
    return models.FloatField(null=True, blank=True)


def Decimal() -> ExactDecimalField:
    # Stripe's *_decimal strings carry up to 12 decimal places.
    return ExactDecimalField(max_digits=32, decimal_places=12, null=True, blank=True)


def Boolean() -> models.BooleanField:
    return models.BooleanField(null=True, blank=True)


def Timestamp() -> TimestampField:
    return TimestampField(null=True, blank=True)


def Json() -> models.JSONField:
    return models.JSONField(null=True, blank=True)


def IdList() -> IdListField:
    return IdListField(null=True, blank=True)


def EmbeddedList() -> EmbeddedListField:
    return EmbeddedListField(null=True, blank=True)


def PolymorphicReference() -> PolymorphicReferenceField:
    return PolymorphicReferenceField(max_length=255, null=True, blank=True)


def Reference(to: str, related_name: str | None = None) -> models.ForeignKey:
    """A reference to another mirrored object, stored as its Stripe id.

    No database constraint: rows arrive in any order, and ingest sets ``customer_id``
    without looking the customer up.
    """
    return models.ForeignKey(
        to,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name=related_name,
    )
