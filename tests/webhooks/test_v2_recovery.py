"""``stripe_process_events --sweep`` and ``--since`` compare the v2 events too: a v2
event Stripe has (``GET /v2/core/events``) but the mirror lacks is stored and processed
as a delivered thin notification would be; a key that may not read v2 events is
reported and the v1 events are still caught up. Against the Stripe stub; the events
are shaped as in stripe-python's ``tests/test_v2_event.py``, the v2 account is
:mod:`stripe_django.testing.v2_examples`' (Stripe's API reference)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from stripe_django.models import Event, V2Account
from stripe_django.sync.v2_events import rfc3339
from stripe_django.testing import v2_examples as examples
from stripe_django.testing.stripe_stub import StripeStub
from tests.conftest import point_at

from .conftest import customer, make_event

pytestmark = pytest.mark.django_db

ACCOUNT = "acct_v2sweep01"


def account_update(event_id: str, created: dt.datetime) -> dict:
    return {"id": event_id, "object": "v2.core.event", "type": "v2.core.account.updated",
            "livemode": False, "created": rfc3339(created), "context": None, "reason": None,
            "related_object": {"id": ACCOUNT, "type": "v2.core.account",
                               "url": f"/v2/core/accounts/{ACCOUNT}"}}


@pytest.fixture
def stub(settings):
    lists = {"/v2/core/accounts": [examples.account(ACCOUNT, display_name="Swept")]}
    v1 = make_event(customer("cus_sweep1"), "customer.created",
                    created=int(timezone.now().timestamp()) - 60)
    with StripeStub(v2_lists=lists, events=[v1]) as server:
        point_at(settings, server.api_base)
        server.v1_event = v1
        yield server


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("stripe_process_events", "--no-retry", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_sweep_stores_and_processes_a_missed_v2_event(stub):
    now = timezone.now()
    missed = account_update("evt_v2missed", now - dt.timedelta(hours=1))
    old = account_update("evt_v2tooold", now - dt.timedelta(days=5))
    stub.v2_events.update({missed["id"]: missed, old["id"]: old})
    out, err = run("--sweep")
    assert "swept: 2 fetched from the API, 2 missing; 2 processed" in out, (out, err)
    row = Event.objects.get(pk="evt_v2missed")
    assert row.processing_status == "processed" and row.webhook_endpoint is None
    assert row.stripe_data["object"] == "v2.core.event"
    assert V2Account.objects.get(pk=ACCOUNT).display_name == "Swept"
    assert not Event.objects.filter(pk="evt_v2tooold").exists()  # before --days
    [listing] = [r for r in stub.requests if r.path == "/v2/core/events"]
    assert (rfc3339(now - dt.timedelta(days=3)) <= listing.params["created[gte]"]
            <= rfc3339(timezone.now() - dt.timedelta(days=3)))
    # A second sweep finds nothing missing and fetches no object again.
    stub.requests.clear()
    out, _ = run("--sweep")
    assert "2 fetched from the API, 0 missing; 0 processed" in out
    assert [r.path for r in stub.requests if r.path.startswith("/v2/core/accounts")] == []


def test_replay_since_reads_v2_events_too(stub):
    event = account_update("evt_v2replayed", timezone.now() - dt.timedelta(hours=2))
    stub.v2_events[event["id"]] = event
    since = str(int((timezone.now() - dt.timedelta(hours=3)).timestamp()))
    out, _ = run("--since", since)
    assert "replayed: 2 fetched from the API, 2 missing; 2 processed" in out
    assert Event.objects.get(pk="evt_v2replayed").processing_status == "processed"


def test_a_key_that_cannot_read_v2_events_is_reported_and_v1_still_swept(stub):
    stub.answer("GET", "/v2/core/events", {"error": {"type": "invalid_request_error",
                                                     "message": "not allowed"}}, status=403)
    out, err = run("--sweep")
    assert "swept: 1 fetched from the API, 1 missing; 1 processed" in out
    assert "v2 events not read" in err and "403" in err
    assert Event.objects.get().pk == stub.v1_event["id"]
