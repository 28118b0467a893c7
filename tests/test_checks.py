"""``manage.py check`` names what is wrong with the STRIPE_DJANGO setting."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError

from stripe_django.checks import check_failed_events, check_settings
from stripe_django.models import Event
from stripe_django.sync import sync
from stripe_django.testing.stripe_stub import StripeStub

GOOD = {"API_KEY": "sk_test_checks", "WEBHOOK_SECRETS": ["whsec_checks"]}


def ids(settings, value, **extra) -> list[str]:
    settings.STRIPE_DJANGO = value
    for name, setting in extra.items():
        setattr(settings, name, setting)
    return sorted(m.id for m in check_settings())


def test_a_good_setting_passes(settings, monkeypatch):
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    assert ids(settings, GOOD) == []


@pytest.mark.parametrize("value, expected", [
    ("sk_test_x", ["stripe_django.E002"]),
    ({**GOOD, "API_SECRET": "x"}, ["stripe_django.E003"]),
    ({**GOOD, "API_KEY": "pk_test_publishable"}, ["stripe_django.E011"]),
    ({**GOOD, "API_KEY": "whatever"}, ["stripe_django.W011"]),
    ({**GOOD, "WEBHOOK_SECRETS": [None]}, ["stripe_django.E022"]),
    ({**GOOD, "WEBHOOK_SECRETS": ["whsec_a", ""]}, ["stripe_django.E022"]),
    ({**GOOD, "WEBHOOK_SECRETS": "whsec_a"}, []),
    ({**GOOD, "WEBHOOK_SECRETS": 5}, ["stripe_django.E021"]),
    ({**GOOD, "WEBHOOK_SECRETS": ["sk_test_wrong_thing"]}, ["stripe_django.W023"]),
    ({**GOOD, "WEBHOOK_ENDPOINTS": {"connect": {"SECRETS": []}}}, ["stripe_django.E020"]),
    ({**GOOD, "WEBHOOK_ENDPOINTS": {"connect": {"SECRET": ["whsec_c"]}}},
     ["stripe_django.E003", "stripe_django.E020"]),
    ({**GOOD, "SYNC_PAGE_SIZE": 500}, ["stripe_django.E030"]),
    ({**GOOD, "SYNC_RATE_LIMIT": 0}, ["stripe_django.E030"]),
    ({**GOOD, "REDACT_SDK_LOGS": "no"}, ["stripe_django.E071"]),
    ({**GOOD, "MIRROR_STORE_TIMEOUT": 0}, ["stripe_django.E030"]),
    ({**GOOD, "MIRROR_STORE_TIMEOUT": "10"}, ["stripe_django.E030"]),
    ({**GOOD, "MIRROR_STORE_TIMEOUT": None}, []),
    ({**GOOD, "MIRROR_STORE_TIMEOUT": 2.5}, []),
    ({**GOOD, "HTTP_TIMEOUT": 0}, ["stripe_django.E030"]),
    ({**GOOD, "HTTP_TIMEOUT": "30"}, ["stripe_django.E030"]),
    ({**GOOD, "HTTP_TIMEOUT": 30}, []),
    ({**GOOD, "WEBHOOK_ENDPOINTS": {"v2": {"SECRETS": ["whsec_t"], "PAYLOAD": "thin"}}}, []),
    ({**GOOD, "WEBHOOK_ENDPOINTS": {"v2": {"SECRETS": ["whsec_t"], "PAYLOAD": "thinn"}}},
     ["stripe_django.E081"]),
    ({**GOOD, "SYNC_EMPTY_LISTS_EVERY": datetime.timedelta(hours=6)}, []),
    ({**GOOD, "SYNC_EMPTY_LISTS_EVERY": 0}, []),
    ({**GOOD, "SYNC_EMPTY_LISTS_EVERY": -1}, ["stripe_django.E085"]),
    ({**GOOD, "SYNC_EMPTY_LISTS_EVERY": "1 day"}, ["stripe_django.E085"]),
    ({**GOOD, "API_VERSION": "2026-10-28.endive"}, []),
    ({**GOOD, "API_VERSION": "2024-06-20"}, []),
    ({**GOOD, "API_VERSION": "latest"}, ["stripe_django.E032"]),
    ({**GOOD, "API_VERSION": 20240620}, ["stripe_django.E032"]),
    ({**GOOD, "API_BASE": "http://127.0.0.1:12111"}, []),
    ({**GOOD, "API_BASE": "127.0.0.1:12111"}, ["stripe_django.E033"]),
    ({**GOOD, "API_BASE": "ftp://files.example.com"}, ["stripe_django.E033"]),
    ({**GOOD, "WEBHOOK_ENDPOINTS": {"c": {"SECRETS": ["whsec_c"], "TOLERANCE": 600,
                                          "MAX_BODY_SIZE": 2_000_000}}}, []),
    ({**GOOD, "WEBHOOK_ENDPOINTS": {"c": {"SECRETS": ["whsec_c"], "TOLERANCE": "300"}}},
     ["stripe_django.E030"]),
    ({**GOOD, "WEBHOOK_ENDPOINTS": {"c": {"SECRETS": ["whsec_c"], "MAX_BODY_SIZE": 0}}},
     ["stripe_django.E030"]),
], ids=["not a dict", "unknown key", "publishable key", "odd key", "[None] secret", "empty secret",
        "one secret as a string", "secrets not a list", "not a webhook secret", "endpoint without secrets",
        "endpoint key misspelt", "page size", "rate limit", "log redaction not a bool",
        "store bound zero", "store bound a string", "no store bound", "store bound in seconds",
        "HTTP timeout zero", "HTTP timeout a string", "HTTP timeout in seconds",
        "thin endpoint", "endpoint payload misspelt", "empty lists every timedelta",
        "empty lists every run", "empty lists every negative", "empty lists every a string",
        "API version with a name", "API version a date", "API version a word",
        "API version a number", "API base local", "API base without scheme", "API base not http",
        "endpoint numbers", "endpoint tolerance a string", "endpoint body size zero"])
def test_each_problem_is_named(settings, monkeypatch, value, expected):
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    monkeypatch.delenv("STRIPE_WEBHOOK_SECRET", raising=False)
    assert ids(settings, value) == expected


def test_the_whole_project_passes_every_system_check(settings, monkeypatch):
    """Every check Django runs at start-up (the generated admin classes' included):
    one error there stops ``runserver``, ``migrate`` and every worker."""
    from django.core import checks

    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    settings.STRIPE_DJANGO = GOOD
    problems = [m for m in checks.run_checks(include_deployment_checks=False)
                if m.level >= checks.ERROR]
    assert problems == []


def test_use_tz_is_required(settings):
    assert ids(settings, GOOD, USE_TZ=False) == ["stripe_django.E001"]


def test_no_key_and_no_secret_are_warnings(settings, monkeypatch):
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    monkeypatch.delenv("STRIPE_WEBHOOK_SECRET", raising=False)
    assert ids(settings, {}) == ["stripe_django.W010", "stripe_django.W020"]
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_from_env")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_from_env")
    assert ids(settings, {}) == []


def test_messages_never_quote_a_key(settings, monkeypatch):
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    settings.STRIPE_DJANGO = {**GOOD, "API_KEY": "pk_live_do_not_print", "WEBHOOK_SECRETS": ["not_whsec_value"]}
    text = " ".join(f"{m.msg} {m.hint}" for m in check_settings())
    assert "pk_live_do_not_print" not in text and "not_whsec_value" not in text


# Django 6.1 runs a tag's database checks too (on every alias) when tags are named.
@pytest.mark.django_db
@pytest.mark.parametrize("tags", [[], ["--tag", "stripe_django"]], ids=["all checks", "the app's tag"])
def test_manage_py_check_fails_on_errors(settings, tags):
    settings.STRIPE_DJANGO = {**GOOD, "API_KEY": "pk_test_publishable"}
    with pytest.raises(SystemCheckError, match="publishable key"):
        call_command("check", *tags)


@pytest.mark.django_db
def test_the_database_check_reports_events_no_longer_retried(settings):
    settings.STRIPE_DJANGO = {**GOOD, "EVENT_MAX_ATTEMPTS": 3}
    Event.objects.create(id="evt_given_up", stripe_snapshot_at="2026-01-01T00:00:00Z",
                         processing_status="failed", processing_attempts=3)
    Event.objects.create(id="evt_still_retried", stripe_snapshot_at="2026-01-01T00:00:00Z",
                         processing_status="failed", processing_attempts=2)
    messages = check_failed_events(databases=["default"])
    assert [m.id for m in messages] == ["stripe_django.W040"]
    assert messages[0].msg.startswith("1 webhook event(s)")


@pytest.mark.django_db
def test_a_publishable_key_syncs_nothing_and_says_why(settings):
    settings.STRIPE_DJANGO = {**GOOD, "API_KEY": "pk_test_publishable"}
    with pytest.raises(CommandError, match="publishable key"):
        call_command("stripe_sync", "customer", "--quiet")


@pytest.mark.django_db
def test_a_key_refused_on_every_list_fails_the_run(settings):
    with StripeStub({"customers": 2, "products": 2},
                    fail={"customers": 403, "products": 403, "plans": 403}) as stub:
        settings.STRIPE_DJANGO = {**GOOD, "API_BASE": stub.api_base, "MAX_NETWORK_RETRIES": 0,
                                  "SYNC_RATE_LIMIT": 1000}
        report = sync(["customer", "product", "plan"], events=False)
        assert not report.ok and report.key_refused
        assert any("403" in note for note in report.notes)
        with pytest.raises(CommandError, match="the key was refused"):
            call_command("stripe_sync", "customer", "--quiet", "--no-events")


@pytest.mark.parametrize("value, tasks, expected", [
    ({"EVENTS_ON_TASKS": "yes"}, None, ["stripe_django.E050"]),
    ({"EVENTS_ON_TASKS": True}, None, ["stripe_django.W054"]),
    ({"EVENTS_ON_TASKS": True, "TASKS_BACKEND": "stripe"}, {"default": {"BACKEND": "x.DatabaseBackend"}},
     ["stripe_django.E053"]),
    ({"EVENTS_ON_TASKS": True}, {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}},
     ["stripe_django.W054"]),
    ({"EVENTS_ON_TASKS": True}, {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}, []),
    ({"EVENTS_ON_TASKS": True, "TASKS_QUEUE": "q"},
     {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["q"]}}, ["stripe_django.W056"]),
    ({"EVENTS_ON_TASKS": True, "TASKS_QUEUE": "shared"},
     {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["shared"]}}, []),
    ({"TASKS_QUEUE": ""}, None, ["stripe_django.E051"]),
    ({"SYNC_RATE_LIMIT_REDIS": "127.0.0.1:6379"}, None, ["stripe_django.E055"]),
    ({"SYNC_LEASE_SECONDS": 0}, None, ["stripe_django.E030"]),
    ({"EVENT_RETRY_DELAY": -1}, None, ["stripe_django.E030"]),
], ids=["not a bool", "no TASKS", "alias not defined", "dummy", "database backend",
        "rq queue by URL", "rq queue through a cache", "empty queue", "redis not a URL", "lease",
        "retry delay"])
def test_tasks_settings_are_checked(settings, monkeypatch, value, tasks, expected):
    # None: TASKS as the test settings leave it (unset on Django 5.2; Django 6's default,
    # the immediate backend)
    if tasks is not None:
        settings.TASKS = tasks
    settings.RQ_QUEUES = {"q": {"URL": "redis://127.0.0.1:6379/0"}, "shared": {"USE_REDIS_CACHE": "rq"}}
    assert ids(settings, {**GOOD, **value}) == expected


TWO = {"brand_a": {"API_KEY": "sk_test_a", "ACCOUNT": "acct_1BRANDA"},
       "brand_b": {"API_KEY": "sk_test_b", "ACCOUNT": "acct_1BRANDB"}}


@pytest.mark.parametrize("value, expected", [
    ({"API_KEYS": TWO}, []),
    ({"API_KEYS": {"brand_b": {"API_KEY": "sk_test_b", "ACCOUNT": "acct_1BRANDB"}}}, []),
    ({"API_KEYS": {"brand_b": {"API_KEY": "sk_test_b"}}}, ["stripe_django.E064"]),
    ({"API_KEYS": ["sk_test_b"]}, ["stripe_django.E060"]),
    ({"API_KEYS": {"b": {"API_KEY": None, "ACCOUNT": "acct_1B"}}}, ["stripe_django.E061"]),
    ({"API_KEYS": {"b": {"API_KEY": "pk_test_b", "ACCOUNT": "acct_1B"}}}, ["stripe_django.E011"]),
    ({"API_KEYS": {"b": {"API_KEY": "sk_test_b", "ACCOUNT": "cus_1"}}}, ["stripe_django.E062"]),
    ({"API_KEYS": {**TWO, "c": {"API_KEY": "sk_test_c", "ACCOUNT": "acct_1BRANDA"}}},
     ["stripe_django.E063"]),
    ({"API_KEYS": {"b": {"API_KEY": "sk_test_b", "ACCOUNT": "acct_1B", "SECRET": 1}}},
     ["stripe_django.E003"]),
    ({"API_KEYS": TWO, "WEBHOOK_ENDPOINTS": {"b": {"SECRETS": ["whsec_b"], "API_KEY": "brand_b"}}}, []),
    ({"API_KEYS": TWO, "WEBHOOK_ENDPOINTS": {"b": {"SECRETS": ["whsec_b"], "API_KEY": "sk_test_b"}}},
     ["stripe_django.E066"]),
], ids=["two platforms", "a second platform", "two without ACCOUNT", "not a dict", "no key",
        "publishable key", "not an account id", "same account twice", "unknown key",
        "endpoint bound to a key", "endpoint bound to an unknown name"])
def test_several_platform_accounts_are_checked(settings, monkeypatch, value, expected):
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    assert ids(settings, {**GOOD, **value}) == expected


def test_each_check_id_names_one_problem(settings):
    # A wrong MIRROR_FAILURES and a wrong EVENTS_ON_TASKS are two problems: two ids.
    settings.STRIPE_DJANGO = {**GOOD, "MIRROR_FAILURES": "loud", "EVENTS_ON_TASKS": "yes"}
    found = {m.id: m.msg for m in check_settings()}
    assert len(found) == 2, found
    assert sorted(msg.split("]")[0] for msg in found.values()) == [
        "STRIPE_DJANGO['EVENTS_ON_TASKS'", "STRIPE_DJANGO['MIRROR_FAILURES'"]


def test_install_hints_name_this_distribution():
    """``stripe-django`` on PyPI is an unrelated project: every ``pip install`` line the
    app prints for itself (its extras) names the distribution of pyproject.toml."""
    import re
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    name = tomllib.loads((root / "pyproject.toml").read_text())["project"]["name"]
    hints = [(path.name, found) for path in (root / "stripe_django").rglob("*.py")
             for found in re.findall(r"pip install ['\"]?([\w.-]+)\[", path.read_text())]
    assert hints, "no install hint found: the test looks in the wrong place"
    assert [(where, dist) for where, dist in hints if dist != name] == []


def test_manage_py_check_passes_with_every_model_in_the_admin(settings):
    # Every generated admin too: a Stripe field named like one of the admin's own
    # columns (RadarPaymentEvaluation.events) must not make a fieldset list it twice.
    settings.STRIPE_DJANGO = GOOD
    call_command("check")
