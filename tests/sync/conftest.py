"""Fixtures of the sync tests: one localstripe server for the session, a seeded account
per test that wants one, and STRIPE_DJANGO settings pointing at a server."""

from __future__ import annotations

import time

import pytest

from stripe_django.testing.localstripe import LocalStripe


@pytest.fixture(scope="session")
def localstripe():
    """A localstripe server (127.0.0.1, nothing on disk), stopped at the end."""
    with LocalStripe() as server:
        yield server


def point_at(settings, api_base: str, api_key: str = "sk_test_sync_tests", **extra) -> None:
    settings.STRIPE_DJANGO = {
        "API_KEY": api_key,
        "API_BASE": api_base,
        # localstripe answers 500 to parameters it does not know: no retries of those
        "MAX_NETWORK_RETRIES": 0,
        "SYNC_RATE_LIMIT": 1000,
        **extra,
    }


@pytest.fixture
def server(localstripe, settings):
    """An empty localstripe, with the settings pointing at it."""
    localstripe.flush()
    point_at(settings, localstripe.api_base, localstripe.api_key)
    return localstripe


@pytest.fixture
def seeded(server):
    """A small seeded account (stripe_django.testing.seed). Returns the seeder's result."""
    from stripe_django.testing.seed import seed_account

    result = seed_account(server.client(), customers=12)
    # localstripe's event times have one-second resolution: let the seeding's second
    # pass, so that a sync's snapshots are strictly newer than the seeding events.
    time.sleep(1.05)
    return result
