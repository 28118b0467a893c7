"""Act on Stripe through the mirror: every answer is stored before the call returns.

* :func:`mirrored_client` (also ``stripe_django.mirrored_client``): a
  ``stripe.StripeClient`` whose every answer of a mirrored type is stored;
* ``row.stripe.<method>(...)`` and ``row.refresh_from_stripe()`` on every model;
* ``Model.objects.stripe.<method>(...)`` and ``Model.objects.stripe_create(...)``.

See docs/guide/changes.rst.
"""

from __future__ import annotations

import stripe

from .hook import MirroringHTTPClient, capture

__all__ = ["mirrored_client", "MirroringHTTPClient", "capture"]


def mirrored_client(api_key: str | None = None, *, key: str | None = None,
                    http_client: stripe.HTTPClient | None = None) -> stripe.StripeClient:
    """A ``stripe.StripeClient`` configured from ``STRIPE_DJANGO`` (API key, version, base,
    retries) that stores every answer of a mirrored type in the database before the call
    returns. ``key``: a name from ``STRIPE_DJANGO["API_KEYS"]`` (several platforms): the
    client uses its key, and the platform's own answers are stored with its ``ACCOUNT``,
    as ``stripe_sync --key`` stores them. ``http_client``: the SDK HTTP client to send
    requests with (default: the SDK's own choice)."""
    from ..client import get_client
    from ..conf import api_key_for, platform_account_for

    if key is not None and api_key is not None:
        raise TypeError("mirrored_client() takes api_key or key, not both")
    if key is not None:
        api_key = api_key_for(key)
    hook = MirroringHTTPClient(http_client, platform_account=platform_account_for(key))
    return get_client(api_key, http_client=hook)
