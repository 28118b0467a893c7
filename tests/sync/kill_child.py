"""A sync in a process of its own, for :mod:`tests.sync.test_kill` to kill.

``python -m tests.sync.kill_child sync API_BASE ACCOUNT WORKERS``: print ``SYNCING``, sync
the account's lists, then print the report as JSON.
``python -m tests.sync.kill_child check ACCOUNT ...``: print what is stored, as JSON.
``sync-v2 API_BASE WORKERS`` and ``check-v2``: the same for the platform's v2 accounts
and their persons.
``sync-all API_BASE``: print ``SYNCING``, sync customers and events of the platform and
every connected account (an incremental run is driven by the Events API), then print the
report; ``check-all ACCOUNT ...``: the customers, events and cursors stored.

The database comes from ``DATABASE_URL`` (``tests.settings``).
"""

from __future__ import annotations

import json
import sys
from typing import Any

TYPES = ["customer", "product"]


def _sync(api_base: str, account: str, workers: int) -> dict[str, Any]:
    from django.test.utils import override_settings

    from stripe_django.sync import sync

    settings = {"API_KEY": "sk_test_kill", "API_BASE": api_base, "MAX_NETWORK_RETRIES": 0,
                "SYNC_RATE_LIMIT": 1000}
    with override_settings(STRIPE_DJANGO=settings):
        print("SYNCING", flush=True)
        report = sync(TYPES, account=account, events=False, workers=workers)
    return {"ok": report.ok, "types": {t.name: [t.status, t.fetched, t.errors]
                                       for t in report.types}}


def _check(accounts: list[str]) -> dict[str, Any]:
    from stripe_django.models import Customer, Product, SyncCursor

    found: dict[str, Any] = {}
    for account in accounts:
        found[account] = {
            "customer": list(Customer.objects.filter(stripe_account=account)
                             .values_list("id", flat=True)),
            "product": list(Product.objects.filter(stripe_account=account)
                            .values_list("id", flat=True)),
            "cursors": [
                {k: c[k] for k in ("object_type", "complete", "starting_after", "slices",
                                   "last_error")}
                for c in SyncCursor.objects.filter(account=account).values()],
        }
    found["all_rows"] = Customer.objects.count() + Product.objects.count()
    return found


V2_TYPES = ["v2.core.account", "v2.core.account_person"]


def _sync_v2(api_base: str, workers: int) -> dict[str, Any]:
    """The platform's v2 accounts and their persons (v2 lists, paged by token)."""
    from django.test.utils import override_settings

    from stripe_django.sync import sync

    settings = {"API_KEY": "sk_test_kill", "API_BASE": api_base, "MAX_NETWORK_RETRIES": 0,
                "SYNC_RATE_LIMIT": 1000}
    with override_settings(STRIPE_DJANGO=settings):
        print("SYNCING", flush=True)
        report = sync(V2_TYPES, events=False, workers=workers, page_size=20)
    return {"ok": report.ok, "types": {t.name: [t.status, t.fetched, t.errors]
                                       for t in report.types}}


def _check_v2() -> dict[str, Any]:
    from stripe_django.models import SyncCursor, V2Account, V2AccountPerson

    return {
        "v2.core.account": list(V2Account.objects.values_list("id", flat=True)),
        "v2.core.account_person": list(V2AccountPerson.objects.values_list("id", "account_id")),
        "cursors": [{k: c[k] for k in ("object_type", "complete", "starting_after", "last_error")}
                    for c in SyncCursor.objects.filter(object_type__in=V2_TYPES).values()],
    }


EVENTED_TYPES = ["customer", "event"]


def _sync_all(api_base: str) -> dict[str, Any]:
    from django.test.utils import override_settings

    from stripe_django.sync import sync

    settings = {"API_KEY": "sk_test_kill", "API_BASE": api_base, "MAX_NETWORK_RETRIES": 0,
                "SYNC_RATE_LIMIT": 1000}
    with override_settings(STRIPE_DJANGO=settings):
        print("SYNCING", flush=True)
        report = sync(EVENTED_TYPES, all_accounts=True, workers=2)
    return {"ok": report.ok, "requests": report.requests}


def _check_all(accounts: list[str]) -> dict[str, Any]:
    from stripe_django.models import Customer, Event, SyncCursor

    return {
        "customers": {a: sorted(Customer.objects.filter(stripe_account=a).values_list("id", flat=True))
                      for a in accounts},
        "events": sorted(Event.objects.values_list("id", flat=True)),
        "cursors": [{k: c[k] for k in ("account", "object_type", "complete", "events_after",
                                       "last_error")}
                    for c in SyncCursor.objects.filter(object_type__in=EVENTED_TYPES).values()],
    }


def main(argv: list[str]) -> None:
    import django

    django.setup()
    mode = argv[0]
    if mode == "sync":
        print(json.dumps(_sync(argv[1], argv[2], int(argv[3]))), flush=True)
    elif mode == "check":
        print(json.dumps(_check(argv[1:])), flush=True)
    elif mode == "sync-v2":
        print(json.dumps(_sync_v2(argv[1], int(argv[2]))), flush=True)
    elif mode == "check-v2":
        print(json.dumps(_check_v2()), flush=True)
    elif mode == "sync-all":
        print(json.dumps(_sync_all(argv[1])), flush=True)
    elif mode == "check-all":
        print(json.dumps(_check_all(argv[1:])), flush=True)
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
