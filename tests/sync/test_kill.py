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

import json
import math
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from stripe_django.sync.pipeline import GROUP_PAGES
from stripe_django.testing.objects import make_object
from stripe_django.testing.stripe_stub import StripeStub

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
# Kills that land while a sync runs, per database (the run's cost is mostly the child
# processes' start, some 2 s each on a busy machine).
KILLS = {"postgresql": 20, "sqlite": 5, "mysql": 5}
# Per account: 25 pages of 100, a run of about a second with the latency below.
CUSTOMERS, PRODUCTS = 2000, 500
LATENCY = 0.01


@pytest.fixture
def child_env(tmp_path) -> dict[str, str]:
    """The environment of a child process using the tests' database."""
    from django.db import connection

    env = dict(os.environ, DJANGO_SETTINGS_MODULE="tests.settings",
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH"))
                                          if p))
    if connection.vendor == "sqlite":
        # A copy of the tests' (migrated, in-memory) database: migrating a file takes long.
        import sqlite3

        path = tmp_path / "kill.sqlite3"
        connection.ensure_connection()
        copy = sqlite3.connect(path)
        try:
            connection.connection.backup(copy)
        finally:
            copy.close()
        env["DATABASE_URL"] = f"sqlite:///{path}"
    else:
        parts = urlsplit(os.environ["DATABASE_URL"])
        name = connection.settings_dict["NAME"]
        env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
    return env


def _child(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen:
    with open(log, "a") as err:  # the child has its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "tests.sync.kill_child", *args],
                                stdout=subprocess.PIPE, stderr=err, text=True, env=env,
                                cwd=ROOT)


def _run(env: dict[str, str], tmp_path: Path, *args: str) -> tuple[Any, float]:
    """Run a child to its end: what it printed last, as JSON (None: nothing), and the
    seconds from its ``SYNCING`` to its end."""
    log = tmp_path / "child.log"
    proc = _child(env, log, *args)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # "SYNCING" (a check prints its JSON at once)
        started = time.monotonic()
        out, _ = proc.communicate(timeout=180)
        seconds = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, log.read_text()[-3000:]
    lines = [line for line in (first + out).splitlines() if line.startswith("{")]
    return (json.loads(lines[-1]) if lines else None), seconds


def _sync_and_kill(env: dict[str, str], tmp_path: Path, delay: float, *args: str) -> bool:
    """Start a sync, SIGKILL it ``delay`` seconds later; whether the kill came while
    the sync was running (not after it had ended)."""
    proc = _child(env, tmp_path / "child.log", "sync", *args)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "SYNCING", (tmp_path / "child.log").read_text()
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(60)
        ended = proc.stdout.read()  # the report, when the sync ended before the kill
        return proc.returncode == -signal.SIGKILL and '"ok"' not in ended
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _pages_fetched(stub: StripeStub, since: int, account: str) -> int:
    """Pages of 100 the stub served for ``account`` (the windows' probes of one object
    left out)."""
    return sum(1 for r in stub.requests[since:]
               if r.header("Stripe-Account") == account and r.params.get("limit") == "100")


def test_a_sync_killed_at_random_moments_resumes_with_every_object_once(child_env, tmp_path):
    from django.db import connection

    seed = int(os.environ.get("STRIPE_DJANGO_KILL_SEED") or random.SystemRandom().randrange(10**6))
    rng = random.Random(seed)
    replay = f"(seed {seed}: STRIPE_DJANGO_KILL_SEED={seed} replays these choices)"
    target = KILLS[connection.vendor]
    pages = math.ceil(CUSTOMERS / 100) + math.ceil(PRODUCTS / 100)
    landed, rounds = 0, ["acct_1KILL000000"]
    with StripeStub({"customers": CUSTOMERS, "products": PRODUCTS}, latency=LATENCY) as stub:
        # A first account synced without a kill: how long a whole run takes here, which
        # the kills' delays are drawn from (so that most come while the sync runs).
        report, length = _run(child_env, tmp_path, "sync", stub.api_base, rounds[0], "1")
        assert report["ok"], report
        while landed < target:
            assert len(rounds) < 3 * target, f"too few kills landed mid-sync {replay}"
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
    print(f"{landed} kills in {len(rounds) - 1} rounds (a whole run: {length:.2f} s) {replay}")
