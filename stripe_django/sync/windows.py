"""A long first pass cut into created windows listed at once (see :mod:`.slices`).

:func:`find_windows` looks for the oldest object of the rest of the list and cuts the
span into windows; :func:`list_windows` lists the windows not yet done,
``fetcher.workers`` at a time, each page going to the writer with the state of every
window, so a pass interrupted anywhere resumes window by window.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import stripe
from django.db import connections
from django.utils import timezone

from .fetcher import Fetcher, describe, names_param
from .marks import HighWater, created_of, pass_done
from .shards import Outbox, Page, Shard, list_spec
from .slices import (MAX_WINDOWS, MIN_WINDOW_SECONDS, STRIPE_LAUNCH, WINDOWS_PER_WORKER,
                     SliceBook, created_filter, in_window, windows)

__all__ = ["find_windows", "list_windows", "NotFiltered"]


class NotFiltered(Exception):
    """The server does not filter a list by ``created`` as asked."""


def find_windows(shard: Shard, fetcher: Fetcher, params: dict[str, Any], last: dict,
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
    newest = created_of(last)
    if newest is None:
        return None
    try:
        floor = _oldest_floor(shard, fetcher, params, newest)
    except NotFiltered as error:
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


def _oldest_floor(shard: Shard, fetcher: Fetcher, params: dict[str, Any], newest: int) -> int:
    """A point at or before the oldest object created before ``newest`` (the search
    :func:`find_windows` describes); raises :class:`NotFiltered`."""
    spec = list_spec(shard)

    def older_than(point: int) -> int | None:
        """``created`` of the newest object created before ``point``; None: none."""
        try:
            with fetcher.window_slots:
                found, _more = fetcher.page(spec.service, (), {**params, "created": {"lt": point}},
                                            shard.account, shard.report, limit=1)
        except stripe.InvalidRequestError as error:
            if names_param(error, "created"):
                raise NotFiltered(describe(error)) from None
            raise
        finally:
            connections.close_all()  # a limiter kept in the database used this thread's
        created = created_of(found[0]) if found else None
        if found and (created is None or created >= point):
            raise NotFiltered("its answer to created[lt] holds newer objects")
        return created

    floor, ceiling = STRIPE_LAUNCH, newest
    probes = max(1, fetcher.workers - 1)
    with ThreadPoolExecutor(max_workers=probes, thread_name_prefix="stripe-sync-probe") as pool:
        while ceiling - floor > max(MIN_WINDOW_SECONDS, (newest - ceiling) // 8):
            points = sorted({floor + (ceiling - floor) * (i + 1) // (probes + 1)
                             for i in range(probes)})
            for point, created in zip(points, pool.map(older_than, points)):
                if created is None:
                    floor = max(floor, point)
                else:
                    ceiling = min(ceiling, created)
    return floor


def list_windows(shard: Shard, fetcher: Fetcher, out: Outbox, params: dict[str, Any],
                 cut: list[dict[str, Any]], started: dt.datetime | None = None,
                 high: HighWater | None = None, relisted: frozenset[str] = frozenset()) -> None:
    """List the windows of a sliced pass not yet done, ``fetcher.workers`` at a time.
    Each page goes to ``out`` with the state of every window (:class:`.SliceBook`);
    the page that ends the last window completes the pass. ``started`` and ``high``:
    those of the pass that cut the windows (its first page may not be stored yet);
    read from the cursor when a pass resumes. ``relisted``: ids the pass listed before
    the cut that the newest window lists again, not counted as fetched twice."""
    state = shard.state
    started = started or state.get("pass_started_at") or timezone.now()
    lister = _WindowLister(shard, fetcher, out, params, SliceBook(cut), started,
                           high or HighWater.of(state), relisted)
    pending = lister.book.pending()
    if not pending:  # every window stored, the pass not marked complete: mark it now
        out.put(Page(shard, [], int(time.time()), {**lister.finish, "last_synced_at": timezone.now()}))
        return
    with ThreadPoolExecutor(max_workers=min(fetcher.workers, len(pending) or 1),
                            thread_name_prefix="stripe-sync-window") as pool:
        futures = [pool.submit(lister.list_window, index) for index in pending]
    for future in futures:
        error = future.exception()
        if isinstance(error, NotFiltered):
            # Leave the windows: a run with one worker resumes the pass in one go, from
            # the ``starting_after`` the pass had when it was cut (what the windows
            # stored comes back unchanged).
            out.put(Page(shard, [], int(time.time()), {"slices": None}))
            raise RuntimeError(f"the server does not filter this list by created as asked "
                               f"({error}); `stripe_sync --workers 1` lists the rest in one "
                               f"go") from None
        if error is not None:
            raise error


class _WindowLister:
    """The windows of one sliced pass, listed by several threads: what they share."""

    def __init__(self, shard: Shard, fetcher: Fetcher, out: Outbox, params: dict[str, Any],
                 book: SliceBook, started: dt.datetime, high: HighWater,
                 relisted: frozenset[str]) -> None:
        self.shard, self.fetcher, self.out, self.params = shard, fetcher, out, params
        self.book, self.started, self.high, self.relisted = book, started, high, relisted
        self.finish = pass_done(started)
        self.failed = threading.Event()  # one window failed: the others stop

    def list_window(self, index: int) -> None:
        shard, fetcher = self.shard, self.fetcher
        window = self.book.slices[index]
        query = {**self.params, "created": created_filter(window)}
        try:
            if self.failed.is_set():
                return
            fetcher.window_slots.acquire()
            try:
                listed = fetcher.pages(list_spec(shard).service, (), query, shard.account, shard.report,
                                       window["starting_after"])
                for objs, has_more, stamp in listed:
                    if self.failed.is_set():
                        return
                    for obj in objs:
                        if not in_window(created_of(obj), window):
                            raise NotFiltered(f"it answered {obj.get('id')} to a list of objects "
                                              f"created in {created_filter(window)}")
                        fetcher.complete_embedded(obj, shard.account, shard.report)
                    self.record(index, objs, has_more, stamp)
            finally:
                fetcher.window_slots.release()
        except BaseException:
            self.failed.set()
            raise
        finally:
            connections.close_all()  # a limiter kept in the database used this thread's

    def record(self, index: int, objs: list[dict], has_more: bool, stamp: int) -> None:
        book, relisted = self.book, self.relisted
        with book.lock:
            self.high.add(objs)
            slices, all_done = book.record(index, objs[-1]["id"] if objs else None,
                                           done=not has_more)
            cursor = {"pass_started_at": self.started, **self.high.fields(), "slices": slices}
            if all_done:
                cursor.update(self.finish, last_synced_at=timezone.now())
            fetched = sum(1 for obj in objs if obj.get("id") not in relisted) if relisted else len(objs)
            self.out.put(Page(self.shard, objs, stamp, cursor, fetched=fetched))
