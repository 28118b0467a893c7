"""``stripe_verify --enqueue``: a verification split into (listed type, account) shards
that Django Tasks workers run, on the sync's shard machinery.

A verification run is a :class:`~stripe_django.models.SyncRun` whose ``options`` hold
``"verify"`` (``sample``, ``heal`` and the id its
:class:`~stripe_django.models.VerificationRun` rows share), with one
:class:`~stripe_django.models.SyncShard` per (type, account) and no Events API shard.
:func:`~stripe_django.sync.distributed.enqueue_run` records and queues it, the
``run_sync_shard`` task claims each shard as for a sync (a task delivered twice runs
once; ``--requeue`` takes back the shards of a dead worker), and
:func:`~stripe_django.sync.shard_worker.run_shard` hands a verification's shard to
:func:`run_verify_shard`: :func:`~.run.verify` of that one type and account, behind the
pace every worker of the key shares. Each shard writes its ``VerificationRun`` row as an
inline run does; :func:`verification_report` gathers them for ``stripe_verify --run ID``.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any, Iterable

from ..sync.progress import Progress
from ..sync.report import OK, SKIPPED
from .compare import Difference
from .report import VerifyReport, VerifyTypeReport
from .sample import describe_bound

if TYPE_CHECKING:
    import stripe

    from ..models import SyncRun

__all__ = ["enqueue_verification", "run_verify_shard", "verification_report", "is_verification"]


def enqueue_verification(types: Iterable[str] | None = None, *, account: str | None = None,
                         all_accounts: bool = False, sample: int | None = None,
                         heal: bool = False, key: str | None = None,
                         rate_limit: float | None = None, page_size: int | None = None,
                         using: str | None = None, client: stripe.StripeClient | None = None,
                         workers: int = 1) -> SyncRun:
    """Record a verification run and its shards and enqueue them; returns the
    :class:`~stripe_django.models.SyncRun`. Arguments as for :func:`~.run.verify`."""
    from ..sync.distributed import enqueue_run

    if sample is not None and sample < 1:
        raise ValueError("sample must be at least 1")
    if workers < 1:
        raise ValueError("workers must be at least 1")
    return enqueue_run(types, account=account, all_accounts=all_accounts, key=key,
                       events=False, rate_limit=rate_limit, page_size=page_size, using=using,
                       client=client, workers=workers,
                       verify={"sample": sample, "heal": heal, "run": uuid.uuid4().hex})


def is_verification(run: Any) -> bool:
    """Whether a :class:`~stripe_django.models.SyncRun` is a verification."""
    return run.kind == "verification"


def run_verify_shard(shard: Any, *, client: Any, limiter: Any, using: str) -> dict[str, Any]:
    """Verify a shard's type in its account (what its worker does); returns the fields
    of the shard's row that say how it went.

    Called outside any transaction, as the workers run tasks: the retrieves take their
    slot of the shared pace (a row of ``SyncRateLimit``, without a Redis) from this
    thread while the listing's thread takes slots too, on its own connection; a
    transaction held here would keep the listing waiting for the row."""
    from .run import verify

    run = shard.run
    options = run.options or {}
    job = options["verify"]
    report = verify([shard.name], account=shard.account or None, key=run.key or None,
                    client=client, progress=_Heartbeat(shard, using), using=using,
                    sample=job.get("sample"),
                    heal=bool(job.get("heal")), page_size=options.get("page_size"),
                    workers=options.get("workers") or 1, run=job["run"], limiter=limiter)
    types = report.verified
    if not types:  # nothing of it is listed in this account
        return {"status": SKIPPED, "notes": list(report.notes)}
    t = types[0]
    # The sample's bound goes in the notes: the shard's row has no columns for its counts.
    bound = [f"sample: {describe_bound(t.sampled_differing, t.sampled)}"] if job.get("sample") else []
    return {"status": t.status, "mode": t.mode, "fetched": t.fetched, "failed": t.failed,
            "requests": t.requests, "http_status": t.http_status,
            "notes": bound + t.notes + report.notes, "errors": t.errors[:50]}


class _Heartbeat(Progress):
    """Marks the running shard alive (``SyncShard.alive_at``) as it gets through its
    list, a few times per ``SYNC_LEASE_SECONDS``: a verification holds no cursor lease,
    and ``--requeue`` must not take back a shard whose worker is still at it."""

    def __init__(self, shard: Any, using: str) -> None:
        from ..conf import stripe_settings

        self.shard = shard
        self.using = using
        self.every = float(stripe_settings.SYNC_LEASE_SECONDS) / 5
        self.last = time.monotonic()

    def update(self, force: bool = False) -> None:
        if time.monotonic() - self.last < self.every:
            return
        from django.utils import timezone

        self.last = time.monotonic()
        type(self.shard)._default_manager.using(self.using).filter(
            pk=self.shard.pk, status="running").update(alive_at=timezone.now())


def verification_report(run: Any, *, using: str | None = None) -> VerifyReport:
    """A :class:`~.report.VerifyReport` of an enqueued verification from its rows: the
    ``VerificationRun`` of each shard that has run, the others as pending (for
    :func:`~.report.format_verify_summary`)."""
    from ..conf import platform_account_for
    from ..models import VerificationRun
    from ..sync.shard_worker import alias_for, run_models

    db = alias_for(using)
    job = run.options["verify"]
    # ``sample`` None: each shard's bound is among its notes (see run_verify_shard).
    report = VerifyReport(run=job["run"], sample=None, healing=bool(job.get("heal")))
    records = {(r.object_type, r.account): r for r in
               VerificationRun._default_manager.using(db).filter(run=job["run"])}
    platform = platform_account_for(run.key or None) or ""
    starts, ends = [], []
    for shard in run_models()[2]._default_manager.using(db).filter(run=run).order_by("pk"):
        t = VerifyTypeReport(shard.name, shard.account or None, requests=shard.requests,
                             notes=list(shard.notes or []), errors=list(shard.errors or []))
        record = records.get((shard.name, shard.account or platform))
        if shard.status in ("queued", "waiting", "running"):
            t.status = "pending" if shard.status != "running" else shard.status
        else:
            # A shard that failed outside verify() may have left its row "running".
            t.status = record.status if record and shard.status == OK else shard.status
        if record is not None and t.status not in ("pending", "running"):
            t.mode, t.fetched = record.mode, shard.fetched
            t.compared, t.healed, t.upper_bound = record.compared, record.healed, record.upper_bound
            t.differences = [Difference(d.get("kind", ""), d.get("type", ""), d.get("id", ""),
                                        d.get("detail", "")) for d in record.differences or []]
            if record.differing > len(t.differences):
                t.note(f"{record.differing - len(t.differences):,} more difference(s) not "
                       f"recorded (a row keeps {record.MAX_RECORDED:,})")
            if record.finished_at:
                t.started = record.started_at.timestamp()
                t.finished = record.finished_at.timestamp()
                starts.append(record.started_at)
                ends.append(record.finished_at)
        report.types.append(t)
        report.requests += shard.requests
    report.close_enqueued(run.pk, starts, ends)
    return report
