"""The events admin's "retry" and "replay" actions: the same code as
``manage.py stripe_process_events``, started from the list of events."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User

from stripe_django.models import Customer, Event

from ..webhooks.conftest import customer, make_event

pytestmark = pytest.mark.django_db

EVENTS = "/admin/stripe_django/event/"


def act(client, action: str, *ids: str):
    response = client.post(EVENTS, {"action": action, "_selected_action": list(ids)}, follow=True)
    assert response.status_code == 200
    return [str(m) for m in response.context["messages"]]


def test_retry_processes_failed_events_again(admin_client, deliver, settings, unused_port):
    # The API is unreachable while the event needs it: the event fails, transiently.
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "REFETCH_ON_EVENT": True, "MAX_NETWORK_RETRIES": 0,
                              "API_BASE": f"http://127.0.0.1:{unused_port}"}
    transient = make_event(customer("cus_later"), "customer.updated")
    assert deliver(transient).status_code == 500
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "REFETCH_ON_EVENT": False}
    # A payload that is refused fails again whatever is done.
    refused = make_event(customer("cus_refused", balance="a lot"), "customer.updated")
    assert deliver(refused).status_code == 200
    assert set(Event.objects.values_list("processing_status", flat=True)) == {"failed"}

    messages = act(admin_client, "retry", transient["id"], refused["id"])
    assert messages[0] == "Retried 2 event(s): 1 processed, 0 already processed, 1 failed"
    assert any(refused["id"] in m and "balance" in m for m in messages[1:])
    assert Event.objects.get(pk=transient["id"]).processing_status == "processed"
    assert Customer.objects.filter(pk="cus_later").exists()
    row = Event.objects.get(pk=refused["id"])
    assert row.processing_status == "failed" and row.processing_attempts == 2
    # a processed event is not processed twice
    assert act(admin_client, "retry", transient["id"])[0] == (
        "Retried 1 event(s): 0 processed, 1 already processed, 0 failed")


def test_replay_fetches_the_event_from_stripe_and_processes_it(admin_client, deliver, server):
    # server: an empty localstripe, the settings pointing at it (the tests' webhook secret)
    created = server.client().v1.customers.create(params={"email": "replayed@example.com"})
    event_id = next(e.id for e in server.client().v1.events.list().auto_paging_iter()
                    if e.type == "customer.created")
    # What was delivered under that id could not be processed.
    broken = make_event(customer(created.id, balance="a lot"), "customer.created", event_id=event_id)
    deliver(broken)
    assert Event.objects.get(pk=event_id).processing_status == "failed"
    messages = act(admin_client, "replay", event_id)
    assert messages == ["Replayed 1 event(s): 1 processed, 0 already processed, 0 failed"]
    assert Event.objects.get(pk=event_id).processing_status == "processed"
    assert Customer.objects.get(pk=created.id).email == "replayed@example.com"
    # An event Stripe does not have is reported, and nothing else changes.
    deliver(make_event(customer("cus_x"), "customer.created", event_id="evt_unknown_to_stripe"))
    messages = act(admin_client, "replay", "evt_unknown_to_stripe")
    assert messages[0].endswith("1 failed") and "evt_unknown_to_stripe" in messages[1]


def test_actions_need_the_permission_to_change_events(client, deliver):
    clerk = User.objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_event"))
    client.force_login(clerk)
    event = make_event(customer("cus_refused", balance="a lot"), "customer.updated")
    deliver(event)
    page = client.get(EVENTS).content.decode()
    assert "cus_refused" in page and 'value="retry"' not in page
    response = client.post(EVENTS, {"action": "retry", "_selected_action": [event["id"]]})
    assert Event.objects.get().processing_attempts == 1  # not processed again
    assert response.status_code == 200  # the list again, with "No action selected"


def test_the_events_of_an_object_are_found_by_its_id(admin_client, deliver):
    first = make_event(customer("cus_searched"), "customer.created")
    second = make_event(customer("cus_searched", name="Renamed"), "customer.updated")
    other = make_event(customer("cus_other"), "customer.created")
    for event in (first, second, other):
        deliver(event)
    found = admin_client.get(EVENTS, {"q": "cus_searched"}).content.decode()
    listed = found[found.index('<table id="result_list"'):]
    assert first["id"] in listed and second["id"] in listed and other["id"] not in listed
    # an event's own id and a type still find the events themselves
    assert other["id"] in admin_client.get(EVENTS, {"q": other["id"]}).content.decode()
    by_type = admin_client.get(EVENTS, {"q": "customer.updated"}).content.decode()
    assert second["id"] in by_type[by_type.index('<table id="result_list"'):]
    # the customer's page links to them
    page = admin_client.get("/admin/stripe_django/customer/cus_searched/change/").content.decode()
    assert '/admin/stripe_django/event/?q=cus_searched">events about cus_searched</a>' in page


def test_an_event_page_starts_with_its_object_status_and_error(admin_client, deliver):
    from django.contrib.admin.utils import quote

    event = make_event(customer("cus_summary"), "customer.created")
    deliver(event)
    page = admin_client.get(f"/admin/stripe_django/event/{quote(event['id'])}/change/").content.decode()
    summary = page[:page.index("All fields")]
    assert f'<a href="/admin/stripe_django/customer/{quote("cus_summary")}/change/">cus_summary</a>' in summary
    assert ">processed</strong>" in summary and "Attempts" in summary


def test_an_event_page_does_not_show_its_objects_secret(admin_client, deliver):
    from django.contrib.admin.utils import quote

    intent = {"id": "pi_s", "object": "payment_intent", "amount": 100, "currency": "usd",
              "client_secret": "pi_s_secret_zzz", "customer": None, "status": "succeeded",
              "livemode": False, "created": 1_600_000_000}
    event = make_event(intent, "payment_intent.succeeded")
    deliver(event)
    for url in (f"/admin/stripe_django/event/{quote(event['id'])}/change/", EVENTS,
                "/admin/stripe_django/paymentintent/pi_s/change/"):
        page = admin_client.get(url)
        assert page.status_code == 200 and b"pi_s" in page.content
        assert b"pi_s_secret_zzz" not in page.content, url


def test_retry_from_the_event_s_page_after_a_confirmation(admin_client, deliver, settings, unused_port):
    from django.contrib.admin.utils import quote

    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "REFETCH_ON_EVENT": True, "MAX_NETWORK_RETRIES": 0,
                              "API_BASE": f"http://127.0.0.1:{unused_port}"}
    event = make_event(customer("cus_page_retry", email="again@example.com"), "customer.updated")
    assert deliver(event).status_code == 500
    settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "REFETCH_ON_EVENT": False}
    page_url = f"{EVENTS}{quote(event['id'])}/change/"
    retry_url = f"{EVENTS}{quote(event['id'])}/retry/"
    page = admin_client.get(page_url).content.decode()
    assert f'<a href="{retry_url}" class="stripe-event-retry">Retry</a>' in page
    # the link asks first: nothing is processed by a GET
    confirmation = admin_client.get(retry_url)
    assert confirmation.status_code == 200
    text = confirmation.content.decode()
    assert event["id"] in text and "APIConnectionError" in text and 'method="post"' in text
    assert Event.objects.get(pk=event["id"]).processing_status == "failed"
    # confirmed: processed, back on the event's page, the id not capitalized
    response = admin_client.post(retry_url, follow=True)
    assert response.redirect_chain[-1][0] == page_url
    assert Event.objects.get(pk=event["id"]).processing_status == "processed"
    assert Customer.objects.get(pk="cus_page_retry").email == "again@example.com"
    html = response.content.decode()
    assert "Retried 1 event(s): 1 processed, 0 already processed, 0 failed" in html


def test_a_failure_message_names_the_event_by_its_own_id(admin_client, deliver):
    event = make_event(customer("cus_refused", balance="a lot"), "customer.updated")
    deliver(event)
    response = admin_client.post(EVENTS, {"action": "retry", "_selected_action": [event["id"]]}, follow=True)
    html = response.content.decode()
    assert f"Event {event['id']}: " in html and event["id"].capitalize() not in html


def test_the_retry_page_needs_the_permission_to_change_events(client, deliver):
    from django.contrib.admin.utils import quote

    clerk = User.objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_event"))
    client.force_login(clerk)
    event = make_event(customer("cus_refused", balance="a lot"), "customer.updated")
    deliver(event)
    page = client.get(f"{EVENTS}{quote(event['id'])}/change/").content.decode()
    assert "stripe-event-retry" not in page
    assert client.post(f"{EVENTS}{quote(event['id'])}/retry/").status_code == 403
    assert Event.objects.get().processing_attempts == 1
