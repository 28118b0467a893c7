"""The last verification of each type on the health page, and the check of its age."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.checks import run_checks
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from stripe_django.models.sync_state import SyncCursor
from stripe_django.models.verification import VerificationRun

pytestmark = pytest.mark.django_db

HEALTH = "/admin/stripe_django/synccursor/health/"
OK, FAILED = VerificationRun.Status.OK, VerificationRun.Status.FAILED


def run(object_type="customer", account="", ago=dt.timedelta(hours=1), status=OK, **counts):
    started = timezone.now() - ago
    return VerificationRun.objects.create(
        run=f"r{started.timestamp()}", object_type=object_type, account=account, status=status,
        started_at=started, finished_at=started + dt.timedelta(seconds=5), **counts)


def cell(text: str, object_type: str) -> str:
    """The last-verification cell of the first row of ``object_type``."""
    row = text.split(f">{object_type}</a></td>", 1)[1].split("</tr>", 1)[0]
    return row.split('<td class="verification', 1)[1]


def test_the_platform_row_links_its_last_completed_verification(admin_client):
    now = timezone.now()
    SyncCursor.objects.create(object_type="customer", complete=True, last_synced_at=now)
    SyncCursor.objects.create(object_type="invoice", complete=True, last_synced_at=now)
    differing = run("customer", compared=120, missing=2, extra=1, stale=3)
    run("customer", ago=dt.timedelta(minutes=5), status=FAILED, compared=7)  # stopped half-way: not "last"
    run("customer", ago=dt.timedelta(days=3), compared=100)  # older
    clean = run("invoice", compared=40)

    text = admin_client.get(HEALTH).content.decode()
    customer = cell(text, "customer")
    assert customer.startswith(' level-warning">')
    assert f'href="/admin/stripe_django/verificationrun/{differing.pk}/change/"' in customer
    assert "120 compared, <strong>6 differing</strong> (2 missing, 1 extra, 3 stale)" in customer
    invoice = cell(text, "invoice")
    assert invoice.startswith('">') and "40 compared, 0 differing" in invoice
    assert f"/verificationrun/{clean.pk}/change/" in invoice
    assert "The last verification of 1 type(s) found differences from Stripe: customer." in text
    # no VERIFY_MAX_AGE: neither age nor "never verified" is a warning
    assert "VERIFY_MAX_AGE" not in text


def test_verify_max_age_marks_old_and_missing_verifications(admin_client, settings):
    settings.STRIPE_DJANGO = {"VERIFY_MAX_AGE": dt.timedelta(days=1)}
    now = timezone.now()
    for name in ("customer", "invoice", "charge"):
        SyncCursor.objects.create(object_type=name, complete=True, last_synced_at=now)
    run("customer", ago=dt.timedelta(days=2), compared=10)
    run("invoice", ago=dt.timedelta(hours=2), compared=10)

    text = admin_client.get(HEALTH).content.decode()
    assert cell(text, "customer").startswith(' level-warning">') and "older than VERIFY_MAX_AGE" in cell(text, "customer")
    assert cell(text, "invoice").startswith('">')
    charge = cell(text, "charge")
    assert charge.startswith(' level-warning">') and "never" in charge
    assert "2 synced type(s) have no verification within VERIFY_MAX_AGE (1 day, 0:00:00): charge, customer." in text

    settings.STRIPE_DJANGO = {"VERIFY_MAX_AGE": 3 * 86400}  # seconds: customer's run is recent enough
    text = admin_client.get(HEALTH).content.decode()
    assert cell(text, "customer").startswith('">')
    assert "1 synced type(s) have no verification within VERIFY_MAX_AGE (3 days, 0:00:00): charge." in text


def _connected(n: int) -> None:
    now = timezone.now()
    SyncCursor.objects.create(object_type="customer", complete=True, last_synced_at=now)
    SyncCursor.objects.bulk_create(
        SyncCursor(object_type="customer", account=f"acct_{i:04d}", complete=True, last_synced_at=now)
        for i in range(n))
    started = now - dt.timedelta(hours=1)
    runs = []
    for i in range(n):
        # each account: an old run that found drift, then a clean newer one (the one counted)
        for ago, missing in ((dt.timedelta(days=2), 1), (dt.timedelta(hours=1), 0)):
            runs.append(VerificationRun(run=f"r{i}-{missing}", object_type="customer",
                                        account=f"acct_{i:04d}", status=OK, started_at=now - ago,
                                        finished_at=now, compared=10, missing=missing))
    runs[-1].stale = 1  # the last account's newest run differs
    runs[1].started_at = started - dt.timedelta(minutes=30)  # the oldest newest run
    VerificationRun.objects.bulk_create(runs)


def _queries(admin_client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(HEALTH)
    assert page.status_code == 200
    return len(queries), page.content.decode()


def test_connected_accounts_are_summed_in_a_bounded_number_of_queries(admin_client):
    _connected(3)
    few, _ = _queries(admin_client)
    VerificationRun.objects.all().delete()
    SyncCursor.objects.all().delete()
    _connected(500)
    many, text = _queries(admin_client)
    # session, user, cursors (2), rows of the model, verifications (2), events (4), sync
    # runs, the failed-events check, the Events API check, the sidebar's non-empty types:
    # the same at 3 and 500 accounts
    assert many == few == 15
    row = text.split("500 connected accounts</a>", 1)[1].split("</tr>", 1)[0]
    assert "(500 accounts, oldest" in row
    assert "5000 compared, <strong>1 differing</strong> (0 missing, 0 extra, 1 stale)" in row
    assert "/admin/stripe_django/verificationrun/?object_type__exact=customer&amp;livemode__exact=0" in row


def test_the_system_check_warns_only_with_verify_max_age(settings):
    now = timezone.now()
    SyncCursor.objects.create(object_type="customer", complete=True, last_synced_at=now)
    SyncCursor.objects.create(object_type="invoice", account="acct_1", last_synced_at=now)
    SyncCursor.objects.create(object_type="charge")  # never synced: nothing to verify
    run("customer", ago=dt.timedelta(hours=30), compared=1)

    def ids():
        return [m.id for m in run_checks(tags=["stripe_django"], databases=["default"])
                if m.id in ("stripe_django.W083", "stripe_django.E082")]

    settings.STRIPE_DJANGO = {"API_KEY": "sk_test_x", "WEBHOOK_SECRETS": ["whsec_x"]}
    assert ids() == []
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "VERIFY_MAX_AGE": dt.timedelta(hours=12)}
    [warning] = [m for m in run_checks(tags=["stripe_django"], databases=["default"])
                 if m.id == "stripe_django.W083"]
    assert warning.msg == ("2 synced type(s) and account(s) have no verification within "
                           "VERIFY_MAX_AGE (12:00:00), 1 of them none ever: customer, invoice.")
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "VERIFY_MAX_AGE": 2 * 86400}
    SyncCursor.objects.filter(account="acct_1").delete()
    assert ids() == []
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "VERIFY_MAX_AGE": "7d"}
    assert ids() == ["stripe_django.E082"]
    assert "must be a timedelta, a number of seconds or None, not str" in [
        m.msg for m in run_checks(tags=["stripe_django"]) if m.id == "stripe_django.E082"][0]
