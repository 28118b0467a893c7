"""``stripe_verify`` against the Stripe stand-in: a clean mirror shows no difference, each
kind of drift is found and classified, ``--heal`` repairs it through ingest, and every
run is recorded."""

from __future__ import annotations

import math

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from stripe_django.ingest import upsert, upsert_many
from stripe_django.models import (Customer, Invoice, InvoiceLineItem, Product, SyncCursor,
                                  VerificationRun)
from stripe_django.signals import mirror_drift_found
from stripe_django.sync import sync
from stripe_django.testing.objects import invoice_line, make_object
from stripe_django.testing.stripe_stub import StripeStub
from stripe_django.verify import EXTRA, MISSING, STALE, verify

from ..conftest import point_at

pytestmark = pytest.mark.django_db

ACCOUNT = "acct_1VERIFYCONN"
CONNECTED_CUSTOMER = f"cus_{ACCOUNT[-6:]}00000004"
TYPES = ["customer", "invoice", "product", "coupon", "tax_rate", "plan"]


def pages(count: int) -> int:
    """List requests for ``count`` objects, 100 a page (an empty list is one page)."""
    return max(1, math.ceil(count / 100))


def found(report) -> set[tuple[str, str, str, str | None]]:
    return {(d.kind, d.object_type, d.id, t.account) for t in report.verified for d in t.differences}


def served_since(stub: StripeStub, start: int) -> list:
    return stub.requests[start:]


def test_a_clean_mirror_of_10000_objects_shows_no_difference(settings):
    lists = {"customers": 7000, "invoices": 800, "products": 400, "coupons": 100,
             "tax_rates": 50, "plans": 50}
    with StripeStub(lists, accounts=(ACCOUNT,)) as stub:
        point_at(settings, stub.api_base)
        assert sync(TYPES, all_accounts=True, events=False).ok
        start = stub.served
        report = verify(TYPES, all_accounts=True)
    assert report.ok, [(t.name, t.errors) for t in report.failed]
    assert report.differences == []
    assert report.clean
    # every listed object and each invoice's two lines, in both accounts
    rows = 2 * (sum(lists.values()) + 2 * lists["invoices"])
    assert sum(t.compared for t in report.verified) == rows >= 10_000
    # one request per page of 100 (and one for the connected accounts), nothing else
    expected = 1 + 2 * sum(pages(n) for n in lists.values())
    assert stub.served - start == report.requests == expected
    assert {r.method for r in served_since(stub, start)} == {"GET"}
    # one record per type and account, all clean
    records = VerificationRun.objects.filter(run=report.run)
    assert records.count() == 2 * len(TYPES)
    assert {(r.status, r.missing, r.extra, r.stale) for r in records} == {("ok", 0, 0, 0)}


@pytest.fixture
def drifted(settings):
    """A synced mirror of six types and a connected account, made to drift in every way."""
    lists = {"customers": 320, "invoices": 30, "products": 12, "coupons": 5, "tax_rates": 5,
             "plans": 5}
    with StripeStub(lists, accounts=(ACCOUNT,)) as stub:
        point_at(settings, stub.api_base)
        assert sync(TYPES, all_accounts=True, events=False).ok
        # a row deleted from the database
        Customer.objects.filter(pk="cus_00000005").delete()
        # an object changed at Stripe without an event
        stub.change("cus_00000007", email="changed@example.com")
        # an object deleted at Stripe without an event
        stub.delete("cus_00000009")
        # a line taken off an invoice at Stripe without an event
        invoice = make_object("invoices", 3)
        lines = {**invoice["lines"], "data": [invoice_line(invoice["id"], 0)]}
        stub.change(invoice["id"], lines=lines, amount_due=300)
        # a row edited by hand
        Customer.objects.filter(pk="cus_00000011").update(email="edited@example.com")
        # a row marked deleted in the mirror while the object exists
        Product.objects.filter(pk="prod_00000002").update(deleted=True)
        # in the connected account: a row deleted from the database
        Customer.objects.filter(pk=CONNECTED_CUSTOMER).delete()
        yield stub, lists


EXPECTED = {
    (MISSING, "customer", "cus_00000005", None),
    (STALE, "customer", "cus_00000007", None),
    (EXTRA, "customer", "cus_00000009", None),
    (STALE, "invoice", "in_00000003", None),
    (EXTRA, "line_item", "il_00000003_1", None),
    (STALE, "customer", "cus_00000011", None),
    (MISSING, "product", "prod_00000002", None),
    (MISSING, "customer", CONNECTED_CUSTOMER, ACCOUNT),
}


def test_every_kind_of_drift_is_found_classified_healed_and_gone_on_the_next_run(drifted):
    stub, lists = drifted
    start = stub.served
    report = verify(TYPES, all_accounts=True)
    assert found(report) == EXPECTED
    details = {d.id: d.detail for d in report.differences}
    # what the mirror knows of why: no event, no endpoint stored, when the type was synced
    synced = SyncCursor.objects.get(account="", object_type="customer").last_synced_at
    why = f"no event about it received; customer last synced {synced:%Y-%m-%d %H:%M} UTC"
    assert details["cus_00000011"] == f"edited in the database: email ({why})"
    assert details["cus_00000007"] == f"differs from Stripe: email ({why})"
    assert details["il_00000003_1"] == "no longer in the list of in_00000003"
    # one request per page, one for the accounts, one retrieve of the row not listed
    pages_listed = 2 * sum(pages(n) for n in lists.values())
    assert report.requests == stub.served - start == 1 + pages_listed + 1
    retrieves = [r for r in served_since(stub, start) if r.resource.startswith("customers/")]
    assert [r.resource for r in retrieves] == ["customers/cus_00000009"]
    # nothing was written without --heal
    assert not Customer.objects.filter(pk="cus_00000005").exists()
    assert Customer.objects.get(pk="cus_00000011").email == "edited@example.com"

    healed = verify(TYPES, all_accounts=True, heal=True)
    assert found(healed) == EXPECTED
    assert sum(t.healed for t in healed.verified) == len(EXPECTED)
    assert healed.clean
    assert Customer.objects.get(pk="cus_00000005").email == "customer5@example.com"
    assert Customer.objects.get(pk="cus_00000007").email == "changed@example.com"
    assert Customer.objects.get(pk="cus_00000009").deleted
    assert Customer.objects.get(pk="cus_00000011").email == "customer11@example.com"
    assert Invoice.objects.get(pk="in_00000003").amount_due == 300
    assert InvoiceLineItem.objects.get(pk="il_00000003_1").deleted
    assert not InvoiceLineItem.objects.get(pk="il_00000003_0").deleted
    assert not Product.objects.get(pk="prod_00000002").deleted
    assert Customer.objects.filter(pk=CONNECTED_CUSTOMER, stripe_account=ACCOUNT).exists()

    again = verify(TYPES, all_accounts=True)
    assert again.differences == []
    # the deleted row is not "extra" any more: nothing left to retrieve
    assert again.requests == 1 + pages_listed


def test_each_run_is_recorded_per_type_and_account_and_drift_is_signalled(
        drifted, django_capture_on_commit_callbacks):
    received = []

    def receiver(sender, verification, **kwargs):
        received.append(verification)

    mirror_drift_found.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            report = verify(TYPES, all_accounts=True)
    finally:
        mirror_drift_found.disconnect(receiver)
    records = {(r.object_type, r.account): r for r in VerificationRun.objects.filter(run=report.run)}
    assert len(records) == 2 * len(TYPES)
    customers = records[("customer", "")]
    assert (customers.mode, customers.status, customers.missing, customers.extra, customers.stale,
            customers.healed) == ("full", "ok", 1, 1, 2, 0)
    assert customers.compared == 320 - 1 + 1  # 319 listed, 1 retrieved
    assert customers.requests == pages(320) + 1
    assert customers.finished_at >= customers.started_at
    assert {(d["kind"], d["id"]) for d in customers.differences} == {
        ("missing", "cus_00000005"), ("stale", "cus_00000007"), ("extra", "cus_00000009"),
        ("stale", "cus_00000011")}
    invoices = records[("invoice", "")]
    assert (invoices.stale, invoices.extra, invoices.compared) == (1, 1, 30 * 3 - 1)
    assert records[("customer", ACCOUNT)].missing == 1
    assert records[("coupon", ACCOUNT)].differing == 0
    # the signal, once per (type, account) with differences, after the row is stored
    assert sorted((v.object_type, v.account) for v in received) == [
        ("customer", ""), ("customer", ACCOUNT), ("invoice", ""), ("product", "")]
    assert all(v.pk for v in received)


def test_a_row_the_list_does_not_return_is_extra_only_after_stripe_says_no_such_object(settings):
    with StripeStub({"customers": 3}, accounts=(ACCOUNT,)) as stub:
        point_at(settings, stub.api_base)
        assert sync(["customer"], account=ACCOUNT, events=False).ok
        # rows the list leaves out: one the API still returns, one it answers 404 for with
        # an unknown URL (not "no such object"), one gone in the connected account
        tag = ACCOUNT[-6:]
        hidden = make_object("customers", 500, ACCOUNT)
        upsert_many([hidden, {**make_object("customers", 501, ACCOUNT)}], account=ACCOUNT)
        stub.answer("GET", f"/v1/customers/{make_object('customers', 501, ACCOUNT)['id']}",
                    {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}},
                    status=404)
        gone = f"cus_{tag}00000002"
        stub.delete(gone)
        start = stub.served
        report = verify(["customer"], account=ACCOUNT, heal=True)
    assert found(report) == {(EXTRA, "customer", gone, ACCOUNT)}
    retrieves = [r for r in served_since(stub, start) if r.resource.startswith("customers/")]
    assert sorted(r.resource.split("/")[1] for r in retrieves) == sorted(
        [hidden["id"], make_object("customers", 501, ACCOUNT)["id"], gone])
    # each with the key of the run and the row's account
    assert {(r.api_key, r.header("Stripe-Account")) for r in retrieves} == {
        ("sk_test_sync_tests", ACCOUNT)}
    assert Customer.objects.get(pk=gone).deleted
    assert not Customer.objects.get(pk=hidden["id"]).deleted
    assert not Customer.objects.get(pk=make_object("customers", 501, ACCOUNT)["id"]).deleted
    assert any("could not be retrieved" in n for n in report.verified[0].notes)


def test_heal_never_replaces_a_newer_stored_state(settings):
    with StripeStub({"customers": 3}) as stub:
        point_at(settings, stub.api_base)
        assert sync(["customer"], events=False).ok
        stub.change("cus_00000001", email="older@example.com")
        # a webhook stored a state newer than what the verification will fetch
        newer = {**make_object("customers", 1), "email": "newer@example.com"}
        upsert(newer, stamp=2_000_000_000)
        report = verify(["customer"], heal=True)
    assert report.differences == []
    assert Customer.objects.get(pk="cus_00000001").email == "newer@example.com"


def test_sample_retrieves_n_rows_per_type_and_bounds_the_share_that_differ(settings):
    with StripeStub({"customers": 400, "products": 30}) as stub:
        point_at(settings, stub.api_base)
        assert sync(["customer", "product"], events=False).ok
        start = stub.served
        clean = verify(["customer", "product"], sample=50)
        assert stub.served - start == clean.requests == 50 + 30
        customers, products = clean.verified
        assert (customers.sampled, customers.sampled_differing) == (50, 0)
        assert customers.upper_bound == pytest.approx(1 - 0.05 ** (1 / 50))
        assert (products.sampled, products.sampled_differing) == (30, 0)
        record = VerificationRun.objects.get(run=clean.run, object_type="customer")
        assert (record.mode, record.upper_bound) == ("sample", customers.upper_bound)

        Customer.objects.update(email="edited@example.com")
        drifted = verify(["customer"], sample=40, heal=True)
    customers = drifted.verified[0]
    assert (customers.sampled, customers.sampled_differing, customers.healed) == (40, 40, 40)
    assert customers.upper_bound == 1.0
    assert Customer.objects.exclude(email="edited@example.com").count() == 40


def test_the_command_prints_the_differences_and_fails_until_healed(settings, capsys):
    with StripeStub({"customers": 5}) as stub:
        point_at(settings, stub.api_base)
        assert sync(["customer"], events=False).ok
        Customer.objects.filter(pk="cus_00000001").delete()
        with pytest.raises(CommandError, match="1 difference"):
            call_command("stripe_verify", "customer", "--quiet")
        out = capsys.readouterr().out
        assert "missing: customer cus_00000001: not in the mirror" in out
        call_command("stripe_verify", "customer", "--heal", "--quiet")
        assert "1 difference(s), 1 healed" in capsys.readouterr().out
        call_command("stripe_verify", "customer", "--quiet", "--sample", "3")
        assert "sample: customer: 0 of 3 differ: below 63.2% at 95%" in capsys.readouterr().out
        with pytest.raises(CommandError, match="unknown type 'nope'"):
            call_command("stripe_verify", "nope", "--quiet")
        with pytest.raises(CommandError, match="--sample must be at least 1"):
            call_command("stripe_verify", "--sample", "0")


def test_why_a_row_drifted_names_its_last_event_and_the_endpoints_enabled_events(settings):
    with StripeStub({"customers": 3}) as stub:
        point_at(settings, stub.api_base)
        assert sync(["customer"], events=False).ok
        stub.change("cus_00000001", email="changed@example.com")
        upsert_many([
            {"id": "we_1", "object": "webhook_endpoint", "status": "enabled", "livemode": False,
             "url": "https://example.com/stripe/webhook/", "enabled_events": ["invoice.paid",
                                                                              "customer.created"]},
            {"id": "evt_1", "object": "event", "type": "customer.created", "created": 1_700_000_000,
             "livemode": False, "data": {"object": make_object("customers", 1)}},
        ])
        report = verify(["customer"])
    (difference,) = report.differences
    assert difference.detail.startswith(
        "differs from Stripe: email (last event customer.created (evt_1, 2023-11-14 22:13 UTC) "
        "stored; no webhook endpoint in the mirror enables customer.updated; customer last synced ")


def test_each_platform_key_verifies_its_own_rows(settings):
    brand_b = "acct_1BRANDB0"
    with StripeStub({"customers": 12}, platforms={"sk_test_brand_b": brand_b}) as stub:
        point_at(settings, stub.api_base, api_key="sk_test_brand_a",
                 API_KEYS={"brand_b": {"API_KEY": "sk_test_brand_b", "ACCOUNT": brand_b}})
        assert sync(["customer"], events=False).ok
        assert sync(["customer"], key="brand_b", events=False).ok
        # a brand B row deleted from the database, and one gone at brand B's Stripe
        b_rows = list(Customer.objects.for_account(brand_b).order_by("pk").values_list("pk", flat=True))
        Customer.objects.filter(pk=b_rows[0]).delete()
        stub.delete(b_rows[1])
        start = stub.served
        brand_a = verify(["customer"])
        b = verify(["customer"], key="brand_b", heal=True)
        retrieves = [r for r in served_since(stub, start) if r.resource.startswith("customers/")]
    assert brand_a.differences == []
    assert found(b) == {(MISSING, "customer", b_rows[0], None), (EXTRA, "customer", b_rows[1], None)}
    assert [(r.api_key, r.header("Stripe-Account")) for r in retrieves] == [("sk_test_brand_b", None)]
    assert Customer.objects.get(pk=b_rows[1]).deleted
    assert Customer.objects.get(pk=b_rows[0]).stripe_account == brand_b
    assert VerificationRun.objects.get(run=b.run).account == brand_b


def test_with_workers_a_long_list_is_compared_in_created_windows_each_object_once(settings):
    hour = 3600
    with StripeStub({"customers": 1_000}, seconds_apart=hour) as stub:
        point_at(settings, stub.api_base, SYNC_PAGE_SIZE=20)
        assert sync(["customer"], events=False).ok
        Customer.objects.filter(pk="cus_00000005").delete()
        stub.change("cus_00000700", email="changed@example.com")
        stub.delete("cus_00000990")
        report = verify(["customer"], workers=4)
    assert report.ok, report.types[0].errors
    customers = report.verified[0]
    assert "listed in 16 created windows by 4 threads" in customers.notes
    assert found(report) == {(MISSING, "customer", "cus_00000005", None),
                             (STALE, "customer", "cus_00000700", None),
                             (EXTRA, "customer", "cus_00000990", None)}
    # each object compared once, those the newest window lists again too: 998 listed
    # (one gone, one not in the mirror counted as missing) and 1 retrieved
    assert customers.compared == 999 + 1
