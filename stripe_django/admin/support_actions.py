"""Support operations from the admin: cancel a subscription, refund a charge or a payment
intent, void / finalize / send / mark uncollectible an invoice, expire a Checkout Session.

Each is an admin action of its model that opens a confirmation page showing the exact
request(s) to send (HTTP method, path, parameters, account, idempotency key); the change is
sent only from that page, through the write-through client (:mod:`stripe_django.mirror`),
so the rows show Stripe's answer at once. The operations a type offers are declared in
:data:`OPERATIONS`, not coded per type. Every operation takes the one permission
``stripe_django.change_at_stripe`` ("Can change at Stripe").

Stripe's reference: https://docs.stripe.com/api/subscriptions/cancel,
https://docs.stripe.com/api/refunds/create, https://docs.stripe.com/api/invoices,
https://docs.stripe.com/api/checkout/sessions/expire.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import stripe
from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from ..exceptions import StripeDjangoError
from ..ingest.columns import model_for
from ..mirror.rows import for_model, route
from ..models.base import StripeModel
from ..money import format_amount, to_minor_units

logger = logging.getLogger("stripe_django.admin")

__all__ = ["Call", "Operation", "OPERATIONS", "PERMISSION", "actions_for"]

#: The permission every operation takes ("Can change at Stripe", on ``SyncRun``'s Meta).
PERMISSION = "stripe_django.change_at_stripe"


@dataclass(frozen=True)
class Call:
    """One request of an operation. ``path`` and the string ``params`` values may hold
    ``{id}``, the row's id. ``method`` is the SDK method: of the row's own service
    (``row.stripe.<method>``), or, with ``on``, of that type's service
    (``Refund.objects.stripe.create``)."""

    http_method: str
    path: str
    method: str
    params: Mapping[str, Any] = field(default_factory=dict)
    on: str | None = None


@dataclass(frozen=True)
class Operation:
    """A support operation of one object type. ``choices``: (value, label, call); with
    more than one, the confirmation page asks which. ``amount``: an optional ``amount``
    parameter (blank: the whole amount). ``refresh``: re-read the row afterwards, when the
    call answers with another object (a refund) that changes the row at Stripe."""

    name: str
    label: str
    object_type: str
    choices: tuple[tuple[str, str, Call], ...]
    amount: bool = False
    refresh: bool = False

    def call(self, choice: str) -> Call:
        for value, _, call in self.choices:
            if value == choice:
                return call
        raise KeyError(choice)


def _invoice(name: str, label: str, action: str, method: str) -> Operation:
    return Operation(name, label, "invoice",
                     (("", label, Call("POST", f"/v1/invoices/{{id}}/{action}", method)),))


def _refund(object_type: str, param: str, label: str) -> Operation:
    return Operation(f"refund_{object_type}", label, object_type,
                     (("", label, Call("POST", "/v1/refunds", "create", {param: "{id}"}, on="refund")),),
                     amount=True, refresh=True)


OPERATIONS: tuple[Operation, ...] = (
    Operation("cancel_subscription", "Cancel the subscription at Stripe", "subscription", (
        ("now", "Now", Call("DELETE", "/v1/subscriptions/{id}", "cancel")),
        ("period_end", "At the end of the current period",
         Call("POST", "/v1/subscriptions/{id}", "update", {"cancel_at_period_end": True})),
    )),
    _refund("charge", "charge", "Refund the charge at Stripe"),
    _refund("payment_intent", "payment_intent", "Refund the payment intent at Stripe"),
    _invoice("void_invoice", "Void the invoice at Stripe", "void", "void_invoice"),
    _invoice("finalize_invoice", "Finalize the invoice at Stripe", "finalize", "finalize_invoice"),
    _invoice("send_invoice", "Send the invoice at Stripe", "send", "send_invoice"),
    _invoice("mark_invoice_uncollectible", "Mark the invoice uncollectible at Stripe",
             "mark_uncollectible", "mark_uncollectible"),
    Operation("expire_checkout_session", "Expire the Checkout Session at Stripe", "checkout.session",
              (("", "Expire", Call("POST", "/v1/checkout/sessions/{id}/expire", "expire")),)),
)


@dataclass(frozen=True)
class PlannedRequest:
    """What the confirmation page shows and the confirmation sends, for one row."""

    row: StripeModel
    call: Call
    path: str
    params: dict[str, Any]
    account: str | None  # the Stripe-Account header, None: the key's own account
    idempotency_key: str

    @property
    def money(self) -> str:
        """The ``amount`` parameter as people read it (``12.50 USD``); "" without one."""
        amount = self.params.get("amount")
        return format_amount(amount, getattr(self.row, "currency", None)) if amount else ""

    def shown(self) -> dict[str, Any]:
        return {"id": self.row.pk, "method": self.call.http_method, "path": self.path,
                "params": self.params, "account": self.account}


class ChoicesForm(forms.Form):
    """The choices of an operation: which call (``choice``) and an ``amount``.

    The amount is entered as people write it, in the row's currency (``12.50`` USD,
    ``1000`` JPY) and sent in its smallest unit. It is for one row: with several rows
    selected, each is refunded in full, and an amount given anyway is refused, since it
    could mean each row's or all rows' together."""

    def __init__(self, operation: Operation, rows: list[StripeModel], *args: Any,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        currencies = {getattr(row, "currency", None) for row in rows}
        self.currency = currencies.pop() if len(currencies) == 1 else None
        if len(operation.choices) > 1:
            self.fields["choice"] = forms.ChoiceField(
                choices=[(value, label) for value, label, _ in operation.choices],
                initial=operation.choices[0][0], widget=forms.RadioSelect, label="When")
        if operation.amount:
            unit = f" ({self.currency.upper()})" if self.currency else ""
            help_text = ("Blank: refund everything not refunded yet. "
                         + ("With several rows selected, each is refunded in full: select "
                            "one row to refund part of it." if len(rows) > 1 else
                            f"In {self.currency.upper()}, e.g. {format_amount(1250, self.currency)}."
                            if self.currency else ""))
            self.fields["amount"] = forms.DecimalField(required=False, label=f"Amount{unit}",
                                                       help_text=help_text.strip())

    def clean_amount(self) -> int | None:
        value = self.cleaned_data.get("amount")
        if value is None:
            return None
        if len(self.rows) > 1:
            raise forms.ValidationError(
                f"An amount refunds part of one row, and {len(self.rows)} rows are selected: "
                "select one row, or leave the amount blank to refund each in full.")
        if not self.currency:
            raise forms.ValidationError(f"{self.rows[0].pk} has no currency in the mirror: "
                                        "leave the amount blank, or refresh it from Stripe.")
        try:
            return to_minor_units(value, self.currency)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None

    def choice(self, operation: Operation) -> str:
        return self.cleaned_data.get("choice") or operation.choices[0][0]


def _fill(value: Any, row: StripeModel) -> Any:
    return value.replace("{id}", row.pk) if isinstance(value, str) else value


def plan(operation: Operation, rows: list[StripeModel], choice: str, amount: int | None,
         keys: Mapping[str, str] | None = None) -> list[PlannedRequest]:
    """The request of each row: a new idempotency key each, unless ``keys`` (row id ->
    key, from the confirmed page) gives it."""
    call = operation.call(choice)
    planned = []
    for row in rows:
        params = {name: _fill(value, row) for name, value in call.params.items()}
        if amount is not None:
            params["amount"] = amount
        _, account = route(row.stripe_account)
        key = (keys or {}).get(row.pk) or f"stripe-django-admin-{uuid.uuid4()}"
        planned.append(PlannedRequest(row, call, _fill(call.path, row), params, account, key))
    return planned


def send(request: PlannedRequest) -> Any:
    """Send one planned request through the write-through client."""
    options: dict[str, Any] = {"idempotency_key": request.idempotency_key}
    params = request.params or None
    if request.call.on is None:
        return getattr(request.row.stripe, request.call.method)(params=params, options=options)
    if request.row.stripe_account:
        options["stripe_account"] = request.row.stripe_account  # route() maps it as for the row
    model = model_for(request.call.on)
    if model is None:  # a declaration naming a type that is not mirrored
        raise StripeDjangoError(f"{request.call.on} objects are not mirrored")
    service = for_model(model)
    return getattr(service, request.call.method)(params=params, options=options)


def _refused(error: stripe.StripeError) -> str:
    message = error.user_message or str(error)
    return f"{message} (code: {error.code})" if error.code else message


def run(modeladmin: admin.ModelAdmin, request: HttpRequest, operation: Operation,
        planned: list[PlannedRequest]) -> None:
    """Send each request; a LogEntry and a message per change, Stripe's refusal shown."""
    for item in planned:
        row = item.row
        try:
            send(item)
        except (stripe.StripeError, StripeDjangoError) as error:
            text = _refused(error) if isinstance(error, stripe.StripeError) else str(error)
            logger.warning("stripe_django: %s of %s refused: %s", operation.name, row.pk, text)
            modeladmin.message_user(request, f"Stripe refused: {operation.label} {row.pk}: {text}",
                                    messages.ERROR)
            continue
        modeladmin.log_change(request, row, f"{operation.label}: {item.call.http_method} {item.path} "
                                            f"{json.dumps(item.params, sort_keys=True)} "
                                            f"(idempotency key {item.idempotency_key})")
        modeladmin.message_user(request, f"Done at Stripe: {operation.label} {row.pk}.", messages.SUCCESS)
        if operation.refresh:
            try:
                row.refresh_from_stripe()
            except (stripe.StripeError, StripeDjangoError) as error:
                modeladmin.message_user(request, f"{row.pk} was changed at Stripe, but reading it back "
                                                 f"failed: {error}", messages.WARNING)


def confirmation_view(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet,
                      operation: Operation) -> TemplateResponse | None:
    """The action: the confirmation page, or, posted from it unchanged, the change."""
    rows = list(queryset.order_by("pk"))
    confirming = "stripe_confirm" in request.POST
    reviewing = confirming or "stripe_review" in request.POST
    form = ChoicesForm(operation, rows, request.POST if reviewing else None)
    note = None
    if reviewing and form.is_valid():
        choice, amount = form.choice(operation), form.cleaned_data.get("amount")
        keys = {row.pk: request.POST.get(f"stripe_key_{row.pk}", "") for row in rows}
        planned = plan(operation, rows, choice, amount, keys if confirming else None)
        shown = json.dumps([p.shown() for p in planned], sort_keys=True)
        if confirming and shown == request.POST.get("stripe_shown"):
            run(modeladmin, request, operation, planned)
            return None  # back to the list
        if confirming:
            note = "The choices changed since the page was shown: check the request below."
            planned = plan(operation, rows, choice, amount)
    else:
        planned = plan(operation, rows, operation.choices[0][0], None)
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": f"{operation.label}?",
        "opts": opts,
        "operation": operation,
        "form": form,
        "note": note,
        "planned": [(p, [(k, json.dumps(v) if not isinstance(v, str) else v)
                         for k, v in sorted(p.params.items())]) for p in planned],
        "shown": json.dumps([p.shown() for p in planned], sort_keys=True),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "action_name": operation.name,
    }
    return TemplateResponse(request, "admin/stripe_django/support_action.html", context)


def _action(operation: Operation) -> Callable[..., Any]:
    def action(modeladmin: admin.ModelAdmin, request: HttpRequest,
               queryset: QuerySet) -> TemplateResponse | None:
        return confirmation_view(modeladmin, request, queryset, operation)

    action.__name__ = operation.name
    return admin.action(description=f"{operation.label}…", permissions=["change_at_stripe"])(action)


def actions_for(object_type: str) -> tuple[Callable[..., Any], ...]:
    """The admin actions of a type's support operations."""
    return tuple(_action(op) for op in OPERATIONS if op.object_type == object_type)
