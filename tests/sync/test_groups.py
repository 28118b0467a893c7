"""The writer commits pages in groups (up to ``GROUP_PAGES``, or what comes within
``GROUP_SECONDS``), each page's cursor in the same transaction as its rows: what is
stored and what the cursor says always go together, whatever stops the run."""

from __future__ import annotations

import pytest

from stripe_django.models import Customer, SyncCursor
from stripe_django.sync import pipeline, sync
from stripe_django.sync.leases import CursorLease
from stripe_django.sync.report import FAILED
from stripe_django.sync.service import WorkerHooks
from stripe_django.testing.stripe_stub import StripeStub

from ..conftest import point_at

pytestmark = pytest.mark.django_db


class Interrupt(Exception):
    pass


@pytest.fixture
def groups_of(monkeypatch):
    def pin(pages: int, seconds: float = 60.0) -> None:
        monkeypatch.setattr(pipeline, "GROUP_PAGES", pages)
        monkeypatch.setattr(pipeline, "GROUP_SECONDS", seconds)

    return pin


def stored() -> tuple[int, str | None]:
    """Customers stored, and where the cursor's pass stands."""
    cursor = SyncCursor.objects.filter(object_type="customer").first()
    return Customer.objects.count(), cursor.starting_after if cursor else None


def test_pages_are_committed_by_groups_with_their_cursors(settings, groups_of):
    groups_of(2)
    seen = []
    with StripeStub({"customers": 50}) as stub:
        point_at(settings, stub.api_base, SYNC_PAGE_SIZE=10)
        report = sync(["customer"], events=False, on_page=lambda t: seen.append(stored()))
    assert report.ok
    # Two pages a group; the last page alone, since the list's end closes its group.
    assert [count for count, _ in seen] == [20, 20, 40, 40, 50]
    assert [after[-2:] if after else None for _, after in seen] == ["19", "19", "39", "39", None]


def test_a_group_closes_after_group_seconds_when_pages_come_slowly(settings, groups_of):
    groups_of(100, seconds=0.05)
    seen = []
    with StripeStub({"customers": 30}, latency=0.3) as stub:
        point_at(settings, stub.api_base, SYNC_PAGE_SIZE=10)
        assert sync(["customer"], events=False, on_page=lambda t: seen.append(stored()[0])).ok
    assert seen == [10, 20, 30]


def test_an_interrupted_run_resumes_after_its_last_group(settings, groups_of):
    groups_of(2)
    with StripeStub({"customers": 50}) as stub:
        point_at(settings, stub.api_base, SYNC_PAGE_SIZE=10)

        def interrupt(report) -> None:
            raise Interrupt()

        with pytest.raises(Interrupt):
            sync(["customer"], events=False, on_page=interrupt)
        count, after = stored()
        assert count == 20 and after.endswith("000019")  # the whole first group
        report = sync(["customer"], events=False)
    customer = report.get("customer")
    assert customer.mode == "resumed" and customer.fetched == 30 and customer.created == 30
    assert Customer.objects.count() == 50 and SyncCursor.objects.get().complete


def test_a_group_is_not_stored_when_the_lease_was_lost(settings, groups_of):
    groups_of(2)
    with StripeStub({"customers": 50}) as stub:
        point_at(settings, stub.api_base, SYNC_PAGE_SIZE=10)

        def steal(report) -> None:
            SyncCursor.objects.update(leased_by="thief")  # another worker takes over

        report = sync(["customer"], events=False, on_page=steal,
                      hooks=WorkerHooks(lease=CursorLease(owner="me", seconds=60)))
    customer = report.get("customer")
    assert customer.status == FAILED and "another worker took over" in customer.errors[0]
    count, after = stored()
    assert count == 20 and after.endswith("000019")  # the first group, with its cursor
