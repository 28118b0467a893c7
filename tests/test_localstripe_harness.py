"""The localstripe harness and the seeder (``stripe_django.testing``), driven by real
stripe-python.

No Django (and no database) involved: these run under plain pytest.
"""

import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import stripe

from stripe_django.testing.localstripe import LocalStripe
from stripe_django.testing.seed import seed_account

# End-to-end against a real localstripe process (marker set up in pyproject).
pytestmark = pytest.mark.localstripe

PICKLE = "/tmp/localstripe.pickle"  # localstripe's own hard-coded state file


def _port_is_closed(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) != 0


def _pid_is_gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_create_list_paginate_and_stop():
    pickle_existed = os.path.exists(PICKLE)
    with LocalStripe() as ls:
        assert ls.is_running()
        assert ls.api_base == f"http://127.0.0.1:{ls.port}"
        pid, port, tmpdir = ls.pid, ls.port, ls.tmpdir
        client = stripe.StripeClient(
            "sk_test_anything", base_addresses={"api": ls.api_base},
            max_network_retries=0)

        created = [
            client.v1.customers.create(
                params={"email": f"c{i}@example.com", "metadata": {"i": str(i)}})
            for i in range(5)
        ]
        assert all(c.id.startswith("cus_") for c in created)
        assert created[0].metadata["i"] == "0"

        # Manual pagination, limit=2: pages of 2, 2, 1.
        seen, pages, after = [], [], None
        while True:
            params = {"limit": 2}
            if after:
                params["starting_after"] = after
            page = client.v1.customers.list(params=params)
            pages.append((len(page.data), page.has_more))
            seen += [c.id for c in page.data]
            if not page.has_more:
                break
            after = page.data[-1].id
        assert pages == [(2, True), (2, True), (1, False)]
        assert sorted(seen) == sorted(c.id for c in created)
        assert len(set(seen)) == 5

        # stripe-python's auto-pagination follows the same cursor.
        auto = client.v1.customers.list(params={"limit": 2}).auto_paging_iter()
        assert sorted(c.id for c in auto) == sorted(seen)

        # Retrieve with expand[] works; unknown id is a 404.
        got = client.v1.customers.retrieve(created[1].id,
                                           params={"expand": ["sources"]})
        assert got.email == "c1@example.com"
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.customers.retrieve("cus_doesnotexist")

    assert not ls.is_running()
    assert _pid_is_gone(pid)
    assert _port_is_closed(port)
    assert not os.path.exists(tmpdir)
    assert os.path.exists(PICKLE) == pickle_existed  # nothing written to /tmp
    ls.stop()  # idempotent


def test_listens_on_loopback_only(localstripe):
    if not os.path.exists("/proc/net/tcp"):
        pytest.skip("needs Linux /proc/net/tcp")
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table) as f:
            for line in list(f)[1:]:
                local, state = line.split()[1], line.split()[3]
                addr, port = local.rsplit(":", 1)
                if state == "0A" and int(port, 16) == localstripe.port:  # 0A = LISTEN
                    listening.append(addr)
    assert listening == ["0100007F"]  # 127.0.0.1, and no IPv6 socket


def test_state_is_not_shared_between_servers():
    with LocalStripe() as first:
        first.client().v1.customers.create(params={"email": "a@example.com"})
        with LocalStripe() as second:  # concurrent servers are independent
            assert second.port != first.port
            assert second.client().v1.customers.list().data == []
        first.flush()
        assert first.client().v1.customers.list().data == []
    with LocalStripe() as third:  # and nothing survives a restart
        assert third.client().v1.customers.list().data == []


def test_webhooks_are_delivered_and_signed(localstripe):
    localstripe.flush()
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers["Stripe-Signature"], body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    receiver = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{receiver.server_address[1]}/stripe/webhook"
        localstripe.register_webhook("test", url, "whsec_test", events=["customer.created"])
        client = localstripe.client()
        cus = client.v1.customers.create(params={"email": "hook@example.com"})
        client.v1.products.create(params={"name": "not delivered"})

        deadline = time.monotonic() + 10
        while not received and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.5)  # would a filtered-out event arrive as well?
    finally:
        localstripe.disable_webhook("test")  # the server is the run's: no deliveries to a closed port
        receiver.shutdown()
        receiver.server_close()

    assert len(received) == 1, localstripe.read_log()
    signature, body = received[0]
    assert signature.startswith("t=") and ",v1=" in signature
    event = stripe.Webhook.construct_event(body, signature, "whsec_test")
    assert event.type == "customer.created"
    assert event.data.object.id == cus.id
    assert json.loads(body)["api_version"] == "2017-08-15"
    # Same event through the Events API.
    assert client.v1.events.retrieve(event.id).type == "customer.created"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, signature, "whsec_wrong")


def _count(listing):
    return sum(1 for _ in listing.auto_paging_iter())


def test_seed_account_counts_match_list_endpoints(localstripe):
    localstripe.flush()
    client = localstripe.client()
    result = seed_account(client, customers=10, rng_seed=3)
    created = result["created"]
    v1 = client.v1

    assert created["customer"] == 10
    assert created["product"] == 3 and created["plan"] == 6
    assert created["subscription"] >= 2
    # Paginate with a small page size on purpose.
    page = {"limit": 3}
    assert _count(v1.customers.list(params=page)) == created["customer"]
    assert _count(v1.products.list(params=page)) == created["product"]
    assert _count(v1.plans.list(params=page)) == created["plan"]
    assert _count(v1.coupons.list(params=page)) == created["coupon"]
    assert _count(v1.tax_rates.list(params=page)) == created["tax_rate"]
    # Canceled subscriptions are only listed with status=all.
    assert _count(v1.subscriptions.list(params={**page, "status": "all"})) \
        == created["subscription"]
    assert _count(v1.subscriptions.list(params={**page, "status": "canceled"})) \
        == created.get("subscription_canceled", 0)
    assert _count(v1.invoices.list(params=page)) == created["invoice"]
    assert _count(v1.refunds.list(params=page)) == created["refund"]
    # Invoice payments create charges too, hence >=.
    charges = list(v1.charges.list(params=page).auto_paging_iter())
    assert len(charges) >= created["charge"]
    # (the declined customer's subscription invoice payment fails as well)
    assert sum(c.status == "failed" for c in charges) >= created["charge_failed"] == 1
    # localstripe lists only *pending* (not yet invoiced) invoice items.
    assert _count(v1.invoice_items.list(params=page)) \
        == created["invoiceitem_pending"]
    tax_ids = sum(v1.customers.tax_ids.list(c).total_count
                  for c in result["ids"]["customer"])
    assert tax_ids == created["tax_id"]

    # At least one invoice has more than one page (10) of lines.
    line_counts = [inv.lines.total_count
                   for inv in v1.invoices.list(params=page).auto_paging_iter()]
    assert max(line_counts) > 10
    big = next(inv for inv in v1.invoices.list(params={"limit": 100}).data
               if inv.lines.total_count > 10)
    assert big.lines.has_more and len(big.lines.data) == 10
    lines = v1.invoices.line_items.list(big.id, params={"limit": 100})
    assert len(lines.data) == big.lines.total_count

    # What localstripe cannot do is reported, not raised.
    assert any(s.startswith("price:") for s in result["skipped"])
    assert set(result["subscription_status"]) <= {
        "active", "incomplete", "trialing", "canceled", "past_due"}
