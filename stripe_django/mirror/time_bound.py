"""A time bound on storing an answer the API already gave (``MIRROR_STORE_TIMEOUT``).

A database that hangs (a row lock another transaction keeps, a statement stuck behind
a long migration) must not hold the caller of a mirrored call, whose change Stripe has
already made: each statement of the store is given the time left of the bound, by the
database itself, on the caller's own connection and inside its transaction:

* PostgreSQL: ``statement_timeout`` (which covers lock waits), set for the store and
  put back as it was after it; two statements per store, and a third only when a store
  has spent half its time, to give the next statement what is left.
* MariaDB: each data statement is sent as ``SET STATEMENT max_statement_time=... FOR``
  (no statement more).
* SQLite: the connection's busy timeout (an in-process setting, no statement).

A data statement that would start after the time is up is not sent. Other databases
(MySQL) get that last check only. Statements of the transaction itself (``ROLLBACK TO
SAVEPOINT``) are never held back: the store's failure must leave the caller's
transaction usable. What was not stored is reported by :mod:`.hook` as
``MIRROR_FAILURES`` says.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any, Callable, Iterator

from django.db import OperationalError, connections

__all__ = ["StoreTimeout", "time_bound"]

# The statements the bound is put on: not SAVEPOINT, RELEASE or ROLLBACK, which undo
# a store that ran out of time (and which MariaDB's SET STATEMENT refuses).
_DATA_STATEMENTS = ("SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE", "WITH", "COPY")


def _is_data(sql: str) -> bool:
    return sql.lstrip()[:7].upper().startswith(_DATA_STATEMENTS)


class StoreTimeout(OperationalError):
    """Storing an answer did not finish within ``MIRROR_STORE_TIMEOUT``."""


@contextlib.contextmanager
def time_bound(alias: str, seconds: float | None) -> Iterator[None]:
    """Inside the block, the statements on ``alias`` end within ``seconds`` in all
    (None: no bound)."""
    if seconds is None:
        yield
        return
    connection = connections[alias]
    bound = _Bound(time.monotonic() + seconds, seconds)
    connection.ensure_connection()
    vendor = connection.vendor
    if vendor == "postgresql":
        with _postgres(connection, bound):
            yield
    elif vendor == "sqlite":
        with _sqlite(connection, bound):
            yield
    else:
        mariadb = vendor == "mysql" and getattr(connection, "mysql_is_mariadb", False)
        with connection.execute_wrapper(_mariadb_wrapper(bound) if mariadb else bound.check):
            yield


class _Bound:
    def __init__(self, deadline: float, seconds: float) -> None:
        self.deadline = deadline
        self.seconds = seconds
        self.given = seconds  # the time the database was last told

    def left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise StoreTimeout(f"storing did not finish within {self.seconds:g} s")
        return left

    def check(self, execute: Callable[..., Any], sql: str, params: Any, many: bool,
              context: dict[str, Any]) -> Any:
        if _is_data(sql):
            self.left()
        return execute(sql, params, many, context)


@contextlib.contextmanager
def _postgres(connection: Any, bound: _Bound) -> Iterator[None]:
    # Inside the caller's transaction the bound is set for that transaction only (as SET
    # LOCAL): restored at the end it would otherwise make a caller's own SET LOCAL
    # outlive its transaction. In autocommit it is set for the session, and restored.
    local = connection.in_atomic_block
    set_timeout = "SELECT set_config('statement_timeout', %s, %s)"
    with connection.cursor() as cursor:
        # The value before, and the bound, in one round trip (the subquery is read first).
        cursor.execute("SELECT was.value, set_config('statement_timeout', %s, %s) FROM "
                       "(SELECT current_setting('statement_timeout') AS value) AS was",
                       [_milliseconds(bound.seconds), local])
        before = cursor.fetchone()[0]

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool,
                context: dict[str, Any]) -> Any:
        if not _is_data(sql):
            return execute(sql, params, many, context)
        left = bound.left()
        if left < bound.given / 2:
            # Half of what the database was told is gone: the next statement gets
            # what is left, so the store as a whole stays within the bound.
            bound.given = left
            context["cursor"].execute(set_timeout, [_milliseconds(left), local])
        return execute(sql, params, many, context)

    try:
        with connection.execute_wrapper(wrapper):
            yield
    finally:
        if not connection.needs_rollback and connection.connection is not None:
            with contextlib.suppress(Exception):  # an aborted transaction's rollback undoes it
                with connection.cursor() as cursor:
                    cursor.execute(set_timeout, [before, local])


def _milliseconds(seconds: float) -> str:
    return f"{max(1, int(seconds * 1000))}ms"


@contextlib.contextmanager
def _sqlite(connection: Any, bound: _Bound) -> Iterator[None]:
    raw = connection.connection
    before = raw.execute("PRAGMA busy_timeout").fetchone()[0]
    raw.execute(f"PRAGMA busy_timeout = {int(bound.seconds * 1000)}")

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool,
                context: dict[str, Any]) -> Any:
        if _is_data(sql):
            left = bound.left()
            if left < bound.given / 2:
                # as on PostgreSQL: the next statement may wait only for what is left
                bound.given = left
                raw.execute(f"PRAGMA busy_timeout = {max(1, int(left * 1000))}")
        return execute(sql, params, many, context)

    try:
        with connection.execute_wrapper(wrapper):
            yield
    finally:
        raw.execute(f"PRAGMA busy_timeout = {int(before)}")


def _mariadb_wrapper(bound: _Bound) -> Callable[..., Any]:
    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool,
                context: dict[str, Any]) -> Any:
        if _is_data(sql):
            left = bound.left()
            sql = f"SET STATEMENT max_statement_time={max(left, 0.001):.3f} FOR {sql}"
        return execute(sql, params, many, context)

    return wrapper
