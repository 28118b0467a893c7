"""stripe_django: a faithful, queryable copy of a Stripe account in Django models."""

__version__ = "0.1.0"


def mirrored_client(api_key=None, **kwargs):
    """A ``stripe.StripeClient`` whose every answer is stored in the mirror before the call
    returns (see :func:`stripe_django.mirror.mirrored_client`)."""
    from .mirror import mirrored_client as build

    return build(api_key, **kwargs)
