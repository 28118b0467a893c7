"""A nested list no event covers (a customer's balance transactions) finds a new child
of an OLD parent (issue 20): incremental runs walk only the parents created since, and
all the parents again once ``SYNC_EMPTY_LISTS_EVERY`` has passed since the list's last
whole walk began (the cursor's ``pass_started_at``).

Requests are counted at the stub Stripe, exactly: the real stripe-python client, real
databases, nothing of the project mocked.
"""

from __future__ import annotations

import datetime as dt
import io
import time

import pytest
from django.core.management import call_command
from django.utils import timezone

from stripe_django import type_table as table
from stripe_django.models import CustomerBalanceTransaction, SyncCursor
from stripe_django.testing.objects import make_object
from stripe_django.testing.stripe_stub import StripeStub

from ..conftest import point_at

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMERS = 3
NESTED = "customer_balance_transaction"


def balance_transaction(number: int, customer: str) -> dict:
    return {"id": f"cbtxn_rewalk{number:04d}", "object": "customer_balance_transaction",
            "amount": -100 * number, "created": int(time.time()), "currency": "usd",
            "customer": customer, "description": f"adjustment {number}",
            "ending_balance": -100 * number, "livemode": False, "metadata": {},
            "type": "adjustment", "credit_note": None, "invoice": None}


@pytest.fixture
def stub(settings):
    with StripeStub({"customers": CUSTOMERS}, empty_lists=True) as stub:
        point_at(settings, stub.api_base)
        yield stub


def run_sync(stub: StripeStub) -> list[str]:
    """``stripe_sync customer customer_balance_transaction``: the paths it asked for."""
    before = len(stub.requests)
    call_command("stripe_sync", "customer", NESTED, "--quiet", stdout=io.StringIO())
    return sorted(r.resource for r in stub.requests[before:])


def run_first_sync(stub: StripeStub) -> list[str]:
    """A first sync's paths. Its events catch-up reads from the second its pass began, so
    it asks for events only when the run crossed into the next second: that one request,
    if made, is left out here (which lists were walked is what the tests look at)."""
    asked = run_sync(stub)
    assert asked.count("events") <= 1, asked
    return [path for path in asked if path != "events"]


def next_second() -> None:
    # A run's events window and the created marks are whole seconds.
    time.sleep(1.05)


def children_path(customer: str) -> str:
    return f"customers/{customer}/balance_transactions"


def mirrored() -> set[str]:
    return set(CustomerBalanceTransaction.objects.values_list("pk", flat=True))


def test_a_new_child_of_an_old_parent_is_found_once_the_whole_walk_is_due(stub):
    assert NESTED not in table.EVENTED_LISTS  # no event brings its new objects
    customers = [make_object("customers", i)["id"] for i in range(CUSTOMERS)]
    old_parent, other_parent = customers[0], customers[1]
    first = balance_transaction(1, old_parent)
    stub.held[(None, children_path(old_parent))] = [first]
    every_parent = sorted(["customers", "events", *map(children_path, customers)])

    # 1. A first sync: the customers once (as a list, and for the nested list) and the
    # children of each; no events yet (the first pass starts from now; see
    # run_first_sync).
    first_sync = sorted(["customers", *map(children_path, customers)])
    assert run_first_sync(stub) == first_sync
    assert mirrored() == {first["id"]}
    cursor = SyncCursor.objects.get(object_type=NESTED)
    assert cursor.complete and cursor.found_objects is True
    walked = cursor.pass_started_at
    assert walked is not None

    # 2. A new child of a customer the first sync saw: an incremental run walks only the
    # customers created since (none), so it is not found before the cadence.
    second = balance_transaction(2, other_parent)
    stub.held[(None, children_path(other_parent))] = [second]
    next_second()
    assert run_sync(stub) == ["customers", "events"]
    assert mirrored() == {first["id"]}
    assert SyncCursor.objects.get(object_type=NESTED).pass_started_at == walked

    # 3. SYNC_EMPTY_LISTS_EVERY (a day) after the last whole walk began: the list walks
    # every customer again and finds the new child; the walk's start is kept.
    SyncCursor.objects.filter(object_type=NESTED).update(
        pass_started_at=timezone.now() - dt.timedelta(days=1, seconds=1))
    next_second()
    before = timezone.now()
    assert run_sync(stub) == every_parent
    assert mirrored() == {first["id"], second["id"]}
    cursor = SyncCursor.objects.get(object_type=NESTED)
    assert cursor.pass_started_at >= before and cursor.found_objects is True

    # 4. The next run is incremental again.
    next_second()
    assert run_sync(stub) == ["customers", "events"]


def test_a_nested_list_walks_every_parent_on_every_run_with_an_interval_of_zero(stub, settings):
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "SYNC_EMPTY_LISTS_EVERY": 0}
    customers = [make_object("customers", i)["id"] for i in range(CUSTOMERS)]
    stub.held[(None, children_path(customers[0]))] = [balance_transaction(1, customers[0])]
    every_parent = sorted(["customers", "events", *map(children_path, customers)])
    assert run_first_sync(stub) == sorted(["customers", *map(children_path, customers)])
    late = balance_transaction(2, customers[2])
    stub.held[(None, children_path(customers[2]))] = [late]
    next_second()
    assert run_sync(stub) == every_parent
    assert late["id"] in mirrored()
