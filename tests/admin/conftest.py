"""Fixtures of the admin tests: a logged-in superuser and a small mirror to look at."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from stripe_django.sync import upsert_many
from stripe_django.testing import payloads

from ..webhooks.conftest import deliver  # noqa: F401  (a fixture of these tests too)


@pytest.fixture
def admin_client(client, db):
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    return client


def customers(n: int, start: int = 0) -> list[dict]:
    return [payloads.customer_current(f"cus_{i:04d}", email=f"person{i}@example.com",
                                      name=f"Person {i}", created=payloads.T0 + i)
            for i in range(start, start + n)]


def invoices(n: int, start: int = 0, n_lines: int = 2) -> list[dict]:
    return [payloads.invoice_current(f"in_{i:04d}", customer=f"cus_{i:04d}", n_lines=n_lines,
                                     created=payloads.T0 + i, total=5000 + i)
            for i in range(start, start + n)]


def subscriptions(n: int, start: int = 0) -> list[dict]:
    subs = []
    for i in range(start, start + n):
        sub = payloads.subscription_current(f"sub_{i:04d}", customer=f"cus_{i:04d}")
        sub["items"]["data"][0]["id"] = f"si_{i:04d}"
        subs.append(sub)
    return subs


def charges(n: int, start: int = 0) -> list[dict]:
    return [payloads.charge_2017(f"ch_{i:04d}", customer=f"cus_{i:04d}",
                                 refunds={"object": "list", "data": [], "has_more": False})
            for i in range(start, start + n)]


def mirror(n: int, start: int = 0) -> None:
    """n customers, each with an invoice (2 lines), a subscription and a charge."""
    result = upsert_many([*customers(n, start), *invoices(n, start), *subscriptions(n, start),
                          *charges(n, start)])
    assert not result.errors, result.errors
