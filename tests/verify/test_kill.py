"""``kill -9`` of ``stripe_verify --heal`` at random moments: nothing is half-written (each
invoice is either repaired with its removed line marked deleted, or as it was), and the
next run completes; then a verification finds nothing.

The verification runs in a process of its own (:mod:`tests.verify.kill_child`) against
the Stripe stand-in served from this process, on the tests' database (SQLite: a file
copy of it), as in :mod:`tests.sync.test_kill`. The delays come from a seeded RNG; a
failure names its seed, and ``STRIPE_DJANGO_KILL_SEED=<seed>`` replays its choices.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from stripe_django.testing.objects import invoice_line, make_object
from stripe_django.testing.stripe_stub import StripeStub

from ..sync.test_kill import child_env  # noqa: F401  (a fixture of these tests too)

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
INVOICES = 1500
LATENCY = 0.05
KILLS = 3


def _child(env: dict[str, str], tmp_path: Path, *args: str) -> subprocess.Popen:
    with open(tmp_path / "child.log", "a") as err:
        return subprocess.Popen([sys.executable, "-m", "tests.verify.kill_child", *args],
                                stdout=subprocess.PIPE, stderr=err, text=True, env=env, cwd=ROOT)


def _run(env: dict[str, str], tmp_path: Path, *args: str) -> Any:
    proc = _child(env, tmp_path, *args)
    try:
        out, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, (tmp_path / "child.log").read_text()[-3000:]
    return json.loads([line for line in out.splitlines() if line.startswith("{")][-1])


def _verify_and_kill(env: dict[str, str], tmp_path: Path, api_base: str, delay: float) -> bool:
    """Whether the kill came while the verification ran."""
    proc = _child(env, tmp_path, "verify", api_base)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "VERIFYING", (tmp_path / "child.log").read_text()
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(60)
        return proc.returncode == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _each_invoice_whole(state: dict[str, Any]) -> tuple[int, int]:
    """(repaired, untouched) invoices; fails on one half-written."""
    repaired = untouched = 0
    for invoice_id, row in state.items():
        removed = f"il_{invoice_id.split('_', 1)[1]}_1"
        if row["amount_due"] == 300:
            assert row["lines"][removed] is True, (invoice_id, row)
            repaired += 1
        else:
            assert row["lines"][removed] is False, (invoice_id, row)
            untouched += 1
    return repaired, untouched


def test_a_healing_verification_killed_at_random_leaves_nothing_half_written(child_env, tmp_path):
    seed = int(os.environ.get("STRIPE_DJANGO_KILL_SEED") or random.SystemRandom().randrange(10**6))
    rng = random.Random(seed)
    replay = f"(seed {seed}: STRIPE_DJANGO_KILL_SEED={seed} replays these choices)"
    with StripeStub({"invoices": INVOICES}, latency=LATENCY) as stub:
        assert _run(child_env, tmp_path, "sync", stub.api_base)["ok"]
        # every invoice loses its second line at Stripe, with no event
        for i in range(INVOICES):
            invoice = make_object("invoices", i)
            stub.change(invoice["id"], amount_due=300,
                        lines={**invoice["lines"], "data": [invoice_line(invoice["id"], 0)]})
        started = time.monotonic()
        landed, partial = 0, 0
        for _ in range(KILLS):
            if _verify_and_kill(child_env, tmp_path, stub.api_base, rng.uniform(0.1, 1.5)):
                landed += 1
            done, left = _each_invoice_whole(_run(child_env, tmp_path, "check"))
            partial += bool(done and left)  # killed between two pages' repairs
        assert landed, f"no kill landed while verifying {replay}"
        repaired, untouched = _each_invoice_whole(_run(child_env, tmp_path, "check"))
        assert repaired + untouched == INVOICES
        # the next run completes and heals what is left
        report = _run(child_env, tmp_path, "verify", stub.api_base)
        assert report["ok"] and report["healed"] == report["differences"], f"{report} {replay}"
        assert _each_invoice_whole(_run(child_env, tmp_path, "check")) == (INVOICES, 0), replay
        again = _run(child_env, tmp_path, "verify", stub.api_base)
    assert again == {"ok": True, "differences": 0, "healed": 0}, replay
    print(f"{landed} kills landed ({partial} between two pages' repairs); {repaired} of {INVOICES} invoices healed before the last run "
          f"({time.monotonic() - started:.1f} s) {replay}")
