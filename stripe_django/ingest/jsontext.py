"""JSON text of payloads: compact, keys sorted, non-ASCII characters as they are.

The text is made once per object: it is stored as ``stripe_data``, hashed for change
detection and, on PostgreSQL, spliced as it is into the statement's parameter.

orjson writes it about ten times faster than the standard library and writes the same
text, but for the exponent of some floats (``1e-7`` for ``1e-07``; JSON readers take
both). What orjson refuses (integers beyond 64 bits, lone surrogates, keys that are not
strings, nesting deeper than 255 levels) goes to the standard library, which says what
it had said before. Neither refuses NaN the same way (orjson writes ``null``), so
``redact(..., refuse_non_finite=True)`` refuses it in the walk that precedes encoding.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["dumps", "dumps_both", "dumps_bytes", "Fragment", "NotUTF8"]

_SORTED = orjson.OPT_SORT_KEYS
#: JSON text included as it is by :func:`dumps_bytes` (no second encoding).
Fragment = orjson.Fragment


class NotUTF8(ValueError):
    """A string holding a lone surrogate (``"\\ud800"`` in JSON): Python reads it, but no
    UTF-8 text, hence no database column, can hold it."""


def dumps(data: Any) -> str:
    try:
        return orjson.dumps(data, option=_SORTED).decode()
    except (TypeError, orjson.JSONEncodeError):
        return _standard(data)


def dumps_both(data: Any) -> tuple[str, bytes]:
    """The text :func:`dumps` makes and its UTF-8 bytes, each made once: ingest stores
    the text and hashes the bytes."""
    try:
        raw = orjson.dumps(data, option=_SORTED)
    except (TypeError, orjson.JSONEncodeError):
        text = _standard(data)
        return text, text.encode()
    return raw.decode(), raw


def dumps_bytes(data: Any, default=None) -> bytes:
    """UTF-8 JSON with :class:`Fragment` values included as they are; ``default``
    converts what orjson does not know. Raises TypeError for what orjson refuses: the
    caller, which chose fragments, knows how else to write its data."""
    return orjson.dumps(data, default=default, option=_SORTED)


def _standard(data: Any) -> str:
    text = json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    # orjson refused the data: a lone surrogate is one reason, and it would fail later,
    # wherever the text is encoded. Checked only on this rare path.
    try:
        text.encode()
    except UnicodeEncodeError:
        raise NotUTF8("contains a lone surrogate, which UTF-8 text cannot hold") from None
    return text
