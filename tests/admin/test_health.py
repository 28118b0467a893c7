"""The mirror's health page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from stripe_django.models import Event
from stripe_django.models.sync_state import SyncCursor

from ..webhooks.conftest import customer, make_event
from .conftest import mirror

pytestmark = pytest.mark.django_db

HEALTH = "/admin/stripe_django/synccursor/health/"


def test_a_new_mirror_says_what_is_missing(admin_client, settings):
    settings.STRIPE_DJANGO = {"API_KEY": "sk_test_x"}  # no webhook secret
    page = admin_client.get(HEALTH)
    assert page.status_code == 200
    text = page.content.decode()
    assert "WEBHOOK_SECRETS" in text  # the system check's warning
    assert "stripe_sync has never stored a page" in text
    assert "No sync has run yet." in text
    assert "never</strong>" in text  # no processed event


def test_sync_rows_events_and_failures(admin_client, deliver):
    mirror(3)
    now = timezone.now()
    SyncCursor.objects.create(object_type="customer", complete=True, last_synced_at=now,
                              created_after=1_600_000_000)
    SyncCursor.objects.create(object_type="invoice", complete=False, starting_after="in_0001",
                              pass_started_at=now, last_synced_at=now, last_error="APIConnectionError: down")
    SyncCursor.objects.create(object_type="customer", account="acct_1", last_synced_at=None)
    SyncCursor.objects.create(object_type="charge", complete=False, pass_started_at=now,
                              slices=[{"lte": 2, "gte": 1, "starting_after": None, "done": True},
                                      {"lte": 0, "starting_after": "ch_1", "done": False}])
    deliver(make_event(customer("cus_ok"), "customer.created"))
    deliver(make_event(customer("cus_bad", balance="a lot"), "customer.updated"))
    # an event received two days ago is outside the window
    old = make_event(customer("cus_old"), "customer.created")
    deliver(old)
    Event.objects.filter(pk=old["id"]).update(received_at=now - dt.timedelta(days=2))

    text = admin_client.get(HEALTH).content.decode()
    # per type and account: rows (5 customers on the platform: 3, cus_ok, cus_old), cursor position, result
    assert "<td>5</td>" in text and "new objects from 2020-09-13 12:26:40 UTC" in text
    assert "full pass, after in_0001" in text and "failed: APIConnectionError: down" in text
    assert "full pass in created windows, 1 of 2 done" in text
    # the connected account's customers were never synced and it has none: not shown,
    # unless all types are asked for
    assert "connected account" not in text
    assert "1 type never synced and holding no rows" in text and 'href="?all=1"' in text
    every = admin_client.get(HEALTH, {"all": "1"}).content.decode()
    assert "1 connected account</a>" in every and "<td>0</td>" in every
    assert "0 of 1 complete" in every
    # events of the last 24 hours by status, failures linked to the filtered events list
    assert '<div class="figure status-processed">\n      <strong>1</strong>' in text
    assert '<div class="figure status-failed">\n      <strong>1</strong>' in text
    assert "/admin/stripe_django/event/?processing_status__exact=failed" in text
    # the refused payload fails again whatever is done: not counted as waiting for a retry
    assert "wait for a retry" not in text
    assert "1 failed webhook event(s) are refused for good" in text
    assert "The last sync of 1 type(s) failed: invoice." in text
    assert "Last sync: <strong>" in text
    # the chart: one bar layer per status of the current hour, the old event left out
    assert 'data-status="processed" data-count="1"' in text
    assert 'data-status="failed" data-count="1"' in text
    assert 'class="stripe-django-chart"' in text


def test_the_index_groups_models_by_family_and_links_the_health_page(admin_client):
    text = admin_client.get("/admin/", {"all_types": "1"}).content.decode()
    for family in ("Core", "Billing", "Payments", "Connect", "Mirror state"):
        assert f"Stripe mirror: {family}</a>" in text, family
    assert HEALTH in text
    billing = text.index(": Billing")
    assert text.index("/admin/stripe_django/creditnote/") > billing
    assert text.index(": Everyday") < text.index("/admin/stripe_django/invoice/") < billing
    app = admin_client.get("/admin/stripe_django/", {"all_types": "1"}).content.decode()
    assert HEALTH in app and ": Payments" in app


def test_the_index_puts_everyday_types_first_and_leaves_out_empty_ones(admin_client):
    mirror(1)  # customers, invoices (and their lines), subscriptions, charges
    text = admin_client.get("/admin/").content.decode()
    content = text[text.index('id="content-main"'):]
    everyday = content.index("Stripe mirror: Everyday</a>")
    assert everyday < content.index("Stripe mirror: Mirror state</a>")
    positions = [content.index(f"/admin/stripe_django/{name}/") for name in
                 ("customer", "invoice", "subscription", "charge")]
    assert positions == sorted(positions) and positions[0] > everyday
    assert "/admin/stripe_django/invoicelineitem/" in content  # has rows
    assert "/admin/stripe_django/issuingcard/" not in content  # none: left out
    assert "/admin/stripe_django/paymentintent/" not in content
    assert "Stripe mirror: Issuing</a>" not in content
    assert "Show all types" in content and "Stripe types without rows are not listed" in content
    # the sidebar too (on any admin page)
    page = admin_client.get("/admin/stripe_django/customer/").content.decode()
    sidebar = page[page.index('id="nav-sidebar"'):page.index("</nav>", page.index('id="nav-sidebar"'))]
    assert "Stripe mirror: Everyday" in sidebar and "/admin/stripe_django/issuingcard/" not in sidebar
    assert "/admin/stripe_django/customer/" in sidebar
    # and all on demand
    every = admin_client.get("/admin/", {"all_types": "1"}).content.decode()
    assert "/admin/stripe_django/issuingcard/" in every and "/admin/stripe_django/paymentintent/" in every


def test_the_sidebar_marks_one_entry_the_page_s_own(admin_client, deliver):
    import re

    mirror(1)  # customers, invoices, subscriptions, charges
    deliver(make_event(customer("cus_side"), "customer.created"))  # an event: the Mirror state section

    def marked(url: str) -> list[str]:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        sidebar = page[page.index('id="nav-sidebar"'):page.index("</nav>", page.index('id="nav-sidebar"'))]
        rows = re.findall(r'<tr class="model-[^"]*current-model">\s*<th[^>]*>\s*<a href="([^"]+)"', sidebar)
        sections = re.findall(r'<div class="app-stripe_django module current-app">', sidebar)
        assert len(sections) == (1 if rows else 0), url
        return rows

    # the health and revenue pages live under the sync cursors' and subscriptions' URLs
    assert marked(HEALTH) == [HEALTH]
    assert marked("/admin/stripe_django/subscription/revenue/") == ["/admin/stripe_django/subscription/revenue/"]
    assert marked("/admin/stripe_django/synccursor/") == ["/admin/stripe_django/synccursor/"]
    assert marked("/admin/stripe_django/customer/cus_side/change/") == ["/admin/stripe_django/customer/"]


def _run(key: str = "", *, finished: bool = True, shards: dict[str, int]):
    from stripe_django.models.sync_state import SyncRun, SyncShard

    run = SyncRun.objects.create(key=key, types=["customer"],
                                 finished_at=timezone.now() if finished else None)
    for i, (status, fetched) in enumerate(shards.items()):
        SyncShard.objects.create(run=run, account=f"acct_{i}", name="customer", status=status,
                                 fetched=fetched, failed=1 if status == "failed" else 0)
    return run


def test_sharded_runs_are_summed_up_with_a_fixed_number_of_queries(admin_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ok = _run(shards={"ok": 120})
    with CaptureQueriesContext(connection) as one:
        admin_client.get(HEALTH)
    failed = _run("brand_b", shards={"ok": 5, "failed": 7})
    running = _run(finished=False, shards={"running": 3, "queued": 0})
    with CaptureQueriesContext(connection) as three:
        text = admin_client.get(HEALTH).content.decode()
    assert len(three) == len(one)

    assert 'id="health-runs"' in text
    assert f'/admin/stripe_django/syncrun/{failed.pk}/change/' in text
    # newest first: the running run, then the failed one, then the first
    assert text.index(f">{running.pk}</a>") < text.index(f">{failed.pk}</a>") < text.index(f">{ok.pk}</a>")
    assert "<td>1 ok, 1 failed</td>" in text and "<td>12</td>" in text
    assert '<span class="level-error">failed</span>' in text
    assert "<td>brand_b</td>" in text and "running" in text


def test_hours_in_the_projects_time_zone_and_an_event_id_quoted_in_links(admin_client, deliver, settings):
    settings.TIME_ZONE = "Asia/Kolkata"  # UTC+05:30: hours counted in UTC, read locally
    # "_04" in an id reads as an escaped character unless the admin's quoting is used
    deliver(make_event(customer("cus_tz"), "customer.created", event_id="evt_04Ab"))
    text = admin_client.get(HEALTH).content.decode()
    received = Event.objects.get().received_at  # (not now: an hour may have begun since)
    hour = received.astimezone(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
    local = hour.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)))
    assert f"<title>{local:%H:%M} IST: 1 event(s), 1 processed</title>" in text
    assert "Per hour (IST)" in text and "UTC" not in text.split("Per hour")[0].rsplit("<svg", 1)[-1]
    link = '/admin/stripe_django/event/evt_5F04Ab/change/'
    assert f'href="{link}"' in text
    assert admin_client.get(link).status_code == 200


def test_failed_events_waiting_for_a_retry_are_counted_apart_from_those_refused(
        admin_client, deliver, settings, unused_port):
    # The API is unreachable when the event needs it: a retry may pass.
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "REFETCH_ON_EVENT": True, "MAX_NETWORK_RETRIES": 0,
                              "API_BASE": f"http://127.0.0.1:{unused_port}"}
    assert deliver(make_event(customer("cus_later"), "customer.updated")).status_code == 500
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "REFETCH_ON_EVENT": False}
    # Payloads refused: no retry passes.
    deliver(make_event(customer("cus_bad", balance="a lot"), "customer.updated"))
    deliver(make_event(customer("cus_worse", balance="none"), "customer.updated"))
    text = admin_client.get(HEALTH).content.decode()
    assert "1 failed webhook event(s) wait for a retry." in text
    assert "2 failed webhook event(s) are refused for good: no retry will process them." in text
    # a transient failure tried EVENT_MAX_ATTEMPTS times is given up on too
    Event.objects.filter(data__object__id="cus_later").update(processing_attempts=100)
    text = admin_client.get(HEALTH).content.decode()
    assert "wait for a retry" not in text and "3 failed webhook event(s) are refused for good" in text


def test_the_last_sync_line(admin_client):
    assert "Last sync: never." in admin_client.get(HEALTH).content.decode()
    now = timezone.now()
    SyncCursor.objects.create(object_type="customer", complete=True, last_synced_at=now)
    SyncCursor.objects.create(object_type="invoice", complete=True,
                              last_synced_at=now - dt.timedelta(hours=3))
    text = admin_client.get(HEALTH).content.decode()
    local = timezone.localtime(now)
    assert f"Last sync: <strong>{local:%Y-%m-%d %H:%M:%S}" in text
    oldest = timezone.localtime(now - dt.timedelta(hours=3))
    assert f"every synced type since {oldest:%Y-%m-%d %H:%M:%S}" in text


def _connected_cursors(accounts: int) -> None:
    now = timezone.now()
    SyncCursor.objects.bulk_create([
        SyncCursor(account=f"acct_{a:03d}", object_type=name, complete=a % 2 == 0,
                   last_synced_at=now - dt.timedelta(minutes=a) if name != "issuing.card" else None,
                   last_error="APIConnectionError: timed out" if (name, a) == ("invoice", 1) else "")
        for a in range(accounts) for name in ("customer", "invoice", "issuing.card")])


def test_connected_accounts_are_summed_up_per_type_with_a_fixed_number_of_queries(admin_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from stripe_django.sync import upsert_many
    from stripe_django.testing import payloads

    SyncCursor.objects.create(object_type="customer", complete=True, last_synced_at=timezone.now())
    _connected_cursors(4)
    with CaptureQueriesContext(connection) as few:
        admin_client.get(HEALTH)
    SyncCursor.objects.all().delete()
    SyncCursor.objects.create(object_type="customer", complete=True, last_synced_at=timezone.now())
    _connected_cursors(40)
    upsert_many([payloads.customer_current(f"cus_c{a}") for a in range(3)], account="acct_001")
    upsert_many([payloads.customer_current("cus_platform")])
    with CaptureQueriesContext(connection) as many:
        text = admin_client.get(HEALTH).content.decode()
    assert len(many) == len(few)
    sync = text[text.index('id="health-sync"'):text.index("</section>", text.index('id="health-sync"'))]
    # one row per type over the 40 accounts, not one per cursor; the platform's apart
    assert "acct_0" not in sync
    assert sync.count("<tr>") == 1 + 3  # the header, the platform's customers, connected customers and invoices
    assert "40 connected accounts</a>" in sync
    assert "/admin/stripe_django/synccursor/?object_type__exact=invoice&amp;livemode__exact=0" in sync
    assert "1 failed, e.g. APIConnectionError: timed out" in sync and "20 of 40 complete" in sync
    # rows: the platform's customer, and the connected accounts' three
    assert "<td>1</td>" in sync and "<td>3</td>" in sync
    # issuing cards: never synced by any account, no rows: hidden
    assert "issuing.card" not in sync and "2 types never synced" not in sync
    assert "1 type never synced and holding no rows" in sync
