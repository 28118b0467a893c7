"""Connect accounts, 429 answers and failures, against a stub at the HTTP boundary."""

from __future__ import annotations

import pytest

from stripe_django.models import Customer, Product, SyncCursor
from stripe_django.sync import sync
from stripe_django.sync.report import FAILED, OK, UNAVAILABLE, format_summary
from stripe_django.testing.stripe_stub import StripeStub

from ..conftest import point_at

pytestmark = pytest.mark.django_db


def test_a_connected_account_is_read_with_the_stripe_account_header(settings):
    with StripeStub({"customers": 4}) as stub:
        point_at(settings, stub.api_base)
        report = sync(["customer"], account="acct_1CONNECTED", events=False)
    assert report.ok
    assert stub.stripe_accounts == {"acct_1CONNECTED": 1}
    assert set(Customer.objects.values_list("stripe_account", flat=True)) == {"acct_1CONNECTED"}
    assert SyncCursor.objects.get().account == "acct_1CONNECTED"


def test_all_accounts_syncs_the_platform_and_each_connected_account(settings):
    accounts = ("acct_1AAAAAAA", "acct_1BBBBBBB")
    with StripeStub({"customers": 3}, accounts=accounts) as stub:
        point_at(settings, stub.api_base)
        report = sync(["customer"], all_accounts=True, workers=3, events=False)
    assert report.ok
    by_account = {a: Customer.objects.for_account(a).count() for a in (None, *accounts)}
    assert by_account == {None: 3, "acct_1AAAAAAA": 3, "acct_1BBBBBBB": 3}
    assert [(t.name, t.account) for t in report.types] == [
        ("customer", None), ("customer", "acct_1AAAAAAA"), ("customer", "acct_1BBBBBBB")]
    assert SyncCursor.objects.count() == 3


def test_429_is_honoured_with_retry_after(settings):
    with StripeStub({"customers": 60}, rate_limit=5, retry_after="0.3") as stub:
        point_at(settings, stub.api_base, SYNC_PAGE_SIZE=5)  # the client asks 1000/s
        report = sync(["customer"], events=False)
    assert report.ok
    assert stub.throttled > 0 and report.throttled == stub.throttled
    assert Customer.objects.count() == 60


def test_forbidden_or_missing_lists_are_reported_and_failures_fail(settings):
    with StripeStub({"customers": 2, "products": 2, "plans": 2},
                    fail={"products": 403, "plans": 500}) as stub:
        point_at(settings, stub.api_base)
        report = sync(["customer", "product", "plan", "coupon"], events=False)
    statuses = {t.name: t.status for t in report.types}
    assert statuses == {"customer": OK, "product": UNAVAILABLE, "plan": FAILED,
                        "coupon": UNAVAILABLE}  # coupons: 404 from this server
    assert not report.ok and [t.name for t in report.failed] == ["plan"]
    assert "500" in report.get("plan").errors[0]
    assert Customer.objects.count() == 2 and Product.objects.count() == 0
    assert SyncCursor.objects.get(object_type="plan").last_error


@pytest.mark.parametrize("group_pages, expected", [(1, 7), (100, 4)])
def test_queries_per_page_are_constant(settings, monkeypatch, group_pages, expected):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from stripe_django.sync import pipeline

    # Groups pinned (a page per commit, or all of a shard's pages in one): a group's
    # size otherwise depends on how fast the pages come.
    monkeypatch.setattr(pipeline, "GROUP_PAGES", group_pages)
    monkeypatch.setattr(pipeline, "GROUP_SECONDS", 60.0)
    counts = []
    for account, n in (("acct_1SMALL00", 50), ("acct_1LARGE00", 100)):
        with StripeStub({"customers": n}) as stub:
            point_at(settings, stub.api_base, SYNC_PAGE_SIZE=10)
            with CaptureQueriesContext(connection) as queries:
                assert sync(["customer"], account=account, events=False).ok
        counts.append(len(queries))
    extra_pages = 5
    per_page = (counts[1] - counts[0]) / extra_pages
    # The page's transaction and the batch's (savepoints here, inside the test's own
    # transaction: 2 + 2), the look-up of stored stamps, the upsert, the cursor update;
    # in a group of pages, the group's transaction and its cursor update are shared.
    assert per_page == expected, counts


def test_a_rejected_key_stops_the_run_early(settings):
    with StripeStub({"customers": 1, "products": 1}, fail={"customers": 401, "products": 401,
                                                          "plans": 401}) as stub:
        point_at(settings, stub.api_base)
        report = sync(["customer", "product", "plan"], events=False)
    assert not report.ok
    assert report.get("customer").status == FAILED
    assert stub.served == 1  # the other types were not tried
    assert any(n.startswith("stopped early: AuthenticationError") for n in report.notes)
    assert "not run (2): product, plan" in format_summary(report)


def test_a_resume_point_deleted_meanwhile_restarts_the_pass(settings):
    SyncCursor.objects.create(object_type="customer", starting_after="cus_00009999")
    with StripeStub({"customers": 7}) as stub:
        point_at(settings, stub.api_base)
        report = sync(["customer"], events=False)
    customer = report.get("customer")
    assert report.ok and customer.mode == "resumed" and customer.fetched == 7
    assert any("resume point cus_00009999 is gone" in n for n in customer.notes)
    assert SyncCursor.objects.get().complete
