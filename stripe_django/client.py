"""The stripe-python client the app uses, built from the STRIPE_DJANGO settings."""

from __future__ import annotations

import stripe
from stripe._http_client import new_default_http_client, new_http_client_async_fallback

from django.core.exceptions import ImproperlyConfigured

from .conf import SETTING_NAME, api_key_problem, stripe_settings


def get_client(api_key: str | None = None, *,
               http_client: stripe.HTTPClient | None = None) -> stripe.StripeClient:
    """A StripeClient with the configured key, API version, base URL, retries and timeout.

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
    options["http_client"] = http_client if http_client is not None else new_http_client()
    return stripe.StripeClient(**options)


def new_http_client() -> stripe.HTTPClient:
    """stripe-python's default HTTP client (and its async fallback), bounded by
    ``HTTP_TIMEOUT``: a request that hangs fails after that many seconds (and is retried
    as ``MAX_NETWORK_RETRIES`` says) instead of holding a sync shard or a worker."""
    timeout = stripe_settings.HTTP_TIMEOUT
    bound = {} if timeout is None else {"timeout": float(timeout)}
    try:
        fallback = new_http_client_async_fallback(**bound)
    except TypeError:
        # no async HTTP library (httpx, aiohttp) installed: stripe-python's stand-in
        # takes no timeout, and only says so if an async call is made
        fallback = new_http_client_async_fallback()
    try:
        return new_default_http_client(async_fallback_client=fallback, **bound)
    except TypeError as error:  # (urllib's client, used only without `requests`, takes no timeout)
        raise ImproperlyConfigured(f"{SETTING_NAME}['HTTP_TIMEOUT'] needs an HTTP client that takes a timeout "
                                   f"(install requests, which stripe-python asks for): {error}") from error
