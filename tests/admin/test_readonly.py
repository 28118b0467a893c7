"""The admin lists mirrored rows read-only."""

import pytest
from django.contrib.auth.models import User

from stripe_django.sync import upsert

from ..ingest import payloads


@pytest.mark.django_db
def test_admin_shows_rows_and_offers_no_change(client):
    upsert(payloads.customer_current())
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "pw"))
    listing = client.get("/admin/stripe_django/customer/")
    assert listing.status_code == 200 and b"cus_now" in listing.content
    assert client.get("/admin/stripe_django/customer/add/").status_code == 403
    detail = client.get("/admin/stripe_django/customer/cus_now/change/")
    assert detail.status_code == 200 and b"Save" not in detail.content
