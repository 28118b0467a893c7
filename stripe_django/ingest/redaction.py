"""Removing secrets from payloads before anything is stored or logged.

Stripe returns credentials inside objects (a payment intent's ``client_secret``, a
webhook endpoint's ``secret``, an issuing card's ``number``), and the same object can
arrive nested anywhere: an expanded ``payment_intent`` inside an invoice inside a
subscription, a source inside a pre-2020 customer, an event's ``data.object`` and
``previous_attributes``. :func:`redact` walks the whole payload, so every stored copy
(the row's columns, ``stripe_data``, a stored event) is free of them. What is removed is
listed in ``type_table.REDACTED_FIELDS`` (any object) and
``type_table.REDACTED_FIELDS_OF_TYPE`` (objects of one type).
"""

from __future__ import annotations

from typing import Any

from .. import type_table as table

__all__ = ["redact", "REDACTED_KEYS"]

#: Keys removed from every object, at any depth.
REDACTED_KEYS = frozenset(table.REDACTED_FIELDS)
_OF_TYPE = {name: REDACTED_KEYS | frozenset(keys)
            for name, keys in table.REDACTED_FIELDS_OF_TYPE.items()}
_DROP = object()


def redact(value: Any) -> Any:
    """``value`` without secrets at any depth. Copy on write: containers holding no
    secret are returned as they are (the common case costs one walk, no copy)."""
    kind = type(value)
    if kind is dict:
        return _redact_dict(value)
    if kind is list:
        return _redact_list(value)
    if isinstance(value, dict):
        return _redact_dict(dict(value))
    if isinstance(value, list):
        return _redact_list(list(value))
    return value


def _redact_dict(obj: dict) -> dict:
    drop = REDACTED_KEYS
    if _OF_TYPE:
        object_type = obj.get("object")
        if type(object_type) is str and object_type in _OF_TYPE:
            drop = _OF_TYPE[object_type]
    changes: dict[str, Any] | None = None
    for key, value in obj.items():
        if key in drop:
            new: Any = _DROP
        else:
            kind = type(value)
            if kind is dict:
                new = _redact_dict(value)
            elif kind is list:
                new = _redact_list(value)
            else:
                continue
            if new is value:
                continue
        if changes is None:
            changes = {}
        changes[key] = new
    if changes is None:
        return obj
    out = {}
    for key, value in obj.items():
        if key in changes:
            value = changes[key]
            if value is _DROP:
                continue
        out[key] = value
    return out


def _redact_list(items: list) -> list:
    out: list | None = None
    for index, value in enumerate(items):
        kind = type(value)
        if kind is dict:
            new = _redact_dict(value)
        elif kind is list:
            new = _redact_list(value)
        else:
            continue
        if new is not value:
            if out is None:
                out = list(items)
            out[index] = new
    return items if out is None else out
