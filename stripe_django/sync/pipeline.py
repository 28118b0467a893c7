"""The run of a sync's shards: worker threads fetch and plan, the calling thread writes.

Three stages overlap. Worker threads run the shards' jobs (at most ``workers`` at once,
all behind one :class:`~.ratelimit.RateLimiter`), turn each page into rows (ingest's
planner, no database) and put it in a small bounded queue (:meth:`Pipeline.put`). The
calling thread alone writes, on its own connection: it takes the planned pages in
*groups* (up to ``GROUP_PAGES`` pages, or what arrives within ``GROUP_SECONDS`` of the
group's first page) and stores each group in one transaction, with the cursor fields of
every page in it. So memory stays flat (the queue and one group), a commit's cost is
shared by several pages, and a run stopped anywhere (even by ``kill -9``) resumes after
the last committed group: nothing is lost, at most one group is fetched again.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import stripe
from django.db import DatabaseError, connections, transaction
from django.utils import timezone

from ..dberrors import RETRY_DELAYS, is_transient
from ..ingest import UpsertResult, plan_many, write_planned
from .fetcher import Fetcher, Stopped, describe, http_status, is_unavailable
from .leases import CursorLease, LeaseLost
from .progress import Progress
from .report import FAILED, OK, RUNNING, SKIPPED, UNAVAILABLE, SyncReport, TypeReport
from .shards import Done, Job, Page, Shard

logger = logging.getLogger("stripe_django.sync")

__all__ = ["Pipeline", "STORE_RETRY_DELAYS", "GROUP_PAGES", "GROUP_SECONDS"]

# Seconds to wait before each new try of storing a page after a database error that may
# pass (a lock held by a concurrent writer, "database is locked"); then the shard fails
# with its cursor where it was.
STORE_RETRY_DELAYS = RETRY_DELAYS

# A group of pages committed together: at most this many pages (1,000 objects of 100),
# which shares a commit's round trip and flush among them, while a kill -9 redoes at most
# this much, and a group's row locks (which a webhook for the same rows waits for) are
# held for a fraction of a second.
GROUP_PAGES = 10
# ... or the pages that arrive within this many seconds of the group's first page: when
# fetching is the slower side, pages are stored (and ``on_page`` and progress see them)
# this soon, rather than waiting for a full group.
GROUP_SECONDS = 0.25
# ... and at most about this many objects (pages of children listed per parent are long).
GROUP_OBJECTS = 1_000


class Pipeline:
    """Runs batches of shard jobs (:meth:`drive`) and stores what they fetch.

    ``lease``: the cursor lease of an enqueued run's worker, renewed in each group's
    transaction (a group is not stored once the lease is lost) and released by
    :meth:`close`. ``on_page``: called with the shard's report after each stored page
    (once its group is committed).
    """

    def __init__(self, fetcher: Fetcher, report: SyncReport, progress: Progress, *, db: str,
                 platform: str | None, lease: CursorLease | None = None,
                 on_page: Callable[[TypeReport], None] | None = None) -> None:
        from ..models import SyncCursor

        self.fetcher = fetcher
        self.report = report
        self.progress = progress
        self.db = db
        self.platform = platform  # the account of the key's own rows
        self.lease = lease
        self.on_page = on_page
        self.cursors = SyncCursor.objects.using(db)
        self.stop = fetcher.stop  # set: every worker stops at its next request or page
        # Bounded: the pages in memory are at most these, the writer's group and one in
        # each worker's hands, however long the lists.
        self.work: queue.Queue = queue.Queue(maxsize=max(2, 2 * fetcher.workers))
        self.reader_gone = threading.Event()  # the writer loop has ended: nobody reads the queue
        self.group_pages = GROUP_PAGES
        self.group_seconds = GROUP_SECONDS

    # --- the workers' side -------------------------------------------------------------

    def put(self, page: Page) -> None:
        """Plan a page and hand it to the writer (the :class:`~.shards.Outbox` of every
        job). Planning here, on the fetching thread, overlaps it with the writer's work.

        A page that cannot be planned gives its shard up before anything else moves: a
        job cut into windows has already recorded the page in its shared state, and no
        later page of the shard may be stored past it."""
        try:
            self._plan(page)
        except Exception as error:
            self._abandon(page.shard, f"planning a page failed: {describe(error)}")
            raise
        while True:
            if self.stop.is_set() or page.shard.abandoned:
                raise Stopped()
            try:
                self.work.put(page, timeout=0.1)
                return
            except queue.Full:
                continue

    def _plan(self, page: Page) -> None:
        if page.planned is None and page.objects:
            page.planned = plan_many(page.objects, stamp=page.stamp,
                                     account=page.shard.account or self.platform)

    def _post(self, done: Done) -> None:
        while True:
            try:
                self.work.put(done, timeout=0.1)
                return
            except queue.Full:
                if self.reader_gone.is_set():
                    return

    def _start(self, job: Job) -> None:
        shard = job.shard
        shard.report.status = RUNNING
        shard.report.started = time.monotonic()
        try:
            self._run(job)
        finally:
            # A limiter kept in the database used this thread's connection.
            connections.close_all()

    def _run(self, job: Job) -> None:
        shard = job.shard
        try:
            job.run()
        except Stopped:
            self._post(Done(shard, SKIPPED))
        except (stripe.AuthenticationError, stripe.APIConnectionError) as error:
            # Every other request would fail the same way: stop the run (it resumes).
            if not self.stop.is_set():
                self.stop.set()
                self.report.notes.append(f"stopped early: {describe(error)}")
            self._post(Done(shard, FAILED, describe(error)))
        except Exception as error:  # noqa: BLE001 - reported per shard, the run goes on
            if is_unavailable(error):
                self._post(Done(shard, UNAVAILABLE, describe(error), http_status(error)))
            else:
                logger.warning("stripe_django: syncing %s failed", shard.name, exc_info=True)
                self._post(Done(shard, FAILED, describe(error)))
        else:
            self._post(Done(shard, OK))

    # --- the writer's side (the calling thread) ----------------------------------------

    def drive(self, jobs: list[Job]) -> None:
        """Run ``jobs`` on the worker threads, storing their pages here, until all are done."""
        if not jobs:
            return
        pending = len(jobs)
        with ThreadPoolExecutor(max_workers=max(1, self.fetcher.workers),
                                thread_name_prefix="stripe-sync") as pool:
            for job in jobs:
                pool.submit(self._start, job)
            try:
                while pending:
                    try:
                        item = self.work.get(timeout=0.1)
                    except queue.Empty:
                        self._refresh()
                        continue
                    if isinstance(item, Page):
                        group, item = self._gather(item)
                        self._store_group(group)
                    if isinstance(item, Done):
                        pending -= 1
                        self._finish(item)
                    self._refresh()
            except BaseException:
                self.stop.set()
                self.reader_gone.set()
                raise

    def _refresh(self) -> None:
        self.report.requests = self.fetcher.requests
        self.progress.update()

    def _gather(self, first: Page) -> tuple[list[Page], Done | None]:
        """The pages to commit with ``first``: those queued or arriving within
        ``GROUP_SECONDS``, up to ``GROUP_PAGES``. A shard's :class:`Done` ends the group
        (and is returned): its pages must be stored before the shard is finished."""
        group = [first]
        objects = len(first.objects)
        deadline = time.monotonic() + self.group_seconds
        # Pages of children listed per parent can hold thousands of objects: a group is
        # bounded by objects too, so memory stays flat whatever the page sizes.
        while len(group) < self.group_pages and objects < GROUP_OBJECTS:
            wait = deadline - time.monotonic()
            try:
                item = self.work.get(timeout=wait) if wait > 0 else self.work.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, Done):
                return group, item
            group.append(item)
            objects += len(item.objects)
        return group, None

    def _store_group(self, pages: list[Page]) -> None:
        """Store pages, in their order, and move their cursors in one transaction: either
        all of it happens or none (a database error that may pass is retried; then the
        group's shards fail with their cursors where they were, and the next run lists
        the pages again)."""
        pages = [p for p in pages if not p.shard.abandoned]
        if not pages:
            return
        results = self._commit(pages)
        if results is None:
            return
        for page, result in zip(pages, results):
            self._count(page, result)
            if page.cursor:
                page.shard.state.update(page.cursor)
            if self.on_page is not None:
                self.on_page(page.shard.report)

    def _commit(self, pages: list[Page]) -> list[UpsertResult | None] | None:
        """The results of the pages' writes, committed; None: not stored (their shards
        are given up, or the pages were stored one by one)."""
        for attempt, delay in enumerate((*STORE_RETRY_DELAYS, None)):
            try:
                with transaction.atomic(using=self.db):
                    if self.lease is not None:
                        self.lease.renew(self.db)
                    results = [self._write_rows(page) for page in pages]
                    self._write_cursors(pages)
                    return results
            except LeaseLost as error:
                self._abandon_all(pages, f"the page was not stored: {error}")
                return None
            except DatabaseError as error:
                if len(pages) > 1 and not is_transient(error):
                    # A page the database refuses for good: store the pages one by one,
                    # so that only its shard fails, as if they had come one at a time.
                    for page in pages:
                        self._store_group([page])
                    return None
                if len(pages) > 1 and delay is None and not self.stop.is_set():
                    # Still busy after every retry: page by page, so that a lock held on
                    # one page's rows fails only that page's shard.
                    for page in pages:
                        self._store_group([page])
                    return None
                if not is_transient(error) or delay is None or self.stop.is_set():
                    self._abandon_all(pages, f"storing a page failed after {attempt + 1} "
                                             f"tries; the cursor was not moved: {describe(error)}")
                    return None
                for shard in {id(p.shard): p.shard for p in pages}.values():
                    shard.report.note("the database was busy; pages were stored again")
                time.sleep(delay)
        return None  # not reached: the last try returns or gives up

    def _abandon_all(self, pages: list[Page], why: str) -> None:
        for shard in {id(p.shard): p.shard for p in pages}.values():
            self._abandon(shard, why)

    def _abandon(self, shard: Shard, why: str) -> None:
        shard.abandoned = why
        logger.warning("stripe_django: syncing %s: %s", shard.name, why)

    def _write_rows(self, page: Page) -> UpsertResult | None:
        """A page's rows (inside the group's transaction)."""
        if not page.objects:
            return None
        self._plan(page)
        return write_planned(page.planned or [], using=self.db)

    def _write_cursors(self, pages: list[Page]) -> None:
        """The pages' cursor fields (inside the group's transaction), as if written page
        after page: each write sets fields to values, so a later write of the same
        cursors is merged into the earlier one, unless a write of some of those cursors
        comes between. One statement per shard and group, rather than per page."""
        writes: list[tuple[frozenset[int | None], dict[str, Any]]] = []
        for page in pages:
            for ids, fields in self._cursor_fields(page):
                last = next((w for w in reversed(writes) if w[0] & ids), None)
                if last is not None and last[0] == ids:
                    last[1].update(fields)
                else:
                    writes.append((ids, dict(fields)))
        for ids, fields in writes:
            self.cursors.filter(pk__in=ids).update(**fields)

    @staticmethod
    def _cursor_fields(page: Page) -> list[tuple[frozenset[int | None], dict[str, Any]]]:
        fields = []
        if page.cursor:
            fields.append((frozenset([page.shard.cursor_id]), page.cursor))
        if page.events_cursor:
            ids, after = page.events_cursor
            fields.append((frozenset(ids), {"events_after": after}))
        return fields

    @staticmethod
    def _count(page: Page, result: UpsertResult | None) -> None:
        """Add a stored page to its shard's report."""
        shard, t = page.shard, page.shard.report
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

    def _finish(self, done: Done) -> None:
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
        if done.shard.cursor_id and done.shard.spec is not None and done.status == UNAVAILABLE:
            # Like an empty list (.evented): not asked again before SYNC_EMPTY_LISTS_EVERY.
            # A connected account answers 403/404 to each product it has not enabled.
            try:
                self.cursors.filter(pk=done.shard.cursor_id).update(
                    found_objects=False, last_synced_at=timezone.now())
            except DatabaseError:
                logger.warning("stripe_django: could not record that %s is not available on its "
                               "cursor", done.shard.name, exc_info=True)
        if done.shard.cursor_id and done.status == FAILED:
            try:
                self.cursors.filter(pk=done.shard.cursor_id).update(last_error=done.error or "")
            except DatabaseError:
                # The database may be what failed; the report still says it.
                logger.warning("stripe_django: could not record the failure of %s on its cursor",
                               done.shard.name, exc_info=True)

    def close(self) -> None:
        """Stop the workers and release the lease (it expires anyway)."""
        self.stop.set()
        if self.lease is not None:
            try:
                self.lease.release(self.db)
            except DatabaseError:
                logger.warning("stripe_django: could not release the sync leases; they expire "
                               "after SYNC_LEASE_SECONDS", exc_info=True)
