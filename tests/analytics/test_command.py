"""``manage.py stripe_metrics`` on the synthetic account (conftest.py)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("stripe_metrics", *args, stdout=out)
    return out.getvalue()


def test_json_summary_and_months(account):
    data = json.loads(run("--at", "2026-04-15", "--months", "2", "--json"))
    assert data["at"] == "2026-04-15T00:00:00+00:00"
    # Apr 15: Mar 15's 85396 - sub_cancel_end 2000 + sub_trial 2000 + the 500 off ended Apr 10
    assert data["currencies"] == {
        "eur": {"mrr": 3000, "arr": 36000, "customers": 1, "arpu": 3000},
        "usd": {"mrr": 85896, "arr": 85896 * 12, "customers": 18, "arpu": 4772},
    }
    usd = [row for row in data["months"] if row["currency"] == "usd"]
    assert usd == [
        {"start": "2026-03-01T00:00:00+00:00", "end": "2026-04-01T00:00:00+00:00", "currency": "usd",
         "starting": 87396, "new": 2000, "expansion": 0, "contraction": 0, "churn": -4000, "reactivation": 0,
         "ending": 85396, "customers": 18, "starting_source": "subscriptions", "ending_source": "subscriptions"},
        {"start": "2026-04-01T00:00:00+00:00", "end": "2026-04-15T00:00:00+00:00", "currency": "usd",
         "starting": 85396, "new": 0, "expansion": 500, "contraction": 0, "churn": 0, "reactivation": 0,
         "ending": 85896, "customers": 18, "starting_source": "subscriptions", "ending_source": "subscriptions"},
    ]
    assert data["skipped"] == []


def test_table_csv_and_agreement(account, tmp_path):
    target = tmp_path / "months.csv"
    text = run("--at", "2026-03-15", "--months", "1", "--currency", "usd", "--agreement", "--csv", str(target))
    assert "MRR on 2026-03-15 00:00 UTC, from subscriptions:" in text
    assert "853.96 USD  ARR 10,247.52 USD, 18 paying customer(s), ARPU 47.44 USD" in text
    assert "EUR" not in text
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("month"))
    assert lines[header + 1].split() == ["2026-03", "usd", "873.96", "0.00", "0.00", "0.00", "-20.00", "0.00",
                                         "853.96", "18", "subscriptions"]
    assert "usd: 853.96 USD vs 355.00 USD, difference 498.96 USD" in text
    assert "invoiced for the date, but not counted: its collection is paused: -20.00 USD" in text
    with target.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["currency"], r["starting"], r["churn"], r["ending"]) for r in rows] == [
        ("usd", "87396", "-2000", "85396")]


def test_from_invoices_per_account(account):
    data = json.loads(run("--at", "2026-04-01", "--months", "0", "--source", "invoices", "--json"))
    assert data["currencies"]["usd"]["mrr"] == 33500
    assert data["months"] == []
    platform = json.loads(run("--at", "2026-03-15", "--months", "0", "--account", "acct_1", "--json"))
    assert platform["currencies"] == {"usd": {"mrr": 1500, "arr": 18000, "customers": 1, "arpu": 1500}}


def test_bad_arguments_are_named(account, tmp_path):
    with pytest.raises(CommandError, match="--months must be 0 or more"):
        run("--months", "-1")
    with pytest.raises(CommandError, match="cannot write --csv"):
        run("--months", "1", "--csv", str(tmp_path / "missing" / "x.csv"))
