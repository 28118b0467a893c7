"""Several platform accounts in one database (STRIPE_DJANGO["API_KEYS"]): each synced with
its key, each webhook endpoint bound to one; a platform's own rows carry its ACCOUNT."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from stripe_django.models import Customer, Event, SyncCursor, SyncRun, SyncShard
from stripe_django.sync import sync
from stripe_django.sync.distributed import enqueue_run
from stripe_django.testing.stripe_stub import StripeStub
from stripe_django.webhooks.recovery import retry_failed

from ..webhooks.conftest import customer, deliver, make_event  # noqa: F401 - a fixture
from .conftest import DUMMY
from .test_sync import drain

pytestmark = pytest.mark.django_db

BRAND_B = "acct_1BRANDB0"
# The stub's ids of a platform's own objects differ by key, as Stripe's differ by account.
KEYS = {"sk_test_brand_b": BRAND_B}


def two_brands(settings, stub: StripeStub | None = None, **extra) -> None:
    settings.STRIPE_DJANGO = {
        "API_KEY": "sk_test_brand_a",
        "API_KEYS": {"brand_b": {"API_KEY": "sk_test_brand_b", "ACCOUNT": BRAND_B}},
        "WEBHOOK_SECRETS": ["whsec_tests_primary"],
        "WEBHOOK_ENDPOINTS": {"brand_b": {"SECRETS": ["whsec_brand_b"], "API_KEY": "brand_b"}},
        "MAX_NETWORK_RETRIES": 0, "SYNC_RATE_LIMIT": 1000, "SYNC_PAGE_SIZE": 10,
        **({"API_BASE": stub.api_base} if stub else {}), **extra,
    }


def test_each_platform_is_synced_with_its_key_and_its_rows_told_apart(settings):
    with StripeStub({"customers": 12}, accounts=("acct_1CONNB00",), platforms=KEYS) as stub:
        two_brands(settings, stub)
        assert sync(["customer"], events=False).ok
        assert sync(["customer"], key="brand_b", all_accounts=True, events=False).ok
    assert stub.api_keys == {"sk_test_brand_a": 2, "sk_test_brand_b": 2 + 1 + 2}
    assert Customer.objects.for_account(None).count() == 12  # brand A: as with one key
    assert Customer.objects.for_account(BRAND_B).count() == 12
    assert Customer.objects.for_account("acct_1CONNB00").count() == 12
    assert set(SyncCursor.objects.values_list("account", flat=True)) == {"", BRAND_B, "acct_1CONNB00"}


def test_an_unknown_key_name_is_an_error(settings, capsys):
    two_brands(settings)
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no key named 'brand_c'"):
        call_command("stripe_sync", "customer", "--key", "brand_c")


def test_an_endpoint_bound_to_a_key_stores_that_platform(settings, deliver):  # noqa: F811
    two_brands(settings)
    platform = make_event(customer("cus_brandb1"))
    connect = make_event(customer("cus_conn1"), account="acct_1CONNB00")
    mine = make_event(customer("cus_branda1"))
    assert deliver(platform, secret="whsec_brand_b", endpoint="brand_b").status_code == 200
    assert deliver(connect, secret="whsec_brand_b", endpoint="brand_b").status_code == 200
    assert deliver(mine).status_code == 200
    accounts = dict(Customer.objects.values_list("id", "stripe_account"))
    assert accounts == {"cus_brandb1": BRAND_B, "cus_conn1": "acct_1CONNB00", "cus_branda1": None}
    assert Event.objects.get(pk=platform["id"]).stripe_account == BRAND_B
    assert Event.objects.get(pk=mine["id"]).stripe_account is None


def test_events_of_a_platform_read_the_api_with_its_key(settings, deliver):  # noqa: F811
    with StripeStub({"customers": 1}) as stub:
        two_brands(settings, stub, REFETCH_ON_EVENT=["customer"])
        event = make_event(customer("cus_sk_test_brand_b000007"[:20] + "000007"))
        assert deliver(event, secret="whsec_brand_b", endpoint="brand_b").status_code == 200
        # retried later from the row alone (the task path, stripe_process_events)
        Event.objects.update(processing_status="failed")
        assert retry_failed().processed == 1
    assert stub.api_keys == {"sk_test_brand_b": 2}
    assert Customer.objects.get().stripe_account == BRAND_B


def test_a_platform_event_on_tasks_keeps_its_platform(settings, deliver,  # noqa: F811
                                                      django_capture_on_commit_callbacks):
    from .conftest import task_backends

    two_brands(settings, EVENTS_ON_TASKS=True)
    settings.TASKS = {"default": {"BACKEND": DUMMY}}
    backend = task_backends()["default"]
    backend.clear()
    event = make_event(customer("cus_brandb_task"))
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(event, secret="whsec_brand_b", endpoint="brand_b").status_code == 200
    backend.results[0].task.call(*backend.results[0].args)
    assert Customer.objects.get().stripe_account == BRAND_B


def test_an_enqueued_run_reads_with_its_key(settings, django_capture_on_commit_callbacks):
    from .conftest import task_backends

    settings.TASKS = {"default": {"BACKEND": DUMMY}}
    backend = task_backends()["default"]
    backend.clear()
    with StripeStub({"customers": 4}) as stub:
        two_brands(settings, stub)
        with django_capture_on_commit_callbacks(execute=True):
            run = enqueue_run(["customer"], key="brand_b")
        drain(backend, django_capture_on_commit_callbacks)
    assert SyncRun.objects.get().key == "brand_b"
    assert set(SyncShard.objects.filter(run=run).values_list("status", flat=True)) == {"ok"}
    assert Customer.objects.for_account(BRAND_B).count() == 4
    assert set(stub.api_keys) == {"sk_test_brand_b"}


def test_the_default_key_given_an_account_in_api_keys_keeps_it_everywhere(settings, deliver):  # noqa: F811
    # API_KEYS["default"] is API_KEY's entry (the check counts it so): its ACCOUNT goes
    # on brand A's rows whether the key is named or not, so they stay apart from those
    # of brand B, the key without an ACCOUNT.
    with StripeStub({"customers": 3}, platforms=KEYS) as stub:
        settings.STRIPE_DJANGO = {
            "API_KEY": "sk_test_brand_a",
            "API_KEYS": {"default": {"API_KEY": "sk_test_brand_a", "ACCOUNT": "acct_1BRANDA0"},
                         "brand_b": {"API_KEY": "sk_test_brand_b"}},
            "WEBHOOK_SECRETS": ["whsec_tests_primary"],
            "MAX_NETWORK_RETRIES": 0, "SYNC_RATE_LIMIT": 1000, "API_BASE": stub.api_base,
        }
        assert sync(["customer"], events=False).ok
        assert sync(["customer"], key="brand_b", events=False).ok
    assert deliver(make_event(customer("cus_branda_hook"))).status_code == 200
    assert Customer.objects.for_account("acct_1BRANDA0").count() == 3 + 1
    assert Customer.objects.for_account(None).count() == 3  # brand B's
    assert set(SyncCursor.objects.values_list("account", flat=True)) == {"acct_1BRANDA0", ""}
