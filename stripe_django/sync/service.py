"""Pull a Stripe account into the mirror: ``sync()``.

How a run works:

* The types to list and their parameters come from ``type_table.SYNC_LISTS``; the engine
  knows nothing about particular types. Each (type, account) pair is a *shard*
  (:mod:`.plan`).
* Worker threads fetch shards' pages (:mod:`.fetcher`), complete the embedded lists
  that are cut off at ``has_more`` (``type_table.EMBEDDED_LIST_SOURCES``), and hand the
  pages to the calling thread, which alone touches the database (:mod:`.pipeline`).
* First run of a type: a full pass (resumable through ``starting_after``). Later runs:
  the Events API from where the cursors stand (:mod:`.events`, read once per account),
  which brings updates and deletions, and the creations of the lists in
  ``type_table.EVENTED_LISTS`` (those are not listed again, :mod:`.evented`); the other
  lists are listed for what is new (:mod:`.listing`). A cursor older than the Events
  API keeps falls back to a full pass.

Stripe API reference: https://docs.stripe.com/api/pagination,
https://docs.stripe.com/api/events, https://docs.stripe.com/rate-limits,
https://docs.stripe.com/connect/authentication.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import stripe
from django.db import router

from .. import type_table as table
from .evented import EVENTS_LIST, WAITING, split_by_events
from .events import plan_catch_ups
from .events_access import key_label, record_events_access
from .fetcher import Fetcher
from .leases import CursorLease
from .listing import ShardListing
from .pipeline import Pipeline
from .plan import (account_batches, api_key_of, connected_accounts, key_mode, list_names,
                   open_shards, pace, page_size_for, plan_shards, select_lists)
from .progress import Progress
from .ratelimit import RateLimiter
from .report import (OK, PENDING, RUNNING, SKIPPED, SUMMARY_DETAIL_ACCOUNTS, UNAVAILABLE, SyncReport,
                     TypeReport)
from .shards import Job
from .v2_events import catch_up_v2_events

__all__ = ["sync", "WorkerHooks", "SyncReport", "TypeReport", "list_names"]


@dataclass(frozen=True)
class WorkerHooks:
    """How a ``stripe_sync --enqueue`` worker (:mod:`.shard_worker`) runs ``sync()``.

    ``limiter`` replaces the run's own pacer (one shared by every worker of the key);
    ``lease`` takes each shard's cursor before reading it, renews it with each page and
    releases it at the end (a shard whose cursor another worker holds is skipped, in
    ``SyncReport.busy``); ``listing=False`` only applies the Events API from the cursors
    as they stand. ``expire_old_cursors`` (None: as ``events``): a cursor older than the
    Events API keeps gets a full pass.
    """

    limiter: Any = None
    lease: CursorLease | None = None
    listing: bool = True
    expire_old_cursors: bool | None = None


def sync(types: Iterable[str] | None = None, *, account: str | None = None,
         all_accounts: bool = False, workers: int = 1, full: bool = False,
         events: bool = True, client: stripe.StripeClient | None = None,
         progress: Progress | None = None, using: str | None = None,
         rate_limit: float | None = None, page_size: int | None = None,
         on_page: Callable[[TypeReport], None] | None = None, key: str | None = None,
         hooks: WorkerHooks | None = None, detail: bool = False) -> SyncReport:
    """Pull the account into the mirror and return a :class:`SyncReport`.

    ``types``: names from ``type_table.SYNC_LISTS`` (or object types); all when empty.
    ``account``: a connected account (``acct_...``), listed with the ``Stripe-Account``
    header; ``all_accounts``: the platform and every connected account. ``workers``:
    shards fetched at once. ``full``: forget the cursors and list everything again.
    ``events``: apply the Events API after listing (updates and deletions).
    ``on_page`` is called after each stored page.

    ``key``: a name from ``STRIPE_DJANGO["API_KEYS"]`` (None: ``API_KEY``); the platform's
    own rows of a key with an ``ACCOUNT`` carry that id in ``stripe_account``.

    ``hooks``: only for ``stripe_sync --enqueue`` workers (:class:`WorkerHooks`).

    Over more than ``SUMMARY_DETAIL_ACCOUNTS`` accounts the report keeps per-type
    totals (``SyncReport.folded``) and the failed lines, not a line per (type, account),
    unless ``detail``: its memory does not grow with the accounts.
    """
    from ..client import get_client
    from ..conf import api_key_for, platform_account_for
    from ..models import SyncCursor

    hooks = hooks or WorkerHooks()
    names = select_lists(types)
    client = client or get_client(api_key_for(key))
    platform = platform_account_for(key)
    livemode = key_mode(client)
    limiter = hooks.limiter or RateLimiter(pace(rate_limit, livemode))
    fetcher = Fetcher(client, limiter, page_size_for(page_size), threading.Event(), max(1, workers))
    report = SyncReport()
    progress = progress or Progress()
    db = using or router.db_for_write(SyncCursor)
    started = time.monotonic()

    label = key_label(key, api_key_of(client))
    accounts: list[str | None] = [account] if account else [None]
    if all_accounts:
        accounts = [None] + connected_accounts(fetcher, report)
    expire = events if hooks.expire_old_cursors is None else hooks.expire_old_cursors

    fold = not detail and len(accounts) > SUMMARY_DETAIL_ACCOUNTS
    progress.start(report)
    pipeline = Pipeline(fetcher, report, progress, db=db, platform=platform, lease=hooks.lease,
                        on_page=on_page)
    listed = refused = 0  # lists run, and those answered 403
    events_refused = v2_events_refused = False
    try:
        # Accounts a batch at a time (their lists, then their catch-ups): the first
        # request waits only for the first batch's cursors, and a batch's shards are
        # let go before the next batch's are made.
        for batch in account_batches(accounts, len(names)):
            first_line = len(report.types)
            shards = open_shards(plan_shards(names, batch), report, db=db, livemode=livemode,
                                 platform=platform, lease=hooks.lease, full=full, expire=expire)
            to_list = shards
            if hooks.listing:
                # With the catch-up to follow, lists whose changes all come with events
                # are not listed again.
                to_list = split_by_events(shards) if events and not full else shards
                # A parent list listed with its nested lists lists its parents for them too.
                fetcher.parents.wanted = frozenset(
                    (s.spec.parent, s.account) for s in to_list if s.spec and s.spec.parent)
                pipeline.drive([ShardListing(s, fetcher, pipeline) for s in to_list])
            else:
                # The Events API only: from the cursors as they stand.
                for s in shards:
                    s.report.status = OK
                not_run = {id(s.report) for s in shards}
                report.types = [t for t in report.types if id(t) not in not_run]
            # Lists not asked this time because they were not available at their last
            # listing (.evented) count as refused again.
            waiting = [s for s in shards if s.report.mode == WAITING]
            listed += len(to_list) + len(waiting)
            refused += len(waiting) + sum(1 for s in to_list if s.report.status == UNAVAILABLE
                                          and s.report.http_status == 403)
            catch_ups: list[Job] = []
            if events:
                catch_ups = list(plan_catch_ups(shards, batch, names, report, fetcher, pipeline))
                pipeline.drive(catch_ups)
                events_refused |= any(job.shard.report.status == UNAVAILABLE for job in catch_ups)
            # Whether the key could read the Events API, kept for the health page and the
            # system check: a catch-up says it, and so does the ``event`` list when listed.
            record_events_access(
                [*(job.shard.report for job in catch_ups),
                 *(s.report for s in to_list if s.name == EVENTS_LIST and hooks.listing)],
                db=db, livemode=livemode, platform=platform, label=label)
            if events:
                if reads_v2_events(names, hooks):
                    # The platform's v2 events, or the one account's asked for: not one
                    # request per connected account of an --all-accounts run.
                    for acct in (a for a in batch if a is None or not all_accounts):
                        line = catch_up_v2_events(client, acct, report, db=db, livemode=livemode,
                                                  platform=platform, key=key)
                        v2_events_refused |= line.status == UNAVAILABLE
                        if on_page is not None:
                            on_page(line)
            del shards, to_list
            if fold:
                # The batch is done: its lines become per-type sums.
                report.fold(report.types[first_line:])
        if listed and refused == listed:
            # Not one list may be read: the key, not the account, is the problem.
            report.key_refused = True
            report.notes.append("the API refused every list with 403: this key may not read the "
                                "account (a restricted key without read access?)")
        if events_refused:
            report.notes.append(
                "the Events API was not available: the lists it covers (status 'events') got "
                "no new objects, and no list saw updates or deletions; give the key "
                f"{label} read access to events, or run with --no-events to list them")
        if v2_events_refused:
            report.notes.append(
                "the v2 events API (GET /v2/core/events) was not available: v2 changes come only "
                "from thin event destinations; give the key read access to v2 events")
    except KeyboardInterrupt:
        report.interrupted = True
        for t in report.types:
            if t.status in (RUNNING, PENDING):
                t.status = SKIPPED
    finally:
        pipeline.close()
        report.seconds = time.monotonic() - started
        report.requests = fetcher.requests
        report.throttled = limiter.throttled
        progress.finish()
    return report


def reads_v2_events(names: list[str], hooks: WorkerHooks) -> bool:
    """Whether a run with the Events API catch-up also reads the v2 events: when it
    covers every list or a v2 one (v2 changes reach the mirror only as v2 events), in a
    run of its own (a ``--enqueue`` worker applies the v1 events of its shard only)."""
    if hooks.lease is not None or not hooks.listing:
        return False
    return set(names) == set(table.SYNC_LISTS) or any(
        name.startswith(table.V2_OBJECT_PREFIX) for name in names)

