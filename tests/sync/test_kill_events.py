"""``kill -9`` of an incremental run driven by the Events API, at random moments: the
next run resumes from the cursors' ``events_after``, and in the end every object the
events created is stored in its account, every event once, and no list was read again.

The sync runs in a process of its own (:mod:`tests.sync.kill_child`, mode ``sync-all``)
against the Stripe stand-in served from this process; see :mod:`tests.killing`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from stripe_django.testing.objects import make_object
from stripe_django.testing.stripe_stub import StripeStub

from ..killing import kill_after, run_child, seeded

pytestmark = pytest.mark.django_db(transaction=True)

CHILD = "tests.sync.kill_child"
ACCOUNTS = [f"acct_1KillEvents{i:05d}" for i in range(8)]
LISTED = 2  # customers listed by the first sync, per account
# Customers each account's events create after the first sync: pages of 100 events.
CREATED = 400
LATENCY = 0.02
# While the events are applied each request takes this long. The run reads the 32 pages
# of events with 2 workers, 16 pages each, so it lasts at least 1.6 s however fast the
# machine; a kill 0.2-1.2 s after the run started always lands mid-run (the first at
# least; a second too unless the run was quick).
EVENTS_LATENCY = 0.1
EARLIEST_KILL, LATEST_KILL = 0.2, 1.2
KILLS = 2


def _run(env: dict[str, str], tmp_path: Path, *args: str) -> Any:
    return run_child(CHILD, env, tmp_path / "child.log", *args)[0]


def _created(account: str, n: int, at: int) -> dict:
    customer = {**make_object("customers", 0, account), "id": f"cus_ev{account[-5:]}{n:05d}",
                "name": f"Created {n}", "created": at}
    return {"id": f"evt_{account[-5:]}{n:05d}", "object": "event", "type": "customer.created",
            "created": at, "account": account, "livemode": False,
            "api_version": "2026-10-28.endive", "data": {"object": customer}}


def test_an_events_driven_run_killed_at_random_moments_resumes_with_nothing_lost(child_env, tmp_path):
    rng, replay = seeded()
    with StripeStub({"customers": LISTED}, accounts=ACCOUNTS, latency=LATENCY,
                    empty_lists=True) as stub:
        assert _run(child_env, tmp_path, "sync-all", stub.api_base)["ok"]
        first_sync = len(stub.requests)
        time.sleep(1.05)  # the events come after the first sync's second
        at = int(time.time())
        stub.events = [_created(a, n, at) for a in ACCOUNTS for n in reversed(range(CREATED))]
        time.sleep(1.05)  # a run applies the events of the seconds before it starts
        stub.latency = EVENTS_LATENCY
        landed = attempts = 0
        while landed < KILLS:
            attempts += 1
            assert attempts <= 4 * KILLS, f"too few kills landed mid-run {replay}"
            if kill_after(CHILD, child_env, tmp_path / "child.log", "SYNCING",
                          rng.uniform(EARLIEST_KILL, LATEST_KILL), "sync-all", stub.api_base):
                landed += 1
            else:
                break  # the run ended first: nothing left to kill
        assert landed, f"no kill landed while the run applied events {replay}"
        report = _run(child_env, tmp_path, "sync-all", stub.api_base)
        assert report["ok"], f"{report} {replay}"
        # Driven by the events: after the first sync, no customer list was read again.
        assert {r.resource for r in stub.requests[first_sync:]
                if r.header("Stripe-Account")} <= {"events"}, replay
    found = _run(child_env, tmp_path, "check-all", *ACCOUNTS)
    for account in ACCOUNTS:
        expected = ({make_object("customers", i, account)["id"] for i in range(LISTED)}
                    | {f"cus_ev{account[-5:]}{n:05d}" for n in range(CREATED)})
        assert set(found["customers"][account]) == expected, f"{account} {replay}"
    assert found["events"] == sorted(e["id"] for e in stub.events), replay
    for cursor in found["cursors"]:
        assert cursor["complete"] and not cursor["last_error"], f"{cursor} {replay}"
        assert cursor["events_after"] > at, f"{cursor} {replay}"
    print(f"{landed} kills landed in {attempts} attempts {replay}")
