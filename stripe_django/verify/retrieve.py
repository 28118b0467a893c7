"""Retrieving one object, for ``stripe_verify``: an "extra" row's confirmation and
``--sample``. Paced by the run's limiter and counted with its requests, as the lists are.

The path is the one the webhook refetch uses (``type_table.RETRIEVE_PATHS`` or the SDK
class's URL), read with the key of the run and the row's connected account, and expanded
and completed as a listed object is, so that it compares as a listed one would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import stripe

from .. import type_table as table
from ..sync.fetcher import MAX_RATE_LIMIT_RETRIES, Fetcher, Stopped, retry_after
from ..sync.report import TypeReport
from ..webhooks.refetch import retrieve_path

__all__ = ["Retrieved", "retrieve"]


@dataclass(frozen=True)
class Retrieved:
    """``obj``: the object as the API returned it (None: gone, or not known);
    ``gone``: the API answered 404 ``resource_missing`` (or returned a deletion stub);
    ``path``: what was asked (None: the type cannot be retrieved on its own). A 404 of
    another kind (a URL the API does not know) is neither: ``obj`` None, ``gone`` False."""

    obj: dict[str, Any] | None
    gone: bool
    path: str | None


def retrieve(fetcher: Fetcher, stored: dict[str, Any], account: str | None,
             report: TypeReport) -> Retrieved:
    """The object whose stored payload is ``stored``, as Stripe has it now."""
    path = retrieve_path(stored)
    if path is None:
        return Retrieved(None, False, None)
    params: dict[str, Any] = {}
    expand = table.RETRIEVE_EXPAND.get(stored.get("object") or "")
    if expand:
        params["expand"] = list(expand)
    if account:
        params["stripe_account"] = account
    throttled = 0
    while True:
        if fetcher.stop.is_set():
            raise Stopped()
        fetcher.limiter.acquire()
        fetcher.requests += 1
        report.requests += 1
        try:
            response = fetcher.client.raw_request("get", path, **params)
        except stripe.RateLimitError as error:
            throttled += 1
            if throttled > MAX_RATE_LIMIT_RETRIES:
                raise
            fetcher.limiter.pause(retry_after(error, throttled))
            continue
        except stripe.InvalidRequestError as error:
            # Only Stripe's "no such object" proves it gone; a 404 for a URL the API
            # does not know proves nothing about the row.
            if error.http_status == 404:
                return Retrieved(None, error.code == "resource_missing", path)
            raise
        data = response.data
        if not isinstance(data, dict):
            return Retrieved(None, False, path)
        if data.get("deleted") is True:
            return Retrieved(data, True, path)
        fetcher.complete_embedded(data, account, report)
        return Retrieved(data, False, path)
