"""The sync's parts on their own: the rate limiter, the table, the summary."""

from __future__ import annotations

import functools

import pytest
import stripe

from stripe_django import type_table as table
from stripe_django.sync.ratelimit import RateLimiter
from stripe_django.sync.report import SyncReport, TypeReport, format_summary


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_limiter_spaces_requests_evenly():
    clock = FakeClock()
    limiter = RateLimiter(25, clock=clock, sleep=clock.sleep)
    for _ in range(50):
        limiter.acquire()
    assert clock.now - 100.0 == pytest.approx(49 / 25)


def test_a_pause_holds_every_worker_back():
    clock = FakeClock()
    limiter = RateLimiter(100, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.pause(2.0)
    limiter.acquire()
    assert clock.now == pytest.approx(102.0)
    assert limiter.throttled == 1


def test_every_listed_type_has_an_sdk_list_and_a_model():
    from stripe_django.ingest.columns import mirrored_types
    from stripe_django.mirror.services import service_of

    client = stripe.StripeClient("sk_test_table")
    mirrored = mirrored_types()
    for name, spec in table.SYNC_LISTS.items():
        # client.v1.<service>, or client.v2.<...> for a v2 list ("v2.core.accounts")
        service = service_of(client, tuple(spec.service.split(".")))
        assert callable(getattr(service, "list", None)), name
        assert all(o in mirrored for o in spec.objects), name
        assert spec.parent is None or spec.parent in table.SYNC_LISTS, name
        parent = table.SYNC_LISTS.get(spec.parent or "")
        assert parent is None or not parent.parent, f"{name}: one level of nesting"
    assert table.SYNC_LISTS["subscription"].params["status"] == "all"
    for key, (path, _param, _fixed) in table.EMBEDDED_LIST_SOURCES.items():
        assert key in table.EMBEDDED_LISTS, key
        service = functools.reduce(getattr, path.split("."), client.v1)
        assert callable(getattr(service, "list", None)), key


def test_summary_table():
    report = SyncReport(types=[
        TypeReport("customer", fetched=1200, created=1000, updated=150, unchanged=50, status="ok",
                   mode="full", started=0.0, finished=2.5),
        TypeReport("price", status="unavailable", notes=["APIError (HTTP 404): Not Found"]),
    ], seconds=3.0, requests=13)
    text = format_summary(report)
    lines = text.splitlines()
    assert lines[0].split() == ["type", "fetched", "created", "updated", "unchanged", "failed",
                                "seconds", "status"]
    assert lines[2].split() == ["customer", "1,200", "1,000", "150", "50", "0", "2.5", "ok", "(full)"]
    assert "  APIError (HTTP 404): Not Found:\n    price" in text
