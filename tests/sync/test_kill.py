"""``kill -9`` of a running sync, at random moments: the next run resumes, and in the end
every object is stored exactly once, with every cursor finished.

A real sync runs in a process of its own (:mod:`tests.sync.kill_child`) against the
Stripe stand-in served from this process, on the tests' database (on SQLite, a file:
a process cannot see another's in-memory database). It is killed with SIGKILL after a
random delay, resumed (and maybe killed again), then run to the end. Each round lists a
connected account of its own, so that every round is a first, full pass (with one worker
in one go, with three in created windows). The delays come from a seeded RNG; a failure
names its seed, and ``STRIPE_DJANGO_KILL_SEED=<seed>`` replays its choices.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from stripe_django.sync.pipeline import GROUP_PAGES
from stripe_django.testing.objects import make_object
from stripe_django.testing.stripe_stub import StripeStub

from ..killing import kill_after, run_child, seeded

pytestmark = pytest.mark.django_db(transaction=True)

# Kills that land while a sync runs, per database (the run's cost is mostly the child
# processes' start, some 2 s each on a busy machine).
KILLS = {"postgresql": 20, "sqlite": 5, "mysql": 5}
# Per account: 25 pages of 100, a run of about a second with the latency below.
CUSTOMERS, PRODUCTS = 2000, 500
LATENCY = 0.01


CHILD = "tests.sync.kill_child"


def _run(env: dict[str, str], tmp_path: Path, *args: str) -> tuple[Any, float]:
    return run_child(CHILD, env, tmp_path / "child.log", *args)


def _sync_and_kill(env: dict[str, str], tmp_path: Path, delay: float, *args: str) -> bool:
    return kill_after(CHILD, env, tmp_path / "child.log", "SYNCING", delay, "sync", *args)


def _pages_fetched(stub: StripeStub, since: int, account: str) -> int:
    """Pages of 100 the stub served for ``account`` (the windows' probes of one object
    left out)."""
    return sum(1 for r in stub.requests[since:]
               if r.header("Stripe-Account") == account and r.params.get("limit") == "100")


def test_a_sync_killed_at_random_moments_resumes_with_every_object_once(child_env, tmp_path):
    from django.db import connection

    rng, replay = seeded()
    target = KILLS[connection.vendor]
    pages = math.ceil(CUSTOMERS / 100) + math.ceil(PRODUCTS / 100)
    landed, rounds = 0, ["acct_1KILL000000", "acct_1KILL00000b"]
    with StripeStub({"customers": CUSTOMERS, "products": PRODUCTS}, latency=LATENCY) as stub:
        # Two accounts synced without a kill: how long a whole run takes here, which the
        # kills' delays are drawn from (so that most come while the sync runs). The
        # shorter of two: one run slowed by a busy moment would make most kills too late.
        lengths = []
        for account in rounds:
            report, seconds = _run(child_env, tmp_path, "sync", stub.api_base, account, "1")
            assert report["ok"], report
            lengths.append(seconds)
        length = min(lengths)
        while landed < target:
            assert len(rounds) - 2 < 3 * target, f"too few kills landed mid-sync {replay}"
            account = f"acct_1KILL{len(rounds):06d}"
            workers = rng.choice((1, 3))
            since, kills, ran = len(stub.requests), 0, 0.0
            for _ in range(rng.randint(2, 4)):
                delay = rng.uniform(0, max(0.1, length - ran))  # what may be left of the run
                if not _sync_and_kill(child_env, tmp_path, delay, stub.api_base, account,
                                      str(workers)):
                    break  # the sync ended first: nothing left to kill in this round
                kills, ran = kills + 1, ran + delay
            landed += kills
            report, _ = _run(child_env, tmp_path, "sync", stub.api_base, account, str(workers))
            assert report["ok"], f"{report} {replay}"
            if workers == 1:
                # What a kill made the next run fetch again: at most one group, the pages
                # queued for the writer (2) and the one being fetched; and a list whose pass
                # had ended is listed from its high-water mark (a page each).
                redone = _pages_fetched(stub, since, account) - pages
                assert redone <= kills * (GROUP_PAGES + 3) + 2, f"{redone} pages again {replay}"
            rounds.append(account)
    found, _ = _run(child_env, tmp_path, "check", *rounds)
    for account in rounds:
        stored = found[account]
        for kind, count in (("customer", CUSTOMERS), ("product", PRODUCTS)):
            expected = {make_object(f"{kind}s", i, account)["id"] for i in range(count)}
            assert len(stored[kind]) == len(set(stored[kind])) == count, f"{account} {replay}"
            assert set(stored[kind]) == expected, f"{account} {replay}"
        cursors = sorted(stored["cursors"], key=lambda c: c["object_type"])
        assert [c["object_type"] for c in cursors] == ["customer", "product"], replay
        for cursor in cursors:
            assert cursor["complete"] and cursor["starting_after"] is None, f"{cursor} {replay}"
            assert not cursor["slices"] and not cursor["last_error"], f"{cursor} {replay}"
    assert found["all_rows"] == len(rounds) * (CUSTOMERS + PRODUCTS), replay
    print(f"{landed} kills in {len(rounds) - 2} rounds (a whole run: {length:.2f} s) {replay}")
