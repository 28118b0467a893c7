"""Waiting for an enqueued run, written once for ``stripe_sync --enqueue --wait`` and
``stripe_verify --enqueue --wait`` (both are a :class:`~stripe_django.models.SyncRun`
whose shards Django Tasks workers run)."""

from __future__ import annotations

import time
from typing import Any

from ..sync.distributed import worker_hint

__all__ = ["wait_for_run", "started", "IDLE_HINT_SECONDS"]

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
