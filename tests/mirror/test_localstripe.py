"""End to end against localstripe: every call through the mirror leaves the row equal to
the API's answer before any webhook, and a later webhook carrying an older state does
not roll it back."""

from __future__ import annotations

import logging
import time

import pytest

import stripe_django
from stripe_django.models import (Card, Customer, Invoice, InvoiceItem, InvoiceLineItem, Plan,
                                  Subscription, SubscriptionItem, TaxId)

pytestmark = pytest.mark.django_db


def api_answer(stripe_object) -> dict:
    """What the API answered, as plain JSON (the SDK's own copy of the body)."""
    return stripe_object.last_response.data


def plain_client(server):
    """A client that does not store anything: the test's view of Stripe."""
    return server.client()


def test_a_call_through_the_mirrored_client_stores_the_answer_before_it_returns(server):
    client = stripe_django.mirrored_client()
    created = client.v1.customers.create(params={"email": "jenny@example.com",
                                                 "metadata": {"plan": "gold"}})
    row = Customer.objects.get(pk=created.id)
    assert row.stripe_data == api_answer(created)
    assert row.email == "jenny@example.com" and row.metadata == {"plan": "gold"}
    assert row.stripe_data == plain_client(server).v1.customers.retrieve(created.id).to_dict()


def test_manager_create_and_row_update_return_the_stored_rows(server):
    customer = Customer.objects.stripe_create(email="jenny@example.com", name="Jenny")
    assert customer._state.adding is False and customer.name == "Jenny"
    updated = customer.stripe.update(name="Jenny Rosen", metadata={"tier": "2"})
    assert isinstance(updated, Customer) and updated.pk == customer.pk
    assert updated.name == "Jenny Rosen" and updated.metadata == {"tier": "2"}
    answer = plain_client(server).v1.customers.retrieve(customer.pk).to_dict()
    assert Customer.objects.get(pk=customer.pk).stripe_data == answer


def test_an_older_webhook_does_not_roll_the_row_back_and_a_newer_one_wins(server, deliver):
    customer = Customer.objects.stripe_create(email="old@example.com")
    before = dict(customer.stripe_data)
    customer.stripe.update(email="new@example.com")
    # The event of the earlier state, delivered late (signed, through the webhook URL).
    deliver(before, "customer.updated", created=int(time.time()) - 60)
    assert Customer.objects.get(pk=customer.pk).email == "new@example.com"
    deliver({**before, "email": "newest@example.com"}, "customer.updated",
            created=int(time.time()) + 5)
    assert Customer.objects.get(pk=customer.pk).email == "newest@example.com"


def test_deleting_marks_the_row_deleted(server):
    customer = Customer.objects.stripe_create(email="gone@example.com")
    gone = customer.stripe.delete()
    assert gone.pk == customer.pk and gone.deleted is True
    assert Customer.objects.get(pk=customer.pk).deleted is True


def test_tax_ids_are_created_and_deleted_from_the_customer_row(server):
    customer = Customer.objects.stripe_create(email="vat@example.com")
    tax_id = customer.stripe.tax_ids.create(type="eu_vat", value="DE123456789")
    assert isinstance(tax_id, TaxId) and tax_id.customer_id == customer.pk
    assert tax_id.value == "DE123456789" and tax_id.deleted is False
    deleted = customer.stripe.tax_ids.delete(tax_id.pk)
    assert deleted.pk == tax_id.pk and deleted.deleted is True


def test_a_card_source_is_stored_linked_to_its_customer(server):
    customer = Customer.objects.stripe_create(email="card@example.com")
    token = plain_client(server).v1.tokens.create(params={"card": {
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}})
    card = customer.stripe.payment_sources.create(source=token.id)
    assert isinstance(card, Card) and card.customer_id == customer.pk and card.last4 == "4242"
    listed = plain_client(server).v1.customers.payment_sources.list(customer.pk)
    assert Card.objects.get(pk=card.pk).stripe_data == listed.data[0].to_dict()


@pytest.fixture
def subscribed(server):
    """A customer with a default card and a monthly subscription."""
    customer = Customer.objects.stripe_create(email="sub@example.com")
    card = stripe_django.models.PaymentMethod.objects.stripe.attach("pm_card_visa",
                                                                    customer=customer.pk)
    customer.stripe.update(invoice_settings={"default_payment_method": card.pk})
    plan = Plan.objects.stripe_create(amount=1500, currency="usd", interval="month",
                                      product={"name": "Gold"})
    subscription = Subscription.objects.stripe_create(customer=customer.pk,
                                                      items=[{"plan": plan.pk}])
    return customer, plan, subscription


def test_subscription_update_and_cancel(server, subscribed, deliver):
    customer, plan, subscription = subscribed
    assert subscription.status == "active"
    assert SubscriptionItem.objects.filter(subscription_id=subscription.pk).count() == 1
    active = dict(subscription.stripe_data)
    updated = subscription.stripe.update(cancel_at_period_end=True)
    assert updated.cancel_at_period_end is True
    canceled = subscription.stripe.cancel()
    assert canceled.status == "canceled" and canceled.deleted is False
    answer = plain_client(server).v1.subscriptions.retrieve(subscription.pk).to_dict()
    assert Subscription.objects.get(pk=subscription.pk).stripe_data == answer
    deliver(active, "customer.subscription.updated", created=int(time.time()) - 30)
    assert Subscription.objects.get(pk=subscription.pk).status == "canceled"


def test_invoice_pay(server, subscribed, deliver):
    customer, plan, subscription = subscribed
    InvoiceItem.objects.stripe_create(customer=customer.pk, amount=500, currency="usd")
    invoice = Invoice.objects.stripe_create(customer=customer.pk)
    draft = dict(invoice.stripe_data)
    assert invoice.status == "draft"
    assert set(InvoiceLineItem.objects.filter(invoice_id=invoice.pk).values_list("amount", flat=True)) == {1500, 500}
    paid = invoice.stripe.pay()
    assert paid.status == "paid" and paid.amount_paid == 2000
    answer = plain_client(server).v1.invoices.retrieve(invoice.pk).to_dict()
    assert Invoice.objects.get(pk=invoice.pk).stripe_data == answer
    deliver(draft, "invoice.updated", created=int(time.time()) - 30)
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"


def test_list_pages_are_stored_and_returned_as_rows(server):
    client = plain_client(server)
    ids = [client.v1.customers.create(params={"email": f"c{i}@example.com"}).id for i in range(3)]
    assert not Customer.objects.filter(pk__in=ids).exists()
    rows = Customer.objects.stripe.list(limit=10)
    assert sorted(r.pk for r in rows) == sorted(ids)
    assert all(isinstance(r, Customer) for r in rows)
    assert Customer.objects.filter(pk__in=ids).count() == 3


def test_refresh_from_stripe_reads_what_changed_elsewhere(server):
    customer = Customer.objects.stripe_create(email="before@example.com")
    plain_client(server).v1.customers.update(customer.pk, params={"email": "after@example.com"})
    assert Customer.objects.get(pk=customer.pk).email == "before@example.com"
    assert customer.refresh_from_stripe() is customer
    assert customer.email == "after@example.com"
    assert Customer.objects.get(pk=customer.pk).email == "after@example.com"


def test_previews_are_unsaved_instances(server, subscribed):
    customer, plan, subscription = subscribed
    invoices_before = Invoice.objects.count()
    lines_before = InvoiceLineItem.objects.count()
    preview = Invoice.objects.stripe.create_preview(customer=customer.pk)
    assert isinstance(preview, Invoice) and preview._state.adding is True
    assert preview.customer_id == customer.pk and preview.amount_due == 1500
    lines = preview.preview_children["lines"]
    assert [line.amount for line in lines] == [1500]
    assert all(isinstance(line, InvoiceLineItem) and line._state.adding for line in lines)
    assert Invoice.objects.count() == invoices_before
    assert InvoiceLineItem.objects.count() == lines_before


def test_every_page_of_an_auto_paginated_list_is_stored(server):
    client = plain_client(server)
    ids = {client.v1.customers.create(params={"email": f"p{i}@example.com"}).id for i in range(5)}
    mirrored = stripe_django.mirrored_client()
    seen = {c.id for c in mirrored.v1.customers.list(params={"limit": 2}).auto_paging_iter()}
    assert seen == ids
    assert set(Customer.objects.values_list("pk", flat=True)) == ids


def test_a_setup_intents_client_secret_reaches_the_caller_but_not_the_database(server, caplog):
    from django.db import connection

    from stripe_django.models import SetupIntent

    customer = Customer.objects.stripe_create(email="secret@example.com")
    with caplog.at_level(logging.DEBUG, logger="stripe_django"):
        intent = stripe_django.mirrored_client().v1.setup_intents.create(
            params={"customer": customer.pk, "payment_method_types": ["card"]})
        row = SetupIntent.objects.get(pk=intent.id)
    secret = intent.client_secret
    assert secret and "_secret_" in secret  # the caller gets it, to hand to Stripe.js
    assert row.customer_id == customer.pk and "client_secret" not in row.stripe_data
    with connection.cursor() as cursor:  # nowhere in the row, whatever the column
        cursor.execute(f"SELECT * FROM {SetupIntent._meta.db_table} WHERE id = %s", [intent.id])
        assert not [value for value in cursor.fetchone() if secret in str(value)]
    assert not [r for r in caplog.records
                if r.name.startswith("stripe_django") and secret in r.getMessage()]
