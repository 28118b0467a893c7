"""Event types whose payload is incomplete are stored from the API instead: against a
stub of the API on 127.0.0.1 (the HTTP boundary), since localstripe has no Checkout
Sessions."""

from __future__ import annotations

import pytest
from django.test.utils import override_settings

from stripe_django.models import CheckoutSession, Customer, Event
from stripe_django.testing.stripe_stub import StripeStub
from stripe_django.webhooks.refetch import retrieve_path, wants_refetch

from .conftest import SECRET, customer, make_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_api():
    """The Stripe stub, serving what a test gives it; the settings pointing at it."""
    with StripeStub() as stub, override_settings(STRIPE_DJANGO={
            "API_KEY": "sk_test_fake", "API_BASE": stub.api_base, "MAX_NETWORK_RETRIES": 0,
            "WEBHOOK_SECRETS": [SECRET]}):
        yield stub


def test_checkout_session_is_fetched_with_its_line_items(deliver, stripe_examples, fake_api):
    session = dict(stripe_examples["checkout.session"], status="complete")
    item = stripe_examples["item"]
    fake_api.answer("GET", f"/v1/checkout/sessions/{session['id']}", {
        **session, "line_items": {"object": "list", "data": [item], "has_more": False,
                                  "url": f"/v1/checkout/sessions/{session['id']}/line_items"}})
    event = make_event(dict(stripe_examples["checkout.session"], status="open"),
                       "checkout.session.completed", account="acct_1Connected")
    assert deliver(event).status_code == 200
    request = fake_api.requests[0]
    assert request.path == f"/v1/checkout/sessions/{session['id']}"
    assert request.query == {"expand[0]": ["line_items"]}
    assert request.headers.get("Stripe-Account") == "acct_1Connected"
    stored = CheckoutSession.objects.get(pk=session["id"])
    assert stored.status == "complete"
    assert stored.stripe_account == "acct_1Connected"
    assert [row.pk for row in stored.line_item_rows.all()] == [item["id"]]


def test_refetch_setting_and_404(deliver, fake_api):
    fake_api.answer("GET", "/v1/customers/cus_webhook1", customer(email="from-api@example.com"))
    with override_settings(STRIPE_DJANGO={**_current(), "REFETCH_ON_EVENT": ["customer"]}):
        assert deliver(make_event(customer(email="payload@example.com"))).status_code == 200
        assert Customer.objects.get().email == "from-api@example.com"
        # gone from the API: the payload stands
        assert deliver(make_event(customer("cus_gone", email="payload@example.com"))).status_code == 200
        assert Customer.objects.get(pk="cus_gone").email == "payload@example.com"
        # a redelivery of a processed event makes no request
        before = len(fake_api.requests)
        event = make_event(customer(), "customer.updated")
        deliver(event)
        deliver(event)
        assert len(fake_api.requests) == before + 1
    assert Event.objects.filter(processing_status="processed").count() == 3


def test_api_error_fails_the_event(deliver, fake_api):
    with override_settings(STRIPE_DJANGO={**_current(), "API_BASE": "http://127.0.0.1:9",
                                          "REFETCH_ON_EVENT": True}):
        assert deliver(make_event(customer())).status_code == 500
    assert Event.objects.get().processing_status == "failed"
    assert not Customer.objects.exists()


def _current() -> dict:
    from django.conf import settings

    return dict(settings.STRIPE_DJANGO)


def test_wants_refetch():
    assert wants_refetch("checkout.session.completed", "checkout.session")
    assert not wants_refetch("customer.updated", "customer")
    assert not wants_refetch("checkout.session.deleted", "checkout.session")
    with override_settings(STRIPE_DJANGO={"REFETCH_ON_EVENT": True}):
        assert wants_refetch("customer.updated", "customer")
        assert not wants_refetch("customer.deleted", "customer")
        # a canceled subscription is still there
        assert wants_refetch("customer.subscription.deleted", "subscription")


@pytest.mark.parametrize("setting", ["invoice", ["invoice"], ("invoice",)])
def test_refetch_names_types_whole(setting):
    """One type given as a string is that type, not a substring ("invoice" is not
    "invoiceitem")."""
    with override_settings(STRIPE_DJANGO={"REFETCH_ON_EVENT": setting}):
        assert wants_refetch("invoice.updated", "invoice")
        assert not wants_refetch("invoiceitem.updated", "invoiceitem")
        assert not wants_refetch("customer.updated", "voice")


@pytest.mark.parametrize("obj, path", [
    ({"object": "customer", "id": "cus_1"}, "/v1/customers/cus_1"),
    ({"object": "checkout.session", "id": "cs_1"}, "/v1/checkout/sessions/cs_1"),
    ({"object": "person", "id": "person_1", "account": "acct_1"}, "/v1/accounts/acct_1/persons/person_1"),
    ({"object": "capability", "id": "card_payments", "account": "acct_1"},
     "/v1/accounts/acct_1/capabilities/card_payments"),
    ({"object": "card", "id": "card_1", "customer": "cus_1"}, "/v1/customers/cus_1/sources/card_1"),
    ({"object": "card", "id": "card_1", "account": "acct_1"}, "/v1/accounts/acct_1/external_accounts/card_1"),
    ({"object": "fee_refund", "id": "fr_1", "fee": {"id": "fee_1"}}, "/v1/application_fees/fee_1/refunds/fr_1"),
    ({"object": "balance"}, "/v1/balance"),
    ({"object": "line_item", "id": "il_1"}, None),
    ({"object": "person", "id": "person_1"}, None),
    ({"object": "customer", "id": "cus/../x"}, "/v1/customers/cus%2F..%2Fx"),
])
def test_retrieve_paths(obj, path):
    assert retrieve_path(obj) == path
