"""MRR inside the events window: each subscription's state at a past date rebuilt from
the ``customer.subscription.*`` events delivered to the webhook view (signed), hand-computed.

The mirror is taken on 2026-04-20 (frozen time); the window is the 30 days before it
(from 2026-03-21). Every subscription bills 20.00 USD a month per unit (price_m) unless
said otherwise; each has its own customer.
"""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

from stripe_django import analytics
from stripe_django.analytics import events
from stripe_django.models import Event, Subscription
from stripe_django.sync import upsert_many
from stripe_django.testing.revenue import Payloads, ts

from ..webhooks.conftest import body_of, make_event, sign
from .conftest import day

NOW = "2026-04-20T00:00:00+00:00"


@pytest.fixture
def frozen():
    with freeze_time(NOW):
        yield


def post(client, event: dict) -> None:
    body = body_of(event)
    response = client.post(reverse("stripe_django:webhook"), data=body, content_type="application/json",
                           HTTP_STRIPE_SIGNATURE=sign(body))
    assert response.status_code == 200, response.content


def with_quantity(p: Payloads, sub: dict, quantity: int, price: dict | None = None) -> dict:
    """``sub``'s items as they were with another quantity (or price): the
    ``previous_attributes`` of an update of the item."""
    item = dict(sub["items"]["data"][0], quantity=quantity)
    if price is not None:
        item["price"] = price
    return {"items": {"data": [item]}, "quantity": quantity}


@pytest.fixture
def window_account(db, frozen, client, stripe_examples):
    """The mirror on Apr 20 (current states), and the events of the last weeks."""
    p = Payloads(stripe_examples)
    monthly, monthly2 = p.price("price_m", 2000), p.price("price_m2", 5000)
    pct25 = p.coupon("co_25", percent_off=25.0)
    sub = p.subscription
    now = {
        "plain": sub("sub_plain", "cus_plain", [("si_plain", monthly, 1)]),
        # 2 -> 5 seats on Apr 5, 5 -> 4 on Apr 14
        "up": sub("sub_up", "cus_up", [("si_up", monthly, 4)]),
        # price_m2 (50.00) -> price_m (20.00) on Apr 8
        "down": sub("sub_down", "cus_down", [("si_down", monthly, 1)]),
        # canceled at once on Apr 12
        "cancel": sub("sub_cancel", "cus_cancel", [("si_cancel", monthly, 1)], status="canceled",
                      ended_at="2026-04-12"),
        # 3 -> 1 seat on Apr 15, 25% off all along
        "qty": sub("sub_qty", "cus_qty", [("si_qty", monthly, 1)],
                   discounts=[p.discount("di_qty", pct25, start="2025-06-01", subscription="sub_qty")]),
        # collection paused on Apr 2
        "paused": sub("sub_paused", "cus_paused", [("si_paused", monthly, 1)],
                      pause_collection={"behavior": "void", "resumes_at": None}),
        # created on Apr 6
        "new": sub("sub_new", "cus_new", [("si_new", monthly, 1)], start="2026-04-06"),
    }
    result = upsert_many([monthly, monthly2, pct25, *now.values()])
    assert not result.errors, result.errors

    def state(key: str, **fields) -> dict:
        return dict(now[key], **fields)

    up5 = state("up", items={**now["up"]["items"], "data": [dict(now["up"]["items"]["data"][0], quantity=5)]})
    for event in [
        # long before the window: the mirror has been receiving events since then
        make_event(now["plain"], "customer.subscription.created", created=ts("2025-06-01")),
        make_event(state("paused"), previous={"pause_collection": None}, created=ts("2026-04-02"),
                   event_type="customer.subscription.updated"),
        make_event(up5, previous=with_quantity(p, up5, 2), created=ts("2026-04-05"),
                   event_type="customer.subscription.updated"),
        make_event(now["new"], "customer.subscription.created", created=ts("2026-04-06")),
        make_event(now["down"], previous=with_quantity(p, now["down"], 1, price=monthly2), created=ts("2026-04-08"),
                   event_type="customer.subscription.updated"),
        make_event(now["cancel"], "customer.subscription.deleted", created=ts("2026-04-12")),
        make_event(now["up"], previous=with_quantity(p, now["up"], 5), created=ts("2026-04-14"),
                   event_type="customer.subscription.updated"),
        make_event(now["qty"], previous=with_quantity(p, now["qty"], 3), created=ts("2026-04-15"),
                   event_type="customer.subscription.updated"),
    ]:
        post(client, event)
    assert Event.objects.filter(type__startswith="customer.subscription.").count() == 8
    # the events' older objects did not overwrite the mirror's current state
    assert Subscription.objects.get(pk="sub_up").stripe_data["items"]["data"][0]["quantity"] == 4
    return now


# MRR of each subscription at each date, from its state then
AT_APR_1 = {"sub_plain": 2000, "sub_up": 2 * 2000, "sub_down": 5000, "sub_cancel": 2000,
            "sub_qty": 3 * 2000 * 75 // 100, "sub_paused": 2000}                      # 19500
AT_APR_10 = {"sub_plain": 2000, "sub_up": 5 * 2000, "sub_down": 2000, "sub_cancel": 2000,
             "sub_qty": 4500, "sub_new": 2000}                                           # 22500
AT_APR_16 = {"sub_plain": 2000, "sub_up": 4 * 2000, "sub_down": 2000, "sub_qty": 1500,
             "sub_new": 2000}                                                            # 15500


def by_subscription(at) -> dict[str, int]:
    return {sub: amount for (_, sub), amount in analytics.mrr_by("subscription", at).items()}


def test_each_subscription_as_it_was(window_account):
    assert by_subscription(day("2026-04-01")) == AT_APR_1
    assert by_subscription(day("2026-04-10")) == AT_APR_10
    assert by_subscription(day("2026-04-16")) == AT_APR_16
    assert sum(AT_APR_1.values()) == 19500 and sum(AT_APR_10.values()) == 22500


def test_the_source_of_each_figure(window_account):
    inside = analytics.mrr_detail(day("2026-04-10"))
    assert (inside.by_currency(), inside.source, inside.rebuilt) == ({"usd": 22500}, "events", 3)  # up, cancel, qty
    current = analytics.mrr_detail()
    assert (current.by_currency(), current.source, current.rebuilt) == ({"usd": 15500}, "subscriptions", 0)
    # before the window: each subscription's earliest known state, labelled as the current state's
    before = analytics.mrr_detail(day("2026-03-15"))
    assert (before.by_currency(), before.source) == ({"usd": 19500}, "subscriptions")
    assert analytics.mrr_from_invoices(day("2026-04-10")).source == "invoices"


def test_without_events_todays_state_is_applied(window_account):
    with override_settings(STRIPE_DJANGO={"REVENUE_EVENTS_DAYS": 0}):
        got = analytics.mrr_detail(day("2026-04-01"))
    # up 4 x 2000, down 2000, cancel 2000 (ended Apr 12), qty 1500, plain 2000; paused never
    assert (got.by_currency(), got.source) == ({"usd": 15500}, "subscriptions")


def test_the_window_starts_at_the_oldest_event(window_account):
    Event.objects.filter(type="customer.subscription.created", created__lt=day("2026-01-01")).delete()
    got = analytics.mrr_detail(day("2026-04-01"))
    # the same states, but before the first event (Apr 2) nothing says they are complete
    assert (got.by_currency(), got.source) == ({"usd": 19500}, "subscriptions")
    assert analytics.mrr_detail(day("2026-04-03")).source == "events"


def test_movements_inside_the_window(window_account):
    period = analytics.movements_between(day("2026-04-01"), day("2026-04-16"))
    assert (period.starting_source, period.ending_source) == ("events", "events")
    assert sorted((m.customer, m.kind, m.amount) for m in period.customers) == [
        ("cus_cancel", "churn", -2000),
        ("cus_down", "contraction", 2000 - 5000),   # downgrade Apr 8
        ("cus_new", "new", 2000),
        ("cus_paused", "churn", -2000),             # paused Apr 2
        ("cus_qty", "contraction", 1500 - 4500),    # 3 -> 1 seat Apr 15
        ("cus_up", "expansion", 8000 - 4000),       # upgrade 2 -> 5 -> 4
    ]
    assert period.starting == {"usd": 19500} and period.ending == {"usd": 15500}


def test_a_weekly_table_inside_the_window_has_the_figures_of_its_periods_alone(window_account):
    # its dates share the window, the terms and the discounts, read once; each date
    # rebuilds its own states from the events after it
    table = analytics.movements(day("2026-03-25"), day("2026-04-16"), period="week")
    assert [p.start for p in table] == [day("2026-03-25"), day("2026-04-01"), day("2026-04-08"),
                                        day("2026-04-15")]
    assert table == [analytics.movements_between(p.start, p.end) for p in table]
    assert sum(sum(p.totals()["usd"].values()) for p in table) == 15500 - table[0].starting["usd"]


def test_command_says_the_source(window_account):
    out = io.StringIO()
    call_command("stripe_metrics", "--at", "2026-04-10", "--months", "1", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert (data["source"], data["rebuilt"], data["currencies"]["usd"]["mrr"]) == ("events", 3, 22500)
    assert data["months"] == [{
        "start": "2026-04-01T00:00:00+00:00", "end": "2026-04-10T00:00:00+00:00", "currency": "usd",
        "starting": 19500, "new": 2000, "expansion": 6000, "contraction": -3000, "churn": -2000,
        "reactivation": 0, "ending": 22500, "customers": 6, "starting_source": "events", "ending_source": "events"}]
    out = io.StringIO()
    call_command("stripe_metrics", "--months", "1", stdout=out)
    text = out.getvalue()
    assert "MRR on 2026-04-20 00:00 UTC, from subscriptions:" in text
    row = next(line for line in text.splitlines() if line.startswith("2026-04"))
    # Apr 1 (inside the window) to now (the current state): 195.00 -> 155.00
    assert row.split() == ["2026-04", "usd", "195.00", "20.00", "40.00", "-60.00", "-40.00", "0.00", "155.00", "5",
                           "events", "->", "subscriptions"]
    out = io.StringIO()
    call_command("stripe_metrics", "--at", "2026-04-10", "--months", "0", stdout=out)
    assert "from events (3 subscription(s) as the events after it give them):" in out.getvalue()


def test_admin_page_says_the_source(window_account, client):
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    html = client.get(reverse("admin:stripe_django_revenue"), {"at": "2026-04-10", "months": "1"}).content.decode()
    assert "On 2026-04-10 00:00 UTC, from events" in html
    assert '<td class="source">events</td>' in html
    assert "225.00 USD" in html


def test_the_rule_on_a_payload_is_the_querysets(account):
    """:func:`events.counts_at` on each subscription's stored object agrees with
    :func:`analytics.subscriptions_active_at` at dates around every rule of conftest.py."""
    rows = list(Subscription.objects.all())
    for at in ("2025-05-31", "2026-01-20", "2026-03-09", "2026-03-10", "2026-03-19", "2026-03-20",
               "2026-04-01", "2026-05-15"):
        counted = set(analytics.subscriptions_active_at(day(at)).values_list("pk", flat=True))
        assert {s.pk for s in rows if events.counts_at(s.stripe_data, day(at))} == counted, at


def test_a_bad_window_setting_is_named(window_account):
    from django.core.exceptions import ImproperlyConfigured

    with override_settings(STRIPE_DJANGO={"REVENUE_EVENTS_DAYS": "30"}):
        with pytest.raises(ImproperlyConfigured, match="REVENUE_EVENTS_DAYS"):
            analytics.mrr(day("2026-04-01"))


@pytest.mark.parametrize("ids", [("evt_A000", "evt_B000"), ("evt_B000", "evt_A000")],
                         ids=["resumed sorts first", "updated sorts first"])
def test_a_resumed_subscription_does_not_count_on_a_date_it_was_paused(db, client, stripe_examples, ids):
    # On a resume Stripe sends customer.subscription.resumed (the state after, no
    # previous_attributes) and customer.subscription.updated (previous status: paused) in
    # the same second; only the second tells the state before, whichever id sorts first.
    with freeze_time(NOW):
        p = Payloads(stripe_examples)
        monthly = p.price("price_m", 2000)
        plain = p.subscription("sub_plain", "cus_plain", [("si_plain", monthly, 1)])
        resumed = p.subscription("sub_res", "cus_res", [("si_res", monthly, 1)])  # active now
        assert not upsert_many([monthly, plain, resumed]).errors
        # an old event: the window is exact from its start
        post(client, make_event(plain, "customer.subscription.created", created=ts("2025-06-01")))
        post(client, make_event(dict(resumed, status="paused"), "customer.subscription.paused",
                                created=ts("2026-04-01"), event_id="evt_P000"))
        post(client, make_event(resumed, "customer.subscription.resumed", created=ts("2026-04-10"),
                                event_id=ids[0]))
        post(client, make_event(resumed, "customer.subscription.updated", created=ts("2026-04-10"),
                                event_id=ids[1], previous={"status": "paused"}))
        by_subscription = {sub: amount for (_, sub), amount
                           in analytics.mrr_by("subscription", day("2026-04-05")).items()}
        assert by_subscription == {"sub_plain": 2000}  # paused on Apr 5
        assert analytics.mrr_by("subscription", day("2026-04-15"))[("usd", "sub_res")] == 2000


def test_renewals_change_nothing_and_are_not_rebuilt(db, client, stripe_examples):
    # Stripe sends customer.subscription.updated on every renewal. One whose
    # previous_attributes name only what MRR does not read (the period, the latest
    # invoice, metadata) leaves the subscription priced from the mirror; a later change
    # still gives the state before it. An API version that moves the period onto the
    # items sends the items whole: when they differ only in their periods the
    # subscription is not rebuilt either; when a renewal also changed the quantity, it
    # is, at the quantity before.
    with freeze_time(NOW):
        p = Payloads(stripe_examples)
        monthly = p.price("price_m", 2000)
        subs = {
            "renew": p.subscription("sub_renew", "cus_renew", [("si_renew", monthly, 1)]),
            "then_up": p.subscription("sub_then_up", "cus_then_up", [("si_then_up", monthly, 3)]),
            "meta": p.subscription("sub_meta", "cus_meta", [("si_meta", monthly, 1)]),
            "items": p.subscription("sub_items", "cus_items", [("si_items", monthly, 2)]),
            # renewed on Apr 5 from 3 seats to 2 (a change scheduled for the renewal)
            "items_qty": p.subscription("sub_items_qty", "cus_items_qty", [("si_items_qty", monthly, 2)]),
        }
        assert not upsert_many([monthly, *subs.values()]).errors
        post(client, make_event(subs["renew"], "customer.subscription.created", created=ts("2025-06-01")))
        period = {"current_period_start": ts("2026-03-05"), "current_period_end": ts("2026-04-05"),
                  "latest_invoice": "in_march"}
        items_then = [dict(subs["items"]["items"]["data"][0], current_period_start=ts("2026-03-05"),
                           current_period_end=ts("2026-04-05"))]
        qty_then = [dict(subs["items_qty"]["items"]["data"][0], quantity=3, current_period_start=ts("2026-03-05"),
                         current_period_end=ts("2026-04-05"))]
        for event in [
            make_event(subs["renew"], previous=period, created=ts("2026-04-05")),
            make_event(subs["then_up"], previous=period, created=ts("2026-04-05")),
            make_event(subs["meta"], previous={"metadata": {"plan": "old"}}, created=ts("2026-04-06")),
            make_event(subs["items"], previous={"items": {"data": items_then}, "latest_invoice": "in_march"},
                       created=ts("2026-04-05")),
            make_event(subs["items_qty"], previous={"items": {"data": qty_then}, "latest_invoice": "in_march"},
                       created=ts("2026-04-05")),
            # 1 -> 3 seats on Apr 12
            make_event(subs["then_up"], previous=with_quantity(p, subs["then_up"], 1), created=ts("2026-04-12")),
        ]:
            post(client, dict(event, type="customer.subscription.updated"))

        apr_1 = analytics.mrr_detail(day("2026-04-01"), by="subscription")
        assert {sub: amount for (_, sub), amount in apr_1.amounts.items()} == {
            "sub_renew": 2000, "sub_then_up": 1 * 2000, "sub_meta": 2000, "sub_items": 2 * 2000,
            "sub_items_qty": 3 * 2000}
        assert (apr_1.source, apr_1.rebuilt) == ("events", 2)  # sub_then_up (Apr 12), sub_items_qty
        assert analytics.mrr(day("2026-04-01")) == {"usd": 2000 + 2000 + 2000 + 4000 + 6000}
        apr_15 = analytics.mrr_detail(day("2026-04-15"), by="subscription")
        assert {sub: amount for (_, sub), amount in apr_15.amounts.items()} == {
            "sub_renew": 2000, "sub_then_up": 3 * 2000, "sub_meta": 2000, "sub_items": 2 * 2000,
            "sub_items_qty": 2 * 2000}
        assert apr_15.rebuilt == 0


def renewed(item: dict, **fields) -> dict:
    """``item`` as it was before a renewal on Apr 5 (its period a month earlier), with ``fields``."""
    return dict(item, current_period_start=ts("2026-03-05"), current_period_end=ts("2026-04-05"), **fields)


def test_what_an_items_event_changed_is_decided_item_by_item(db, client, stripe_examples):
    # Renewals on Apr 5 (API 2025-03-31 and later: the items come whole, their periods
    # moved) that also changed, or not, what MRR reads of the items. Only those that
    # changed it are rebuilt; the others are priced from the mirror.
    with freeze_time(NOW):
        p = Payloads(stripe_examples)
        monthly, monthly2 = p.price("price_m", 2000), p.price("price_m2", 5000)
        pct25, pct50 = p.coupon("co_25", percent_off=25.0), p.coupon("co_50", percent_off=50.0)
        same = p.discount("di_same", pct25, start="2025-06-01", item="si_exp", subscription="sub_exp")
        # di_old (25%) replaced by di_new (50%) on Apr 5
        old = p.discount("di_old", pct25, start="2025-06-01", end="2026-04-05", item="si_disc",
                         subscription="sub_disc")
        new = p.discount("di_new", pct50, start="2026-04-05", item="si_disc", subscription="sub_disc")
        sub = p.subscription
        subs = {
            "exp": sub("sub_exp", "cus_exp", [("si_exp", monthly, 1)], item_discounts={"si_exp": [same]}),
            "add": sub("sub_add", "cus_add", [("si_add1", monthly, 1), ("si_add2", monthly2, 1)]),
            "rem": sub("sub_rem", "cus_rem", [("si_rem1", monthly, 1)]),
            "price": sub("sub_price", "cus_price", [("si_price", monthly, 1)]),
            "disc": sub("sub_disc", "cus_disc", [("si_disc", monthly, 1)], item_discounts={"si_disc": [new]}),
            "bad_list": sub("sub_bad_list", "cus_bad_list", [("si_bad_list", monthly, 1)]),
            "bad_item": sub("sub_bad_item", "cus_bad_item", [("si_bad_item", monthly, 1)]),
            "bad_items": sub("sub_bad_items", "cus_bad_items", [("si_bad_items", monthly, 1)]),
        }
        assert not upsert_many([monthly, monthly2, pct25, pct50, same, old, new, *subs.values()]).errors
        post(client, make_event(subs["exp"], "customer.subscription.created", created=ts("2025-06-01")))

        def item(key: str, n: int = 0) -> dict:
            return subs[key]["items"]["data"][n]

        previous = {
            # the same price and discount, as ids where the object has them expanded
            "exp": {"data": [renewed(item("exp"), price="price_m", discounts=["di_same"])]},
            # si_add2 added on Apr 5
            "add": {"data": [renewed(item("add"))]},
            # si_rem2 (50.00) removed on Apr 5
            "rem": {"data": [renewed(item("rem")), renewed(item("rem"), id="si_rem2", price=monthly2)]},
            # price_m2 (50.00) -> price_m (20.00) on Apr 5, as an id before
            "price": {"data": [renewed(item("price"), price="price_m2")]},
            # the item's discount changed (ids before, objects after)
            "disc": {"data": [renewed(item("disc"), discounts=["di_old"])]},
            # nothing MRR can read of the items before: counted as a change
            "bad_list": {"data": "unreadable"},
            "bad_item": {"data": ["si_bad_item"]},
            "bad_items": None,
        }
        for key, items in previous.items():
            post(client, make_event(subs[key], "customer.subscription.updated", created=ts("2026-04-05"),
                                    previous={"items": items, "latest_invoice": "in_march"}))

        span = events.window()
        assert set(events.states_at(day("2026-04-01"), span).states) == {
            "sub_add", "sub_rem", "sub_price", "sub_disc", "sub_bad_list", "sub_bad_item", "sub_bad_items"}
        with CaptureQueriesContext(connection) as queries:
            events.states_at(day("2026-04-01"), span)
        # the events that changed MRR (ids only), then the first of each rebuilt
        # subscription, whole: no query reads the renewals' items into Python
        assert len(queries) == 2
        assert by_subscription(day("2026-04-01")) == {
            "sub_exp": 1500,                 # 2000 - 25%, from the mirror
            "sub_add": 2000,                 # si_add1 alone
            "sub_rem": 2000 + 5000,          # with si_rem2
            "sub_price": 5000,               # price_m2
            "sub_disc": 1500,                # 2000 - 25% (di_old)
            # the bad ones: rebuilt from an event whose items before cannot be read, so
            # no item is priced for them
        }
        assert events.states_at(day("2026-04-15"), span).states == {}
        assert by_subscription(day("2026-04-15")) == {
            "sub_exp": 1500, "sub_add": 2000 + 5000, "sub_rem": 2000, "sub_price": 2000, "sub_disc": 1000,  # 2000 - 50% (di_new)
            "sub_bad_list": 2000, "sub_bad_item": 2000, "sub_bad_items": 2000}


def test_a_change_of_many_subscriptions_binds_few_parameters(db, stripe_examples):
    # A price or quantity change applied to hundreds of subscriptions at once rebuilds
    # each of them: their ids are never bound all in one query (SQLite built with a low
    # SQLITE_MAX_VARIABLE_NUMBER refuses the statement). Here SQLite's limit is lowered
    # under the number of subscriptions; the other databases count the same figures.
    count = 600
    with freeze_time(NOW), contextlib.ExitStack() as stack:
        p = Payloads(stripe_examples)
        monthly = p.price("price_m", 2000)
        subs = [p.subscription(f"sub_{n:03d}", f"cus_{n:03d}", [(f"si_{n:03d}", monthly, 2)]) for n in range(count)]
        assert not upsert_many([monthly, *subs]).errors
        stored = [make_event(subs[0], "customer.subscription.created", created=ts("2025-06-01"))]
        # 1 -> 2 seats on Apr 5, each with its renewal
        stored += [make_event(sub, "customer.subscription.updated", created=ts("2026-04-05"),
                              previous={"items": {"data": [renewed(sub["items"]["data"][0], quantity=1)]}})
                   for sub in subs]
        assert not upsert_many(stored).errors
        if connection.vendor == "sqlite":
            connection.ensure_connection()
            raw = connection.connection
            before = raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, count - 50)
            stack.callback(raw.setlimit, sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, before)
        apr_1 = analytics.mrr_detail(day("2026-04-01"))
        assert (apr_1.by_currency(), apr_1.rebuilt) == ({"usd": count * 1 * 2000}, count)
        # narrowed to a queryset of them (all but the first): the rebuilt ones kept are
        # found a chunk at a time too
        narrowed = analytics.mrr_detail(day("2026-04-01"),
                                        subscriptions=Subscription.objects.exclude(pk="sub_000"))
        assert narrowed.by_currency() == {"usd": (count - 1) * 1 * 2000}
        assert analytics.mrr(day("2026-04-15")) == {"usd": count * 2 * 2000}
