"""stripe_django: a faithful, queryable copy of a Stripe account in Django models."""

__version__ = "0.1.0"


def mirrored_client(api_key=None, *, key=None, http_client=None):
    """A ``stripe.StripeClient`` whose every answer is stored in the mirror before the call
    returns (see :func:`stripe_django.mirror.mirrored_client`). Imports the SDK only when
    called, so that importing the app stays light."""
    from .mirror import mirrored_client as build

    return build(api_key, key=key, http_client=http_client)
