"""stripe_verify --enqueue: a verification split into (type, account) shards on the sync's
shard machinery, each recorded in a VerificationRun row as an inline run is. Tasks run
here in the test's own process (the worker-process test is in test_workers.py); these run
on SQLite, PostgreSQL and MariaDB alike."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from stripe_django.models import Customer, Invoice, SyncRun, SyncShard, VerificationRun
from stripe_django.sync import sync
from stripe_django.sync.distributed import CHANGES, requeue
from stripe_django.testing.objects import invoice_line, make_object
from stripe_django.testing.stripe_stub import StripeStub
from stripe_django.verify import EXTRA, MISSING, STALE, upper_bound, verify
from stripe_django.verify.enqueued import enqueue_verification, verification_report

from .test_sync import ACCOUNTS, dummy, drain, point  # noqa: F401 - a fixture

# Transactions of their own, as the workers' tasks run: a verification's retrieves take
# their slot of the shared pace (a row in the database) from the comparing thread while
# its listing thread takes slots too, and a test-wide transaction would keep that row
# locked from the listing thread's connection.
pytestmark = pytest.mark.django_db(transaction=True)

TYPES = ["customer", "invoice", "product"]
LISTS = {"customers": 45, "invoices": 12, "products": 7}


def drift(stub: StripeStub) -> set[tuple[str, str, str, str]]:
    """Make the synced mirror drift; returns the (kind, type, id, account) expected."""
    Customer.objects.filter(pk="cus_00000005").delete()
    stub.change("cus_00000007", email="changed@example.com")
    stub.delete("cus_00000009")
    invoice = make_object("invoices", 3)
    stub.change(invoice["id"], lines={**invoice["lines"], "data": [invoice_line(invoice["id"], 0)]},
                amount_due=300)
    connected = Customer.objects.for_account(ACCOUNTS[1]).order_by("pk").first()
    Customer.objects.filter(pk=connected.pk).update(email="edited@example.com")
    return {(MISSING, "customer", "cus_00000005", ""), (STALE, "customer", "cus_00000007", ""),
            (EXTRA, "customer", "cus_00000009", ""), (STALE, "invoice", "in_00000003", ""),
            (EXTRA, "line_item", "il_00000003_1", ""),
            (STALE, "customer", connected.pk, ACCOUNTS[1])}


def recorded(run_id: str) -> set[tuple[str, str, str, str]]:
    return {(d["kind"], d["type"], d["id"], r.account)
            for r in VerificationRun.objects.filter(run=run_id) for d in r.differences}


def test_an_enqueued_verification_finds_what_an_inline_one_finds_and_records_it_the_same_way(
        settings, dummy, django_capture_on_commit_callbacks):  # noqa: F811
    with StripeStub(LISTS, accounts=ACCOUNTS) as stub:
        point(settings, stub, SYNC_PAGE_SIZE=100)
        assert sync(TYPES, all_accounts=True, events=False).ok
        expected = drift(stub)
        inline = verify(TYPES, all_accounts=True)
        with django_capture_on_commit_callbacks(execute=True):
            run = enqueue_verification(TYPES, all_accounts=True)
        shards = SyncShard.objects.filter(run=run)
        # one shard per (type, account), and no Events API catch-up: a verification
        # moves no cursor
        assert shards.count() == len(TYPES) * (1 + len(ACCOUNTS))
        assert not shards.filter(name=CHANGES).exists()
        start = stub.served
        results = drain(dummy, django_capture_on_commit_callbacks)
        served = stub.served - start
    assert len(results) == shards.count() and all(r["ran"] for r in results)
    run.refresh_from_db()
    assert run.finished and str(run) == f"verification run {run.pk}"
    assert set(shards.values_list("status", flat=True)) == {"ok"}
    # the same rows as the inline run's, under the run's own id
    job = run.options["verify"]
    records = VerificationRun.objects.filter(run=job["run"])
    assert records.count() == VerificationRun.objects.filter(run=inline.run).count() == shards.count()
    assert recorded(job["run"]) == recorded(inline.run) == expected
    customers = records.get(object_type="customer", account="")
    assert (customers.status, customers.missing, customers.extra, customers.stale) == ("ok", 1, 1, 1)
    assert customers.finished_at is not None and not customers.healing
    # as many requests as the inline run (less the list of connected accounts, made
    # when the run was enqueued), counted on the shards too
    assert served == inline.requests - 1 == sum(shards.values_list("requests", flat=True))
    # nothing written without heal
    assert not Customer.objects.filter(pk="cus_00000005").exists()
    report = verification_report(run)
    assert {(d.kind, d.object_type, d.id) for d in report.differences} == {e[:3] for e in expected}
    assert report.ok and not report.clean


def test_an_enqueued_heal_repairs_and_the_next_enqueued_run_is_clean(
        settings, dummy, django_capture_on_commit_callbacks, capsys):  # noqa: F811
    with StripeStub(LISTS, accounts=ACCOUNTS) as stub:
        point(settings, stub, SYNC_PAGE_SIZE=100)
        assert sync(TYPES, all_accounts=True, events=False).ok
        expected = drift(stub)
        with django_capture_on_commit_callbacks(execute=True):
            call_command("stripe_verify", *TYPES, "--all-accounts", "--enqueue", "--heal")
        run = SyncRun.objects.get()
        assert f"verification run {run.pk}: 12 shard(s) enqueued" in capsys.readouterr().out
        drain(dummy, django_capture_on_commit_callbacks)
        assert recorded(run.options["verify"]["run"]) == expected
        assert sum(VerificationRun.objects.values_list("healed", flat=True)) == len(expected)
        assert Customer.objects.get(pk="cus_00000005").email == "customer5@example.com"
        assert Customer.objects.get(pk="cus_00000009").deleted
        assert Invoice.objects.get(pk="in_00000003").amount_due == 300
        # the run's summary, from its rows: healed, so the command succeeds
        call_command("stripe_verify", "--run", str(run.pk))
        out = capsys.readouterr().out
        assert f"verification run {run.pk} (finished" in out
        assert "missing: customer cus_00000005: not in the mirror" in out
        assert "6 difference(s), 6 healed" in out

        dummy.clear()
        with django_capture_on_commit_callbacks(execute=True):
            again = enqueue_verification(TYPES, all_accounts=True)
        drain(dummy, django_capture_on_commit_callbacks)
    assert recorded(again.options["verify"]["run"]) == set()
    call_command("stripe_verify", "--run", str(again.pk))
    assert "0 difference(s)" in capsys.readouterr().out


def test_an_enqueued_sample_records_its_bound(settings, dummy, django_capture_on_commit_callbacks,
                                              capsys):  # noqa: F811
    with StripeStub({"customers": 60}) as stub:
        point(settings, stub)
        assert sync(["customer"], events=False).ok
        Customer.objects.filter(pk__in=["cus_00000001", "cus_00000002"]).update(email="x@example.com")
        with django_capture_on_commit_callbacks(execute=True):
            run = enqueue_verification(["customer"], sample=60)
        start = stub.served
        drain(dummy, django_capture_on_commit_callbacks)
        assert stub.served - start == 60  # one retrieve per sampled row
    record = VerificationRun.objects.get(run=run.options["verify"]["run"])
    assert (record.mode, record.stale, record.compared) == ("sample", 2, 60)
    assert record.upper_bound == pytest.approx(upper_bound(2, 60))
    with pytest.raises(CommandError, match="2 difference"):
        call_command("stripe_verify", "--run", str(run.pk))
    assert "sample: 2 of 60 differ: below" in capsys.readouterr().out


def test_a_verification_shard_delivered_twice_runs_once_and_a_dead_workers_is_requeued(
        settings, dummy, django_capture_on_commit_callbacks):  # noqa: F811
    from stripe_django.sync.distributed import run_shard

    with StripeStub({"customers": 5}) as stub:
        point(settings, stub, SYNC_LEASE_SECONDS=60)
        assert sync(["customer"], events=False).ok
        with django_capture_on_commit_callbacks(execute=True):
            run = enqueue_verification(["customer"])
        shard = SyncShard.objects.get(run=run)
        first = run_shard(shard.pk)
        served = stub.served
        second = run_shard(shard.pk)
        assert first["ran"] and first["status"] == "ok"
        assert second == {"shard": shard.pk, "status": "ok", "ran": False}
        assert stub.served == served
        assert VerificationRun.objects.filter(run=run.options["verify"]["run"]).count() == 1

        # a worker died while it ran a shard: it is queued again once its start is
        # older than the lease (a verification takes no cursor lease)
        with django_capture_on_commit_callbacks(execute=True):
            stuck = enqueue_verification(["customer"])
        row = SyncShard.objects.get(run=stuck)
        SyncShard.objects.filter(pk=row.pk).update(status="running", attempts=1,
                                                   started_at=timezone.now())
        assert requeue(stuck.pk) == 0
        # started long ago, but its worker marked it alive lately: still at it
        SyncShard.objects.filter(pk=row.pk).update(
            started_at=timezone.now() - dt.timedelta(seconds=600), alive_at=timezone.now())
        assert requeue(stuck.pk) == 0
        SyncShard.objects.filter(pk=row.pk).update(
            started_at=timezone.now() - dt.timedelta(seconds=600),
            alive_at=timezone.now() - dt.timedelta(seconds=61))
        dummy.clear()
        with django_capture_on_commit_callbacks(execute=True):
            assert requeue(stuck.pk) == 1
        drain(dummy, django_capture_on_commit_callbacks)
    assert SyncShard.objects.get(pk=row.pk).status == "ok"
    assert VerificationRun.objects.filter(run=stuck.options["verify"]["run"], status="ok").count() == 1


def test_a_long_verification_shard_marks_itself_alive_as_it_goes(
        settings, dummy, django_capture_on_commit_callbacks):  # noqa: F811
    from stripe_django.sync.distributed import run_shard

    with StripeStub({"customers": 400}) as stub:
        point(settings, stub, SYNC_PAGE_SIZE=100)
        assert sync(["customer"], events=False).ok
        # alive marks a fifth of the lease apart: 0.2 s, and each page takes 0.1 s more
        point(settings, stub, SYNC_PAGE_SIZE=100, SYNC_LEASE_SECONDS=1)
        stub.latency = 0.1
        with django_capture_on_commit_callbacks(execute=True):
            run = enqueue_verification(["customer"])
        shard = SyncShard.objects.get(run=run)
        assert run_shard(shard.pk)["status"] == "ok"
    shard.refresh_from_db()
    assert shard.alive_at is not None and shard.started_at < shard.alive_at <= shard.finished_at


def test_the_commands_tell_a_sync_run_from_a_verification(settings, dummy,
                                                          django_capture_on_commit_callbacks):  # noqa: F811
    from stripe_django.sync.distributed import enqueue_run

    with StripeStub({"customers": 5}) as stub:
        point(settings, stub)
        with django_capture_on_commit_callbacks(execute=True):
            sync_run = enqueue_run(["customer"], events=False)
            verification = enqueue_verification(["customer"])
    with pytest.raises(CommandError, match=f"run {sync_run.pk} is a sync: `manage.py stripe_sync"):
        call_command("stripe_verify", "--run", str(sync_run.pk))
    with pytest.raises(CommandError, match=f"is a verification: `manage.py stripe_verify --run "
                                           f"{verification.pk}`"):
        call_command("stripe_sync", "--run", str(verification.pk))
    with pytest.raises(CommandError, match="no verification run 999"):
        call_command("stripe_verify", "--run", "999")
    with pytest.raises(CommandError, match="--workers must be at least 1"):
        call_command("stripe_verify", "--enqueue", "--workers", "0")
    with pytest.raises(CommandError, match="--timeout goes with --wait"):
        call_command("stripe_verify", "--run", "1", "--timeout", "3")
    with pytest.raises(CommandError, match="unknown type 'nope'"):
        call_command("stripe_verify", "nope", "--enqueue")


def test_the_admin_names_a_verification_run_and_links_its_verifications(
        settings, dummy, django_capture_on_commit_callbacks, client):  # noqa: F811
    from django.contrib.auth.models import User
    from django.urls import reverse

    from stripe_django.sync.distributed import enqueue_run

    with StripeStub({"customers": 5}) as stub:
        point(settings, stub)
        assert sync(["customer"], events=False).ok
        with django_capture_on_commit_callbacks(execute=True):
            sync_run = enqueue_run(["customer"], events=False)
            run = enqueue_verification(["customer"])
        drain(dummy, django_capture_on_commit_callbacks)
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    page = client.get(reverse("admin:stripe_django_syncrun_change", args=[run.pk])).content.decode()
    runs = reverse("admin:stripe_django_verificationrun_changelist")
    assert f'<a href="{runs}?q={run.options["verify"]["run"]}">the verifications of this run</a>' in page
    listed = client.get(f'{runs}?q={run.options["verify"]["run"]}').content.decode()
    assert "1 verification" in listed and "customer" in listed
    other = client.get(reverse("admin:stripe_django_syncrun_change", args=[sync_run.pk])).content.decode()
    assert "the verifications of this run" not in other
    health = client.get(reverse("admin:stripe_django_health")).content.decode()
    assert "<td>verification</td>" in health and "<td>sync</td>" in health
