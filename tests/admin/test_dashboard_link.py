"""Every change page of an object the Stripe Dashboard shows links to it there."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.utils import quote

from stripe_django.sync import upsert_many
from stripe_django.testing import payloads

from .conftest import mirror

pytestmark = pytest.mark.django_db


def dashboard_link(admin_client, model_name: str, pk: str) -> str | None:
    page = admin_client.get(f"/admin/stripe_django/{model_name}/{quote(pk)}/change/")
    assert page.status_code == 200
    found = re.search(r'<a href="([^"]+)" class="stripe-dashboard-link"[^>]*>View on the Stripe Dashboard</a>',
                      page.content.decode())
    return found.group(1) if found else None


def test_test_mode_objects_link_to_the_test_dashboard(admin_client):
    mirror(1)
    assert dashboard_link(admin_client, "customer", "cus_0000") == \
        "https://dashboard.stripe.com/test/customers/cus_0000"
    assert dashboard_link(admin_client, "invoice", "in_0000") == \
        "https://dashboard.stripe.com/test/invoices/in_0000"
    assert dashboard_link(admin_client, "subscription", "sub_0000") == \
        "https://dashboard.stripe.com/test/subscriptions/sub_0000"
    assert dashboard_link(admin_client, "charge", "ch_0000") == \
        "https://dashboard.stripe.com/test/payments/ch_0000"


def test_live_and_connected_account_objects(admin_client):
    upsert_many([payloads.customer_current("cus_live", livemode=True)])
    upsert_many([payloads.customer_current("cus_connected", livemode=True)], account="acct_123")
    upsert_many([payloads.customer_current("cus_connected_test")], account="acct_123")
    assert dashboard_link(admin_client, "customer", "cus_live") == \
        "https://dashboard.stripe.com/customers/cus_live"
    assert dashboard_link(admin_client, "customer", "cus_connected") == \
        "https://dashboard.stripe.com/acct_123/customers/cus_connected"
    assert dashboard_link(admin_client, "customer", "cus_connected_test") == \
        "https://dashboard.stripe.com/acct_123/test/customers/cus_connected_test"


def test_objects_without_a_dashboard_page_get_no_link(admin_client):
    mirror(1)
    assert dashboard_link(admin_client, "invoicelineitem", "il_in_0000_0") is None
