"""Shared fixtures: Stripe's example objects, localstripe (one server for the run) and the
settings pointing at a server. Area-specific fixtures live in the conftest.py of each test
folder; the test doubles themselves in ``stripe_django.testing``."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from stripe_django.testing.localstripe import LocalStripe

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


def point_at(settings, api_base: str, api_key: str = "sk_test_sync_tests", **extra: Any) -> None:
    """Point ``STRIPE_DJANGO`` (the whole setting) at a Stripe stand-in: localstripe or
    ``stripe_django.testing.stripe_stub.StripeStub``."""
    settings.STRIPE_DJANGO = {
        "API_KEY": api_key,
        "API_BASE": api_base,
        # localstripe answers 500 to parameters it does not know: no retries of those
        "MAX_NETWORK_RETRIES": 0,
        "SYNC_RATE_LIMIT": 1000,
        **extra,
    }


@pytest.fixture(scope="session")
def localstripe() -> Iterator[LocalStripe]:
    """One localstripe server for the whole run (127.0.0.1, nothing on disk), stopped at
    the end. A test empties it first (``flush()``, or the ``server`` fixture), and
    disables the webhooks it registers."""
    with LocalStripe() as server:
        yield server


@pytest.fixture
def server(localstripe: LocalStripe, settings) -> LocalStripe:
    """An empty localstripe, with the settings pointing at it (and the tests' webhook
    secret)."""
    localstripe.flush()
    point_at(settings, localstripe.api_base, localstripe.api_key,
             WEBHOOK_SECRETS=["whsec_tests_primary"])
    return localstripe


@pytest.fixture
def seeded(server: LocalStripe) -> dict:
    """A small seeded account (``stripe_django.testing.seed``). Returns the seeder's result."""
    from stripe_django.testing.seed import seed_account

    result = seed_account(server.client(), customers=12)
    # localstripe's event times have one-second resolution: let the seeding's second
    # pass, so that a sync's snapshots are strictly newer than the seeding events.
    time.sleep(1.05)
    return result


@pytest.fixture
def child_env(tmp_path) -> dict[str, str]:
    """The environment of a ``kill -9`` test's child process (:mod:`tests.killing`)."""
    from .killing import child_environment

    return child_environment(tmp_path)
