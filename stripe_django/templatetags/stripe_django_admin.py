"""Template helpers of stripe_django's admin pages."""

from __future__ import annotations

from django import template

from ..admin.site import group_by_family

register = template.Library()


@register.filter
def stripe_families(app_list: list[dict]) -> list[dict]:
    """The admin's app list with stripe_django's models in one section per family
    (Core, Billing, Payments, ...) and a link to the mirror's health page."""
    return group_by_family(app_list)
