"""A write-through call costs a fixed number of queries, however big the object."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from stripe_django.ingest.writer import COPY_MIN_ROWS
from stripe_django.models import InvoiceLineItem
from stripe_django.sync import upsert

pytestmark = pytest.mark.django_db

# Per call: the ingest of the answer in one transaction (here a savepoint and its
# release, the test being in a transaction); for each of the two models (invoice, line
# item) one look-up of the stored stamps and one write (the invoice's new state; the
# unchanged lines' new stamp); then one read of the row the call returns.
EXPECTED_QUERIES = 7
# On PostgreSQL the store's time bound (MIRROR_STORE_TIMEOUT) is set before it and put
# back after it (mirror/time_bound.py): two statements more, whatever the object.
BOUND_QUERIES = 2


def bound_queries() -> int:
    return BOUND_QUERIES if connection.vendor == "postgresql" else 0


def invoice_with_lines(example, count: int) -> dict:
    lines = [{**example("line_item"), "id": f"il_q{count}_{n}", "invoice": f"in_q{count}"}
             for n in range(count)]
    return example("invoice", id=f"in_q{count}", status="draft",
                   lines={"object": "list", "data": lines, "has_more": False,
                          "url": f"/v1/invoices/in_q{count}/lines"})


@pytest.mark.parametrize("lines", [1, 30])
def test_finalizing_an_invoice_costs_the_same_queries_whatever_its_lines(stub, example, lines):
    draft = invoice_with_lines(example, lines)
    invoice = upsert(draft)
    stub.answer("POST", f"/v1/invoices/{invoice.pk}/finalize", {**draft, "status": "open"})
    with CaptureQueriesContext(connection) as queries:
        finalized = invoice.stripe.finalize_invoice()
    assert finalized.status == "open"
    assert InvoiceLineItem.objects.filter(invoice_id=invoice.pk).count() == lines
    assert len(queries) == EXPECTED_QUERIES + bound_queries(), \
        [q["sql"][:90] for q in queries.captured_queries]


def customer_page(example, count: int) -> dict:
    return {"object": "list", "url": "/v1/customers", "has_more": False,
            "data": [example("customer", id=f"cus_q{count}_{n}") for n in range(count)]}


# A list page: the ingest of its objects in one transaction (savepoint and release); for
# each of the two models (customer, and the discount Stripe's example customer embeds)
# one look-up of the stored stamps and one write; then one read of the rows.
EXPECTED_LIST_QUERIES = 7
# On PostgreSQL a page of at least COPY_MIN_ROWS new customers goes in by COPY, in a
# savepoint of its own: two statements more, the same for any size above it.
COPY_QUERIES = 2


@pytest.mark.parametrize("size", [1, 30, 90])
def test_a_list_page_costs_the_same_queries_whatever_its_size(stub, example, size):
    from stripe_django.models import Customer

    stub.answer("GET", "/v1/customers", customer_page(example, size))
    with CaptureQueriesContext(connection) as queries:
        rows = Customer.objects.stripe.list(limit=size)
    assert [row.pk for row in rows] == [f"cus_q{size}_{n}" for n in range(size)]
    copied = COPY_QUERIES if connection.vendor == "postgresql" and size >= COPY_MIN_ROWS else 0
    assert len(queries) == EXPECTED_LIST_QUERIES + copied + bound_queries(), \
        "\n".join(q["sql"][:90] for q in queries.captured_queries)
