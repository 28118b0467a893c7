"""Pull a Stripe account into the mirror: ``sync()``.

How a run works:

* The types to list and their parameters come from ``type_table.SYNC_LISTS``; the engine
  knows nothing about particular types.
* Each (type, account) pair is a *shard*. Worker threads fetch shards' pages (at most
  ``workers`` at once, all behind one :class:`~.ratelimit.RateLimiter`), complete the
  embedded lists that are cut off at ``has_more`` (``type_table.EMBEDDED_LIST_SOURCES``),
  and hand the pages to the calling thread through a small bounded queue. The calling
  thread alone touches the database: it stores each page with ``upsert_many`` (one
  transaction) and only then moves the shard's :class:`~stripe_django.models.SyncCursor`.
  So memory stays flat, queries per page are constant, and an interrupted run resumes
  after the last stored page.
* First run of a type: a full pass (resumable through ``starting_after``). Later runs:
  only what is new (``created`` filter where the list has one; a nested list walks only
  the parents created since), then the Events API from where the cursor stands, oldest
  event first, through the same staleness-safe ingest, which brings updates and
  deletions. A cursor older than the Events API keeps falls back to a full pass.

Stripe API reference: https://docs.stripe.com/api/pagination,
https://docs.stripe.com/api/events, https://docs.stripe.com/rate-limits,
https://docs.stripe.com/connect/authentication.
"""

from __future__ import annotations

import datetime as dt
import logging
import operator
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import stripe
from django.db import DatabaseError, connections, router, transaction
from django.utils import timezone

from .. import type_table as table
from ..dberrors import is_transient
from ..exceptions import IngestError
from ..ingest import upsert_many
from ..ingest.columns import mirrored_types
from ..ingest.events import snapshot_from_event
from .fetcher import Fetcher, Stopped
from .fetcher import describe as _describe, http_status as _http_status
from .fetcher import is_unavailable as _is_unavailable, names_param as _names_param
from .leases import CursorLease, LeaseLost
from .plan import (connected_accounts, key_mode, list_names, open_shards, pace, page_size_for,
                   plan_shards, select_lists)
from .progress import Progress
from .ratelimit import RateLimiter
from .slices import (MAX_WINDOWS, MIN_WINDOW_SECONDS, STRIPE_LAUNCH, WINDOWS_PER_WORKER,
                     SliceBook, created_filter, in_window, windows)
from .report import FAILED, OK, PENDING, RUNNING, SKIPPED, UNAVAILABLE, SyncReport, TypeReport
from .shards import Done, Page, Shard

logger = logging.getLogger("stripe_django.sync")

__all__ = ["sync", "SyncReport", "TypeReport", "list_names"]

# Events buffered to be applied oldest first; a time window holding more is split.
EVENT_WINDOW_MAX = 5000
# Seconds to wait before each new try of storing a page after a database error that may
# pass (a lock held by a concurrent writer, "database is locked"); then the shard fails
# with its cursor where it was.
STORE_RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 4.0)


class _NotFiltered(Exception):
    """The server does not filter a list by ``created`` as asked."""


# The name of the Events API catch-up in the report (the changes since the cursors; the
# "event" list stores the events themselves).
CHANGES = "changes"


# --- what each shard does ----------------------------------------------------------------

def _created(obj: dict) -> int | None:
    value = obj.get("created")
    return value if type(value) is int else None


class _HighWater:
    """The newest ``created`` listed, with the ids seen at that second."""

    _beyond = staticmethod(operator.gt)  # a created value past the mark

    def __init__(self, created_after: int | None, seen: Iterable[str]) -> None:
        self.value = created_after
        self.ids = set(seen)

    def add(self, objs: list[dict]) -> None:
        for obj in objs:
            created = _created(obj)
            if created is None:
                continue
            if self.value is None or self._beyond(created, self.value):
                self.value, self.ids = created, {obj.get("id")}
            elif created == self.value:
                self.ids.add(obj.get("id"))

    def fields(self) -> dict[str, Any]:
        return {"created_after": self.value, "created_seen": sorted(i for i in self.ids if i)}


class _LowWater(_HighWater):
    """The oldest ``created`` listed, with the ids seen at that second: when a pass is
    cut into windows there, the newest window lists them again (not counted twice)."""

    _beyond = staticmethod(operator.lt)


def _run_listing(shard: Shard, fetcher: Fetcher, emit: Callable[[Page], None]) -> None:
    spec = shard.spec
    state = shard.state
    report = shard.report
    params = dict(spec.params)
    if not state.get("complete"):
        if state.get("slices"):
            report.mode = "resumed"
            _list_windows(shard, fetcher, emit, params, state["slices"])
            return
        report.mode = "resumed" if state.get("starting_after") else "full"
        _full_pass(shard, fetcher, emit, params)
        return
    since = state.get("created_after")
    parent = table.SYNC_LISTS[spec.parent] if spec.parent else spec
    if parent.created_filter and since is not None:
        report.mode = "incremental"
        try:
            _incremental(shard, fetcher, emit, params, since)
            return
        except (stripe.InvalidRequestError, stripe.APIError) as error:
            if report.fetched or _is_unavailable(error):
                raise
            # The server does not filter this list by ``created`` (localstripe on most
            # lists): list it all again, which the staleness-safe ingest absorbs.
            report.note(f"the server does not filter this list by created; listed in full "
                        f"({_describe(error)})")
    report.mode = "relisted"
    _relist(shard, fetcher, emit, params)


def _parent_ids(shard: Shard, fetcher: Fetcher, created: dict | None,
                starting_after: str | None) -> Iterator[tuple[list[dict], bool]]:
    parent = table.SYNC_LISTS[shard.spec.parent]
    params = {k: v for k, v in parent.params.items() if k != "expand"}
    if created:
        params["created"] = created
    for objs, has_more, _stamp in fetcher.pages(parent.service, (), params, shard.account,
                                                 shard.report, starting_after):
        yield objs, has_more


def _children(shard: Shard, fetcher: Fetcher, parents: list[dict],
              state: dict[str, Any]) -> list[dict]:
    spec = shard.spec
    out: list[dict] = []
    for parent in parents:
        params = dict(spec.params)
        args: tuple = ()
        if spec.parent_param:
            params[spec.parent_param] = parent["id"]
        else:
            args = (parent["id"],)
        try:
            for objs, _more, _stamp in fetcher.pages(spec.service, args, params, shard.account,
                                                     shard.report):
                for obj in objs:
                    fetcher.complete_embedded(obj, shard.account, shard.report)
                out.extend(objs)
        except stripe.StripeError as error:
            if not _is_unavailable(error):
                raise
            if not state.get("child_ok"):
                raise  # the first parent already fails: the list itself is not served
            shard.report.note(f"skipped children of {parent['id']}: {_describe(error)}")
            continue
        state["child_ok"] = True
    return out


def _pass_done(started: dt.datetime) -> dict[str, Any]:
    """The cursor fields that end a full pass begun at ``started`` (in one go or in
    windows): later runs are incremental, and apply the events from its start."""
    return {"complete": True, "starting_after": None, "slices": None,
            "pass_started_at": started, "events_after": int(started.timestamp()),
            "last_error": ""}


def _full_pass(shard: Shard, fetcher: Fetcher, emit: Callable[[Page], None],
               params: dict[str, Any]) -> None:
    state = shard.state
    started = state.get("pass_started_at") or timezone.now()
    high = _HighWater(state.get("created_after"), state.get("created_seen") or ())
    spec = shard.spec
    after = state.get("starting_after")
    finish = _pass_done(started)
    if spec.parent:
        # One stored page per page of parents, so that the cursor (the last parent whose
        # children are stored) moves on even where children are few.
        walk_state: dict[str, Any] = {}
        for parents, has_more in _parent_ids(shard, fetcher, None, after):
            stamp = int(time.time())
            high.add(parents)
            children = _children(shard, fetcher, parents, walk_state)
            cursor = {"pass_started_at": started, **high.fields()}
            if has_more:
                cursor["starting_after"] = parents[-1]["id"]
            else:
                cursor.update(finish, last_synced_at=timezone.now())
            emit(Page(shard, children, stamp, cursor, fetched=len(children)))
        return
    # A full pass of a long list, with threads to spare, is cut into created windows
    # once its first pages in this run show it is long (see .slices); a resumed pass
    # too, below where it stands.
    may_slice = spec.created_filter and fetcher.workers > 1
    listed, first_created, low = 0, None, _LowWater(None, ())
    pages = fetcher.pages(spec.service, (), params, shard.account, shard.report, after)
    for number, (objs, has_more, stamp) in enumerate(pages, 1):
        for obj in objs:
            fetcher.complete_embedded(obj, shard.account, shard.report)
        high.add(objs)
        listed += len(objs)
        if first_created is None and objs:
            first_created = _created(objs[0])
        if may_slice:
            low.add(objs)
        cursor = {"pass_started_at": started, **high.fields()}
        if has_more and may_slice and number >= PAGES_BEFORE_WINDOWS:
            may_slice = False
            cut = _windows_below(shard, fetcher, params, objs[-1], listed, first_created)
            if cut:
                pages.close()
                emit(Page(shard, objs, stamp, {**cursor, "slices": cut}, fetched=len(objs)))
                _list_windows(shard, fetcher, emit, params, cut, started, high, frozenset(low.ids))
                return
        if has_more:
            cursor["starting_after"] = objs[-1]["id"]
        else:
            cursor.update(finish, last_synced_at=timezone.now())
        emit(Page(shard, objs, stamp, cursor, fetched=len(objs)))


# Pages of a first pass listed in one go before the rest may be cut into windows: a list
# this short never pays for the search and the windows' first requests.
PAGES_BEFORE_WINDOWS = 5


def _windows_below(shard: Shard, fetcher: Fetcher, params: dict[str, Any], last: dict,
                   listed: int, newest_listed: int | None) -> list[dict[str, Any]] | None:
    """Created windows for the rest of a list, older than ``last`` (the last object of
    the pages listed so far, ``listed`` objects back to ``newest_listed``). None when the
    server does not filter the list by ``created`` (its answer to ``created[lt]`` then
    holds newer objects), or when the rest looks too short to cut.

    The oldest object is looked for with pages of one object, ``workers - 1`` at once:
    the newest object created before a point moves the range's ceiling down to it; no
    such object moves its floor up to the point. Until the floor is known to an eighth
    of the span (or an hour), from Stripe's launch: some 8 rounds with 4 workers, 16
    with 2. An API error other than a refused ``created`` fails the shard (the next run
    resumes the pass, and may cut it then)."""
    newest = _created(last)
    if newest is None:
        return None
    spec = shard.spec

    def older_than(point: int) -> int | None:
        """``created`` of the newest object created before ``point``; None: none."""
        try:
            with fetcher.window_slots:
                found, _more = fetcher.page(spec.service, (), {**params, "created": {"lt": point}},
                                            shard.account, shard.report, limit=1)
        except stripe.InvalidRequestError as error:
            if _names_param(error, "created"):
                raise _NotFiltered(_describe(error)) from None
            raise
        finally:
            connections.close_all()  # a limiter kept in the database used this thread's
        created = _created(found[0]) if found else None
        if found and (created is None or created >= point):
            raise _NotFiltered("its answer to created[lt] holds newer objects")
        return created

    floor, ceiling = STRIPE_LAUNCH, newest
    probes = max(1, fetcher.workers - 1)
    try:
        with ThreadPoolExecutor(max_workers=probes, thread_name_prefix="stripe-sync-probe") as pool:
            while ceiling - floor > max(MIN_WINDOW_SECONDS, (newest - ceiling) // 8):
                points = sorted({floor + (ceiling - floor) * (i + 1) // (probes + 1)
                                 for i in range(probes)})
                for point, created in zip(points, pool.map(older_than, points)):
                    if created is None:
                        floor = max(floor, point)
                    else:
                        ceiling = min(ceiling, created)
    except _NotFiltered as error:
        shard.report.note(f"the server does not filter this list by created; listed in one "
                          f"go ({error})")
        return None
    # As many windows as the rest has pages to share, at the pace of the pages so far.
    per_second = listed / max(1, (newest_listed or newest) - newest + 1)
    pages_left = per_second * (newest - floor) / fetcher.page_size
    count = min(MAX_WINDOWS, WINDOWS_PER_WORKER * fetcher.workers, int(pages_left // 2))
    cut = windows(floor, newest, count)
    if len(cut) < 2:
        return None
    shard.report.note(f"listed in {len(cut)} created windows by {fetcher.workers} threads")
    return cut


def _list_windows(shard: Shard, fetcher: Fetcher, emit: Callable[[Page], None],
                  params: dict[str, Any], cut: list[dict[str, Any]],
                  started: dt.datetime | None = None, high: "_HighWater | None" = None,
                  relisted: frozenset[str] = frozenset()) -> None:
    """List the windows of a sliced pass not yet done, ``fetcher.workers`` at a time.
    Each page goes to the writer with the state of every window (:class:`.SliceBook`);
    the page that ends the last window completes the pass. ``started`` and ``high``:
    those of the pass that cut the windows (its first page may not be stored yet);
    read from the cursor when a pass resumes. ``relisted``: ids the pass listed before
    the cut that the newest window lists again, not counted as fetched twice."""
    state, spec = shard.state, shard.spec
    started = started or state.get("pass_started_at") or timezone.now()
    if high is None:
        high = _HighWater(state.get("created_after"), state.get("created_seen") or ())
    book = SliceBook(cut)
    failed = threading.Event()
    finish = _pass_done(started)

    def list_window(index: int) -> None:
        window = book.slices[index]
        query = {**params, "created": created_filter(window)}
        try:
            if failed.is_set():
                return
            fetcher.window_slots.acquire()
            try:
                listed = fetcher.pages(spec.service, (), query, shard.account, shard.report,
                                       window["starting_after"])
                for objs, has_more, stamp in listed:
                    if failed.is_set():
                        return
                    for obj in objs:
                        if not in_window(_created(obj), window):
                            raise _NotFiltered(f"it answered {obj.get('id')} to a list of objects "
                                               f"created in {created_filter(window)}")
                        fetcher.complete_embedded(obj, shard.account, shard.report)
                    _record(index, objs, has_more, stamp)
            finally:
                fetcher.window_slots.release()
        except BaseException:
            failed.set()
            raise
        finally:
            connections.close_all()  # a limiter kept in the database used this thread's

    def _record(index: int, objs: list[dict], has_more: bool, stamp: int) -> None:
        with book.lock:
            high.add(objs)
            slices, all_done = book.record(index, objs[-1]["id"] if objs else None,
                                           done=not has_more)
            cursor = {"pass_started_at": started, **high.fields(), "slices": slices}
            if all_done:
                cursor.update(finish, last_synced_at=timezone.now())
            fetched = sum(1 for obj in objs if obj.get("id") not in relisted) if relisted else len(objs)
            emit(Page(shard, objs, stamp, cursor, fetched=fetched))

    pending = book.pending()
    if not pending:  # every window stored, the pass not marked complete: mark it now
        emit(Page(shard, [], int(time.time()), {**finish, "last_synced_at": timezone.now()}))
        return
    with ThreadPoolExecutor(max_workers=min(fetcher.workers, len(pending) or 1),
                            thread_name_prefix="stripe-sync-window") as pool:
        futures = [pool.submit(list_window, index) for index in pending]
    for future in futures:
        error = future.exception()
        if isinstance(error, _NotFiltered):
            # Leave the windows: a run with one worker resumes the pass in one go, from
            # the ``starting_after`` the pass had when it was cut (what the windows
            # stored comes back unchanged).
            emit(Page(shard, [], int(time.time()), {"slices": None}))
            raise RuntimeError(f"the server does not filter this list by created as asked "
                               f"({error}); `stripe_sync --workers 1` lists the rest in one "
                               f"go") from None
        if error is not None:
            raise error


def _incremental(shard: Shard, fetcher: Fetcher, emit: Callable[[Page], None],
                 params: dict[str, Any], since: int) -> None:
    """Objects created at or after ``since`` (``created[gt]=since-1``: the same for whole
    seconds, and accepted by servers that only know ``gt``), minus those already seen at
    that second. The new high-water mark is stored with the last page only: a list that
    comes newest first must not move it before the older new objects are stored."""
    high = _HighWater(since, shard.state.get("created_seen") or ())
    _list_and_emit(shard, fetcher, emit, params, high, created={"gt": since - 1},
                   skip=set(high.ids))


def _relist(shard: Shard, fetcher: Fetcher, emit: Callable[[Page], None],
            params: dict[str, Any]) -> None:
    """Everything again (a list without a usable ``created`` filter). Unchanged rows cost
    a hash comparison; the high-water mark only moves at the end."""
    high = _HighWater(shard.state.get("created_after"), shard.state.get("created_seen") or ())
    _list_and_emit(shard, fetcher, emit, params, high, created=None, skip=set())


def _list_and_emit(shard: Shard, fetcher: Fetcher, emit: Callable[[Page], None],
                   params: dict[str, Any], high: "_HighWater",
                   created: dict[str, int] | None, skip: set[str]) -> None:
    """List a type (directly, or through its parents) and emit its pages; the cursor
    (the new high-water mark) goes with the last page only. Objects whose ids are in
    ``skip`` (already stored at the high-water second) are left out."""
    spec = shard.spec

    def final_cursor(has_more: bool) -> dict[str, Any] | None:
        if has_more:
            return None
        return {**high.fields(), "last_synced_at": timezone.now(), "last_error": ""}

    if spec.parent:
        walk_state: dict[str, Any] = {}
        pending: list[dict] = []
        for parents, has_more in _parent_ids(shard, fetcher, created, None):
            parents = [p for p in parents if p.get("id") not in skip]
            high.add(parents)
            pending.extend(_children(shard, fetcher, parents, walk_state))
            if has_more and len(pending) < fetcher.page_size:
                continue
            emit(Page(shard, pending, int(time.time()), final_cursor(has_more), fetched=len(pending)))
            pending = []
        return
    list_params = params if created is None else {**params, "created": created}
    for objs, has_more, stamp in fetcher.pages(spec.service, (), list_params, shard.account,
                                                shard.report):
        objs = [o for o in objs if o.get("id") not in skip]
        for obj in objs:
            fetcher.complete_embedded(obj, shard.account, shard.report)
        high.add(objs)
        emit(Page(shard, objs, stamp, final_cursor(has_more), fetched=len(objs)))


@dataclass
class _EventPlan:
    since: int
    cursor_ids: list[int]
    # object type -> events_after of its listed type (events before it are covered)
    after_by_object: dict[str, int]
    all_types: bool


def _run_events(shard: Shard, fetcher: Fetcher, emit: Callable[[Page], None]) -> None:
    """Apply the events since the cursors, oldest first, window by window."""
    plan: _EventPlan = shard.state["plan"]
    report = shard.report
    report.mode = "events"
    mirrored = mirrored_types()
    end = int(time.time())  # exclusive: events of the current second wait for the next run
    windows = [(plan.since, end)] if plan.since < end else []
    applied = 0
    while windows:
        low, high = windows.pop()
        buffer: list[dict] = []
        split = False
        params = {"created": {"gte": low, "lt": high}}
        for objs, _more, _stamp in fetcher.pages("events", (), params, shard.account, report):
            buffer.extend(objs)
            if len(buffer) > EVENT_WINDOW_MAX and high - low > 1:
                middle = (low + high) // 2
                windows += [(middle, high), (low, middle)]  # the older half is popped first
                split = True
                break
        if split:
            continue
        snapshots = []
        refused: list[str] = []
        for event in _oldest_first(buffer):
            obj = (event.get("data") or {}).get("object") or {}
            object_type = obj.get("object")
            if object_type not in mirrored:
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
                    fetcher.complete_embedded(snapshot.payload, shard.account, report)
                except stripe.StripeError as error:
                    if not _is_unavailable(error):
                        raise
                    # The object is gone since: its event payload stands as it is.
            snapshots.append(snapshot)
        applied += len(snapshots)
        size = fetcher.page_size
        chunks = [snapshots[i:i + size] for i in range(0, len(snapshots), size)] or [[]]
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            emit(Page(shard, chunk, None, None,
                      events_cursor=(plan.cursor_ids, high) if last else None,
                      fetched=len(buffer) if i == 0 else 0,
                      errors=refused if i == 0 else []))
    report.note(f"{applied:,} event(s) applied")


def _oldest_first(events: list[dict]) -> list[dict]:
    """Events sorted oldest first. Stripe lists newest first; a server listing oldest
    first is recognised from the ``created`` values; within one second the list's own
    order decides (reversed when it is newest first)."""
    if len(events) > 1 and (events[0].get("created") or 0) < (events[-1].get("created") or 0):
        ordered = list(events)
    else:
        ordered = list(reversed(events))
    return sorted(ordered, key=lambda e: e.get("created") or 0)


# --- the run ---------------------------------------------------------------------------

def sync(types: Iterable[str] | None = None, *, account: str | None = None,
         all_accounts: bool = False, workers: int = 1, full: bool = False,
         events: bool = True, client: stripe.StripeClient | None = None,
         progress: Progress | None = None, using: str | None = None,
         rate_limit: float | None = None, page_size: int | None = None,
         on_page: Callable[[TypeReport], None] | None = None, key: str | None = None,
         limiter: Any = None, lease: CursorLease | None = None,
         listing: bool = True, expire_old_cursors: bool | None = None) -> SyncReport:
    """Pull the account into the mirror and return a :class:`SyncReport`.

    ``types``: names from ``type_table.SYNC_LISTS`` (or object types); all when empty.
    ``account``: a connected account (``acct_...``), listed with the ``Stripe-Account``
    header; ``all_accounts``: the platform and every connected account. ``workers``:
    shards fetched at once. ``full``: forget the cursors and list everything again.
    ``events``: apply the Events API after listing (updates and deletions).
    ``on_page`` is called after each stored page.

    ``key``: a name from ``STRIPE_DJANGO["API_KEYS"]`` (None: ``API_KEY``); the platform's
    own rows of a key with an ``ACCOUNT`` carry that id in ``stripe_account``.

    Used by ``stripe_sync --enqueue`` workers (:mod:`.distributed`): ``limiter`` replaces
    the run's own pacer (one shared by every worker of the key); ``lease`` takes each
    shard's cursor before reading it, renews it with each page and releases it at the end
    (a shard whose cursor another worker holds is skipped, in ``SyncReport.busy``);
    ``listing=False`` only applies the Events API from the cursors as they stand.
    ``expire_old_cursors`` (default: ``events``): a cursor older than the Events API
    keeps gets a full pass.
    """
    from ..client import get_client
    from ..conf import api_key_for, platform_account_for
    from ..models import SyncCursor

    names = select_lists(types)
    client = client or get_client(api_key_for(key))
    platform = platform_account_for(key)
    livemode = key_mode(client)
    stop = threading.Event()
    limiter = limiter or RateLimiter(pace(rate_limit, livemode))
    fetcher = Fetcher(client, limiter, page_size_for(page_size), stop, max(1, workers))
    report = SyncReport()
    progress = progress or Progress()
    db = using or router.db_for_write(SyncCursor)
    started = time.monotonic()

    accounts: list[str | None] = [account] if account else [None]
    if all_accounts:
        accounts = [None] + connected_accounts(fetcher, report)

    expire = events if expire_old_cursors is None else expire_old_cursors
    shards = open_shards(plan_shards(names, accounts), report, db=db, livemode=livemode,
                         platform=platform, lease=lease, full=full, expire=expire)
    cursors = SyncCursor.objects.using(db)

    progress.start(report)
    work: queue.Queue = queue.Queue(maxsize=max(2, 2 * workers))

    def emit(page: Page) -> None:
        while True:
            if stop.is_set() or page.shard.abandoned:
                raise Stopped()
            try:
                work.put(page, timeout=0.1)
                return
            except queue.Full:
                continue

    reader_gone = threading.Event()  # the writer loop has ended: nobody reads the queue

    def post(done: Done) -> None:
        while True:
            try:
                work.put(done, timeout=0.1)
                return
            except queue.Full:
                if reader_gone.is_set():
                    return

    def run(shard: Shard, job: Callable) -> None:
        try:
            job(shard, fetcher, emit)
        except Stopped:
            post(Done(shard, SKIPPED))
        except (stripe.AuthenticationError, stripe.APIConnectionError) as error:
            # Every other request would fail the same way: stop the run (it resumes).
            if not stop.is_set():
                stop.set()
                report.notes.append(f"stopped early: {_describe(error)}")
            post(Done(shard, FAILED, _describe(error)))
        except Exception as error:  # noqa: BLE001 - reported per shard, the run goes on
            if _is_unavailable(error):
                post(Done(shard, UNAVAILABLE, _describe(error), _http_status(error)))
            else:
                logger.warning("stripe_django: syncing %s failed", shard.name, exc_info=True)
                post(Done(shard, FAILED, _describe(error)))
        else:
            post(Done(shard, OK))

    def drive(batch: list[tuple[Shard, Callable]]) -> None:
        if not batch:
            return
        pending = len(batch)
        with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="stripe-sync") as pool:
            for shard, job in batch:
                pool.submit(_start, shard, job)
            try:
                while pending:
                    try:
                        item = work.get(timeout=0.1)
                    except queue.Empty:
                        _refresh()
                        continue
                    if isinstance(item, Done):
                        pending -= 1
                        _finish(item)
                    else:
                        _store(item)
                    _refresh()
            except BaseException:
                stop.set()
                reader_gone.set()
                raise

    def _start(shard: Shard, job: Callable) -> None:
        shard.report.status = RUNNING
        shard.report.started = time.monotonic()
        try:
            run(shard, job)
        finally:
            # A limiter kept in the database used this thread's connection.
            connections.close_all()

    def _refresh() -> None:
        report.requests = fetcher.requests
        progress.update()

    def _store(page: Page) -> None:
        """Store a page and move its cursor in one transaction: either both happen or
        neither (a database error that may pass is retried; then the shard fails with
        its cursor where it was, and the next run lists the page again)."""
        shard = page.shard
        t = shard.report
        if shard.abandoned:
            return
        for attempt, delay in enumerate((*STORE_RETRY_DELAYS, None)):
            try:
                with transaction.atomic(using=db):
                    result = _write_page(page)
                break
            except LeaseLost as error:
                shard.abandoned = f"the page was not stored: {error}"
                logger.warning("stripe_django: syncing %s: %s", shard.name, shard.abandoned)
                return
            except DatabaseError as error:
                if not is_transient(error) or delay is None or stop.is_set():
                    shard.abandoned = (f"storing a page failed after {attempt + 1} tries; "
                                       f"the cursor was not moved: {_describe(error)}")
                    logger.warning("stripe_django: syncing %s: %s", shard.name, shard.abandoned)
                    return
                t.note("the database was busy; pages were stored again")
                time.sleep(delay)
        if result is not None:
            if shard.spec is None:
                counts = list(result.by_type.values())
            else:
                counts = [result.by_type[o] for o in shard.spec.objects if o in result.by_type]
            t.created += sum(c.created for c in counts)
            t.updated += sum(c.updated for c in counts)
            t.unchanged += sum(c.unchanged for c in counts)
            t.failed += result.failed
            t.errors += [str(e) for e in result.errors]
        t.fetched += page.fetched
        t.failed += len(page.errors)
        t.errors += page.errors
        if page.cursor:
            shard.state.update(page.cursor)
        if on_page is not None:
            on_page(t)

    def _write_page(page: Page) -> Any:
        shard = page.shard
        result = None
        if lease is not None:
            lease.renew(db)
        if page.objects:
            result = upsert_many(page.objects, stamp=page.stamp, account=shard.account or platform,
                                 using=db)
        if page.cursor:
            cursors.filter(pk=shard.cursor_id).update(**page.cursor)
        if page.events_cursor:
            ids, after = page.events_cursor
            cursors.filter(pk__in=ids).update(events_after=after)
        return result

    def _finish(done: Done) -> None:
        t = done.shard.report
        t.finished = time.monotonic()
        if done.shard.abandoned:
            done = Done(done.shard, FAILED, done.shard.abandoned)
        t.status = done.status
        t.http_status = done.http_status
        if done.error:
            if done.status == UNAVAILABLE:
                t.note(done.error)
            else:
                t.errors.append(done.error)
        if done.shard.cursor_id and done.status == FAILED:
            try:
                cursors.filter(pk=done.shard.cursor_id).update(last_error=done.error or "")
            except DatabaseError:
                # The database may be what failed; the report still says it.
                logger.warning("stripe_django: could not record the failure of %s on its cursor",
                               done.shard.name, exc_info=True)

    try:
        if listing:
            drive([(s, _run_listing) for s in shards])
        else:
            # The Events API only: from the cursors as they stand.
            for s in shards:
                s.report.status = OK
            not_run = {id(s.report) for s in shards}
            report.types = [t for t in report.types if id(t) not in not_run]
        listed = [s.report for s in shards]
        if listed and all(t.status == UNAVAILABLE and t.http_status == 403 for t in listed):
            # Not one list may be read: the key, not the account, is the problem.
            report.key_refused = True
            report.notes.append("the API refused every list with 403: this key may not read the "
                                "account (a restricted key without read access?)")
        if events:
            drive(_event_shards(shards, accounts, names, report))
    except KeyboardInterrupt:
        report.interrupted = True
        for t in report.types:
            if t.status in (RUNNING, PENDING):
                t.status = SKIPPED
    finally:
        stop.set()
        if lease is not None:
            try:
                lease.release(db)
            except DatabaseError:
                logger.warning("stripe_django: could not release the sync leases; they expire "
                               "after SYNC_LEASE_SECONDS", exc_info=True)
        report.seconds = time.monotonic() - started
        report.requests = fetcher.requests
        report.throttled = limiter.throttled
        progress.finish()
    return report


def _event_shards(shards: list[Shard], accounts: list[str | None], names: list[str],
                  report: SyncReport) -> list[tuple[Shard, Callable]]:
    everything = set(names) == set(table.SYNC_LISTS)
    out = []
    for acct in accounts:
        ready = [s for s in shards if s.account == acct and s.report.status == OK
                 and s.state.get("complete") and s.state.get("events_after") is not None]
        if not ready:
            continue
        after_by_object: dict[str, int] = {}
        for s in ready:
            for obj in s.spec.objects:
                after = s.state["events_after"]
                after_by_object[obj] = min(after, after_by_object.get(obj, after))
        plan = _EventPlan(since=min(s.state["events_after"] for s in ready),
                          cursor_ids=[s.cursor_id for s in ready],
                          after_by_object=after_by_object, all_types=everything)
        t = TypeReport(CHANGES, acct)
        report.types.append(t)
        out.append((Shard("event", None, acct, t, None, {"plan": plan}), _run_events))
    return out
