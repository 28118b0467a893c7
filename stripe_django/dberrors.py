"""Telling a database error about the data from one that may pass.

Ingest, the sync and the webhook view answer them differently: a value the database
refuses (a string too long, an integrity or CHECK violation, bad JSON) will be refused
again, so the object is reported as refused and the rest goes on; anything else (a lock
wait timeout, a deadlock, "database is locked", a lost connection, a table missing
until ``migrate`` runs) may pass later, so the work is retried or left for a retry and
never counted as done.
"""

from __future__ import annotations

from django.db import DataError, DatabaseError, IntegrityError

__all__ = ["about_the_data", "is_transient"]

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
