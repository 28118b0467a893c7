"""The admin action "Refresh from Stripe", and the MIRROR_FAILURES setting's check."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from stripe_django.checks import check_settings
from stripe_django.models import Quote
from stripe_django.sync import upsert

pytestmark = pytest.mark.django_db


def test_the_admin_action_refreshes_the_selected_rows_and_names_failures(stub, example, client):
    upsert(example("quote", id="qt_adm1", status="draft"))
    upsert(example("quote", id="qt_adm2", status="draft"))
    stub.answer("GET", "/v1/quotes/qt_adm1", example("quote", id="qt_adm1", status="open"))
    # qt_adm2 is unknown to the stub: the API answers 404
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "pw"))
    response = client.post("/admin/stripe_django/quote/", {
        "action": "refresh_from_stripe", "_selected_action": ["qt_adm1", "qt_adm2"]}, follow=True)
    assert response.status_code == 200
    text = response.content.decode()
    assert "Refreshed 1 from Stripe." in text and "Not refreshed: qt_adm2" in text
    assert Quote.objects.get(pk="qt_adm1").status == "open"
    assert Quote.objects.get(pk="qt_adm2").status == "draft"
    # the quote was retrieved with its line items (type_table.RETRIEVE_EXPAND)
    assert stub.requests[0].query == {"expand[0]": ["line_items"]}


@pytest.mark.parametrize("value, expected", [("log", []), ("raise", []),
                                             ("ignore", ["stripe_django.E070"])])
def test_mirror_failures_must_be_log_or_raise(settings, value, expected):
    settings.STRIPE_DJANGO = {"API_KEY": "sk_test_x", "WEBHOOK_SECRETS": ["whsec_x"],
                              "MIRROR_FAILURES": value}
    assert [m.id for m in check_settings()] == expected
