"""Webhook events on Django Tasks: the view stores and enqueues, a task processes through
the same claim and ingest as the inline path; transient failures are retried later."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from stripe_django.models import Customer, Event
from stripe_django.models.processing import ProcessingStatus

from ..webhooks.conftest import customer, make_event
from ..webhooks.conftest import deliver  # noqa: F401 - a fixture
from .conftest import DUMMY, IMMEDIATE

pytestmark = pytest.mark.django_db


def _task():
    from stripe_django.tasks import process_stripe_event

    return process_stripe_event


def test_the_view_stores_the_event_and_enqueues_its_processing(deliver, use_tasks,
                                                                  django_capture_on_commit_callbacks):
    backend = use_tasks(DUMMY)
    event = make_event(customer("cus_queued1"))
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(event)
    assert response.status_code == 200 and b"queued" in response.content
    row = Event.objects.get(pk=event["id"])
    assert row.processing_status == ProcessingStatus.PENDING
    assert not Customer.objects.exists()
    [queued] = backend.results
    assert queued.task.name == "process_stripe_event" and queued.args == [event["id"], None]
    # The worker's part: the same claim and ingest as inline.
    result = _task().call(*queued.args)
    assert result == {"event": event["id"], "status": "processed", "ignored": False}
    assert Customer.objects.get().id == "cus_queued1"
    assert Event.objects.get().processing_status == ProcessingStatus.PROCESSED
    # A second delivery of the task (or of the event) changes nothing.
    assert _task().call(*queued.args)["status"] == "duplicate"
    assert Event.objects.get().processing_attempts == 1


def test_enqueue_waits_for_the_commit(use_tasks):
    from stripe_django.tasks import receive_event_later

    backend = use_tasks(DUMMY)
    event = make_event(customer("cus_oncommit"))
    with transaction.atomic():
        outcome = receive_event_later(event, endpoint="")
        assert outcome.status == "queued" and backend.results == []
    # (the test's own transaction never commits: nothing was enqueued)
    assert backend.results == []


def test_an_immediate_backend_processes_before_the_answer(deliver, use_tasks,
                                                          django_capture_on_commit_callbacks):
    use_tasks(IMMEDIATE)
    event = make_event(customer("cus_immediate"))
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(event).status_code == 200
    assert Customer.objects.get().id == "cus_immediate"


@pytest.mark.django_db(transaction=True)
def test_an_event_that_cannot_be_enqueued_is_processed_inline(deliver, use_tasks, monkeypatch):
    import stripe_django.tasks as tasks

    use_tasks(DUMMY)

    def broken(*args, **kwargs):
        raise ConnectionError("the queue is down")

    monkeypatch.setattr(tasks, "enqueue", broken)
    event = make_event(customer("cus_fallback"))
    response = deliver(event)
    assert response.status_code == 200 and response.content == b"processed\n"
    assert Customer.objects.get().id == "cus_fallback"


def test_unusable_events_are_stored_failed_and_not_enqueued(deliver, use_tasks,
                                                            django_capture_on_commit_callbacks):
    backend = use_tasks(DUMMY)
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(b'{"id": "evt_notjson", ')
    assert response.status_code == 200 and backend.results == []
    assert Event.objects.get().processing_status == ProcessingStatus.FAILED


def test_transient_failures_are_retried_with_backoff(deliver, use_tasks, unused_port,
                                                     django_capture_on_commit_callbacks):
    from stripe_django.tasks import EventNotProcessed

    # The object is re-fetched from an API that does not answer: a failure that may pass.
    backend = use_tasks(DUMMY, REFETCH_ON_EVENT=True, API_BASE=f"http://127.0.0.1:{unused_port}",
                        MAX_NETWORK_RETRIES=0, EVENT_RETRY_DELAY=10, EVENT_MAX_ATTEMPTS=3)
    event = make_event(customer("cus_retry"))
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(event).status_code == 200
    delays = []  # (least, most) seconds from the attempt to its retry
    for attempt in (1, 2, 3):
        queued = backend.results[-1]
        before = timezone.now()
        with pytest.raises(EventNotProcessed) as failure:
            _task().call(*queued.args)
        after = timezone.now()
        row = Event.objects.get()
        assert row.processing_status == ProcessingStatus.FAILED
        assert row.processing_attempts == attempt
        if attempt < 3:
            retry = backend.results[-1]
            assert retry is not queued and retry.args == [event["id"], None]
            delays.append(((retry.task.run_after - after).total_seconds(),
                           (retry.task.run_after - before).total_seconds()))
            assert "tried again in" in str(failure.value)
        else:
            assert backend.results[-1] is queued  # EVENT_MAX_ATTEMPTS: the safety net's now
            assert "no more retries" in str(failure.value)
    # EVENT_RETRY_DELAY, doubled each time, counted from some moment of the attempt
    assert [least <= delay <= most for (least, most), delay in zip(delays, (10, 20))] == [True] * 2, delays
    assert not Customer.objects.exists()


def test_a_refused_payload_is_not_retried(deliver, use_tasks, django_capture_on_commit_callbacks):
    from stripe_django.tasks import EventNotProcessed

    backend = use_tasks(DUMMY)
    event = make_event(customer("cus_refused", balance=float("nan")))
    with django_capture_on_commit_callbacks(execute=True):
        deliver(event)
    if not backend.results:  # refused while storing: stored failed, nothing to enqueue
        assert Event.objects.get().processing_status == ProcessingStatus.FAILED
        return
    with pytest.raises(EventNotProcessed) as failure:
        _task().call(*backend.results[0].args)
    assert len(backend.results) == 1 and "tried again" not in str(failure.value)


def test_the_retry_delay_doubles_up_to_an_hour(settings):
    from stripe_django.tasks import retry_delay

    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "EVENT_RETRY_DELAY": 5}
    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert retry_delay(30) == 3600
    assert dt.timedelta(seconds=retry_delay(1)) == dt.timedelta(seconds=5)


def test_without_the_setting_the_view_processes_inline(deliver, settings):
    settings.TASKS = {"default": {"BACKEND": DUMMY}}
    event = make_event(customer("cus_inline"))
    assert deliver(event).content == b"processed\n"
    assert Customer.objects.get().id == "cus_inline"


def test_a_redelivered_event_already_processed_is_not_enqueued_again(
        deliver, use_tasks, django_capture_on_commit_callbacks):
    backend = use_tasks(DUMMY)
    event = make_event(customer("cus_redelivered"))
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(event).status_code == 200
    _task().call(*backend.results[0].args)
    # Stripe delivers it again (it does, now and then): nothing to queue
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(event)
    assert response.status_code == 200 and response.content == b"already processed\n"
    assert len(backend.results) == 1


def test_thin_notification_is_queued_and_processed_by_the_task(deliver, use_tasks, stripe_examples,
                                                               django_capture_on_commit_callbacks):
    """A thin event notification takes the tasks path too: stored by the view, fetched
    and ingested by the worker."""
    from stripe_django.models import Invoice
    from stripe_django.testing.stripe_stub import StripeStub

    from ..webhooks.test_thin import notification, related

    invoice = dict(stripe_examples["invoice"], status="paid")
    with StripeStub() as stub:
        backend = use_tasks(DUMMY, API_KEY="sk_test_tasks", API_BASE=stub.api_base,
                            MAX_NETWORK_RETRIES=0)
        stub.answer("GET", f"/v1/invoices/{invoice['id']}", invoice)
        note = notification("v1.invoice.paid", related("invoice", invoice["id"], "/v1/invoices"))
        with django_capture_on_commit_callbacks(execute=True):
            response = deliver(note)
        assert response.status_code == 200 and b"queued" in response.content
        assert Event.objects.get(pk=note["id"]).processing_status == ProcessingStatus.PENDING
        assert not stub.requests
        [queued] = backend.results
        assert _task().call(*queued.args)["status"] == "processed"
    assert Invoice.objects.get(pk=invoice["id"]).status == "paid"
    assert Event.objects.get(pk=note["id"]).processing_status == ProcessingStatus.PROCESSED
