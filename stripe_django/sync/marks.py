"""Where a list stands between pages: the ``created`` marks a cursor keeps, and the
cursor fields that end a full pass."""

from __future__ import annotations

import datetime as dt
import operator
from typing import Any, Iterable

__all__ = ["Found", "HighWater", "LowWater", "created_of", "pass_done"]


def created_of(obj: dict) -> int | None:
    """The object's ``created`` (None where it has none, or not as an int)."""
    value = obj.get("created")
    return value if type(value) is int else None


class HighWater:
    """The newest ``created`` listed, with the ids seen at that second."""

    _beyond = staticmethod(operator.gt)  # a created value past the mark

    def __init__(self, created_after: int | None, seen: Iterable[str]) -> None:
        self.value = created_after
        self.ids = set(seen)

    @classmethod
    def of(cls, state: dict[str, Any]) -> "HighWater":
        """The mark a shard's cursor state holds."""
        return cls(state.get("created_after"), state.get("created_seen") or ())

    def add(self, objs: list[dict]) -> None:
        for obj in objs:
            created = created_of(obj)
            if created is None:
                continue
            object_id = obj.get("id")
            if self.value is None or self._beyond(created, self.value):
                self.value, self.ids = created, {object_id} if isinstance(object_id, str) else set()
            elif created == self.value and isinstance(object_id, str):
                self.ids.add(object_id)

    def fields(self) -> dict[str, Any]:
        return {"created_after": self.value, "created_seen": sorted(i for i in self.ids if i)}


class LowWater(HighWater):
    """The oldest ``created`` listed, with the ids seen at that second: when a pass is
    cut into windows there, the newest window lists them again (not counted twice)."""

    _beyond = staticmethod(operator.lt)


class Found:
    """Whether a listing found any object: the cursor's ``found_objects``, which tells
    an empty list no event covers (listed again only now and then, see :mod:`.evented`).

    ``state``: the cursor's value as the listing starts (a resumed pass keeps what its
    earlier pages found). ``whole``: the listing sees the whole list (a full pass, or
    everything again), so that finding nothing says the list is empty; a listing of
    what is new only notes a find.
    """

    def __init__(self, state: bool | None, *, whole: bool = True) -> None:
        self.any = state is True
        self.whole = whole

    def fields(self, objs: list, *, final: bool) -> dict[str, Any]:
        """The cursor fields to store with a page of ``objs`` (``final``: the listing's last)."""
        self.any = self.any or bool(objs)
        if self.any:
            return {"found_objects": True}
        return {"found_objects": False} if final and self.whole else {}


def pass_done(started: dt.datetime) -> dict[str, Any]:
    """The cursor fields that end a full pass begun at ``started`` (in one go or in
    windows): later runs are incremental, and apply the events from its start."""
    return {"complete": True, "starting_after": None, "slices": None,
            "pass_started_at": started, "events_after": int(started.timestamp()),
            "last_error": ""}
