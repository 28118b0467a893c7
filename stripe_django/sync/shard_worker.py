"""What a Django Tasks worker does with one shard of a ``stripe_sync --enqueue`` run
(see :mod:`.distributed`): claim the shard's row, run it through ``sync()`` under a
cursor lease with the key's shared pace, record the result on the row, and queue what
comes next (the account's changes after its last list; the shard again, later, when
another worker holds its cursor).

The queuing goes through the :class:`ShardQueue` the caller gives:
:class:`stripe_django.tasks.SyncShardQueue` queues ``run_sync_shard`` tasks. So this
module needs no Tasks framework, and imports neither :mod:`stripe_django.tasks` nor
:mod:`.distributed`.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from django.db import router, transaction
from django.db.models import F
from django.utils import timezone

from ..conf import stripe_settings
from .events import CHANGES
from .leases import CursorLease, worker_name
from .plan import api_key_of, key_mode, pace
from .progress import Progress
from .ratelimit import RateLimiter, shared_limiter
from .report import FAILED, OK, SKIPPED, UNAVAILABLE, SyncReport
from .service import WorkerHooks, sync

logger = logging.getLogger("stripe_django.sync")

__all__ = ["ShardQueue", "run_shard", "run_models", "alias_for", "FINAL", "BUSY_RETRY_DELAY",
           "BUSY_RETRIES"]

# A shard whose cursor another worker holds is queued again this much later, this often.
BUSY_RETRY_DELAY = 30
BUSY_RETRIES = 20
# The statuses of a shard that has run (its row's ``status``).
FINAL = ("ok", "failed", "unavailable", "skipped")


class ShardQueue(Protocol):
    """Queues shards to be run by a worker."""

    def enqueue(self, shard_id: int, using: str | None, delay: float | None = None) -> None:
        """Queue the shard (``delay``: seconds before it may run)."""

    def defers(self) -> bool:
        """Whether a shard can be queued with a delay."""


def run_models() -> tuple[Any, Any, Any]:
    """The models of an enqueued run: (SyncCursor, SyncRun, SyncShard)."""
    from ..models import SyncCursor, SyncRun, SyncShard

    return SyncCursor, SyncRun, SyncShard


def alias_for(using: str | None) -> str:
    """The database alias of a run's rows."""
    return using or router.db_for_write(run_models()[1])


def _limiter(client: Any, livemode: bool, rate_limit: float | None, db: str) -> Any:
    api_key = api_key_of(client)
    rate = pace(rate_limit, livemode)
    from django.db import connections

    connection = connections[db]
    if not api_key or (connection.vendor == "sqlite" and connection.is_in_memory_db()):
        # An in-memory database is this process's alone: nobody to share the pace with.
        return RateLimiter(rate)
    return shared_limiter(api_key, rate, using=db, redis_url=stripe_settings.SYNC_RATE_LIMIT_REDIS)


def run_shard(shard_id: int, *, queue: ShardQueue, using: str | None = None,
              client: Any = None) -> dict[str, Any]:
    """Run one shard (what the task does). Returns what the shard's row now says."""
    from ..client import get_client
    from ..conf import api_key_for

    SyncCursor, SyncRun, SyncShard = run_models()
    db = alias_for(using)
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
        if options.get("verify") is not None:
            # A shard of ``stripe_verify --enqueue``: it reads, and heals through ingest,
            # but moves no cursor (no lease to take).
            from ..verify.enqueued import run_verify_shard

            fields = run_verify_shard(shard, client=client, limiter=limiter, using=db)
            if not _record(shard, db, **fields):
                return _lost(shard, db)
            return _finish(shard, db, using, queue)
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
        return _finish(shard, db, using, queue)
    busy = {id(t) for t in report.busy}
    if busy and all(id(t) in busy for t in report.types):
        return _busy(shard, db, report, using, queue)
    if not _record_report(shard, db, report):
        return _lost(shard, db)
    return _finish(shard, db, using, queue)


def _busy(shard: Any, db: str, report: SyncReport, using: str | None,
          queue: ShardQueue) -> dict[str, Any]:
    """Another worker holds the shard's cursor: queue the shard again later."""
    SyncShard = run_models()[2]
    if shard.attempts <= BUSY_RETRIES and queue.defers():
        if not _claimed(shard, db).update(
                status=SyncShard.Status.QUEUED, notes=["another worker holds its cursor; queued again"]):
            return _lost(shard, db)
        transaction.on_commit(lambda: queue.enqueue(shard.pk, using, BUSY_RETRY_DELAY), using=db)
        return {"shard": shard.pk, "status": "queued", "ran": False}
    if not _record(shard, db, status=SKIPPED, notes=["another worker held its cursor; not run"]):
        return _lost(shard, db)
    return _finish(shard, db, using, queue)


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
    SyncShard = run_models()[2]
    return SyncShard._default_manager.using(db).filter(
        pk=shard.pk, status=SyncShard.Status.RUNNING, worker=shard.worker, attempts=shard.attempts)


def _record(shard: Any, db: str, **fields: Any) -> bool:
    """Record the shard's result; False when the shard is no longer this worker's."""
    fields.setdefault("finished_at", timezone.now())
    return bool(_claimed(shard, db).update(**fields))


def _lost(shard: Any, db: str) -> dict[str, Any]:
    logger.warning("stripe_django: sync shard %s was taken over by another worker; its result "
                   "here is not recorded", shard)
    row = run_models()[2]._default_manager.using(db).filter(pk=shard.pk).values("status").first()
    return {"shard": shard.pk, "status": (row or {}).get("status"), "ran": False}


def _finish(shard: Any, db: str, using: str | None, queue: ShardQueue) -> dict[str, Any]:
    """After a shard: queue its account's changes when its lists are all done, and mark
    the run finished when every shard is. Conditional updates: when two workers finish
    at once, one of them does each."""
    SyncCursor, SyncRun, SyncShard = run_models()
    rows = SyncShard._default_manager.using(db)
    mine = rows.filter(run_id=shard.run_id)
    if shard.name != CHANGES:
        lists_left = mine.filter(account=shard.account).exclude(name=CHANGES).exclude(status__in=FINAL)
        if not lists_left.exists():
            changes = mine.filter(account=shard.account, name=CHANGES, status=SyncShard.Status.WAITING)
            pks = list(changes.values_list("pk", flat=True))
            if pks and changes.update(status=SyncShard.Status.QUEUED):
                transaction.on_commit(lambda: queue.enqueue(pks[0], using), using=db)
    if not mine.exclude(status__in=FINAL).exists():
        SyncRun._default_manager.using(db).filter(pk=shard.run_id, finished_at__isnull=True).update(
            finished_at=timezone.now())
    row = rows.filter(pk=shard.pk).values("status", "fetched", "created", "updated", "requests").first()
    return {"shard": shard.pk, **(row or {}), "ran": True}
