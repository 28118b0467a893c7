"""The Events API catch-up of a sync run: after an account's lists, the events since
their cursors, oldest first, through the same staleness-safe ingest, which brings
updates and deletions. Stripe API reference: https://docs.stripe.com/api/events.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Container
import stripe
from django.utils import timezone

from .. import type_table as table
from ..exceptions import IngestError
from ..ingest.columns import mirrored_types
from ..ingest import Snapshot
from ..ingest.events import snapshot_from_event
from .fetcher import Fetcher, is_unavailable
from .plan import RETENTION_MARGIN
from .report import OK, SyncReport, TypeReport
from .shards import Outbox, Page, Shard, list_spec

__all__ = ["CHANGES", "EVENT_WINDOW_MAX", "EventPlan", "EventsCatchUp", "plan_catch_ups"]

# The name of the Events API catch-up in the report and of its shard in an enqueued run
# (the changes since the cursors; the "event" list stores the events themselves).
CHANGES = "changes"
# Events buffered to be applied oldest first; a time window holding more is split.
EVENT_WINDOW_MAX = 5000


@dataclass
class EventPlan:
    since: int
    cursor_ids: list[int]
    # object type -> events_after of its listed type (events before it are covered)
    after_by_object: dict[str, int]
    all_types: bool
    # The events themselves are stored too (the ``event`` list, not listed on its own).
    store_events: bool = False
    # Where the ``event`` list's cursor stands (or the Events API's horizon on its first
    # run): the events before ``since`` are only stored, page by page as they come
    # (None: nothing to store before ``since``).
    store_from: int | None = None


def plan_catch_ups(shards: list[Shard], accounts: list[str | None], names: list[str],
                   report: SyncReport, fetcher: Fetcher, out: Outbox) -> list["EventsCatchUp"]:
    """One catch-up per account whose listed shards are complete and ended well, from the
    oldest of their cursors; each gets its line in ``report``. Where the run's ``event``
    list was not listed (:mod:`.evented`), the catch-up stores the events it reads and
    moves that list's cursor: from where it stands, or on its first run from as far
    back as the Events API keeps."""
    from .evented import EVENTS_LIST

    everything = set(names) == set(table.SYNC_LISTS)
    horizon = int(time.time()) - table.EVENTS_RETENTION_DAYS * 86400 + RETENTION_MARGIN
    out_jobs = []
    for acct in accounts:
        mine = [s for s in shards if s.account == acct]
        events_list = next((s for s in mine if s.name == EVENTS_LIST and s.report.mode == "events"),
                           None)
        ready = [s for s in mine if s is not events_list and s.report.status == OK
                 and s.state.get("complete") and s.state.get("events_after") is not None]
        if not ready and events_list is None:
            continue
        after_by_object: dict[str, int] = {}
        for s in ready:
            for obj in list_spec(s).objects:
                after = s.state["events_after"]
                after_by_object[obj] = min(after, after_by_object.get(obj, after))
        store_from = None
        if events_list is not None:
            stored_up_to = events_list.state.get("events_after")
            store_from = (stored_up_to if events_list.state.get("complete")
                          and stored_up_to is not None else horizon)
        # Nothing listed to apply events to: the events are only stored.
        since = min(s.state["events_after"] for s in ready) if ready else int(time.time())
        plan = EventPlan(since=since,
                         cursor_ids=[s.cursor_id for s in ready if s.cursor_id is not None],
                         after_by_object=after_by_object, all_types=everything,
                         store_events=events_list is not None, store_from=store_from)
        t = TypeReport(CHANGES, acct)
        report.types.append(t)
        cursor_id = None
        if events_list is not None and events_list.cursor_id is not None:
            cursor_id = events_list.cursor_id
            plan.cursor_ids.append(cursor_id)
        shard = Shard("event", None, acct, t, cursor_id, {"plan": plan})
        out_jobs.append(EventsCatchUp(shard, fetcher, out))
    return out_jobs


class EventsCatchUp:
    """Apply the events since the cursors, oldest first, window by window; the cursors'
    ``events_after`` moves with the last page of each window."""

    def __init__(self, shard: Shard, fetcher: Fetcher, out: Outbox) -> None:
        self.shard = shard
        self.fetcher = fetcher
        self.out = out

    def run(self) -> None:
        plan: EventPlan = self.shard.state["plan"]
        report = self.shard.report
        report.mode = "events"
        mirrored = mirrored_types()
        end = int(time.time())  # exclusive: events of the current second wait for the next run
        since = min(plan.since, end)
        windows = [(since, end)] if since < end else []
        applied = 0
        if plan.store_from is not None and plan.store_from < since:
            # One read from where the ``event`` list stands: older events are stored as
            # they come, the newer ones applied like a window's.
            buffer = self._store_reading(plan.store_from, end, since)
            if buffer is not None:
                windows = []
                snapshots, refused = self._snapshots(buffer, plan, mirrored)
                applied += len(snapshots)
                stored: list[Snapshot | dict] = list(_oldest_first(buffer))
                self._put([*stored, *snapshots], refused, len(buffer),
                          (plan.cursor_ids, end))
        while windows:
            low, high = windows.pop()
            buffer = self._window(low, high)
            if buffer is None:
                middle = (low + high) // 2
                windows += [(middle, high), (low, middle)]  # the older half is popped first
                continue
            snapshots, refused = self._snapshots(buffer, plan, mirrored)
            applied += len(snapshots)
            stored = list(_oldest_first(buffer)) if plan.store_events else []
            self._put([*stored, *snapshots], refused, len(buffer), (plan.cursor_ids, high))
        report.note(f"{applied:,} event(s) applied")

    def _store_reading(self, low: int, high: int, since: int) -> list[dict] | None:
        """Read the events created in [low, high) once: those before ``since``, which no
        listed type needs applied (a first run of the ``event`` list reads the 30 days
        Stripe keeps), are stored page by page as they come, whatever their number; the
        others are returned, to be applied. None: more than ``EVENT_WINDOW_MAX`` of those,
        which the windows from ``since`` then read again; the ``event`` list's cursor is
        moved to ``since`` (stopped before, the next run stores them again)."""
        buffer: list[dict] | None = []
        for objs, _more, _stamp in self.fetcher.pages("events", (), {"created": {"gte": low, "lt": high}},
                                                      self.shard.account, self.shard.report):
            older = [e for e in objs if (e.get("created") or 0) < since]
            if older:
                self.out.put(Page(self.shard, older, None, None, fetched=len(older)))
            if buffer is not None:
                buffer.extend(e for e in objs if (e.get("created") or 0) >= since)
                if len(buffer) > EVENT_WINDOW_MAX:
                    buffer = None
        if buffer is None and self.shard.cursor_id is not None:
            self.out.put(Page(self.shard, [], None, self._event_list_done(),
                              events_cursor=([self.shard.cursor_id], since)))
        return buffer

    def _event_list_done(self) -> dict | None:
        """The fields of the ``event`` list's cursor once events are stored up to a point."""
        if self.shard.cursor_id is None:
            return None
        return {"complete": True, "starting_after": None, "last_synced_at": timezone.now(),
                "last_error": ""}

    def _window(self, low: int, high: int) -> list[dict] | None:
        """The events created in [low, high); None when there are too many to buffer
        and the window can be split."""
        buffer: list[dict] = []
        params = {"created": {"gte": low, "lt": high}}
        for objs, _more, _stamp in self.fetcher.pages("events", (), params, self.shard.account,
                                                      self.shard.report):
            buffer.extend(objs)
            if len(buffer) > EVENT_WINDOW_MAX and high - low > 1:
                return None
        return buffer

    def _snapshots(self, events: list[dict], plan: EventPlan,
                   mirrored: Container[str]) -> tuple[list[Snapshot], list[str]]:
        """The objects of the events that concern the mirror (of a type in ``mirrored``),
        oldest first, their cut-off lists completed; and the events refused (why, one
        line each)."""
        snapshots = []
        refused: list[str] = []
        for event in _oldest_first(events):
            obj = (event.get("data") or {}).get("object") or {}
            object_type = obj.get("object")
            if not isinstance(object_type, str) or object_type not in mirrored:
                continue
            after = plan.after_by_object.get(object_type)
            if after is None and not plan.all_types:
                continue
            if after is not None and (event.get("created") or 0) < after:
                continue
            try:
                snapshot = snapshot_from_event(event)
            except IngestError as error:
                refused.append(str(error))
                continue
            if not snapshot.payload.get("deleted"):
                try:
                    self.fetcher.complete_embedded(snapshot.payload, self.shard.account,
                                                   self.shard.report)
                except stripe.StripeError as error:
                    if not is_unavailable(error):
                        raise
                    # The object is gone since: its event payload stands as it is.
            snapshots.append(snapshot)
        return snapshots, refused

    def _put(self, snapshots: list[Snapshot | dict], refused: list[str], fetched: int,
             events_cursor: tuple[list[int], int]) -> None:
        """A window's snapshots in pages; the last one moves the cursors past the window."""
        size = self.fetcher.page_size
        chunks = [snapshots[i:i + size] for i in range(0, len(snapshots), size)] or [[]]
        # The ``event`` list's cursor, where the catch-up stores the events: complete once
        # a window is stored (its ``events_after`` moves with the others).
        done = self._event_list_done()
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            self.out.put(Page(self.shard, chunk, None, done if last else None,
                              events_cursor=events_cursor if last else None,
                              fetched=fetched if i == 0 else 0,
                              errors=refused if i == 0 else []))


def _oldest_first(events: list[dict]) -> list[dict]:
    """Events sorted oldest first. Stripe lists newest first; a server listing oldest
    first is recognised from the ``created`` values; within one second the list's own
    order decides (reversed when it is newest first)."""
    if len(events) > 1 and (events[0].get("created") or 0) < (events[-1].get("created") or 0):
        ordered = list(events)
    else:
        ordered = list(reversed(events))
    return sorted(ordered, key=lambda e: e.get("created") or 0)
