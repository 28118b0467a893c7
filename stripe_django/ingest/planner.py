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
import json
from dataclasses import dataclass
from typing import Any

from .. import type_table as table
from ..exceptions import IngestError
from . import columns as c

STUB_KEYS = frozenset({"id", "object", "deleted"})


@dataclass
class Row:
    model: type
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


def dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _digest(data_json: str, account: str | None, deleted: bool) -> str:
    text = f"{data_json}|{account or ''}|{int(deleted)}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class Planner:
    """Collects the rows of a batch; the same object seen twice keeps its newest state."""

    def __init__(self) -> None:
        self.rows: dict[tuple[type, str], Row] = {}

    def add(self, payload: Any, stamp: dt.datetime, account: str | None) -> tuple[type, str]:
        """Plan the rows of one top-level payload. Raises IngestError, adding nothing."""
        found: dict[tuple[type, str], Row] = {}
        key = self._collect(payload, stamp, account, found, None)
        for row in found.values():
            self._merge(row)
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
                 found: dict, link: tuple[str, str] | None) -> tuple[type, str]:
        if not isinstance(payload, dict):
            raise IngestError(f"expected a JSON object, got {type(payload).__name__}")
        object_type = payload.get("object")
        raw_id = payload.get("id")
        if not isinstance(object_type, str) or not object_type:
            raise IngestError("the payload has no 'object' naming its type",
                              object_id=raw_id if isinstance(raw_id, str) else None)
        model = c.model_for(object_type)
        if model is None:
            reason = table.EXCLUDED_TYPES.get(object_type)
            message = f"not mirrored: {reason}" if reason else "unknown object type"
            raise IngestError(message, object_type=object_type,
                              object_id=raw_id if isinstance(raw_id, str) else None)
        object_id = self._key(object_type, payload, account, link)
        deleted = payload.get("deleted") is True
        if deleted and payload.keys() <= STUB_KEYS:
            data_json = dumps(payload)
            found[(model, object_id)] = Row(model, object_id, None, data_json,
                                            _digest(data_json, account, True), stamp, account, True)
            return model, object_id

        payload = _redacted(payload)
        for path in table.NESTED_OBJECTS.get(object_type, ()):
            payload = _redacted_at(payload, path)
        values = []
        for col in c.columns_of(model):
            raw = payload.get(col.name)
            if raw is None and col.name not in payload:
                if col.derive is not None:
                    raw = _derive(col, payload)
                if raw is None and link is not None and col.name == link[0]:
                    raw = link[1]
            try:
                values.append(self._value(col, raw, object_type, object_id, stamp, account, found))
            except c.WrongType as error:
                raise IngestError(str(error), object_type=object_type, object_id=object_id,
                                  field=col.name) from None
        data_json = dumps(payload)
        found[(model, object_id)] = Row(model, object_id, values, data_json,
                                        _digest(data_json, account, deleted), stamp, account, deleted)
        return model, object_id

    def _value(self, col: c.Column, raw: Any, object_type: str, object_id: str,
               stamp: dt.datetime, account: str | None, found: dict) -> Any:
        kind = col.kind
        if raw is None:
            return None
        if kind == c.STRING:
            return c.to_string(raw, col.max_length)
        if kind == c.JSON:
            return raw
        if kind in (c.REF, c.POLY):
            return self._reference(raw, stamp, account, found)
        if kind == c.REF_LIST:
            if not isinstance(raw, list):
                raise c.WrongType(f"expected a list of ids, got {type(raw).__name__}")
            return [self._reference(item, stamp, account, found) for item in raw]
        if kind == c.EMBEDDED:
            items = raw.get("data") if isinstance(raw, dict) else raw
            if not isinstance(items, list):
                raise c.WrongType(f"expected a list object, got {type(raw).__name__}")
            link_field = table.EMBEDDED_LISTS.get((object_type, col.name))
            link = (link_field, object_id) if link_field else None
            ids = []
            for item in items:
                if isinstance(item, dict) and c.model_for(item.get("object") or "") is not None:
                    ids.append(self._collect(item, stamp, account, found, link)[1])
                elif isinstance(item, dict) and isinstance(item.get("id"), str):
                    ids.append(item["id"])
                elif isinstance(item, str):
                    ids.append(item)
                else:
                    raise c.WrongType("expected objects with ids in the list")
            return ids
        return c.SCALAR_CONVERTERS[kind](raw)

    def _reference(self, raw: Any, stamp: dt.datetime, account: str | None, found: dict) -> str:
        if type(raw) is str:
            return raw
        if isinstance(raw, dict):
            object_type = raw.get("object") or ""
            has_key = bool(raw.get("id")) or object_type in table.SYNTHETIC_KEYS
            if has_key and c.model_for(object_type) is not None:
                return self._collect(raw, stamp, account, found, None)[1]
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


def _redacted(obj: dict) -> dict:
    """The object without its secrets (type_table.REDACTED_FIELDS); a copy if any."""
    if obj.keys().isdisjoint(table.REDACTED_FIELDS):
        return obj
    return {k: v for k, v in obj.items() if k not in table.REDACTED_FIELDS}


def _redacted_at(obj: dict, path: tuple[str, ...]) -> dict:
    """``obj`` with the object at ``path`` redacted, copying only what changes."""
    inner = obj.get(path[0])
    if not isinstance(inner, dict):
        return obj
    cleaned = _redacted(inner) if len(path) == 1 else _redacted_at(inner, path[1:])
    return obj if cleaned is inner else {**obj, path[0]: cleaned}


def _derive(col: c.Column, payload: dict) -> Any:
    """A legacy column's value from a current-shape payload; None when not derivable."""
    try:
        return col.derive(payload)
    except (AttributeError, TypeError, KeyError, IndexError):
        return None
