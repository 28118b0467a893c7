"""``verify()``: compare the mirror with Stripe, per listed type and account.

It plans (list, account) shards as the sync does (:mod:`stripe_django.sync.plan`) and
lists each with the sync's own listing (:class:`~stripe_django.sync.listing.ShardListing`,
a full pass from a blank cursor, the same limiter, page size, embedded-list completion
and Connect header), but its pages go to a comparer instead of the writer: nothing is
written unless ``heal``. Then the rows the list did not return are retrieved one by one:
only a 404 from Stripe makes one "extra" (lists hide some objects).

``sample=N`` lists nothing: N random rows of each type are retrieved and compared, and
the share that differ is bounded (:mod:`.sample`).

Each shard's result is recorded as a :class:`~stripe_django.models.VerificationRun` row,
and ``mirror_drift_found`` is sent when it found differences.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from typing import Any, Iterable, Iterator

import stripe
from django.db import connections, router, transaction
from django.db.models import Q
from django.utils import timezone

from ..sync.fetcher import Fetcher, Stopped, describe, is_unavailable
from ..sync.listing import ShardListing
from ..sync.plan import (PlannedShard, connected_accounts, key_mode, pace, page_size_for,
                         plan_shards, select_lists)
from ..sync.progress import Progress
from ..sync.ratelimit import RateLimiter
from ..sync.report import FAILED, OK, RUNNING, SKIPPED, UNAVAILABLE
from ..sync.shards import Page, Shard
from .compare import EXTRA, Comparer, Difference, PageCheck
from .heal import heal_page, mark_gone
from .report import VerifyReport, VerifyTypeReport
from .retrieve import retrieve
from .sample import upper_bound
from .why import explain

__all__ = ["verify"]


def verify(types: Iterable[str] | None = None, *, account: str | None = None,
           all_accounts: bool = False, sample: int | None = None, heal: bool = False,
           key: str | None = None, client: stripe.StripeClient | None = None,
           progress: Progress | None = None, using: str | None = None,
           rate_limit: float | None = None, page_size: int | None = None, workers: int = 1,
           run: str | None = None, limiter: Any = None) -> VerifyReport:
    """Compare the mirror with Stripe and return a :class:`~.report.VerifyReport`.

    ``types``, ``account``, ``all_accounts``, ``key``, ``rate_limit``, ``page_size``: as
    for :func:`stripe_django.sync.sync`; ``workers``: threads listing the created windows
    of a long list (as in the sync's first pass). ``sample``: retrieve this many random
    rows per type instead of listing everything. ``heal``: store what Stripe returned for
    the differing objects (through ingest) and mark deleted the rows Stripe answers 404 for.

    ``run`` (the id the :class:`~stripe_django.models.VerificationRun` rows share) and
    ``limiter`` (a pacer shared by every worker of the key) are for the shards of
    ``stripe_verify --enqueue`` (:mod:`.enqueued`), which make one run of many calls.
    """
    from ..client import get_client
    from ..conf import api_key_for, platform_account_for
    from ..models import VerificationRun

    if sample is not None and sample < 1:
        raise ValueError("sample must be at least 1")
    if workers < 1:
        raise ValueError("workers must be at least 1")
    names = select_lists(types)
    client = client or get_client(api_key_for(key))
    platform = platform_account_for(key)
    livemode = key_mode(client)
    limiter = limiter or RateLimiter(pace(rate_limit, livemode))
    fetcher = Fetcher(client, limiter, page_size_for(page_size), threading.Event(), workers)
    report = VerifyReport(run=run or uuid.uuid4().hex, sample=sample, healing=heal)
    progress = progress or Progress()
    db = using or router.db_for_write(VerificationRun)
    started = time.monotonic()

    accounts: list[str | None] = [account] if account else [None]
    if all_accounts:
        accounts = [None] + connected_accounts(fetcher, report)
    planned = plan_shards(names, accounts)
    for item in planned:
        report.types.append(VerifyTypeReport(item.name, item.account))
    progress.start(report)
    context = _Context(fetcher, report, progress, db, platform, livemode, key or "", heal, sample)
    try:
        for item, type_report in zip(planned, report.verified):
            if not item.listed:
                type_report.status = SKIPPED
                type_report.note("listed by the platform account only")
                continue
            if not _verify_shard(context, item, type_report):
                break
    except KeyboardInterrupt:
        report.interrupted = True
    finally:
        for t in report.verified:
            if t.status in (RUNNING, "pending"):
                t.status = SKIPPED
        report.seconds = time.monotonic() - started
        report.requests = fetcher.requests
        report.throttled = limiter.throttled
        progress.finish()
    return report


class _Context:
    def __init__(self, fetcher: Fetcher, report: VerifyReport, progress: Progress, db: str,
                 platform: str | None, livemode: bool, key: str, heal: bool,
                 sample: int | None) -> None:
        self.fetcher = fetcher
        self.report = report
        self.progress = progress
        self.db = db
        self.platform = platform
        self.livemode = livemode
        self.key = key
        self.heal = heal
        self.sample = sample


def _verify_shard(ctx: _Context, item: PlannedShard, t: VerifyTypeReport) -> bool:
    """Verify one (list, account); False when the whole run must stop."""
    from ..models import VerificationRun

    record = VerificationRun._default_manager.using(ctx.db).create(
        started_at=timezone.now(), run=ctx.report.run, object_type=item.name,
        account=item.account or ctx.platform or "", key=ctx.key, livemode=ctx.livemode,
        mode=VerificationRun.Mode.SAMPLE if ctx.sample else VerificationRun.Mode.FULL,
        healing=ctx.heal)
    t.status = RUNNING
    t.started = time.monotonic()
    go_on = True
    try:
        shard = _ShardVerifier(ctx, item, t)
        if ctx.sample:
            shard.sample(ctx.sample)
        else:
            shard.full()
        t.differences = explain(t.differences, list_name=item.name,
                                cursor_account=item.account or ctx.platform or "",
                                livemode=ctx.livemode, db=ctx.db)
        t.status = OK
    except (Stopped, KeyboardInterrupt):
        t.status = FAILED
        t.errors.append("interrupted")
        raise KeyboardInterrupt from None
    except (stripe.AuthenticationError, stripe.APIConnectionError) as error:
        t.status, go_on = FAILED, False
        t.errors.append(describe(error))
        ctx.report.notes.append(f"stopped: {describe(error)}")
    except stripe.StripeError as error:
        if is_unavailable(error):
            t.status = UNAVAILABLE
            t.http_status = getattr(error, "http_status", None)
            t.note(describe(error))
        else:
            t.status = FAILED
            t.errors.append(describe(error))
    finally:
        t.finished = time.monotonic()
        _record(ctx, record, t)
    return go_on


def _record(ctx: _Context, record: Any, t: VerifyTypeReport) -> None:
    from ..signals import send_mirror_drift_found

    record.finished_at = timezone.now()
    record.status = t.status if t.status in (OK, FAILED, UNAVAILABLE) else FAILED
    record.compared, record.healed, record.requests = t.compared, t.healed, t.requests
    record.missing, record.extra, record.stale = t.missing, t.extra, t.stale
    record.upper_bound = t.upper_bound
    record.differences = [d.as_dict() for d in t.differences[:record.MAX_RECORDED]]
    record.notes = list(t.notes) + list(t.errors)
    record.save(using=ctx.db)
    if t.differences:
        transaction.on_commit(lambda: send_mirror_drift_found(record), using=ctx.db)


class _ShardVerifier:
    """The verification of one (list, account); also the outbox of its listing."""

    def __init__(self, ctx: _Context, item: PlannedShard, t: VerifyTypeReport) -> None:
        self.ctx = ctx
        self.item = item
        self.t = t
        self.row_account = item.account or ctx.platform
        self.comparer = Comparer(item.spec.objects, self.row_account, ctx.db)
        self.listed: set[str] = set()

    # --- full mode --------------------------------------------------------------------

    def full(self) -> None:
        """List the shard and compare each page. A thread fetches and plans the pages
        (the sync's listing, no database) while this one compares and heals the
        previous page: the fetch's wait overlaps the comparison's queries."""
        self.t.mode = "full"
        fetcher = self.ctx.fetcher
        shard = Shard(self.item.name, self.item.spec, self.item.account, self.t, None, {})
        pages: queue.Queue = queue.Queue(maxsize=2)
        outbox = _PlanningOutbox(pages, self.comparer, fetcher.stop)

        def fetch() -> None:
            try:
                ShardListing(shard, fetcher, outbox).run()
                outbox.send(_LISTED)
            except BaseException as error:  # raised again by the comparing thread
                try:
                    outbox.send(error)
                except Stopped:
                    pass  # the comparing thread failed first and is not reading
            finally:
                # A pace kept in the database (a worker's shared limiter) used this
                # thread's own connection: closed here, not left to the garbage collector.
                connections.close_all()

        thread = threading.Thread(target=fetch, name=f"stripe_verify {self.item.name}", daemon=True)
        thread.start()
        try:
            while True:
                item = pages.get()
                if item is _LISTED:
                    break
                if isinstance(item, BaseException):
                    raise item
                page, planned = item
                self.t.fetched += len(page.objects)
                check = self.comparer.compare(planned)
                self.listed |= check.listed
                self._take(check, page.stamp or int(time.time()))
                self.ctx.progress.update()
        finally:
            if thread.is_alive():
                fetcher.stop.set()  # this side failed: the fetching thread stops too
                thread.join()
                fetcher.stop.clear()
            thread.join()
        self._confirm_unlisted()

    def _take(self, check: PageCheck, stamp: int) -> None:
        t = self.t
        t.compared += check.compared
        t.differences += check.differences
        t.failed += len(check.refused)
        t.errors += check.refused
        if self.ctx.heal and check.differences:
            stored = heal_page(check, stamp, self.row_account, self.ctx.db)
            t.healed += sum(1 for d in check.differences if d.owner in stored)

    def _unlisted(self) -> Iterator[tuple[Any, str, dict]]:
        """(model, id, stored payload) of the rows not deleted that the list did not return."""
        for model in sorted(self.comparer.top_models, key=lambda m: m.stripe_object):
            rows = _rows_of(model, self.ctx, self.row_account)
            ids = [pk for pk in rows.values_list("id", flat=True).iterator() if pk not in self.listed]
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                for pk, data in rows.filter(pk__in=chunk).values_list("id", "stripe_data"):
                    yield model, pk, data if isinstance(data, dict) else {}

    def _confirm_unlisted(self) -> None:
        unconfirmed = 0
        for model, pk, data in self._unlisted():
            found = self._retrieve(model, pk, data)
            if found is None:
                unconfirmed += 1
        if unconfirmed:
            self.t.note(f"{unconfirmed} row(s) not listed could not be retrieved to confirm "
                        "they are gone (no retrieve URL, or a 404 other than 'no such object'): "
                        "not counted")

    def _retrieve(self, model: Any, pk: str, data: dict) -> bool | None:
        """Retrieve a row's object and compare it: True if it differs, False if not,
        None when it cannot be retrieved on its own."""
        payload = {**data, "id": data.get("id") or pk, "object": data.get("object") or model.stripe_object}
        got = retrieve(self.ctx.fetcher, payload, self.item.account, self.t)
        now = int(time.time())
        if got.path is None or (got.obj is None and not got.gone):
            return None
        if got.gone:
            difference = Difference(EXTRA, model.stripe_object, pk,
                                    "not at Stripe (the API answered 404)" if got.obj is None
                                    else "deleted at Stripe", pk)
            self.t.differences.append(difference)
            self.t.compared += 1
            if self.ctx.heal and mark_gone(model, pk, now, self.row_account, self.ctx.db):
                self.t.healed += 1
            return True
        check = self.comparer.check([got.obj], now) if got.obj is not None else PageCheck()
        self._take(check, now)
        return bool(check.differences)

    # --- sample mode ------------------------------------------------------------------

    def sample(self, size: int) -> None:
        self.t.mode = "sample"
        model = self.comparer.primary_model
        if model is None:
            return
        rows = _rows_of(model, self.ctx, self.row_account)
        # Random rows chosen by the database (a sort of the account's rows by a random
        # key: one scan, no ids in memory).
        chosen = list(rows.order_by("?").values_list("id", "stripe_data")[:size])
        for pk, data in chosen:
            differs = self._retrieve(model, pk, data if isinstance(data, dict) else {})
            if differs is None:
                self.t.note(f"{model.stripe_object} {pk} could not be retrieved: not sampled")
                continue
            self.t.sampled += 1
            self.t.sampled_differing += int(differs)
            self.ctx.progress.update()
        self.t.upper_bound = upper_bound(self.t.sampled_differing, self.t.sampled)


# Put after the last page of a listing.
_LISTED = object()


class _PlanningOutbox:
    """The outbox of a verification's listing: plans each page on the fetching thread
    and hands it over (a bounded queue: at most two pages wait).

    With ``workers`` a long list is listed in created windows by several threads at once
    (the sync's :mod:`~stripe_django.sync.windows`), whose newest window lists again the
    objects of the second where the first pages ended: those are compared once."""

    def __init__(self, pages: queue.Queue, comparer: Comparer, stop: threading.Event) -> None:
        self.pages = pages
        self.comparer = comparer
        self.stop = stop
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    def put(self, page: Page) -> None:
        with self.lock:
            objects = [obj for obj in page.objects if obj.get("id") not in self.seen]
            self.seen.update(obj.get("id") for obj in objects)
        page.objects = objects
        self.send((page, self.comparer.plan(objects, page.stamp)))

    def send(self, item: Any) -> None:
        while True:
            if self.stop.is_set():
                raise Stopped()
            try:
                self.pages.put(item, timeout=0.1)
                return
            except queue.Full:
                continue


def _rows_of(model: Any, ctx: _Context, row_account: str | None) -> Any:
    """The account's rows of ``model`` not deleted, in the key's mode."""
    rows = model._default_manager.using(ctx.db).filter(stripe_account=row_account, deleted=False)
    if any(f.name == "livemode" for f in model._meta.concrete_fields):
        rows = rows.filter(Q(livemode=ctx.livemode) | Q(livemode__isnull=True))
    return rows
