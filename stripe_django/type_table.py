"""Everything stripe_django knows about particular Stripe object types, in one table.

The generic machinery (the model generator, the ingest engine, the sync service) reads
this module and holds no per-type special cases of its own. What is here is knowledge
that the ``stripe`` SDK's type annotations do not carry:

* which object types are not mirrored, and why;
* which module (family) a model lives in, and the model name of namespaced types;
* fields that are references although the SDK types them as plain strings, and the
  link from the child rows of an embedded list (``invoice.lines``) to their parent;
* reverse accessor names the generic rule gets wrong (``invoice.line_items``), verbose
  names English rules get wrong ("tax IDs"), the fields that name a row in ``str()``,
  and the columns that get an index;
* fields of older API versions that stay real columns (the seed documents require
  them), with how to derive each one from the current API shape where possible;
* models of retired object types (``bitcoin_receiver``, ``recipient``);
* the synthetic key of objects that have no ``id`` (``balance``);
* fields that are never stored because they hold secrets;
* per-type list parameters for the sync service.

Stripe's API reference documents each type: https://docs.stripe.com/api
"""

from __future__ import annotations

from typing import Any, Callable

# ---------------------------------------------------------------------------------------
# Object types that are not mirrored. Each has no stored identity worth keeping, or
# holds a secret that must never reach the database.
EXCLUDED_TYPES: dict[str, str] = {
    "list": "a container for pages of other objects, not an object of its own",
    "search_result": "a container for search pages, not an object of its own",
    "account_link": "a single-use onboarding URL that expires in minutes; no id",
    "account_session": "a short-lived client secret for embedded components; no id",
    "customer_session": "a short-lived client secret for client-side components",
    "login_link": "a single-use dashboard URL for an Express account; no id",
    "ephemeral_key": "a short-lived secret key handed to a mobile client",
    "apps.secret": "its payload is a secret stored for a Stripe App",
    "billing_portal.session": "a short-lived portal URL; cannot be retrieved or listed",
    "terminal.connection_token": "a short-lived secret for a Terminal reader; no id",
    "terminal.onboarding_link": "a short-lived onboarding URL; no id",
    "funding_instructions": "bank transfer details computed on request for a customer; no id",
    "billing.meter_event": "write-only usage reports; Stripe does not return them later",
    "billing.meter_event_adjustment": "write-only corrections of meter events; no id",
    "billing.alert_triggered": "exists only inside billing.alert.triggered events; no id",
    "treasury.financial_account_features": (
        "kept inside treasury.financial_account.features; no id of its own"
    ),
    # v2 objects (https://docs.stripe.com/api/v2). The v2 page wrapper shares the name
    # "list" with the v1 one (above).
    "v2.search_result": "a container for v2 search pages, not an object of its own",
    "v2.core.event": (
        "v1 and v2 events share the evt_ id space: a v2 event is stored in the one event "
        "inbox, the Event model (object \"v2.core.event\", OBJECT_ALIASES)"
    ),
    "v2.core.account_link": "a single-use onboarding URL that expires in minutes; no id",
    "v2.core.account_token": "a single-use token carrying account details into a create or update",
    "v2.core.account_person_token": "a single-use token carrying person details into a create or update",
    "v2.billing.meter_event": (
        "write-only usage reports; Stripe does not return them later (as billing.meter_event)"
    ),
    "v2.billing.meter_event_adjustment": (
        "write-only corrections of meter events; cannot be retrieved or listed"
    ),
    "v2.billing.meter_event_session": (
        "a 15-minute authentication token for the meter event stream; a credential"
    ),
    "v2.money_management.financial_address_credit_simulation": (
        "the answer of a test helper that simulates a credit; no id"
    ),
    "v2.money_management.payout_methods_bank_account_spec": (
        "bank account field rules per country, computed on request; no id"
    ),
}

# Keys never stored, at any depth of any payload (a row's columns, ``stripe_data``, an
# event's ``data.object`` and ``previous_attributes``, an expanded object inside another):
# they are credentials that let a browser or app act on the object (DESIGN.md, "Secure
# by default"). A key is removed wherever it appears, whatever object it is in.
REDACTED_FIELDS: dict[str, str] = {
    "client_secret": "lets a browser confirm the payment or setup; a credential",
    "secret": "the signing secret of a webhook endpoint, returned once at creation",
    "signing_secret": "the signing secret of a v2 event destination's webhook endpoint",
    "authentication_token": "the bearer token of a v2 meter event session; a credential",
}

# Keys never stored in objects of one type (at any depth), where the same name is
# harmless elsewhere (an invoice's ``number``).
REDACTED_FIELDS_OF_TYPE: dict[str, dict[str, str]] = {
    "issuing.card": {
        "number": "the full card number, returned only when expanded; PCI data",
        "cvc": "the card's security code, returned only when expanded; PCI data",
    },
}

# In text that is not JSON (a body cut at the size limit, a log line), the type around a
# key is unknown: a key redacted in one type only is redacted where its value has the
# secret's shape (an invoice's "number" is no card number). A regular expression per key.
REDACTED_TEXT_SHAPES: dict[str, str] = {
    "number": r"\d{12,19}",
    "cvc": r"\d{3,4}",
}

# Old object names that payloads of older API versions still carry, and the type they
# are stored as.
OBJECT_ALIASES: dict[str, str] = {
    "file_upload": "file",  # renamed in API version 2018-02-28
    # v1 and v2 events share the evt_ id space and one inbox (EXCLUDED_TYPES).
    "v2.core.event": "event",
}

# Event actions (the last segment of an event type) that say the object was deleted: a
# thin notification of one whose related object answers 404 marks the row deleted.
DELETION_EVENT_ACTIONS: frozenset[str] = frozenset({"deleted"})

# Objects that only describe what an operation would do (an upcoming invoice's lines,
# a credit note preview). They can carry ids, but no such object exists at Stripe, so
# ingest refuses them; the preview operations return unsaved model instances instead.
# Id prefixes of preview objects, per object type:
PREVIEW_ID_PREFIXES: dict[str, tuple[str, ...]] = {
    "line_item": ("il_tmp_",),
    "invoice": ("upcoming_in_",),
}
# API paths whose answers are previews, whatever their ids look like.
PREVIEW_PATHS: tuple[str, ...] = (
    "/v1/invoices/upcoming",
    "/v1/invoices/upcoming/lines",
    "/v1/invoices/create_preview",
    "/v1/credit_notes/preview",
    "/v1/credit_notes/preview/lines",
)

# ---------------------------------------------------------------------------------------
# Families: the models module each type lives in. Namespaced types ("issuing.card") go
# to the module of their namespace unless listed here.
FAMILY_OF_NAMESPACE: dict[str, str] = {
    "billing": "billing",
    "billing_portal": "billing",
    "checkout": "checkout",
    "tax": "tax",
    "climate": "other",
    "financial_connections": "financial_connections",
    "identity": "other",
    "issuing": "issuing",
    "radar": "payments",
    "reporting": "other",
    "terminal": "terminal",
    "test_helpers": "core",
    "treasury": "treasury",
    "entitlements": "billing",
    "forwarding": "other",
    "apps": "other",
    "product_catalog": "billing",
    "reserve": "connect",
    "three_d_secure": "payments",
    "v2": "v2",  # every v2 object (v2.core.account, v2.money_management.*, ...)
}
FAMILY_OF_TYPE: dict[str, str] = {
    # core: the account-wide objects and the customer
    "balance": "core", "balance_settings": "core", "balance_transaction": "core",
    "customer": "core", "customer_balance_transaction": "core",
    "customer_cash_balance_transaction": "core", "cash_balance": "core",
    "event": "core", "file": "core", "file_link": "core", "exchange_rate": "core",
    "token": "core", "webhook_endpoint": "core", "apple_pay_domain": "core",
    "scheduled_query_run": "other",
    # billing
    "invoice": "billing", "invoiceitem": "billing", "line_item": "billing",
    "invoice_payment": "billing", "invoice_rendering_template": "billing",
    "credit_note": "billing", "credit_note_line_item": "billing",
    "coupon": "billing", "discount": "billing", "plan": "billing", "price": "billing",
    "product": "billing", "product_feature": "billing", "promotion_code": "billing",
    "quote": "billing", "subscription": "billing", "subscription_item": "billing",
    "subscription_schedule": "billing", "shipping_rate": "billing", "item": "checkout",
    # payments
    "charge": "payments", "refund": "payments", "dispute": "payments",
    "payment_intent": "payments", "payment_intent_amount_details_line_item": "payments",
    "payment_method": "payments", "payment_method_configuration": "payments",
    "payment_method_domain": "payments", "payment_link": "checkout",
    "payment_record": "payments", "payment_attempt_record": "payments",
    "setup_intent": "payments", "setup_attempt": "payments", "source": "payments",
    "source_mandate_notification": "payments", "source_transaction": "payments",
    "card": "payments", "bank_account": "payments", "review": "payments",
    "mandate": "payments", "confirmation_token": "payments",
    # connect
    "account": "connect", "application": "connect", "application_fee": "connect",
    "fee_refund": "connect", "capability": "connect", "person": "connect",
    "transfer": "connect", "transfer_reversal": "connect", "payout": "connect",
    "topup": "connect", "country_spec": "connect", "connect_collection_transfer": "connect",
    "reserve_transaction": "connect",
    # tax
    "tax_code": "tax", "tax_id": "tax", "tax_rate": "tax", "tax_deducted_at_source": "tax",
    # retired types (LEGACY_MODELS)
    "bitcoin_receiver": "legacy", "recipient": "legacy",
}

# Model class names where the SDK's class name is not the one to use. Namespaced types
# are otherwise prefixed with their namespace (checkout.session -> CheckoutSession).
MODEL_NAMES: dict[str, str] = {
    "scheduled_query_run": "ScheduledQueryRun",
    "test_helpers.test_clock": "TestClock",
    "radar.early_fraud_warning": "EarlyFraudWarning",
}

# ---------------------------------------------------------------------------------------
# Integer fields that hold Unix timestamps become aware DateTimeFields. The SDK types
# them as plain ``int``; these names say which are times.
TIMESTAMP_SUFFIXES = ("_at", "_date", "_on", "_until", "_time", "_from", "_anchor",
                      "_period_start", "_period_end", "_invoice")
TIMESTAMP_NAMES = frozenset({
    "created", "date", "start", "end", "updated", "expires", "timestamp", "deletes_after",
    "frozen_time", "redeem_by", "next_payment_attempt", "trial_start", "trial_end",
    "period_start", "period_end", "data_available_start", "data_available_end",
})
NOT_TIMESTAMPS = frozenset({"expected_delivery_year", "delivery_year"})
# Stripe fields named by a Python keyword (``from`` of v2 money movements; the SDK's
# attribute is ``from_``). Django refuses field names ending in "_", so the model field
# (and its column) is named here; ingest reads it from the payload's own key, and
# ``stripe_data`` keeps Stripe's name. Stripe name -> model field name.
KEYWORD_FIELDS: dict[str, str] = {
    "from": "from_details",  # V2OutboundPayment.objects.filter(from_details__financial_account=...)
}

# v2 objects write times as RFC 3339 strings ("2024-10-22T16:20:09.931Z"); the SDK types
# them as ``str``. Those with the names above become aware DateTimeFields as well, with
# the sub-second part kept (ingest.columns.to_timestamp).
V2_OBJECT_PREFIX = "v2."

# ---------------------------------------------------------------------------------------
# Fields the SDK types as plain strings that hold the id of a mirrored object. They
# become foreign keys like any typed reference. (object type, field) -> referenced type.
STRING_REFERENCES: dict[tuple[str, str], str] = {
    ("line_item", "invoice"): "invoice",
    ("subscription_item", "subscription"): "subscription",
    ("person", "account"): "account",
    ("invoice_payment", "invoice"): "invoice",
    ("tax_id", "owner_customer"): "customer",
    ("subscription_schedule", "subscription"): "subscription",
    ("billing.meter_event_summary", "meter"): "billing.meter",
    ("entitlements.active_entitlement", "feature"): "entitlements.feature",
    ("product_feature", "entitlement_feature"): "entitlements.feature",
    # v2 objects name other v2 objects by id
    ("v2.core.account_person", "account"): "v2.core.account",
    ("v2.money_management.adjustment", "financial_account"): "v2.money_management.financial_account",
    ("v2.money_management.financial_address", "financial_account"):
        "v2.money_management.financial_account",
    ("v2.money_management.received_credit", "financial_account"):
        "v2.money_management.financial_account",
    ("v2.money_management.transaction", "financial_account"): "v2.money_management.financial_account",
    ("v2.money_management.transaction_entry", "transaction"): "v2.money_management.transaction",
    ("v2.money_management.outbound_payment", "payout_intent"): "v2.money_management.payout_intent",
    ("v2.money_management.outbound_payment", "recipient_verification"):
        "v2.money_management.recipient_verification",
    ("v2.money_management.recipient_verification", "payout_method"):
        "v2.money_management.payout_method",
    ("v2.money_management.payout_method", "latest_outbound_setup_intent"):
        "v2.money_management.outbound_setup_intent",
    # v1 objects of a customer that is an Accounts v2 account (customer configuration)
    **{(v1_type, "customer_account"): "v2.core.account" for v1_type in (
        "cash_balance", "credit_note", "customer",
        "customer_balance_transaction", "customer_cash_balance_transaction", "discount",
        "invoice", "invoiceitem", "payment_intent", "payment_method",
        "promotion_code", "quote", "refund", "setup_attempt", "setup_intent", "subscription",
        "subscription_schedule", "tax_id",
    )},
}

# Embedded lists: (parent type, list field) -> the field of the child rows that links
# them to their parent. Where the child's payload does not carry it (old API versions,
# checkout line items), ingest fills it in from the parent. A field named here that the
# child type does not have becomes an extra foreign key on the child model.
EMBEDDED_LISTS: dict[tuple[str, str], str] = {
    ("invoice", "lines"): "invoice",
    ("invoice", "payments"): "invoice",
    ("subscription", "items"): "subscription",
    ("credit_note", "lines"): "credit_note",
    ("checkout.session", "line_items"): "checkout_session",
    ("quote", "line_items"): "quote",
    ("payment_link", "line_items"): "payment_link",
    ("charge", "refunds"): "charge",
    ("application_fee", "refunds"): "fee",
    ("transfer", "reversals"): "transfer",
    ("customer", "sources"): "customer",
    ("customer", "subscriptions"): "customer",
    ("customer", "tax_ids"): "customer",
    ("account", "external_accounts"): "account",
    ("recipient", "cards"): "recipient",
}

# The child type of each embedded list whose children are rows of one model, and what a
# complete list (``has_more`` false) says about a child row linked to the parent that
# the list no longer names:
# "removed": it was taken off the parent in Stripe (a line removed from a draft invoice,
#   an item taken off a subscription, a tax id deleted): the row is marked deleted;
# None: nothing; the list leaves some children out (``customer.subscriptions`` omits
#   canceled ones) or never loses any (refunds).
# The link column of these children keeps its value when a payload has none, so a child
# stored on its own never loses the parent it was seen in.
EMBEDDED_LIST_CHILDREN: dict[tuple[str, str], tuple[str, str | None]] = {
    ("invoice", "lines"): ("line_item", "removed"),
    ("invoice", "payments"): ("invoice_payment", None),
    ("subscription", "items"): ("subscription_item", "removed"),
    ("credit_note", "lines"): ("credit_note_line_item", "removed"),
    ("checkout.session", "line_items"): ("item", "removed"),
    ("quote", "line_items"): ("item", "removed"),
    ("payment_link", "line_items"): ("item", "removed"),
    ("charge", "refunds"): ("refund", None),
    ("application_fee", "refunds"): ("fee_refund", None),
    ("transfer", "reversals"): ("transfer_reversal", None),
    ("customer", "subscriptions"): ("subscription", None),
    ("customer", "tax_ids"): ("tax_id", "removed"),
    ("recipient", "cards"): ("card", "removed"),
}

# Reverse accessors (related_name) of foreign keys. The generator names them from the
# plural of the referring model: ``customer.invoices`` (Invoice.customer),
# ``customer.payment_methods``; a key whose name is not the referenced type's adds it,
# ``account.charges_as_on_behalf_of`` (Charge.on_behalf_of). The entries here are the
# names that rule gets wrong or that would clash with a Stripe field of the referenced
# model (``customer.subscriptions`` is the embedded list of ids): (type, field) -> name.
REVERSE_NAMES: dict[tuple[str, str], str] = {
    ("line_item", "invoice"): "line_items",
    ("credit_note_line_item", "credit_note"): "line_items",
    ("item", "checkout_session"): "line_item_rows",
    ("item", "quote"): "line_item_rows",
    ("item", "payment_link"): "line_item_rows",
    ("subscription", "customer"): "customer_subscriptions",
    ("refund", "charge"): "charge_refunds",
    ("fee_refund", "fee"): "fee_refunds",
    ("tax_id", "customer"): "customer_tax_ids",
    ("capability", "account"): "account_capabilities",
    ("bank_account", "account"): "account_bank_accounts",
    ("card", "recipient"): "recipient_cards",
}

# ---------------------------------------------------------------------------------------
# Readable names (the admin, ``str()``, error messages).

# A model's verbose name is its class name in words (CheckoutSession -> "checkout
# session"), its plural made by English rules on the last word. Names those rules get
# wrong: type -> (singular, plural).
VERBOSE_NAMES: dict[str, tuple[str, str]] = {
    "apple_pay_domain": ("Apple Pay domain", "Apple Pay domains"),
    "tax_id": ("tax ID", "tax IDs"),
    "three_d_secure.authentication": ("3D Secure authentication", "3D Secure authentications"),
    "topup": ("top-up", "top-ups"),
    "tax_deducted_at_source": ("tax deducted at source", "tax deducted at source records"),
    "invoiceitem": ("invoice item", "invoice items"),
    # The namespace repeats the name's own word ("reporting report run"), or reads as
    # part of it ("entitlements active entitlement", "apps install").
    "entitlements.active_entitlement": ("active entitlement", "active entitlements"),
    "entitlements.active_entitlement_summary": ("active entitlement summary",
                                                "active entitlement summaries"),
    "entitlements.feature": ("entitlement feature", "entitlement features"),
    "reporting.report_run": ("report run", "report runs"),
    "reporting.report_type": ("report type", "report types"),
    "apps.install": ("app install", "app installs"),
}
# Last words whose plural the rules get wrong. "persons" is Stripe's own plural
# (/v1/accounts/:id/persons).
IRREGULAR_PLURALS: dict[str, str] = {
    "settings": "settings",
    "person": "persons",
}

# What names a row in ``str()``: the first of these fields with a value, then the amount
# in its currency, then the id ("INV-0042 · 12.34 USD (in_123)"). Types not listed use
# DEFAULT_DISPLAY_FIELDS; fields a model lacks are skipped.
DEFAULT_DISPLAY_FIELDS: tuple[str, ...] = (
    "name", "display_name", "nickname", "email", "number", "description",
)
DISPLAY_FIELDS: dict[str, tuple[str, ...]] = {
    "customer": ("email", "name"),
    "invoice": ("number",),
    "credit_note": ("number",),
    "quote": ("number",),
    "event": ("type",),
    "charge": ("description", "statement_descriptor"),
    "checkout.session": ("customer_email",),
    "promotion_code": ("code",),
    "file": ("filename",),
    "issuing.card": ("last4",),
    "card": ("brand", "last4"),
    "bank_account": ("bank_name", "last4"),
}
# Related rows whose labels lead a row's label ("jenny@example.com · Pro · 9.00 EUR/month
# (sub_123)"), each without its id. Read only when loaded with the row (never a query):
# the admin's lists and inlines select them (``display_paths``).
DISPLAY_RELATED: dict[str, tuple[str, ...]] = {
    "subscription": ("customer", "plan"),  # ``plan``: the single item's plan, as ingest derives it
    "plan": ("product",),
}
# The billing interval after the amount ("9.00 EUR/month", "every 3 months"):
# (interval field, count field).
DISPLAY_INTERVAL_FIELDS: dict[str, tuple[str, str]] = {
    "plan": ("interval", "interval_count"),
}
# The status shown in the label when it is not the usual one ("past_due").
DISPLAY_USUAL_STATUS: dict[str, str] = {
    "subscription": "active",
}
# A quantity shown as "× 3" when above 1.
DISPLAY_QUANTITY_FIELDS: dict[str, str] = {
    "subscription": "quantity",
}
# The amount shown, where it is not ``amount`` (a model without that field or without
# ``currency`` shows none).
DISPLAY_AMOUNT_FIELDS: dict[str, str] = {
    "invoice": "total",
    "credit_note": "total",
    "quote": "amount_total",
    "checkout.session": "amount_total",
    "price": "unit_amount",
}

# ---------------------------------------------------------------------------------------
# Indexes on the columns people filter and sort on (the admin's filters and date
# hierarchy, ``Customer.objects.filter(email=...)``), on every model that has them.
# Foreign keys and ``stripe_account`` are indexed anyway.
INDEXED_FIELDS: tuple[str, ...] = ("created", "status", "email", "number")
INDEXED_FIELDS_OF_TYPE: dict[str, tuple[str, ...]] = {
    # MRR finds the discounted subscriptions by it (analytics/mrr.py, a subquery)
    "discount": ("subscription",),
    "event": ("type",),
    "invoice": ("customer_email",),
    "subscription": ("current_period_end",),
}


# ---------------------------------------------------------------------------------------
# Fields of older API versions kept as real columns. Each entry: field -> (kind, derive)
# where kind is one of the generator's kinds ("integer", "timestamp", "boolean", "string",
# "decimal", "object", "ref:<type>") and derive, when not None, computes the value from a
# payload in the current shape when the old key is absent.

def _path(*keys: str | int) -> Callable[[dict], Any]:
    def get(obj: Any) -> Any:
        for key in keys:
            if isinstance(obj, dict):
                obj = obj.get(key)
            elif isinstance(obj, list) and isinstance(key, int):
                obj = obj[key] if len(obj) > key else None
            else:
                return None
        return obj

    get.__doc__ = ".".join(map(str, keys))
    return get


def _first_list_item(list_field: str, *keys: str) -> Callable[[dict], Any]:
    """A value of the first element of an embedded list (``items.data[0].plan``)."""

    def get(obj: dict) -> Any:
        data = (obj.get(list_field) or {}).get("data") or []
        value: Any = data[0] if data else None
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    return get


def _status_is(status: str) -> Callable[[dict], Any]:
    def get(obj: dict) -> Any:
        return None if obj.get("status") is None else obj.get("status") == status

    return get


def _sum_of(list_field: str, key: str) -> Callable[[dict], Any]:
    def get(obj: dict) -> Any:
        items = obj.get(list_field)
        if not isinstance(items, list):
            return None
        return sum(item.get(key) or 0 for item in items)

    return get


def _single_item_only(func: Callable[[dict], Any]) -> Callable[[dict], Any]:
    """Old subscriptions had one plan: derive only when there is exactly one item."""

    def get(obj: dict) -> Any:
        items = obj.get("items") or {}
        if len(items.get("data") or []) != 1:
            return None
        return func(obj)

    return get


_invoice_payment = _first_list_item("payments", "payment")

LEGACY_FIELDS: dict[str, dict[str, tuple[str, Callable[[dict], Any] | None]]] = {
    "account": {
        "currencies_supported": ("object", None),
        "transfers_enabled": ("boolean", None),
        "display_name": ("string", _path("settings", "dashboard", "display_name")),
        "statement_descriptor": ("string", _path("settings", "payments", "statement_descriptor")),
        "timezone": ("string", _path("settings", "dashboard", "timezone")),
        "business_name": ("string", _path("business_profile", "name")),
        "business_url": ("string", _path("business_profile", "url")),
        "support_phone": ("string", _path("business_profile", "support_phone")),
        "product_description": ("string", _path("business_profile", "product_description")),
        "managed": ("boolean", None),
        "bank_accounts": ("object", None),
        "debit_negative_balances": ("boolean", _path("settings", "payouts", "debit_negative_balances")),
        "decline_charge_on": ("object", _path("settings", "card_payments", "decline_on")),
        "legal_entity": ("object", None),
        "transfer_schedule": ("object", _path("settings", "payouts", "schedule")),
        "verification": ("object", _path("requirements")),
    },
    "balance_transaction": {"sourced_transfers": ("object", None)},
    "charge": {
        "dispute": ("ref:dispute", None),
        "invoice": ("ref:invoice", None),
        "destination": ("ref:account", _path("transfer_data", "destination")),
    },
    "customer": {"account_balance": ("integer", _path("balance"))},
    "discount": {"coupon": ("ref:coupon", _path("source", "coupon"))},
    "dispute": {"balance_transaction": ("ref:balance_transaction", _path("balance_transactions", 0, "id"))},
    "invoice": {
        "closed": ("boolean", None),
        "forgiven": ("boolean", None),
        "date": ("timestamp", _path("created")),
        "paid": ("boolean", _status_is("paid")),
        "paid_out_of_band": ("boolean", None),
        "application_fee": ("integer", _path("application_fee_amount")),
        "discount": ("ref:discount", None),
        "subscription": ("ref:subscription", _path("parent", "subscription_details", "subscription")),
        "subscription_proration_date": ("integer", None),
        "tax": ("integer", _sum_of("total_taxes", "amount")),
        "tax_percent": ("decimal", None),
        "charge": ("ref:charge", lambda o: (_invoice_payment(o) or {}).get("charge")),
        "payment_intent": ("ref:payment_intent", lambda o: (_invoice_payment(o) or {}).get("payment_intent")),
        "total_tax_amounts": ("object", None),
    },
    "invoiceitem": {
        "plan": ("ref:plan", None),
        "subscription": ("ref:subscription", _path("parent", "subscription_details", "subscription")),
    },
    "plan": {"name": ("string", None), "statement_descriptor": ("string", None)},
    "subscription": {
        "plan": ("ref:plan", _single_item_only(_first_list_item("items", "plan", "id"))),
        "quantity": ("integer", _single_item_only(_first_list_item("items", "quantity"))),
        "start": ("timestamp", _path("start_date")),
        "current_period_start": ("timestamp", _first_list_item("items", "current_period_start")),
        "current_period_end": ("timestamp", _first_list_item("items", "current_period_end")),
        "discount": ("ref:discount", None),
        "tax_percent": ("decimal", None),
    },
    "transfer": {
        "date": ("timestamp", None),
        "status": ("string", None),
        "type": ("string", None),
        "failure_code": ("string", None),
        "failure_message": ("string", None),
        "application_fee": ("ref:application_fee", None),
        "statement_descriptor": ("string", None),
    },
}

# Retired object types still found in old accounts and in the seed reference. Their
# fields are declared here in the same kinds as LEGACY_FIELDS; Stripe's SDK no longer
# has classes for them.
LEGACY_MODELS: dict[str, dict[str, Any]] = {
    "bitcoin_receiver": {
        "model": "BitcoinReceiver",
        "fields": {
            "livemode": "boolean", "created": "timestamp", "active": "boolean",
            "amount": "integer", "amount_received": "integer", "bitcoin_amount": "integer",
            "bitcoin_amount_received": "integer", "bitcoin_uri": "string",
            "currency": "string", "filled": "boolean", "inbound_address": "string",
            "transactions": "object", "uncaptured_funds": "boolean", "description": "string",
            "email": "string", "metadata": "json", "payment": "string",
            "refund_address": "string", "customer": "ref:customer",
        },
    },
    "recipient": {
        "model": "Recipient",
        "fields": {
            "livemode": "boolean", "created": "timestamp", "type": "string",
            "active_account": "object", "description": "string", "email": "string",
            "metadata": "json", "name": "string", "default_card": "ref:card",
            "migrated_to": "ref:account", "cards": "embedded_list:card",
        },
    },
}

# ---------------------------------------------------------------------------------------
# Objects without an ``id`` are keyed by what they belong to. The key is the object name
# and its owner: "balance:platform:test", "balance:acct_123:live", "cash_balance:cus_123".
# "account" means the connected account the row is tagged with (or "platform") plus the
# mode; any other value names the payload field holding the owner's id.
SYNTHETIC_KEYS: dict[str, str] = {
    "balance": "account",
    "balance_settings": "account",
    "tax.settings": "account",
    "cash_balance": "customer",
    "billing.credit_balance_summary": "customer",
    "entitlements.active_entitlement_summary": "customer",
}

# Old invoice line items (before API 2019-12-03) carried the id of the subscription or
# invoice item they came from, which repeats across invoices; their unique id was in
# ``unique_id``. Types listed here take their key from the first field present.
ALTERNATE_ID_FIELDS: dict[str, tuple[str, ...]] = {
    "line_item": ("unique_id", "unique_line_item_id"),
}

# Abstract mixins adding the app's own columns to a mirrored model (import path).
MODEL_MIXINS: dict[str, str] = {
    "event": "stripe_django.models.processing.EventProcessing",
    # One account, two APIs, two rows under one id: each links to the other (see the
    # module's docstring).
    "account": "stripe_django.models.account_versions.HasV2Account",
    "v2.core.account": "stripe_django.models.account_versions.HasV1Account",
}
# Values of those columns for a row first written by ingest (a sync, ``upsert``) rather
# than by the webhook view; a row already stored keeps its own.
INGESTED_APP_COLUMNS: dict[str, dict[str, Any]] = {
    "event": {"processing_status": "stored"},
}

# The id prefix of types whose old payloads reused another object's id; such an id
# without the prefix (and without an ALTERNATE_ID_FIELDS value) is keyed by the parent
# too: "in_123:sub_456".
OWN_ID_PREFIXES: dict[str, str] = {
    "line_item": "il_",
}

# ``*.deleted`` events whose object is not deleted in Stripe: a canceled subscription
# stays retrievable (and listable with status=all), so marking it deleted would flap.
DELETED_EVENTS_THAT_KEEP_THE_OBJECT: dict[str, str] = {
    "customer.subscription.deleted": "the subscription is canceled, not deleted",
}

# ---------------------------------------------------------------------------------------
# Sync: how each type is listed through the API (owned by the sync service).
# Reference: each type's "List all" page at https://docs.stripe.com/api (its parameters
# say whether ``created`` filters the list and which parent a nested list hangs off).

from dataclasses import dataclass, field as _field  # noqa: E402


@dataclass(frozen=True)
class ListSpec:
    """How one type is listed.

    ``service``: the path of the list service under ``StripeClient.v1``
    (``"customers.tax_ids"`` is ``client.v1.customers.tax_ids.list``).
    ``objects``: the object types the list returns (the first names the type).
    ``params``: fixed list parameters. ``parent``: for a list nested under other objects,
    the SYNC_LISTS name of the parents' list; their ids are passed as ``parent_param``
    or, when that is None, as the path argument of the service. ``created_filter``: the
    list accepts ``created[gt]`` (incremental runs list only what is new).
    ``platform_only``: listed by the platform account only (its connected accounts).
    ``embedded``: for a nested list, the field of its parent that holds the list's first
    items when the parents' list asks for it (``expand[]=data.<field>``: an "includable"
    field of the parent's reference page). The parents are then listed with that
    expansion, and a parent's children are listed on their own only where its embedded
    list says ``has_more``. The parent's own list, listed whole, is that listing (read
    once for both, :mod:`stripe_django.sync.parents`), and the field is taken out of the
    parents it stores: it must be one Stripe's plain listing leaves out.
    ``embedded_unasked_before``: the API version before which a plain listing of the
    parents carries the field unasked; requests made with an older version (a pinned
    ``API_VERSION``) keep it in the stored parents, as their plain listing has it.
    """

    service: str
    objects: tuple[str, ...]
    params: dict[str, Any] = _field(default_factory=dict)
    parent: str | None = None
    parent_param: str | None = None
    created_filter: bool = False
    platform_only: bool = False
    embedded: str | None = None
    embedded_unasked_before: str | None = None

    @property
    def object(self) -> str:
        return self.objects[0]


def _top(service: str, obj: str, *, created: bool = False, **params: Any) -> ListSpec:
    return ListSpec(service, (obj,), params, created_filter=created)


def _v2(service: str, obj: str) -> ListSpec:
    # Listed by the platform only: a v2 resource of a connected account is addressed with
    # ``Stripe-Context``, not ``Stripe-Account``, and listing 16 v2 lists per connected
    # account on every run (they have no ``created`` filter) would cost 16 requests per
    # account, mostly 403/404, at 10,000 accounts. Connected accounts' v2 objects reach
    # the mirror through thin events (which name their context) and the mirrored client.
    return ListSpec(service, (obj,), platform_only=True)


def _nested(service: str, objs: str | tuple[str, ...], parent: str, *,
            parent_param: str | None = None, platform_only: bool = False,
            embedded: str | None = None, embedded_unasked_before: str | None = None,
            **params: Any) -> ListSpec:
    objects = (objs,) if isinstance(objs, str) else objs
    return ListSpec(service, objects, params, parent=parent, parent_param=parent_param,
                    platform_only=platform_only, embedded=embedded,
                    embedded_unasked_before=embedded_unasked_before)


# name -> how it is listed. The name is what ``manage.py stripe_sync NAME`` takes (an
# object type, or for a list of several types the first one). Types not here are stored
# from their parents' payloads: invoice lines, subscription items, credit note lines,
# checkout / payment link / quote line items (expanded on their parents), discounts.
SYNC_LISTS: dict[str, ListSpec] = {
    # core
    "customer": _top("customers", "customer", created=True),
    "balance_transaction": _top("balance_transactions", "balance_transaction", created=True),
    "file": _top("files", "file", created=True),
    "file_link": _top("file_links", "file_link", created=True),
    # Webhook endpoints belong to the platform: Stripe refuses to manage them on a
    # connected account (a Connect endpoint on the platform receives the accounts'
    # events; https://docs.stripe.com/api/webhook_endpoints/create, the ``connect``
    # parameter), so listing them with ``Stripe-Account`` costs a request per account
    # for nothing.
    "webhook_endpoint": ListSpec("webhook_endpoints", ("webhook_endpoint",), platform_only=True),
    "apple_pay_domain": _top("apple_pay_domains", "apple_pay_domain"),
    # Stripe's catalogs, the same for every account: listed by the platform only, not
    # once per connected account (https://docs.stripe.com/api/country_specs,
    # https://docs.stripe.com/api/tax_codes).
    "country_spec": ListSpec("country_specs", ("country_spec",), platform_only=True),
    # customers' nested lists. A customer's ``tax_ids`` and ``sources`` are includable
    # (https://docs.stripe.com/api/customers/object: returned only when expanded, as a
    # list of the first items with ``has_more``): the customers listed for them are
    # asked to embed both, and only a customer with more is listed on its own. Balance
    # transactions and payment methods are not includable: one request per customer.
    # Before API version 2020-08-27 a customer carried both unasked (Stripe's changelog:
    # the auto-expansion of a customer's sources and tax ids was removed then).
    "tax_id": _nested("customers.tax_ids", "tax_id", "customer", embedded="tax_ids",
                      embedded_unasked_before="2020-08-27"),
    "customer_balance_transaction": _nested("customers.balance_transactions",
                                            "customer_balance_transaction", "customer"),
    "payment_method": _nested("customers.payment_methods", "payment_method", "customer"),
    "card": _nested("customers.payment_sources", ("card", "bank_account", "source"), "customer",
                    embedded="sources", embedded_unasked_before="2020-08-27"),
    # billing
    "product": _top("products", "product", created=True),
    "product_feature": _nested("products.features", "product_feature", "product"),
    "price": _top("prices", "price", created=True),
    "plan": _top("plans", "plan", created=True),
    "coupon": _top("coupons", "coupon", created=True),
    "promotion_code": _top("promotion_codes", "promotion_code", created=True),
    "tax_rate": _top("tax_rates", "tax_rate", created=True),
    "tax_code": ListSpec("tax_codes", ("tax_code",), platform_only=True),  # a catalog: see country_spec
    "shipping_rate": _top("shipping_rates", "shipping_rate", created=True),
    # status=all: the list leaves out canceled subscriptions otherwise
    "subscription": _top("subscriptions", "subscription", created=True, status="all"),
    "subscription_schedule": _top("subscription_schedules", "subscription_schedule", created=True),
    "invoice": _top("invoices", "invoice", created=True),
    "invoiceitem": _top("invoice_items", "invoiceitem", created=True),
    "invoice_payment": _top("invoice_payments", "invoice_payment", created=True),
    "invoice_rendering_template": _top("invoice_rendering_templates", "invoice_rendering_template"),
    "credit_note": _top("credit_notes", "credit_note", created=True),
    "quote": _top("quotes", "quote", expand=["data.line_items"]),
    "billing.meter": _top("billing.meters", "billing.meter"),
    "billing.alert": _top("billing.alerts", "billing.alert"),
    "billing.credit_grant": _top("billing.credit_grants", "billing.credit_grant"),
    "billing_portal.configuration": _top("billing_portal.configurations",
                                         "billing_portal.configuration"),
    "entitlements.feature": _top("entitlements.features", "entitlements.feature"),
    "test_helpers.test_clock": _top("test_helpers.test_clocks", "test_helpers.test_clock"),
    # payments
    "charge": _top("charges", "charge", created=True),
    "refund": _top("refunds", "refund", created=True),
    "dispute": _top("disputes", "dispute", created=True),
    "payment_intent": _top("payment_intents", "payment_intent", created=True),
    "setup_intent": _top("setup_intents", "setup_intent", created=True),
    "setup_attempt": _nested("setup_attempts", "setup_attempt", "setup_intent",
                             parent_param="setup_intent"),
    "review": _top("reviews", "review", created=True),
    "payment_method_configuration": _top("payment_method_configurations",
                                         "payment_method_configuration"),
    "payment_method_domain": _top("payment_method_domains", "payment_method_domain"),
    "radar.early_fraud_warning": _top("radar.early_fraud_warnings", "radar.early_fraud_warning",
                                      created=True),
    "radar.value_list": _top("radar.value_lists", "radar.value_list", created=True),
    "radar.value_list_item": _nested("radar.value_list_items", "radar.value_list_item",
                                     "radar.value_list", parent_param="value_list"),
    # checkout
    "checkout.session": _top("checkout.sessions", "checkout.session", created=True,
                             expand=["data.line_items"]),
    "payment_link": _top("payment_links", "payment_link", expand=["data.line_items"]),
    # connect
    "account": ListSpec("accounts", ("account",), created_filter=True, platform_only=True),
    "person": _nested("accounts.persons", "person", "account", platform_only=True),
    "capability": _nested("accounts.capabilities", "capability", "account", platform_only=True),
    "external_account": _nested("accounts.external_accounts", ("bank_account", "card"),
                                "account", platform_only=True),
    "application_fee": _top("application_fees", "application_fee", created=True),
    "fee_refund": _nested("application_fees.refunds", "fee_refund", "application_fee"),
    "transfer": _top("transfers", "transfer", created=True),
    "transfer_reversal": _nested("transfers.reversals", "transfer_reversal", "transfer"),
    "payout": _top("payouts", "payout", created=True),
    "topup": _top("topups", "topup", created=True),
    # issuing, terminal, tax, identity, reporting, ...
    "issuing.cardholder": _top("issuing.cardholders", "issuing.cardholder", created=True),
    "issuing.card": _top("issuing.cards", "issuing.card", created=True),
    "issuing.authorization": _top("issuing.authorizations", "issuing.authorization", created=True),
    "issuing.transaction": _top("issuing.transactions", "issuing.transaction", created=True),
    "issuing.dispute": _top("issuing.disputes", "issuing.dispute", created=True),
    "issuing.personalization_design": _top("issuing.personalization_designs",
                                           "issuing.personalization_design"),
    # The bundles (card stock, carrier, envelope) of the platform's Issuing program:
    # Stripe's standard ones and those made for the platform; connected accounts' cards
    # are made from the platform's program (https://docs.stripe.com/issuing/connect,
    # https://docs.stripe.com/issuing/cards/physical/standard): a catalog, like
    # country_spec, listed by the platform only.
    "issuing.physical_bundle": ListSpec("issuing.physical_bundles", ("issuing.physical_bundle",),
                                        platform_only=True),
    "terminal.configuration": _top("terminal.configurations", "terminal.configuration"),
    "terminal.location": _top("terminal.locations", "terminal.location"),
    "terminal.reader": _top("terminal.readers", "terminal.reader"),
    "tax.registration": _top("tax.registrations", "tax.registration"),
    "identity.verification_session": _top("identity.verification_sessions",
                                          "identity.verification_session", created=True),
    "identity.verification_report": _top("identity.verification_reports",
                                         "identity.verification_report", created=True),
    "reporting.report_run": _top("reporting.report_runs", "reporting.report_run", created=True),
    "scheduled_query_run": _top("sigma.scheduled_query_runs", "scheduled_query_run"),
    "forwarding.request": _top("forwarding.requests", "forwarding.request", created=True),
    "climate.order": _top("climate.orders", "climate.order"),
    "treasury.financial_account": _top("treasury.financial_accounts",
                                       "treasury.financial_account", created=True),
    # v2 (https://docs.stripe.com/api/v2): lists page by a token (``next_page_url``),
    # not by id, and filter by nothing the incremental runs could use: every run lists
    # them again (unchanged rows cost a hash comparison). A key or account without the
    # feature gets 403/404: the list is reported "unavailable", not failed.
    "v2.core.account": ListSpec("v2.core.accounts", ("v2.core.account",), platform_only=True),
    "v2.core.account_person": _nested("v2.core.accounts.persons", "v2.core.account_person",
                                      "v2.core.account", platform_only=True),
    "v2.core.event_destination": _v2("v2.core.event_destinations", "v2.core.event_destination"),
    "v2.core.vault.us_bank_account": _v2("v2.core.vault.us_bank_accounts",
                                          "v2.core.vault.us_bank_account"),
    "v2.core.vault.gb_bank_account": _v2("v2.core.vault.gb_bank_accounts",
                                          "v2.core.vault.gb_bank_account"),
    "v2.money_management.financial_account": _v2("v2.money_management.financial_accounts",
                                                  "v2.money_management.financial_account"),
    "v2.money_management.financial_address": _v2("v2.money_management.financial_addresses",
                                                  "v2.money_management.financial_address"),
    "v2.money_management.payout_method": _v2("v2.money_management.payout_methods",
                                              "v2.money_management.payout_method"),
    "v2.money_management.outbound_setup_intent": _v2(
        "v2.money_management.outbound_setup_intents", "v2.money_management.outbound_setup_intent"),
    "v2.money_management.inbound_transfer": _v2("v2.money_management.inbound_transfers",
                                                 "v2.money_management.inbound_transfer"),
    "v2.money_management.outbound_payment": _v2("v2.money_management.outbound_payments",
                                                 "v2.money_management.outbound_payment"),
    "v2.money_management.payout_intent": _v2("v2.money_management.payout_intents",
                                              "v2.money_management.payout_intent"),
    "v2.money_management.received_credit": _v2("v2.money_management.received_credits",
                                                "v2.money_management.received_credit"),
    "v2.money_management.adjustment": _v2("v2.money_management.adjustments",
                                           "v2.money_management.adjustment"),
    "v2.money_management.transaction": _v2("v2.money_management.transactions",
                                            "v2.money_management.transaction"),
    "v2.money_management.transaction_entry": _v2("v2.money_management.transaction_entries",
                                                  "v2.money_management.transaction_entry"),
    "v2.commerce.product_catalog_import": _v2("v2.commerce.product_catalog.imports",
                                               "v2.commerce.product_catalog_import"),
    # Last: the account's recent history (the Events API keeps 30 days), stored as events
    # that need no processing (INGESTED_APP_COLUMNS).
    "event": _top("events", "event", created=True),
}


def parent_expand(parent: str) -> list[str]:
    """What a listing of ``parent`` (a SYNC_LISTS name) for its nested lists expands:
    ``data.<field>`` for each nested list it embeds (``ListSpec.embedded``). The same
    for all its nested lists, so that they share one listing."""
    return sorted(f"data.{spec.embedded}" for spec in SYNC_LISTS.values()
                  if spec.parent == parent and spec.embedded)

# Lists whose every new object is announced by an event that carries it: name -> that
# event type (for a nested list, the event carries the object or its parent with the
# list embedded). Once such a list's first pass is complete, the sync's Events API
# catch-up brings its new objects (as it brings every list's updates and deletions), so
# an incremental run does not list it; the other lists are still listed with a
# ``created`` filter (or in full where they have none). Updates without an event of
# their own (a payment intent's metadata) are missed by a ``created`` listing as well.
# Lists without a ``created`` filter are here only when their updates have events too.
# Source: the event types of the installed SDK (``WebhookEndpoint`` ``enabled_events``)
# and https://docs.stripe.com/api/events/types. "event": the catch-up stores the events.
#
# Not here, and why (checked against the SDK's event types): no event announces a new
# balance transaction, file link, webhook endpoint, Apple Pay or payment method domain,
# payment method configuration, customer balance transaction (the cash balance's have
# one, not these), product feature, shipping rate, invoice rendering template, billing
# alert (only ``triggered``), entitlements feature, setup attempt, radar value list or
# item, issuing personalization design (``updated`` and status changes, no creation) or
# physical bundle, terminal configuration, location or reader (only reader actions),
# tax registration, identity verification report, or forwarding request. Quotes have
# ``quote.created`` but their drafts change without an event, and they have no
# ``created`` filter; checkout sessions and invoice payments have events for some
# states only (``completed``, ``paid``), report runs only once they end. These lists
# are listed on incremental runs; one that was empty at its last listing only every
# ``SYNC_EMPTY_LISTS_EVERY`` (see stripe_django.sync.evented).
EVENTED_LISTS: dict[str, str] = {
    "customer": "customer.created",
    "tax_id": "customer.tax_id.created",
    "payment_method": "payment_method.attached",
    "card": "customer.source.created",
    "file": "file.created",
    "product": "product.created",
    "price": "price.created",
    "plan": "plan.created",
    "coupon": "coupon.created",
    "promotion_code": "promotion_code.created",
    "tax_rate": "tax_rate.created",
    "subscription": "customer.subscription.created",
    "subscription_schedule": "subscription_schedule.created",
    "invoice": "invoice.created",
    "invoiceitem": "invoiceitem.created",
    "credit_note": "credit_note.created",
    "billing.meter": "billing.meter.created",
    "billing.credit_grant": "billing.credit_grant.created",
    "billing_portal.configuration": "billing_portal.configuration.created",
    "test_helpers.test_clock": "test_helpers.test_clock.created",
    # a charge is created succeeded, pending or failed: each has its event
    "charge": "charge.succeeded",
    "refund": "refund.created",
    "dispute": "charge.dispute.created",
    "payment_intent": "payment_intent.created",
    "setup_intent": "setup_intent.created",
    "review": "review.opened",
    "radar.early_fraud_warning": "radar.early_fraud_warning.created",
    "payment_link": "payment_link.created",
    "application_fee": "application_fee.created",
    # the application fee (refunded) and the transfer (reversed) with the list embedded
    "fee_refund": "application_fee.refunded",
    "transfer": "transfer.created",
    "transfer_reversal": "transfer.reversed",
    "payout": "payout.created",
    "topup": "topup.created",
    "issuing.cardholder": "issuing_cardholder.created",
    "issuing.card": "issuing_card.created",
    "issuing.authorization": "issuing_authorization.created",
    "issuing.transaction": "issuing_transaction.created",
    "issuing.dispute": "issuing_dispute.created",
    "identity.verification_session": "identity.verification_session.created",
    "treasury.financial_account": "treasury.financial_account.created",
    "climate.order": "climate.order.created",
    # sent when a run has finished, after which the run does not change
    "scheduled_query_run": "sigma.scheduled_query_run.created",
    "event": "(every event: the catch-up reads the Events API once per account)",
}

# Embedded lists the API cuts off (``has_more``) and the list that has all of them:
# (parent type, field) -> (SDK service path, parameter naming the parent or None for the
# path argument, fixed parameters). See EMBEDDED_LISTS for how the children link back.
EMBEDDED_LIST_SOURCES: dict[tuple[str, str], tuple[str, str | None, dict[str, Any]]] = {
    ("invoice", "lines"): ("invoices.line_items", None, {}),
    ("invoice", "payments"): ("invoice_payments", "invoice", {}),
    ("subscription", "items"): ("subscription_items", "subscription", {}),
    ("credit_note", "lines"): ("credit_notes.line_items", None, {}),
    ("checkout.session", "line_items"): ("checkout.sessions.line_items", None, {}),
    ("quote", "line_items"): ("quotes.line_items", None, {}),
    ("payment_link", "line_items"): ("payment_links.line_items", None, {}),
    ("charge", "refunds"): ("refunds", "charge", {}),
    ("application_fee", "refunds"): ("application_fees.refunds", None, {}),
    ("transfer", "reversals"): ("transfers.reversals", None, {}),
    ("customer", "sources"): ("customers.payment_sources", None, {}),
    ("customer", "subscriptions"): ("subscriptions", "customer", {"status": "all"}),
    ("customer", "tax_ids"): ("customers.tax_ids", None, {}),
    ("account", "external_accounts"): ("accounts.external_accounts", None, {}),
}

# The Events API keeps events this many days (https://docs.stripe.com/api/events).
EVENTS_RETENTION_DAYS = 30
# Stripe's published default rate limits, requests per second
# (https://docs.stripe.com/rate-limits).
RATE_LIMITS = {"live": 100, "test": 25}

# ---------------------------------------------------------------------------------------
# Webhooks: event types whose payload is known to be incomplete, so the object is
# fetched from the API instead (owned by the webhook processing).
# See https://docs.stripe.com/api/events/object and the "includable" properties of each
# object's reference page. Settings can add more: STRIPE_DJANGO["REFETCH_ON_EVENT"].

# Event types (fnmatch patterns) whose ``data.object`` lacks something the mirror keeps;
# the object is retrieved from the API (with RETRIEVE_EXPAND) instead.
INCOMPLETE_EVENT_PAYLOADS: dict[str, str] = {
    "checkout.session.*": "line_items is only returned when expanded, never in events",
    "quote.*": "line_items is only returned when expanded, never in events",
    "payment_link.*": "line_items is only returned when expanded, never in events",
}

# Properties to expand when an object is retrieved because of an event.
RETRIEVE_EXPAND: dict[str, tuple[str, ...]] = {
    "checkout.session": ("line_items",),
    "quote": ("line_items",),
    "payment_link": ("line_items",),
}

# How to retrieve an object whose URL is not ``<SDK class_url>/<id>``: templates filled
# from the payload (the first whose fields are all present wins). None: it cannot be
# retrieved on its own, so the event payload is used as it is.
RETRIEVE_PATHS: dict[str, tuple[str, ...] | None] = {
    "person": ("/v1/accounts/{account}/persons/{id}",),
    "capability": ("/v1/accounts/{account}/capabilities/{id}",),
    "card": ("/v1/customers/{customer}/sources/{id}", "/v1/accounts/{account}/external_accounts/{id}"),
    "bank_account": ("/v1/customers/{customer}/sources/{id}",
                     "/v1/accounts/{account}/external_accounts/{id}"),
    "customer_balance_transaction": ("/v1/customers/{customer}/balance_transactions/{id}",),
    "customer_cash_balance_transaction": ("/v1/customers/{customer}/cash_balance_transactions/{id}",),
    "fee_refund": ("/v1/application_fees/{fee}/refunds/{id}",),
    "transfer_reversal": ("/v1/transfers/{transfer}/reversals/{id}",),
    "tax_id": ("/v1/tax_ids/{id}",),
    "balance": ("/v1/balance",),
    "cash_balance": ("/v1/customers/{customer}/cash_balance",),
    "line_item": None,
    "discount": None,
    "item": None,
    "credit_note_line_item": None,
}

# ---------------------------------------------------------------------------------------
# The Stripe Dashboard's page of an object: the path after
# ``https://dashboard.stripe.com/[<connected account>/][test/]``, followed by the id
# (see ``stripe_django.admin.dashboard``). Types not listed have no page of their own
# there (an invoice line, a discount) and get no link.
DASHBOARD_PATHS: dict[str, str] = {
    "customer": "customers",
    "invoice": "invoices",
    "subscription": "subscriptions",
    "subscription_schedule": "subscription_schedules",
    "charge": "payments",
    "payment_intent": "payments",
    "setup_intent": "setup_intents",
    "product": "products",
    "price": "prices",
    "plan": "plans",
    "coupon": "coupons",
    "promotion_code": "promotion_codes",
    "quote": "quotes",
    "payment_link": "payment-links",
    "tax_rate": "tax-rates",
    "dispute": "disputes",
    "payout": "payouts",
    "topup": "topups",
    "transfer": "connect/transfers",
    "application_fee": "connect/application_fees",
    "account": "connect/accounts",
    "event": "events",
    "webhook_endpoint": "webhooks",
    "issuing.card": "issuing/cards",
    "issuing.cardholder": "issuing/cardholders",
    "issuing.authorization": "issuing/authorizations",
    "issuing.transaction": "issuing/transactions",
}
