"""The stripe SDK's own log (response bodies at DEBUG on the ``stripe`` logger) carries no
secret: the app filters that logger (stripe_django.sdklog)."""

from __future__ import annotations

import logging

import pytest

from stripe_django.client import get_client
from stripe_django.testing.stripe_stub import StripeStub

from .conftest import point_at

INTENT = {"id": "pi_log", "object": "payment_intent", "amount": 1000, "currency": "usd",
          "client_secret": "pi_log_secret_s3cr3t", "status": "requires_payment_method"}


@pytest.fixture
def stub(settings):
    with StripeStub() as server:
        server.answer("GET", "/v1/payment_intents/pi_log", INTENT)
        point_at(settings, server.api_base)
        yield server


def _logged(caplog) -> str:
    with caplog.at_level(logging.DEBUG, logger="stripe"):
        assert get_client().v1.payment_intents.retrieve("pi_log").client_secret == INTENT["client_secret"]
    return "\n".join(record.getMessage() for record in caplog.records if record.name == "stripe")


def test_the_sdk_logs_response_bodies_without_their_secrets(stub, caplog):
    logged = _logged(caplog)
    assert "pi_log" in logged and "API response body" in logged  # the body was logged
    assert "pi_log_secret_s3cr3t" not in logged
    assert '"client_secret": "[redacted]"' in logged


def test_the_filter_can_be_turned_off(stub, caplog, settings):
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "REDACT_SDK_LOGS": False}
    assert "pi_log_secret_s3cr3t" in _logged(caplog)


def test_requests_the_sdk_logs_carry_no_secret(stub, caplog):
    """The SDK logs a request's URL (its query string) at INFO and its form body at DEBUG."""
    stub.answer("POST", "/v1/payment_methods", {"id": "pm_log", "object": "payment_method", "type": "card"})
    with caplog.at_level(logging.DEBUG, logger="stripe"):
        client = get_client()
        client.v1.payment_intents.retrieve("pi_log", params={"client_secret": "pi_log_secret_s3cr3t"})
        client.v1.payment_methods.create(params={"type": "card", "card": {
            "number": "4242424242424242", "cvc": "314", "exp_month": 12, "exp_year": 2030}})
    logged = "\n".join(record.getMessage() for record in caplog.records if record.name == "stripe")
    assert "client_secret=[redacted]" in logged and "card[number]=[redacted]" in logged
    for secret in ("pi_log_secret_s3cr3t", "4242424242424242", "314"):
        assert secret not in logged


def test_a_record_that_cannot_be_read_is_withheld_not_raised(caplog):
    with caplog.at_level(logging.DEBUG, logger="stripe"):
        logging.getLogger("stripe").debug("body=%s %s", "only one argument")
    assert [r.getMessage() for r in caplog.records if r.name == "stripe"] == [
        "[a stripe SDK log record withheld: it could not be redacted]"]
