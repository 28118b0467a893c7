"""``stripe_sync --enqueue``: a sync run split into shards that Django Tasks workers run.

* :func:`enqueue_run` records a :class:`~stripe_django.models.SyncRun` with one
  :class:`~stripe_django.models.SyncShard` per (listed type, account), and per account one
  "changes" shard (the Events API catch-up, which must come after the account's lists),
  then enqueues the list shards once that is committed.
* :func:`run_shard` (what the :data:`stripe_django.tasks.run_sync_shard` task does, in
  :mod:`.shard_worker`) claims its shard with a conditional ``UPDATE`` (``queued`` ->
  ``running``: a task delivered twice finds nothing to do), takes the shard's cursor
  under a lease (:mod:`.leases`), and runs it through :func:`~.service.sync` with a
  request pacer shared by every worker of the API key
  (:class:`~.ratelimit.SharedRateLimiter`). The result goes on the shard's row. The last
  list shard of an account to finish queues the account's changes; the last shard of
  the run marks it finished.
* :func:`run_report` rebuilds a :class:`~.report.SyncReport` from the rows:
  ``manage.py stripe_sync --run ID`` prints it.

A shard whose cursor another worker holds (another run syncing the same type and
account) is queued again after a while, when the tasks backend can defer a task.
A worker that dies mid-shard leaves it ``running``: ``stripe_sync --run ID --requeue``
queues it again once its lease has expired, and it resumes after its last stored page.

Shards are queued through :class:`stripe_django.tasks.SyncShardQueue`, imported when a
shard is queued: this module loads without a Tasks framework (``stripe_sync --run``
reads a run's rows), and :mod:`stripe_django.tasks` imports nothing from it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Iterable

from django.db import transaction
from django.utils import timezone

from ..conf import stripe_settings
from . import shard_worker
from .events import CHANGES
from .fetcher import Fetcher
from .plan import connected_accounts, key_mode, pace, plan_shards, select_lists
from .ratelimit import RateLimiter
from .report import SyncReport, TypeReport
from .shard_worker import FINAL, ShardQueue, alias_for, run_models

if TYPE_CHECKING:
    import stripe

    from ..models import SyncRun

__all__ = ["enqueue_run", "run_shard", "run_report", "requeue", "worker_hint", "CHANGES"]

# How the worker of the tested backends is started ("{queue}": TASKS_QUEUE).
WORKER_COMMANDS = {
    "django_tasks_db.": "manage.py db_worker --backend {alias} --queue-name {queue}",
    "django_tasks_rq.": "manage.py rqworker {queue} --job-class django_tasks_rq.Job",
}


def worker_hint() -> str:
    """Which backend and queue the shards wait in, and how a worker for them starts."""
    from django.conf import settings

    alias, queue = stripe_settings.TASKS_BACKEND, stripe_settings.TASKS_QUEUE
    config = getattr(settings, "TASKS", None) or {}
    backend = str((config.get(alias) or {}).get("BACKEND", "")) if isinstance(config, dict) else ""
    where = f"tasks backend {alias!r} ({backend or 'not in TASKS'}), queue {queue!r}"
    for prefix, command in WORKER_COMMANDS.items():
        if backend.startswith(prefix):
            return f"{where}: is `{command.format(alias=alias, queue=queue)}` running?"
    return f"{where}: is a worker of that backend running?"


def _shard_queue() -> ShardQueue:
    """The configured Tasks backend's queue of ``run_sync_shard`` tasks (needs a Tasks
    framework: the ``ImportError`` says which)."""
    from ..tasks import SyncShardQueue

    return SyncShardQueue()


def _enqueue(shard_id: int, using: str | None) -> None:
    _shard_queue().enqueue(shard_id, using)


def _enqueue_all(shard_ids: list[int], using: str | None) -> None:
    for shard_id in shard_ids:
        _enqueue(shard_id, using)


def enqueue_run(types: Iterable[str] | None = None, *, account: str | None = None,
                all_accounts: bool = False, key: str | None = None, full: bool = False,
                events: bool = True, rate_limit: float | None = None,
                page_size: int | None = None, using: str | None = None,
                client: stripe.StripeClient | None = None, workers: int = 1,
                verify: dict[str, Any] | None = None) -> SyncRun:
    """Record a run and its shards and enqueue them; returns the :class:`SyncRun`.
    With ``all_accounts`` the connected accounts are listed here, first. ``workers``:
    threads of each shard, which list the created windows of a long list's full pass
    (see ``sync.slices``). ``verify``: the shards verify instead of syncing, with these
    options (``stripe_verify --enqueue``, :mod:`stripe_django.verify.enqueued`); such a
    run has no changes shards."""
    import threading

    from ..client import get_client
    from ..conf import api_key_for

    SyncCursor, SyncRun, SyncShard = run_models()
    names = select_lists(types)
    db = alias_for(using)
    client = client or get_client(api_key_for(key))
    livemode = key_mode(client)
    report = SyncReport()
    accounts: list[str | None] = [account] if account else [None]
    if all_accounts:
        # A few requests, paced here alone (this may run inside a transaction, which
        # must not hold the shared pace's row).
        fetcher = Fetcher(client, RateLimiter(pace(rate_limit, livemode)), 100, threading.Event())
        accounts = [None] + connected_accounts(fetcher, report)
        if report.notes:
            raise RuntimeError("; ".join(report.notes))
    with transaction.atomic(using=db):
        run = SyncRun._default_manager.using(db).create(
            key=key or "", livemode=livemode, types=names,
            options={"full": full, "events": events, "rate_limit": rate_limit,
                     "page_size": page_size, "workers": max(1, int(workers)),
                     **({"verify": verify} if verify is not None else {})})
        shards = []
        for acct in accounts:
            for planned in plan_shards(names, [acct]):
                if planned.listed:
                    shards.append(SyncShard(run=run, account=acct or "", name=planned.name,
                                            status=SyncShard.Status.QUEUED))
            if events and verify is None:
                shards.append(SyncShard(run=run, account=acct or "", name=CHANGES,
                                        status=SyncShard.Status.WAITING))
        SyncShard._default_manager.using(db).bulk_create(shards)
        queued = list(SyncShard._default_manager.using(db)
                      .filter(run=run, status=SyncShard.Status.QUEUED).values_list("pk", flat=True))
        transaction.on_commit(lambda: _enqueue_all(queued, using), using=db)
    return run


def run_shard(shard_id: int, *, using: str | None = None, client: Any = None) -> dict[str, Any]:
    """Run one shard (what the task does). Returns what the shard's row now says."""
    return shard_worker.run_shard(shard_id, queue=_shard_queue(), using=using, client=client)


def requeue(run_id: int, *, using: str | None = None) -> int:
    """Queue again the shards of a run left ``running`` by a worker that died (their
    cursor's lease has expired) or left ``queued`` with their task lost, and the changes
    of an account whose lists are all done that were never queued. Returns how many.

    A queued shard's task cannot be seen from here: it is taken for lost only when the
    run has not moved (no shard started or finished, the run not created) for
    ``SYNC_LEASE_SECONDS``. While workers get through the run, its queued shards are
    waiting in the queue, and queuing them again would only double it."""
    from django.db.models import Q

    SyncCursor, SyncRun, SyncShard = run_models()
    db = alias_for(using)
    run = SyncRun._default_manager.using(db).get(pk=run_id)
    now = timezone.now()
    stale = now - dt.timedelta(seconds=float(stripe_settings.SYNC_LEASE_SECONDS))
    shards = SyncShard._default_manager.using(db).filter(run=run)
    stalled = run.created_at <= stale and not shards.filter(
        Q(started_at__gt=stale) | Q(finished_at__gt=stale)).exists()
    statuses = [SyncShard.Status.RUNNING]
    if stalled:
        # also an account's changes that a worker dying after its last list did not queue
        statuses += [SyncShard.Status.QUEUED, SyncShard.Status.WAITING]
    count = 0
    for shard in shards.filter(status__in=statuses):
        if shard.status == SyncShard.Status.WAITING:
            if shards.filter(account=shard.account).exclude(name=CHANGES).exclude(
                    status__in=FINAL).exists():
                continue  # queued by the last of its account's lists, still to run
        elif shard.status == SyncShard.Status.RUNNING:
            held = SyncCursor._default_manager.using(db).filter(
                leased_by__endswith=f":shard{shard.pk}", lease_expires__gt=now).exists()
            alive = max(filter(None, (shard.started_at, shard.alive_at)), default=None)
            if held or (alive and alive > stale):
                continue
        if SyncShard._default_manager.using(db).filter(pk=shard.pk, status=shard.status).update(
                status=SyncShard.Status.QUEUED):
            transaction.on_commit(lambda pk=shard.pk: _enqueue(pk, using), using=db)
            count += 1
    return count


def run_report(run_id: int, *, using: str | None = None) -> SyncReport:
    """A :class:`SyncReport` of a run from its shards' rows (for ``format_summary``)."""
    SyncCursor, SyncRun, SyncShard = run_models()
    db = alias_for(using)
    run = SyncRun._default_manager.using(db).get(pk=run_id)
    report = SyncReport()
    starts, ends = [], []
    for row in SyncShard._default_manager.using(db).filter(run=run).order_by("pk"):
        status = {"waiting": "pending", "queued": "pending"}.get(row.status, row.status)
        t = TypeReport(row.name, row.account or None, mode=row.mode, status=status,
                       fetched=row.fetched, created=row.created, updated=row.updated,
                       unchanged=row.unchanged, failed=row.failed, requests=row.requests,
                       http_status=row.http_status, notes=list(row.notes or []),
                       errors=list(row.errors or []))
        if row.started_at:
            t.started = row.started_at.timestamp()
            t.finished = (row.finished_at or timezone.now()).timestamp()
            starts.append(row.started_at)
            ends.append(row.finished_at or timezone.now())
        report.types.append(t)
        report.requests += row.requests
    report.close_enqueued(run.pk, starts, ends)
    return report
