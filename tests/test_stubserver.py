"""stripe_django.testing.stubserver: the JSON stub server the tests stand in for Stripe with."""

from __future__ import annotations

import pytest
import stripe

from stripe_django.testing.stubserver import JSONStubServer


def client(server: JSONStubServer) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_stub", base_addresses={"api": server.url},
                               max_network_retries=0)


def test_the_sdk_reads_what_respond_answers_and_the_stub_sees_the_request():
    seen = []

    def respond(request):
        seen.append(request)
        return 200, {"id": "cus_stub", "object": "customer", "name": request.form["name"][0]}

    with JSONStubServer(respond) as server:
        customer = client(server).v1.customers.create(params={"name": "Ada"})
    assert customer.name == "Ada"
    assert [(r.method, r.path) for r in seen] == [("POST", "/v1/customers")]
    assert seen[0].headers["Authorization"] == "Bearer sk_test_stub"


def test_headers_are_sent_and_a_failing_respond_is_a_500_naming_the_error():
    def respond(request):
        if request.path == "/v1/customers":
            return 429, {"error": {"type": "rate_limit_error", "message": "slow"}}, {"Retry-After": "2"}
        raise KeyError("no such route")

    with JSONStubServer(respond) as server:
        with pytest.raises(stripe.RateLimitError) as throttled:
            client(server).v1.customers.list()
        with pytest.raises(stripe.APIError) as failed:
            client(server).v1.products.list()
    assert throttled.value.headers["Retry-After"] == "2"
    assert failed.value.http_status == 500 and "KeyError" in str(failed.value)
