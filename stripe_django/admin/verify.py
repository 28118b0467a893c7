"""The admin of verifications (``stripe_verify``): read-only, with the differing objects
linked to their rows' change pages, so a support person can open them."""

from __future__ import annotations

from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join

from ..ingest.columns import model_for
from ..models.verification import VerificationRun
from .options import ReadOnlyMixin


class VerificationRunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("started_at", "object_type", "account_name", "mode", "status_shown",
                    "compared", "missing", "extra", "stale", "healed", "requests", "bound")
    list_filter = ("status", "mode", "object_type", "livemode", "healing")
    search_fields = ("object_type", "=account", "=run")
    date_hierarchy = "started_at"
    show_full_result_count = False
    fields = ("run", "started_at", "finished_at", "object_type", "account", "key", "livemode",
              "mode", "healing", "status", "compared", "missing", "extra", "stale", "healed",
              "requests", "bound", "differing_objects", "notes_shown")
    readonly_fields = fields

    def get_queryset(self, request):
        # The list shows counts only: the differences (up to a thousand per row) stay unread.
        queryset = super().get_queryset(request)
        if getattr(request, "resolver_match", None) and request.resolver_match.url_name.endswith("_changelist"):
            queryset = queryset.defer("differences", "notes")
        return queryset

    @admin.display(description="account", ordering="account")
    def account_name(self, run: VerificationRun) -> str:
        return run.account or "platform"

    @admin.display(description="status", ordering="status")
    def status_shown(self, run: VerificationRun) -> str:
        if run.finished_at is None:
            return "stopped" if run.status == VerificationRun.Status.RUNNING else run.status
        if run.status == VerificationRun.Status.OK and run.differing:
            return f"{run.differing} difference(s)"
        return run.status

    @admin.display(description="sample bound")
    def bound(self, run: VerificationRun) -> str:
        if run.upper_bound is None:
            return "-"
        return f"below {run.upper_bound * 100:.2g}% at 95%"

    @admin.display(description="differing objects")
    def differing_objects(self, run: VerificationRun) -> str:
        if not run.differences:
            return "none"
        shown = format_html_join(
            "", "<li>{}: {}{}</li>",
            ((d.get("kind", ""), _link(d.get("type", ""), d.get("id", "")),
              f" ({d['detail']})" if d.get("detail") else "") for d in run.differences))
        more = run.differing - len(run.differences)
        tail = format_html("<p>... and {} more (not recorded)</p>", more) if more > 0 else ""
        return format_html("<ul>{}</ul>{}", shown, tail)

    @admin.display(description="notes")
    def notes_shown(self, run: VerificationRun) -> str:
        return "; ".join(str(n) for n in run.notes) or "-"


def _link(object_type: str, object_id: str) -> str:
    """The row's change page link, or its id where the type has no admin page."""
    model = model_for(object_type)
    if model is None:
        return format_html("{} {}", object_type, object_id)
    try:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[object_id])
    except NoReverseMatch:
        return format_html("{} {}", object_type, object_id)
    return format_html('{} <a href="{}">{}</a>', object_type, url, object_id)
