"""Incremental runs driven by the Events API: which shards are not listed.

Once a list's first pass is complete, its updates and deletions come from the run's
Events API catch-up (:mod:`.events`); for the lists in ``type_table.EVENTED_LISTS`` its
new objects do too, so listing them again (even with a ``created`` filter) would only
fetch what the events bring. Those shards are not listed. The ``event`` list is never
listed when the catch-up runs: the catch-up stores the events it reads (the Events API
is read once per account and run). A cursor older than the Events API keeps was reset
by :func:`.plan.open_shards`: its list gets a full pass, as before.

A list no event covers must be listed to find its new objects. Where its last complete
listing found nothing (the cursor's ``found_objects`` is False: most of a connected
account's lists), it is listed again only once ``SYNC_EMPTY_LISTS_EVERY`` has passed
since (``last_synced_at``); in between its shard is marked done (mode ``empty``). A
list the account answered 403/404 to (a product it has not enabled) waits the same. An
account where nothing changed then costs the catch-up's one request plus one per list
no event covers that has objects.

A nested list no event covers that has objects is listed on each run through the
parents created since; a new child of an older parent (a balance transaction of an old
customer) is found when the list walks all its parents again, which it does once
``SYNC_EMPTY_LISTS_EVERY`` has passed since its last whole walk began
(``pass_started_at``, see :func:`whole_walk_due`). Stripe API reference:
https://docs.stripe.com/api/events/types.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from .. import type_table as table
from ..conf import stripe_settings
from .report import OK, UNAVAILABLE
from .shards import Shard

__all__ = ["EVENTS_LIST", "WAITING", "covered_by_events", "empty_until_due", "split_by_events",
           "whole_walk_due"]

# The list of the events themselves (stored by the catch-up when it is selected).
EVENTS_LIST = "event"
# The mode of a list not asked because it was not available at its last listing.
WAITING = "waiting"


def covered_by_events(shard: Shard) -> bool:
    """Whether the run's Events API catch-up brings everything a listing of ``shard``
    would: the ``event`` list itself, or an evented list whose first pass is complete."""
    if shard.spec is None or shard.name not in table.EVENTED_LISTS:
        return False
    if shard.name == EVENTS_LIST:
        return True
    state = shard.state
    return bool(state.get("complete")) and state.get("events_after") is not None


def empty_until_due(shard: Shard, now: dt.datetime, every: dt.timedelta) -> bool:
    """Whether ``shard`` is a list that was empty (or not available: 403/404, its pass
    not complete) at its last listing, less than ``every`` before ``now``. The catch-up
    still applies the events of a complete one's types."""
    state = shard.state
    last = state.get("last_synced_at")
    return (bool(every) and shard.spec is not None and state.get("found_objects") is False
            and last is not None and now - last < every)


def whole_walk_due(shard: Shard, now: dt.datetime, every: dt.timedelta) -> bool:
    """Whether ``shard``, a nested list whose first pass is complete, walks all its
    parents in this run rather than only those created since: a child added to an old
    parent has no other way in. Due when ``every`` has passed since its last whole walk
    began (``pass_started_at``: its first pass, or a later walk), or when that is not
    known; ``every`` zero walks them all on every run."""
    spec, state = shard.spec, shard.state
    if spec is None or spec.parent is None or not state.get("complete"):
        return False
    last = state.get("pass_started_at")
    return last is None or now - last >= every


def split_by_events(shards: list[Shard]) -> list[Shard]:
    """The shards still to list; the others are marked done (mode ``events``: the
    catch-up that follows the lists covers them; ``empty``: empty, not due yet)."""
    now, every = timezone.now(), stripe_settings.empty_lists_every
    to_list = []
    for shard in shards:
        if covered_by_events(shard):
            shard.report.status = OK
            shard.report.mode = "events"
        elif empty_until_due(shard, now, every):
            if shard.state.get("complete"):
                shard.report.status = OK
                shard.report.mode = "empty"
            else:
                shard.report.status = UNAVAILABLE
                shard.report.mode = WAITING
                shard.report.note("not available at its last listing; asked again after "
                                  "SYNC_EMPTY_LISTS_EVERY")
        else:
            to_list.append(shard)
    return to_list
