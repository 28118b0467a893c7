"""What a support person does in the admin, in a real browser: find a customer by
email, open their invoice, retry a failed webhook event, look at the mirror's health."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from stripe_django.models import Customer, Event

from ..admin.conftest import mirror
from ..webhooks.conftest import body_of, customer, make_event, sign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def deliver_over_http(base_url: str, event: dict) -> int:
    """POST a signed event to the live server's webhook URL, as Stripe does."""
    body = body_of(event)
    request = urllib.request.Request(
        f"{base_url}/stripe/webhook/", data=body, method="POST",
        headers={"Content-Type": "application/json", "Stripe-Signature": sign(body)})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_find_a_customer_by_email_and_open_an_invoice(page):
    mirror(3)
    page.open("/admin/")
    page.screenshot("index")
    page.follow(page.link("Customers"))
    search = page.find("#searchbar")
    search.send_keys("person1@example.com")
    page.follow(page.find("#changelist-search input[type=submit]"))
    rows = page.find("#result_list tbody")
    assert "person1@example.com" in rows.text and "Person 1" in rows.text
    assert "person2@example.com" not in rows.text
    page.screenshot("customer-found")

    # the customer's page links to their invoices and charges
    page.follow(page.find("#result_list tbody th a"))
    related = page.find(".field-mirror_related").text
    assert "invoices: 1" in related and "charges: 1" in related
    page.screenshot("customer")
    page.follow(page.link("invoices: 1"))
    assert len(page.driver.find_elements("css selector", "#result_list tbody tr")) == 1
    page.follow(page.find("#result_list tbody a"))  # the invoice's id, linked
    page.find("#content-main")
    page.screenshot("invoice")
    text = page.text
    assert "in_0001" in text
    assert "50.01 EUR" in text  # total
    assert "paid" in text
    assert "Person 1" in text or "cus_0001" in text  # the customer, linked
    lines = page.find("#line_items-group")
    page.driver.execute_script("arguments[0].scrollIntoView()", lines)
    page.screenshot("invoice-lines")
    lines = lines.text
    assert "il_in_0001_0" in lines and "line 1" in lines and "10.01 EUR" in lines
    # the payload unfolds
    payload = page.find("details.stripe-django-payload")
    page.driver.execute_script("arguments[0].scrollIntoView()", payload)
    payload.find_element("css selector", "summary").click()
    assert '"number": "N-in_0001"' in page.find("details.stripe-django-payload pre").text
    page.screenshot("invoice-payload")
    page.follow(page.find(".field-customer_link_detail a"))
    assert page.find("#content h2").text == "person1@example.com (cus_0001)"


def test_find_an_invoice_by_the_customer_s_email_and_open_it_on_the_dashboard(page):
    mirror(3)
    page.open("/admin/")
    page.follow(page.link("Invoices"))
    page.find("#searchbar").send_keys("Person2@example.com")  # not as Stripe stored it
    page.follow(page.find("#changelist-search input[type=submit]"))
    rows = page.driver.find_elements("css selector", "#result_list tbody tr")
    assert len(rows) == 1 and "in_0002" in rows[0].text and "person2@example.com" in rows[0].text
    page.screenshot("invoice-found-by-email")
    page.follow(rows[0].find_element("css selector", "th a"))
    link = page.find("a.stripe-dashboard-link")
    assert link.text.lower() == "view on the stripe dashboard"  # (the CSS puts it in capitals)
    assert link.get_attribute("href") == "https://dashboard.stripe.com/test/invoices/in_0002"
    assert link.get_attribute("target") == "_blank"
    page.screenshot("invoice-with-dashboard-link")


def test_see_a_failed_event_and_retry_it(page, live_server, settings, unused_port):
    # The API is unreachable when the event needs it: the event is stored, failed.
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "REFETCH_ON_EVENT": True, "MAX_NETWORK_RETRIES": 0,
                              "API_BASE": f"http://127.0.0.1:{unused_port}"}
    event = make_event(customer("cus_retried", email="retried@example.com"), "customer.updated")
    assert deliver_over_http(live_server.url, event) == 500
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "REFETCH_ON_EVENT": False}

    page.open("/admin/stripe_django/event/")
    page.follow(page.link("Failed"))  # the status filter
    row = page.find("#result_list tbody tr")
    assert event["id"] in row.text and "failed" in row.text and "APIConnectionError" in row.text
    page.screenshot("failed-event")
    # at 1400 px the error is on screen, on one line, without scrolling the table
    error = row.find_element("css selector", "td.field-error")
    shown = page.find("#changelist .results")  # the table scrolls inside it
    assert error.rect["x"] + error.rect["width"] <= shown.rect["x"] + shown.rect["width"], (
        error.rect, shown.rect)
    assert error.rect["height"] < 40 and row.rect["height"] < 60, (error.rect, row.rect)
    assert "APIConnectionError" in error.find_element("css selector", "span").get_attribute("title")
    row.find_element("css selector", "input.action-select").click()
    from selenium.webdriver.support.ui import Select

    Select(page.find("select[name=action]")).select_by_value("retry")
    page.follow(page.find("button[name=index]"))
    message = page.find("ul.messagelist li").text.lower()  # (the CSS capitalizes it)
    assert message == "retried 1 event(s): 1 processed, 0 already processed, 0 failed"
    page.screenshot("retried")
    assert Event.objects.get(pk=event["id"]).processing_status == "processed"
    assert Customer.objects.get(pk="cus_retried").email == "retried@example.com"


def test_retry_a_failed_event_from_its_page(page, live_server, settings, unused_port):
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "REFETCH_ON_EVENT": True, "MAX_NETWORK_RETRIES": 0,
                              "API_BASE": f"http://127.0.0.1:{unused_port}"}
    event = make_event(customer("cus_from_page", email="page@example.com"), "customer.updated")
    assert deliver_over_http(live_server.url, event) == 500
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "REFETCH_ON_EVENT": False}

    page.open("/admin/stripe_django/event/?processing_status__exact=failed")
    page.follow(page.link(event["id"]))
    summary = page.find("fieldset").text
    assert "APIConnectionError" in summary  # the whole error on the event's page
    page.screenshot("failed-event-page")
    page.follow(page.find("a.stripe-event-retry"))
    assert "Retry this event?" in page.text and event["id"] in page.text
    page.screenshot("retry-confirmation")
    page.follow(page.find("input[type=submit][value='Yes, retry it']"))
    message = page.find("ul.messagelist li").text
    assert message == "Retried 1 event(s): 1 processed, 0 already processed, 0 failed"
    assert page.find("#content h2").text.startswith(event["id"]) or event["id"] in page.text
    page.screenshot("retried-from-page")
    assert Event.objects.get(pk=event["id"]).processing_status == "processed"
    assert Customer.objects.get(pk="cus_from_page").email == "page@example.com"


def test_open_the_health_page(page, live_server):
    from django.utils import timezone

    from stripe_django.models.sync_state import SyncCursor

    mirror(2)
    SyncCursor.objects.create(object_type="customer", complete=True, last_synced_at=timezone.now(),
                              created_after=1_600_000_000)
    SyncCursor.objects.create(object_type="invoice", starting_after="in_0000", pass_started_at=timezone.now(),
                              last_synced_at=timezone.now(), last_error="APIConnectionError: timed out")
    assert deliver_over_http(live_server.url, make_event(customer("cus_h"), "customer.created")) == 200
    assert deliver_over_http(live_server.url, make_event(customer("cus_b", balance="x"), "customer.updated")) == 200
    page.open("/admin/")
    page.follow(page.link("Mirror health"))
    page.find("#health-warnings")
    page.screenshot("health")
    text = page.text
    assert "1 failed webhook event(s) are refused for good: no retry will process them." in text
    assert "The last sync of 1 type(s) failed: invoice." in text
    assert "Last sync: " in page.find("#health-last-sync").text
    sync = page.find("#health-sync table").text
    assert "customer platform test 3" in sync and "new objects from 2020-09-13 12:26:40 UTC" in sync
    assert "failed: APIConnectionError: timed out" in sync and "full pass, after in_0000" in sync
    chart = page.find("svg.stripe-django-chart")
    assert chart.size["width"] > 600 and chart.size["height"] > 100
    bars = chart.find_elements("css selector", "rect[data-status]")
    assert {b.get_attribute("data-status") for b in bars} == {"processed", "failed"}
    page.follow(page.link("1 failed webhook event(s) are refused for good: no retry will process them."))
    assert "processing_status__exact=failed" in page.driver.current_url
    assert "customer.updated" in page.find("#result_list").text
