"""Indexes: the columns people filter on have one; ids have no PostgreSQL '_like' twin."""

import re

import pytest
from django.apps import apps
from django.db import connection

from stripe_django import models

pytestmark = pytest.mark.django_db

STRIPE_MODELS = [m for m in apps.get_app_config("stripe_django").get_models()
                 if issubclass(m, models.base.StripeModel)]


def _single_column_indexes(model) -> set[str]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {c["columns"][0] for c in constraints.values() if c["index"] and len(c["columns"]) == 1}


@pytest.mark.parametrize("model, columns", [
    (models.Customer, {"email", "created", "stripe_account", "test_clock_id"}),
    (models.Invoice, {"number", "status", "created", "customer_id", "customer_email"}),
    (models.Subscription, {"status", "created", "current_period_end", "customer_id"}),
    (models.Charge, {"status", "created", "customer_id", "payment_intent_id"}),
    (models.Event, {"type", "created", "processing_status"}),
])
def test_filtered_columns_are_indexed(model, columns):
    assert columns <= _single_column_indexes(model)


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="the '_like' (varchar_pattern_ops) indexes are PostgreSQL's alone")
def test_postgresql_has_the_declared_indexes_and_no_like_index_on_ids():
    tables = {m._meta.db_table: m for m in apps.get_app_config("stripe_django").get_models()}
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename, indexname, indexdef FROM pg_indexes"
                       " WHERE schemaname = current_schema()")
        found = [row for row in cursor.fetchall() if row[0] in tables]
    pattern_ops = {(table, re.search(r"\(\"?(\w+)\"? \w+_pattern_ops\)", definition).group(1))
                   for table, _name, definition in found if "_pattern_ops" in definition}
    id_columns = {(m._meta.db_table, f.column) for m in STRIPE_MODELS
                  for f in m._meta.concrete_fields
                  if f.primary_key or f.is_relation or f.name == "stripe_account"}
    assert pattern_ops & id_columns == set()

    # Every other index is one the models declare: the primary key, db_index columns
    # (foreign keys, stripe_account, ...), Meta.indexes and unique constraints.
    declared = sum(
        1 + sum(1 for f in m._meta.concrete_fields if f.db_index and not f.primary_key)
        + len(m._meta.indexes) + len(m._meta.constraints)
        for m in tables.values()
    )
    assert len(found) - len(pattern_ops) == declared
    assert sum(len(m._meta.indexes) for m in STRIPE_MODELS) >= 150
