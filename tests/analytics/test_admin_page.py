"""The admin's Revenue page on the synthetic account (conftest.py)."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Permission, User
from django.urls import reverse

URL = "admin:stripe_django_revenue"


@pytest.fixture
def admin_client(client, db):
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    return client


def test_figures_chart_and_table(account, admin_client):
    page = admin_client.get(reverse(URL), {"at": "2026-04-15", "months": "2"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "858.96 USD" in html and "10,307.52 USD" in html  # MRR and ARR on Apr 15
    assert "47.72 USD" in html  # ARPU: 85896 / 18
    # one chart per currency, a bar per month; the dot at the ending MRR
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="stripe-django-chart"') == 2
    assert 'data-ending="85896"' in html and 'data-ending="85396"' in html
    assert 'data-kind="churn" data-amount="4000"' in html
    # the table: March's churn links to its customers
    assert re.search(r'href="\?at=2026-04-15&amp;months=2&amp;source=subscriptions&amp;currency=usd&amp;month=2026-03'
                     r'&amp;kind=churn#revenue-drill">-40.00 USD</a>', html)


def test_drill_down_to_the_customers(account, admin_client):
    page = admin_client.get(reverse(URL), {"at": "2026-04-15", "months": "2", "currency": "usd",
                                           "month": "2026-03", "kind": "churn"})
    html = page.content.decode()
    drill = html[html.index('id="revenue-drill"'):]
    assert "churn in 2026-03: 2 customer(s)" in drill
    customers = re.findall(r'<a href="([^"]+)">(cus_\w+)</a>', drill)
    assert [c for _, c in customers] == ["cus_l", "cus_x"]
    assert customers[0][0] == reverse("admin:stripe_django_customer_change", args=[quote("cus_l")])


def test_from_invoices(account, admin_client):
    page = admin_client.get(reverse(URL), {"at": "2026-04-01", "months": "1", "source": "invoices",
                                           "month": "2026-03", "kind": "expansion"})
    html = page.content.decode()
    assert "335.00 USD" in html  # 33500 from the invoice lines in force on Apr 1
    assert "expansion in 2026-03: 1 customer(s)" in html and ">cus_m<" in html


def test_bad_choices_are_a_400_naming_the_field(account, admin_client):
    page = admin_client.get(reverse(URL), {"months": "99"})
    assert page.status_code == 400
    assert "Ensure this value is less than or equal to 36" in page.content.decode()


def test_needs_the_permission_to_view_subscriptions(account, client):
    staff = User.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(staff)
    assert client.get(reverse(URL)).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_subscription"))
    assert client.get(reverse(URL), {"at": "2026-03-15"}).status_code == 200


def test_linked_from_the_index(account, admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert f'href="{reverse(URL)}"' in html
