"""Names a person reads: verbose names, str() of rows, reverse accessors, managers."""

import pytest
from django.apps import apps
from django.utils.text import capfirst

from stripe_django import models
from stripe_django.codegen.names import plural_word
from stripe_django.money import format_amount
from stripe_django.sync import upsert
from stripe_django.testing import payloads

MIRRORED = [m for m in apps.get_app_config("stripe_django").get_models()
            if issubclass(m, models.base.StripeModel)]


@pytest.mark.parametrize("model, singular, plural", [
    (models.BillingAlert, "Billing alert", "Billing alerts"),
    (models.Capability, "Capability", "Capabilities"),
    (models.BalanceSettings, "Balance settings", "Balance settings"),
    (models.CheckoutSession, "Checkout session", "Checkout sessions"),
    (models.TaxId, "Tax ID", "Tax IDs"),
    (models.TreasuryTransactionEntry, "Treasury transaction entry", "Treasury transaction entries"),
    (models.BillingCreditBalanceSummary, "Billing credit balance summary",
     "Billing credit balance summaries"),
    (models.InvoiceItem, "Invoice item", "Invoice items"),
    (models.Topup, "Top-up", "Top-ups"),
    (models.EntitlementsActiveEntitlement, "Active entitlement", "Active entitlements"),
    (models.ReportingReportRun, "Report run", "Report runs"),
])
def test_verbose_names_read_as_english(model, singular, plural):
    assert capfirst(model._meta.verbose_name) == singular
    assert capfirst(model._meta.verbose_name_plural) == plural


def test_no_model_shows_a_raw_object_name():
    for model in MIRRORED:
        for name in (model._meta.verbose_name, model._meta.verbose_name_plural):
            assert "_" not in name and "." not in name, model
        plural = model._meta.verbose_name_plural
        assert not plural.endswith(("ss", "ys")) or plural.endswith(("ays", "eys", "oys")), model
        words = model._meta.verbose_name.split()
        # a namespace that repeats a word of the name ("reporting report run")
        assert not any(w.startswith(words[0][:6]) for w in words[1:]), model


@pytest.mark.parametrize("word, plural", [
    ("invoice", "invoices"), ("tax", "taxes"), ("summary", "summaries"), ("day", "days"),
    ("address", "addresses"), ("branch", "branches"), ("settings", "settings"),
])
def test_plural_rules(word, plural):
    assert plural_word(word) == plural


@pytest.mark.parametrize("amount, currency, text", [
    (1234, "usd", "12.34 USD"),
    (123456789, "eur", "1,234,567.89 EUR"),
    (1000, "jpy", "1,000 JPY"),
    (-5, "krw", "-5 KRW"),
    (1234, "kwd", "1.234 KWD"),
    (-250, "gbp", "-2.50 GBP"),
    (0, "usd", "0.00 USD"),
    (42, None, "42"),
    (None, "usd", ""),
])
def test_amounts_are_formatted_in_their_currency(amount, currency, text):
    assert format_amount(amount, currency) == text


@pytest.mark.django_db
class TestStr:
    def test_customer_by_email_then_name_then_id(self):
        assert str(upsert(payloads.customer_current("cus_a"))) == "now@example.com (cus_a)"
        named = upsert(payloads.customer_current("cus_b", email=None, name="Jenny Rosen"))
        assert str(named) == "Jenny Rosen (cus_b)"
        bare = upsert(payloads.customer_current("cus_c", email=None, name=None))
        assert str(bare) == "cus_c"

    def test_invoice_by_number_and_total(self):
        invoice = upsert(payloads.invoice_current("in_a", n_lines=1))
        assert str(invoice) == "N-in_a · 50.10 EUR (in_a)"
        draft = upsert(payloads.invoice_current("in_b", n_lines=1, number=None, currency="jpy",
                                                total=5000))
        assert str(draft) == "5,000 JPY (in_b)"

    def test_generic_types_by_name_and_amount(self):
        product = upsert({"id": "prod_a", "object": "product", "name": "Gold plan",
                          "created": payloads.T0, "livemode": False, "metadata": {}})
        assert str(product) == "Gold plan (prod_a)"
        charge = upsert(payloads.charge_2017("ch_a", amount=999, currency="usd",
                                             description=None, statement_descriptor=None))
        assert str(charge) == "9.99 USD (ch_a)"
        event = upsert({"id": "evt_a", "object": "event", "type": "customer.created",
                        "created": payloads.T0, "livemode": False, "api_version": "2017-06-05",
                        "data": {"object": payloads.customer_current("cus_e")},
                        "pending_webhooks": 0, "request": None})
        assert str(event) == "customer.created (evt_a)"

    def test_nested_objects_do_not_name_a_row(self):
        report = upsert({"id": "vr_a", "object": "identity.verification_report",
                         "created": payloads.T0, "livemode": False, "type": "document",
                         "email": {"email": "a@example.com", "status": "verified"}})
        assert str(report) == "vr_a"

    def test_str_never_queries(self, django_assert_num_queries):
        upsert(payloads.customer_current("cus_a"))
        row = models.Customer.objects.only("id").get()
        with django_assert_num_queries(0):
            assert str(row) == "cus_a"
        upsert(payloads.invoice_current("in_a", n_lines=1))
        invoice = models.Invoice.objects.get(pk="in_a")
        with django_assert_num_queries(0):
            assert str(invoice) == "N-in_a · 50.10 EUR (in_a)"


def test_every_reverse_accessor_reads_as_english():
    for model in MIRRORED:
        for rel in model._meta.related_objects:
            if not issubclass(rel.related_model, models.base.StripeModel):
                continue
            accessor = rel.get_accessor_name()
            assert accessor and not accessor.endswith("_set"), (model, rel)
            assert rel.related_name != "+", (model, rel.field)


@pytest.mark.django_db
def test_reverse_accessors_follow_the_references():
    upsert(payloads.customer_current("cus_now"))
    upsert(payloads.invoice_current("in_1", n_lines=3))
    upsert(payloads.invoice_current("in_2", n_lines=1, status="open"))
    customer = models.Customer.objects.get()
    assert sorted(customer.invoices.values_list("id", flat=True)) == ["in_1", "in_2"]
    assert models.Invoice.objects.get(pk="in_1").line_items.count() == 3
    assert models.Invoice.objects.get(pk="in_1").invoice_payments.get().id == "inpay_in_1"
    assert list(models.Customer.objects.filter(invoices__status="open").distinct()) == [customer]


@pytest.mark.django_db
def test_objects_keeps_deleted_rows_and_existing_objects_leaves_them_out():
    upsert(payloads.customer_current("cus_live"))
    upsert(payloads.customer_current("cus_gone"))
    upsert(payloads.invoice_current("in_gone", customer="cus_gone", n_lines=0))
    upsert({"id": "cus_gone", "object": "customer", "deleted": True}, stamp=2_000_000_000)
    assert models.Customer._meta.default_manager.name == "objects"
    assert sorted(models.Customer.objects.values_list("id", flat=True)) == ["cus_gone", "cus_live"]
    assert list(models.Customer.existing_objects.values_list("id", flat=True)) == ["cus_live"]
    assert list(models.Customer.objects.existing()) == list(models.Customer.existing_objects.all())
    # Related managers use ``objects``: the deleted customer's invoices stay reachable.
    assert models.Invoice.objects.get().customer.pk == "cus_gone"
    assert models.Customer.objects.get(pk="cus_gone").invoices.count() == 1
