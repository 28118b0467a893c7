"""Registration of every model with the admin site, and the index grouped by family.

Django's index lists an app's models in one alphabetical table; 141 Stripe models are
easier to find in families (Core, Billing, Payments, ...: the model modules, see
``type_table.FAMILY_OF_TYPE``). The grouping is a filter over the site's own app list
(``stripe_families``) used by stripe_django's index templates, so the site, its URLs
and its permissions stay Django's.
"""

from __future__ import annotations

from django.contrib import admin
from django.db import connections, router
from django.urls import NoReverseMatch, reverse

from ..ingest.columns import mirrored_types
from ..models import Event, Subscription
from ..models.sync_state import SyncCursor, SyncRun
from ..models.verification import VerificationRun
from . import table
from .events import SyncCursorAdmin, event_admin_class
from .options import admin_class_for
from .revenue import SubscriptionAdmin
from .runs import SyncRunAdmin
from .verify import VerificationRunAdmin

APP_LABEL = "stripe_django"
MIRROR_FAMILY = "mirror"  # the app's own models (sync cursors) and the health page
INDEX_TEMPLATE = "admin/stripe_django/index.html"
SHOW_ALL_TYPES = "all_types"  # the query parameter of the index that shows the types without rows


def register(site: admin.AdminSite) -> None:
    """Register an admin class for every mirrored model, events, sync cursors and runs,
    and verifications."""
    for model in mirrored_types().values():
        if model is Event:
            site.register(model, event_admin_class())
        elif model is Subscription:  # with the Revenue page
            site.register(model, admin_class_for(model, base=SubscriptionAdmin))
        else:
            site.register(model, admin_class_for(model))
    site.register(SyncCursor, SyncCursorAdmin)
    site.register(SyncRun, SyncRunAdmin)
    site.register(VerificationRun, VerificationRunAdmin)


def family_of(model) -> str:
    """The family of a model: the module it is generated in (``models/billing.py``)."""
    if getattr(model, "stripe_object", ""):
        return model.__module__.rsplit(".", 1)[-1]
    return MIRROR_FAMILY


def group_by_family(app_list: list[dict], *, show_all: bool = True) -> list[dict]:
    """The app list with stripe_django's models in sections: the everyday types first
    (``table.EVERYDAY_TYPES``), then one per family. ``show_all`` False leaves out the
    models whose table holds no row (one query for all of them, see :func:`empty_models`)."""
    grouped: list[dict] = []
    for app in app_list:
        if app.get("app_label") != APP_LABEL:
            grouped.append(app)
            continue
        entries = app["models"]
        if not show_all:
            empty = empty_models([e["model"] for e in entries if getattr(e.get("model"), "stripe_object", "")])
            entries = [e for e in entries if e.get("model") not in empty]
        everyday_rank = {name: i for i, name in enumerate(table.EVERYDAY_TYPES)}
        everyday = sorted((e for e in entries if getattr(e.get("model"), "stripe_object", None) in everyday_rank),
                          key=lambda e: everyday_rank[e["model"].stripe_object])
        families: dict[str, list[dict]] = {}
        for entry in entries:
            if entry in everyday:
                continue
            families.setdefault(family_of(entry.get("model")), []).append(entry)
        if everyday:
            grouped.append({**app, "name": f"{app['name']}: {table.EVERYDAY_TITLE}", "models": everyday})
        if MIRROR_FAMILY in families:
            health = _health_entry()
            if health:
                families[MIRROR_FAMILY].insert(0, health)
        revenue = _revenue_entry()
        if revenue and "billing" in families:
            families["billing"].insert(0, revenue)
        order = list(table.FAMILY_TITLES)
        for family in sorted(families, key=lambda f: (order.index(f) if f in order else len(order), f)):
            title = table.FAMILY_TITLES.get(family, family.replace("_", " ").title())
            grouped.append({**app, "name": f"{app['name']}: {title}", "models": families[family]})
    return grouped


def empty_models(models: list) -> set:
    """The models among ``models`` whose table has no row, read in one statement (an
    EXISTS per table, each stopping at the first row it finds)."""
    if not models:
        return set()
    by_alias: dict[str, list] = {}
    for model in models:
        by_alias.setdefault(router.db_for_read(model), []).append(model)
    empty = set()
    for alias, group in by_alias.items():
        connection = connections[alias]
        quote = connection.ops.quote_name
        probes = ", ".join(f"EXISTS (SELECT 1 FROM {quote(m._meta.db_table)})" for m in group)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {probes}")
            found = cursor.fetchone()
        empty |= {model for model, present in zip(group, found) if not present}
    return empty


def _health_entry() -> dict | None:
    try:
        url = reverse(f"admin:{APP_LABEL}_health")
    except NoReverseMatch:
        return None
    return {"name": "Mirror health", "object_name": "MirrorHealth", "admin_url": url,
            "add_url": None, "view_only": True, "perms": {"view": True}}


def _revenue_entry() -> dict | None:
    try:
        url = reverse(f"admin:{APP_LABEL}_revenue")
    except NoReverseMatch:
        return None
    return {"name": "Revenue", "object_name": "Revenue", "admin_url": url,
            "add_url": None, "view_only": True, "perms": {"view": True}}
