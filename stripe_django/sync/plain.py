"""List pages as plain dicts, parsed once, without building SDK objects.

A list call through stripe-python parses the response with ``json.loads`` into
``OrderedDict`` objects, then builds a ``StripeObject`` of every object in it, which the
sync throws away for the parsed JSON. This module keeps stripe-python for what it does
well (the URL of each list, encoding of the parameters, authentication, the
``Stripe-Account`` header, retries of network errors and 5xx, errors by HTTP status) and
replaces only the last step: a page answered with success is parsed by orjson into
plain dicts, which is about five times cheaper than the SDK's way; any other answer
goes through the SDK's own error handling, so callers see the same exceptions.

It relies on three internals of stripe-python 16 (``StripeClient._requestor``, the
requestor's ``request_raw`` and ``_interpret_response``); the project pins ``stripe<17``.
Where they are missing, :func:`plain_service` answers None and the sync lists through
the public ``list`` methods as before.
"""

from __future__ import annotations

from typing import Any

import orjson
import stripe

__all__ = ["plain_service"]


class _PlainRequestor:
    """Stands in for a service's requestor: same request, plain JSON out."""

    def __init__(self, requestor: Any) -> None:
        self._requestor = requestor

    def request(self, method: str, url: str, params: Any = None, options: Any = None, *,
                base_address: Any, usage: list[str] | None = None) -> dict:
        requestor = self._requestor._new_requestor_with_options(options)
        api_mode = "V2" if url.startswith("/v2") else "V1"
        body, status, headers = requestor.request_raw(
            method.lower(), url, params, is_streaming=False, api_mode=api_mode,
            base_address=base_address, options=options, usage=usage)
        if 200 <= status < 300:
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError:
                parsed = None
            if isinstance(parsed, dict):
                return parsed
        # An error status, or a body that is no JSON object: the SDK says what it is
        # (RateLimitError for a 429, APIError for a body it cannot read, ...).
        requestor._interpret_response(body, status, headers, api_mode)
        raise stripe.APIError(f"unexpected response body (HTTP {status})", body, status, headers)


def plain_service(client: stripe.StripeClient, service: Any) -> Any | None:
    """A copy of ``service`` (a ``client.v1`` service) whose calls return plain dicts,
    or None where this stripe-python does not have the internals it relies on."""
    requestor = getattr(client, "_requestor", None)
    if not all(hasattr(requestor, name) for name in
               ("_new_requestor_with_options", "request_raw", "_interpret_response")):
        return None
    try:
        return type(service)(_PlainRequestor(requestor))
    except TypeError:
        return None
