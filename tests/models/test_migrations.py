"""Migration 0004 applied to a database of 0003: indexes added, PostgreSQL's '_like'
indexes on ids dropped, and back again."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from stripe_django import models

BEFORE = [("stripe_django", "0003_trust")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def _indexed_columns(table: str) -> set[str]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {c["columns"][0] for c in constraints.values() if c["index"] and len(c["columns"]) == 1}


def _like_indexes(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s"
                       " AND indexdef LIKE %s", [table, "%varchar_pattern_ops%"])
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_0004_migrates_a_0003_database_and_back():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("stripe_django")
    table = models.Customer._meta.db_table
    try:
        _migrate(BEFORE)
        assert "email" not in _indexed_columns(table)
        if connection.vendor == "postgresql":
            # What 0001 made on PostgreSQL for every id and foreign key.
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE INDEX stripe_django_customer_id_test_like ON {table}"
                               " (id varchar_pattern_ops)")
                cursor.execute(f"CREATE INDEX stripe_django_customer_tc_test_like ON {table}"
                               " (test_clock_id varchar_pattern_ops)")
            assert len(_like_indexes(table)) == 2
    finally:
        _migrate(latest)
    assert {"email", "created", "test_clock_id"} <= _indexed_columns(table)
    if connection.vendor == "postgresql":
        assert _like_indexes(table) == []
