"""``stripe_sync`` of v2 lists against the Stripe stub: v2 accounts with their persons,
paged as v2 lists are (``next_page_url`` with a page token, no ``has_more``), resumed
from the stored page token, and a v2 list the key cannot read reported unavailable."""

from __future__ import annotations

import pytest

from stripe_django.models import SyncCursor, V2Account, V2AccountPerson, V2EventDestination
from stripe_django.sync import sync
from stripe_django.sync.report import OK, UNAVAILABLE
from stripe_django.testing import v2_examples as examples
from stripe_django.testing.stripe_stub import StripeStub
from tests.conftest import point_at

pytestmark = pytest.mark.django_db

ACCOUNTS = [f"acct_v2sync{i:03d}" for i in range(7)]
PAGE = 3  # the sync's page size here: 7 accounts are 3 pages


def _v2_lists() -> dict[str, list[dict]]:
    lists: dict[str, list[dict]] = {
        "/v2/core/accounts": [examples.account(a, display_name=f"Shop {a}") for a in ACCOUNTS],
        "/v2/core/event_destinations": [examples.event_destination()],
    }
    for index, account in enumerate(ACCOUNTS):
        lists[f"/v2/core/accounts/{account}/persons"] = [
            examples.account_person(f"person_{account}_{n}", account) for n in range(index % 3)]
    return lists


@pytest.fixture
def stub(settings):
    with StripeStub(v2_lists=_v2_lists()) as server:
        point_at(settings, server.api_base)
        yield server


def _report(result, name):
    return next(t for t in result.types if t.name == name)


def test_v2_accounts_and_their_persons_are_synced_page_by_page(stub):
    result = sync(["v2.core.account", "v2.core.account_person", "v2.core.event_destination"],
                  events=False, page_size=PAGE)
    assert {t.name: t.status for t in result.types} == {
        "v2.core.account": OK, "v2.core.account_person": OK, "v2.core.event_destination": OK}
    assert sorted(V2Account.objects.values_list("pk", flat=True)) == ACCOUNTS
    assert V2AccountPerson.objects.count() == sum(i % 3 for i in range(len(ACCOUNTS)))
    assert all(p.account_id in ACCOUNTS and p.pk.startswith(f"person_{p.account_id}_")
               for p in V2AccountPerson.objects.all())
    assert V2EventDestination.objects.get().webhook_endpoint == {
        "url": "https://example.com/stripe/webhook/"}
    account_pages = [r for r in stub.requests if r.path == "/v2/core/accounts"]
    # Listed once: the accounts' own list is the persons' parents too (.parents).
    assert len(account_pages) == 3
    assert [r.params.get("page") is None for r in account_pages[:3]] == [True, False, False]
    assert all(r.params["limit"] == str(PAGE) for r in account_pages)
    assert _report(result, "v2.core.account").fetched == len(ACCOUNTS)


class Interrupt(Exception):
    pass


def test_a_stopped_v2_pass_resumes_at_its_page_token(stub, one_page_per_commit):
    pages = []

    def stop_after_the_second_page(report):
        pages.append(report.fetched)
        if len(pages) == 2:
            raise Interrupt()

    with pytest.raises(Interrupt):
        sync(["v2.core.account"], events=False, page_size=PAGE, on_page=stop_after_the_second_page)
    cursor = SyncCursor.objects.get(object_type="v2.core.account")
    assert not cursor.complete and cursor.starting_after.startswith("page_")
    assert V2Account.objects.count() == 2 * PAGE
    before = len(stub.requests)
    result = sync(["v2.core.account"], events=False, page_size=PAGE)
    resumed = stub.requests[before:]
    assert [r.params.get("page") for r in resumed] == [cursor.starting_after]
    assert _report(result, "v2.core.account").mode == "resumed"
    assert _report(result, "v2.core.account").fetched == len(ACCOUNTS) - 2 * PAGE
    assert V2Account.objects.count() == len(ACCOUNTS)
    assert SyncCursor.objects.get(object_type="v2.core.account").complete


def test_a_later_run_lists_v2_lists_again(stub):
    sync(["v2.core.account"], events=False, page_size=PAGE)
    result = sync(["v2.core.account"], events=False, page_size=PAGE)
    report = _report(result, "v2.core.account")
    assert report.mode == "relisted" and report.unchanged == len(ACCOUNTS)


def test_a_v2_list_the_key_cannot_read_is_unavailable_not_failed(stub):
    stub.answer("GET", "/v2/money_management/financial_accounts",
                {"error": {"type": "invalid_request_error", "code": "feature_not_enabled",
                           "message": "Money management is not enabled for this account."}},
                status=403)
    result = sync(["v2.money_management.financial_account", "v2.core.account"], events=False)
    assert _report(result, "v2.money_management.financial_account").status == UNAVAILABLE
    assert _report(result, "v2.core.account").status == OK


def test_a_stopped_nested_v2_list_resumes_after_the_parents_whose_children_are_stored(settings,
                                                                                      one_page_per_commit):
    # The persons' list reads its parents' pages ahead (.parents keeps them for the other
    # nested lists), so the page token to resume from is the one that followed the page
    # of parents walked last, not the last one this thread fetched: 10 accounts are 4
    # pages, and a stop after the first page of persons must resume at the second page
    # of accounts, not past it.
    accounts = [f"acct_v2nest{i:03d}" for i in range(10)]
    lists: dict[str, list[dict]] = {"/v2/core/accounts": [examples.account(a) for a in accounts]}
    for account in accounts:
        lists[f"/v2/core/accounts/{account}/persons"] = [examples.account_person(f"person_{account}", account)]
    with StripeStub(v2_lists=lists) as server:
        point_at(settings, server.api_base)
        settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "SYNC_PAGE_SIZE": PAGE}
        pages = []

        def stop_after_the_first_page(report):
            pages.append(report.fetched)
            raise Interrupt()

        with pytest.raises(Interrupt):
            sync(["v2.core.account_person"], events=False, page_size=PAGE, on_page=stop_after_the_first_page)
        assert V2AccountPerson.objects.count() == PAGE
        first_pages = [r for r in server.requests if r.path == "/v2/core/accounts"]
        assert len(first_pages) == 4  # read ahead: every page of accounts
        second_page_token = first_pages[1].params["page"]
        cursor = SyncCursor.objects.get(object_type="v2.core.account_person")
        assert cursor.starting_after == second_page_token
        before = len(server.requests)
        result = sync(["v2.core.account_person"], events=False, page_size=PAGE)
        resumed = [r for r in server.requests[before:] if r.path == "/v2/core/accounts"]
        assert [r.params.get("page") for r in resumed] == [second_page_token, *(
            r.params["page"] for r in first_pages[2:])]
        assert _report(result, "v2.core.account_person").mode == "resumed"
        assert sorted(V2AccountPerson.objects.values_list("pk", flat=True)) == [f"person_{a}" for a in accounts]
