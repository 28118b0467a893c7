"""Template helpers of stripe_django's admin pages."""

from __future__ import annotations

from django import template
from django.http import HttpRequest
from django.template.context import Context
from django.utils.safestring import SafeString

from ..admin.filters import bounded_date_hierarchy
from ..admin.site import APP_LABEL, SHOW_ALL_TYPES, group_by_family

register = template.Library()


@register.filter
def stripe_families(app_list: list[dict], request: HttpRequest | None = None) -> list[dict]:
    """The admin's app list with stripe_django's everyday types first, then one section
    per family (Core, Billing, Payments, ...) and a link to the mirror's health page.
    Given the request (``app_list|stripe_families:request``), types without rows are
    left out unless the request asks for all (``?all_types=1``)."""
    show_all = request is None or bool(request.GET.get(SHOW_ALL_TYPES))
    return group_by_family(app_list, show_all=show_all)


@register.filter
def stripe_current(app_list: list[dict], request: HttpRequest | None = None) -> list[dict]:
    """The app list with ``current`` set on the one entry (and its app) whose URL is the
    longest prefix of the page's path: the health page
    (``/admin/stripe_django/synccursor/health/``) is its own entry's page, not the sync
    cursors' list's too."""
    path = request.path if request is not None else ""
    urls = [e.get("admin_url") or "" for app in app_list for e in app["models"]]
    best = max((url for url in urls if url and path.startswith(url)), key=len, default=None)
    marked = []
    for app in app_list:
        models = [{**e, "current": best is not None and e.get("admin_url") == best} for e in app["models"]]
        if best is not None:  # the section holding the page's entry
            current = any(e["current"] for e in models)
        else:  # a page of no entry (the app's index): the app's sections, as the admin marks them
            current = bool(app.get("app_url")) and path.startswith(app["app_url"])
        marked.append({**app, "models": models, "current": current})
    return marked


@register.simple_tag(takes_context=True)
def stripe_hidden_types(context: Context, app_list: list[dict]) -> int:
    """How many of stripe_django's models the index leaves out (no rows)."""
    request = context.get("request")
    if request is None or request.GET.get(SHOW_ALL_TYPES):
        return 0
    shown = {e.get("model") for app in group_by_family(app_list, show_all=False)
             if app.get("app_label") == APP_LABEL for e in app["models"]}
    return sum(1 for app in app_list if app.get("app_label") == APP_LABEL
               for e in app["models"] if e.get("model") not in shown)


@register.simple_tag(takes_context=True)
def stripe_date_hierarchy(context: Context, changelist) -> SafeString:
    """``{% stripe_date_hierarchy cl %}``: Django's date drill-down, whose years come
    from the first and last date rather than from every row.

    The template is looked up as the admin's own ``{% date_hierarchy %}`` looks it up
    (per model, per app, then ``admin/date_hierarchy.html``), with public template
    APIs only: the admin's inclusion node class is private and changed its signature
    in Django 6.1."""
    opts = changelist.opts
    name = "date_hierarchy.html"
    chosen = context.template.engine.select_template([
        f"admin/{opts.app_label.lower()}/{opts.model_name}/{name}",
        f"admin/{opts.app_label.lower()}/{name}",
        f"admin/{name}",
    ])
    return chosen.render(context.new(bounded_date_hierarchy(changelist)))
