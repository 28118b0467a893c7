"""The admin of stored events (with "retry" and "replay" actions) and of sync cursors.

The actions call what ``manage.py stripe_process_events`` calls
(:mod:`stripe_django.webhooks.recovery` and :mod:`~stripe_django.webhooks.processing`),
so an event retried from the admin goes through exactly the same steps.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db.models.fields.json import KT
from django.http import Http404, HttpResponseRedirect
from django.template.defaultfilters import truncatechars
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from ..ingest.columns import model_for
from ..models import Event
from ..models.processing import ProcessingStatus
from ..models.sync_state import SyncCursor
from ..webhooks import recovery
from ..webhooks.processing import process_event
from . import display
from .filters import SampledValuesFilter
from .options import ReadOnlyMixin, StripeObjectAdmin, admin_class_for

STATUS_COLOURS = {
    ProcessingStatus.PROCESSED: "#2e7d32",
    ProcessingStatus.FAILED: "#c62828",
    ProcessingStatus.PENDING: "#a86b00",
    ProcessingStatus.STORED: "#555",
}


# Characters of an error shown in the events list: with the other columns, the row fits
# a 1400 px wide window beside the admin's sidebar and filters.
ERROR_IN_LIST = 32


class EventAdminBase(StripeObjectAdmin):
    # (``data``, the whole object, is left unread in lists like every JSON column.)
    actions = ("retry", "replay")

    def get_queryset(self, request):
        # The id and type of the event's object, read from the JSON in the same query.
        return super().get_queryset(request).annotate(
            object_id=KT("data__object__id"), object_type=KT("data__object__object"))

    def get_search_results(self, request, queryset, search_term):
        # An id that is not an event's (and not a type: those have dots) is the id of the
        # object the events are about: "what happened to cus_123?".
        term = search_term.strip()
        if (term and "." not in term and not any(c.isspace() for c in term)
                and not queryset.filter(pk=term).exists()):
            return queryset.filter(data__object__id=term), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="object", ordering="object_id")
    def object_link(self, event) -> str:
        if not event.object_id:
            return ""
        model = model_for(event.object_type or "")
        url = display.admin_url(model, event.object_id, self.admin_site) if model else None
        return format_html('<a href="{}">{}</a>', url, event.object_id) if url else event.object_id

    @admin.display(description="status", ordering="processing_status")
    def status(self, event) -> str:
        colour = STATUS_COLOURS.get(event.processing_status, "inherit")
        return format_html('<strong style="color: {}">{}</strong>', colour, event.processing_status)

    @admin.display(description="attempts", ordering="processing_attempts")
    def attempts(self, event) -> int:
        return event.processing_attempts

    @admin.display(description="received", ordering="received_at")
    def received(self, event) -> str:
        # short and on one line: the list keeps room for the error at 1400 px
        if event.received_at is None:
            return ""
        local = timezone.localtime(event.received_at)
        return format_html('<span style="white-space: nowrap" title="{}">{}</span>',
                           local.isoformat(), f"{local:%Y-%m-%d %H:%M}")

    @admin.display(description="error")
    def error(self, event) -> str:
        """The error's first line, cut to one line of the list (the whole line as the
        tooltip; the whole error on the event's page)."""
        if not event.processing_error:
            return ""
        first = event.processing_error.splitlines()[0]
        return format_html('<span style="white-space: nowrap" title="{}">{}</span>',
                           first, truncatechars(first, ERROR_IN_LIST))

    @admin.display(description="error")
    def error_detail(self, event) -> str:
        if not event.processing_error:
            return ""
        return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', event.processing_error)

    def has_process_permission(self, request) -> bool:
        """Retrying changes the mirror: it takes the permission to change events."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.action(description="Retry: process the selected events again", permissions=["process"])
    def retry(self, request, queryset) -> None:
        ids = list(queryset.order_by("created", "id").values_list("id", flat=True))
        tally = recovery.Tally()
        for event_id in ids:
            tally.count(process_event(event_id, using=queryset.db))
        self._report(request, "retried", tally)

    @admin.action(description="Replay: fetch the selected events from Stripe and process them",
                  permissions=["process"])
    def replay(self, request, queryset) -> None:
        ids = list(queryset.order_by("created", "id").values_list("id", flat=True))
        self._report(request, "replayed", recovery.replay_events(ids, using=queryset.db))

    def _report(self, request, what: str, tally: recovery.Tally) -> None:
        # Each message starts with a word of ours: the admin capitalizes a message's first
        # letter, which would turn an id into "Evt_...".
        summary = (f"{what.capitalize()} {tally.seen} event(s): {tally.processed} processed, "
                   f"{tally.skipped} already processed, {tally.failed} failed")
        level = messages.ERROR if tally.failed else messages.SUCCESS
        self.message_user(request, summary, level)
        for outcome in tally.failures[:10]:
            self.message_user(request, f"Event {outcome.event_id}: {truncatechars(outcome.error, 300)}",
                              messages.ERROR)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("<path:object_id>/retry/", self.admin_site.admin_view(self.retry_view),
                 name="%s_%s_retry" % info),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and self.has_process_permission(request):
            opts = self.opts
            context["stripe_event_retry_url"] = reverse(
                f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_retry", args=[quote(obj.pk)])
        return super().render_change_form(request, context, add=add, change=change,
                                          form_url=form_url, obj=obj)

    def retry_view(self, request, object_id: str):
        """Retry one event from its page: a confirmation page (GET), then the retry
        itself (POST), the same steps as the list's "Retry" action."""
        if not self.has_process_permission(request):
            raise PermissionDenied
        event = self.get_object(request, unquote(object_id))
        if event is None:
            raise Http404(f"No stored event {unquote(object_id)!r}.")
        opts = self.opts
        change_url = reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change",
                             args=[quote(event.pk)])
        if request.method == "POST":
            tally = recovery.Tally()
            tally.count(process_event(event.pk, using=self.get_queryset(request).db))
            self._report(request, "retried", tally)
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": "Retry this event?",
            "opts": opts,
            "event": event,
            "change_url": change_url,
            "processed": event.processing_status == ProcessingStatus.PROCESSED,
        }
        return TemplateResponse(request, "admin/stripe_django/event_retry.html", context)


def event_admin_class() -> type[StripeObjectAdmin]:
    """The generated admin of ``Event`` with the processing columns, filters and actions."""
    generated = admin_class_for(Event, base=EventAdminBase)

    class EventAdmin(generated):  # type: ignore[valid-type,misc]  # mypy takes no base built at run time
        list_display = ("id", "type", "object_link", "status", "error", "attempts", "received")
        list_filter = ("processing_status", ("type", SampledValuesFilter), "livemode",
                       ("webhook_endpoint", SampledValuesFilter))
        search_fields = ("=id", "=type")
        list_select_related = False
        # The page's summary says what the event is about and where its processing stands.
        summary = ("object_link", "status", "attempts", "error_detail")
        fieldsets = [(generated.fieldsets[0][0], {
            **generated.fieldsets[0][1],
            "fields": [*generated.fieldsets[0][1]["fields"], *summary]}), *generated.fieldsets[1:]]
        readonly_fields = [*generated.readonly_fields, *summary]

    return EventAdmin


class SyncCursorAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Where ``stripe_sync`` stands per account and type, and the mirror's health page."""

    list_display = ("object_type", "account_name", "livemode", "complete", "last_synced_at",
                    "position", "error")
    list_filter = ("complete", "livemode", "account")
    search_fields = ("object_type", "=account")
    ordering = ("account", "livemode", "object_type")

    @admin.display(description="account", ordering="account")
    def account_name(self, cursor) -> str:
        return cursor.account or "platform"

    @admin.display(description="position")
    def position(self, cursor) -> str:
        return cursor_position(cursor)

    @admin.display(description="error")
    def error(self, cursor) -> str:
        return truncatechars(cursor.last_error, 120)

    def get_urls(self):
        from .health import health_view  # (health imports this module)

        info = self.opts.app_label
        return [
            path("health/", self.admin_site.admin_view(health_view(self)), name=f"{info}_health"),
            *super().get_urls(),
        ]


def cursor_position(cursor: SyncCursor) -> str:
    """Where the next run starts, in words."""
    if not cursor.complete:
        if cursor.slices:
            done = sum(1 for window in cursor.slices if window.get("done"))
            return f"full pass in created windows, {done} of {len(cursor.slices)} done"
        if cursor.starting_after:
            return f"full pass, after {cursor.starting_after}"
        return "full pass, not started" if cursor.pass_started_at is None else "full pass, first page"
    if cursor.created_after:
        since = dt.datetime.fromtimestamp(cursor.created_after, tz=dt.timezone.utc)
        return f"new objects from {since:%Y-%m-%d %H:%M:%S} UTC"
    return "complete"
