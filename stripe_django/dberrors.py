"""Telling a database error about the data from one that may pass.

Ingest, the sync and the webhook view answer them differently: a value the database
refuses (a string too long, an integrity or CHECK violation, bad JSON) will be refused
again, so the object is reported as refused and the rest goes on; anything else (a lock
wait timeout, a deadlock, "database is locked", a lost connection, a table missing
until ``migrate`` runs) may pass later, so the work is retried or left for a retry and
never counted as done.
"""

from __future__ import annotations

import time
from typing import Callable, Sequence, TypeVar

from django.db import DataError, DatabaseError, IntegrityError, connections

__all__ = ["about_the_data", "is_transient", "retrying", "RETRY_DELAYS"]

T = TypeVar("T")

# PostgreSQL SQLSTATE classes about the values sent: 22 data exception,
# 23 integrity constraint violation, 54 program limit exceeded (a value too large).
_POSTGRES_DATA_CLASSES = ("22", "23", "54")


def about_the_data(error: BaseException) -> bool:
    """The database refused the values themselves: sending them again cannot work."""
    if isinstance(error, (DataError, IntegrityError)):
        return True
    sqlstate = getattr(error.__cause__, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate[:2] in _POSTGRES_DATA_CLASSES:
        return True
    return False


def is_transient(error: BaseException) -> bool:
    """A database error that does not say the data is wrong: worth trying again."""
    return isinstance(error, DatabaseError) and not about_the_data(error)


# Seconds to wait before each new try after a database error that may pass (a lock held
# by a concurrent writer, "database is locked"): about 8 s in all, longer than a
# webhook's or a sync group's transaction holds its locks.
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 4.0)


def retrying(work: Callable[[], T], *, using: str, delays: Sequence[float] = RETRY_DELAYS,
             on_retry: Callable[[BaseException], None] | None = None) -> T:
    """``work()``, tried again after each of ``delays`` while it fails with an error that
    may pass (:func:`is_transient`); the last error is raised. Inside a transaction the
    first error is raised at once: PostgreSQL refuses every statement of a transaction
    after an error, and the caller's transaction is not this function's to roll back."""
    for delay in (*delays, None):
        try:
            return work()
        except DatabaseError as error:
            if delay is None or not is_transient(error) or connections[using].in_atomic_block:
                raise
            if on_retry is not None:
                on_retry(error)
            time.sleep(delay)
    raise AssertionError("not reached: the last try returns or raises")
