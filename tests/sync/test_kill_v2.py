"""``kill -9`` of a sync of v2 lists (accounts v2 and their persons), at random moments:
the next run resumes at the stored page token, and in the end every object is stored,
with every cursor finished. The child process is test_kill's, the helpers :mod:`tests.killing`'s."""

from __future__ import annotations

import pytest

from stripe_django.testing import v2_examples as examples
from stripe_django.testing.stripe_stub import StripeStub

from ..killing import kill_after, run_child, seeded

pytestmark = pytest.mark.django_db(transaction=True)

ACCOUNTS = [f"acct_v2kill{i:05d}" for i in range(300)]
KILLS = 3


def _v2_lists() -> dict[str, list[dict]]:
    lists = {"/v2/core/accounts": [examples.account(a) for a in ACCOUNTS]}
    for index, account in enumerate(ACCOUNTS):
        lists[f"/v2/core/accounts/{account}/persons"] = [
            examples.account_person(f"person_{account}_{n}", account) for n in range(index % 2)]
    return lists


def _run(env: dict[str, str], tmp_path, *args: str):
    return run_child("tests.sync.kill_child", env, tmp_path / "child.log", *args)


def _kill_after(env: dict[str, str], tmp_path, delay: float, *args: str) -> bool:
    """Start a v2 sync, SIGKILL it ``delay`` seconds later; whether it was still running."""
    return kill_after("tests.sync.kill_child", env, tmp_path / "child.log", "SYNCING", delay,
                      "sync-v2", *args)


def test_a_v2_sync_killed_at_random_moments_resumes_and_ends_with_every_object(child_env, tmp_path):
    rng, replay = seeded()
    with StripeStub(v2_lists=_v2_lists(), latency=0.005) as stub:
        landed, resumed_at_a_token = 0, 0
        tokens: list[str] = []  # resume points the cursors held after the last kill

        def resumed(since: int) -> None:
            # the run after a kill goes on from every page token a cursor held
            nonlocal resumed_at_a_token
            asked = {r.params.get("page") for r in stub.requests[since:] if r.path == "/v2/core/accounts"}
            assert set(tokens) <= asked, f"{tokens} not resumed from ({asked}) {replay}"
            resumed_at_a_token += len(tokens)

        for _ in range(20):
            if landed >= KILLS:
                break
            before = len(stub.requests)
            killed = _kill_after(child_env, tmp_path, rng.uniform(0.3, 2.5), stub.api_base, "1")
            resumed(before)
            tokens = []
            if killed:
                landed += 1
                state, _ = _run(child_env, tmp_path, "check-v2")
                tokens = [c["starting_after"] for c in state["cursors"]
                          if not c["complete"] and c["starting_after"]]
        assert landed >= 1, f"no kill landed while the sync ran {replay}"
        before = len(stub.requests)
        report, _ = _run(child_env, tmp_path, "sync-v2", stub.api_base, "1")
        assert report["ok"], f"{report} {replay}"
        resumed(before)
    found, _ = _run(child_env, tmp_path, "check-v2")
    assert sorted(found["v2.core.account"]) == ACCOUNTS, replay
    persons = {tuple(p) for p in found["v2.core.account_person"]}
    assert persons == {(f"person_{a}_0", a) for i, a in enumerate(ACCOUNTS) if i % 2}, replay
    for cursor in found["cursors"]:
        assert cursor["complete"] and cursor["starting_after"] is None, f"{cursor} {replay}"
        assert not cursor["last_error"], f"{cursor} {replay}"
    assert {c["object_type"] for c in found["cursors"]} == {"v2.core.account",
                                                            "v2.core.account_person"}
    print(f"{landed} kills, {resumed_at_a_token} lists resumed at a page token {replay}")
