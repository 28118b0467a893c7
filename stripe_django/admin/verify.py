"""The admin of verifications (``stripe_verify``): read-only, with the differing objects
linked to their rows' change pages, so a support person can open them (an object with no
row in the mirror, to its page on the Stripe Dashboard)."""

from __future__ import annotations

from types import SimpleNamespace

from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join

from ..ingest.columns import model_for
from ..models.verification import VerificationRun
from .dashboard import dashboard_url
from .options import ReadOnlyMixin


class VerificationRunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    # Narrow enough for the admin's content column beside the filters: the counts of
    # each kind are in the result, the requests and a sample's bound on each run's page.
    list_display = ("started_at", "object_type", "account_name", "mode", "result", "compared",
                    "healed")
    list_display_links = ("started_at", "object_type")
    list_filter = ("status", "mode", "object_type", "livemode", "healing")
    search_fields = ("object_type", "=account", "=run")
    date_hierarchy = "started_at"
    show_full_result_count = False
    # What a support person reads first, then how the run was made.
    fieldsets = (
        (None, {"fields": ("object_type", "account_name", "started_at", "finished_at", "mode",
                           "result", "compared", "healed", "bound", "differing_objects",
                           "notes_shown")}),
        ("Run", {"fields": ("run", "key", "livemode", "healing", "status", "requests")}),
    )
    readonly_fields = tuple(f for _name, options in fieldsets for f in options["fields"])

    def get_queryset(self, request):
        # The list shows counts only: the differences (up to a thousand per row) stay unread.
        queryset = super().get_queryset(request)
        if getattr(request, "resolver_match", None) and request.resolver_match.url_name.endswith("_changelist"):
            queryset = queryset.defer("differences", "notes")
        return queryset

    @admin.display(description="account", ordering="account")
    def account_name(self, run: VerificationRun) -> str:
        return run.account or "platform"

    @admin.display(description="result", ordering="status")
    def result(self, run: VerificationRun) -> str:
        if run.finished_at is None:
            # A row is completed when its comparison ends: without an end it was stopped,
            # or is still running.
            return "not finished (running or stopped)" if run.status == VerificationRun.Status.RUNNING \
                else run.status
        if run.status == VerificationRun.Status.OK and run.differing:
            healed = f", {run.healed} healed" if run.healing else ""
            return format_html("<strong>{} differing</strong> ({} missing, {} extra, {} stale{})",
                               run.differing, run.missing, run.extra, run.stale, healed)
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
        stored = _stored_ids(run.differences)
        # A table, not a list: the admin indents a read-only field's lists past its label.
        shown = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((d.get("kind", ""), _link(run, d.get("type", ""), d.get("id", ""), stored),
              d.get("detail", "")) for d in run.differences))
        more = run.differing - len(run.differences)
        tail = format_html("<p>... and {} more (not recorded)</p>", more) if more > 0 else ""
        return format_html('<table class="stripe-django-differences"><thead><tr><th>Kind</th>'
                           "<th>Object</th><th>What differs, and what the mirror knows</th></tr>"
                           "</thead><tbody>{}</tbody></table>{}", shown, tail)

    @admin.display(description="notes")
    def notes_shown(self, run: VerificationRun) -> str:
        return "; ".join(str(n) for n in run.notes) or "-"


def _stored_ids(differences: list[dict]) -> set[tuple[str, str]]:
    """(type, id) of the differing objects that have a row (one query per type): a
    missing object deleted from the database has none, and no admin page to open."""
    by_type: dict[str, list[str]] = {}
    for d in differences:
        by_type.setdefault(d.get("type", ""), []).append(d.get("id", ""))
    stored = set()
    for object_type, ids in by_type.items():
        model = model_for(object_type)
        if model is not None:
            stored |= {(object_type, pk) for pk in
                       model._default_manager.filter(pk__in=ids).values_list("pk", flat=True)}
    return stored


def _link(run: VerificationRun, object_type: str, object_id: str,
          stored: set[tuple[str, str]]) -> str:
    """The row's change page link; for an object with no row, its Stripe Dashboard page
    (said so, since it leaves the admin); else its id."""
    model = model_for(object_type)
    url = None
    if model is not None and (object_type, object_id) in stored:
        try:
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change",
                          args=[object_id])
        except NoReverseMatch:
            pass
    if url is not None:
        return format_html('{} <a href="{}">{}</a>', object_type, url, object_id)
    at_stripe = dashboard_url(SimpleNamespace(stripe_object=object_type, livemode=run.livemode,
                                              stripe_account=run.account or None, pk=object_id))
    if at_stripe is not None:
        return format_html('{} <a href="{}" class="at-stripe" target="_blank" rel="noopener">{}</a> '
                           "(no row here: on the Stripe Dashboard)", object_type, at_stripe, object_id)
    return format_html("{} {}", object_type, object_id)
