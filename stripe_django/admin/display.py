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
        text = format_amount(getattr(obj, name), getattr(obj, "currency", None))
        # on one line: a narrow column would put the currency under the number
        return format_html('<span style="white-space: nowrap">{}</span>', text) if text else None

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


def reverse_relations(model: type[models.Model]) -> list[models.ManyToOneRel]:
    """The relations of other mirrored rows pointing at rows of ``model`` (a customer's
    invoices, charges, subscriptions), in the order the models are declared."""
    return [rel for rel in model._meta.related_objects
            if rel.one_to_many and getattr(rel.related_model, "stripe_object", "")]


def related_rows(obj: Any, site: admin.AdminSite = admin.site) -> str | None:
    """Links to the lists of the rows that refer to ``obj``, each filtered to them, with
    their number: a support person goes from a customer to their invoices and charges.
    The numbers are read in one query (a subquery per relation, each on the foreign
    key's index); relations without rows are left out."""
    from django.db.models import Count, OuterRef, Subquery, Value
    from django.db.models.functions import Coalesce

    relations = [rel for rel in reverse_relations(type(obj)) if site.is_registered(rel.related_model)]
    if not relations:
        return None
    counts = {}
    for i, rel in enumerate(relations):
        rows = (rel.related_model._base_manager.filter(**{rel.field.attname: OuterRef("pk")})
                .order_by().values(rel.field.attname).annotate(n=Count("pk")).values("n"))
        counts[f"related_{i}"] = Coalesce(Subquery(rows), Value(0))
    found = type(obj)._base_manager.filter(pk=obj.pk).annotate(**counts).values(*counts).first() or {}
    links = []
    for i, rel in enumerate(relations):
        number = found.get(f"related_{i}") or 0
        if not number:
            continue
        opts = rel.related_model._meta
        url = reverse(f"{site.name}:{opts.app_label}_{opts.model_name}_changelist")
        label = str(opts.verbose_name_plural)
        # A key not named after this type says what the row is to them: an invoice's
        # "subscriptions (as latest invoice)" (but an issuing card's transactions, by "card").
        if not type(obj)._meta.model_name.endswith(rel.field.name.replace("_", "")):
            label += f" (as {rel.field.verbose_name})"
        links.append(format_html('<a href="{}?{}">{}: {}</a>', url,
                                 urlencode({f"{rel.field.name}__exact": obj.pk}), label, number))
    if not links:
        return "none"
    return format_html("<br>".join(["{}"] * len(links)), *links)
