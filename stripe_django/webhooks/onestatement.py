"""PostgreSQL: a new event stored and its object applied in ONE statement.

The webhook view's inline path on PostgreSQL, outside any transaction of the caller::

    WITH stored_event AS (INSERT INTO <event table> ... ON CONFLICT (id) DO NOTHING RETURNING 1),
         row_0 AS (INSERT INTO <model table> (...) SELECT ... WHERE EXISTS (SELECT 1 FROM stored_event)
                   ON CONFLICT (id) DO UPDATE SET ... WHERE <stored stamp> <= excluded.<stamp>),
         ...
    SELECT EXISTS (SELECT 1 FROM stored_event)

Run in autocommit, the statement is its own transaction: the event row (inserted
already marked processed, which claims it) and the object's rows are written together
or not at all, in one round trip, without BEGIN and COMMIT. The object's rows go in
only when the event row is new; the staleness guard of each upsert keeps a newer
stored state. An event stored before (a redelivery, a sync, a concurrent delivery:
``ON CONFLICT`` waits for that one's transaction to end) writes nothing here, and the
caller claims it in a transaction as for any stored event.

Statements of the same shape (the same models, as many rows) have the same text, so
psycopg prepares them on the server once per connection (after ``prepare_threshold``
runs); the parameters are bound apart from the text, typed by their target columns.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable

from ..ingest.planner import Row
from ..ingest.writer import cursor_for, guarded_upserts

__all__ = ["GATE", "MAX_ROWS", "applies", "store_and_apply"]

#: The name of the expression inserting the event row, which gates the others.
GATE = "stored_event"
#: More rows than this (an object with many expanded or embedded objects) go the way of
#: a transaction: one statement per model then costs less than one expression per row.
MAX_ROWS = 20


def applies(connection: Any, rows: int, memberships: int) -> bool:
    """Whether one statement can do the work: PostgreSQL, outside a transaction (inside
    one, the caller's savepoint semantics stay as they are), no complete embedded list
    (telling which stored children it no longer names takes a look-up first)."""
    return (connection.vendor == "postgresql" and not connection.in_atomic_block
            and not memberships and rows <= MAX_ROWS)


def store_and_apply(connection: Any, insert_event: str, event_params: list[Any],
                    rows: Iterable[Row]) -> bool:
    """Run the statement; True when the event row was new (it and the rows are stored),
    False when it was stored before (nothing written)."""
    parts = guarded_upserts(rows, connection, GATE)
    params = list(event_params)
    for _, row_params in parts:
        params += row_params
    sql = _statement(insert_event, tuple(body for body, _ in parts))
    with cursor_for(connection) as cursor:
        cursor.execute(sql, params)
        return bool(cursor.fetchone()[0])


@lru_cache(maxsize=256)
def _statement(insert_event: str, bodies: tuple[str, ...]) -> str:
    expressions = [f"{GATE} AS ({insert_event} RETURNING 1)"]
    expressions += [f"row_{i} AS ({body})" for i, body in enumerate(bodies)]
    return f"WITH {', '.join(expressions)} SELECT EXISTS (SELECT 1 FROM {GATE})"
