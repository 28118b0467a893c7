"""A support person refunds part of a charge from the admin, in a real browser: the action,
its confirmation page showing the request, and the change sent to the Stripe stub."""

from __future__ import annotations

import pytest
from selenium.webdriver.support.select import Select

from stripe_django.models import Charge, Refund
from stripe_django.sync import upsert

from ..mirror.conftest import example, stub  # noqa: F401  (fixtures of these tests too)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_refund_part_of_a_charge_through_the_confirmation_page(page, stub, example):
    upsert(example("charge", id="ch_browser1", amount=2000, refunded=False))
    stub.answer("POST", "/v1/refunds", example("refund", id="re_browser1", charge="ch_browser1", amount=500))
    stub.answer("GET", "/v1/charges/ch_browser1",
                example("charge", id="ch_browser1", amount=2000, amount_refunded=500))

    page.open("/admin/stripe_django/charge/")
    page.find("#result_list input.action-select").click()
    Select(page.find("select[name=action]")).select_by_value("refund_charge")
    page.follow(page.find("button[name=index]"))
    page.find(".stripe-django-support-action")
    assert "POST /v1/refunds" in page.text and "charge=ch_browser1" in page.text
    page.find("#id_amount").send_keys("5.00")  # in the charge's currency, as people write it
    page.follow(page.find("input[name=stripe_review]"))
    assert "amount=500" in page.find(".stripe-request").text
    assert "5.00 USD" in page.find(".stripe-request-amount").text
    page.screenshot("confirmation")
    assert [r for r in stub.requests if r.method == "POST"] == []

    page.follow(page.find("input[name=stripe_confirm]"))
    page.screenshot("refunded")
    assert "Done at Stripe: Refund the charge at Stripe ch_browser1." in page.text
    [sent] = [r for r in stub.requests if r.method == "POST"]
    assert sent.form == {"charge": ["ch_browser1"], "amount": ["500"]}
    assert Refund.objects.get(pk="re_browser1").amount == 500
    assert Charge.objects.get(pk="ch_browser1").amount_refunded == 500
