"""Payloads in the shapes of 2017-2022 and of the current API land in the same tables."""

import datetime as dt
from decimal import Decimal

import pytest

from stripe_django import models
from stripe_django.sync import upsert, upsert_many
from stripe_django.testing import payloads

pytestmark = pytest.mark.django_db


def ts(value):
    return dt.datetime.fromtimestamp(value, tz=dt.timezone.utc)


def test_2017_customer_keeps_account_balance_and_its_card_source():
    customer = upsert(payloads.customer_2017())
    assert customer.account_balance == -500
    assert customer.balance is None  # the current field did not exist yet
    assert customer.sources == ["card_2017"]
    card = models.Card.objects.get(pk="card_2017")
    assert (card.customer_id, card.last4, card.brand) == ("cus_2017", "0042", "Visa")


def test_current_customer_fills_account_balance_from_balance():
    customer = upsert(payloads.customer_current())
    assert (customer.balance, customer.account_balance) == (250, 250)
    assert customer.invoice_settings["footer"] is None


def test_2017_subscription_keeps_plan_quantity_start_and_tax_percent():
    sub = upsert(payloads.subscription_2017())
    assert sub.plan_id == "gold" and sub.plan.name == "Gold"
    assert (sub.quantity, sub.tax_percent) == (2, Decimal("20"))
    assert sub.start == ts(payloads.T0)
    assert sub.current_period_end == ts(payloads.T0 + 2_592_000)
    assert list(sub.subscription_items.values_list("id", flat=True)) == ["si_2017"]


def test_current_subscription_derives_the_legacy_columns_from_its_single_item():
    sub = upsert(payloads.subscription_current())
    assert sub.plan_id == "price_now"
    assert sub.quantity == 3
    assert sub.start == sub.start_date
    assert sub.current_period_start == ts(payloads.T0 + 10**8)
    assert models.Price.objects.get(pk="price_now").unit_amount_decimal == Decimal("900")


def test_2017_invoice_keeps_old_fields_and_keys_reused_line_ids_by_invoice():
    invoice = upsert(payloads.invoice_2017(n_lines=3))
    assert (invoice.closed, invoice.forgiven, invoice.paid) == (True, False, True)
    assert (invoice.tax, invoice.tax_percent) == (400, Decimal("20"))
    assert invoice.subscription_id == "sub_2017" and invoice.charge_id == "ch_2017"
    assert invoice.date == ts(payloads.T0)
    assert invoice.discount_id is None  # discounts had no id before 2020...
    assert invoice.stripe_data["discount"]["coupon"]["id"] == "10OFF"  # ...and are kept here
    # Before 2019 a subscription line carried the subscription's id: keyed by invoice.
    assert invoice.lines == ["in_2017:sub_2017", "in_2017:ii_2017_0", "in_2017:ii_2017_1"]
    assert invoice.line_items.count() == 3
    # The same subscription line on next month's invoice is a row of its own.
    upsert(payloads.invoice_2017("in_2017b", n_lines=1))
    assert models.InvoiceLineItem.objects.filter(id__endswith=":sub_2017").count() == 2


def test_2019_invoice_lines_are_keyed_by_unique_id():
    invoice = upsert(payloads.invoice_2019())
    assert invoice.lines == ["il_2019_0", "il_2019_1"]
    assert invoice.status == "paid" and invoice.payment_intent_id == "pi_2019"


def test_2022_invoice():
    invoice = upsert(payloads.invoice_2022())
    assert (invoice.paid, invoice.tax, invoice.charge_id) == (True, 190, "ch_2022")
    assert invoice.total_tax_amounts[0]["tax_rate"] == "txr_1"
    assert invoice.line_items.get().id == "il_2022"


def test_current_invoice_derives_paid_subscription_tax_and_payment_intent():
    invoice = upsert(payloads.invoice_current(n_lines=3))
    assert invoice.paid is True
    assert invoice.subscription_id == "sub_now"
    assert invoice.tax == 0
    assert invoice.payment_intent_id == "pi_in_now"
    assert invoice.date == invoice.created
    assert invoice.metadata == {"order": "42"}
    assert invoice.invoice_payments.get().amount_paid == 5010
    assert [line.amount for line in invoice.line_items.order_by("id")] == [1000, 1001, 1002]


def test_2017_charge_with_embedded_refunds_and_card_source():
    charge = upsert(payloads.charge_2017())
    assert charge.invoice_id == "in_2017" and charge.source["last4"] == "0042"
    refund = models.Refund.objects.get(pk="re_2017")
    assert (refund.charge_id, refund.amount, refund.currency) == ("ch_2017", 400, "usd")


def test_old_and_new_shapes_of_one_type_share_one_table():
    result = upsert_many([payloads.invoice_2017(), payloads.invoice_2019(),
                          payloads.invoice_2022(), payloads.invoice_current()])
    assert result.failed == 0
    assert models.Invoice.objects.filter(paid=True).count() == 4
