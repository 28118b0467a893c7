"""Fetching an event's object from the API instead of trusting the event's payload.

Done for the object types named in ``STRIPE_DJANGO["REFETCH_ON_EVENT"]`` (or all, with
True) and for the event types of ``type_table.INCOMPLETE_EVENT_PAYLOADS``. Never done for
``*.deleted`` events (the object is gone), except those of
``type_table.DELETED_EVENTS_THAT_KEEP_THE_OBJECT`` (a canceled subscription).
"""

from __future__ import annotations

import fnmatch
import logging
import string
from typing import Any
from urllib.parse import quote

import stripe
from stripe._object_classes import get_object_class

from .. import type_table as table
from ..conf import stripe_settings

logger = logging.getLogger("stripe_django.webhooks")

__all__ = ["wants_refetch", "retrieve_path", "fetch_object"]


def wants_refetch(event_type: str, object_type: str | None) -> bool:
    """Whether an event of this type about this object type is processed from a fresh copy."""
    if not object_type:
        return False
    if event_type.endswith(".deleted") and event_type not in table.DELETED_EVENTS_THAT_KEEP_THE_OBJECT:
        return False  # gone: nothing to fetch
    setting = stripe_settings.REFETCH_ON_EVENT
    if setting is True:
        return True
    if isinstance(setting, str):
        setting = (setting,)  # one type; a substring test would take "invoice" for "invoiceitem"
    if setting and object_type in setting:
        return True
    return any(fnmatch.fnmatchcase(event_type, pattern) for pattern in table.INCOMPLETE_EVENT_PAYLOADS)


def retrieve_path(obj: dict[str, Any]) -> str | None:
    """The API path that returns ``obj`` today, or None when it cannot be retrieved alone."""
    object_type = obj.get("object")
    if not isinstance(object_type, str):
        return None
    if object_type in table.RETRIEVE_PATHS:
        templates = table.RETRIEVE_PATHS[object_type]
        for template in templates or ():
            fields = [name for _, name, _, _ in string.Formatter().parse(template) if name]
            ids = {name: _id_of(obj.get(name)) for name in fields}
            values = {name: value for name, value in ids.items() if value is not None}
            if len(values) == len(ids):
                return template.format(**{k: quote(v, safe="") for k, v in values.items()})
        return None
    object_id = obj.get("id")
    cls = get_object_class("V1", object_type)
    class_url = getattr(cls, "class_url", None)
    if not isinstance(object_id, str) or not object_id or class_url is None:
        return None
    try:
        return f"{class_url()}/{quote(object_id, safe='')}"
    except Exception:  # an SDK class that cannot be retrieved on its own
        return None


def _id_of(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def fetch_object(obj: dict[str, Any], *, account: str | None = None,
                 client: stripe.StripeClient | None = None) -> dict[str, Any] | None:
    """The current state of ``obj`` from the API as a plain dict; None when it cannot be
    retrieved (no known path) or no longer exists (404). Other API errors propagate."""
    path = retrieve_path(obj)
    if path is None:
        logger.debug("stripe_django: %s objects cannot be retrieved; using the event's payload",
                     obj.get("object"))
        return None
    if client is None:
        from ..client import get_client

        client = get_client()
    params: dict[str, Any] = {}
    expand = table.RETRIEVE_EXPAND.get(obj["object"])
    if expand:
        params["expand"] = list(expand)
    if account:
        params["stripe_account"] = account
    try:
        response = client.raw_request("get", path, **params)
    except stripe.InvalidRequestError as error:
        if error.http_status == 404:
            logger.info("stripe_django: %s %s is gone from the API; using the event's payload",
                        obj.get("object"), obj.get("id"))
            return None
        raise
    data = response.data
    return data if isinstance(data, dict) else None
