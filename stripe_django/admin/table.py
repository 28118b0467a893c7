"""What the admin shows of each Stripe object type, in one declarative table.

The admin classes are generated (:mod:`.options`); this module holds the only per-type
knowledge they use: the list columns a support person looks at first. A type that is
not listed gets :data:`DEFAULT_COLUMNS` (those of them its model has). Every name here
is a field of the model (``tests/admin/test_table.py`` checks it), so a field renamed
by the generator cannot silently drop a column.

Stripe's API reference documents each field: https://docs.stripe.com/api
"""

from __future__ import annotations

# List columns after ``id``, per object type. A foreign key is shown as a link to the
# related row; an amount (see AMOUNT_FIELDS) as money in the row's currency.
LIST_COLUMNS: dict[str, tuple[str, ...]] = {
    # core
    "customer": ("email", "name", "created"),
    "balance_transaction": ("type", "amount", "fee", "net", "status", "created"),
    "customer_balance_transaction": ("customer", "type", "amount", "invoice", "created"),
    "file": ("filename", "purpose", "size", "created"),
    "webhook_endpoint": ("url", "status", "created"),
    # billing
    "invoice": ("number", "customer", "subscription", "status", "total", "created"),
    "line_item": ("invoice", "description", "quantity", "amount"),
    "invoiceitem": ("customer", "invoice", "description", "amount"),
    "invoice_payment": ("invoice", "status", "amount_paid", "created"),
    # a subscription's plan (of its single item) shows its amount and interval
    "subscription": ("customer", "plan", "quantity", "status", "current_period_end", "created"),
    # an item of a plan-based subscription (older API versions) has a plan and no price
    "subscription_item": ("subscription", "price", "plan", "quantity", "current_period_end"),
    "subscription_schedule": ("customer", "subscription", "status", "created"),
    "credit_note": ("number", "invoice", "customer", "status", "total", "created"),
    "credit_note_line_item": ("credit_note", "description", "quantity", "amount"),
    "quote": ("number", "customer", "status", "amount_total", "created"),
    "price": ("product", "nickname", "unit_amount", "type", "active", "created"),
    "plan": ("product", "nickname", "amount", "interval", "active", "created"),
    "product": ("name", "active", "created"),
    "coupon": ("name", "percent_off", "amount_off", "duration", "valid", "created"),
    "promotion_code": ("code", "customer", "active", "created"),
    "discount": ("customer", "subscription", "invoice", "start", "end"),
    "tax_rate": ("display_name", "percentage", "country", "active", "created"),
    "tax_id": ("customer", "type", "country", "value", "created"),
    # payments
    "charge": ("amount", "status", "paid", "customer", "created"),
    "payment_intent": ("amount", "status", "customer", "created"),
    "payment_method": ("type", "customer", "created"),
    "setup_intent": ("customer", "status", "created"),
    "refund": ("charge", "amount", "status", "reason", "created"),
    "dispute": ("charge", "amount", "status", "reason", "created"),
    "review": ("charge", "reason", "open", "created"),
    "payment_link": ("url", "active"),
    # checkout
    "checkout.session": ("customer", "mode", "status", "payment_status", "amount_total", "created"),
    "item": ("description", "price", "quantity", "amount_total"),
    # connect
    "account": ("email", "type", "country", "charges_enabled", "created"),
    "payout": ("amount", "status", "arrival_date", "created"),
    "transfer": ("amount", "destination", "created"),
    "transfer_reversal": ("transfer", "amount", "created"),
    "application_fee": ("amount", "charge", "amount_refunded", "created"),
    "fee_refund": ("fee", "amount", "created"),
    "topup": ("amount", "status", "created"),
}

# Columns of a type not in LIST_COLUMNS, those of them its model has, in this order,
# at most MAX_DEFAULT_COLUMNS of them.
DEFAULT_COLUMNS: tuple[str, ...] = ("email", "name", "type", "status", "amount", "created")
MAX_DEFAULT_COLUMNS = 4

# Integer fields that hold an amount in the smallest unit of the row's ``currency``:
# these names, and names starting with "amount_" or ending with "_amount".
AMOUNT_FIELDS = frozenset({
    "amount", "subtotal", "subtotal_excluding_tax", "total", "total_excluding_tax", "fee", "net",
    "balance", "ending_balance", "starting_balance", "application_fee_amount",
    # older API versions' amounts (kept as columns, see type_table.LEGACY_FIELDS)
    "account_balance", "tax", "application_fee",
    # a tax calculation's
    "tax_amount_exclusive", "tax_amount_inclusive",
})
AMOUNT_PREFIX, AMOUNT_SUFFIX = "amount_", "_amount"

# Fields searched where the model has them ("=": the whole value, as ids are typed or
# pasted whole; the others: a part of the value, ignoring case where the database does).
SEARCH_FIELDS: tuple[str, ...] = ("=id", "email", "name", "number", "description")

# Columns holding an email address. A search term that looks like an address is
# looked up on these and on the email of the row's customer (see :mod:`.search`).
EMAIL_FIELDS: tuple[str, ...] = ("email", "customer_email", "receipt_email")

# Fields filtered on (in the sidebar) where the model has them.
FILTER_FIELDS: tuple[str, ...] = ("status", "livemode", "deleted", "stripe_account", "currency")

# The types a support person opens every day, in this order, in a section of their own
# at the top of the index and the sidebar (before the families).
EVERYDAY_TYPES: tuple[str, ...] = ("customer", "invoice", "subscription", "payment_intent", "charge")
EVERYDAY_TITLE = "Everyday"

# The index groups models by family (type_table.FAMILY_OF_TYPE); these are the headings.
FAMILY_TITLES: dict[str, str] = {
    "mirror": "Mirror state",  # the health page and sync cursors, first
    "core": "Core",
    "billing": "Billing",
    "payments": "Payments",
    "checkout": "Checkout",
    "connect": "Connect",
    "tax": "Tax",
    "issuing": "Issuing",
    "terminal": "Terminal",
    "treasury": "Treasury",
    "financial_connections": "Financial Connections",
    "other": "Other",
    "legacy": "Retired types",
}
