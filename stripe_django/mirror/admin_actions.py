"""The admin action "Refresh from Stripe", for every mirrored model."""

from __future__ import annotations

import logging

import stripe
from django.contrib import admin, messages

from ..exceptions import StripeDjangoError

logger = logging.getLogger("stripe_django.mirror")

__all__ = ["refresh_from_stripe"]


@admin.action(description="Refresh from Stripe")
def refresh_from_stripe(modeladmin, request, queryset) -> None:
    """Fetch each selected object from the API through the mirrored client (one request
    per row) and store it; rows that fail are named, the others are refreshed."""
    refreshed, failed = 0, []
    for row in queryset.iterator():
        try:
            row.refresh_from_stripe()
        except (stripe.StripeError, StripeDjangoError) as error:
            # The SDK's messages name the object and the problem, never the key.
            failed.append(f"{row.pk}: {error}")
            logger.warning("stripe_django: refresh of %s %s failed: %s",
                           row.stripe_object, row.pk, error)
        else:
            refreshed += 1
    if refreshed:
        modeladmin.message_user(request, f"Refreshed {refreshed} from Stripe.", messages.SUCCESS)
    for line in failed:
        modeladmin.message_user(request, f"Not refreshed: {line}", messages.ERROR)
