"""The verifications in the admin: the list with counts, and each run's differing objects
linked to their rows' change pages."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from stripe_django.models import Customer, VerificationRun
from stripe_django.sync import sync
from stripe_django.testing.stripe_stub import StripeStub
from stripe_django.verify import verify

from ..conftest import point_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    return client


def test_the_runs_are_listed_and_their_differing_rows_linked(settings, admin_client):
    with StripeStub({"customers": 5, "invoices": 2}) as stub:
        point_at(settings, stub.api_base)
        assert sync(["customer", "invoice"], events=False).ok
        Customer.objects.filter(pk="cus_00000002").update(name="Edited")
        stub.change("cus_00000003", email="changed@example.com")
        stub.delete("cus_00000004")
        report = verify(["customer", "invoice"])
    changelist = admin_client.get(reverse("admin:stripe_django_verificationrun_changelist"))
    assert changelist.status_code == 200
    page = changelist.content.decode()
    assert "<strong>3 differing</strong> (0 missing, 1 extra, 2 stale)" in page  # customers
    assert page.count(">ok<") >= 1  # invoices
    run = VerificationRun.objects.get(run=report.run, object_type="customer")
    detail = admin_client.get(reverse("admin:stripe_django_verificationrun_change", args=[run.pk]))
    assert detail.status_code == 200
    html = detail.content.decode()
    for object_id in ("cus_00000002", "cus_00000003", "cus_00000004"):
        url = reverse("admin:stripe_django_customer_change", args=[object_id])
        assert f'<a href="{url}">{object_id}</a>' in html
    assert "edited in the database: name" in html
    assert "not at Stripe (the API answered 404)" in html
    # read-only: the workers write the runs
    assert admin_client.get(reverse("admin:stripe_django_verificationrun_add")).status_code == 403
