"""Incremental runs driven by the Events API: which shards are not listed.

Once a list's first pass is complete, its updates and deletions come from the run's
Events API catch-up (:mod:`.events`); for the lists in ``type_table.EVENTED_LISTS`` its
new objects do too, so listing them again (even with a ``created`` filter) would only
fetch what the events bring. Those shards are not listed: an account where nothing
changed costs the catch-up's one request plus one per list that no event covers. The
``event`` list is never listed when the catch-up runs: the catch-up stores the events
it reads (the Events API is read once per account and run). A cursor older than the
Events API keeps was reset by :func:`.plan.open_shards`: its list gets a full pass, as
before. Stripe API reference: https://docs.stripe.com/api/events/types.
"""

from __future__ import annotations

from .. import type_table as table
from .report import OK
from .shards import Shard

__all__ = ["EVENTS_LIST", "covered_by_events", "split_by_events"]

# The list of the events themselves (stored by the catch-up when it is selected).
EVENTS_LIST = "event"


def covered_by_events(shard: Shard) -> bool:
    """Whether the run's Events API catch-up brings everything a listing of ``shard``
    would: the ``event`` list itself, or an evented list whose first pass is complete."""
    if shard.spec is None or shard.name not in table.EVENTED_LISTS:
        return False
    if shard.name == EVENTS_LIST:
        return True
    state = shard.state
    return bool(state.get("complete")) and state.get("events_after") is not None


def split_by_events(shards: list[Shard]) -> list[Shard]:
    """The shards still to list; the others are marked done (mode ``events``): the
    catch-up that follows the lists covers them."""
    to_list = []
    for shard in shards:
        if covered_by_events(shard):
            shard.report.status = OK
            shard.report.mode = "events"
        else:
            to_list.append(shard)
    return to_list
