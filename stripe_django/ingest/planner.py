"""Turn Stripe payloads into rows: one per object, nested objects split out.

An expanded reference (``invoice.customer`` as a full customer) becomes a row of its
own model and the reference column keeps the id; an embedded list (``invoice.lines``)
becomes rows of the child model linked to the parent. Nothing touches the database
here: the planner only builds rows, so a payload that fails validation leaves nothing
behind, and the writer can store a whole batch with one statement per model.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import type_table as table
from ..exceptions import IngestError
from . import columns as c
from .jsontext import NotUTF8, dumps, dumps_both
from .redaction import NestedTooDeeply, NonFiniteNumber, redact

if TYPE_CHECKING:
    from ..models.base import StripeModel

STUB_KEYS = frozenset({"id", "object", "deleted"})
_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1  # as columns.to_integer checks
_SCALAR_CONVERTERS = c.SCALAR_CONVERTERS


@dataclass
class Row:
    model: type[StripeModel]
    id: str
    values: list[Any] | None  # None for a deletion stub
    data_json: str
    data_hash: str
    stamp: dt.datetime
    account: str | None
    deleted: bool

    @property
    def is_stub(self) -> bool:
        return self.values is None


@dataclass
class Membership:
    """A parent's complete embedded list: its children of one model that are stored
    linked to the parent and not named here were removed in Stripe."""

    model: type[StripeModel]  # the child model
    link: str  # the child's column holding the parent id
    parent_id: str
    kept: frozenset[str]
    stamp: dt.datetime


def _payload_json(payload: dict, object_type: str, object_id: str) -> tuple[str, bytes]:
    """``stripe_data`` as JSON text, and as the UTF-8 bytes the hash reads; refuses NUL
    characters, which no database column holds alike (PostgreSQL text cannot). NaN and
    infinities were refused before, in :meth:`Planner.add`."""
    try:
        text, raw = dumps_both(payload)
    except NotUTF8 as error:
        raise IngestError(str(error), object_type=object_type, object_id=object_id) from None
    if "\\u0000" in text and _NUL_ESCAPE.search(text):
        raise IngestError("contains a NUL character", object_type=object_type,
                          object_id=object_id)
    return text, raw


# A NUL character as JSON writes it (an odd number of backslashes before "u0000"; an
# even number is the text "\\u0000" itself, which is fine).
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def _digest(data_json: str | bytes, account: str | None, deleted: bool, link: str = "") -> str:
    """What tells a stored row from a new one without reading it: the payload, the
    account, the deletion mark and a parent link the payload itself did not carry.
    ``data_json`` as text or as its UTF-8 bytes (the same digest: the planner has the
    bytes already, and the payload is most of what is hashed)."""
    digest = hashlib.blake2b(data_json.encode() if isinstance(data_json, str) else data_json,
                             digest_size=16)
    digest.update(f"|{account or ''}|{int(deleted)}|{link}".encode())
    return digest.hexdigest()


def _sdk_version() -> str:
    import stripe

    return f"stripe-python {stripe.VERSION} (API version {stripe.api_version})"


class Planner:
    """Collects the rows of a batch; the same object seen twice keeps its newest state."""

    def __init__(self, *, accept_previews: bool = False) -> None:
        # True only to build unsaved instances of a preview (stripe_django.mirror)
        self.accept_previews = accept_previews
        self.rows: dict[tuple[type[StripeModel], str], Row] = {}
        # (child model, parent id) -> the parent's complete list, newest snapshot
        self.memberships: dict[tuple[type[StripeModel], str], Membership] = {}

    def add(self, payload: Any, stamp: dt.datetime, account: str | None, *,
            redacted: bool = False) -> tuple[type[StripeModel], str]:
        """Plan the rows of one top-level payload. Raises IngestError, adding nothing.

        ``redacted``: the caller made ``payload`` with ``redact(...,
        refuse_non_finite=True)`` already (the webhook path, which redacts the whole
        event once), so the walk is not made twice."""
        found: dict[tuple[type[StripeModel], str], Row] = {}
        lists: list[Membership] = []
        try:
            if not redacted:
                payload = redact(payload, refuse_non_finite=True)
            key = self._collect(payload, stamp, account, found, None, lists)
        except NonFiniteNumber:
            raise IngestError("contains NaN or an infinite number, which JSON does not allow",
                              object_type=_type_of(payload), object_id=_id_of(payload)) from None
        except (RecursionError, NestedTooDeeply):
            raise IngestError("the payload is nested too deeply to store",
                              object_type=_type_of(payload), object_id=_id_of(payload)) from None
        for row in found.values():
            self._merge(row)
        for membership in lists:
            held = self.memberships.get((membership.model, membership.parent_id))
            if held is None or held.stamp <= membership.stamp:
                self.memberships[(membership.model, membership.parent_id)] = membership
        return key

    def _merge(self, row: Row) -> None:
        key = (row.model, row.id)
        old = self.rows.get(key)
        if old is None or old.stamp < row.stamp:
            self.rows[key] = row
        elif old.stamp == row.stamp:
            if row.is_stub and not old.is_stub:
                # A deletion in the same snapshot as the full object: keep the data.
                old.deleted = True
                old.data_hash = _digest(old.data_json, old.account, True)
            else:
                self.rows[key] = row

    # --- one object -----------------------------------------------------------------

    def _collect(self, payload: Any, stamp: dt.datetime, account: str | None,
                 found: dict, link: tuple[str, str] | None,
                 lists: list[Membership]) -> tuple[type[StripeModel], str]:
        if not isinstance(payload, dict):
            raise IngestError(f"expected a JSON object, got {type(payload).__name__}")
        object_type = payload.get("object")
        raw_id = payload.get("id")
        if not isinstance(object_type, str) or not object_type:
            raise IngestError("the payload has no 'object' naming its type",
                              object_id=raw_id if isinstance(raw_id, str) else None)
        object_type = table.OBJECT_ALIASES.get(object_type, object_type)
        model = c.model_for(object_type)
        if model is None:
            reason = table.EXCLUDED_TYPES.get(object_type)
            message = (f"not mirrored: {reason}" if reason else
                       f"unknown object type: {_sdk_version()} has no model of it "
                       f"(a newer stripe_django may)")
            raise IngestError(message, object_type=object_type,
                              object_id=raw_id if isinstance(raw_id, str) else None)
        object_id = self._key(object_type, payload, account, link)
        if not self.accept_previews and object_id.startswith(
                table.PREVIEW_ID_PREFIXES.get(object_type, ())):
            raise IngestError("a preview of an operation, not an object that exists at Stripe",
                              object_type=object_type, object_id=object_id)
        deleted = payload.get("deleted") is True
        if deleted and payload.keys() <= STUB_KEYS:
            data_json = dumps(payload)
            found[(model, object_id)] = Row(model, object_id, None, data_json,
                                            _digest(data_json, account, True), stamp, account, True)
            return model, object_id

        columns, index_of, derived = c.layout_of(model)
        plan = c.fast_layout_of(model)
        values: list[Any] = [None] * len(columns)
        linked = ""
        # The hot loop of ingest: over the payload's keys (a payload has fewer keys than
        # its model has columns). A value of the one type its column takes as it is
        # (c.fast_layout_of), the most common case, is settled here without a call.
        col = None
        any_type = c.ANY_TYPE
        try:
            for key, raw in payload.items():
                entry = plan.get(key)
                if entry is None or raw is None:
                    continue
                index, col, taken, limit = entry
                raw_type = type(raw)
                if taken is raw_type:
                    if raw_type is str:
                        if len(raw) <= limit:
                            values[index] = raw
                            continue
                    elif raw_type is not int or _INT64_MIN <= raw <= _INT64_MAX:
                        values[index] = raw
                        continue
                elif taken is any_type:
                    values[index] = raw
                    continue
                values[index] = self._value(col, raw, object_type, object_id, stamp,
                                            account, found, lists)
            # Legacy columns derived from a current-shape payload that lacks them.
            for index, col in derived:
                if col.name not in payload:
                    raw = _derive(col, payload)
                    if raw is not None:
                        values[index] = self._value(col, raw, object_type, object_id, stamp,
                                                    account, found, lists)
            link_index = index_of.get(link[0]) if link is not None else None
            if link is not None and link_index is not None:
                col = columns[link_index]
                raw = payload.get(col.name)
                if raw is None and col.derive is not None and col.name not in payload:
                    raw = _derive(col, payload)
                if raw is None:
                    # The parent it arrived in, where the child's own link is absent or
                    # null (old API versions, checkout line items).
                    linked = link[1]
                    values[link_index] = self._value(col, linked, object_type, object_id, stamp,
                                                account, found, lists)
        except c.WrongType as error:
            raise IngestError(str(error), object_type=object_type, object_id=object_id,
                              field=col.name if col is not None else None) from None
        data_json, data_bytes = _payload_json(payload, object_type, object_id)
        found[(model, object_id)] = Row(model, object_id, values, data_json,
                                        _digest(data_bytes, account, deleted, linked), stamp,
                                        account, deleted)
        return model, object_id

    def _value(self, col: c.Column, raw: Any, object_type: str, object_id: str,
               stamp: dt.datetime, account: str | None, found: dict,
               lists: list[Membership]) -> Any:
        kind = col.kind
        if raw is None:
            return None
        # Scalars first: timestamps are the most common value that gets here.
        converter = _SCALAR_CONVERTERS.get(kind)
        if converter is not None:
            return converter(raw)
        if kind == c.STRING:
            return c.to_string(raw, col.max_length)
        if kind == c.JSON:
            return raw
        if kind in (c.REF, c.POLY):
            return self._reference(raw, stamp, account, found, lists)
        if kind == c.REF_LIST:
            if not isinstance(raw, list):
                raise c.WrongType(f"expected a list of ids, got {type(raw).__name__}")
            return [self._reference(item, stamp, account, found, lists) for item in raw]
        if kind == c.EMBEDDED:
            if isinstance(raw, dict):
                # A list object; ``{}`` (seen from some senders for an empty list) holds
                # no children, and says nothing about which the parent has.
                items = raw.get("data", [])
                complete = raw.get("has_more") is False
            else:
                items, complete = raw, True
            if not isinstance(items, list):
                raise c.WrongType(f"expected a list object, got {type(raw).__name__}")
            link_field = table.EMBEDDED_LISTS.get((object_type, col.name))
            link = (link_field, object_id) if link_field else None
            ids = []
            for item in items:
                if isinstance(item, dict) and c.model_for(
                        table.OBJECT_ALIASES.get(item.get("object") or "", item.get("object") or "")):
                    ids.append(self._collect(item, stamp, account, found, link, lists)[1])
                elif isinstance(item, dict) and isinstance(item.get("id"), str):
                    ids.append(item["id"])
                elif isinstance(item, str):
                    ids.append(item)
                else:
                    raise c.WrongType("expected objects with ids in the list")
            removal = c.removal_of(object_type, col.name)
            if complete and removal is not None:
                lists.append(Membership(removal.model, removal.link, object_id,
                                        frozenset(ids), stamp))
            return ids
        raise TypeError(f"{col.name}: no converter of kind {kind!r}")

    def _reference(self, raw: Any, stamp: dt.datetime, account: str | None, found: dict,
                   lists: list[Membership]) -> str | None:
        if type(raw) is str:
            return raw
        if isinstance(raw, dict):
            object_type = raw.get("object") or ""
            object_type = table.OBJECT_ALIASES.get(object_type, object_type)
            has_key = bool(raw.get("id")) or object_type in table.SYNTHETIC_KEYS
            if has_key and c.model_for(object_type) is not None:
                return self._collect(raw, stamp, account, found, None, lists)[1]
            # An expanded object of a type that is not mirrored keeps its id; an object
            # without an id (an old-API discount) has no row and stays in stripe_data.
            return raw.get("id") or None
        raise c.WrongType(f"expected an id or an expanded object, got {type(raw).__name__}")

    @staticmethod
    def _key(object_type: str, payload: dict, account: str | None,
             link: tuple[str, str] | None) -> str:
        owner_field = table.SYNTHETIC_KEYS.get(object_type)
        if owner_field == "account":
            mode = "live" if payload.get("livemode") else "test"
            return f"{object_type}:{account or 'platform'}:{mode}"
        if owner_field:
            owner = payload.get(owner_field)
            owner = owner.get("id") if isinstance(owner, dict) else owner
            if not isinstance(owner, str) or not owner:
                raise IngestError(f"has no id; its key needs the {owner_field!r} field",
                                  object_type=object_type, field=owner_field)
            return f"{object_type}:{owner}"
        for name in table.ALTERNATE_ID_FIELDS.get(object_type, ()):
            value = payload.get(name)
            if isinstance(value, str) and value:
                return value
        object_id = payload.get("id")
        if not isinstance(object_id, str) or not object_id:
            raise IngestError("the payload has no 'id'", object_type=object_type, field="id")
        prefix = table.OWN_ID_PREFIXES.get(object_type)
        if prefix and link is not None and not object_id.startswith(prefix):
            return f"{link[1]}:{object_id}"
        return object_id


def _type_of(payload: Any) -> str | None:
    value = payload.get("object") if isinstance(payload, dict) else None
    return value if isinstance(value, str) else None


def _id_of(payload: Any) -> str | None:
    value = payload.get("id") if isinstance(payload, dict) else None
    return value if isinstance(value, str) else None


def _derive(col: c.Column, payload: dict) -> Any:
    """A legacy column's value from a current-shape payload; None when not derivable."""
    derive = col.derive
    if derive is None:
        return None
    try:
        return derive(payload)
    except (AttributeError, TypeError, KeyError, IndexError):
        return None
