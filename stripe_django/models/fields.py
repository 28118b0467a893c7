"""The column types of mirrored Stripe fields.

Generated model modules declare every Stripe field through these constructors, so a
reader sees the Stripe kind of a field (``fields.Timestamp()``, ``fields.Reference(...)``)
rather than its storage details, and the ingest engine can tell kinds apart by class.
"""

from __future__ import annotations

import decimal

from django.db import models


class StripeIdField(models.CharField):
    """A Stripe id (``cus_...``): the primary key, ``stripe_account``, and through
    ``rel_db_type`` every foreign key column.

    PostgreSQL's schema editor gives each indexed ``varchar`` column a second index with
    ``varchar_pattern_ops`` (named ``..._like``) for ``LIKE 'prefix%'`` lookups. Ids are
    matched whole, never by prefix, so those indexes only cost space and write time:
    the column type is spelled ``character varying``, the same type, which that rule
    does not match. Other databases get the usual ``varchar``.
    """

    def db_type(self, connection) -> str | None:
        db_type = super().db_type(connection)
        if connection.vendor == "postgresql" and db_type and db_type.startswith("varchar"):
            return "character varying" + db_type[len("varchar"):]
        return db_type


class ColumnIndex(models.Index):
    """An index on one column users filter or sort on (``created``, ``status``,
    ``email``), declared in ``Meta.indexes`` so PostgreSQL adds no ``_like`` twin.

    MySQL and MariaDB index only a prefix of a TEXT column; for text columns the index
    there covers the first ``TEXT_PREFIX`` characters, which equality lookups and
    ordering still use.
    """

    TEXT_PREFIX = 255

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor != "mysql" or self.expressions:
            return super().create_sql(model, schema_editor, using=using, **kwargs)
        columns = [model._meta.get_field(name) for name, _order in self.fields_orders]
        suffixes = [
            f"({self.TEXT_PREFIX})" if field.db_type(schema_editor.connection).endswith("text")
            else "" for field in columns
        ]
        return schema_editor._create_index_sql(
            model, fields=columns, name=self.name, using=using,
            db_tablespace=self.db_tablespace, col_suffixes=suffixes, **kwargs,
        )


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
        # Django's own lookup for a DecimalField; since Django 6.1 a backend may give a
        # callable (PostgreSQL's ``numeric`` without bounds) instead of a %-format.
        column_type = connection.data_types["DecimalField"]
        parameters = self.db_type_parameters(connection)
        return column_type(parameters) if callable(column_type) else column_type % parameters

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
