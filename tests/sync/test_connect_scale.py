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
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from django.test.utils import CaptureQueriesContext

from stripe_django import type_table as table
from stripe_django.client import get_client
from stripe_django.models import (Account, Card, Customer, Event, Product, ShippingRate, SyncCursor,
                                   TaxId)
from stripe_django.sync import plan
from stripe_django.sync.report import FAILED, OK, SyncReport, TypeReport, format_summary
from stripe_django.testing.objects import make_object
from stripe_django.testing.stripe_stub import StripeStub

from ..conftest import point_at

pytestmark = pytest.mark.django_db(transaction=True)

ACCOUNTS = ("acct_1ConnectA00001", "acct_1ConnectB00002", "acct_1ConnectC00003")
LISTS = {"customers": 3, "products": 2}
# Counted per generated list: its objects in each account (the parents of nested lists).
PARENTS = {"customer": LISTS["customers"], "product": LISTS["products"]}
# The scenario's accounts (a few dozen: the requests of each are asserted exactly).
MANY = tuple(f"acct_1Scale{i:08d}" for i in range(30))


def unevented_lists() -> list[str]:
    """The lists an incremental run still lists in a connected account (when not empty)."""
    return [name for name, spec in table.SYNC_LISTS.items()
            if name not in table.EVENTED_LISTS and not spec.platform_only]


def full_listing(names: list[str]) -> int:
    """Requests to list ``names`` whole in one connected account of the stub: one per
    top-level list (a parent list listed among them is read once, for its nested lists
    too), one per parent list not among them (shared by its nested lists) and one per
    parent and nested list, but for the lists embedded in their parents (none has more
    than the embedded first items here, and no list more than a page)."""
    top = [n for n in names if not table.SYNC_LISTS[n].parent]
    nested = [n for n in names if table.SYNC_LISTS[n].parent]
    parents = {table.SYNC_LISTS[n].parent for n in nested} - set(top)
    return len(top) + len(parents) + sum(PARENTS.get(table.SYNC_LISTS[n].parent, 0) for n in nested
                                         if not table.SYNC_LISTS[n].embedded)


def first_sync_requests() -> int:
    """A first sync: every list of a connected account once (the event list is the
    catch-up's one read of the Events API)."""
    names = [n for n, spec in table.SYNC_LISTS.items() if not spec.platform_only]
    return full_listing([n for n in names if n != "event"]) + 1


def recheck_requests() -> int:
    """An incremental run where every empty list no event covers is due again: the
    events, and each of those lists whole."""
    return 1 + full_listing(unevented_lists())


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


def shipping_rate(number: int, account: str) -> dict:
    """A shipping rate (a list no event covers), created now."""
    return {"id": f"shr_{account[-8:]}{number}", "object": "shipping_rate", "active": True,
            "created": int(time.time()), "display_name": f"Rate {number}", "livemode": False,
            "metadata": {}, "tax_behavior": "unspecified", "tax_code": None,
            "type": "fixed_amount", "delivery_estimate": None,
            "fixed_amount": {"amount": 500, "currency": "usd"}}


class StubState:
    """What the stub serves, with the changes its events carry: the mirror must match."""

    def __init__(self, stub: StripeStub, accounts: tuple[str, ...]) -> None:
        self.stub = stub
        self.rows: dict[type, dict[str, tuple]] = {Customer: {}, Product: {}, ShippingRate: {}}
        for acct in (None, *accounts):  # the platform's own, and each account's
            for kind, model in (("customers", Customer), ("products", Product)):
                for i in range(LISTS[kind]):
                    obj = make_object(kind, i, acct)
                    self.rows[model][obj["id"]] = (acct, obj["name"], False)

    def apply(self, evt: dict) -> None:
        """``evt`` happened at the stub (it serves it from the Events API)."""
        self.stub.events.append(evt)
        obj = evt["data"]["object"]
        self.rows[Customer][obj["id"]] = (evt["account"], obj["name"],
                                          evt["type"].endswith(".deleted"))

    def hold(self, account: str, rate: dict) -> None:
        """A new shipping rate in ``account`` (no event: the list alone shows it)."""
        self.stub.held.setdefault((account, "shipping_rates"), []).insert(0, rate)
        self.rows[ShippingRate][rate["id"]] = (account, rate["display_name"], False)

    def assert_mirrored(self, *, missing: tuple[str, ...] = ()) -> None:
        """The mirror holds exactly the stub's objects (but ``missing``, not due yet),
        in their accounts, as last changed; no other mirrored table has rows."""
        for model, fields in ((Customer, "name"), (Product, "name"), (ShippingRate, "display_name")):
            expected = {k: v for k, v in self.rows[model].items() if k not in missing}
            mirrored = {pk: (acct, name, deleted) for pk, acct, name, deleted
                        in model.objects.values_list("pk", "stripe_account", fields, "deleted")}
            assert mirrored == expected, model.__name__
        others = [m for m in apps.get_app_config("stripe_django").get_models()
                  if hasattr(m, "stripe_data") and m not in self.rows and m not in (Event, Account)
                  and m.objects.exists()]
        assert others == []


@pytest.fixture
def stub(settings):
    with StripeStub(LISTS, accounts=ACCOUNTS, empty_lists=True) as stub:
        point_at(settings, stub.api_base)
        yield stub


@pytest.fixture
def many(settings):
    with StripeStub(LISTS, accounts=MANY, empty_lists=True) as stub:
        point_at(settings, stub.api_base, SYNC_RATE_LIMIT=100_000)
        yield stub


def next_second() -> None:
    # A run's events window ends before the second it starts in.
    time.sleep(1.05)


def test_incremental_runs_cost_one_request_per_account_plus_the_unevented_lists_with_objects(many):
    stub, state = many, StubState(many, MANY)
    with_rates, new_rate_later, stale = MANY[0], MANY[2], MANY[3]
    state.hold(with_rates, shipping_rate(1, with_rates))
    # An event from before the first sync: stored with the others, not applied over
    # the listed state.
    old = {**make_object("customers", 2, MANY[1]), "name": "Before the sync"}
    stub.events.append(event("evt_old", "customer.updated", old, MANY[1], ago=5 * 86400))

    # 1. The first sync lists everything once (each parent list once for all its nested
    # lists) and reads the Events API once per account.
    mark = len(stub.requests)
    assert run_sync(stub) == {a: first_sync_requests() for a in MANY}
    assert events_reads(stub, mark) == {None: 1, **{a: 1 for a in MANY}}
    # Each parent list is read once: by its own list, for its nested lists too.
    assert parent_lists(stub, mark, MANY[0], "customers") == 1
    assert parent_lists(stub, mark, MANY[0], "products") == 1
    assert [r.path for r in stub.requests[mark:]
            if r.path.startswith("/v2/") and r.header("Stripe-Account")] == []
    assert Event.objects.filter(pk="evt_old", stripe_account=MANY[1]).exists()
    state.assert_mirrored()
    # The first pass noted which lists were empty.
    assert set(SyncCursor.objects.filter(account=with_rates, found_objects=True)
               .values_list("object_type", flat=True)) == {"customer", "product", "shipping_rate"}

    # 2. Nothing changed: the events, and the one list no event covers that has objects.
    next_second()
    mark = len(stub.requests)
    unchanged = run_sync(stub)
    assert unchanged == {a: 2 if a == with_rates else 1 for a in MANY}
    assert [r.resource for r in stub.requests[mark:] if r.header("Stripe-Account") == with_rates
            and r.resource != "events"] == ["shipping_rates"]
    state.assert_mirrored()

    # 3. Changes: an update, a creation and a deletion by events in one account, a new
    # shipping rate in the account that has some, and one in an account that had none.
    acct = MANY[1]
    next_second()
    state.apply(event("evt_u", "customer.updated", {**make_object("customers", 0, acct),
                                                    "name": "Renamed"}, acct))
    state.apply(event("evt_c", "customer.created", {**make_object("customers", 0, acct),
                                                    "id": "cus_newInAccount1", "name": "New"}, acct))
    state.apply(event("evt_d", "customer.deleted", make_object("customers", 1, acct), acct))
    state.hold(with_rates, shipping_rate(2, with_rates))
    late = shipping_rate(1, new_rate_later)
    state.hold(new_rate_later, late)
    next_second()
    assert run_sync(stub) == unchanged  # a change costs no request more
    # The new rate where the list was empty waits for SYNC_EMPTY_LISTS_EVERY.
    state.assert_mirrored(missing=(late["id"],))
    assert Event.objects.filter(pk__in=["evt_u", "evt_c", "evt_d"]).count() == 3

    # 4. SYNC_EMPTY_LISTS_EVERY later (a day by default): the empty lists are listed
    # whole again, parents and all, and the new rate is found.
    SyncCursor.objects.filter(found_objects=False).update(
        last_synced_at=timezone.now() - timezone.timedelta(days=1, seconds=1))
    next_second()
    assert run_sync(stub) == {a: recheck_requests() for a in MANY}
    state.assert_mirrored()
    next_second()
    assert run_sync(stub) == {a: 2 if a in (with_rates, new_rate_later) else 1 for a in MANY}

    # 5. A cursor older than the Events API keeps: that account is listed as on a first
    # sync; the others as an unchanged run.
    too_old = int(time.time()) - (table.EVENTS_RETENTION_DAYS + 1) * 86400
    SyncCursor.objects.filter(account=stale).update(events_after=too_old)
    next_second()
    assert run_sync(stub) == {a: first_sync_requests() if a == stale
                              else 2 if a in (with_rates, new_rate_later) else 1 for a in MANY}
    assert not SyncCursor.objects.filter(account=stale, events_after__lt=time.time() - 86400).exists()
    state.assert_mirrored()


def test_empty_lists_are_listed_on_every_run_with_an_interval_of_zero(stub, settings):
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "SYNC_EMPTY_LISTS_EVERY": 0}
    run_sync(stub)
    next_second()
    # No list is empty "until due": each list no event covers is listed, by what is
    # new where it has a created filter.
    counts = run_sync(stub)
    assert len(set(counts.values())) == 1
    assert counts[ACCOUNTS[0]] > 1 + len(unevented_lists())


def tax_id(number: int, customer: str) -> dict:
    return {"id": f"txi_{customer[4:]}{number:03d}", "object": "tax_id", "customer": customer,
            "country": "DE", "created": 1_700_000_000 - number, "livemode": False,
            "type": "eu_vat", "value": f"DE{number:09d}", "verification": None}


def card(number: int, customer: str) -> dict:
    return {"id": f"card_{customer[4:]}{number:03d}", "object": "card", "customer": customer,
            "brand": "Visa", "last4": "4242", "exp_month": 12, "exp_year": 2030,
            "country": "US", "funding": "credit", "metadata": {}}


def test_a_first_sync_takes_the_customers_tax_ids_and_sources_from_the_customer_list(stub):
    """A customer's tax ids and sources come embedded in the customers listed for the
    nested lists (``expand``); only a customer with more than the embedded first items
    has its list read on its own, whole."""
    with_many, with_few = ACCOUNTS[0], ACCOUNTS[1]
    held: dict[str, dict[str, str | None]] = {}  # id -> the customer it belongs to
    for acct, tax_ids, cards in ((with_many, 12, 2), (with_few, 3, 1)):
        first, second = (make_object("customers", i, acct)["id"] for i in (0, 1))
        stub.held[(acct, f"customers/{first}/tax_ids")] = [tax_id(i, first) for i in range(tax_ids)]
        stub.held[(acct, f"customers/{second}/sources")] = [card(i, second) for i in range(cards)]
        held.update({t: first for t in (tax_id(i, first)["id"] for i in range(tax_ids))})
        held.update({c: second for c in (card(i, second)["id"] for i in range(cards))})

    mark = len(stub.requests)
    counts = run_sync(stub)
    # Each account as any: no request per customer for its tax ids or sources; the one
    # customer with 12 tax ids (10 embedded, has_more) costs one request more.
    assert counts == {with_many: first_sync_requests() + 1, with_few: first_sync_requests(),
                      ACCOUNTS[2]: first_sync_requests()}
    nested = [(r.header("Stripe-Account"), r.resource) for r in stub.requests[mark:]
              if r.resource.endswith(("/tax_ids", "/sources"))]
    first_of_many = make_object("customers", 0, with_many)["id"]
    assert nested == [(with_many, f"customers/{first_of_many}/tax_ids")]
    # Every tax id and card is in the mirror, with its customer and account.
    mirrored = {pk: customer for pk, customer in TaxId.objects.values_list("pk", "customer_id")}
    mirrored.update(Card.objects.values_list("pk", "customer_id"))
    assert mirrored == held
    assert TaxId.objects.filter(stripe_account=with_many).count() == 12
    assert Card.objects.filter(stripe_account=with_few).count() == 1
    # The customers were listed once, with their tax ids and sources embedded for the
    # nested lists, and are stored exactly as a plain listing of them reads.
    assert parent_lists(stub, mark, with_many, "customers") == 1
    client = get_client()
    for acct in ACCOUNTS:
        plain = client.v1.customers.list(params={"limit": 100}, options={"stripe_account": acct})
        customers = plain.last_response.data["data"]
        assert customers and all("tax_ids" not in c and "sources" not in c for c in customers)
        assert {c["id"]: c for c in customers} == {
            pk: data for pk, data in Customer.objects.filter(stripe_account=acct)
            .values_list("pk", "stripe_data")}


def test_on_an_api_version_that_embeds_them_unasked_the_customers_keep_their_lists(stub, settings):
    """Before API version 2020-08-27 a customer's plain listing carries its ``tax_ids``
    and ``sources``: with such a version pinned, the customers read once for their nested
    lists are stored with both, as their plain listing has them."""
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "API_VERSION": "2020-03-02"}
    acct = ACCOUNTS[0]
    first = make_object("customers", 0, acct)["id"]
    stub.held[(acct, f"customers/{first}/tax_ids")] = [tax_id(i, first) for i in range(2)]
    mark = len(stub.requests)
    run_sync(stub)
    assert parent_lists(stub, mark, acct, "customers") == 1
    assert {r.header("Stripe-Version") for r in stub.requests[mark:] if r.path.startswith("/v1/")} == {"2020-03-02"}
    stored = Customer.objects.get(pk=first, stripe_account=acct).stripe_data
    assert [t["id"] for t in stored["tax_ids"]["data"]] == [tax_id(i, first)["id"] for i in range(2)]
    assert stored["sources"]["data"] == []
    assert TaxId.objects.filter(customer_id=first).count() == 2


def test_a_parent_named_after_its_nested_list_is_still_listed_once(stub):
    """``stripe_sync tax_id customer``: the lists run in the table's order, parent first,
    so the customers' own list is the one the tax ids take their parents from."""
    acct = ACCOUNTS[0]
    mark = len(stub.requests)
    call_command("stripe_sync", "tax_id", "customer", "--account", acct, "--quiet", stdout=io.StringIO())
    assert parent_lists(stub, mark, acct, "customers") == 1
    assert Customer.objects.filter(stripe_account=acct).count() == LISTS["customers"]

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


def test_a_run_over_many_accounts_keeps_totals_per_type_not_a_line_per_account(stub, monkeypatch):
    from stripe_django.sync import service, sync

    # Three accounts and the platform count as "many" here (SUMMARY_DETAIL_ACCOUNTS: 10).
    monkeypatch.setattr(service, "SUMMARY_DETAIL_ACCOUNTS", 2)
    report = sync(["customer"], all_accounts=True)
    assert report.types == []  # nothing failed: every line folded into its type's totals
    assert report.folded["customer"].statuses == {"ok (full)": 4}
    assert report.folded["customer"].fetched == report.totals()["fetched"] == 4 * LISTS["customers"]
    assert report.accounts == 4
    assert "customer" in format_summary(report).splitlines()[2]
    # The detail on demand; and failed lines are kept, for the accounts they name.
    assert len(sync(["customer"], all_accounts=True, detail=True).types) == 2 * 4  # lists, catch-ups
    stub.fail = {"customers": 500}
    failed = sync(["customer"], all_accounts=True, full=True)
    assert {(t.name, t.status) for t in failed.types} == {("customer", FAILED)}
    assert len(failed.types) == 4
    assert f"error: customer [{ACCOUNTS[2]}]: APIError (HTTP 500)" in format_summary(failed)


def test_a_list_the_account_does_not_serve_is_asked_again_only_when_due(stub):
    stub.fail = {"terminal/locations": 404}  # a product the accounts have not enabled
    run_sync(stub)
    next_second()
    mark = len(stub.requests)
    out = io.StringIO()
    call_command("stripe_sync", "--all-accounts", stdout=out, stderr=io.StringIO())
    assert [r for r in stub.requests[mark:] if r.resource == "terminal/locations"] == []
    assert "not available at its last listing; asked again after SYNC_EMPTY_LISTS_EVERY" in out.getvalue()
    SyncCursor.objects.filter(object_type="terminal.location").update(
        last_synced_at=timezone.now() - timezone.timedelta(days=2))
    next_second()
    mark = len(stub.requests)
    run_sync(stub)
    assert sum(1 for r in stub.requests[mark:] if r.resource == "terminal/locations") == 1 + len(ACCOUNTS)


def test_a_key_refused_everywhere_is_said_again_while_its_lists_wait(stub):
    stub.fail = {path: 403 for path in ("customers", "products", "events")}
    for _ in range(2):  # the second run asks nothing: the lists wait, still refused
        with pytest.raises(CommandError, match="the key was refused"):
            call_command("stripe_sync", "customer", "product", stdout=io.StringIO(),
                         stderr=io.StringIO())


def test_a_customer_list_too_long_to_keep_asks_its_expansions_no_further(settings, monkeypatch):
    """The customers' own listing asks for the tax ids and sources embedded while it keeps
    its pages for the nested lists; once the list is too long to keep, its later pages
    are asked plain, from the last customer stored (the nested lists then list the
    customers themselves). Nothing is missed and the customers are stored as listed."""
    from stripe_django.sync import parents

    monkeypatch.setattr(parents, "MAX_SHARED_PARENTS", 3)
    acct = ACCOUNTS[0]
    with StripeStub({"customers": 7}, accounts=(acct,), empty_lists=True) as server:
        point_at(settings, server.api_base, SYNC_PAGE_SIZE=2)
        first = make_object("customers", 0, acct)["id"]
        server.held[(acct, f"customers/{first}/tax_ids")] = [tax_id(i, first) for i in range(2)]
        call_command("stripe_sync", "customer", "tax_id", "--account", acct, "--quiet", stdout=io.StringIO())
        pages = [r for r in server.requests if r.resource == "customers" and r.header("Stripe-Account") == acct]
        expanded = [any(key.startswith("expand") for key in r.query) for r in pages]
        # the customers' own listing (4 pages of 2): kept and expanded for 2 pages (4
        # customers are more than 3), then plain; then the tax ids' own listing,
        # expanded, as before
        assert expanded == [True, True, False, False, True, True, True, True]
        ids = sorted(make_object("customers", i, acct)["id"] for i in range(7))
        first_four = get_client().v1.customers.list(params={"limit": 4}, options={"stripe_account": acct})
        assert pages[2].params["starting_after"] == first_four.data[-1].id
        assert sorted(Customer.objects.filter(stripe_account=acct).values_list("pk", flat=True)) == ids
        assert not any("tax_ids" in data or "sources" in data
                       for data in Customer.objects.values_list("stripe_data", flat=True))
        assert TaxId.objects.filter(customer_id=first).count() == 2
