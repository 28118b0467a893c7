"""``manage.py stripe_endpoints`` against the Stripe stub, which keeps webhook endpoints
and event destinations as Stripe does (the signing secret only in the creation's answer)."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.test.utils import override_settings

from stripe_django.models import Event
from stripe_django.testing.stripe_stub import StripeStub
from stripe_django.webhooks.endpoints import subscribed_event_types

from .conftest import SECRET

pytestmark = pytest.mark.django_db

SITE = "https://shop.example/stripe/webhook/"


@pytest.fixture
def stub():
    with StripeStub() as stub, override_settings(STRIPE_DJANGO={
            "API_KEY": "sk_test_endpoints", "API_BASE": stub.api_base, "MAX_NETWORK_RETRIES": 0,
            "WEBHOOK_SECRETS": [SECRET]}):
        yield stub


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("stripe_endpoints", *args, stdout=out)
    return out.getvalue()


def test_create_thin_destination_prints_the_secret_once_and_is_idempotent(stub, caplog):
    out = run("--create", SITE + "thin/", "--thin")
    [destination] = stub.destinations.event_destinations
    secret = stub.destinations.secrets[destination["id"]]
    assert destination["event_payload"] == "thin"
    assert destination["webhook_endpoint"]["url"] == SITE + "thin/"
    assert destination["enabled_events"] == subscribed_event_types(thin=True)
    assert "v1.invoice.paid" in destination["enabled_events"]
    assert f'STRIPE_DJANGO["WEBHOOK_ENDPOINTS"]["thin"] = {{"SECRETS": ["{secret}"], "PAYLOAD": "thin"}}' in out
    # the secret is shown, never stored nor logged
    assert secret not in caplog.text
    assert not Event.objects.exists()
    # again: nothing created, nothing to show
    again = run("--create", SITE + "thin/", "--thin")
    assert "Unchanged" in again and "whsec_" not in again
    assert len(stub.destinations.event_destinations) == 1
    # its event types changed at Stripe: brought back, still one destination
    destination["enabled_events"] = ["v1.invoice.paid"]
    assert "Updated" in run("--create", SITE + "thin/", "--thin")
    assert destination["enabled_events"] == subscribed_event_types(thin=True)
    assert len(stub.destinations.event_destinations) == 1


def test_create_snapshot_endpoint_and_list_both(stub):
    out = run("--create", SITE)
    [endpoint] = stub.destinations.webhook_endpoints
    assert endpoint["enabled_events"] == ["*"] and endpoint["url"] == SITE
    secret = stub.destinations.secrets[endpoint["id"]]
    assert re.search(rf'STRIPE_DJANGO\["WEBHOOK_SECRETS"\] = \["{secret}"\]', out)
    run("--create", SITE + "thin/", "--thin")
    listed = run()
    [v2] = stub.destinations.event_destinations
    assert f"{endpoint['id']}  webhook endpoint  snapshot  enabled  {SITE}  all events" in listed
    assert f"{v2['id']}  event destination  thin  enabled  {SITE}thin/" in listed
    assert "whsec_" not in listed


def test_bad_arguments_are_named(stub):
    with pytest.raises(CommandError, match="--thin goes with --create"):
        run("--thin")
    with pytest.raises(CommandError, match="full URL"):
        run("--create", "/stripe/webhook/")
    assert not stub.requests


def test_a_disabled_destination_is_enabled_again(stub):
    run("--create", SITE + "thin/", "--thin")
    [destination] = stub.destinations.event_destinations
    destination["status"] = "disabled"
    assert "Updated" in run("--create", SITE + "thin/", "--thin")
    assert destination["status"] == "enabled"
    assert len(stub.destinations.event_destinations) == 1
