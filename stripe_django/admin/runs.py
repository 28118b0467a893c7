"""The admin of sharded runs (``stripe_sync --enqueue`` and ``stripe_verify --enqueue``):
read-only, the workers write them."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Q
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from ..models.sync_state import SyncRun, SyncShard
from .options import ReadOnlyMixin


class SyncShardInline(ReadOnlyMixin, admin.TabularInline):
    model = SyncShard
    fields = ("name", "account", "status", "mode", "fetched", "created", "updated", "unchanged",
              "failed", "requests", "worker", "attempts", "started_at", "finished_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


class SyncRunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("id", "kind", "created_at", "finished_at", "key", "livemode", "shard_count",
                    "failed_count")
    readonly_fields = ("kind", "verifications")
    list_filter = ("livemode", "key")
    date_hierarchy = "created_at"
    inlines = [SyncShardInline]
    show_full_result_count = False

    def get_queryset(self, request):
        # Both counts in the list's own query, not two more per row.
        return super().get_queryset(request).annotate(
            n_shards=Count("shards"),
            n_failed=Count("shards", filter=Q(shards__status=SyncShard.Status.FAILED)))

    @admin.display(description="shards", ordering="n_shards")
    def shard_count(self, run: SyncRun) -> int:
        return run.n_shards

    @admin.display(description="failed", ordering="n_failed")
    def failed_count(self, run: SyncRun) -> int:
        return run.n_failed

    @admin.display(description="verifications")
    def verifications(self, run: SyncRun) -> str:
        """A verification run's results are its VerificationRun rows: linked, filtered."""
        if run.kind != "verification":
            return "-"
        try:
            url = reverse(f"{self.admin_site.name}:stripe_django_verificationrun_changelist")
        except NoReverseMatch:
            return str(run.options["verify"].get("run", ""))
        return format_html('<a href="{}?q={}">the verifications of this run</a>', url,
                           run.options["verify"].get("run", ""))
