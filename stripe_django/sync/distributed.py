"""``stripe_sync --enqueue``: a sync run split into shards that Django Tasks workers run.

* :func:`enqueue_run` records a :class:`~stripe_django.models.SyncRun` with one
  :class:`~stripe_django.models.SyncShard` per (listed type, account), and per account one
  "changes" shard (the Events API catch-up, which must come after the account's lists),
  then enqueues the list shards once that is committed.
* :func:`run_shard` (the :data:`stripe_django.tasks.run_sync_shard` task) claims its
  shard with a conditional ``UPDATE`` (``queued`` -> ``running``: a task delivered twice
  finds nothing to do), takes the shard's cursor under a lease
  (:mod:`.leases`), and runs it through :func:`~.service.sync` with a request pacer
  shared by every worker of the API key (:class:`~.ratelimit.SharedRateLimiter`). The
  result goes on the shard's row. The last list shard of an account to finish queues the
  account's changes; the last shard of the run marks it finished.
* :func:`run_report` rebuilds a :class:`~.report.SyncReport` from the rows:
  ``manage.py stripe_sync --run ID`` prints it.

A shard whose cursor another worker holds (another run syncing the same type and
account) is queued again after a while, when the tasks backend can defer a task.
A worker that dies mid-shard leaves it ``running``: ``stripe_sync --run ID --requeue``
queues it again once its lease has expired, and it resumes after its last stored page.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Iterable

from django.db import router, transaction
from django.db.models import F
from django.utils import timezone

from ..conf import stripe_settings
from .events import CHANGES
from .fetcher import Fetcher
from .leases import CursorLease, worker_name
from .plan import api_key_of, connected_accounts, key_mode, pace, plan_shards, select_lists
from .progress import Progress
from .ratelimit import RateLimiter, shared_limiter
from .report import FAILED, OK, SKIPPED, UNAVAILABLE, SyncReport, TypeReport
from .service import WorkerHooks, sync

logger = logging.getLogger("stripe_django.sync")

__all__ = ["enqueue_run", "run_shard", "run_report", "requeue", "worker_hint", "CHANGES"]

# A shard whose cursor another worker holds is queued again this much later, this often.
BUSY_RETRY_DELAY = 30
BUSY_RETRIES = 20


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


def _models():
    from ..models import SyncCursor, SyncRun, SyncShard

    return SyncCursor, SyncRun, SyncShard


def _alias(using: str | None) -> str:
    return using or router.db_for_write(_models()[1])


def _enqueue(shard_id: int, using: str | None, delay: float | None = None) -> None:
    from ..tasks import enqueue, run_sync_shard

    run_after = timezone.now() + dt.timedelta(seconds=delay) if delay else None
    enqueue(run_sync_shard, shard_id, using, run_after=run_after)


def enqueue_run(types: Iterable[str] | None = None, *, account: str | None = None,
                all_accounts: bool = False, key: str | None = None, full: bool = False,
                events: bool = True, rate_limit: float | None = None,
                page_size: int | None = None, using: str | None = None,
                client: Any = None, workers: int = 1) -> Any:
    """Record a run and its shards and enqueue them; returns the :class:`SyncRun`.
    With ``all_accounts`` the connected accounts are listed here, first. ``workers``:
    threads of each shard, which list the created windows of a long list's full pass
    (see ``sync.slices``)."""
    import threading

    from ..client import get_client
    from ..conf import api_key_for

    SyncCursor, SyncRun, SyncShard = _models()
    names = select_lists(types)
    db = _alias(using)
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
                     "page_size": page_size, "workers": max(1, int(workers))})
        shards = []
        for acct in accounts:
            for planned in plan_shards(names, [acct]):
                if planned.listed:
                    shards.append(SyncShard(run=run, account=acct or "", name=planned.name,
                                            status=SyncShard.Status.QUEUED))
            if events:
                shards.append(SyncShard(run=run, account=acct or "", name=CHANGES,
                                        status=SyncShard.Status.WAITING))
        SyncShard._default_manager.using(db).bulk_create(shards)
        queued = list(SyncShard._default_manager.using(db)
                      .filter(run=run, status=SyncShard.Status.QUEUED).values_list("pk", flat=True))
        transaction.on_commit(lambda: [_enqueue(pk, using) for pk in queued], using=db)
    return run


def _limiter(client: Any, livemode: bool, rate_limit: float | None, db: str) -> Any:
    api_key = api_key_of(client)
    rate = pace(rate_limit, livemode)
    from django.db import connections

    connection = connections[db]
    if not api_key or (connection.vendor == "sqlite" and connection.is_in_memory_db()):
        # An in-memory database is this process's alone: nobody to share the pace with.
        return RateLimiter(rate)
    return shared_limiter(api_key, rate, using=db, redis_url=stripe_settings.SYNC_RATE_LIMIT_REDIS)


def run_shard(shard_id: int, *, using: str | None = None, client: Any = None) -> dict[str, Any]:
    """Run one shard (what the task does). Returns what the shard's row now says."""
    from ..client import get_client
    from ..conf import api_key_for

    SyncCursor, SyncRun, SyncShard = _models()
    db = _alias(using)
    rows = SyncShard._default_manager.using(db)
    me = worker_name()
    claimed = rows.filter(pk=shard_id, status=SyncShard.Status.QUEUED).update(
        status=SyncShard.Status.RUNNING, worker=me, started_at=timezone.now(),
        attempts=F("attempts") + 1)
    shard = rows.select_related("run").filter(pk=shard_id).first()
    if shard is None:
        return {"shard": shard_id, "status": "missing"}
    if not claimed:
        # Delivered twice, or requeued while it ran: never run twice.
        return {"shard": shard_id, "status": shard.status, "ran": False}
    run = shard.run
    options = run.options or {}
    try:
        client = client or get_client(api_key_for(run.key or None))
        limiter = _limiter(client, key_mode(client), options.get("rate_limit"), db)
        lease = CursorLease(owner=f"{me}:shard{shard.pk}")
        common = dict(account=shard.account or None, key=run.key or None, client=client,
                      progress=Progress(), using=db,
                      page_size=options.get("page_size"), workers=options.get("workers") or 1)
        if shard.name == CHANGES:
            hooks = WorkerHooks(limiter=limiter, lease=lease, listing=False,
                                expire_old_cursors=False)
            report = sync(run.types, events=True, hooks=hooks, **common)
        else:
            # The run's changes come after its lists, from the changes shard; a cursor
            # too old for them gets its full pass here.
            hooks = WorkerHooks(limiter=limiter, lease=lease,
                                expire_old_cursors=bool(options.get("events", True)))
            report = sync([shard.name], events=False, full=bool(options.get("full")),
                          hooks=hooks, **common)
    except Exception as error:  # noqa: BLE001 - recorded on the shard
        logger.exception("stripe_django: sync shard %s failed", shard)
        if not _record(shard, db, status=FAILED, errors=[f"{type(error).__name__}: {error}"]):
            return _lost(shard, db)
        return _finish(shard, db, using)
    busy = {id(t) for t in report.busy}
    if busy and all(id(t) in busy for t in report.types):
        return _busy(shard, db, report, using)
    if not _record_report(shard, db, report):
        return _lost(shard, db)
    return _finish(shard, db, using)


def _busy(shard: Any, db: str, report: SyncReport, using: str | None) -> dict[str, Any]:
    """Another worker holds the shard's cursor: queue the shard again later."""
    from ..tasks import backend_defers

    SyncShard = _models()[2]
    if shard.attempts <= BUSY_RETRIES and backend_defers():
        if not _claimed(shard, db).update(
                status=SyncShard.Status.QUEUED, notes=["another worker holds its cursor; queued again"]):
            return _lost(shard, db)
        transaction.on_commit(lambda: _enqueue(shard.pk, using, BUSY_RETRY_DELAY), using=db)
        return {"shard": shard.pk, "status": "queued", "ran": False}
    if not _record(shard, db, status=SKIPPED, notes=["another worker held its cursor; not run"]):
        return _lost(shard, db)
    return _finish(shard, db, using)


def _record_report(shard: Any, db: str, report: SyncReport) -> bool:
    types = report.types
    if shard.name == CHANGES:
        types = [t for t in report.types if t.name == CHANGES]
    if not types:
        note = "nothing to apply: no list of this account is complete" if shard.name == CHANGES else ""
        return _record(shard, db, status=OK if shard.name == CHANGES else SKIPPED,
                       notes=[note] if note else list(report.notes))
    t = types[0]
    status = t.status
    if status not in (OK, FAILED, UNAVAILABLE, SKIPPED):
        status = FAILED
    return _record(shard, db, status=status, mode=t.mode, fetched=t.fetched, created=t.created,
                   updated=t.updated, unchanged=t.unchanged, failed=t.failed, requests=t.requests,
                   http_status=t.http_status, notes=t.notes + report.notes, errors=t.errors[:50])


def _claimed(shard: Any, db: str) -> Any:
    """The shard's row while it is still this run of it: requeued (``--requeue``) and
    claimed again by another worker, it is that worker's to record."""
    SyncShard = _models()[2]
    return SyncShard._default_manager.using(db).filter(
        pk=shard.pk, status=SyncShard.Status.RUNNING, worker=shard.worker, attempts=shard.attempts)


def _record(shard: Any, db: str, **fields: Any) -> bool:
    """Record the shard's result; False when the shard is no longer this worker's."""
    fields.setdefault("finished_at", timezone.now())
    return bool(_claimed(shard, db).update(**fields))


def _lost(shard: Any, db: str) -> dict[str, Any]:
    logger.warning("stripe_django: sync shard %s was taken over by another worker; its result "
                   "here is not recorded", shard)
    row = _models()[2]._default_manager.using(db).filter(pk=shard.pk).values("status").first()
    return {"shard": shard.pk, "status": (row or {}).get("status"), "ran": False}


_FINAL = ("ok", "failed", "unavailable", "skipped")


def _finish(shard: Any, db: str, using: str | None) -> dict[str, Any]:
    """After a shard: queue its account's changes when its lists are all done, and mark
    the run finished when every shard is. Conditional updates: when two workers finish
    at once, one of them does each."""
    SyncCursor, SyncRun, SyncShard = _models()
    rows = SyncShard._default_manager.using(db)
    mine = rows.filter(run_id=shard.run_id)
    if shard.name != CHANGES:
        lists_left = mine.filter(account=shard.account).exclude(name=CHANGES).exclude(status__in=_FINAL)
        if not lists_left.exists():
            changes = mine.filter(account=shard.account, name=CHANGES, status=SyncShard.Status.WAITING)
            pks = list(changes.values_list("pk", flat=True))
            if pks and changes.update(status=SyncShard.Status.QUEUED):
                transaction.on_commit(lambda: _enqueue(pks[0], using), using=db)
    if not mine.exclude(status__in=_FINAL).exists():
        SyncRun._default_manager.using(db).filter(pk=shard.run_id, finished_at__isnull=True).update(
            finished_at=timezone.now())
    row = rows.filter(pk=shard.pk).values("status", "fetched", "created", "updated", "requests").first()
    return {"shard": shard.pk, **(row or {}), "ran": True}


def requeue(run_id: int, *, using: str | None = None) -> int:
    """Queue again the shards of a run left ``running`` by a worker that died (their
    cursor's lease has expired) or left ``queued`` with their task lost, and the changes
    of an account whose lists are all done that were never queued. Returns how many.

    A queued shard's task cannot be seen from here: it is taken for lost only when the
    run has not moved (no shard started or finished, the run not created) for
    ``SYNC_LEASE_SECONDS``. While workers get through the run, its queued shards are
    waiting in the queue, and queuing them again would only double it."""
    from django.db.models import Q

    SyncCursor, SyncRun, SyncShard = _models()
    db = _alias(using)
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
                    status__in=_FINAL).exists():
                continue  # queued by the last of its account's lists, still to run
        elif shard.status == SyncShard.Status.RUNNING:
            held = SyncCursor._default_manager.using(db).filter(
                leased_by__endswith=f":shard{shard.pk}", lease_expires__gt=now).exists()
            if held or (shard.started_at and shard.started_at > stale):
                continue
        if SyncShard._default_manager.using(db).filter(pk=shard.pk, status=shard.status).update(
                status=SyncShard.Status.QUEUED):
            transaction.on_commit(lambda pk=shard.pk: _enqueue(pk, using), using=db)
            count += 1
    return count


def run_report(run_id: int, *, using: str | None = None) -> SyncReport:
    """A :class:`SyncReport` of a run from its shards' rows (for ``format_summary``)."""
    SyncCursor, SyncRun, SyncShard = _models()
    db = _alias(using)
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
    if starts:
        report.seconds = (max(ends) - min(starts)).total_seconds()
    left = [t for t in report.types if t.status in ("pending", "running")]
    if left:
        report.notes.append(f"run {run.pk} is not finished: {len(left)} shard(s) queued or running")
    return report
