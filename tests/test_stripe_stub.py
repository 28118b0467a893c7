"""stripe_django.testing.stripe_stub: the Stripe stand-in the tests, the benchmarks and
the demo share, read through the real stripe-python client."""

from __future__ import annotations

import time

import pytest
import stripe

from stripe_django.testing.objects import T_END, created_of, make_object
from stripe_django.testing.stripe_stub import StripeStub, stub_process


def client(api_base: str, key: str = "sk_test_stub", **options) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": api_base}, max_network_retries=0,
                               **options)


def test_the_sdk_reads_what_an_answer_says_and_the_stub_sees_the_request():
    seen = []
    with StripeStub() as stub:
        stub.on_request = seen.append
        stub.answer("POST", "/v1/customers", lambda request: {
            "id": "cus_stub", "object": "customer", "name": request.form["name"][0]})
        customer = client(stub.api_base).v1.customers.create(params={"name": "Ada"})
    assert customer.name == "Ada"
    assert [(r.method, r.path) for r in seen] == [("POST", "/v1/customers")] == [
        (r.method, r.path) for r in stub.requests]
    assert seen[0].headers["Authorization"] == "Bearer sk_test_stub"


def test_statuses_and_headers_are_sent_and_a_failing_answer_is_a_500_naming_the_error():
    def broken(request):
        raise KeyError("no such route")

    def declined(request):
        if request.form["amount"] == ["1"]:
            return 402, {"error": {"type": "card_error", "message": "declined"}}, {"Request-Id": "req_1"}
        return {"id": "ch_1", "object": "charge", "amount": int(request.form["amount"][0])}

    with StripeStub() as stub:
        stub.answer("GET", "/v1/customers", {"error": {"type": "rate_limit_error", "message": "slow"}},
                    status=429, headers={"Retry-After": "2"})
        stub.answer("GET", "/v1/products", broken)
        stub.answer("POST", "/v1/charges", declined)
        with pytest.raises(stripe.RateLimitError) as throttled:
            client(stub.api_base).v1.customers.list()
        with pytest.raises(stripe.APIError) as failed:
            client(stub.api_base).v1.products.list()
        with pytest.raises(stripe.CardError) as card:
            client(stub.api_base).v1.charges.create(params={"amount": 1, "currency": "eur"})
        charge = client(stub.api_base).v1.charges.create(params={"amount": 5, "currency": "eur"})
    assert throttled.value.headers["Retry-After"] == "2"
    assert failed.value.http_status == 500 and "KeyError" in str(failed.value)
    assert card.value.http_status == 402 and card.value.request_id == "req_1"
    assert charge.amount == 5


def test_unknown_urls_and_objects_are_404s():
    with StripeStub({"customers": 3}) as stub:
        with pytest.raises(stripe.InvalidRequestError) as url:
            client(stub.api_base).v1.coupons.list()
        with pytest.raises(stripe.InvalidRequestError) as gone:
            client(stub.api_base).v1.plans.retrieve("plan_gone")
    assert url.value.http_status == 404 and "Unrecognized request URL" in str(url.value)
    assert gone.value.http_status == 404 and gone.value.code == "resource_missing"
    with pytest.raises(ValueError, match="generates no"):
        StripeStub({"charges": 1})


def test_lists_are_paginated_newest_first_and_filtered_by_created():
    with StripeStub({"customers": 25}) as stub:
        customers = client(stub.api_base).v1.customers
        first = customers.list(params={"limit": 10})
        assert [c.id for c in first.data] == [f"cus_{i:08d}" for i in range(10)] and first.has_more
        every = list(customers.list(params={"limit": 10}).auto_paging_iter())
        assert [c.id for c in every] == [f"cus_{i:08d}" for i in range(25)]
        assert [c.created for c in every] == [created_of(i) for i in range(25)]
        assert every[3].to_dict() == make_object("customers", 3)
        # ten to a second: created of 10..19 is T_END - 1
        assert [c.id for c in customers.list(params={"created": {"gte": T_END - 1, "lt": T_END},
                                                     "limit": 100}).data] == [
            f"cus_{i:08d}" for i in range(10, 20)]
        with pytest.raises(stripe.InvalidRequestError, match="No such object"):
            customers.list(params={"starting_after": "cus_00000099"})
        assert customers.retrieve("cus_00000007").email == "customer7@example.com"
        assert customers.payment_sources.list("cus_00000007").data == []


def tax_id(number: int, customer: str) -> dict:
    return {"id": f"txi_{customer[-4:]}{number:03d}", "object": "tax_id", "customer": customer,
            "country": "DE", "created": 1_700_000_000 - number, "livemode": False,
            "type": "eu_vat", "value": f"DE{number:09d}", "verification": None}


def test_a_list_embeds_the_nested_lists_it_expands_as_stripe_does():
    acct = "acct_1EMBEDDING"
    with StripeStub({"customers": 3}, accounts=(acct,)) as stub:
        many, few = (make_object("customers", i, acct)["id"] for i in (0, 1))
        stub.held[(acct, f"customers/{many}/tax_ids")] = [tax_id(i, many) for i in range(12)]
        stub.held[(acct, f"customers/{few}/tax_ids")] = [tax_id(i, few) for i in range(2)]
        customers = client(stub.api_base).v1.customers
        options = {"stripe_account": acct}
        listed = customers.list(params={"expand": ["data.tax_ids", "data.sources"]},
                                options=options).data
        plain = customers.list(options=options).data
        rest = customers.tax_ids.list(many, params={"limit": 100}, options=options)
    # The first ten items, has_more and the nested list's own URL; an empty list where
    # the customer has none; nothing where the list is not expanded.
    embedded = listed[0].tax_ids
    assert [t.id for t in embedded.data] == [tax_id(i, many)["id"] for i in range(10)]
    assert embedded.has_more and embedded.url == f"/v1/customers/{many}/tax_ids"
    assert [t.id for t in listed[1].tax_ids.data] == [tax_id(i, few)["id"] for i in range(2)]
    assert not listed[1].tax_ids.has_more
    assert listed[2].tax_ids.data == [] and listed[2].sources.data == []
    assert "tax_ids" not in plain[0]
    # The whole list where the embedded one said has_more.
    assert [t.id for t in rest.data] == [tax_id(i, many)["id"] for i in range(12)]


def test_accounts_and_platforms_have_objects_of_their_own():
    with StripeStub({"products": 2}, accounts=("acct_1CONNECTED",),
                    platforms={"sk_test_other": "acct_1OTHERPLAT"}) as stub:
        api = client(stub.api_base)
        assert [a.id for a in api.v1.accounts.list().data] == ["acct_1CONNECTED"]
        connected = api.v1.products.list(options={"stripe_account": "acct_1CONNECTED"})
        other = client(stub.api_base, "sk_test_other").v1.products.list()
        mine = api.v1.products.list()
        assert client(stub.api_base, "sk_test_other").v1.accounts.retrieve_current().id == "acct_1OTHERPLAT"
    assert [p.id for p in mine.data] == ["prod_00000000", "prod_00000001"]
    assert [p.id for p in connected.data] == ["prod_NECTED00000000", "prod_NECTED00000001"]
    assert [p.id for p in other.data] == ["prod_ERPLAT00000000", "prod_ERPLAT00000001"]
    assert stub.stripe_accounts == {"acct_1CONNECTED": 1}
    assert stub.api_keys == {"sk_test_stub": 3, "sk_test_other": 2}
    assert stub.first_pages[("products", None)] == 2


def test_events_are_served_filtered_by_created_and_paginated():
    events = [{"id": f"evt_{n}", "object": "event", "type": "customer.updated", "created": 100 - n,
               "data": {"object": make_object("customers", n)}} for n in range(15)]
    with StripeStub(events=events) as stub:
        api = client(stub.api_base).v1.events
        assert [e.id for e in api.list().auto_paging_iter()] == [f"evt_{n}" for n in range(15)]
        assert [e.id for e in api.list(params={"created": {"gt": 97}}).data] == ["evt_0", "evt_1", "evt_2"]
        assert api.retrieve("evt_4").data.object.id == "cus_00000004"


def test_a_rate_limit_answers_429_with_retry_after_and_counts_it():
    with StripeStub({"customers": 1}, rate_limit=2, retry_after="0.5") as stub:
        api = client(stub.api_base).v1.customers
        api.list()
        api.list()
        with pytest.raises(stripe.RateLimitError) as throttled:
            api.list()
        time.sleep(0.6)  # a token back
        api.list()
    assert throttled.value.headers["Retry-After"] == "0.5" and throttled.value.http_status == 429
    assert (stub.served, stub.throttled) == (3, 1)


def test_the_nth_list_request_is_throttled_once():
    with StripeStub({"customers": 1}, throttle_request=2, retry_after="1.0") as stub:
        api = client(stub.api_base).v1.customers
        api.list()
        with pytest.raises(stripe.RateLimitError):
            api.list()
        api.list()
    assert stub.throttled == 1 and stub.requests[0].at < stub.throttled_at < stub.requests[1].at


def test_failures_are_injected_per_list_and_after_a_number_of_requests():
    with StripeStub({"customers": 1, "products": 1}, fail={"products": 403}, fail_after=2) as stub:
        api = client(stub.api_base).v1
        with pytest.raises(stripe.PermissionError):
            api.products.list()
        api.customers.list()
        with pytest.raises(stripe.APIError, match="injected failure"):
            api.customers.list()
        stub.fail_after = None
        api.customers.list()
    assert stub.served == 4


def test_pre_rendered_pages_are_the_pages_and_a_stub_runs_in_a_process_of_its_own():
    with StripeStub({"customers": 150}) as plain, StripeStub({"customers": 150}, prerender=True) as fast:
        pages = [[c.to_dict() for c in client(stub.api_base).v1.customers.list(
            params={"limit": 100, "starting_after": "cus_00000049"}).data] for stub in (plain, fast)]
    assert pages[0] == pages[1] and len(pages[0]) == 100
    with stub_process({"customers": 150}) as api_base:
        assert api_base.startswith("http://127.0.0.1:")
        listed = client(api_base).v1.customers.list(params={"limit": 100}).auto_paging_iter()
        assert sum(1 for _ in listed) == 150


@pytest.mark.parametrize("prerender", [False, True])
def test_objects_drift_at_the_stub_without_an_event(prerender):
    with StripeStub({"customers": 150, "invoices": 2}, prerender=prerender) as stub:
        stub.change("cus_00000001", email="changed@example.com")
        stub.delete("cus_00000002")
        sdk = client(stub.api_base)
        page = sdk.v1.customers.list(params={"limit": 100}).last_response.data
        ids = [o["id"] for o in page["data"]]
        assert "cus_00000002" not in ids and len(ids) == 99 and page["has_more"]
        assert page["data"][1] == {**make_object("customers", 1), "email": "changed@example.com"}
        assert sdk.v1.customers.retrieve("cus_00000001").email == "changed@example.com"
        with pytest.raises(stripe.InvalidRequestError) as gone:
            sdk.v1.customers.retrieve("cus_00000002")
        assert (gone.value.http_status, gone.value.code) == (404, "resource_missing")
        invoice = sdk.v1.invoices.retrieve("in_00000001")
    assert [line.id for line in invoice.lines.data] == ["il_00000001_0", "il_00000001_1"]
    assert invoice.lines.data[0].invoice == "in_00000001"
