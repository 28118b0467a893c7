"""Several platform accounts (STRIPE_DJANGO["API_KEYS"]): a row is acted on with the key
of the platform it was read from, as ``stripe_sync --key`` reads it."""

from __future__ import annotations

import pytest

import stripe_django
from stripe_django.models import Customer
from stripe_django.sync import upsert
from tests.conftest import point_at

pytestmark = pytest.mark.django_db

BRAND_B = "acct_1BRANDB00"


@pytest.fixture
def brands(stub, settings):
    point_at(settings, stub.api_base, "sk_test_brand_a",
             API_KEYS={"brand_b": {"API_KEY": "sk_test_brand_b", "ACCOUNT": BRAND_B}})
    return stub


def sent(stub) -> tuple[str, str | None]:
    """The key and the Stripe-Account header of the last request."""
    headers = stub.requests[-1].headers
    return headers["Authorization"].removeprefix("Bearer "), headers.get("Stripe-Account")


def test_a_platforms_own_row_is_changed_and_refreshed_with_its_key(brands, example):
    customer = upsert(example("customer", id="cus_b1", name="Old"), account=BRAND_B)
    brands.answer("POST", "/v1/customers/cus_b1", example("customer", id="cus_b1", name="New"))
    updated = customer.stripe.update(name="New")
    assert sent(brands) == ("sk_test_brand_b", None)
    assert updated.name == "New" and updated.stripe_account == BRAND_B
    brands.answer("GET", "/v1/customers/cus_b1", example("customer", id="cus_b1", name="Newer"))
    assert customer.refresh_from_stripe().name == "Newer"
    assert sent(brands) == ("sk_test_brand_b", None)
    assert Customer.objects.get(pk="cus_b1").stripe_account == BRAND_B


def test_a_connected_accounts_row_is_reached_through_its_platform(brands, example):
    upsert(example("account", id="acct_1CONNB00"), account=BRAND_B)  # read with brand_b's key
    customer = upsert(example("customer", id="cus_cb1"), account="acct_1CONNB00")
    brands.answer("POST", "/v1/customers/cus_cb1", example("customer", id="cus_cb1", name="C"))
    assert customer.stripe.update(name="C").stripe_account == "acct_1CONNB00"
    assert sent(brands) == ("sk_test_brand_b", "acct_1CONNB00")


def test_the_default_platforms_rows_use_api_key(brands, example):
    customer = upsert(example("customer", id="cus_a1"))
    brands.answer("POST", "/v1/customers/cus_a1", example("customer", id="cus_a1", name="A"))
    assert customer.stripe.update(name="A").stripe_account is None
    assert sent(brands) == ("sk_test_brand_a", None)


def test_a_mirrored_client_of_a_named_key_stores_the_platforms_rows_with_its_account(brands,
                                                                                    example):
    brands.answer("POST", "/v1/customers", example("customer", id="cus_b2"))
    stripe_django.mirrored_client(key="brand_b").v1.customers.create(params={"name": "B"})
    assert sent(brands) == ("sk_test_brand_b", None)
    assert Customer.objects.get(pk="cus_b2").stripe_account == BRAND_B
    with pytest.raises(TypeError, match="api_key or key"):
        stripe_django.mirrored_client("sk_test_x", key="brand_b")


def test_the_stripe_account_option_naming_a_platform_uses_its_key(brands, example):
    brands.answer("POST", "/v1/customers", example("customer", id="cus_b3"))
    created = Customer.objects.stripe_create(name="B", options={"stripe_account": BRAND_B})
    assert sent(brands) == ("sk_test_brand_b", None)
    assert created.stripe_account == BRAND_B
    brands.answer("POST", "/v1/customers", example("customer", id="cus_c3"))
    connected = Customer.objects.stripe_create(name="C", options={"stripe_account": "acct_1OTHER"})
    assert sent(brands) == ("sk_test_brand_a", "acct_1OTHER")
    assert connected.stripe_account == "acct_1OTHER"
