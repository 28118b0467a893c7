"""What a support person sees of ``stripe_verify`` in a real browser: the verifications
listed with their counts, a run's page with its differing objects linked to their rows,
and the health page's "Last verification" column."""

from __future__ import annotations

import pytest

from stripe_django.models import Customer, VerificationRun
from stripe_django.sync import sync
from stripe_django.testing.stripe_stub import StripeStub
from stripe_django.verify import verify

from ..conftest import point_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def verified(settings):
    """A mirror of customers and products, made to drift, then verified."""
    with StripeStub({"customers": 30, "products": 4}) as stub:
        point_at(settings, stub.api_base)
        assert sync(["customer", "product"], events=False).ok
        Customer.objects.filter(pk="cus_00000002").update(name="Edited by hand")
        stub.change("cus_00000003", email="changed@example.com")
        stub.delete("cus_00000004")
        Customer.objects.filter(pk="cus_00000005").delete()
        report = verify(["customer", "product"])
    return report


def test_the_verifications_and_a_run_s_differing_objects(page, verified):
    page.open("/admin/")
    page.follow(page.link("Verifications"))
    rows = page.find("#result_list tbody")
    page.screenshot("list")
    by_type = {row.find_element("css selector", ".field-object_type").text: row.text
               for row in rows.find_elements("css selector", "tr")}
    assert set(by_type) == {"customer", "product"}
    assert "4 differing (1 missing, 1 extra, 2 stale)" in by_type["customer"]
    assert "ok" in by_type["product"] and "differing" not in by_type["product"]
    # every column fits beside the filters: nothing to scroll sideways to
    assert page.driver.execute_script(
        "const t = document.querySelector('#changelist .results');"
        "return t.scrollWidth <= t.clientWidth;")

    # the run's own link, in its row: Django 6 puts the filters, which link "customer"
    # too, before the results
    [customer_run] = [row for row in rows.find_elements("css selector", "tr")
                      if row.find_element("css selector", ".field-object_type").text == "customer"]
    page.follow(customer_run.find_element("css selector", ".field-object_type a"))
    # what differs comes first, the platform named, the counts in the result
    assert page.find(".field-account_name").text.endswith("platform")
    assert "4 differing (1 missing, 1 extra, 2 stale)" in page.find(".field-result").text
    page.screenshot("run")
    page.driver.execute_script("arguments[0].scrollIntoView()", page.find(".field-differing_objects"))
    page.screenshot("run-differences")
    table = page.find("table.stripe-django-differences")
    differences = {row.find_elements("css selector", "td")[1].text:
                   (row.find_elements("css selector", "td")[0].text,
                    row.find_elements("css selector", "td")[2].text)
                   for row in table.find_elements("css selector", "tbody tr")}
    assert {key: kind for key, (kind, _why) in differences.items()} == {
        "customer cus_00000002": "stale", "customer cus_00000003": "stale",
        "customer cus_00000004": "extra",
        "customer cus_00000005 (no row here: on the Stripe Dashboard)": "missing"}
    assert differences["customer cus_00000002"][1].startswith("edited in the database: name (")
    assert differences["customer cus_00000003"][1].startswith("differs from Stripe: email (")
    assert differences["customer cus_00000004"][1] == "not at Stripe (the API answered 404)"
    # a differing row opens on its own page
    page.follow(page.link("cus_00000002"))
    assert "Edited by hand" in page.find("#content-main").text
    page.screenshot("differing-row")
    # an object missing from the mirror has no row to open: it links to the Stripe
    # Dashboard instead, and says so (above)
    page.driver.back()
    missing = page.link("cus_00000005")
    assert missing.get_attribute("href") == "https://dashboard.stripe.com/test/customers/cus_00000005"


def test_the_health_page_shows_the_last_verification(page, verified):
    page.open("/admin/")
    page.follow(page.link("Mirror health"))
    sync_table = page.find("#health-sync table")
    page.driver.execute_script("arguments[0].scrollIntoView()", sync_table)
    page.screenshot("health")
    rows = {row.find_elements("css selector", "td")[0].text: row
            for row in sync_table.find_elements("css selector", "tbody tr")}
    customer = rows["customer"].find_element("css selector", "td.verification")
    assert "level-warning" in customer.get_attribute("class")
    assert "30 compared, 4 differing (1 missing, 1 extra, 2 stale)" in customer.text
    product = rows["product"].find_element("css selector", "td.verification")
    assert "4 compared, 0 differing" in product.text
    assert "level-warning" not in product.get_attribute("class")
    warnings = page.find("#health-warnings").text
    assert "The last verification of 1 type(s) found differences" in warnings
    # the cell opens the run
    page.follow(customer.find_element("css selector", "a"))
    record = VerificationRun.objects.get(object_type="customer")
    assert page.driver.current_url.endswith(f"/verificationrun/{record.pk}/change/")
    assert "cus_00000005" in page.find(".field-differing_objects").text
