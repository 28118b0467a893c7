"""Write-through of v2 calls: ``mirrored_client()`` stores the answers of
``client.v2....`` as it stores v1 ones, and rows of v2 types have the SDK's v2 methods
bound (``v2_account.stripe.close()``). The stub answers with the payloads of
stripe_django/testing/v2_examples.py (shaped as Stripe's API reference examples)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

import stripe_django
from stripe_django.models import V2Account, V2AccountPerson, V2EventDestination
from stripe_django.sync import upsert
from stripe_django.testing import v2_examples as examples

pytestmark = pytest.mark.django_db

ACCOUNT = examples.ACCOUNT


def test_a_retrieved_v2_account_is_stored(stub):
    stub.answer("GET", f"/v2/core/accounts/{ACCOUNT}", examples.account())
    account = stripe_django.mirrored_client().v2.core.accounts.retrieve(ACCOUNT)
    assert account.display_name == "Furever"  # the SDK's own object, as without the mirror
    row = V2Account.objects.get()
    assert row.pk == ACCOUNT and row.dashboard == "full"
    assert row.created == dt.datetime(2025, 6, 9, 21, 16, 3, 123000, tzinfo=dt.timezone.utc)


def test_created_and_updated_v2_accounts_are_stored(stub):
    stub.answer("POST", "/v2/core/accounts", examples.account())
    stub.answer("POST", f"/v2/core/accounts/{ACCOUNT}", examples.account(display_name="Furever 2"))
    client = stripe_django.mirrored_client()
    client.v2.core.accounts.create(params={"display_name": "Furever"})
    assert json.loads(stub.requests[-1].body) == {"display_name": "Furever"}
    assert V2Account.objects.get().display_name == "Furever"
    client.v2.core.accounts.update(ACCOUNT, params={"display_name": "Furever 2"})
    assert V2Account.objects.get().display_name == "Furever 2"


def test_every_item_of_a_v2_list_page_is_stored(stub):
    stub.answer("GET", f"/v2/core/accounts/{ACCOUNT}/persons", {
        "data": [examples.account_person("person_a"), examples.account_person("person_b")],
        "next_page_url": None, "previous_page_url": None})
    page = stripe_django.mirrored_client().v2.core.accounts.persons.list(ACCOUNT)
    assert [p.id for p in page.data] == ["person_a", "person_b"]
    assert set(V2AccountPerson.objects.values_list("pk", "account_id")) == {
        ("person_a", ACCOUNT), ("person_b", ACCOUNT)}


def test_a_v2_account_row_has_the_sdks_v2_methods_bound(stub):
    row = upsert(examples.account())
    assert {"close", "retrieve", "update"} <= set(dir(row.stripe))
    stub.answer("POST", f"/v2/core/accounts/{ACCOUNT}/close", examples.account(closed=True))
    closed = row.stripe.close()
    assert stub.requests[-1].path == f"/v2/core/accounts/{ACCOUNT}/close"
    assert isinstance(closed, V2Account) and closed.closed is True
    assert V2Account.objects.get().closed is True


def test_a_person_row_is_addressed_under_its_account(stub):
    row = upsert(examples.account_person("person_a"))
    stub.answer("POST", f"/v2/core/accounts/{ACCOUNT}/persons/person_a",
                examples.account_person("person_a", given_name="Jen"))
    updated = row.stripe.update(given_name="Jen")
    assert json.loads(stub.requests[-1].body) == {"given_name": "Jen"}
    assert isinstance(updated, V2AccountPerson) and updated.given_name == "Jen"


def test_the_model_creates_through_the_v2_service(stub):
    stub.answer("POST", "/v2/core/event_destinations", examples.event_destination())
    created = V2EventDestination.objects.stripe_create(
        name="My Event Destination", type="webhook_endpoint", event_payload="thin",
        enabled_events=["v1.billing.meter.error_report_triggered"],
        webhook_endpoint={"url": "https://example.com/stripe/webhook/"})
    assert isinstance(created, V2EventDestination)
    assert created.webhook_endpoint == {"url": "https://example.com/stripe/webhook/"}
    assert "whsec_" not in json.dumps(created.stripe_data)


def test_a_deleted_v2_object_is_marked_deleted_and_keeps_its_data(stub):
    destination = examples.event_destination()
    row = upsert(destination)
    stub.answer("DELETE", f"/v2/core/event_destinations/{destination['id']}",
                {"id": destination["id"], "object": "v2.core.event_destination"})
    row.stripe.delete()
    stored = V2EventDestination.objects.get()
    assert stored.deleted is True
    assert stored.name == "My Event Destination"


@pytest.mark.parametrize("object_type", sorted(examples.V2_EXAMPLES))
def test_every_v2_row_is_retrieved_at_its_own_v2_url(stub, object_type):
    """The drift check of v2 rows: each type's row reaches the SDK's v2 service of its
    type, and the request goes to a /v2/ URL naming the row (and its account, for a
    person); the answer is stored over the row."""
    payload = examples.V2_EXAMPLES[object_type]()
    row = upsert(payload)
    fresher = {**payload, "livemode": True}
    stub.on_request = lambda request: stub.answer("GET", request.path, fresher)
    row.refresh_from_stripe()
    path = stub.requests[-1].path
    assert stub.requests[-1].method == "GET"
    assert path.startswith("/v2/") and path.endswith("/" + payload["id"]), path
    if object_type == "v2.core.account_person":
        assert f"/accounts/{payload['account']}/persons/" in path
    assert row.livemode is True
