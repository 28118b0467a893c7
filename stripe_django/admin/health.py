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

from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import router
from django.db.models import BooleanField, Count, ExpressionWrapper, Max, Min, Q, Sum
from django.db.models.functions import TruncHour
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode

from .. import checks, type_table
from ..conf import stripe_settings
from ..ingest.columns import model_for
from ..models import Event
from ..models.processing import ProcessingStatus
from ..models.sync_state import SyncCursor, SyncRun, SyncShard
from ..models.verification import VerificationRun
from ..sync.events_access import REFUSED as EVENTS_REFUSED
from ..verify.latest import latest_runs
from . import chart
from .events import cursor_position

WINDOW = dt.timedelta(hours=24)


@dataclass
class CursorRow:
    """One listed type in one mode, either on the platform (one cursor: where its sync
    stands in words) or over the connected accounts (their cursors counted: at 500
    accounts the page would otherwise list tens of thousands of cursors)."""

    object_type: str
    livemode: bool
    connected: bool  # False: the platform's own cursor
    accounts: int  # cursors of the type (1 for the platform)
    synced: int  # of them, synced at least once
    complete: int  # of them, past their first full pass
    failing: int  # of them, whose last sync failed
    rows: int | None
    newest_sync: dt.datetime | None
    oldest_sync: dt.datetime | None
    last_error: str  # the platform's error, or one of the failing accounts'
    position: str = ""  # the platform's cursor only
    changelist_url: str | None = None
    cursors_url: str | None = None  # the per-account detail: the cursors of the type
    verification: VerifyCell | None = None  # the last stripe_verify of the type, if any

    @property
    def account(self) -> str:
        return "connected accounts" if self.connected else "platform"

    @property
    def in_use(self) -> bool:
        """The account offers the type: it was synced, holds rows, or fails. A type
        never synced and empty is one the key cannot read or the account does not use."""
        return bool(self.synced or self.rows or self.failing)

    @property
    def last_synced_at(self) -> dt.datetime | None:
        return self.newest_sync


@dataclass
class VerifyCell:
    """The last completed verification of a type: the platform's run, or the connected
    accounts' last runs summed (each account's newest run counted once)."""

    started_at: dt.datetime  # the newest of them
    oldest: dt.datetime  # the oldest of them (the platform: the same)
    accounts: int  # accounts whose type was verified (1 for the platform)
    compared: int
    missing: int
    extra: int
    stale: int
    url: str | None = None  # the run's page, or the list of the type's runs
    too_old: bool = False  # older than VERIFY_MAX_AGE, or accounts synced but not verified

    @property
    def differing(self) -> int:
        return self.missing + self.extra + self.stale

    @property
    def warn(self) -> bool:
        return bool(self.differing) or self.too_old


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
    cursors: list[CursorRow] = field(default_factory=list)  # those shown
    hidden_types: int = 0  # rows left out of ``cursors``: never synced, empty (``show_all`` shows them)
    show_all: bool = False
    last_sync: dt.datetime | None = None  # the newest sync of any type
    oldest_sync: dt.datetime | None = None  # the type synced longest ago
    # received in the last 24 h, per processing status
    events_by_status: dict[str, int] = field(default_factory=dict)
    # (hour, {status: count}) for each of the last 24 hours, oldest first
    events_per_hour: list[tuple[dt.datetime, dict[str, int]]] = field(default_factory=list)
    failed_pending: int = 0  # failed events a retry may still process
    failed_for_good: int = 0  # failed events no retry processes (see ``refused_for_good``)
    newest_processed: Any = None  # the Event created last among the processed ones
    warnings: list[Notice] = field(default_factory=list)
    runs: list[RunRow] = field(default_factory=list)  # the newest sharded runs, newest first
    verify_max_age: dt.timedelta | None = None


def collect(*, using: str | None = None, site_name: str = "admin", show_all: bool = False) -> MirrorHealth:
    alias = using or router.db_for_read(Event)
    now = timezone.now()
    health = MirrorHealth(now=now, show_all=show_all)

    rows = _type_rows(alias, site_name)
    try:
        max_age = stripe_settings.verify_max_age
    except ImproperlyConfigured:
        max_age = None  # the settings check names the bad value on this page
    _attach_verifications(rows, alias, site_name, now, max_age)
    shown = [row for row in rows if show_all or row.in_use]
    health.cursors, health.hidden_types = shown, len(rows) - len(shown)
    newest = [row.newest_sync for row in rows if row.newest_sync is not None]
    olds = [row.oldest_sync for row in rows if row.oldest_sync is not None]
    health.last_sync = max(newest, default=None)
    oldest = min(olds, default=None)
    if oldest and health.last_sync and health.last_sync - oldest >= dt.timedelta(minutes=1):
        health.oldest_sync = oldest  # (types synced in the same minute make no second date)

    events = Event._default_manager.using(alias)
    recent = events.filter(received_at__gte=now - WINDOW)
    health.events_by_status = dict(
        recent.order_by().values_list("processing_status").annotate(n=Count("pk")))
    health.events_per_hour = _per_hour(events, now)
    failed = events.filter(processing_status=ProcessingStatus.FAILED)
    for_good = refused_for_good()
    counts = failed.order_by().aggregate(for_good=Count("pk", filter=for_good),
                                         pending=Count("pk", filter=~for_good))
    health.failed_pending, health.failed_for_good = counts["pending"] or 0, counts["for_good"] or 0
    health.newest_processed = (events.filter(processing_status=ProcessingStatus.PROCESSED)
                               .only("id", "type", "created", "processed_at").order_by("-created").first())
    health.runs = _recent_runs(alias, site_name)
    health.verify_max_age = max_age
    health.warnings = _warnings(health, rows, alias, site_name)
    return health


def refused_for_good() -> Q:
    """Failed events no retry will process: tried ``EVENT_MAX_ATTEMPTS`` times, kept as
    text (only a replay from the Events API brings them), or refused because of their
    payload (no redelivery of the same payload can pass)."""
    max_attempts = int(stripe_settings.EVENT_MAX_ATTEMPTS)
    return (Q(processing_attempts__gte=max_attempts) | Q(data__isnull=True)
            | Q(processing_retryable=False))


def _type_rows(alias: str, site_name: str) -> list[CursorRow]:
    """A row per type and mode for the platform, and one per type and mode summing the
    connected accounts' cursors: two queries on the cursors, whatever their number,
    plus one GROUP BY per mirrored model for the rows."""
    cursors = SyncCursor._default_manager.using(alias)
    platform = list(cursors.filter(account="").order_by("livemode", "object_type"))
    # Every column read but the error's text is in the cursors' health index, so SQLite
    # groups along it rather than sorting every row, and reads the text of the failing
    # cursors only (the filter on ``failing``).
    connected = list(
        cursors.exclude(account="").order_by().values("object_type", "livemode").annotate(
            accounts=Count("*"), synced=Count("last_synced_at"),  # (a column count skips nulls: no filter per row)
            complete=Count("pk", filter=Q(complete=True)),
            failures=Count("pk", filter=Q(failing=True)),
            newest=Max("last_synced_at"), oldest=Min("last_synced_at"),
            error=Max("last_error", filter=Q(failing=True))))
    names = {c.object_type for c in platform} | {c["object_type"] for c in connected}
    counts = _row_counts(alias, names)
    rows = []
    for cursor in platform:
        models = _models_of(cursor.object_type)
        rows.append(CursorRow(
            object_type=cursor.object_type, livemode=cursor.livemode, connected=False, accounts=1,
            synced=int(cursor.last_synced_at is not None), complete=int(cursor.complete),
            failing=int(bool(cursor.last_error)),
            rows=sum(counts.get((m, False, cursor.livemode), 0) for m in models) if models else None,
            newest_sync=cursor.last_synced_at, oldest_sync=cursor.last_synced_at,
            last_error=cursor.last_error, position=cursor_position(cursor),
            changelist_url=_changelist_url(models[0], site_name) if models else None))
    cursor_list = _changelist_url(SyncCursor, site_name)
    for group in connected:
        name, livemode = group["object_type"], group["livemode"]
        models = _models_of(name)
        url = _changelist_url(models[0], site_name) if models else None
        rows.append(CursorRow(
            object_type=name, livemode=livemode, connected=True, accounts=group["accounts"],
            synced=group["synced"], complete=group["complete"], failing=group["failures"],
            rows=sum(counts.get((m, True, livemode), 0) for m in models) if models else None,
            newest_sync=group["newest"], oldest_sync=group["oldest"],
            last_error=group["error"] or "",
            changelist_url=f"{url}?stripe_account__isnull=False" if url else None,
            cursors_url=(f"{cursor_list}?{urlencode({'object_type__exact': name, 'livemode__exact': int(livemode)})}"
                         if cursor_list else None)))
    rows.sort(key=lambda row: (row.connected, row.livemode, row.object_type))
    return rows


def _attach_verifications(rows: list[CursorRow], alias: str, site_name: str, now: dt.datetime,
                          max_age: dt.timedelta | None) -> None:
    """Set each row's last verification: two queries whatever the number of accounts (the
    platform's newest runs; the connected accounts' newest runs summed per type and mode)."""
    latest = latest_runs(alias).defer("differences", "notes")
    platform = {(run.object_type, run.livemode): run for run in latest.filter(account="")}
    connected = {
        (group["object_type"], group["livemode"]): group
        for group in latest.exclude(account="").order_by().values("object_type", "livemode").annotate(
            accounts=Count("pk"), compared=Sum("compared"), missing=Sum("missing"),
            extra=Sum("extra"), stale=Sum("stale"), newest=Max("started_at"), oldest=Min("started_at"),
            newest_id=Max("pk"))}
    cutoff = now - max_age if max_age is not None else None
    runs_url = _changelist_url(VerificationRun, site_name)
    for row in rows:
        if not row.connected:
            run = platform.get((row.object_type, row.livemode))
            if run is not None:
                url = _change_url(VerificationRun, run.pk, site_name)
                row.verification = VerifyCell(
                    started_at=run.started_at, oldest=run.started_at, accounts=1,
                    compared=run.compared, missing=run.missing, extra=run.extra, stale=run.stale,
                    url=url, too_old=cutoff is not None and run.started_at < cutoff)
            continue
        group = connected.get((row.object_type, row.livemode))
        if group is None:
            continue
        query = {"object_type__exact": row.object_type, "livemode__exact": int(row.livemode)}
        row.verification = VerifyCell(
            started_at=group["newest"], oldest=group["oldest"], accounts=group["accounts"],
            compared=group["compared"] or 0, missing=group["missing"] or 0,
            extra=group["extra"] or 0, stale=group["stale"] or 0,
            url=f"{runs_url}?{urlencode(query)}" if runs_url else None,
            # (with an age set, accounts synced but never verified are as late as old runs)
            too_old=cutoff is not None and (group["oldest"] < cutoff or group["accounts"] < row.synced))


def _change_url(model, pk: Any, site_name: str) -> str | None:
    try:
        return reverse(f"{site_name}:{model._meta.app_label}_{model._meta.model_name}_change", args=[pk])
    except NoReverseMatch:
        return None


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


def _row_counts(alias: str, list_names: set[str]) -> dict[tuple[Any, bool, bool], int]:
    """Rows not deleted, per (model, of a connected account, livemode): one GROUP BY per
    model (by mode and platform or not, so a few result rows whatever the number of
    accounts)."""
    counts: dict[tuple[Any, bool, bool], int] = {}
    connected = ExpressionWrapper(Q(stripe_account__isnull=False), output_field=BooleanField())
    for model in {m for name in list_names for m in _models_of(name)}:
        has_livemode = any(f.name == "livemode" for f in model._meta.concrete_fields)
        keys = ("connected", "livemode") if has_livemode else ("connected",)
        rows = (model._base_manager.using(alias).filter(deleted=False).annotate(connected=connected)
                .order_by().values_list(*keys))
        for *key, n in rows.annotate(n=Count("pk")):
            is_connected = bool(key[0])
            modes = (bool(key[1]),) if has_livemode else (False, True)  # no livemode: both
            for mode in modes:
                counts[(model, is_connected, mode)] = counts.get((model, is_connected, mode), 0) + n
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


def _warnings(health: MirrorHealth, rows: list[CursorRow], alias: str, site_name: str) -> list[Notice]:
    warnings = []
    # The system checks of the settings and of events given up on, as `manage.py check` says them.
    for message in [*checks.check_settings(), *checks.check_failed_events(databases=[alias]),
                    *checks.check_events_access(databases=[alias])]:
        warnings.append(Notice(message.msg, hint=message.hint or "",
                                level="error" if message.level >= 40 else "warning"))
    if not any(row.synced for row in rows):
        warnings.append(Notice("stripe_sync has never stored a page: the mirror holds only what "
                                "webhooks and upsert() brought.", hint="Run `manage.py stripe_sync`."))
    # (an Events API refusal has its own notice, from the check above)
    failing = list(dict.fromkeys(row.object_type for row in rows if row.failing
                                 and not row.last_error.startswith(EVENTS_REFUSED)))
    if failing:
        warnings.append(Notice(f"The last sync of {len(failing)} type(s) failed: {', '.join(failing[:10])}.",
                                hint="See the error of each below; the next run resumes where it stopped.",
                                level="error"))
    differing = list(dict.fromkeys(row.object_type for row in rows
                                   if row.verification and row.verification.differing))
    if differing:
        warnings.append(Notice(f"The last verification of {len(differing)} type(s) found differences "
                                f"from Stripe: {', '.join(differing[:10])}.",
                                hint="Open each run from the sync table below; `manage.py stripe_verify "
                                     "--heal` repairs them.",
                                url=_changelist_url(VerificationRun, site_name)))
    if health.verify_max_age is not None:
        late = list(dict.fromkeys(
            row.object_type for row in rows
            if row.synced and (row.verification is None or row.verification.too_old)))
        if late:
            warnings.append(Notice(f"{len(late)} synced type(s) have no verification within "
                                    f"VERIFY_MAX_AGE ({health.verify_max_age}): {', '.join(late[:10])}.",
                                    hint="Run `manage.py stripe_verify` regularly (cron or Tasks)."))
    if health.failed_pending:
        warnings.append(Notice(f"{health.failed_pending} failed webhook event(s) wait for a retry.",
                                hint="Retry them from the events list, or run "
                                     "`manage.py stripe_process_events`.",
                                url=failed_events_url(site_name), level="error"))
    if health.failed_for_good:
        warnings.append(Notice(f"{health.failed_for_good} failed webhook event(s) are refused for good: "
                                "no retry will process them.",
                                hint="Their payload was refused, they were tried EVENT_MAX_ATTEMPTS times, "
                                     "or they were kept as text: see each error; a replay fetches the "
                                     "event from Stripe again.",
                                url=failed_events_url(site_name), level="error"))
    return warnings


def health_view(model_admin):
    """The page as a view of ``model_admin``'s site (staff only, through ``admin_view``;
    the user also needs the permission to view sync cursors)."""

    def view(request):
        if not model_admin.has_view_permission(request):
            raise PermissionDenied
        site = model_admin.admin_site
        health = collect(site_name=site.name, show_all=bool(request.GET.get("all")))
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
