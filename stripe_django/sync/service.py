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

import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any, Callable, Iterable

import stripe
from django.db import DatabaseError, connections, router, transaction

from ..dberrors import is_transient
from ..ingest import upsert_many
from .events import plan_catch_ups
from .fetcher import Fetcher, Stopped
from .fetcher import describe as _describe, http_status as _http_status
from .fetcher import is_unavailable as _is_unavailable
from .leases import CursorLease, LeaseLost
from .listing import ShardListing
from .plan import (connected_accounts, key_mode, list_names, open_shards, pace, page_size_for,
                   plan_shards, select_lists)
from .progress import Progress
from .ratelimit import RateLimiter
from .report import FAILED, OK, PENDING, RUNNING, SKIPPED, UNAVAILABLE, SyncReport, TypeReport
from .shards import Done, Job, Page

logger = logging.getLogger("stripe_django.sync")

__all__ = ["sync", "SyncReport", "TypeReport", "list_names"]

# Seconds to wait before each new try of storing a page after a database error that may
# pass (a lock held by a concurrent writer, "database is locked"); then the shard fails
# with its cursor where it was.
STORE_RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 4.0)


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

    outbox = SimpleNamespace(put=emit)  # what the jobs put their pages in

    reader_gone = threading.Event()  # the writer loop has ended: nobody reads the queue

    def post(done: Done) -> None:
        while True:
            try:
                work.put(done, timeout=0.1)
                return
            except queue.Full:
                if reader_gone.is_set():
                    return

    def run(job: Job) -> None:
        shard = job.shard
        try:
            job.run()
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

    def drive(batch: list[Job]) -> None:
        if not batch:
            return
        pending = len(batch)
        with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="stripe-sync") as pool:
            for job in batch:
                pool.submit(_start, job)
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

    def _start(job: Job) -> None:
        shard = job.shard
        shard.report.status = RUNNING
        shard.report.started = time.monotonic()
        try:
            run(job)
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
            drive([ShardListing(s, fetcher, outbox) for s in shards])
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
            drive(plan_catch_ups(shards, accounts, names, report, fetcher, outbox))
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
