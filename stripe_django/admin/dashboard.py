"""The link from a row's admin page to the same object on the Stripe Dashboard.

The page's address is ``https://dashboard.stripe.com/``, then the connected account the
object belongs to (``acct_.../``: the Dashboard opens it as that account), then
``test/`` for test-mode objects, then the type's path from
:data:`stripe_django.type_table.DASHBOARD_PATHS` and the object's id. Objects of types
without a Dashboard page, and objects whose mode is unknown, get no link.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .. import type_table

DASHBOARD = "https://dashboard.stripe.com/"


def dashboard_url(obj: Any) -> str | None:
    """The Stripe Dashboard's page of the mirrored row ``obj``, or None."""
    path = type_table.DASHBOARD_PATHS.get(getattr(obj, "stripe_object", ""))
    livemode = getattr(obj, "livemode", None)
    if path is None or livemode is None or not obj.pk:
        return None
    account = getattr(obj, "stripe_account", None)
    if obj.stripe_object == "account":
        account = None  # a connected account's own page is the platform's
    prefix = f"{account}/" if account else ""
    mode = "" if livemode else "test/"
    return f"{DASHBOARD}{quote(prefix)}{mode}{path}/{quote(str(obj.pk))}"
