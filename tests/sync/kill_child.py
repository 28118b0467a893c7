"""A sync in a process of its own, for :mod:`tests.sync.test_kill` to kill.

``python -m tests.sync.kill_child sync API_BASE ACCOUNT WORKERS``: print ``SYNCING``, sync
the account's lists, then print the report as JSON.
``python -m tests.sync.kill_child check ACCOUNT ...``: print what is stored, as JSON.

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


def main(argv: list[str]) -> None:
    import django

    django.setup()
    mode = argv[0]
    if mode == "sync":
        print(json.dumps(_sync(argv[1], argv[2], int(argv[3]))), flush=True)
    elif mode == "check":
        print(json.dumps(_check(argv[1:])), flush=True)
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
