"""The admin class of every mirrored model, generated from the model's fields and the
declarative table in :mod:`.table` (no hand-written class per type).

Everything is read-only: the source of truth is Stripe. Lists stay fast on tables of
millions of rows: no ``COUNT(*)`` (:mod:`.paginator`), related rows of link columns read
in the same query (``list_select_related``), and the large JSON columns left unread.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Iterable

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.contrib.admin.views.main import ChangeList
from django.db import models

from .. import type_table
from ..ingest.columns import model_for
from ..models.base import StripeModel
from ..models.display import display_paths
from ..models.fields import TimestampField
from ..mirror.admin_actions import refresh_from_stripe
from . import dashboard, display, search, support_actions, table
from .filters import filter_for, reference_filters
from .paginator import LookaheadPaginator, page_number_of

# Columns every row has that say where the row stands in the mirror, not what Stripe says.
MIRROR_FIELDS = ("stripe_account", "stripe_snapshot_at", "stripe_data_hash", "deleted")


def _as_method(func: Callable[[Any], Any]) -> Callable[[Any, Any], Any]:
    """A column function ``f(obj)`` as a ModelAdmin method, keeping its display options.
    No value is the admin's empty mark: lists show one for None, read-only fields of a
    change page would print "None"."""

    @functools.wraps(func)
    def method(self, obj):
        value = func(obj)
        return self.get_empty_value_display() if value is None else value

    return method


def _is_json(field: models.Field) -> bool:
    return isinstance(field, models.JSONField)


def _fields(model: type[models.Model]) -> dict[str, models.Field]:
    return {f.name: f for f in model._meta.concrete_fields}


def list_columns(model: type[StripeModel]) -> tuple[str, ...]:
    """The table's columns of the model's type, or the default ones it has."""
    names = _fields(model)
    columns = table.LIST_COLUMNS.get(model.stripe_object)
    if columns is None:
        present = [name for name in table.DEFAULT_COLUMNS if name in names and not _is_json(names[name])]
        columns = tuple(present[:table.MAX_DEFAULT_COLUMNS])
    return columns


def is_amount(name: str) -> bool:
    return (name in table.AMOUNT_FIELDS or name.startswith(table.AMOUNT_PREFIX)
            or name.endswith(table.AMOUNT_SUFFIX))


SHOW_ALL_FIELDS = "all_fields"  # the query parameter of a change page that shows empty fields too
EMPTY_VALUES: tuple[Any, ...] = (None, "", [], {})


def _is_empty(obj: Any, name: str) -> bool:
    """Whether the change page's field ``name`` (a model field, or a generated
    ``<field>_link_detail`` / ``<field>_money_detail`` method) has no value on ``obj``."""
    for suffix in ("_link_detail", "_money_detail"):
        if name.endswith(suffix):
            name = name.removesuffix(suffix)
            break
    try:
        field = obj._meta.get_field(name)
    except Exception:  # noqa: BLE001 - not a field (a method of the admin): always shown
        return False
    return getattr(obj, field.attname, None) in EMPTY_VALUES


class Column:
    """How one field is shown in lists and on the change page: its name as a ModelAdmin
    attribute (a generated method for links and amounts) and that method."""

    def __init__(self, model: type[models.Model], name: str, *, fetch: bool) -> None:
        field = model._meta.get_field(name)
        self.field = field
        self.method: Callable | None = None
        if isinstance(field, models.ForeignKey):
            self.method = _as_method(display.link_column(field, fetch=fetch))
        elif is_amount(name) and isinstance(field, models.IntegerField) and "currency" in _fields(model):
            self.method = _as_method(display.amount_column(name))
        self.name = self.method.__name__ if self.method else name


class StripeChangeList(ChangeList):
    """Leaves the JSON columns (``stripe_data`` can be tens of kilobytes) unread."""

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        deferred = self.model_admin.deferred_in_list
        return queryset.defer(*deferred) if deferred else queryset

    def get_results(self, request):
        super().get_results(request)
        paginator = self.paginator
        if isinstance(paginator, LookaheadPaginator) and not self.multi_page:
            # One page in all: show the rows the paginator read rather than read them again.
            self.result_list = paginator.page(paginator.page_number).object_list


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class StripeObjectAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """The base of the generated classes; :func:`admin_class_for` fills in the rest."""

    show_full_result_count = False  # no COUNT(*) of the whole table
    show_facets = admin.ShowFacets.NEVER  # counts per filter value: COUNT(*)s of the whole table
    list_max_show_all = 0  # "show all" would read every row of a large table
    list_per_page = 50
    paginator = LookaheadPaginator
    deferred_in_list: tuple[str, ...] = ("stripe_data",)
    # Read-only, yet a support person can ask Stripe for the current state of a row.
    actions: tuple[str | Callable[..., Any], ...] = (refresh_from_stripe,)

    def has_change_at_stripe_permission(self, request) -> bool:
        """The support operations (:mod:`.support_actions`) change objects at Stripe."""
        return request.user.has_perm(support_actions.PERMISSION)

    def get_changelist(self, request, **kwargs):
        return StripeChangeList

    def changelist_view(self, request, extra_context=None):
        # A list reached from a row's page ("invoices: 3") says whose rows it shows.
        extra_context = {**(extra_context or {}), "stripe_reference_filters": reference_filters(request, self)}
        return super().changelist_view(request, extra_context=extra_context)

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        return self.paginator(queryset, per_page, orphans=orphans,
                              allow_empty_first_page=allow_empty_first_page,
                              page_number=page_number_of(request))

    def get_search_results(self, request, queryset, search_term):
        # An id typed or pasted whole is found through the primary key's index; Django's
        # "=id" search compares without case (UPPER(id) = UPPER(...)), which reads
        # every row of a large table on PostgreSQL.
        term = search_term.strip()
        if term and not any(c.isspace() for c in term):
            exact = queryset.filter(pk=term)
            if exact.exists():
                return exact, False
        if search.looks_like_email(term):
            by_email = search.search_by_email(queryset, term)
            if by_email is not None:
                return by_email, False
        return super().get_search_results(request, queryset, search_term)

    # The fieldsets whose empty fields a change page leaves out (the first, the summary,
    # shows every field of the list; "Mirror" is the app's own).
    compact_fieldsets = ("All fields", "Nested objects")

    def get_object(self, request, object_id, from_field=None):
        """The row of a change page, with the related rows its label reads (a
        subscription's customer, plan and product) in the same query: the page's title,
        breadcrumbs and history name it as lists do, not by a bare id."""
        paths = display_paths(self.model)
        if not paths:
            return super().get_object(request, object_id, from_field)
        queryset = self.get_queryset(request).select_related(*paths).defer(
            *(f"{path}__stripe_data" for path in paths))
        field = self.model._meta.pk if from_field is None else self.model._meta.get_field(from_field)
        try:
            return queryset.get(**{field.name: field.to_python(object_id)})
        except (self.model.DoesNotExist, ValidationError, ValueError):
            return None

    def get_fieldsets(self, request, obj=None):
        """The fields of ``compact_fieldsets`` that hold a value: a row of an older or
        smaller object has dozens of empty fields (``?all_fields=1`` shows them)."""
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or request.GET.get(SHOW_ALL_FIELDS):
            return fieldsets
        compact = []
        for name, options in fieldsets:
            if name in self.compact_fieldsets:
                fields = [f for f in options["fields"] if not _is_empty(obj, f)]
                if not fields:
                    continue
                options = {**options, "fields": fields}
            compact.append((name, options))
        return compact

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # The object's page on the Stripe Dashboard, linked beside "History".
        context["stripe_dashboard_url"] = dashboard.dashboard_url(obj) if obj is not None else None
        if obj is not None and not request.GET.get(SHOW_ALL_FIELDS):
            shown = {f for _, options in self.get_fieldsets(request, obj) for f in options["fields"]}
            every = {f for _, options in super().get_fieldsets(request, obj) for f in options["fields"]}
            context["stripe_empty_fields"] = len(every - shown)
        return super().render_change_form(request, context, add=add, change=change,
                                          form_url=form_url, obj=obj)

    # The mirror's own columns are named so that no Stripe field can take their names
    # (a payment evaluation has a field ``events``: a duplicate field fails the checks).
    @admin.display(description="stripe data")
    def mirror_payload(self, obj) -> str:
        return display.payload(obj)

    @admin.display(description="rows referring to it")
    def mirror_related(self, obj) -> str | None:
        return display.related_rows(obj, self.admin_site)

    @admin.display(description="events")
    def mirror_events(self, obj) -> str | None:
        """A link to the stored events about this object (the events list searched by its id)."""
        return display.events_link(obj.pk, self.admin_site)


class StripeChildInline(ReadOnlyMixin, admin.TabularInline):
    """The child rows of an embedded list (invoice lines, subscription items) on the
    parent's page."""

    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    list_select_related: tuple[str, ...] = ()

    def get_queryset(self, request):
        queryset = super().get_queryset(request).defer("stripe_data")
        if self.list_select_related:
            queryset = queryset.select_related(*self.list_select_related).defer(
                *(f"{name}__stripe_data" for name in self.list_select_related))
        return queryset


def _with_label_paths(fks: Iterable[models.ForeignKey]) -> tuple[str, ...]:
    """The foreign keys' names, each followed by the paths its row's label reads
    (``subscription``, ``subscription__customer``, ...): links stay one query per list."""
    return tuple(path for fk in fks
                 for path in (fk.name, *(f"{fk.name}__{p}" for p in display_paths(fk.related_model))))


def inline_classes_for(model: type[StripeModel]) -> list[type[StripeChildInline]]:
    """An inline per embedded list of the model's type whose children are rows."""
    inlines = []
    for (parent, list_field), (child_type, _) in type_table.EMBEDDED_LIST_CHILDREN.items():
        child = model_for(child_type)
        link = type_table.EMBEDDED_LISTS.get((parent, list_field))
        if parent != model.stripe_object or child is None or link is None:
            continue
        field = _fields(child).get(link)
        if not isinstance(field, models.ForeignKey) or field.related_model is not model:
            continue
        columns = [Column(child, name, fetch=False) for name in list_columns(child) if name != link]
        attrs: dict[str, Any] = {c.name: c.method for c in columns if c.method}
        names = [c.name for c in columns]  # the id is shown with the link to the row's page
        attrs.update(
            model=child, fk_name=link, fields=names, readonly_fields=names,
            verbose_name_plural=list_field.replace("_", " "),
            # the related rows of the columns, and those naming each child (its str())
            list_select_related=(*_with_label_paths(c.field for c in columns
                                                    if isinstance(c.field, models.ForeignKey)),
                                 *display_paths(child)),
            __module__=__name__,
        )
        inlines.append(type(f"{child.__name__}{list_field.title().replace('_', '')}Inline",
                            (StripeChildInline,), attrs))
    return inlines


def admin_class_for(model: type[StripeModel], base: type[StripeObjectAdmin] = StripeObjectAdmin
                    ) -> type[StripeObjectAdmin]:
    """The admin class of one mirrored model."""
    fields = _fields(model)
    attrs: dict[str, Any] = {"__module__": __name__}

    # Lists: id, then the table's columns (links for references, money for amounts).
    listed = [Column(model, name, fetch=False) for name in list_columns(model)]
    attrs.update({c.name: c.method for c in listed if c.method})
    attrs["list_display"] = ("id", *(c.name for c in listed))
    related = _with_label_paths(c.field for c in listed if isinstance(c.field, models.ForeignKey))
    attrs["list_select_related"] = related or False
    # The related rows' stripe_data is not shown either.
    attrs["deferred_in_list"] = (
        *(name for name, f in fields.items() if _is_json(f)
          and name not in {c.name for c in listed}),
        *(f"{name}__stripe_data" for name in related),
    )
    attrs["actions"] = (*base.actions, *support_actions.actions_for(model.stripe_object))
    attrs["search_fields"] = tuple(
        name for name in table.SEARCH_FIELDS if name.lstrip("=^@") in fields)
    attrs["list_filter"] = tuple(filter_for(fields[name]) for name in table.FILTER_FIELDS if name in fields)
    if isinstance(fields.get("created"), TimestampField):
        attrs["date_hierarchy"] = "created"
        attrs["ordering"] = ("-created",)

    # The change page (admin/stripe_django/change_form.html): the listed fields, the
    # child lists, the other scalars; nested objects and the whole payload folded away.
    shown = [Column(model, name, fetch=True) for name in fields
             if name not in MIRROR_FIELDS and name != "stripe_data"]
    attrs.update({f"{c.name}_detail": c.method for c in shown if c.method})
    name_of = {c.field.name: (f"{c.name}_detail" if c.method else c.name) for c in shown}
    first = ["id", *(c.field.name for c in listed)]
    scalars = [n for n in name_of if n not in first and not _is_json(fields[n])]
    nested = [n for n in name_of if _is_json(fields[n])]
    # The rows referring to this one (a customer's invoices) come with its summary.
    referring = ["mirror_related"] if display.reverse_relations(model) else []
    fieldsets: list[tuple[str | None, dict[str, list[str]]]] = [
        (None, {"fields": [*(name_of[n] for n in first), *referring]})]
    if scalars:
        fieldsets.append(("All fields", {"fields": [name_of[n] for n in scalars]}))
    if nested:
        fieldsets.append(("Nested objects", {"fields": [name_of[n] for n in nested],
                                             "classes": ["collapse"]}))
    fieldsets.append(("Mirror", {"fields": [*MIRROR_FIELDS, "mirror_events", "mirror_payload"]}))
    attrs["fieldsets"] = fieldsets
    attrs["readonly_fields"] = [*name_of.values(), *referring, *MIRROR_FIELDS, "mirror_events",
                                "mirror_payload"]
    attrs["inlines"] = inline_classes_for(model)
    return type(f"{model.__name__}Admin", (base,), attrs)
