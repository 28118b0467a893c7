"""Shared fixtures. Area-specific fixtures live in the conftest.py of each test folder."""

import json
import os
from pathlib import Path

import pytest

FIXTURES3 = Path(__file__).resolve().parent.parent.parent / "shared" / "stripe-openapi" / "fixtures3.json"


@pytest.fixture(scope="session")
def stripe_examples() -> dict:
    """Stripe's published example object of each type (../shared/stripe-openapi)."""
    if not FIXTURES3.exists():
        missing(f"Stripe's example objects are not at {FIXTURES3} (they are beside the repo in CI)")
    return json.loads(FIXTURES3.read_text())["resources"]


@pytest.fixture
def unused_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (a connection to it is refused)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def missing(reason: str) -> None:
    """Skip a test whose input or service is absent on a user's machine (../shared, the
    Redis at 127.0.0.1:6379); in CI, where both are always there, its absence is a
    failure, not a skip."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def close_thread_connections() -> None:
    """Close the database connections the calling thread (not the test's own) opened.

    Django ignores ``close()`` on an in-memory SQLite database, since closing the last
    connection would drop it; the tests' database is shared by all threads, so a helper
    thread's own connection can be closed without loss, and must be: Python 3.13 warns
    of a sqlite3 connection collected unclosed."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        if connection.vendor == "sqlite" and connection.is_in_memory_db():
            if connection.connection is not None:
                connection.connection.close()
                connection.connection = None
        else:
            connection.close()
