"""List filters and the date drill-down, bounded in cost on tables of millions of rows.

Django's own read every row of the table on each list page: the "all values" filter
runs ``SELECT DISTINCT status``, and the date drill-down's first level
``SELECT DISTINCT year(created)``. Here the filter offers the values found in a sample
of rows, and the drill-down the years between the first and last ``created`` (two index
lookups; the months and days of a chosen year are read as Django does, within it).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin
from django.contrib.admin.templatetags import admin_list
from django.db import models
from django.utils import timezone

# Rows read for a filter's values; any value can still be filtered on through the URL
# (``?currency=jpy``).
SAMPLE_ROWS = 1000


class SampledValuesFilter(admin.AllValuesFieldListFilter):
    """The values of a column found in :data:`SAMPLE_ROWS` rows (plus the one selected)."""

    def __init__(self, field, request, params, model, model_admin, field_path) -> None:
        super().__init__(field, request, params, model, model_admin, field_path)
        rows = model_admin.get_queryset(request).order_by().values_list(field.name, flat=True)
        values = set(rows[:SAMPLE_ROWS])
        values.update(self.lookup_val or ())
        self.lookup_choices = sorted(values, key=lambda v: (v is None, str(v)))


class AccountFilter(SampledValuesFilter):
    """The connected accounts of the rows; the platform's rows (no account) are
    "platform" rather than the admin's empty mark."""

    def __init__(self, field, request, params, model, model_admin, field_path) -> None:
        super().__init__(field, request, params, model, model_admin, field_path)
        self.empty_value_display = "platform"


def filter_for(field: models.Field) -> Any:
    """A ``list_filter`` entry: booleans and choices as Django does them (no query)."""
    if field.name == "stripe_account":
        return (field.name, AccountFilter)
    if isinstance(field, (models.CharField, models.TextField)) and not field.choices:
        return (field.name, SampledValuesFilter)
    return field.name


def reference_filters(request, model_admin) -> list[tuple[str, str, str]]:
    """The filters of the list's URL on a reference that the sidebar has no filter for
    (``?customer__exact=cus_123``, as the links of a row's page make them): (what, the
    value, the list's URL without it), so the list can say what it shows."""
    from django.utils.http import urlencode

    shown = []
    for key, value in request.GET.items():
        name = key.removesuffix("__exact")
        try:
            field = model_admin.model._meta.get_field(name)
        except Exception:  # noqa: BLE001 - not a field (a page number, a search, ...)
            continue
        if not isinstance(field, models.ForeignKey) or key == name:
            continue
        rest = {k: v for k, v in request.GET.items() if k != key}
        shown.append((str(field.verbose_name), value, "?" + urlencode(rest)))
    return shown


class _YearsFromRange:
    """A changelist as Django's date drill-down sees it, whose years, months and days
    come from the range of the column rather than a DISTINCT over the rows."""

    def __init__(self, changelist) -> None:
        self._changelist = changelist
        self.queryset = _Queryset(changelist.queryset)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._changelist, name)


class _Queryset:
    def __init__(self, queryset) -> None:
        self._queryset = queryset

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queryset, name)

    def datetimes(self, field_name: str, kind: str, *args, **kwargs):
        """The years, months or days between the first and the last date of the rows
        (the drill-down has already narrowed them to a year or a month), in the project's
        time zone. Computed here rather than by the database: no DISTINCT over the rows,
        and no time zone tables needed (MySQL and MariaDB servers often have none, and
        truncating to a named zone there gives NULL). A month or day between two that
        have rows may have none."""
        bounds = self._queryset.aggregate(first=models.Min(field_name), last=models.Max(field_name))
        if bounds["first"] is None:
            return []
        first, last = (timezone.localtime(v) for v in (bounds["first"], bounds["last"]))
        zone = timezone.get_current_timezone()
        if kind == "year":
            return [dt.datetime(year, 1, 1, tzinfo=zone) for year in range(first.year, last.year + 1)]
        if kind == "month":
            months = range(first.year * 12 + first.month - 1, last.year * 12 + last.month)
            return [dt.datetime(m // 12, m % 12 + 1, 1, tzinfo=zone) for m in months]
        if kind == "day":
            days = (last.date() - first.date()).days + 1
            return [dt.datetime.combine(first.date() + dt.timedelta(days=d), dt.time(), tzinfo=zone)
                    for d in range(days)]
        return self._queryset.datetimes(field_name, kind, *args, **kwargs)


def bounded_date_hierarchy(changelist) -> dict:
    """Django's date drill-down (``admin/date_hierarchy.html``) at a bounded cost."""
    return admin_list.date_hierarchy(_YearsFromRange(changelist))
