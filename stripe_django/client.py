"""The stripe-python client the app uses, built from the STRIPE_DJANGO settings."""

from __future__ import annotations

import stripe

from .conf import stripe_settings


def get_client(api_key: str | None = None) -> stripe.StripeClient:
    """A StripeClient with the configured key, API version, base URL and retries.

    Network retries (with backoff, honouring Stripe's ``Stripe-Should-Retry``) are
    stripe-python's own; nothing here retries by hand.
    """
    options: dict = {
        "api_key": api_key or stripe_settings.require("API_KEY"),
        "max_network_retries": stripe_settings.MAX_NETWORK_RETRIES,
    }
    if stripe_settings.API_VERSION:
        options["stripe_version"] = stripe_settings.API_VERSION
    if stripe_settings.API_BASE:
        options["base_addresses"] = {"api": stripe_settings.API_BASE}
    return stripe.StripeClient(**options)
