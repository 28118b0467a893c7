"""Read-only admin pages for every mirrored model: the source of truth is Stripe."""

from __future__ import annotations

from django.contrib import admin

from .ingest.columns import mirrored_types
from .mirror.admin_actions import refresh_from_stripe


class StripeObjectAdmin(admin.ModelAdmin):
    list_display = ("id", "stripe_account", "stripe_snapshot_at", "deleted")
    list_filter = ("deleted",)
    search_fields = ("id",)
    show_full_result_count = False  # COUNT(*) on a large mirror is slow
    actions = [refresh_from_stripe]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


for _model in mirrored_types().values():
    admin.site.register(_model, StripeObjectAdmin)
