"""What an event means for the mirror: its object, as of the event's creation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .. import type_table as table
from ..exceptions import IngestError
from . import Snapshot, to_plain


def snapshot_from_event(event: Any) -> Snapshot:
    """The ``data.object`` of an event, stamped with the event's ``created``.

    A ``*.deleted`` event carries the object as it was; it is stored marked deleted
    (except the types in ``type_table.DELETED_EVENTS_THAT_KEEP_THE_OBJECT``).
    Connect events carry ``account``: the rows are tagged with it.
    """
    event = to_plain(event)
    if not isinstance(event, dict) or event.get("object") != "event":
        raise IngestError("not an event payload", object_type=getattr(event, "get", lambda k: None)("object"))
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise IngestError("the event has no data.object", object_type="event",
                          object_id=event.get("id"), field="data")
    event_type = str(event.get("type", ""))
    if event_type.endswith(".deleted") and event_type not in table.DELETED_EVENTS_THAT_KEEP_THE_OBJECT:
        obj = {**obj, "deleted": True}
    return Snapshot(obj, stamp=event_stamp(event), account=event.get("account"))


# Stripe's ``created`` has one-second resolution and events of one object often share a
# second; Stripe gives them no other order. Within the second, an object's creation
# comes first and its deletion last, so a ``*.created`` payload never overwrites a
# same-second update and nothing overwrites a same-second deletion. Two updates in one
# second stay in the order they are applied (REFETCH_ON_EVENT removes that doubt).
_FIRST, _MIDDLE, _LAST = 0, 500_000, 999_999  # microseconds


def event_stamp(event: dict[str, Any]) -> dt.datetime | None:
    """The staleness stamp of an event's object (None when it has no ``created``)."""
    created = event.get("created")
    if type(created) is not int:
        return None
    event_type = str(event.get("type", ""))
    if event_type.endswith(".deleted"):
        micro = _LAST
    elif event_type.endswith(".created"):
        micro = _FIRST
    else:
        micro = _MIDDLE
    return dt.datetime.fromtimestamp(created, tz=dt.timezone.utc).replace(microsecond=micro)
