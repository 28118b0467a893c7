"""Support operations from the admin (issue 21): each behind a confirmation page showing the
exact request, sent through the write-through client to the Stripe stub."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages

from stripe_django.ingest.columns import model_for
from stripe_django.sync import upsert
from stripe_django.testing.stripe_stub import StubRequest

from ..mirror.conftest import example, stub  # noqa: F401  (fixtures of these tests too)

pytestmark = pytest.mark.django_db


@dataclass
class Case:
    action: str
    object_type: str
    object_id: str
    stored: dict[str, Any]  # fields of the stored object
    method: str
    path: str
    sent: dict[str, str]  # the form Stripe receives
    answer: dict[str, Any]  # fields of the answer (of the same type unless answer_type)
    choices: dict[str, Any] = field(default_factory=dict)
    answer_type: str | None = None
    shown: tuple[str, ...] = ()  # parameter lines the page shows


CASES = [
    Case("cancel_subscription", "subscription", "sub_act1", {"status": "active"},
         "DELETE", "/v1/subscriptions/sub_act1", {}, {"status": "canceled"}, {"choice": "now"}),
    Case("cancel_subscription", "subscription", "sub_act2", {"status": "active", "cancel_at_period_end": False},
         "POST", "/v1/subscriptions/sub_act2", {"cancel_at_period_end": "true"},
         {"status": "active", "cancel_at_period_end": True}, {"choice": "period_end"},
         shown=("cancel_at_period_end=true",)),
    Case("refund_charge", "charge", "ch_act1", {"refunded": False, "amount": 2000},
         "POST", "/v1/refunds", {"charge": "ch_act1"}, {"charge": "ch_act1", "amount": 2000},
         answer_type="refund", shown=("charge=ch_act1",)),
    Case("refund_charge", "charge", "ch_act2", {"refunded": False, "amount": 2000},
         "POST", "/v1/refunds", {"charge": "ch_act2", "amount": "500"}, {"charge": "ch_act2", "amount": 500},
         {"amount": "5.00"}, answer_type="refund", shown=("charge=ch_act2", "amount=500")),
    Case("refund_payment_intent", "payment_intent", "pi_act1", {"status": "succeeded"},
         "POST", "/v1/refunds", {"payment_intent": "pi_act1", "amount": "300"},
         {"payment_intent": "pi_act1", "amount": 300}, {"amount": "3"}, answer_type="refund",
         shown=("payment_intent=pi_act1", "amount=300")),
    Case("void_invoice", "invoice", "in_act1", {"status": "open"},
         "POST", "/v1/invoices/in_act1/void", {}, {"status": "void"}),
    Case("finalize_invoice", "invoice", "in_act2", {"status": "draft"},
         "POST", "/v1/invoices/in_act2/finalize", {}, {"status": "open"}),
    Case("send_invoice", "invoice", "in_act3", {"status": "open"},
         "POST", "/v1/invoices/in_act3/send", {}, {"status": "open", "metadata": {"sent": "yes"}}),
    Case("mark_invoice_uncollectible", "invoice", "in_act4", {"status": "open"},
         "POST", "/v1/invoices/in_act4/mark_uncollectible", {}, {"status": "uncollectible"}),
    Case("expire_checkout_session", "checkout.session", "cs_act1", {"status": "open"},
         "POST", "/v1/checkout/sessions/cs_act1/expire", {}, {"status": "expired"}),
]


def changelist(object_type: str) -> str:
    return f"/admin/stripe_django/{model_for(object_type)._meta.model_name}/"


def header(request: StubRequest, name: str) -> str | None:
    return {k.lower(): v for k, v in request.headers.items()}.get(name.lower())


def form(request: StubRequest) -> dict[str, str]:
    return {k: v[0] for k, v in request.form.items()}


def changes(stub) -> list[StubRequest]:
    return [r for r in stub.requests if r.method != "GET"]


def confirmation(client, case: Case, **choices: Any):
    """The confirmation page, reached from the list's action menu (then with ``choices``)."""
    data = {"action": case.action, "_selected_action": [case.object_id], "index": "0"}
    page = client.post(changelist(case.object_type), data)
    if choices:
        page = client.post(changelist(case.object_type), {
            "action": case.action, "_selected_action": [case.object_id], "stripe_review": "1", **choices})
    assert page.status_code == 200, page.content[:500]
    return page


def confirm_data(page, case: Case) -> dict[str, Any]:
    """What the page's "Yes, send it" button posts."""
    html = page.content.decode()
    data: dict[str, Any] = {"stripe_confirm": "1", "_selected_action": [case.object_id]}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html):
        if name not in ("_selected_action", "csrfmiddlewaretoken"):
            data[name] = value.replace("&quot;", '"').replace("&#x27;", "'").replace("&amp;", "&")
    return {**data, **case.choices}


def stored(example, case: Case) -> None:
    upsert(example(case.object_type, id=case.object_id, **case.stored))


def answer(stub, example, case: Case) -> dict[str, Any]:
    if case.answer_type == "refund":
        payload = example("refund", id=f"re_{case.object_id}", **case.answer)
    else:
        payload = example(case.object_type, id=case.object_id, **case.answer)
    stub.answer(case.method, case.path, payload)
    if case.object_type == "charge":  # read back after the refund
        stub.answer("GET", f"/v1/charges/{case.object_id}",
                    example("charge", id=case.object_id, refunded=True, amount_refunded=2000))
    if case.object_type == "payment_intent":
        stub.answer("GET", f"/v1/payment_intents/{case.object_id}",
                    example("payment_intent", id=case.object_id, status="succeeded",
                            metadata={"refunded": "300"}))
    return payload


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.action}-{c.object_id}")
def test_the_confirmation_page_shows_the_request_and_confirming_sends_it(admin_client, stub, example, case):
    stored(example, case)
    payload = answer(stub, example, case)
    page = confirmation(admin_client, case, **case.choices)
    html = page.content.decode()
    assert f'<code class="stripe-request-line">{case.method} {case.path}</code>' in html
    params = re.findall(r'<code class="stripe-request-param">([^<]*)</code>', html)
    assert params == sorted(case.shown)
    assert "the API key's own account" in html
    key = re.search(r'<code class="stripe-request-key">([^<]+)</code>', html).group(1)
    assert changes(stub) == []  # the page sends nothing

    done = admin_client.post(changelist(case.object_type), confirm_data(page, case))
    assert done.status_code == 302, done.content[:800]
    [sent] = changes(stub)
    assert (sent.method, sent.path, form(sent)) == (case.method, case.path, case.sent)
    assert header(sent, "Idempotency-Key") == key

    model = model_for(case.object_type)
    row = model.objects.get(pk=case.object_id)
    if case.answer_type == "refund":
        refund = model_for("refund").objects.get(pk=payload["id"])
        assert refund.amount == case.answer["amount"]
        if case.object_type == "charge":
            assert row.refunded is True  # read back at once
        else:
            assert row.stripe_data["metadata"] == {"refunded": "300"}
    else:
        for name, value in case.answer.items():
            assert row.stripe_data[name] == value
    [entry] = LogEntry.objects.filter(object_id=case.object_id)
    assert entry.action_flag == CHANGE and entry.user.username == "admin"
    assert case.path in entry.get_change_message() and key in entry.get_change_message()
    assert any(m.startswith("Done at Stripe") for m in messages_of(done))


def test_a_double_post_sends_the_same_idempotency_key(admin_client, stub, example):
    case = CASES[5]  # void an invoice
    stored(example, case)
    answer(stub, example, case)
    page = confirmation(admin_client, case)
    data = confirm_data(page, case)
    admin_client.post(changelist(case.object_type), data)
    admin_client.post(changelist(case.object_type), data)
    first, second = changes(stub)
    assert header(first, "Idempotency-Key") == header(second, "Idempotency-Key")
    assert header(first, "Idempotency-Key").startswith("stripe-django-admin-")
    # another confirmation page is another change: a key of its own
    confirmation(admin_client, case)
    again = confirm_data(confirmation(admin_client, case), case)
    assert again[f"stripe_key_{case.object_id}"] != data[f"stripe_key_{case.object_id}"]


def test_changed_choices_are_shown_again_before_anything_is_sent(admin_client, stub, example):
    case = CASES[3]  # refund 500 of a charge
    stored(example, case)
    answer(stub, example, case)
    page = confirmation(admin_client, case, amount="5.00")
    data = {**confirm_data(page, case), "amount": "7.00"}  # edited, not shown
    again = admin_client.post(changelist(case.object_type), data)
    assert again.status_code == 200 and changes(stub) == []
    assert "The choices changed" in again.content.decode()
    assert '<code class="stripe-request-param">amount=700</code>' in again.content.decode()


def test_a_bad_amount_is_named_and_nothing_is_sent(admin_client, stub, example):
    case = CASES[2]
    stored(example, case)
    page = admin_client.post(changelist("charge"), {
        "action": case.action, "_selected_action": [case.object_id], "stripe_confirm": "1",
        "amount": "-5"})
    assert page.status_code == 200 and changes(stub) == []
    assert "Enter an amount above zero, in USD." in page.content.decode()


@pytest.mark.parametrize("case", [CASES[0], CASES[2], CASES[6]], ids=lambda c: c.action)
def test_stripe_refusing_is_shown_and_nothing_changes(admin_client, stub, example, case):
    stored(example, case)
    before = model_for(case.object_type).objects.get(pk=case.object_id).stripe_data
    stub.answer(case.method, case.path, {"error": {
        "type": "invalid_request_error", "code": "resource_missing",
        "message": "No such thing: the stub refuses"}}, status=400)
    page = confirmation(admin_client, case)
    done = admin_client.post(changelist(case.object_type), confirm_data(page, case))
    assert done.status_code == 302
    [error] = [m for m in messages_of(done) if m.startswith("Stripe refused")]
    assert "No such thing: the stub refuses" in error and "resource_missing" in error
    assert model_for(case.object_type).objects.get(pk=case.object_id).stripe_data == before
    assert not LogEntry.objects.filter(object_id=case.object_id).exists()
    assert not model_for("refund").objects.exists()


def test_without_the_permission_there_is_no_action(client, stub, example):
    case = CASES[0]
    stored(example, case)
    user = User.objects.create_user("support", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_subscription"))
    client.force_login(user)
    page = client.get(changelist("subscription"))
    assert page.status_code == 200
    assert 'value="refresh_from_stripe"' in page.content.decode()
    assert 'value="cancel_subscription"' not in page.content.decode()
    posted = client.post(changelist("subscription"), {
        "action": "cancel_subscription", "_selected_action": [case.object_id], "index": "0"})
    assert posted.status_code == 302 and changes(stub) == []

    user.user_permissions.add(Permission.objects.get(codename="change_at_stripe"))
    user = User.objects.get(pk=user.pk)  # the permissions are cached per instance
    client.force_login(user)
    assert 'value="cancel_subscription"' in client.get(changelist("subscription")).content.decode()


def test_a_connected_accounts_object_is_changed_in_that_account(admin_client, stub, example):
    upsert(example("invoice", id="in_conn1", status="open"), account="acct_conn1")
    stub.answer("POST", "/v1/invoices/in_conn1/void", example("invoice", id="in_conn1", status="void"))
    case = Case("void_invoice", "invoice", "in_conn1", {}, "POST", "/v1/invoices/in_conn1/void", {}, {})
    page = confirmation(admin_client, case)
    assert "Stripe-Account: acct_conn1" in page.content.decode()
    admin_client.post(changelist("invoice"), confirm_data(page, case))
    [sent] = changes(stub)
    assert header(sent, "Stripe-Account") == "acct_conn1"
    assert model_for("invoice").objects.get(pk="in_conn1").status == "void"


@pytest.mark.parametrize("currency, typed, sent, error", [
    ("usd", "12.50", 1250, None),
    ("usd", "12.505", None, "USD amounts have at most 2 decimal places."),
    ("jpy", "1000", 1000, None),
    ("jpy", "1000.5", None, "JPY has no decimal places: enter a whole number of JPY."),
    ("kwd", "1.234", 1234, None),
    ("usd", "0", None, "Enter an amount above zero, in USD."),
    ("usd", "twelve", None, "Enter a number."),
    ("usd", "1e30", None, "1E+30 is too large an amount of USD."),
])
def test_an_amount_is_typed_in_the_currency_and_sent_in_its_smallest_unit(
        admin_client, stub, example, currency, typed, sent, error):
    upsert(example("charge", id="ch_cur1", currency=currency, amount=500_000, refunded=False))
    case = Case("refund_charge", "charge", "ch_cur1", {}, "POST", "/v1/refunds", {}, {},
                {"amount": typed}, answer_type="refund")
    page = confirmation(admin_client, case, amount=typed)
    text = page.content.decode()
    assert f"Amount ({currency.upper()})" in text
    if error is not None:
        assert error in text
        assert 'name="stripe_shown"' in text and "amount=" not in text  # the request without it
        return
    assert f'<code class="stripe-request-param">amount={sent}</code>' in text
    # the amount as people read it, beside the exact parameter
    assert f'<td class="stripe-request-amount">{typed if currency != "jpy" else "1,000"} {currency.upper()}</td>' in text
    stub.answer("POST", "/v1/refunds", example("refund", id="re_cur1", charge="ch_cur1", amount=sent,
                                              currency=currency))
    stub.answer("GET", "/v1/charges/ch_cur1", example("charge", id="ch_cur1", currency=currency))
    admin_client.post(changelist("charge"), confirm_data(page, case))
    [sent_request] = changes(stub)
    assert form(sent_request) == {"charge": "ch_cur1", "amount": str(sent)}


def two_charges(example) -> Case:
    for i in (1, 2):
        upsert(example("charge", id=f"ch_many{i}", amount=2000, refunded=False))
    return Case("refund_charge", "charge", "ch_many1", {}, "POST", "/v1/refunds", {}, {},
                answer_type="refund")


def test_with_several_rows_a_partial_amount_is_refused_and_nothing_is_sent(admin_client, stub, example):
    case = two_charges(example)
    rows = ["ch_many1", "ch_many2"]
    page = admin_client.post(changelist("charge"), {"action": case.action, "_selected_action": rows,
                                                    "stripe_review": "1", "amount": "5.00"})
    text = page.content.decode()
    assert "An amount refunds part of one row, and 2 rows are selected" in text
    assert "amount=" not in text
    # posted straight to "send" (an old page, a crafted form): refused the same way
    data = {**confirm_data(page, case), "_selected_action": rows, "amount": "5.00"}
    again = admin_client.post(changelist("charge"), data)
    assert again.status_code == 200 and changes(stub) == []
    assert "An amount refunds part of one row" in again.content.decode()


def test_with_several_rows_and_no_amount_each_is_refunded_in_full(admin_client, stub, example):
    case = two_charges(example)
    rows = ["ch_many1", "ch_many2"]
    page = admin_client.post(changelist("charge"), {"action": case.action, "_selected_action": rows,
                                                    "index": "0"})
    assert "each is refunded in full" in page.content.decode()
    stub.answer("POST", "/v1/refunds", example("refund", id="re_many", amount=2000))
    for i in (1, 2):
        stub.answer("GET", f"/v1/charges/ch_many{i}", example("charge", id=f"ch_many{i}", refunded=True))
    done = admin_client.post(changelist("charge"), {**confirm_data(page, case), "_selected_action": rows})
    assert done.status_code == 302
    assert sorted(form(r)["charge"] for r in changes(stub)) == rows
    assert all("amount" not in form(r) for r in changes(stub))
