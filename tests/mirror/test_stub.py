"""Operations localstripe does not serve, against a local HTTP stub answering with Stripe's
own example objects (../shared/stripe-openapi/fixtures3.json)."""

from __future__ import annotations

import logging

import pytest
import stripe

import stripe_django
from stripe_django.exceptions import MirrorError, StripeDjangoError
from stripe_django.models import (BillingPortalConfiguration, CheckoutSession, CreditNote,
                                  CreditNoteLineItem, Customer, Invoice, InvoiceLineItem,
                                  PaymentLink, Price, Quote, TaxId)
from stripe_django.sync import upsert
from stripe_django.testing.stripe_stub import StubRequest

pytestmark = pytest.mark.django_db


def form(request: StubRequest) -> dict:
    return {k: v[0] if len(v) == 1 else v for k, v in request.form.items()}


def test_finalize_and_pay_an_invoice(stub, example):
    draft = example("invoice", id="in_stub1", status="draft")
    invoice = upsert(draft)
    stub.answer("POST", "/v1/invoices/in_stub1/finalize", {**draft, "status": "open"})
    finalized = invoice.stripe.finalize_invoice(auto_advance=False)
    assert isinstance(finalized, Invoice) and finalized.status == "open"
    assert form(stub.requests[-1]) == {"auto_advance": "false"}
    stub.answer("POST", "/v1/invoices/in_stub1/pay",
                {**draft, "status": "paid", "amount_paid": draft["amount_due"]})
    paid = finalized.stripe.pay()
    assert paid.status == "paid" and paid.amount_paid == draft["amount_due"]
    assert Invoice.objects.get(pk="in_stub1").stripe_data["status"] == "paid"


def test_accept_a_quote(stub, example):
    quote = upsert(example("quote", id="qt_stub1", status="open"))
    stub.answer("POST", "/v1/quotes/qt_stub1/accept",
                example("quote", id="qt_stub1", status="accepted"))
    accepted = quote.stripe.accept()
    assert isinstance(accepted, Quote) and accepted.status == "accepted"
    assert stub.requests[-1].path == "/v1/quotes/qt_stub1/accept"


def test_expire_a_checkout_session_of_a_connected_account(stub, example):
    session = upsert(example("checkout.session", id="cs_stub1", status="open"),
                     account="acct_connected1")
    stub.answer("POST", "/v1/checkout/sessions/cs_stub1/expire",
                example("checkout.session", id="cs_stub1", status="expired"))
    expired = session.stripe.expire()
    assert stub.requests[-1].headers["Stripe-Account"] == "acct_connected1"
    assert isinstance(expired, CheckoutSession) and expired.status == "expired"
    assert expired.stripe_account == "acct_connected1"


def test_void_a_credit_note(stub, example):
    note = upsert(example("credit_note", id="cn_stub1", status="issued"))
    stub.answer("POST", "/v1/credit_notes/cn_stub1/void",
                example("credit_note", id="cn_stub1", status="void"))
    assert note.stripe.void_credit_note().status == "void"
    assert CreditNote.objects.get(pk="cn_stub1").status == "void"


def test_create_a_tax_id_a_payment_link_and_a_portal_configuration(stub, example):
    stub.answer("POST", "/v1/tax_ids", example("tax_id", id="txi_stub1"))
    tax_id = TaxId.objects.stripe_create(type="eu_vat", value="DE123456789")
    assert isinstance(tax_id, TaxId) and TaxId.objects.get(pk="txi_stub1").value == "DE123456789"
    assert form(stub.requests[-1]) == {"type": "eu_vat", "value": "DE123456789"}
    stub.answer("POST", "/v1/payment_links", example("payment_link", id="plink_stub1"))
    link = PaymentLink.objects.stripe_create(line_items=[{"price": "price_1", "quantity": 1}])
    assert isinstance(link, PaymentLink) and link.pk == "plink_stub1"
    stub.answer("POST", "/v1/billing_portal/configurations",
                example("billing_portal.configuration", id="bpc_stub1"))
    configuration = BillingPortalConfiguration.objects.stripe_create(
        features={"invoice_history": {"enabled": True}})
    assert configuration.pk == "bpc_stub1" and configuration._state.adding is False


def test_posts_carry_an_idempotency_key_and_a_callers_own_is_sent_as_given(stub, example):
    stub.answer("POST", "/v1/tax_ids", example("tax_id", id="txi_stub2"))
    TaxId.objects.stripe_create(type="eu_vat", value="DE1")
    TaxId.objects.stripe_create(type="eu_vat", value="DE1")
    generated = [r.headers.get("Idempotency-Key") for r in stub.requests]
    assert all(generated) and generated[0] != generated[1]
    TaxId.objects.stripe_create(type="eu_vat", value="DE1",
                                options={"idempotency_key": "order-42-tax-id"})
    assert stub.requests[-1].headers["Idempotency-Key"] == "order-42-tax-id"


def test_credit_note_previews_are_unsaved_instances(stub, example):
    preview = example("credit_note", id="cn_preview1")
    stub.answer("GET", "/v1/credit_notes/preview", preview)
    note = CreditNote.objects.stripe.preview(invoice="in_1", amount=1690)
    assert isinstance(note, CreditNote) and note._state.adding is True
    assert note.amount == 1690 and note.invoice_id == preview["invoice"]
    children = note.preview_children["lines"]
    assert [c.pk for c in children] == [line["id"] for line in preview["lines"]["data"]]
    assert all(isinstance(c, CreditNoteLineItem) and c._state.adding for c in children)
    line = example("credit_note_line_item")
    stub.answer("GET", "/v1/credit_notes/preview/lines",
                {"object": "list", "data": [line], "has_more": False,
                 "url": "/v1/credit_notes/preview/lines"})
    lines = CreditNote.objects.stripe.preview_lines.list(invoice="in_1")
    assert [(type(x), x.pk, x._state.adding) for x in lines] == [(CreditNoteLineItem, line["id"], True)]
    assert not CreditNote.objects.exists() and not CreditNoteLineItem.objects.exists()


def test_invoice_create_preview_is_unsaved_with_its_lines(stub, example):
    line = example("line_item")  # Stripe's example: an il_tmp_ id
    preview = example("invoice", id="upcoming_in_stub1",
                      lines={"object": "list", "data": [line], "has_more": False, "url": "/x"})
    stub.answer("POST", "/v1/invoices/create_preview", preview)
    invoice = Invoice.objects.stripe.create_preview(customer="cus_1")
    assert invoice.pk == "upcoming_in_stub1" and invoice._state.adding is True
    assert [x.pk for x in invoice.preview_children["lines"]] == [line["id"]]
    assert not Invoice.objects.exists() and not InvoiceLineItem.objects.exists()
    with pytest.raises(StripeDjangoError, match="upcoming_in_stub1 is a preview"):
        invoice.save()
    with pytest.raises(StripeDjangoError, match="is a preview"):
        invoice.preview_children["lines"][0].save()
    assert not Invoice.objects.exists() and not InvoiceLineItem.objects.exists()


def test_a_list_through_a_row_returns_its_own_rows_or_what_the_sdk_returned(stub, example):
    """Lines the mirror refuses (il_tmp_ ids) whose embedded prices it stores: the call
    returns the SDK's list, never the prices as if they were the list."""
    invoice = upsert(example("invoice", id="in_lines1", status="open"))
    price = example("price", id="price_in_line1")
    lines = [{**example("line_item"), "price": price}]  # Stripe's example: an il_tmp_ id
    stub.answer("GET", "/v1/invoices/in_lines1/lines",
                {"object": "list", "data": lines, "has_more": False, "url": "/v1/invoices/in_lines1/lines"})
    listed = invoice.stripe.line_items.list()
    assert not any(isinstance(item, Price) for item in listed)
    assert [item.id for item in listed] == [line["id"] for line in lines]


def test_expanded_objects_and_objects_inside_unmirrored_answers_are_stored(stub, example):
    customer = example("customer", id="cus_expanded1")
    stub.answer("GET", "/v1/invoices/in_exp1",
                example("invoice", id="in_exp1", customer=customer))
    client = stripe_django.mirrored_client()
    client.v1.invoices.retrieve("in_exp1", params={"expand": ["customer"]})
    assert Invoice.objects.get(pk="in_exp1").customer_id == "cus_expanded1"
    assert Customer.objects.filter(pk="cus_expanded1").exists()
    # A portal session is not mirrored (a short-lived URL); its expanded configuration is.
    session = example("billing_portal.session",
                      configuration=example("billing_portal.configuration", id="bpc_exp1"))
    stub.answer("POST", "/v1/billing_portal/sessions", session)
    result = client.v1.billing_portal.sessions.create(params={"customer": "cus_1"})
    assert isinstance(result, stripe.StripeObject) and result["url"] == session["url"]
    assert BillingPortalConfiguration.objects.filter(pk="bpc_exp1").exists()


def test_a_deletion_stub_marks_the_row_deleted(stub, example):
    tax_id = upsert(example("tax_id", id="txi_del1"))
    stub.answer("DELETE", "/v1/tax_ids/txi_del1", {"id": "txi_del1", "object": "tax_id", "deleted": True})
    assert tax_id.stripe.delete().deleted is True
    row = TaxId.objects.get(pk="txi_del1")
    assert row.deleted is True and row.value == "DE123456789"  # the last state is kept


def test_a_list_cut_at_has_more_keeps_its_rows_and_refresh_completes_it(stub, example):
    def line(n):
        return {**example("line_item"), "id": f"il_cut{n}", "invoice": "in_cut1", "amount": n}

    stored = upsert(example("invoice", id="in_cut1", lines={
        "object": "list", "data": [line(1), line(2), line(3)], "has_more": False, "url": "/v1/invoices/in_cut1/lines"}))
    # The answer carries the first line and says there are more: nothing is removed.
    cut = example("invoice", id="in_cut1", lines={"object": "list", "data": [line(1)],
                                                  "has_more": True, "url": "/v1/invoices/in_cut1/lines"})
    stub.answer("POST", "/v1/invoices/in_cut1", cut)
    stored.stripe.update(description="cut")
    assert InvoiceLineItem.objects.filter(invoice_id="in_cut1", deleted=False).count() == 3
    # A refresh reads the whole list: line 3 is gone in Stripe.
    stub.answer("GET", "/v1/invoices/in_cut1", cut)
    stub.answer("GET", "/v1/invoices/in_cut1/lines", {
        "object": "list", "data": [line(1), line(2)], "has_more": False, "url": "/v1/invoices/in_cut1/lines"})
    stored.refresh_from_stripe()
    assert sorted(InvoiceLineItem.objects.filter(invoice_id="in_cut1", deleted=False)
                  .values_list("pk", flat=True)) == ["il_cut1", "il_cut2"]
    assert InvoiceLineItem.objects.get(pk="il_cut3").deleted is True


def test_a_failure_to_store_is_logged_and_the_api_answer_still_returned(stub, example, caplog):
    bad = example("customer", id="cus_bad1", created="yesterday")
    stub.answer("GET", "/v1/customers/cus_bad1", bad)
    client = stripe_django.mirrored_client()
    with caplog.at_level(logging.ERROR, logger="stripe_django.mirror"):
        result = client.v1.customers.retrieve("cus_bad1")
    assert result.id == "cus_bad1" and result["created"] == "yesterday"
    assert not Customer.objects.filter(pk="cus_bad1").exists()
    assert "GET /v1/customers/cus_bad1 was not stored" in caplog.text and "'created'" in caplog.text
    # A row method returns the SDK's answer when it could not be stored.
    row = upsert(example("customer", id="cus_bad1"))
    stub.answer("POST", "/v1/customers/cus_bad1", bad)
    assert isinstance(row.stripe.update(name="x"), stripe.StripeObject)


def test_with_mirror_failures_raise_the_error_carries_the_api_answer(stub, example, settings):
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "MIRROR_FAILURES": "raise"}
    stub.answer("GET", "/v1/customers/cus_bad2", example("customer", id="cus_bad2", created="x"))
    with pytest.raises(MirrorError) as caught:
        stripe_django.mirrored_client().v1.customers.retrieve("cus_bad2")
    assert caught.value.payload["id"] == "cus_bad2" and "created" in str(caught.value.errors[0])


def test_api_errors_are_the_sdks_and_store_nothing(stub, example):
    quote = upsert(example("quote", id="qt_err1", status="draft"))
    stub.answer("POST", "/v1/quotes/qt_err1/accept",
                {"error": {"type": "invalid_request_error", "message": "not open"}}, status=400)
    with pytest.raises(stripe.InvalidRequestError, match="not open"):
        quote.stripe.accept()
    assert Quote.objects.get(pk="qt_err1").status == "draft"


def test_unknown_methods_and_unaddressable_rows_are_named(stub, example):
    invoice = upsert(example("invoice", id="in_named1"))
    with pytest.raises(AttributeError, match="invoice in_named1 has no Stripe method 'finalise'"):
        invoice.stripe.finalise()
    person = upsert({**example("person"), "id": "person_orphan1", "account": None})
    with pytest.raises(StripeDjangoError, match="person person_orphan1 cannot be addressed.*account"):
        person.stripe.update(first_name="x")
    from stripe_django.models import Discount

    with pytest.raises(StripeDjangoError, match="discount objects have no service"):
        Discount(id="di_1").stripe
    # ... and asking whether they have methods answers, as for any missing attribute
    assert not hasattr(Discount(id="di_1"), "stripe") and not hasattr(person, "stripe")
    assert getattr(Discount.objects, "stripe", None) is None


def test_connect_calls_tag_rows_with_the_account_and_sub_services_are_bound(stub, example):
    stub.answer("POST", "/v1/customers", example("customer", id="cus_conn1"))
    customer = Customer.objects.stripe_create(email="c@example.com",
                                              options={"stripe_account": "acct_conn1"})
    assert customer.stripe_account == "acct_conn1"
    stub.answer("POST", "/v1/customers/cus_conn1/tax_ids",
                example("tax_id", id="txi_conn1", customer="cus_conn1"))
    tax_id = customer.stripe.tax_ids.create(type="eu_vat", value="DE123456789")
    assert stub.requests[-1].path == "/v1/customers/cus_conn1/tax_ids"
    assert stub.requests[-1].headers["Stripe-Account"] == "acct_conn1"
    assert tax_id.stripe_account == "acct_conn1" and tax_id.customer_id == "cus_conn1"


def test_the_async_methods_of_the_sdk_are_mirrored_too(stub, example):
    from asgiref.sync import async_to_sync

    from stripe._http_client import new_default_http_client, new_http_client_async_fallback

    stub.answer("GET", "/v1/customers/cus_async1", example("customer", id="cus_async1"))
    http = new_default_http_client(async_fallback_client=new_http_client_async_fallback())
    client = stripe_django.mirrored_client(http_client=http)

    async def retrieve():
        try:
            return await client.v1.customers.retrieve_async("cus_async1")
        finally:
            await http.close_async()  # the session belongs to this loop

    assert async_to_sync(retrieve)().id == "cus_async1"
    assert Customer.objects.filter(pk="cus_async1").exists()


def test_no_transaction_is_open_while_stripe_is_called(stub, example):
    from django.db import connections

    calling = connections["default"]  # this thread's connection (the proxy is per thread)
    quote = upsert(example("quote", id="qt_tx1", status="open"))
    stub.answer("POST", "/v1/quotes/qt_tx1/accept", example("quote", id="qt_tx1", status="accepted"))
    depth_before = len(calling.atomic_blocks)  # the test's own transaction
    seen = []
    stub.on_request = lambda request: seen.append(len(calling.atomic_blocks))
    assert quote.stripe.accept().status == "accepted"
    assert seen == [depth_before]


def test_search_pages_are_stored_and_returned_as_rows(stub, example):
    found = [example("customer", id=f"cus_search{n}") for n in range(2)]
    stub.answer("GET", "/v1/customers/search", {
        "object": "search_result", "data": found, "has_more": False, "next_page": None,
        "url": "/v1/customers/search"})
    rows = Customer.objects.stripe.search(query="email:'jenny.rosen@example.com'")
    assert [(type(r), r.pk) for r in rows] == [(Customer, "cus_search0"), (Customer, "cus_search1")]
    assert stub.requests[-1].query["query"] == ["email:'jenny.rosen@example.com'"]


@pytest.mark.parametrize("object_type, object_id, method, path, before, after", [
    ("invoice", "in_op1", "void_invoice", "/v1/invoices/in_op1/void", "open", "void"),
    ("invoice", "in_op2", "mark_uncollectible", "/v1/invoices/in_op2/mark_uncollectible",
     "open", "uncollectible"),
    ("invoice", "in_op3", "send_invoice", "/v1/invoices/in_op3/send", "draft", "open"),
    ("quote", "qt_op1", "finalize_quote", "/v1/quotes/qt_op1/finalize", "draft", "open"),
    ("quote", "qt_op2", "cancel", "/v1/quotes/qt_op2/cancel", "open", "canceled"),
])
def test_seed_operations_leave_the_row_as_stripe_answered(stub, example, object_type, object_id,
                                                           method, path, before, after):
    row = upsert(example(object_type, id=object_id, status=before))
    answer = stub.answer("POST", path, example(object_type, id=object_id, status=after))
    result = getattr(row.stripe, method)()
    assert stub.requests[-1].path == path
    assert type(result) is type(row) and result.status == after
    assert type(row).objects.get(pk=object_id).stripe_data == answer


def test_adding_and_removing_invoice_lines(stub, example):
    def line(n):
        return {**example("line_item"), "id": f"il_lines{n}", "invoice": "in_lines1", "amount": n}

    def invoice(*numbers):
        return example("invoice", id="in_lines1", status="draft", lines={
            "object": "list", "data": [line(n) for n in numbers], "has_more": False,
            "url": "/v1/invoices/in_lines1/lines"})

    def live_lines():
        return list(InvoiceLineItem.objects.filter(invoice_id="in_lines1", deleted=False)
                    .order_by("pk").values_list("pk", flat=True))

    row = upsert(invoice(1))
    stub.answer("POST", "/v1/invoices/in_lines1/add_lines", invoice(1, 2))
    row = row.stripe.add_lines(lines=[{"amount": 2, "description": "extra"}])
    assert set(live_lines()) == {"il_lines1", "il_lines2"}
    assert form(stub.requests[-1]) == {"lines[0][amount]": "2", "lines[0][description]": "extra"}
    stub.answer("POST", "/v1/invoices/in_lines1/remove_lines", invoice(2))
    row = row.stripe.remove_lines(lines=[{"id": "il_lines1", "behavior": "delete"}])
    assert live_lines() == ["il_lines2"]
    assert InvoiceLineItem.objects.get(pk="il_lines1").deleted is True


def test_a_row_below_a_parent_is_refreshed_at_its_parents_path(stub, example):
    person = upsert({**example("person"), "id": "person_ref1", "account": "acct_parent1",
                     "first_name": "Old"})
    stub.answer("GET", "/v1/accounts/acct_parent1/persons/person_ref1",
                {**example("person"), "id": "person_ref1", "account": "acct_parent1",
                 "first_name": "New"})
    person.refresh_from_stripe()
    assert person.first_name == "New"
    assert stub.requests[-1].path == "/v1/accounts/acct_parent1/persons/person_ref1"


@pytest.mark.parametrize("context, account", [("acct_1CTXCONN", "acct_1CTXCONN"),
                                              ("acct_1CTXPLAT/acct_1CTXCONN", "acct_1CTXCONN")])
def test_the_stripe_context_option_tags_rows_with_the_account_acted_on(stub, example, context,
                                                                        account):
    stub.answer("POST", "/v1/customers", example("customer", id="cus_ctx1"))
    stripe_django.mirrored_client().v1.customers.create(
        params={"email": "ctx@example.com"}, options={"stripe_context": context})
    assert stub.requests[-1].headers["Stripe-Context"] == context
    assert Customer.objects.get(pk="cus_ctx1").stripe_account == account


def test_row_and_model_methods_have_async_variants(stub, example):
    from asgiref.sync import async_to_sync

    draft = example("invoice", id="in_async1", status="draft")
    invoice = upsert(draft)
    stub.answer("POST", "/v1/invoices/in_async1/finalize", {**draft, "status": "open"})
    stub.answer("POST", "/v1/customers", example("customer", id="cus_async2"))

    async def act():
        # Inside a running event loop: any synchronous database access would raise
        # SynchronousOnlyOperation.
        finalized = await invoice.stripe.finalize_invoice_async(auto_advance=False)
        created = await Customer.objects.stripe.create_async(email="async@example.com")
        return finalized, created

    async def create_and_refresh():
        created = await Customer.objects.astripe_create(email="async@example.com")
        stub.answer("GET", "/v1/customers/cus_async2",
                    example("customer", id="cus_async2", name="Refreshed"))
        return await created.arefresh_from_stripe()

    finalized, created = async_to_sync(act)()
    assert isinstance(finalized, Invoice) and finalized.status == "open"
    assert form(stub.requests[0]) == {"auto_advance": "false"}
    assert isinstance(created, Customer) and created.pk == "cus_async2"
    assert Invoice.objects.get(pk="in_async1").status == "open"
    refreshed = async_to_sync(create_and_refresh)()
    assert refreshed.pk == "cus_async2" and refreshed.name == "Refreshed"


def test_async_row_calls_keep_nothing_of_their_event_loop(stub, example):
    """Each async_to_sync call runs in a loop of its own: once the loop has ended, its
    client and sessions are closed and nothing keeps the loop alive."""
    import asyncio
    import gc
    import weakref

    from asgiref.sync import async_to_sync

    invoice = upsert(example("invoice", id="in_loops", status="draft"))
    stub.answer("POST", "/v1/invoices/in_loops/finalize", example("invoice", id="in_loops", status="open"))
    loops = []

    async def finalize():
        loops.append(weakref.ref(asyncio.get_running_loop()))
        await invoice.stripe.finalize_invoice_async()

    for _ in range(4):
        async_to_sync(finalize)()
    gc.collect()
    # asgiref's loop thread may still refer to the newest loop until its next call
    assert [ref() for ref in loops[:-1]] == [None, None, None]


def test_an_answer_that_fails_to_store_keeps_its_secret_out_of_the_log_and_the_error(
        stub, example, settings, caplog):
    secret = "seti_1fail_secret_abcdef"
    bad = example("setup_intent", id="seti_1fail", client_secret=secret, created="x")
    stub.answer("POST", "/v1/setup_intents", bad)
    with caplog.at_level(logging.DEBUG, logger="stripe_django"):
        answer = stripe_django.mirrored_client().v1.setup_intents.create()
    assert answer.client_secret == secret
    assert "was not stored" in caplog.text and secret not in caplog.text
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "MIRROR_FAILURES": "raise"}
    with pytest.raises(MirrorError) as caught:
        stripe_django.mirrored_client().v1.setup_intents.create()
    assert secret not in str(caught.value) and secret not in repr(caught.value.errors)


def test_a_new_webhook_endpoints_signing_secret_is_returned_but_not_stored(stub, example):
    from stripe_django.models import WebhookEndpoint

    stub.answer("POST", "/v1/webhook_endpoints",
                example("webhook_endpoint", id="we_sec1", secret="whsec_only_once_123"))
    endpoint = stripe_django.mirrored_client().v1.webhook_endpoints.create(
        params={"url": "https://example.com/stripe/webhook/", "enabled_events": ["*"]})
    assert endpoint.secret == "whsec_only_once_123"
    row = WebhookEndpoint.objects.get(pk="we_sec1")
    assert "secret" not in row.stripe_data and "whsec_only_once_123" not in str(row.__dict__)


def test_a_refresh_whose_completed_list_cannot_be_stored_says_so(stub, example, settings,
                                                                   caplog):
    def line(n, **fields):
        return {**example("line_item"), "id": f"il_bad{n}", "invoice": "in_bad1", **fields}

    cut = example("invoice", id="in_bad1", lines={
        "object": "list", "data": [line(1)], "has_more": True, "url": "/v1/invoices/in_bad1/lines"})
    stored = upsert(cut)
    stub.answer("GET", "/v1/invoices/in_bad1", cut)
    stub.answer("GET", "/v1/invoices/in_bad1/lines", {
        "object": "list", "data": [line(1), line(2, amount="lots")], "has_more": False,
        "url": "/v1/invoices/in_bad1/lines"})
    with caplog.at_level(logging.ERROR, logger="stripe_django.mirror"):
        assert stored.refresh_from_stripe().pk == "in_bad1"
    assert "GET /v1/invoices/in_bad1 was not stored" in caplog.text and "'amount'" in caplog.text
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "MIRROR_FAILURES": "raise"}
    with pytest.raises(MirrorError, match="'amount'"):
        stored.refresh_from_stripe()
