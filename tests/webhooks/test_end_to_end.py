"""End to end: localstripe delivers signed events to the test project under a real WSGI
server on 127.0.0.1, and what was created in localstripe appears in the database."""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command
from django.test.utils import override_settings

from stripe_django.models import Customer, Event, Plan, Product, Subscription

from .conftest import SECRET
from .server import serve

pytestmark = [pytest.mark.localstripe, pytest.mark.django_db(transaction=True)]

CONNECT_SECRET = "whsec_e2e_connect"


@pytest.fixture
def settings_for(localstripe):
    def make(**extra):
        return override_settings(STRIPE_DJANGO={
            "API_KEY": localstripe.api_key, "API_BASE": localstripe.api_base, "MAX_NETWORK_RETRIES": 0,
            "WEBHOOK_SECRETS": [SECRET],
            "WEBHOOK_ENDPOINTS": {"connect": {"SECRETS": [CONNECT_SECRET]}},
            **extra,
        })

    return make


def wait_for(condition, server, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with server.lock:
            if condition():
                return
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the webhook deliveries")
        time.sleep(0.1)


def all_events(client) -> list:
    return [e for e in client.v1.events.list(params={"limit": 100}).auto_paging_iter()]


def test_objects_created_in_localstripe_arrive_through_their_events(localstripe, settings_for):
    localstripe.flush()
    client = localstripe.client()
    with settings_for(), serve() as server:
        localstripe.register_webhook("platform", f"{server.url}/stripe/webhook/", SECRET)
        localstripe.register_webhook("connect", f"{server.url}/stripe/webhook/connect/", CONNECT_SECRET,
                            events=["customer.created", "customer.updated"])
        try:
            product = client.v1.products.create(params={"name": "Gold", "type": "service"})
            plan = client.v1.plans.create(params={"amount": 1500, "currency": "usd", "interval": "month",
                                                  "product": product.id})
            kept = client.v1.customers.create(params={"email": "kept@example.com", "name": "Kept"})
            client.v1.customers.update(kept.id, params={"name": "Kept, renamed"})
            gone = client.v1.customers.create(params={"email": "gone@example.com"})
            client.v1.customers.delete(gone.id)
            payer = client.v1.customers.create(params={"email": "payer@example.com"})
            client.v1.payment_methods.attach("pm_card_visa", params={"customer": payer.id})
            methods = client.v1.payment_methods.list(params={"customer": payer.id, "type": "card"})
            client.v1.customers.update(payer.id, params={
                "invoice_settings": {"default_payment_method": methods.data[0].id}})
            subscription = client.v1.subscriptions.create(params={
                "customer": payer.id, "items": [{"plan": plan.id}]})

            expected = {e.id for e in all_events(client)}
            assert {"customer.created", "customer.updated", "customer.deleted", "plan.created",
                    "product.created", "customer.subscription.created"} <= {
                e.type for e in all_events(client)}
            wait_for(lambda: Event.objects.filter(processing_status="processed").count() >= len(expected),
                     server)
        finally:
            localstripe.disable_webhook("platform")
            localstripe.disable_webhook("connect")
            # deliveries to both endpoints: let the later duplicates finish (localstripe
            # waits about a second before each delivery)
            server.wait_idle(quiet=1.5)
        with server.lock:
            assert set(Event.objects.values_list("id", flat=True)) == expected
            assert not Event.objects.exclude(processing_status="processed").exists()
            assert set(Event.objects.values_list("webhook_endpoint", flat=True)) <= {"", "connect"}
            assert Product.objects.get(pk=product.id).name == "Gold"
            assert Plan.objects.get(pk=plan.id).amount == 1500
            assert Customer.objects.get(pk=kept.id).name == "Kept, renamed"
            assert Customer.objects.get(pk=gone.id).deleted is True
            assert Customer.objects.get(pk=payer.id).email == "payer@example.com"
            assert Subscription.objects.get(pk=subscription.id).customer_id == payer.id


def test_sweep_and_replay_fetch_the_events_that_never_arrived(localstripe, settings_for):
    localstripe.flush()
    client = localstripe.client()
    since = int(time.time()) - 1
    with settings_for():
        customers = [client.v1.customers.create(params={"email": f"sweep{i}@example.com"}) for i in range(3)]
        call_command("stripe_process_events", "--sweep", "--days", "1")
        assert set(Customer.objects.values_list("id", flat=True)) == {c.id for c in customers}
        assert Event.objects.filter(processing_status="processed", webhook_endpoint__isnull=True).count() == 3
        # nothing missing any more
        from io import StringIO

        out = StringIO()
        call_command("stripe_process_events", "--sweep", "--days", "1", stdout=out)
        assert "0 missing" in out.getvalue()
        # a replay of the range processes nothing again, unless forced
        Customer.objects.all().delete()
        call_command("stripe_process_events", "--since", str(since), stdout=out)
        assert not Customer.objects.exists()
        call_command("stripe_process_events", "--since", str(since), "--force", "--type", "customer.created",
                     stdout=out)
        assert Customer.objects.count() == 3


def test_refetch_trusts_the_api_over_the_payload(localstripe, settings_for, deliver):
    from .conftest import customer, make_event

    localstripe.flush()
    client = localstripe.client()
    created = client.v1.customers.create(params={"email": "current@example.com"})
    stale = make_event(customer(created.id, email="stale@example.com"), "customer.updated")
    with settings_for(REFETCH_ON_EVENT=["customer"]):
        assert deliver(stale).status_code == 200
    assert Customer.objects.get(pk=created.id).email == "current@example.com"
    # and without the setting the payload is used
    with settings_for():
        other = make_event(customer("cus_notinapi", email="payload@example.com"), "customer.updated")
        assert deliver(other).status_code == 200
    assert Customer.objects.get(pk="cus_notinapi").email == "payload@example.com"


def test_refetch_failure_is_retried_by_the_command(localstripe, settings_for, deliver):
    from .conftest import customer, make_event

    localstripe.flush()
    created = localstripe.client().v1.customers.create(params={"email": "later@example.com"})
    event = make_event(customer(created.id, email="old@example.com"), "customer.updated")
    down = override_settings(STRIPE_DJANGO={
        "API_KEY": localstripe.api_key, "API_BASE": "http://127.0.0.1:9", "MAX_NETWORK_RETRIES": 0,
        "WEBHOOK_SECRETS": [SECRET], "REFETCH_ON_EVENT": True})
    with down:
        assert deliver(event).status_code == 500
    row = Event.objects.get()
    assert row.processing_status == "failed" and "APIConnectionError" in row.processing_error
    assert not Customer.objects.exists()
    with settings_for(REFETCH_ON_EVENT=True):
        call_command("stripe_process_events")
    assert Event.objects.get().processing_status == "processed"
    assert Customer.objects.get().email == "later@example.com"


def test_refetch_of_a_deleted_object_uses_the_payload(localstripe, settings_for, deliver):
    from .conftest import customer, make_event

    with settings_for(REFETCH_ON_EVENT=True):
        assert deliver(make_event(customer("cus_gone_from_api"), "customer.updated")).status_code == 200
        assert deliver(make_event({"id": "cus_gone2", "object": "customer", "deleted": True},
                                  "customer.deleted")).status_code == 200
    assert Customer.objects.get(pk="cus_gone_from_api").email == "jenny@example.com"
    assert Customer.objects.get(pk="cus_gone2").deleted


def test_an_event_too_large_to_keep_is_replaced_by_a_replay(localstripe, settings_for, deliver):
    """Signed but over WEBHOOK_MAX_BODY_SIZE: its beginning is kept under its id, and
    ``stripe_process_events --since`` stores and processes the whole event."""
    import json
    from io import StringIO

    localstripe.flush()
    client = localstripe.client()
    since = int(time.time()) - 1
    created = client.v1.customers.create(params={"email": "large@example.com"})
    event = next(e for e in all_events(client) if e.type == "customer.created").to_dict(recursive=True)
    body = json.dumps({"id": event["id"], **event}).encode()
    with settings_for(WEBHOOK_MAX_BODY_SIZE=len(body) // 2):
        assert deliver(body).status_code == 200
        row = Event.objects.get(pk=event["id"])
        assert row.processing_status == "failed" and not Customer.objects.exists()
        call_command("stripe_process_events", "--since", str(since), stdout=StringIO())
    row = Event.objects.get(pk=event["id"])
    assert row.processing_status == "processed" and row.type == "customer.created"
    assert "stripe_django_unusable" not in row.stripe_data
    assert Customer.objects.get(pk=created.id).email == "large@example.com"
