"""``kill -9`` of ``stripe_verify --heal`` at random moments: nothing is half-written (each
invoice is either repaired with its removed line marked deleted, or as it was), and the
next run completes; then a verification finds nothing.

The verification runs in a process of its own (:mod:`tests.verify.kill_child`) against
the Stripe stand-in served from this process, on the tests' database (SQLite: a file
copy of it), as in :mod:`tests.sync.test_kill`. The delays come from a seeded RNG; a
failure names its seed, and ``STRIPE_DJANGO_KILL_SEED=<seed>`` replays its choices.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from stripe_django.testing.objects import invoice_line, make_object
from stripe_django.testing.stripe_stub import StripeStub

from ..killing import kill_after, run_child, seeded

pytestmark = pytest.mark.django_db(transaction=True)

INVOICES = 1500
LATENCY = 0.05
# While verifying, each of the 15 pages takes at least this long, so a verification
# lasts over 1.8 s and the first kill (at most 1.5 s in) always lands, however fast the
# machine (CI's 6.0 pass once finished all three runs before their kills).
VERIFY_LATENCY = 0.12
KILLS = 3


CHILD = "tests.verify.kill_child"


def _run(env: dict[str, str], tmp_path: Path, *args: str) -> Any:
    return run_child(CHILD, env, tmp_path / "child.log", *args, timeout=300)[0]


def _verify_and_kill(env: dict[str, str], tmp_path: Path, api_base: str, delay: float) -> bool:
    """Whether the kill came while the verification ran."""
    return kill_after(CHILD, env, tmp_path / "child.log", "VERIFYING", delay, "verify", api_base)


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
    rng, replay = seeded()
    with StripeStub({"invoices": INVOICES}, latency=LATENCY) as stub:
        assert _run(child_env, tmp_path, "sync", stub.api_base)["ok"]
        # every invoice loses its second line at Stripe, with no event
        for i in range(INVOICES):
            invoice = make_object("invoices", i)
            stub.change(invoice["id"], amount_due=300,
                        lines={**invoice["lines"], "data": [invoice_line(invoice["id"], 0)]})
        stub.latency = VERIFY_LATENCY
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
