"""Template helpers of stripe_django's admin pages."""

from __future__ import annotations

from django import template

from django.contrib.admin.templatetags.base import InclusionAdminNode

from ..admin.filters import bounded_date_hierarchy
from ..admin.site import group_by_family

register = template.Library()


@register.filter
def stripe_families(app_list: list[dict]) -> list[dict]:
    """The admin's app list with stripe_django's models in one section per family
    (Core, Billing, Payments, ...) and a link to the mirror's health page."""
    return group_by_family(app_list)


@register.tag(name="stripe_date_hierarchy")
def stripe_date_hierarchy(parser, token):
    """``{% stripe_date_hierarchy cl %}``: Django's date drill-down, whose years come
    from the first and last date rather than from every row."""
    return InclusionAdminNode(parser, token, func=bounded_date_hierarchy,
                              template_name="date_hierarchy.html", takes_context=False)
