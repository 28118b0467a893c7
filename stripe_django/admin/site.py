"""Registration of every model with the admin site, and the index grouped by family.

Django's index lists an app's models in one alphabetical table; 141 Stripe models are
easier to find in families (Core, Billing, Payments, ...: the model modules, see
``type_table.FAMILY_OF_TYPE``). The grouping is a filter over the site's own app list
(``stripe_families``) used by stripe_django's index templates, so the site, its URLs
and its permissions stay Django's.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from ..ingest.columns import mirrored_types
from ..models import Event
from ..models.sync_state import SyncCursor, SyncRun
from ..models.verification import VerificationRun
from . import table
from .events import SyncCursorAdmin, event_admin_class
from .options import admin_class_for
from .runs import SyncRunAdmin
from .verify import VerificationRunAdmin

APP_LABEL = "stripe_django"
MIRROR_FAMILY = "mirror"  # the app's own models (sync cursors) and the health page
INDEX_TEMPLATE = "admin/stripe_django/index.html"


def register(site: admin.AdminSite) -> None:
    """Register an admin class for every mirrored model, events, sync cursors and runs,
    and verifications."""
    for model in mirrored_types().values():
        if model is Event:
            site.register(model, event_admin_class())
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


def group_by_family(app_list: list[dict]) -> list[dict]:
    grouped: list[dict] = []
    for app in app_list:
        if app.get("app_label") != APP_LABEL:
            grouped.append(app)
            continue
        families: dict[str, list[dict]] = {}
        for entry in app["models"]:
            families.setdefault(family_of(entry.get("model")), []).append(entry)
        if MIRROR_FAMILY in families:
            health = _health_entry()
            if health:
                families[MIRROR_FAMILY].insert(0, health)
        order = list(table.FAMILY_TITLES)
        for family in sorted(families, key=lambda f: (order.index(f) if f in order else len(order), f)):
            title = table.FAMILY_TITLES.get(family, family.replace("_", " ").title())
            grouped.append({**app, "name": f"{app['name']}: {title}", "models": families[family]})
    return grouped


def _health_entry() -> dict | None:
    try:
        url = reverse(f"admin:{APP_LABEL}_health")
    except NoReverseMatch:
        return None
    return {"name": "Mirror health", "object_name": "MirrorHealth", "admin_url": url,
            "add_url": None, "view_only": True, "perms": {"view": True}}
