"""The admin's Revenue page: MRR, ARR, paying customers and ARPU now, the monthly table
of MRR movements with a chart per currency, and the customers behind each figure.

It is a view of the Subscription admin (``subscription/revenue/``, URL name
``admin:stripe_django_revenue``), visible to whoever may view subscriptions. All figures
come from :mod:`stripe_django.analytics` (definitions: docs/guide/revenue-metrics.rst).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from urllib.parse import quote_plus

from .. import analytics
from ..analytics.movements import Source
from ..analytics.report import monthly_table
from ..money import format_amount
from . import revenue_chart
from .options import StripeObjectAdmin

MAX_MONTHS = 36


class RevenueForm(forms.Form):
    """The page's choices, from the query string."""

    at = forms.DateField(required=False, help_text="the end of the table (default now), YYYY-MM-DD")
    months = forms.IntegerField(min_value=1, max_value=MAX_MONTHS, initial=12, required=False)
    currency = forms.CharField(max_length=3, required=False)
    account = forms.CharField(max_length=255, required=False,
                              help_text="acct_..., or 'platform'; empty for every account")
    source = forms.ChoiceField(choices=[("subscriptions", "subscriptions"), ("invoices", "invoices")],
                               required=False, initial="subscriptions")
    # the drill-down: the customers behind one movement of one month
    month = forms.RegexField(regex=r"^\d{4}-\d{2}$", required=False, widget=forms.HiddenInput)
    kind = forms.ChoiceField(choices=[("", "")] + [(k, k) for k in analytics.KINDS], required=False,
                             widget=forms.HiddenInput)


def customer_url(site_name: str, customer: str) -> str | None:
    try:
        return reverse(f"{site_name}:stripe_django_customer_change", args=[quote(customer)])
    except NoReverseMatch:
        return None


def revenue_view(model_admin: admin.ModelAdmin) -> Callable[[HttpRequest], TemplateResponse]:
    """The page as a view of ``model_admin``'s site (staff only, through ``admin_view``)."""

    def view(request: HttpRequest) -> TemplateResponse:
        if not model_admin.has_view_permission(request):
            raise PermissionDenied
        site = model_admin.admin_site
        form = RevenueForm(request.GET or None)
        context: dict[str, Any] = {**site.each_context(request), "title": "Revenue", "opts": model_admin.opts,
                                   "form": form, "legend": revenue_chart.legend(), "kinds": analytics.KINDS}
        choices = form.cleaned_data if form.is_valid() else {} if form.is_bound else {}
        if form.is_bound and not form.is_valid():
            return TemplateResponse(request, "admin/stripe_django/revenue.html", context, status=400)
        months = choices.get("months") or 12
        currency = (choices.get("currency") or "").lower() or None
        source: Source = "invoices" if choices.get("source") == "invoices" else "subscriptions"
        account: Any = ...
        if choices.get("account"):
            account = None if choices["account"] == "platform" else choices["account"]
        now = timezone.now()
        if choices.get("at"):
            now = dt.datetime.combine(choices["at"], dt.time(), tzinfo=dt.timezone.utc)
        rows, periods = monthly_table(months, until=now, currency=currency, account=account, source=source)
        totals = periods[-1].ending if periods else {}
        people = {cur: 0 for cur in totals}
        for row in rows:
            if row.end == now:
                people[row.currency] = row.customers
        # the table's links keep the page's choices (the drill-down adds currency, month, kind)
        kept = {k: request.GET[k] for k in ("at", "months", "account") if request.GET.get(k)}
        context.update(
            source=source, now=now, figure_source=periods[-1].ending_source if periods else source, drill_query="".join(f"{k}={quote_plus(v)}&" for k, v in kept.items()),
            summary=[{"currency": cur, "mrr": format_amount(amount, cur), "arr": format_amount(amount * 12, cur),
                      "customers": people.get(cur, 0),
                      "arpu": format_amount(round(amount / people[cur]), cur) if people.get(cur) else "-"}
                     for cur, amount in sorted(totals.items())],
            charts=[(cur, revenue_chart.mrr_by_month(rows, cur)) for cur in sorted({r.currency for r in rows})],
            rows=[{"month": f"{r.start:%Y-%m}", "currency": r.currency, "customers": r.customers,
                   "sources": r.sources,
                   "cells": [(k, getattr(r, k), format_amount(getattr(r, k), r.currency))
                             for k in ("starting", *analytics.KINDS, "ending")]} for r in rows],
        )
        if choices.get("month") and choices.get("kind"):
            wanted = [p for p in periods if f"{p.start:%Y-%m}" == choices["month"]]
            moves = [m for p in wanted for m in p.customers if m.kind == choices["kind"]
                     and (currency is None or m.currency == currency)]
            context["drill"] = {
                "month": choices["month"], "kind": choices["kind"],
                "moves": [{"customer": m.customer, "url": customer_url(site.name, m.customer),
                           "currency": m.currency, "starting": format_amount(m.starting, m.currency),
                           "ending": format_amount(m.ending, m.currency),
                           "amount": format_amount(m.amount, m.currency)}
                          for m in sorted(moves, key=lambda m: (m.currency, m.amount, m.customer))],
            }
        return TemplateResponse(request, "admin/stripe_django/revenue.html", context)

    return view


class SubscriptionAdmin(StripeObjectAdmin):
    """The base of the Subscription admin: adds the Revenue page to its URLs."""

    def get_urls(self):
        info = self.opts.app_label
        return [
            path("revenue/", self.admin_site.admin_view(revenue_view(self)), name=f"{info}_revenue"),
            *super().get_urls(),
        ]
