"""stripe_django: a faithful, queryable copy of a Stripe account in Django models."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import stripe

__version__ = "0.1.0"


def mirrored_client(api_key: str | None = None, *, key: str | None = None,
                    http_client: stripe.HTTPClient | None = None) -> stripe.StripeClient:
    """A ``stripe.StripeClient`` whose every answer is stored in the mirror before the call
    returns (see :func:`stripe_django.mirror.mirrored_client`). Imports the SDK only when
    called, so that importing the app stays light."""
    from .mirror import mirrored_client as build

    return build(api_key, key=key, http_client=http_client)
