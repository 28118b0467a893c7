"""Waiting for an enqueued run, written once for ``stripe_sync --enqueue --wait`` and
``stripe_verify --enqueue --wait`` (both are a :class:`~stripe_django.models.SyncRun`
whose shards Django Tasks workers run)."""

from __future__ import annotations

import time
from typing import Any

from ..sync.distributed import worker_hint

__all__ = ["wait_for_run", "started", "EnqueuedRun", "IDLE_HINT_SECONDS"]

# Seconds of waiting for a run no worker has touched before the command says so.
IDLE_HINT_SECONDS = 60


def started(run: Any) -> bool:
    """Whether a worker has taken any shard of the run."""
    return run.shards.exclude(status__in=["queued", "waiting"]).exists()


def wait_for_run(run: Any, timeout: float | None, stderr: Any, label: str) -> None:
    """Until the run has finished, or ``timeout`` seconds. Says so on ``stderr``, once,
    when no worker has taken any shard for a while: a run nobody works on never ends.
    ``label``: how the run is named there ("sync run 4")."""
    began = time.monotonic()
    hinted = False
    while not run.finished:
        waited = time.monotonic() - began
        if timeout is not None and waited >= timeout:
            return
        if not hinted and waited >= IDLE_HINT_SECONDS and not started(run):
            stderr.write(f"{label}: no worker has started any of its shards in "
                         f"{IDLE_HINT_SECONDS} s ({worker_hint()}); still waiting")
            hinted = True
        time.sleep(0.5)
        run.refresh_from_db()


class EnqueuedRun:
    """What ``stripe_sync --run`` and ``stripe_verify --run`` share: finding the run (and
    refusing the other command's), ``--requeue``, ``--wait``, the heading, and exit status 2
    while it goes on. ``kind``: "sync" or "verification"; ``command``: the command's name."""

    def __init__(self, kind: str, command: str, options: dict[str, Any], stdout: Any,
                 stderr: Any) -> None:
        self.kind, self.command, self.options = kind, command, options
        self.stdout, self.stderr = stdout, stderr

    def load(self, run_id: int) -> Any:
        """The run, after ``--requeue`` and ``--wait`` have been done."""
        from django.core.exceptions import ObjectDoesNotExist
        from django.core.management.base import CommandError

        from ..models import SyncRun
        from ..sync.distributed import requeue
        from ..verify.enqueued import is_verification

        database = self.options["database"]
        runs = SyncRun._default_manager.using(database) if database else SyncRun._default_manager.all()
        try:
            run = runs.get(pk=run_id)
        except ObjectDoesNotExist:
            raise CommandError(f"no {self.kind} run {run_id}") from None
        if is_verification(run) != (self.kind == "verification"):
            other, command = (("sync", "stripe_sync") if self.kind == "verification"
                              else ("verification", "stripe_verify"))
            raise CommandError(f"run {run_id} is a {other}: `manage.py {command} --run {run_id}` "
                               "shows it")
        if self.options["requeue"]:
            count = requeue(run_id, using=database)
            self.stdout.write(f"{self.kind} run {run_id}: {count} shard(s) queued again")
            left = run.shards.filter(status__in=["running", "queued"]).count() - count
            if left > 0:
                self.stdout.write(
                    f"  {left} other shard(s) running or queued: a running shard is taken back "
                    "once its lease has expired, queued ones once the run has not moved for "
                    "SYNC_LEASE_SECONDS")
        if self.options["wait"]:
            wait_for_run(run, self.options["timeout"], self.stderr, f"{self.kind} run {run.pk}")
        return run

    def heading(self, run: Any) -> str:
        state = "finished" if run.finished else "running"
        return f"{self.kind} run {run.pk} ({state}, started {run.created_at:%Y-%m-%d %H:%M:%S} UTC)"

    def refuse_unfinished(self, run: Any) -> None:
        """Exit status 2 when ``--wait`` stopped waiting before the run ended."""
        from django.core.management.base import CommandError

        if self.options["wait"] and not run.finished:
            idle = "" if started(run) else f"; no worker has started any of its shards ({worker_hint()})"
            raise CommandError(f"{self.command}: run {run.pk} still running after "
                               f"{self.options['timeout']:g} s{idle}", returncode=2)
