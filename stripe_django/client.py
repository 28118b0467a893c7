"""The stripe-python client the app uses, built from the STRIPE_DJANGO settings."""

from __future__ import annotations

import stripe

from django.core.exceptions import ImproperlyConfigured

from .conf import SETTING_NAME, api_key_problem, stripe_settings


def get_client(api_key: str | None = None, *,
               http_client: stripe.HTTPClient | None = None) -> stripe.StripeClient:
    """A StripeClient with the configured key, API version, base URL and retries.

    Network retries (with backoff, honouring Stripe's ``Stripe-Should-Retry``) are
    stripe-python's own; nothing here retries by hand.
    """
    key = api_key or stripe_settings.require("API_KEY")
    problem = api_key_problem(key)
    if problem is not None and key.startswith("pk_"):
        raise ImproperlyConfigured(f"{SETTING_NAME}['API_KEY'] {problem}")
    options: dict = {
        "api_key": key,
        "max_network_retries": stripe_settings.MAX_NETWORK_RETRIES,
    }
    if stripe_settings.API_VERSION:
        options["stripe_version"] = stripe_settings.API_VERSION
    if stripe_settings.API_BASE:
        options["base_addresses"] = {"api": stripe_settings.API_BASE}
    if http_client is not None:
        options["http_client"] = http_client
    return stripe.StripeClient(**options)
