"""Read-only admin pages for every mirrored model: the source of truth is Stripe."""

from __future__ import annotations

from django.contrib import admin

from .ingest.columns import mirrored_types


class StripeObjectAdmin(admin.ModelAdmin):
    list_display = ("id", "stripe_account", "stripe_snapshot_at", "deleted")
    list_filter = ("deleted",)
    search_fields = ("id",)
    show_full_result_count = False  # COUNT(*) on a large mirror is slow

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


for _model in mirrored_types().values():
    admin.site.register(_model, StripeObjectAdmin)


# --- sync runs of ``stripe_sync --enqueue`` (read-only: the workers write them) ----------

from .models import SyncRun, SyncShard  # noqa: E402


class ReadOnly:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class SyncShardInline(ReadOnly, admin.TabularInline):
    model = SyncShard
    fields = ("name", "account", "status", "mode", "fetched", "created", "updated", "unchanged",
              "failed", "requests", "worker", "attempts", "started_at", "finished_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("id", "created_at", "finished_at", "key", "livemode", "shard_count", "failed_count")
    list_filter = ("livemode",)
    inlines = [SyncShardInline]

    @admin.display(description="shards")
    def shard_count(self, run: SyncRun) -> int:
        return run.shards.count()

    @admin.display(description="failed")
    def failed_count(self, run: SyncRun) -> int:
        return run.shards.filter(status=SyncShard.Status.FAILED).count()
