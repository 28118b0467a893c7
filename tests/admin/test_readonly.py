"""The admin lists mirrored rows read-only."""

import pytest
from django.contrib.auth.models import User

from stripe_django.sync import upsert
from stripe_django.testing import payloads


@pytest.mark.django_db
def test_admin_shows_rows_and_offers_no_change(client):
    upsert(payloads.customer_current())
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "pw"))
    listing = client.get("/admin/stripe_django/customer/")
    assert listing.status_code == 200 and b"cus_now" in listing.content
    assert client.get("/admin/stripe_django/customer/add/").status_code == 403
    detail = client.get("/admin/stripe_django/customer/cus_now/change/")
    assert detail.status_code == 200 and b"Save" not in detail.content


@pytest.mark.django_db
def test_admin_shows_sync_runs_read_only(client):
    from stripe_django.models import SyncRun, SyncShard

    run = SyncRun.objects.create(types=["customer"])
    SyncShard.objects.create(run=run, name="customer", account="acct_1ADMIN00", status="ok", fetched=7)
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "pw"))
    assert client.get("/admin/stripe_django/syncrun/").status_code == 200
    detail = client.get(f"/admin/stripe_django/syncrun/{run.pk}/change/")
    assert detail.status_code == 200 and b"acct_1ADMIN00" in detail.content
    assert client.get("/admin/stripe_django/syncrun/add/").status_code == 403
