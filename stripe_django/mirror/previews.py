"""Previews as unsaved model instances.

An upcoming invoice or a credit note preview describes what an operation would do; no
such object exists at Stripe, so it is never stored. Built here with the same planner
ingest uses (the same columns, the same conversions), but never written: the result is
model instances with ``_state.adding`` true, whose ``save()`` nobody should call.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ..ingest import to_plain
from ..ingest import columns as c
from ..ingest.planner import Planner, Row

__all__ = ["unsaved_instances"]

# Key of a preview that carries no id (an upcoming invoice of older API versions); the
# instance gets ``pk = None`` back.
_NO_ID = "preview"


def unsaved_instances(payload: Any, stamp: dt.datetime, account: str | None):
    """Unsaved model instance(s) of a preview answer: a list for a list page, else one
    instance. Each instance's embedded lists are in ``preview_children`` (field name ->
    unsaved child instances), so ``invoice.preview_children["lines"]`` are its lines."""
    payload = to_plain(payload)
    if isinstance(payload, dict) and payload.get("object") in ("list", "search_result"):
        return [unsaved_instances(item, stamp, account) for item in payload.get("data") or []]
    no_id = isinstance(payload, dict) and not payload.get("id")
    if no_id:
        payload = {**payload, "id": _NO_ID}
    planner = Planner(accept_previews=True)
    key = planner.add(payload, stamp, account)  # raises IngestError on a malformed answer
    built = {row_key: _instance(row) for row_key, row in planner.rows.items()}
    top = built[key]
    others = {row_key[1]: instance for row_key, instance in built.items() if row_key != key}
    top.preview_children = {
        col.name: [others[i] for i in getattr(top, col.name) or () if i in others]
        for col in c.columns_of(key[0]) if col.kind == c.EMBEDDED
    }
    if no_id:
        top.pk = None
        top.stripe_data.pop("id", None)
    return top


def _instance(row: Row):
    model = row.model
    values = {
        "id": row.id,
        "stripe_account": row.account,
        "stripe_data": json.loads(row.data_json),
        "stripe_snapshot_at": row.stamp,
        "stripe_data_hash": row.data_hash,
        "deleted": row.deleted,
    }
    if row.values is not None:
        for col, value in zip(c.columns_of(model), row.values):
            values[model._meta.get_field(col.name).attname] = value
    instance = model(**values)
    instance.stripe_preview = True  # StripeModel.save() refuses it
    return instance
