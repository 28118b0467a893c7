"""A verification in a process of its own, for :mod:`tests.verify.test_kill` to kill.

``python -m tests.verify.kill_child sync API_BASE``: sync the invoices (with their lines).
``python -m tests.verify.kill_child verify API_BASE``: print ``VERIFYING``, run
``verify(["invoice"], heal=True)``, then print the report as JSON.
``python -m tests.verify.kill_child check``: print each invoice's state, as JSON.

The database comes from ``DATABASE_URL`` (``tests.settings``).
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _settings(api_base: str) -> dict[str, Any]:
    return {"API_KEY": "sk_test_kill", "API_BASE": api_base, "MAX_NETWORK_RETRIES": 0,
            "SYNC_RATE_LIMIT": 1000}


def _sync(api_base: str) -> dict[str, Any]:
    from django.test.utils import override_settings

    from stripe_django.sync import sync

    with override_settings(STRIPE_DJANGO=_settings(api_base)):
        report = sync(["invoice"], events=False)
    return {"ok": report.ok}


def _verify(api_base: str) -> dict[str, Any]:
    from django.test.utils import override_settings

    from stripe_django.verify import verify

    with override_settings(STRIPE_DJANGO=_settings(api_base)):
        print("VERIFYING", flush=True)
        report = verify(["invoice"], heal=True)
    return {"ok": report.ok, "differences": len(report.differences),
            "healed": sum(t.healed for t in report.verified)}


def _check() -> dict[str, Any]:
    from stripe_django.models import Invoice, InvoiceLineItem

    lines = dict(InvoiceLineItem.objects.values_list("id", "deleted"))
    return {pk: {"amount_due": amount, "lines": {k: v for k, v in lines.items()
                                                  if k.startswith(f"il_{pk.split('_', 1)[1]}_")}}
            for pk, amount in Invoice.objects.values_list("id", "amount_due")}


def main(argv: list[str]) -> None:
    import django

    django.setup()
    mode = argv[0]
    if mode == "sync":
        print(json.dumps(_sync(argv[1])), flush=True)
    elif mode == "verify":
        print(json.dumps(_verify(argv[1])), flush=True)
    elif mode == "check":
        print(json.dumps(_check()), flush=True)
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
