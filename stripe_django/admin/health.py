"""The mirror's health page: is the copy current, and what needs a person's attention.

:func:`collect` gathers the figures (a fixed number of queries: one per mirrored model
that has a sync cursor, plus a few for events); :func:`health_view` renders them with
``admin/stripe_django/health.html``. Each part of the page is one attribute of
:class:`MirrorHealth` and one block of the template, so a new part (a summary of the
last sync runs, say) is a new attribute and a new block.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import router
from django.db.models import Count, Sum
from django.db.models.functions import TruncHour
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from .. import checks, type_table
from ..conf import stripe_settings
from ..ingest.columns import model_for
from ..models import Event
from ..models.processing import ProcessingStatus
from ..models.sync_state import SyncCursor, SyncRun, SyncShard
from . import chart
from .events import cursor_position

WINDOW = dt.timedelta(hours=24)


@dataclass
class CursorRow:
    """One listed type in one account: rows stored, and where its sync stands."""

    object_type: str
    account: str
    livemode: bool
    rows: int | None
    complete: bool
    last_synced_at: dt.datetime | None
    last_error: str
    position: str
    changelist_url: str | None = None


@dataclass
class Notice:
    """A line of "Needs attention"."""

    message: str
    hint: str = ""
    url: str | None = None
    level: str = "warning"  # or "error"


@dataclass
class RunRow:
    """One ``stripe_sync --enqueue`` run: its shards by status and what they stored."""

    run: SyncRun
    shards_by_status: dict[str, int]
    fetched: int
    failed_objects: int
    url: str | None = None

    @property
    def result(self) -> str:
        if self.shards_by_status.get(SyncShard.Status.FAILED):
            return "failed"
        if self.run.finished_at is None:
            return "running"
        return "ok"


RECENT_RUNS = 5


@dataclass
class MirrorHealth:
    now: dt.datetime
    cursors: list[CursorRow] = field(default_factory=list)
    # received in the last 24 h, per processing status
    events_by_status: dict[str, int] = field(default_factory=dict)
    # (hour, {status: count}) for each of the last 24 hours, oldest first
    events_per_hour: list[tuple[dt.datetime, dict[str, int]]] = field(default_factory=list)
    failed_pending: int = 0
    newest_processed: Any = None  # the Event created last among the processed ones
    warnings: list[Notice] = field(default_factory=list)
    runs: list[RunRow] = field(default_factory=list)  # the newest sharded runs, newest first


def collect(*, using: str | None = None, site_name: str = "admin") -> MirrorHealth:
    alias = using or router.db_for_read(Event)
    now = timezone.now()
    health = MirrorHealth(now=now)

    cursors = list(SyncCursor._default_manager.using(alias).order_by("account", "livemode", "object_type"))
    counts = _row_counts(alias, {c.object_type for c in cursors})
    for cursor in cursors:
        models = _models_of(cursor.object_type)
        rows = sum(counts.get((m, cursor.account or None, cursor.livemode), 0) for m in models)
        url = _changelist_url(models[0], site_name) if models else None
        if url and cursor.account:
            url += f"?stripe_account__exact={cursor.account}"
        health.cursors.append(CursorRow(
            object_type=cursor.object_type, account=cursor.account, livemode=cursor.livemode,
            rows=rows if models else None, complete=cursor.complete,
            last_synced_at=cursor.last_synced_at, last_error=cursor.last_error,
            position=cursor_position(cursor), changelist_url=url))

    events = Event._default_manager.using(alias)
    recent = events.filter(received_at__gte=now - WINDOW)
    health.events_by_status = dict(
        recent.order_by().values_list("processing_status").annotate(n=Count("pk")))
    health.events_per_hour = _per_hour(events, now)
    max_attempts = int(stripe_settings.EVENT_MAX_ATTEMPTS)
    health.failed_pending = events.filter(processing_status=ProcessingStatus.FAILED,
                                          processing_attempts__lt=max_attempts).count()
    health.newest_processed = (events.filter(processing_status=ProcessingStatus.PROCESSED)
                               .only("id", "type", "created", "processed_at").order_by("-created").first())
    health.runs = _recent_runs(alias, site_name)
    health.warnings = _warnings(health, cursors, alias, site_name)
    return health


def _recent_runs(alias: str, site_name: str) -> list[RunRow]:
    """The newest sharded sync runs with their shards counted by status (two queries)."""
    runs = list(SyncRun._default_manager.using(alias).order_by("-id")[:RECENT_RUNS])
    tallies: dict[int, dict[str, Any]] = {run.pk: {"by_status": {}, "fetched": 0, "failed": 0}
                                          for run in runs}
    shards = (SyncShard._default_manager.using(alias).filter(run__in=list(tallies))
              .order_by().values_list("run_id", "status")
              .annotate(n=Count("pk"), fetched=Sum("fetched"), failed=Sum("failed")))
    for run_id, status, n, fetched, failed in shards:
        tally = tallies[run_id]
        tally["by_status"][status] = n
        tally["fetched"] += fetched or 0
        tally["failed"] += failed or 0
    order = {status: i for i, status in enumerate(SyncShard.Status.values)}
    rows = []
    for run in runs:
        tally = tallies[run.pk]
        tally["by_status"] = dict(sorted(tally["by_status"].items(), key=lambda kv: order.get(kv[0], 99)))
        try:
            url = reverse(f"{site_name}:stripe_django_syncrun_change", args=[run.pk])
        except NoReverseMatch:
            url = None
        rows.append(RunRow(run=run, shards_by_status=tally["by_status"], fetched=tally["fetched"],
                           failed_objects=tally["failed"], url=url))
    return rows


def _per_hour(events, now: dt.datetime) -> list[tuple[dt.datetime, dict[str, int]]]:
    """Events received per hour (UTC) and status, for the current hour and the 23 before."""
    utc = dt.timezone.utc
    first = now.astimezone(utc).replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=23)
    hourly: dict[dt.datetime, dict[str, int]] = defaultdict(dict)
    rows = (events.filter(received_at__gte=first)
            .annotate(hour=TruncHour("received_at", tzinfo=utc))  # no time zone tables needed
            .order_by().values_list("hour", "processing_status").annotate(n=Count("pk")))
    for hour, status, n in rows:
        hourly[hour.astimezone(utc)][status] = n
    hours = [first + dt.timedelta(hours=h) for h in range(24)]
    return [(hour, hourly.get(hour, {})) for hour in hours]


def _models_of(list_name: str) -> list:
    spec = type_table.SYNC_LISTS.get(list_name)
    types = spec.objects if spec else (list_name,)
    return [m for m in (model_for(t) for t in types) if m is not None]


def _row_counts(alias: str, list_names: set[str]) -> dict[tuple[Any, str | None, bool], int]:
    """Rows not deleted, per (model, account, livemode): one GROUP BY per model."""
    counts: dict[tuple[Any, str | None, bool], int] = {}
    for model in {m for name in list_names for m in _models_of(name)}:
        has_livemode = any(f.name == "livemode" for f in model._meta.concrete_fields)
        keys = ("stripe_account", "livemode") if has_livemode else ("stripe_account",)
        rows = model._base_manager.using(alias).filter(deleted=False).order_by().values_list(*keys)
        for *key, n in rows.annotate(n=Count("pk")):
            account, livemode = key[0], bool(key[1]) if has_livemode else False
            if has_livemode:
                counts[(model, account, livemode)] = counts.get((model, account, livemode), 0) + n
            else:  # no livemode column: the rows count for both modes
                for mode in (False, True):
                    counts[(model, account, mode)] = counts.get((model, account, mode), 0) + n
    return counts


def _changelist_url(model, site_name: str) -> str | None:
    from django.urls import NoReverseMatch

    try:
        return reverse(f"{site_name}:{model._meta.app_label}_{model._meta.model_name}_changelist")
    except NoReverseMatch:
        return None


def failed_events_url(site_name: str = "admin") -> str:
    return (reverse(f"{site_name}:stripe_django_event_changelist")
            + f"?processing_status__exact={ProcessingStatus.FAILED}")


def _warnings(health: MirrorHealth, cursors: list[SyncCursor], alias: str, site_name: str) -> list[Notice]:
    warnings = []
    # The system checks of the settings and of events given up on, as `manage.py check` says them.
    for message in [*checks.check_settings(), *checks.check_failed_events(databases=[alias])]:
        warnings.append(Notice(message.msg, hint=message.hint or "",
                                level="error" if message.level >= 40 else "warning"))
    if not any(c.last_synced_at for c in cursors):
        warnings.append(Notice("stripe_sync has never stored a page: the mirror holds only what "
                                "webhooks and upsert() brought.", hint="Run `manage.py stripe_sync`."))
    failing = [c.object_type for c in cursors if c.last_error]
    if failing:
        warnings.append(Notice(f"The last sync of {len(failing)} type(s) failed: {', '.join(failing[:10])}.",
                                hint="See the error of each below; the next run resumes where it stopped.",
                                level="error"))
    if health.failed_pending:
        warnings.append(Notice(f"{health.failed_pending} failed webhook event(s) wait for a retry.",
                                hint="Retry them from the events list, or run "
                                     "`manage.py stripe_process_events`.",
                                url=failed_events_url(site_name), level="error"))
    return warnings


def health_view(model_admin):
    """The page as a view of ``model_admin``'s site (staff only, through ``admin_view``;
    the user also needs the permission to view sync cursors)."""

    def view(request):
        if not model_admin.has_view_permission(request):
            raise PermissionDenied
        site = model_admin.admin_site
        health = collect(site_name=site.name)
        events_url = reverse(f"{site.name}:stripe_django_event_changelist")
        context = {
            **site.each_context(request),
            "title": "Mirror health",
            "opts": model_admin.opts,
            "health": health,
            "chart": chart.events_per_hour(health.events_per_hour),
            # (status, events received in the window, the events list filtered on it)
            "by_status": [(s.value, health.events_by_status.get(s.value, 0),
                           f"{events_url}?processing_status__exact={s.value}") for s in ProcessingStatus],
            "legend": chart.legend(),
        }
        return TemplateResponse(request, "admin/stripe_django/health.html", context)

    return view
