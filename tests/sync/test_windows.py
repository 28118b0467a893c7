"""A first full pass of a long list cut into created windows, listed by several threads
(``sync(workers=N)``), against a stub at the HTTP boundary that filters by ``created``."""

from __future__ import annotations

import pytest

from stripe_django.models import Customer, SyncCursor, TaxId
from stripe_django.sync import sync
from stripe_django.sync.slices import windows
from stripe_django.testing.objects import created_of
from stripe_django.testing.stripe_stub import StripeStub

from ..conftest import point_at

pytestmark = pytest.mark.django_db

HOUR = 3600


def _ids(count: int) -> set[str]:
    return {f"cus_{i:08d}" for i in range(count)}


def test_a_long_list_is_listed_in_windows_by_several_threads_each_object_once(settings):
    count = 1_000
    with StripeStub({"customers": count}, seconds_apart=HOUR) as stub:
        point_at(settings, stub.api_base, SYNC_PAGE_SIZE=20)
        report = sync(["customer"], workers=4, events=False)
    assert report.ok, report.types[0].errors
    assert set(Customer.objects.values_list("id", flat=True)) == _ids(count)
    customer = report.get("customer")
    assert "listed in 16 created windows by 4 threads" in customer.notes
    # every object counted once, those at the second where the fifth page ended too,
    # which the newest window lists again
    assert customer.fetched == count
    # 50 pages of 20 in one go; here up to one page more per window (its last, part
    # full), and the search for the oldest object, three requests a round
    assert count // 20 + 3 <= stub.served <= count // 20 + 16 + 3 * 10
    cursor = SyncCursor.objects.get()
    assert cursor.complete and cursor.slices is None and cursor.starting_after is None
    assert cursor.created_after == created_of(0, HOUR)
    assert cursor.created_seen == ["cus_00000000"]


def test_an_incremental_run_after_a_sliced_pass_lists_only_what_is_new(settings):
    with StripeStub({"customers": 1_000}, seconds_apart=HOUR) as stub:
        point_at(settings, stub.api_base, SYNC_PAGE_SIZE=20)
        assert "listed in 16 created windows by 4 threads" in sync(
            ["customer"], workers=4, events=False).get("customer").notes
        served = stub.served
        report = sync(["customer"], workers=4, events=False)
    assert report.ok and report.get("customer").mode == "incremental"
    assert stub.served - served == 1 and report.get("customer").fetched == 0


def test_an_interrupted_sliced_pass_resumes_each_window_where_it_stopped(settings):
    count = 1_000
    with StripeStub({"customers": count}, seconds_apart=HOUR, fail_after=40) as stub:
        point_at(settings, stub.api_base, SYNC_PAGE_SIZE=20)
        first = sync(["customer"], workers=4, events=False)
        assert not first.ok  # the API failed after 40 requests
        cursor = SyncCursor.objects.get()
        assert not cursor.complete and len(cursor.slices) == 16
        stored = set(Customer.objects.values_list("id", flat=True))
        assert 0 < len(stored) < count
        # what the cursor says was listed is stored: each window up to its starting_after
        for window in cursor.slices:
            if window["starting_after"]:
                assert window["starting_after"] in stored
        stub.fail_after = None
        stub.requests.clear()
        second = sync(["customer"], workers=4, events=False)
    assert second.ok and second.get("customer").mode == "resumed"
    assert set(Customer.objects.values_list("id", flat=True)) == _ids(count)
    # the second run lists what the first did not store, not the whole list again
    assert stub.served < 16 + (count - len(stored)) // 20 + 16
    cursor.refresh_from_db()
    assert cursor.complete and cursor.slices is None


def test_a_pass_resumed_in_one_go_may_be_cut_below_where_it_stands(settings):
    count = 1_000
    with StripeStub({"customers": count}, seconds_apart=HOUR, fail_after=3) as stub:
        point_at(settings, stub.api_base, SYNC_PAGE_SIZE=20)
        assert not sync(["customer"], workers=4, events=False).ok  # three pages, then down
        assert SyncCursor.objects.get().starting_after == "cus_00000059"
        stub.fail_after = None
        report = sync(["customer"], workers=4, events=False)
    assert report.ok and report.get("customer").mode == "resumed"
    assert any("created windows" in note for note in report.get("customer").notes)
    assert set(Customer.objects.values_list("id", flat=True)) == _ids(count)
    cursor = SyncCursor.objects.get()
    assert cursor.complete and cursor.slices is None
    assert cursor.created_after == created_of(0, HOUR)


def test_a_failure_while_searching_fails_the_list_and_the_next_run_resumes(settings):
    count = 1_000
    with StripeStub({"customers": count}, seconds_apart=HOUR, fail_after=6) as stub:
        point_at(settings, stub.api_base, SYNC_PAGE_SIZE=20)
        first = sync(["customer"], workers=4, events=False)
        assert not first.ok and "500" in first.get("customer").errors[0]
        assert not any("does not filter" in note for note in first.get("customer").notes)
        stub.fail_after = None
        assert sync(["customer"], workers=4, events=False).ok
    assert set(Customer.objects.values_list("id", flat=True)) == _ids(count)


def test_one_thread_lists_in_one_go(settings):
    with StripeStub({"customers": 200}, seconds_apart=HOUR) as stub:
        point_at(settings, stub.api_base, SYNC_PAGE_SIZE=20)
        report = sync(["customer"], events=False)
    assert report.ok and stub.served == 10
    assert not any("windows" in note for note in report.get("customer").notes)


@pytest.mark.parametrize(("count", "seconds_apart", "searched"), [
    (100, HOUR, False),  # five pages: listed before any cut is considered
    (200, 0, True),  # created within 20 seconds: one window; the search, then the rest
])
def test_a_short_list_is_not_cut(settings, count, seconds_apart, searched):
    with StripeStub({"customers": count}, seconds_apart=seconds_apart) as stub:
        point_at(settings, stub.api_base, SYNC_PAGE_SIZE=20)
        report = sync(["customer"], workers=4, events=False)
    assert report.ok and Customer.objects.count() == count
    assert not any("windows" in note for note in report.get("customer").notes)
    assert SyncCursor.objects.get().slices is None
    pages = count // 20
    if searched:  # rounds of three requests (workers - 1) until the floor is known
        assert pages + 3 <= stub.served <= pages + 3 * 10
    else:
        assert stub.served == pages


def test_a_server_that_does_not_filter_by_created_is_listed_in_one_go(server, settings):
    """localstripe, whose customer list takes no ``created`` filter."""
    client = server.client()
    for i in range(5):
        client.v1.customers.create(params={"email": f"c{i}@example.com"})
    point_at(settings, server.api_base, server.api_key, SYNC_PAGE_SIZE=2)
    report = sync(["customer"], workers=4, events=False)
    assert report.ok and Customer.objects.count() == 5
    assert not any("windows" in note for note in report.get("customer").notes)
    assert SyncCursor.objects.get().slices is None


def test_windows_cover_the_range_newest_first_without_overlap():
    cut = windows(1_000_000, 1_000_000 + 10 * HOUR - 1, 4)
    assert [w.get("gte") for w in cut] == [1_027_000, 1_018_000, 1_009_000, None]
    assert cut[0]["lte"] == 1_000_000 + 10 * HOUR - 1
    for newer, older in zip(cut, cut[1:]):
        assert older["lte"] == newer["gte"] - 1
    assert all(w["starting_after"] is None and not w["done"] for w in cut)
    assert len(windows(0, HOUR * 2, 64)) == 2  # at least an hour each
    assert len(windows(0, 10, 64)) == 1


def test_a_parent_list_cut_into_windows_hands_its_nested_lists_a_listing_of_their_own(settings):
    """A parent list publishes its pages for its nested lists (.parents) from its start;
    cut into windows, it has not listed them all with the nested lists' expansions: the
    nested list lists the parents itself, once, and every object is stored, the parents
    as a plain listing has them."""
    count = 1_000
    owner = "cus_00000007"
    tax_ids = [{"id": f"txi_windows{i:03d}", "object": "tax_id", "customer": owner, "country": "DE",
                "created": 1_700_000_000 - i, "livemode": False, "type": "eu_vat",
                "value": f"DE{i:09d}", "verification": None} for i in range(3)]
    with StripeStub({"customers": count}, seconds_apart=HOUR) as stub:
        stub.held[(None, f"customers/{owner}/tax_ids")] = tax_ids
        point_at(settings, stub.api_base, SYNC_PAGE_SIZE=20)
        report = sync(["customer", "tax_id"], workers=4, events=False)
    assert report.ok, [(t.name, t.errors) for t in report.failed]
    assert "listed in 16 created windows by 4 threads" in report.get("customer").notes
    assert set(Customer.objects.values_list("id", flat=True)) == _ids(count)
    assert not any("tax_ids" in data for data in Customer.objects.values_list("stripe_data", flat=True))
    assert set(TaxId.objects.values_list("id", "customer_id")) == {(t["id"], owner) for t in tax_ids}
    # The tax ids' own listing of the customers: every page once, the tax ids embedded.
    assert report.get("tax_id").requests == count // 20
