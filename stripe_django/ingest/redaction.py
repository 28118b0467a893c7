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

import re
from typing import Any

from .. import type_table as table

__all__ = ["redact", "REDACTED_KEYS", "NonFiniteNumber", "NestedTooDeeply", "MAX_NESTING",
           "nested_deeper_than", "redact_text"]

#: The deepest nesting of objects and lists any payload may have. Stripe's objects are a
#: dozen levels deep with expansions; this leaves a wide margin, and stays far below
#: Python's recursion limit, which is what a deeper payload would otherwise meet in
#: whichever walk came first (Python 3.13's JSON parser reads nesting that 3.12 refused).
MAX_NESTING = 100

#: Keys removed from every object, at any depth.
REDACTED_KEYS = frozenset(table.REDACTED_FIELDS)
_OF_TYPE = {name: REDACTED_KEYS | frozenset(keys)
            for name, keys in table.REDACTED_FIELDS_OF_TYPE.items()}
_DROP = object()


def _text_patterns() -> list[tuple[re.Pattern[str], str]]:
    """(pattern, replacement) for text: a JSON string value (``"key": "..."``) and a
    form or query value (``key=...``, ``card[key]=...``, as the SDK logs requests) of
    every redacted key; keys of one type only where the value has the secret's shape."""
    patterns = []
    of_one_type = frozenset().union(*_OF_TYPE.values()) - REDACTED_KEYS
    for keys, json_value, form_value in (
            (REDACTED_KEYS, r'"(?:[^"\\]|\\[\s\S])*(?:"|\\?$)', r"[^&\s'\"]*"),
            *((frozenset([key]), f'"{table.REDACTED_TEXT_SHAPES[key]}(?:"|$)',
               f"{table.REDACTED_TEXT_SHAPES[key]}(?![0-9])")
              for key in sorted(of_one_type) if key in table.REDACTED_TEXT_SHAPES),
            (of_one_type - frozenset(table.REDACTED_TEXT_SHAPES),
             r'"(?:[^"\\]|\\[\s\S])*(?:"|\\?$)', r"[^&\s'\"]*")):
        if not keys:
            continue
        names = "|".join(sorted(map(re.escape, keys)))
        patterns.append((re.compile(rf'("(?:{names})"\s*:\s*){json_value}'), r'\1"[redacted]"'))
        patterns.append((re.compile(rf"((?:^|(?<=[?&=\s'\"]))(?:[^=&\s'\"]*\[)?(?:{names})\]?=){form_value}"),
                         r"\1[redacted]"))
    return patterns


_TEXT_PATTERNS = _text_patterns()


def redact_text(text: str) -> str:
    """``text`` with the value of every redacted key replaced by ``[redacted]``, in JSON
    and in form or query strings: for a payload kept as text and for log lines, where
    :func:`redact` cannot walk."""
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class NonFiniteNumber(ValueError):
    """A NaN or an infinity: no JSON text, hence no stored copy, can hold it."""


class NestedTooDeeply(ValueError):
    """A payload nested deeper than :data:`MAX_NESTING` levels."""

    def __init__(self, limit: int = MAX_NESTING) -> None:
        super().__init__(f"the payload is nested deeper than {limit} levels")


def nested_deeper_than(value: Any, limit: int = MAX_NESTING) -> bool:
    """Whether ``value`` holds dicts and lists more than ``limit`` levels deep. Walks
    level by level (no recursion), visiting containers only."""
    level = [value]
    depth = 1
    while level:
        if depth > limit:
            return True
        below = []
        for container in level:
            for child in (container.values() if isinstance(container, dict) else container):
                if isinstance(child, (dict, list)):
                    below.append(child)
        level = below
        depth += 1
    return False


def redact(value: Any, *, refuse_non_finite: bool = False) -> Any:
    """``value`` without secrets at any depth. Copy on write: containers holding no
    secret are returned as they are (the common case costs one walk, no copy).

    ``refuse_non_finite``: raise :class:`NonFiniteNumber` for a NaN or an infinity at
    any depth. Ingest asks for it: its JSON encoder would write them as ``null``, and
    this walk visits every value anyway.

    Raises :class:`NestedTooDeeply` for a payload deeper than Python's recursion can
    walk (callers that take payloads from outside check :func:`nested_deeper_than`
    first, so they name the limit whatever the Python version)."""
    try:
        return _redact(value, refuse_non_finite)
    except RecursionError:
        raise NestedTooDeeply from None


def _redact(value: Any, refuse_non_finite: bool) -> Any:
    kind = type(value)
    if kind is not dict and kind is not list:
        if isinstance(value, dict):
            value = dict(value)
        elif isinstance(value, list):
            value = list(value)
        else:
            return value
        kind = type(value)
    if kind is dict:
        return _redact_dict(value, refuse_non_finite)
    return _redact_list(value, refuse_non_finite)


def _redact_dict(obj: dict, finite: bool) -> dict:
    drop = REDACTED_KEYS
    if _OF_TYPE:
        object_type = obj.get("object")
        if type(object_type) is str and object_type in _OF_TYPE:
            drop = _OF_TYPE[object_type]
    changes: dict[str, Any] | None = None
    # Most objects hold none of the keys to drop: one test for them all (in C), and
    # the loop below then looks at values only. Scalars, most values, come first.
    keyed = not drop.isdisjoint(obj)
    for key, value in obj.items():
        if keyed and key in drop:
            new: Any = _DROP
        else:
            kind = type(value)
            if kind is str or value is None or kind is int or kind is bool:
                continue
            if kind is dict:
                new = _redact_dict(value, finite)
            elif kind is list:
                new = _redact_list(value, finite)
            else:
                new = _other(value, finite)
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


def _redact_list(items: list, finite: bool) -> list:
    out: list | None = None
    for index, value in enumerate(items):
        kind = type(value)
        new: Any
        if kind is dict:
            new = _redact_dict(value, finite)
        elif kind is str or value is None or kind is int or kind is bool:
            continue
        elif kind is list:
            new = _redact_list(value, finite)
        else:
            new = _other(value, finite)
        if new is not value:
            if out is None:
                out = list(items)
            out[index] = new
    return items if out is None else out


def _other(value: Any, finite: bool) -> Any:
    """A value that is neither a plain container nor a common scalar: a dict or list
    subclass (the SDK's ``OrderedDict`` and ``StripeObject``) is walked as a plain copy;
    a float is checked when asked."""
    if isinstance(value, dict):
        return _redact_dict(dict(value), finite)
    if isinstance(value, list):
        return _redact_list(list(value), finite)
    # NaN - NaN and inf - inf are NaN, which is true; any finite float gives 0.0.
    if finite and isinstance(value, float) and value - value:
        raise NonFiniteNumber
    return value
