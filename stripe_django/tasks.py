"""stripe_django's Django Tasks: webhook events and sync shards processed by workers.

Django 6 ships the Tasks framework (``django.tasks``); on Django 5.2 the ``django-tasks``
backport provides the same API. Either way the worker is the backend's own
(``manage.py db_worker`` for ``django-tasks-db``, ``manage.py rqworker`` for
``django-tasks-rq``); the tasks go to ``STRIPE_DJANGO["TASKS_BACKEND"]`` and
``["TASKS_QUEUE"]``.

* :data:`process_stripe_event`: processes one stored event through the same claim and
  ingest as the webhook view's inline path (:func:`~.webhooks.processing.process_event`).
  A failure that may pass is tried again later, after ``EVENT_RETRY_DELAY`` seconds
  doubled at each attempt, while the event has had fewer than ``EVENT_MAX_ATTEMPTS``
  attempts and the backend can defer a task; ``manage.py stripe_process_events``
  remains the safety net for everything else.
* :data:`run_sync_shard`: runs one shard of a ``stripe_sync --enqueue`` run (see
  :mod:`stripe_django.sync.distributed`); :class:`SyncShardQueue` queues such tasks.

This module is imported only where tasks are used: importing it needs a Tasks framework.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from .conf import stripe_settings

if TYPE_CHECKING:
    from .webhooks.processing import Outcome

logger = logging.getLogger("stripe_django.tasks")

try:  # Django 6
    from django.tasks import task, task_backends  # type: ignore[import-not-found]
except ImportError:  # Django 5.2 and the backport
    try:
        from django_tasks import task, task_backends  # type: ignore[import-not-found,no-redef]
    except ImportError as error:  # pragma: no cover - reported by the system check
        raise ImportError(
            "stripe_django's tasks need Django 6's django.tasks or, on Django 5.2, the "
            "django-tasks package (pip install 'django-stripe-mirror[tasks]')") from error

__all__ = ["process_stripe_event", "run_sync_shard", "receive_event_later", "enqueue",
           "retry_delay", "backend_defers", "SyncShardQueue", "EventNotProcessed"]

# The longest wait between two tries of an event.
MAX_RETRY_DELAY = 3600


class EventNotProcessed(Exception):
    """Raised by :data:`process_stripe_event` when processing failed (the task result
    then shows the failure; the event row says why and whether it is retried)."""


def _options() -> dict[str, Any]:
    return {"backend": stripe_settings.TASKS_BACKEND, "queue_name": stripe_settings.TASKS_QUEUE}


def enqueue(task_: Any, *args: Any, run_after: dt.datetime | None = None) -> Any:
    """Enqueue ``task_`` on the configured backend and queue (``run_after``: not before)."""
    options = _options()
    if run_after is not None:
        options["run_after"] = run_after
    return task_.using(**options).enqueue(*args)


def retry_delay(attempts: int) -> float:
    """Seconds before the next try of an event that failed ``attempts`` times."""
    base = float(stripe_settings.EVENT_RETRY_DELAY)
    return min(base * 2 ** max(0, attempts - 1), MAX_RETRY_DELAY)


def backend_defers() -> bool:
    """Whether the configured backend can run a task later (``run_after``)."""
    try:
        return bool(task_backends[stripe_settings.TASKS_BACKEND].supports_defer)
    except Exception:  # noqa: BLE001 - a backend that cannot say
        return False


# --- webhook events ----------------------------------------------------------------------

@task(backend=stripe_settings.TASKS_BACKEND, queue_name=stripe_settings.TASKS_QUEUE)
def process_stripe_event(event_id: str, using: str | None = None) -> dict[str, Any]:
    """Process one stored event (see the module docstring)."""
    from .models import Event
    from .webhooks.processing import FAILED, _alias, process_event

    outcome = process_event(event_id, using=using)
    result = {"event": event_id, "status": outcome.status, "ignored": outcome.ignored}
    if outcome.status != FAILED:
        return result
    retry = ""
    if outcome.transient:
        attempts = (Event._default_manager.db_manager(_alias(using))
                    .filter(pk=event_id).values_list("processing_attempts", flat=True).first()) or 1
        if attempts >= stripe_settings.EVENT_MAX_ATTEMPTS:
            retry = (f"; it failed {attempts} times, EVENT_MAX_ATTEMPTS: no more retries "
                     "(manage.py stripe_process_events EVENT_ID processes it)")
        elif not backend_defers():
            retry = ("; this tasks backend cannot defer a task: manage.py stripe_process_events "
                     "retries it")
        else:
            delay = retry_delay(attempts)
            try:
                enqueue(process_stripe_event, event_id, using,
                        run_after=timezone.now() + dt.timedelta(seconds=delay))
                retry = f"; tried again in {delay:g} s"
            except Exception as error:  # noqa: BLE001 - the safety net remains
                logger.exception("stripe_django: could not enqueue a retry of event %s", event_id)
                retry = f"; a retry could not be enqueued ({type(error).__name__}): " \
                        "manage.py stripe_process_events retries it"
    raise EventNotProcessed(f"event {event_id}: {outcome.error}{retry}")


def receive_event_later(event: dict[str, Any] | None, *, endpoint: str | None = "",
                        using: str | None = None, raw: bytes | None = None,
                        problem: str = "") -> Outcome:
    """What the webhook view does with ``EVENTS_ON_TASKS``: store the event durably,
    then enqueue its processing once that is committed, and return a ``queued`` outcome.

    If the enqueue fails (the queue is down), the event is processed here and now, as
    without tasks. Inside a transaction of the caller's, the enqueue waits for its commit;
    if it fails then, the event stays pending and ``stripe_process_events`` picks it up.
    """
    from .models import Event
    from .models.processing import ProcessingStatus
    from .webhooks.processing import (DUPLICATE, FAILED, QUEUED, Outcome, _alias, process_event,
                                      store_event)

    stored = store_event(event, endpoint=endpoint, using=using, raw=raw, problem=problem)
    if not stored.usable:
        return Outcome(stored.key, status=FAILED, error=stored.problem, transient=False)
    alias = _alias(using)
    if not stored.new and Event._default_manager.db_manager(alias).filter(
            pk=stored.key, processing_status=ProcessingStatus.PROCESSED).exists():
        # A redelivery of an event processed already: nothing to queue.
        return Outcome(stored.key, status=DUPLICATE)
    failures: list[BaseException] = []

    def send() -> None:
        try:
            enqueue(process_stripe_event, stored.key, using)
        except Exception as error:  # noqa: BLE001 - handled below, or by the safety net
            failures.append(error)
            logger.exception("stripe_django: could not enqueue event %s; %s", stored.key,
                             "processing it now" if not in_transaction else
                             "it stays pending for stripe_process_events")

    in_transaction = transaction.get_connection(alias).in_atomic_block
    transaction.on_commit(send, using=alias)  # runs now outside a transaction
    if failures and not in_transaction:
        from .conf import endpoint_key

        return process_event(stored.key, payload=event, using=using, key=endpoint_key(endpoint))
    return Outcome(stored.key, status=QUEUED)


# --- sync shards -------------------------------------------------------------------------

@task(backend=stripe_settings.TASKS_BACKEND, queue_name=stripe_settings.TASKS_QUEUE)
def run_sync_shard(shard_id: int, using: str | None = None) -> dict[str, Any]:
    """Run one shard of a ``stripe_sync --enqueue`` run."""
    from .sync.shard_worker import run_shard

    return run_shard(shard_id, queue=SyncShardQueue(), using=using)


class SyncShardQueue:
    """Queues sync shards as :data:`run_sync_shard` tasks on the configured backend (the
    :class:`~stripe_django.sync.shard_worker.ShardQueue` of the tasks framework)."""

    def enqueue(self, shard_id: int, using: str | None, delay: float | None = None) -> None:
        run_after = timezone.now() + dt.timedelta(seconds=delay) if delay else None
        enqueue(run_sync_shard, shard_id, using, run_after=run_after)

    def defers(self) -> bool:
        return backend_defers()
