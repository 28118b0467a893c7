"""Requests that are not verified Stripe events are refused and leave nothing behind.

Every signature here is computed with the real scheme (``t=...,v1=<HMAC-SHA256>``).
"""

from __future__ import annotations

import logging
import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse

from stripe_django.models import Customer, Event
from stripe_django.webhooks.verification import get_endpoint

from .conftest import CONNECT_SECRET, SECRET, body_of, customer, make_event, sign

pytestmark = pytest.mark.django_db

STRIPE_DJANGO = {
    "API_KEY": "sk_test_stripe_django_tests",
    "WEBHOOK_SECRETS": ["whsec_tests_new", SECRET],
    "WEBHOOK_ENDPOINTS": {"connect": {"SECRETS": [CONNECT_SECRET]}},
}


def nothing_stored() -> bool:
    return not Event.objects.exists() and not Customer.objects.exists()


def assert_refused(response, status: int = 400) -> None:
    assert response.status_code == status, response.content
    assert nothing_stored()


@pytest.fixture
def event():
    return make_event(customer(), "customer.created")


def test_a_signed_event_is_accepted(deliver, event):
    assert deliver(event).status_code == 200
    assert Event.objects.filter(pk=event["id"]).exists()


def test_missing_signature(deliver, event, caplog):
    with caplog.at_level(logging.WARNING, "stripe_django.webhooks"):
        assert_refused(deliver(event, signature=""))
    assert "no Stripe-Signature header" in caplog.text


def test_wrong_secret(deliver, event):
    assert_refused(deliver(event, secret="whsec_someone_else"))


def test_tampered_body(deliver, event):
    body = body_of(event)
    signature = sign(body)
    tampered = body.replace(b"jenny@example.com", b"mallory@example.com")
    assert_refused(deliver(tampered, signature=signature))


def test_signature_of_another_timestamp(deliver, event):
    body = body_of(event)
    t = int(time.time())
    forged = sign(body, timestamp=t - 10).replace(f"t={t - 10}", f"t={t}")
    assert_refused(deliver(body, signature=forged))


def test_stale_signature(deliver, event, caplog):
    with caplog.at_level(logging.WARNING, "stripe_django.webhooks"):
        assert_refused(deliver(event, timestamp=int(time.time()) - 301))
    assert "older than the tolerance" in caplog.text


@override_settings(STRIPE_DJANGO={**STRIPE_DJANGO, "WEBHOOK_TOLERANCE": 3600})
def test_tolerance_is_a_setting(deliver, event):
    assert deliver(event, timestamp=int(time.time()) - 1800).status_code == 200
    assert deliver(make_event(customer()), timestamp=int(time.time()) - 3700).status_code == 400


@pytest.mark.parametrize("header", ["garbage", "t=abc,v1=00", "t=123", "v1=abcdef", "t=1,v0=ab"])
def test_malformed_signature_header(deliver, event, header):
    assert_refused(deliver(event, signature=header))


def test_an_unsigned_body_over_the_limit_is_refused(deliver, event):
    event["data"]["object"]["metadata"] = {"padding": "x" * 2048}
    with override_settings(STRIPE_DJANGO={**STRIPE_DJANGO, "WEBHOOK_MAX_BODY_SIZE": 1024}):
        assert_refused(deliver(event, secret="whsec_wrong"), status=413)


def test_a_signed_body_over_the_limit_is_kept_as_its_beginning(deliver, event):
    """Stripe signed it, so it is not lost: its beginning is stored under its id, marked
    failed, for a replay from the Events API to replace."""
    event["data"]["object"]["metadata"] = {"padding": "x" * 2048}
    with override_settings(STRIPE_DJANGO={**STRIPE_DJANGO, "WEBHOOK_MAX_BODY_SIZE": 1024}):
        response = deliver(body_of(event).replace(b"\n  ", b""))  # "id" comes first
    assert response.status_code == 200
    row = Event.objects.get()
    assert row.pk == event["id"]
    assert row.processing_status == "failed" and "WEBHOOK_MAX_BODY_SIZE" in row.processing_error
    assert row.stripe_data["stripe_django_unusable"]["body"].startswith('{"id": "evt_')
    assert not Customer.objects.exists()


def test_a_body_far_over_the_limit_is_refused_unread(deliver, event):
    from stripe_django.webhooks.views import TOO_LARGE_TO_CHECK

    event["data"]["object"]["metadata"] = {"padding": "x" * (1024 * TOO_LARGE_TO_CHECK)}
    with override_settings(STRIPE_DJANGO={**STRIPE_DJANGO, "WEBHOOK_MAX_BODY_SIZE": 1024}):
        assert_refused(deliver(event), status=413)


def test_body_over_the_limit_without_content_length(rf, event):
    """A body longer than its Content-Length says is still cut at the limit."""
    from stripe_django.webhooks.views import WebhookView

    body = body_of({**event, "padding": "x" * 4096})
    request = rf.post("/stripe/webhook/", data=body, content_type="application/json",
                      HTTP_STRIPE_SIGNATURE=sign(body, "whsec_not_this_endpoints"))
    del request.META["CONTENT_LENGTH"]
    with override_settings(STRIPE_DJANGO={**STRIPE_DJANGO, "WEBHOOK_MAX_BODY_SIZE": 1024}):
        response = WebhookView.as_view()(request)
    assert response.status_code in (400, 413)
    assert nothing_stored()


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"object": "customer", "id": "cus_1"}',
                                  b'{"object": "event", "id": "evt_1", "type": "x", "created": 1}',
                                  b'{"object": "event", "type": "x", "created": 1, "data": {"object": {}}}'])
def test_signed_but_not_an_event_is_kept_as_failed(deliver, body):
    """Stripe signed it, so it is stored (as text, marked failed with the reason) and
    answered 200: sending it again could not make it an event."""
    response = deliver(body)
    assert response.status_code == 200, response.content
    row = Event.objects.get()
    assert row.processing_status == "failed" and row.processing_error
    assert row.stripe_data["stripe_django_unusable"]["body"] == body.decode()
    assert not Customer.objects.exists()
    assert deliver(body).status_code == 200  # the same body again: the same row
    assert Event.objects.count() == 1


def test_a_body_that_is_not_utf8_cannot_carry_a_signature(deliver):
    """Stripe signs the text of a JSON body; bytes that are not UTF-8 are not that."""
    assert_refused(deliver(b"\xff\xfe"))


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_post_only(client, method):
    response = getattr(client, method)(reverse("stripe_django:webhook"))
    assert_refused(response, status=405)


def test_csrf_exempt(event):
    body = body_of(event)
    response = Client(enforce_csrf_checks=True).post(
        reverse("stripe_django:webhook"), data=body, content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(body))
    assert response.status_code == 200


def test_nothing_is_written_for_a_refused_request(deliver, event):
    with CaptureQueriesContext(connection) as queries:
        deliver(event, secret="whsec_wrong")
    assert not queries.captured_queries


@override_settings(STRIPE_DJANGO=STRIPE_DJANGO)
def test_rotation_accepts_every_configured_secret(deliver):
    assert deliver(make_event(customer("cus_old")), secret=SECRET).status_code == 200
    assert deliver(make_event(customer("cus_new")), secret="whsec_tests_new").status_code == 200
    assert deliver(make_event(customer("cus_x")), secret=CONNECT_SECRET).status_code == 400


@override_settings(STRIPE_DJANGO=STRIPE_DJANGO)
def test_named_endpoint_has_its_own_secrets(deliver):
    event = make_event(customer("cus_connected"), account="acct_1Connected")
    assert_refused(deliver(event, endpoint="connect", secret=SECRET))
    assert deliver(event, endpoint="connect", secret=CONNECT_SECRET).status_code == 200
    assert Event.objects.get().webhook_endpoint == "connect"


@override_settings(STRIPE_DJANGO=STRIPE_DJANGO)
def test_unknown_endpoint_is_404(deliver, event):
    assert_refused(deliver(event, endpoint="nope"), status=404)


def test_url_names():
    assert reverse("stripe_django:webhook") == "/stripe/webhook/"
    assert reverse("stripe_django:webhook", kwargs={"name": "connect"}) == "/stripe/webhook/connect/"


@override_settings(STRIPE_DJANGO={"API_KEY": "sk_test_x"})
def test_missing_secret_is_improperly_configured(monkeypatch):
    monkeypatch.delenv("STRIPE_WEBHOOK_SECRET", raising=False)
    with pytest.raises(ImproperlyConfigured, match="WEBHOOK_SECRETS"):
        get_endpoint()


@override_settings(STRIPE_DJANGO={"API_KEY": "sk_test_x", "WEBHOOK_ENDPOINTS": {"c": {"SECRET": "x"}}})
def test_misspelled_endpoint_key_is_improperly_configured():
    with pytest.raises(ImproperlyConfigured, match="SECRET"):
        get_endpoint("c")


@override_settings(STRIPE_DJANGO={"API_KEY": "sk_test_x"})
def test_secret_from_the_environment(monkeypatch, deliver, event):
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_from_env")
    assert deliver(event, secret="whsec_from_env").status_code == 200


def test_refusals_never_log_the_secret_or_the_body(deliver, event, caplog):
    with caplog.at_level(logging.DEBUG):
        deliver(event, secret="whsec_wrong")
        deliver(event, timestamp=int(time.time()) - 1000)
        deliver(event, signature="")
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert caplog.records
    for secret in (SECRET, "whsec_wrong"):
        assert secret not in text
    assert "jenny@example.com" not in text
    assert "v1=" not in text


def test_endpoint_repr_hides_secrets():
    assert SECRET not in repr(get_endpoint())


@pytest.mark.django_db(transaction=True)
@override_settings(DEBUG=True)
def test_error_page_shows_no_secret(event):
    """A request that fails while storing (here: the event table is missing, as before
    ``migrate``) is a 500 with Django's debug page; the secrets and the signature stay
    out of it."""
    table = Event._meta.db_table
    with connection.schema_editor() as editor:
        editor.alter_db_table(Event, table, table + "_away")
    try:
        body = body_of(event)
        client = Client(raise_request_exception=False)
        response = client.post(reverse("stripe_django:webhook"), data=body,
                               content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(body))
    finally:
        with connection.schema_editor() as editor:
            editor.alter_db_table(Event, table + "_away", table)
    assert response.status_code == 500
    page = response.content.decode()
    assert table in page  # the page is there, naming the error
    assert SECRET not in page
    assert sign(body).split("v1=")[1] not in page


