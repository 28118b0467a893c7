"""A key that may not read the Events API (issue 21).

Every list reads fine, so nothing fails, yet an incremental run sees new objects only.
The run says it in its summary; the refusal is kept on the ``event`` cursor so that the
health page and ``manage.py check --database`` (``stripe_django.W084``) say it later,
naming the key by its setting and last four characters, and what to grant. A run that
reads the Events API again clears it.
"""

from __future__ import annotations

import io
import time

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from stripe_django.checks import check_events_access
from stripe_django.models import SyncCursor
from stripe_django.sync.events_access import masked_key
from stripe_django.testing.stripe_stub import StripeStub

from ..conftest import point_at

pytestmark = pytest.mark.django_db(transaction=True)

KEY = "rk_test_51RestrictedKeyWithoutEventsAbcd"
HEALTH = "/admin/stripe_django/synccursor/health/"


@pytest.fixture
def stub(settings):
    with StripeStub({"customers": 3}, empty_lists=True) as stub:
        point_at(settings, stub.api_base, api_key=KEY)
        yield stub


def stripe_sync(*args: str) -> str:
    out = io.StringIO()
    call_command("stripe_sync", "customer", "--quiet", *args, stdout=out, stderr=out)
    return out.getvalue()


def refused_once(stub) -> str:
    """A first run (a full pass), then an incremental one the Events API refuses."""
    stripe_sync()
    time.sleep(1.05)  # a run's events window ends before the second it starts in
    stub.fail = {"events": 403}
    return stripe_sync()


def test_the_masked_key_shows_its_kind_mode_and_last_four_only():
    assert masked_key(KEY) == "rk_test_…Abcd"
    assert masked_key("sk_live_0123456789wxyz") == "sk_live_…wxyz"
    assert masked_key("") == "(no key)"
    # a key of another shape: nothing before the last four characters is shown
    assert masked_key("sk-live-51Hsecretsecretwxyz") == "…wxyz"
    assert masked_key("whsec5ecretwxyz") == "…wxyz"


def test_a_refused_events_api_is_said_by_the_summary_the_check_and_the_health_page(stub, client):
    summary = refused_once(stub)
    assert "the Events API was not available" in summary
    assert "no list saw updates or deletions" in summary
    assert "API_KEY (rk_test_…Abcd)" in summary

    # The check reads what the run recorded: no request is made.
    before = len(stub.requests)
    messages = check_events_access(databases=["default"])
    assert len(stub.requests) == before
    assert [m.id for m in messages] == ["stripe_django.W084"]
    message = messages[0]
    assert "could not read the Events API" in message.msg
    assert "not updates or deletions" in message.msg
    assert "API_KEY (rk_test_…Abcd)" in message.msg and "HTTP 403" in message.msg
    assert "Read permission on Events" in message.hint
    assert KEY not in message.msg + message.hint
    assert KEY[:-4] not in message.msg + message.hint

    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    page = client.get(HEALTH).content.decode()
    assert "could not read the Events API" in page and "API_KEY (rk_test_…Abcd)" in page
    assert "Read permission on Events" in page
    assert KEY not in page
    # Its own notice, not one more "failed" type.
    assert "The last sync of" not in page


def test_manage_py_check_names_it_with_the_database_checks(stub):
    refused_once(stub)
    out = io.StringIO()
    call_command("check", "--database", "default", "--tag", "stripe_django", stdout=out,
                 stderr=out)
    assert "stripe_django.W084" in out.getvalue()
    out = io.StringIO()
    # Without --database (nor --tag: Django 6.1 runs a tag's database checks on every
    # database) there is no query at check time.
    call_command("check", stdout=out, stderr=out)
    assert "W084" not in out.getvalue()


def test_a_run_that_reads_the_events_api_again_clears_it(stub):
    refused_once(stub)
    assert check_events_access(databases=["default"])
    time.sleep(1.05)
    stub.fail = {}
    summary = stripe_sync()
    assert "the Events API was not available" not in summary
    assert check_events_access(databases=["default"]) == []
    assert not SyncCursor.objects.exclude(last_error="").exists()


def test_a_first_run_whose_event_list_is_refused_records_it_too(stub):
    stub.fail = {"events": 403}
    out = io.StringIO()
    call_command("stripe_sync", "customer", "event", "--quiet", stdout=out, stderr=out)
    messages = check_events_access(databases=["default"])
    assert [m.id for m in messages] == ["stripe_django.W084"]
    assert SyncCursor.objects.get(object_type="event").last_error.startswith(
        "The Events API was refused (HTTP 403) to API_KEY (rk_test_…Abcd)")
