"""Connect at scale (issue 20): ``stripe_sync --all-accounts`` against the stub Stripe with
express accounts that each have customers and products, every other list empty.

Requests are counted per connected account at the stub. An incremental run reads the
account's Events once and lists only the lists no event covers
(``type_table.EVENTED_LISTS``); a cursor older than the Events API keeps falls back to
listing as on a first run.
"""

from __future__ import annotations

import collections
import io
import time

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from stripe_django import type_table as table
from stripe_django.models import Customer, Event, SyncCursor
from stripe_django.sync import plan
from stripe_django.sync.report import FAILED, OK, SyncReport, TypeReport, format_summary
from stripe_django.testing.objects import make_object
from stripe_django.testing.stripe_stub import StripeStub

from ..conftest import point_at

pytestmark = pytest.mark.django_db(transaction=True)

ACCOUNTS = ("acct_1ConnectA00001", "acct_1ConnectB00002", "acct_1ConnectC00003")
LISTS = {"customers": 3, "products": 2}


def unevented_lists() -> list[str]:
    """The lists an incremental run still lists in a connected account."""
    return [name for name, spec in table.SYNC_LISTS.items()
            if name not in table.EVENTED_LISTS and not spec.platform_only]


def run_sync(stub: StripeStub) -> collections.Counter[str]:
    """``stripe_sync --all-accounts``; the requests it made per connected account."""
    before = len(stub.requests)
    call_command("stripe_sync", "--all-accounts", "--quiet", stdout=io.StringIO())
    return collections.Counter(a for r in stub.requests[before:]
                               if (a := r.header("Stripe-Account")))


def events_reads(stub: StripeStub, since: int) -> collections.Counter[str]:
    return collections.Counter(r.header("Stripe-Account") for r in stub.requests[since:]
                               if r.resource == "events")


def parent_lists(stub: StripeStub, since: int, account: str, path: str) -> int:
    return sum(1 for r in stub.requests[since:]
               if r.resource == path and r.header("Stripe-Account") == account)


def event(evt_id: str, kind: str, obj: dict, account: str, ago: int = 0) -> dict:
    return {"id": evt_id, "object": "event", "type": kind, "created": int(time.time()) - ago,
            "account": account, "livemode": False, "api_version": "2026-10-28.endive",
            "data": {"object": obj}}


@pytest.fixture
def stub(settings):
    with StripeStub(LISTS, accounts=ACCOUNTS, empty_lists=True) as stub:
        point_at(settings, stub.api_base)
        yield stub


def next_second() -> None:
    # A run's events window ends before the second it starts in.
    time.sleep(1.05)


def test_incremental_runs_read_the_events_once_and_list_only_what_no_event_covers(stub):
    # An event from before the first sync: stored with the others, not applied over
    # the listed state.
    old = {**make_object("customers", 2, ACCOUNTS[0]), "name": "Before the sync"}
    stub.events.append(event("evt_old", "customer.updated", old, ACCOUNTS[0], ago=5 * 86400))
    first_mark = len(stub.requests)
    first = run_sync(stub)
    assert Event.objects.filter(pk="evt_old", stripe_account=ACCOUNTS[0]).exists()
    assert Customer.objects.get(pk=old["id"]).name != "Before the sync"
    # The first sync lists everything once, and reads the Events API once per account.
    assert events_reads(stub, first_mark) == {None: 1, **{a: 1 for a in ACCOUNTS}}
    assert len(set(first.values())) == 1  # the same in every account
    # v2 lists are the platform's (a connected account's v2 objects come by thin events).
    assert [r.path for r in stub.requests[first_mark:]
            if r.path.startswith("/v2/") and r.header("Stripe-Account")] == []
    assert any(r.path.startswith("/v2/") for r in stub.requests[first_mark:])
    # Customers are listed once for themselves and once for all their nested lists
    # (tax ids, balance transactions, payment methods, sources): not once per nested list.
    nested = [n for n, spec in table.SYNC_LISTS.items() if spec.parent == "customer"]
    assert len(nested) == 4
    assert parent_lists(stub, first_mark, ACCOUNTS[0], "customers") == 2

    next_second()
    mark = len(stub.requests)
    unchanged = run_sync(stub)
    expected = 1 + len(unevented_lists())  # the events, then each list no event covers
    assert unchanged == {a: expected for a in ACCOUNTS}
    assert events_reads(stub, mark) == {None: 1, **{a: 1 for a in ACCOUNTS}}  # None: the platform
    # Customers and products are evented: listed only as the parents of a nested list no
    # event covers (for the parents created since), once per such list.
    lists = collections.Counter(r.resource for r in stub.requests[mark:]
                                if r.header("Stripe-Account") == ACCOUNTS[0])
    for parent, path in (("customer", "customers"), ("product", "products")):
        assert lists[path] == len([n for n in unevented_lists() if table.SYNC_LISTS[n].parent == parent])

    # An update, a creation and a deletion in one account reach the tables through its events.
    acct = ACCOUNTS[0]
    updated = {**make_object("customers", 0, acct), "name": "Renamed"}
    created = {**make_object("customers", 0, acct), "id": "cus_newInAccountA", "name": "New"}
    deleted = make_object("customers", 1, acct)
    next_second()
    stub.events += [event("evt_u", "customer.updated", updated, acct),
                    event("evt_c", "customer.created", created, acct),
                    event("evt_d", "customer.deleted", deleted, acct)]
    next_second()
    changed = run_sync(stub)
    assert changed == unchanged  # a change costs no request more
    assert Customer.objects.get(pk=updated["id"]).name == "Renamed"
    assert Customer.objects.get(pk=created["id"]).stripe_account == acct
    assert Customer.objects.get(pk=deleted["id"]).deleted is True
    assert Event.objects.filter(pk__in=["evt_u", "evt_c", "evt_d"]).count() == 3
    # Every other object is there, once, in its own account.
    for other in ACCOUNTS[1:]:
        ids = set(Customer.objects.filter(stripe_account=other).values_list("id", flat=True))
        assert ids == {make_object("customers", i, other)["id"] for i in range(LISTS["customers"])}


def test_a_cursor_older_than_the_events_api_keeps_falls_back_to_listing(stub):
    first = run_sync(stub)
    stale = ACCOUNTS[1]
    too_old = int(time.time()) - (table.EVENTS_RETENTION_DAYS + 1) * 86400
    SyncCursor.objects.filter(account=stale).update(events_after=too_old)
    next_second()
    again = run_sync(stub)
    # The stale account is listed as on a first sync; the others as an unchanged run.
    assert again[stale] == first[stale]
    for acct in (ACCOUNTS[0], ACCOUNTS[2]):
        assert again[acct] == 1 + len(unevented_lists())
    assert not SyncCursor.objects.filter(account=stale, events_after__lt=time.time() - 86400).exists()


def test_cursors_are_created_in_bulk(stub):
    with CaptureQueriesContext(connection) as queries:
        run_sync(stub)
    table_name = SyncCursor._meta.db_table
    # The platform's v2 events cursor (stripe_django.sync.v2_events) is one more row.
    inserts = [q["sql"] for q in queries.captured_queries
               if q["sql"].lstrip().upper().startswith("INSERT") and table_name in q["sql"]
               and "'v2.core.event'" not in q["sql"]]
    cursors = SyncCursor.objects.exclude(object_type="v2.core.event").count()
    assert cursors > 200  # the platform's lists and those of three accounts
    # One statement per batch the database takes (SQLite: some 70 rows), not one per cursor.
    batch = connection.ops.bulk_batch_size([f for f in SyncCursor._meta.concrete_fields
                                            if not f.primary_key], [None] * cursors)
    assert len(inserts) == -(-cursors // batch)


def _many_accounts_report(accounts: int) -> SyncReport:
    report = SyncReport(seconds=12.0, requests=accounts * 3)
    for i in range(accounts):
        acct = f"acct_{i:08d}"
        report.types.append(TypeReport("customer", acct, mode="events", status=OK, fetched=2,
                                       created=1, updated=1, requests=1))
        failed = i in (3, 7)
        report.types.append(TypeReport("shipping_rate", acct, mode="incremental",
                                       status=FAILED if failed else OK, requests=1,
                                       errors=["APIError (HTTP 500): boom"] if failed else []))
    return report


def test_the_summary_of_many_accounts_is_per_type_and_names_the_failed_accounts():
    small, large = (format_summary(_many_accounts_report(n)) for n in (20, 2000))
    assert len(small.splitlines()) == len(large.splitlines()) < 12
    lines = large.splitlines()
    assert lines[2].split()[:7] == ["customer", "4,000", "2,000", "2,000", "0", "0", "2,000"]
    assert "2,000 ok (events)" in lines[2]
    assert "1,998 ok (incremental), 2 failed (incremental)" in lines[3]
    assert ("failed: shipping_rate in 2 account(s): acct_00000003, acct_00000007; first error: "
            "APIError (HTTP 500): boom") in large
    # The detail on demand, and for a few accounts.
    assert len(format_summary(_many_accounts_report(20), verbose=True).splitlines()) > 40
    assert "acct_00000002" in format_summary(_many_accounts_report(3))


def test_accounts_are_synced_a_batch_at_a_time(stub, monkeypatch):
    # Batches of two accounts (the platform and A, then B and C): each batch's cursors are
    # made just before its lists, and its events read right after them.
    monkeypatch.setattr(plan, "CURSOR_CHUNK", 2)
    call_command("stripe_sync", "customer", "--all-accounts", "--quiet", stdout=io.StringIO())
    order = [r.header("Stripe-Account") for r in stub.requests if r.resource != "accounts"]
    first_of_b = order.index(ACCOUNTS[1])
    assert set(order[:first_of_b]) == {None, ACCOUNTS[0]}
    assert set(order[first_of_b:]) == {ACCOUNTS[1], ACCOUNTS[2]}
    assert SyncCursor.objects.filter(object_type="customer").count() == 4
    assert Customer.objects.count() == 4 * LISTS["customers"]


def test_a_refused_events_api_is_said_in_the_summary(stub):
    call_command("stripe_sync", "customer", "--all-accounts", "--quiet", stdout=io.StringIO())
    next_second()
    stub.fail = {"events": 403}
    out = io.StringIO()
    call_command("stripe_sync", "customer", "--all-accounts", "--quiet", stdout=out)
    assert "the Events API was not available: the lists it covers (status 'events')" in out.getvalue()
