"""The migrations: the squashed initial migration of 0.1.0 against the chain it replaces,
and 0004 (in that chain) applied to a database of 0003: indexes added, PostgreSQL's
'_like' indexes on ids dropped, and back again."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

from stripe_django import models

SQUASHED = ("stripe_django", "0001_squashed_0011_change_at_stripe")
CHAIN_END = ("stripe_django", "0011_change_at_stripe")
BEFORE = [("stripe_django", "0003_trust")]


def _chain_executor() -> MigrationExecutor:
    # Once all of 0001-0011 are applied the squashed migration stands for them; to step
    # back into them, the graph keeps the old chain.
    executor = MigrationExecutor(connection)
    executor.loader.replace_migrations = False
    executor.loader.build_graph()
    return executor


def _chain_leaves(executor: MigrationExecutor) -> list[tuple[str, str]]:
    graph = executor.loader.graph
    return [key for key in graph.leaf_nodes("stripe_django") if not graph.nodes[key].replaces]


def _migrate(targets):
    executor = _chain_executor()
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


def test_the_squashed_migration_ends_in_the_state_the_old_chain_ends_in():
    loader = MigrationLoader(None, replace_migrations=False)
    assert loader.get_migration(*SQUASHED).replaces[-1] == CHAIN_END
    chain = loader.project_state(CHAIN_END).models
    squashed = loader.project_state(SQUASHED).models
    mine = {key for key in chain if key[0] == "stripe_django"}
    assert set(squashed) == mine
    differing = sorted(key[1] for key in mine if chain[key] != squashed[key])
    assert differing == []


@pytest.mark.django_db(transaction=True)
def test_0004_migrates_a_0003_database_and_back():
    latest = _chain_leaves(_chain_executor())
    table = models.Customer._meta.db_table
    try:
        _migrate(BEFORE)
        assert "email" not in _indexed_columns(table)
        # Part of the chain unapplied: the squashed migration is no longer applied.
        assert SQUASHED not in MigrationLoader(connection).applied_migrations
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
    # A database that went through the old chain is at the squashed migration: nothing
    # left to apply.
    executor = MigrationExecutor(connection)
    assert SQUASHED in executor.loader.applied_migrations
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []
