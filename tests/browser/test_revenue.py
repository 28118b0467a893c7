"""The admin's Revenue page in a real browser: from the index to the page, a date
chosen in its form, the chart, and a movement drilled down to a customer's page."""

from __future__ import annotations

import pytest

from stripe_django.testing.revenue import Payloads

from ..analytics.conftest import revenue_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_revenue_page_and_drill_down(page, stripe_examples):
    revenue_account(Payloads(stripe_examples))
    page.open("/admin/")
    page.follow(page.link("Revenue"))
    page.find("#revenue-table")
    # the figures as of a chosen date, from the page's own form
    page.find("#id_at").send_keys("2026-04-15")
    months = page.find("#id_months")
    months.clear()
    months.send_keys("3")
    page.follow(page.find("#revenue-choices input[type=submit]"))
    now = page.find("#revenue-now").text
    assert "858.96 USD" in now and "30.00 EUR" in now
    charts = page.driver.find_elements("css selector", "#revenue-charts svg")
    assert len(charts) == 2 and charts[0].size["height"] > 100
    page.screenshot("revenue")
    # March's churn: the two customers behind it
    page.follow(page.link("-40.00 USD"))
    drill = page.find("#revenue-drill").text
    assert "churn in 2026-03: 2 customer(s)" in drill
    page.screenshot("drill-down")
    page.follow(page.link("cus_l"))
    assert "cus_l@example.com" in page.find("#content-main").text
    page.screenshot("customer")
