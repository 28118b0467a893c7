"""How values look in the admin: money, links to related rows, the stored payload."""

from __future__ import annotations

import json
from typing import Any, Callable

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from ..money import format_amount


def admin_url(model: type[models.Model], pk: Any, site: admin.AdminSite = admin.site) -> str | None:
    """The change page of a row, or None when its model has no admin. The id is quoted
    the admin's way (``_`` followed by hex digits would otherwise be read as an escape)."""
    if not site.is_registered(model):
        return None
    opts = model._meta
    try:
        return reverse(f"{site.name}:{opts.app_label}_{opts.model_name}_change", args=[quote(pk)])
    except NoReverseMatch:
        return None


def events_link(pk: Any, site: admin.AdminSite = admin.site) -> str | None:
    """The events list searched by an object's id (the events about that object)."""
    from ..models import Event

    if not site.is_registered(Event):
        return None
    url = reverse(f"{site.name}:{Event._meta.app_label}_{Event._meta.model_name}_changelist")
    return format_html('<a href="{}?{}">events about {}</a>', url, urlencode({"q": pk}), pk)


def amount_column(name: str) -> Callable[[Any], str | None]:
    """A column showing the amount ``name`` with the row's currency (None: the admin's
    mark for an empty value)."""

    @admin.display(description=name.replace("_", " "), ordering=name)
    def column(obj: Any) -> str | None:
        return format_amount(getattr(obj, name), getattr(obj, "currency", None)) or None

    column.__name__ = f"{name}_money"
    return column


def link_column(field: models.ForeignKey, *, fetch: bool = False) -> Callable[[Any], str | None]:
    """A column linking to the related row's change page, labelled with the row. In
    lists the related row comes from ``list_select_related`` (``fetch`` False: never a
    query per row); a reference to a row not mirrored (yet) shows the bare id."""
    name = field.name
    attname = field.attname
    related = field.related_model

    @admin.display(description=field.verbose_name, ordering=attname)
    def column(obj: Any) -> str | None:
        pk = getattr(obj, attname)
        if pk is None:
            return None
        if fetch:
            row = related._base_manager.filter(pk=pk).defer("stripe_data").first()
        else:
            row = field.get_cached_value(obj, default=None)
        label = str(row) if row is not None else pk
        url = admin_url(related, pk)
        return format_html('<a href="{}">{}</a>', url, label) if url else label

    column.__name__ = f"{name}_link"
    return column


def payload(obj: Any) -> str:
    """``stripe_data`` pretty-printed in a collapsible block (secrets were removed at
    ingest, see ``type_table.REDACTED_FIELDS``)."""
    data = obj.stripe_data
    if isinstance(data, (dict, list)):
        text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)
    else:
        text = str(data)
    size = len(text.encode())
    return format_html(
        '<details class="stripe-django-payload"><summary>The object as last received '
        '({} bytes)</summary><pre style="white-space: pre-wrap; max-height: 40em; overflow: auto">'
        '{}</pre></details>', f"{size:,}", text)
