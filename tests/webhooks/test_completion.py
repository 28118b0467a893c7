"""An event's object whose embedded list is cut off (``has_more``) is stored whole: the
rest of the list is read from the API before the database transaction."""

from __future__ import annotations

import pytest

from stripe_django.models import Event, Invoice, InvoiceLineItem

from ..conftest import point_at
from .conftest import SECRET, make_event

pytestmark = pytest.mark.django_db


def _long_invoice(client) -> dict:
    for invoice in client.v1.invoices.list(params={"limit": 100}).auto_paging_iter():
        plain = invoice.to_dict(recursive=True)
        if plain["lines"]["has_more"]:
            return plain
    raise AssertionError("the seeded account has an invoice with more than 10 lines")


def test_an_invoice_event_with_more_lines_than_it_carries_stores_them_all(seeded, server, settings, deliver):
    point_at(settings, server.api_base, server.api_key, WEBHOOK_SECRETS=[SECRET])
    invoice = _long_invoice(server.client())
    carried = len(invoice["lines"]["data"])
    whole = len(server.client().v1.invoices.line_items.list(invoice["id"], params={"limit": 100}).data)
    assert whole > carried
    response = deliver(make_event(invoice, "invoice.updated"))
    assert response.status_code == 200, response.content
    assert Event.objects.get().processing_status == "processed"
    assert InvoiceLineItem.objects.filter(invoice_id=invoice["id"]).count() == whole
    assert len(Invoice.objects.get(pk=invoice["id"]).lines) == whole


def test_without_an_api_key_the_lines_the_event_carries_are_stored(seeded, server, settings, deliver,
                                                                   monkeypatch):
    invoice = _long_invoice(server.client())
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    settings.STRIPE_DJANGO = {"WEBHOOK_SECRETS": [SECRET]}
    assert deliver(make_event(invoice, "invoice.updated")).status_code == 200
    assert InvoiceLineItem.objects.filter(invoice_id=invoice["id"]).count() == len(invoice["lines"]["data"])
    # a cut-off list marks nothing removed
    assert not InvoiceLineItem.objects.filter(deleted=True).exists()
