"""Admin list pages on a large mirror: time and queries per page.

``run()``: for SQLite and PostgreSQL (``BENCH_POSTGRES_URL``), in a process each, store
``ADMIN_BENCH_ROWS`` customers (default 50,000) and as many invoices (two lines each),
then request through Django's test client, as a logged-in superuser: the customer list
(first page, a page in the middle, a search by email), the invoice list (customer links and money)
and an invoice's page. Printed per request: milliseconds (best of 3) and queries. For
comparison, the time of the ``COUNT(*)`` of each table that Django's own paginator would
run on every list page (stripe_django's lists run none).
"""

from __future__ import annotations

import os
import sys
import time

from .django_env import MYSQL_URL, database, in_subprocess, urls
from .ratios import QUICK

ROWS = int(os.environ.get("ADMIN_BENCH_ROWS", "1000" if QUICK else "50000"))
T0 = 1_600_000_000


def _objects(start: int, n: int) -> list[dict]:
    objs = []
    for i in range(start, start + n):
        objs.append({"id": f"cus_{i:07d}", "object": "customer", "created": T0 + i, "livemode": False,
                     "email": f"person{i}@example.com", "name": f"Person {i}", "currency": "eur",
                     "metadata": {}, "balance": 0, "delinquent": False})
        lines = [{"id": f"il_{i:07d}_{n}", "object": "line_item", "amount": 1000 + n, "currency": "eur",
                  "description": f"line {n}", "invoice": f"in_{i:07d}", "livemode": False,
                  "metadata": {}, "quantity": 1} for n in range(2)]
        objs.append({"id": f"in_{i:07d}", "object": "invoice", "created": T0 + i, "livemode": False,
                     "customer": f"cus_{i:07d}", "number": f"N-{i}", "status": "paid", "currency": "eur",
                     "total": 2001, "amount_paid": 2001, "amount_due": 2001, "metadata": {},
                     "lines": {"object": "list", "data": lines, "has_more": False,
                               "url": f"/v1/invoices/in_{i:07d}/lines"}})
    return objs


def _measure(client, url: str) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    best = float("inf")
    for _ in range(3):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - start
        assert response.status_code == 200, (url, response.status_code)
        best = min(best, elapsed)
    return best * 1000, len(captured)


def main(url: str) -> None:
    with database(url):
        from django.contrib.auth.models import User
        from django.test import Client

        from stripe_django.models import Customer, Invoice, InvoiceLineItem
        from stripe_django.sync import upsert_many

        start = time.perf_counter()
        for offset in range(0, ROWS, 5000):
            upsert_many(_objects(offset, min(5000, ROWS - offset)))
        stored = time.perf_counter() - start
        from django.db import connection

        if connection.vendor == "postgresql":
            # Statistics as autovacuum keeps them: without, the planner takes the freshly
            # loaded tables for empty ones and joins them row by row.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        vendor = url.split(":")[0]
        print(f"  {vendor}: {ROWS:,} customers, {ROWS:,} invoices, {2 * ROWS:,} lines "
              f"stored in {stored:.1f} s")
        client = Client()
        client.force_login(User.objects.create_superuser("bench", "b@example.com", "pw"))
        middle = ROWS // 2
        for label, path in [
            ("customer list, page 1", "/admin/stripe_django/customer/"),
            (f"customer list, page {ROWS // 100}", f"/admin/stripe_django/customer/?p={ROWS // 100}"),
            ("customer search by email", f"/admin/stripe_django/customer/?q=person{middle}@example.com"),
            ("customer search by id", f"/admin/stripe_django/customer/?q=cus_{middle:07d}"),
            ("invoice list, page 1", "/admin/stripe_django/invoice/"),
            ("invoice search by email", f"/admin/stripe_django/invoice/?q=person{middle}@example.com"),
            ("invoice search, email in caps", f"/admin/stripe_django/invoice/?q=PERSON{middle}@example.com"),
            ("line item list, page 1", "/admin/stripe_django/invoicelineitem/"),
            ("invoice page (2 lines)", f"/admin/stripe_django/invoice/in_{middle:07d}/change/"),
            ("health page", "/admin/stripe_django/synccursor/health/"),
        ]:
            ms, queries = _measure(client, path)
            print(f"  {vendor}: {label:<28} {ms:8.1f} ms  {queries:2d} queries")
        if connection.vendor == "postgresql":
            _explain_email_search(f"person{middle}@example.com")
        for model in (Customer, Invoice, InvoiceLineItem):
            start = time.perf_counter()
            model.objects.count()
            print(f"  {vendor}: COUNT(*) of {model.__name__:<16} {(time.perf_counter() - start) * 1000:8.1f} ms "
                  "(not run by the lists)")


def _explain_email_search(address: str) -> None:
    """PostgreSQL's plan of the invoice list's search by a customer's email."""
    from django.contrib import admin
    from django.test import RequestFactory

    from stripe_django.models import Invoice

    model_admin = admin.site._registry[Invoice]
    queryset, _ = model_admin.get_search_results(RequestFactory().get("/"), Invoice.objects.all(), address)
    plan = queryset.defer("stripe_data").order_by("-created")[:51].explain(analyze=True)
    print("  postgres: plan of the invoice search by email:")
    for line in plan.splitlines():
        print("    " + line)


def run() -> None:
    print(f"admin pages over {ROWS:,} customers and invoices (ADMIN_BENCH_ROWS), best of 3; "
          "figures depend on the machine's load")
    for url in urls():
        if url != MYSQL_URL:
            in_subprocess("benchmarks.admin_bench", url)


if __name__ == "__main__":
    main(sys.argv[1])
