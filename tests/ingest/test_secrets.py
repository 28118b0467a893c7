"""No secret reaches the database, at any depth of any payload, by any path in.

Secrets are the keys of ``type_table.REDACTED_FIELDS`` (any object) and
``type_table.REDACTED_FIELDS_OF_TYPE`` (an issuing card's number and CVC).
"""

from __future__ import annotations

import json
import logging
import time

import pytest
from django.db import connection

from stripe_django import type_table
from stripe_django.ingest import columns
from stripe_django.models import Charge, Customer, Event, Invoice, Subscription, Topup
from stripe_django.sync import upsert, upsert_many
from stripe_django.ingest.completion import cut_off_lists
from stripe_django.testing.payloads import charge_2017, customer_2017, invoice_current, subscription_current
from stripe_django.webhooks.refetch import wants_refetch

from ..webhooks.conftest import deliver, make_event  # noqa: F401 (the deliver fixture)

pytestmark = pytest.mark.django_db

SECRET_KEYS = set(type_table.REDACTED_FIELDS)


def secrets_in(value, found=None) -> set[str]:
    """Every secret value in a payload, at any depth (values distinctive enough to look
    for in the stored text: the published examples use placeholders such as "cvc")."""
    found = set() if found is None else found
    if isinstance(value, dict):
        object_type = value.get("object") if isinstance(value.get("object"), str) else None
        keys = SECRET_KEYS | set(type_table.REDACTED_FIELDS_OF_TYPE.get(object_type, ()))
        for key, item in value.items():
            if key in keys and isinstance(item, str) and len(item) >= 8 and item != key:
                found.add(item)
            else:
                secrets_in(item, found)
    elif isinstance(value, list):
        for item in value:
            secrets_in(item, found)
    return found


def every_stored_text() -> str:
    """Every column of every mirrored table, as text: what a reader of the database sees."""
    parts = []
    with connection.cursor() as cursor:
        for model in [*columns.mirrored_types().values()]:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(model._meta.db_table)}")
            for row in cursor.fetchall():
                parts.append(" ".join(str(v) for v in row))
    return "\n".join(parts)


def assert_no_secret_stored(secrets: set[str]) -> None:
    stored = every_stored_text()
    assert secrets, "the test payloads must carry secrets"
    leaked = sorted(s for s in secrets if s in stored)
    assert leaked == []
    for key in SECRET_KEYS:
        assert f'"{key}"' not in stored


def test_no_secret_of_stripes_examples_is_stored_by_upsert_or_by_a_webhook(stripe_examples, deliver):
    """Every published example, stored directly and delivered inside a signed event: no
    ``client_secret`` (or other secret) value anywhere in the database afterwards."""
    mirrored = columns.mirrored_types()
    examples = [dict(obj, client_secret=f"{obj.get('id')}_secret_extra")
                if obj.get("object") in ("payment_intent", "setup_intent") else obj
                for obj in stripe_examples.values() if obj.get("object") in mirrored]
    secrets = secrets_in(examples)
    upsert_many(examples)
    now = int(time.time())
    # Those whose processing reads the API (no network here) are left to the upsert above.
    offline = [obj for obj in examples if not cut_off_lists(obj)
               and not wants_refetch(f"{obj['object']}.updated", obj["object"])]
    for n, obj in enumerate(offline[:60]):
        response = deliver(make_event(obj, f"{obj['object']}.updated", created=now,
                                      previous={"client_secret": f"previous_secret_{n}"}))
        assert response.status_code == 200
        secrets.add(f"previous_secret_{n}")
    assert Event.objects.filter(webhook_endpoint="").count() == 60
    assert_no_secret_stored(secrets)


def _intent(pid: str, secret: str) -> dict:
    return {"id": pid, "object": "payment_intent", "amount": 1000, "currency": "usd",
            "client_secret": secret, "created": 1_700_000_000, "livemode": False, "metadata": {},
            "status": "requires_payment_method",
            "next_action": {"type": "redirect_to_url", "client_secret": secret + "_nested"}}


@pytest.mark.parametrize("build", [
    # charge.source: a pre-2020 source object with its client_secret
    lambda: charge_2017(source={"id": "src_1", "object": "source", "client_secret": "src_client_secret_1",
                                "type": "card", "status": "chargeable", "metadata": {}}),
    # customer.sources.data[] and an expanded default_source (pre-2020 shapes)
    lambda: customer_2017(
        default_source={"id": "src_2", "object": "source", "client_secret": "src_client_secret_2",
                        "type": "card", "metadata": {}},
        sources={"object": "list", "has_more": False, "data": [
            {"id": "src_3", "object": "source", "client_secret": "src_client_secret_3",
             "type": "card", "metadata": {}}]}),
    # subscription.latest_invoice.payment_intent and pending_setup_intent, expanded
    lambda: subscription_current(
        latest_invoice=invoice_current("in_expanded", payment_intent=_intent("pi_exp", "pi_exp_secret_4")),
        pending_setup_intent={"id": "seti_1", "object": "setup_intent", "client_secret": "seti_secret_5",
                              "created": 1_700_000_000, "livemode": False, "metadata": {}}),
    # invoice.confirmation_secret
    lambda: invoice_current("in_confirm", confirmation_secret={"client_secret": "pi_conf_secret_6",
                                                               "type": "payment_intent"}),
    # topup.source
    lambda: {"id": "tu_1", "object": "topup", "amount": 100, "currency": "usd", "created": 1_700_000_000,
             "livemode": False, "metadata": {}, "status": "pending",
             "source": {"id": "src_7", "object": "source", "client_secret": "src_client_secret_7",
                        "type": "ach_credit_transfer", "metadata": {}}},
    # an issuing card expanded with its number and CVC, inside a cardholder's list
    lambda: {"id": "ich_1", "object": "issuing.cardholder", "created": 1_700_000_000, "livemode": False,
             "metadata": {}, "name": "Jenny", "status": "active", "type": "individual",
             "spending_controls": {"cards": [{"id": "ic_1", "object": "issuing.card",
                                              "number": "4000009990000000", "cvc": "123"}]}},
    # a webhook endpoint's signing secret
    lambda: {"id": "we_1", "object": "webhook_endpoint", "url": "https://example.com/hook",
             "secret": "whsec_returned_once_8", "created": 1_700_000_000, "livemode": False,
             "enabled_events": ["*"], "metadata": {}, "status": "enabled"},
], ids=["charge.source", "customer.sources", "subscription.latest_invoice", "invoice.confirmation_secret",
        "topup.source", "issuing.card", "webhook_endpoint.secret"])
def test_nested_secrets_are_removed_everywhere(build, deliver):
    payload = build()
    secrets = secrets_in(payload)
    upsert(payload)
    assert deliver(make_event(build(), f"{payload['object']}.updated")).status_code == 200
    assert_no_secret_stored(secrets)


def test_what_is_not_a_secret_stays(stripe_examples):
    invoice = upsert(invoice_current("in_keep", confirmation_secret={"client_secret": "x_secret",
                                                                     "type": "payment_intent"}))
    assert invoice.stripe_data["confirmation_secret"] == {"type": "payment_intent"}
    assert invoice.number == "N-in_keep"
    card = upsert(stripe_examples["issuing.card"])
    assert card.last4 == stripe_examples["issuing.card"]["last4"]
    assert "number" not in card.stripe_data and "cvc" not in card.stripe_data


def test_a_refused_payload_is_logged_without_its_values(caplog):
    payload = customer_2017("cus_logged", balance="not a number", email="private@example.com",
                            sources={"object": "list", "has_more": False, "data": [
                                {"id": "src_l", "object": "source", "client_secret": "src_logged_secret",
                                 "metadata": {}}]})
    with caplog.at_level(logging.DEBUG, logger="stripe_django"):
        result = upsert_many([payload])
    assert result.failed == 1
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "cus_logged" in logged and "balance" in logged
    assert "src_logged_secret" not in logged and "private@example.com" not in logged


def test_json_columns_hold_no_secret():
    sub = subscription_current(latest_invoice=invoice_current("in_j", payment_intent=_intent("pi_j", "pi_j_secret")))
    upsert(sub)
    for model in (Subscription, Invoice, Customer, Charge, Topup):
        for row in model.objects.all():
            assert "pi_j_secret" not in json.dumps(row.stripe_data)


def test_secrets_inside_dict_subclasses_are_removed_too():
    """stripe-python parses responses into OrderedDicts: a nested one is walked like a
    dict (before, only plain dicts were), whatever path the payload came by."""
    from collections import OrderedDict

    source = OrderedDict(id="src_ordered", object="source", client_secret="src_client_secret_x",
                         customer="cus_ordered", metadata=OrderedDict(note="kept"))
    payload = customer_2017("cus_ordered")
    payload["sources"]["data"] = [source]
    upsert(payload)
    stored = json.dumps(Customer.objects.get().stripe_data)
    assert "src_client_secret_x" not in stored and "client_secret" not in stored
    assert '"note": "kept"' in stored
