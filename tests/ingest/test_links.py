"""Children of embedded lists are linked to their parent whatever the order of arrival,
and a complete list tells which children were removed."""

from __future__ import annotations

import pytest

from stripe_django.models import CheckoutSession, Customer, InvoiceLineItem, LineItem, Subscription, SubscriptionItem
from stripe_django.sync import upsert, upsert_many
from stripe_django.testing.payloads import T0, customer_current, invoice_current, subscription_current

pytestmark = pytest.mark.django_db


def checkout_item(iid: str) -> dict:
    # A checkout session's line item carries no link to its session.
    return {"id": iid, "object": "item", "amount_subtotal": 500, "amount_total": 500,
            "currency": "usd", "description": "T-shirt", "quantity": 1,
            "price": {"id": "price_1", "object": "price", "active": True, "currency": "usd",
                      "unit_amount": 500, "created": T0, "livemode": False, "metadata": {},
                      "product": "prod_1", "type": "one_time"}}


def session(sid: str, items: list[dict], has_more: bool = False) -> dict:
    return {"id": sid, "object": "checkout.session", "created": T0, "livemode": False, "mode": "payment",
            "status": "complete", "metadata": {}, "amount_total": 500, "currency": "usd",
            "line_items": {"object": "list", "has_more": has_more, "url": f"/v1/checkout/sessions/{sid}/line_items",
                           "data": items}}


def test_a_child_stored_first_is_linked_when_its_parent_arrives():
    upsert(checkout_item("li_first"), stamp=T0)
    assert LineItem.objects.get(pk="li_first").checkout_session_id is None
    upsert(session("cs_1", [checkout_item("li_first")]), stamp=T0 + 10)
    assert LineItem.objects.get(pk="li_first").checkout_session_id == "cs_1"
    assert [i.pk for i in CheckoutSession.objects.get().line_item_rows.all()] == ["li_first"]


def test_a_child_that_says_null_is_linked_to_the_parent_it_arrived_in():
    invoice = invoice_current("in_null", n_lines=2)
    for line in invoice["lines"]["data"]:
        line["invoice"] = None
    upsert(invoice)
    assert set(InvoiceLineItem.objects.values_list("invoice_id", flat=True)) == {"in_null"}


def test_a_child_stored_alone_later_keeps_its_parent():
    upsert(session("cs_2", [checkout_item("li_keep")]), stamp=T0)
    upsert(dict(checkout_item("li_keep"), description="renamed"), stamp=T0 + 10)
    row = LineItem.objects.get(pk="li_keep")
    assert row.description == "renamed"
    assert row.checkout_session_id == "cs_2"


def test_a_line_removed_from_a_draft_invoice_is_marked_deleted():
    draft = invoice_current("in_draft", n_lines=3, status="draft")
    upsert(draft, stamp=T0)
    fewer = invoice_current("in_draft", n_lines=3, status="draft")
    del fewer["lines"]["data"][1]
    result = upsert_many([fewer], stamp=T0 + 10)
    assert result.by_type["line_item"].updated == 1
    lines = {line.pk: line.deleted for line in InvoiceLineItem.objects.all()}
    assert lines == {"il_in_draft_0": False, "il_in_draft_1": True, "il_in_draft_2": False}
    # The older state (three lines), arriving late, changes nothing.
    upsert(draft, stamp=T0 + 5)
    assert InvoiceLineItem.objects.get(pk="il_in_draft_1").deleted is True
    assert InvoiceLineItem.objects.existing().filter(invoice_id="in_draft").count() == 2


def test_an_item_taken_off_a_subscription_is_marked_deleted():
    sub = subscription_current("sub_items")
    second = dict(sub["items"]["data"][0], id="si_second")
    sub["items"]["data"].append(second)
    upsert(sub, stamp=T0)
    assert SubscriptionItem.objects.filter(subscription_id="sub_items", deleted=False).count() == 2
    upsert(subscription_current("sub_items"), stamp=T0 + 10)
    assert SubscriptionItem.objects.get(pk="si_second").deleted is True
    assert Subscription.objects.get().items == [sub["items"]["data"][0]["id"]]


def test_a_list_cut_off_at_has_more_removes_nothing():
    upsert(session("cs_3", [checkout_item("li_a"), checkout_item("li_b")]), stamp=T0)
    upsert(session("cs_3", [checkout_item("li_a")], has_more=True), stamp=T0 + 10)
    assert not LineItem.objects.filter(deleted=True).exists()


def test_a_list_that_leaves_children_out_removes_nothing():
    """``customer.subscriptions`` lists only subscriptions that are not canceled."""
    sub = subscription_current("sub_canceled_later")
    upsert(customer_current("cus_now", subscriptions={"object": "list", "has_more": False, "data": [sub]}),
           stamp=T0)
    upsert(customer_current("cus_now", subscriptions={"object": "list", "has_more": False, "data": []}),
           stamp=T0 + 10)
    assert Subscription.objects.get().deleted is False
    assert Subscription.objects.get().customer_id == "cus_now"
    assert Customer.objects.get().subscriptions == []


def test_a_child_removed_then_listed_again_is_restored():
    upsert(session("cs_4", [checkout_item("li_back")]), stamp=T0)
    upsert(session("cs_4", []), stamp=T0 + 10)
    assert LineItem.objects.get().deleted is True
    upsert(session("cs_4", [checkout_item("li_back")]), stamp=T0 + 20)
    assert LineItem.objects.get().deleted is False
