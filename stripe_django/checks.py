"""System checks (``manage.py check``): the ``STRIPE_DJANGO`` setting and what it needs.

Each message names the key that is wrong and never quotes a key or a secret. The
database check (``manage.py check --database default``) reports failed webhook events
that retries have given up on.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from .conf import (DEFAULTS, ENV_FALLBACKS, MIRROR_FAILURE_MODES, SETTING_NAME, api_key_problem,
                   empty_lists_every_problem, verify_max_age_problem)
from .webhooks.verification import PAYLOAD_KINDS

__all__ = ["check_settings", "check_failed_events", "check_verifications", "check_events_access"]

_HINT_ENV = ("A list holding None usually comes from os.environ.get() of a variable that is "
             "not set in this environment.")


def _error(id_: int, message: str, hint: str | None = None) -> Error:
    return Error(message, hint=hint, id=f"stripe_django.E{id_:03d}")


def _warning(id_: int, message: str, hint: str | None = None) -> Warning:
    return Warning(message, hint=hint, id=f"stripe_django.W{id_:03d}")


#: ``manage.py check --tag stripe_django`` runs this app's checks alone.
TAG = "stripe_django"


@register(Tags.compatibility, TAG)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list:
    messages: list = []
    if not getattr(settings, "USE_TZ", False):
        messages.append(_error(1, "stripe_django needs USE_TZ = True: Stripe's times are UTC "
                               "instants, stored as aware datetimes."))
    user = getattr(settings, SETTING_NAME, {})
    if user is None:
        user = {}
    if not isinstance(user, dict):
        messages.append(_error(2, f"{SETTING_NAME} must be a dict, not {type(user).__name__}."))
        return messages
    unknown = sorted(set(user) - set(DEFAULTS))
    if unknown:
        messages.append(_error(3, f"{SETTING_NAME} has unknown key(s): {', '.join(unknown)}.",
                               hint=f"Known keys: {', '.join(sorted(DEFAULTS))}."))
    messages += _check_api_key(user)
    messages += _check_api_keys(user)
    messages += _check_secrets(f"{SETTING_NAME}['WEBHOOK_SECRETS']", _secrets(user))
    endpoints = user.get("WEBHOOK_ENDPOINTS") or {}
    if not isinstance(endpoints, dict):
        messages.append(_error(4, f"{SETTING_NAME}['WEBHOOK_ENDPOINTS'] must be a dict of "
                               "endpoint name -> {'SECRETS': [...]}."))
    else:
        for name, config in endpoints.items():
            where = f"{SETTING_NAME}['WEBHOOK_ENDPOINTS'][{name!r}]"
            if not isinstance(config, dict):
                messages.append(_error(4, f"{where} must be a dict with a 'SECRETS' list."))
                continue
            extra = sorted(set(config) - {"SECRETS", "TOLERANCE", "MAX_BODY_SIZE", "API_KEY", "PAYLOAD"})
            if extra:
                messages.append(_error(3, f"{where} has unknown key(s): {', '.join(extra)}."))
            for key, (low, high) in _ENDPOINT_NUMBERS.items():
                if key in config and config[key] is not None:
                    problem = _integer_problem(config[key], low, high)
                    if problem:
                        messages.append(_error(30, f"{where}[{key!r}] {problem}."))
            payload = config.get("PAYLOAD", "any")
            if payload not in PAYLOAD_KINDS:
                messages.append(_error(81, f"{where}['PAYLOAD'] must be one of "
                                       f"{', '.join(map(repr, PAYLOAD_KINDS))}, not {payload!r}.",
                                       hint="'thin' for an event destination of thin events."))
            bound = config.get("API_KEY")
            api_keys = user.get("API_KEYS")
            keys = api_keys if isinstance(api_keys, dict) else {}
            if bound is not None and bound != "default" and bound not in keys:
                messages.append(_error(66, f"{where}['API_KEY'] names {bound!r}, which "
                                       f"{SETTING_NAME}['API_KEYS'] does not define.",
                                       hint="It names an API_KEYS entry (not the key itself)."))
            messages += _check_secrets(f"{where}['SECRETS']", config.get("SECRETS"), required=True)
    messages += _check_numbers(user)
    messages += _check_api_target(user)
    mode = user.get("MIRROR_FAILURES", DEFAULTS["MIRROR_FAILURES"])
    if mode not in MIRROR_FAILURE_MODES:
        messages.append(_error(70, f"{SETTING_NAME}['MIRROR_FAILURES'] must be one of "
                               f"{', '.join(map(repr, MIRROR_FAILURE_MODES))}, not {mode!r}."))
    messages += _check_tasks(user)
    if not isinstance(user.get("REDACT_SDK_LOGS", True), bool):
        messages.append(_error(71, f"{SETTING_NAME}['REDACT_SDK_LOGS'] must be True or False."))
    problem = verify_max_age_problem(user.get("VERIFY_MAX_AGE"))
    if problem:
        messages.append(_error(82, f"{SETTING_NAME}['VERIFY_MAX_AGE'] {problem}.",
                               hint="e.g. datetime.timedelta(days=7), or 604800 (seconds)."))
    if "SYNC_EMPTY_LISTS_EVERY" in user:
        problem = empty_lists_every_problem(user["SYNC_EMPTY_LISTS_EVERY"])
        if problem:
            messages.append(_error(85, f"{SETTING_NAME}['SYNC_EMPTY_LISTS_EVERY'] {problem}.",
                                   hint="e.g. datetime.timedelta(hours=6), or 21600 (seconds)."))
    return messages


def _check_api_keys(user: dict) -> list:
    """API_KEYS: several platform accounts in one database."""
    keys = user.get("API_KEYS")
    if not keys:
        return []
    where = f"{SETTING_NAME}['API_KEYS']"
    if not isinstance(keys, dict):
        return [_error(60, f"{where} must be a dict: name -> {{'API_KEY': 'sk_...', "
                       "'ACCOUNT': 'acct_...'}.")]
    messages = []
    without_account = []
    accounts: dict[str, str] = {}
    for name, config in keys.items():
        here = f"{where}[{name!r}]"
        if isinstance(config, str):
            config = {"API_KEY": config}
        if not isinstance(config, dict):
            messages.append(_error(60, f"{here} must be a dict with 'API_KEY' and 'ACCOUNT'."))
            continue
        extra = sorted(set(config) - {"API_KEY", "ACCOUNT"})
        if extra:
            messages.append(_error(3, f"{here} has unknown key(s): {', '.join(extra)}."))
        key = config.get("API_KEY")
        if not key:
            messages.append(_error(61, f"{here}['API_KEY'] is not set.", hint=_HINT_ENV))
        else:
            problem = api_key_problem(key)
            if problem is not None:
                messages.append(_error(11, f"{here}['API_KEY'] {problem}."))
        account = config.get("ACCOUNT")
        if account is None:
            without_account.append(name)
        elif not isinstance(account, str) or not account.startswith("acct_"):
            messages.append(_error(62, f"{here}['ACCOUNT'] must be the platform's account id "
                                   "(acct_...), as the Dashboard or GET /v1/account shows it."))
        elif account in accounts:
            messages.append(_error(63, f"{here}['ACCOUNT'] is also the account of "
                                   f"{accounts[account]!r}: their rows could not be told apart."))
        else:
            accounts[account] = name
    default_key = user.get("API_KEY") or os.environ.get(ENV_FALLBACKS["API_KEY"])
    if default_key and "default" not in keys:
        without_account.append("API_KEY")
    if len(without_account) > 1:
        messages.append(_error(64, f"{where}: {', '.join(map(str, without_account))} have no "
                               "'ACCOUNT': the platform rows of all but one key need it, or the "
                               "platforms' own rows could not be told apart.",
                               hint="Give each platform's 'ACCOUNT' (acct_...); one key may keep "
                                    "none (its rows keep a null stripe_account, as with one key)."))
    return messages


def _check_api_key(user: dict) -> list:
    key = user.get("API_KEY") or os.environ.get(ENV_FALLBACKS["API_KEY"])
    if not key and user.get("API_KEYS"):
        return []
    where = f"{SETTING_NAME}['API_KEY']" if user.get("API_KEY") else f"${ENV_FALLBACKS['API_KEY']}"
    if not key:
        return [_warning(10, f"No Stripe API key: {SETTING_NAME}['API_KEY'] and "
                         f"${ENV_FALLBACKS['API_KEY']} are both unset.",
                         hint="stripe_sync, stripe_process_events and webhook events that need "
                              "the API (long invoices, REFETCH_ON_EVENT) will fail.")]
    problem = api_key_problem(key)
    if problem is None:
        return []
    if isinstance(key, str) and key.startswith("pk_") or not isinstance(key, str):
        return [_error(11, f"{where} {problem}.")]
    return [_warning(11, f"{where} {problem}.")]


def _secrets(user: dict) -> Any:
    value = user.get("WEBHOOK_SECRETS")
    if not value and os.environ.get(ENV_FALLBACKS["WEBHOOK_SECRETS"]):
        return [s.strip() for s in os.environ[ENV_FALLBACKS["WEBHOOK_SECRETS"]].split(",") if s.strip()]
    return value


def _check_secrets(where: str, value: Any, required: bool = False) -> list:
    if value is None or value == [] or value == ():
        if required:
            return [_error(20, f"{where} is empty: every delivery to this endpoint will fail.")]
        return [_warning(20, f"{where} is empty (and ${ENV_FALLBACKS['WEBHOOK_SECRETS']} unset): "
                         "the webhook view answers 500 to every delivery until it is set.")]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        return [_error(21, f"{where} must be a list of signing secrets (whsec_...).")]
    messages = []
    for index, secret in enumerate(value):
        if not isinstance(secret, str) or not secret.strip():
            messages.append(_error(22, f"{where}[{index}] is {'None' if secret is None else 'empty'}: "
                                   "no delivery can match it.", hint=_HINT_ENV))
        elif not secret.startswith("whsec_"):
            messages.append(_warning(23, f"{where}[{index}] does not look like a webhook signing "
                                     "secret (whsec_...).",
                                     hint="It is shown on the endpoint's page in the Dashboard, "
                                          "or printed by `stripe listen`."))
    return messages


_NUMBERS: dict[str, tuple[int, int | None]] = {
    "WEBHOOK_TOLERANCE": (0, None),
    "WEBHOOK_MAX_BODY_SIZE": (1, None),
    "INGEST_BATCH_SIZE": (1, None),
    "SYNC_PAGE_SIZE": (1, 100),
    "MAX_NETWORK_RETRIES": (0, None),
    "EVENT_MAX_ATTEMPTS": (1, None),
    "SYNC_LEASE_SECONDS": (10, None),
}


# Settings in seconds (a positive number under a day), and what None means if it is allowed.
_SECONDS = {
    "MIRROR_STORE_TIMEOUT": ", or None for no bound",
    "HTTP_TIMEOUT": ", or None for stripe-python's 80 s",
    "EVENT_RETRY_DELAY": "",
}


# An endpoint's own values of the settings above (None: the global setting's).
_ENDPOINT_NUMBERS = {"TOLERANCE": _NUMBERS["WEBHOOK_TOLERANCE"],
                     "MAX_BODY_SIZE": _NUMBERS["WEBHOOK_MAX_BODY_SIZE"]}


def _integer_problem(value: Any, low: int, high: int | None) -> str | None:
    if type(value) is int and value >= low and (high is None or value <= high):
        return None
    return "must be an integer " + (f"from {low} to {high}" if high is not None else f"of at least {low}")


def _check_numbers(user: dict) -> list:
    messages = []
    for name, (low, high) in _NUMBERS.items():
        if name not in user:
            continue
        value = user[name]
        if value is None and name == "WEBHOOK_TOLERANCE":
            continue
        problem = _integer_problem(value, low, high)
        if problem:
            messages.append(_error(30, f"{SETTING_NAME}[{name!r}] {problem}."))
    rate = user.get("SYNC_RATE_LIMIT")
    if rate is not None and (not isinstance(rate, (int, float)) or isinstance(rate, bool) or rate <= 0):
        messages.append(_error(30, f"{SETTING_NAME}['SYNC_RATE_LIMIT'] must be a positive number "
                               "of requests per second, or None."))
    for name, what in _SECONDS.items():
        value = user.get(name)
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)
                                  or not 0 < value < 86400):
            messages.append(_error(30, f"{SETTING_NAME}[{name!r}] must be a positive number of seconds "
                                   f"(under a day){what}."))
    return messages


# Stripe's API versions: a date, and since 2024-09 a release name ("2026-10-28.endive").
_API_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}(\.[a-z]+)?")


def _check_api_target(user: dict) -> list:
    """``API_VERSION`` and ``API_BASE``, which every request carries: a typo would only
    show as Stripe's refusal of every request."""
    messages = []
    version = user.get("API_VERSION")
    if version is not None and not (isinstance(version, str) and _API_VERSION.fullmatch(version)):
        messages.append(_error(32, f"{SETTING_NAME}['API_VERSION'] must be a Stripe API version "
                               f"such as '2026-10-28.endive', not {version!r}.",
                               hint="None (the default) uses the installed stripe SDK's version."))
    base = user.get("API_BASE")
    if base is not None:
        parts = urlsplit(base) if isinstance(base, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            messages.append(_error(33, f"{SETTING_NAME}['API_BASE'] must be an http(s) URL such "
                                   f"as 'http://127.0.0.1:12111', not {base!r}.",
                                   hint="None (the default) is Stripe's https://api.stripe.com."))
    return messages


def tasks_framework() -> str | None:
    """The importable Tasks framework: "django.tasks" (Django 6), "django_tasks" (the
    backport), or None."""
    import importlib.util

    for name in ("django.tasks", "django_tasks"):
        try:
            if importlib.util.find_spec(name) is not None:
                return name
        except ModuleNotFoundError:
            continue
    return None


def _check_tasks(user: dict) -> list:
    """EVENTS_ON_TASKS, TASKS_BACKEND/TASKS_QUEUE and SYNC_RATE_LIMIT_REDIS."""
    messages = []
    on = user.get("EVENTS_ON_TASKS", False)
    if not isinstance(on, bool):
        messages.append(_error(50, f"{SETTING_NAME}['EVENTS_ON_TASKS'] must be True or False."))
    for name in ("TASKS_BACKEND", "TASKS_QUEUE"):
        if name in user and (not isinstance(user[name], str) or not user[name]):
            messages.append(_error(51, f"{SETTING_NAME}[{name!r}] must be a non-empty string."))
    redis = user.get("SYNC_RATE_LIMIT_REDIS")
    if redis is not None and not (isinstance(redis, str)
                                  and redis.startswith(("redis://", "rediss://", "unix://"))):
        messages.append(_error(55, f"{SETTING_NAME}['SYNC_RATE_LIMIT_REDIS'] must be a Redis URL "
                               "(redis://host:6379/0) or None (the database)."))
    if on is not True:
        return messages
    if tasks_framework() is None:
        messages.append(_error(52, f"{SETTING_NAME}['EVENTS_ON_TASKS'] needs Django's Tasks "
                               "framework: Django 6, or the django-tasks package on Django 5.2.",
                               hint="pip install 'django-stripe-mirror[tasks]'"))
        return messages
    alias = user.get("TASKS_BACKEND", DEFAULTS["TASKS_BACKEND"])
    tasks = getattr(settings, "TASKS", None)
    if tasks is None:
        if alias == "default":
            messages.append(_warning(54, f"{SETTING_NAME}['EVENTS_ON_TASKS'] is on but the TASKS "
                                     "setting is not set: Django's default backend runs each task "
                                     "at once, in the webhook request.",
                                     hint="Configure a backend with a worker, e.g. "
                                          "django_tasks_db.DatabaseBackend or django_tasks_rq.RQBackend."))
        else:
            messages.append(_error(53, f"{SETTING_NAME}['TASKS_BACKEND'] names the backend "
                                   f"{alias!r}, which the TASKS setting does not define."))
        return messages
    if not isinstance(tasks, dict) or alias not in tasks:
        messages.append(_error(53, f"{SETTING_NAME}['TASKS_BACKEND'] names the backend {alias!r}, "
                               "which the TASKS setting does not define."))
        return messages
    backend = str((tasks[alias] or {}).get("BACKEND", ""))
    if backend.endswith(".DummyBackend"):
        messages.append(_warning(54, f"The tasks backend {alias!r} is a DummyBackend: events "
                                 "are stored and enqueued, but nothing ever processes them.",
                                 hint="Use a backend with a worker, or turn EVENTS_ON_TASKS off."))
    elif backend.endswith(".ImmediateBackend"):
        messages.append(_warning(54, f"The tasks backend {alias!r} is an ImmediateBackend: each "
                                 "event is processed at once, in the webhook request.",
                                 hint="Use a backend with a worker (django_tasks_db, django_tasks_rq)."))
    elif backend.endswith(".RQBackend"):
        messages += _check_rq_queue(user.get("TASKS_QUEUE", DEFAULTS["TASKS_QUEUE"]))
    return messages


def _check_rq_queue(queue: str) -> list:
    """django-rq makes a new Redis client, hence a new connection, each time it gets a
    queue configured by URL or host (rq/django-rq#210), which the RQ backend does for
    every enqueue: on the tasks path, for every webhook event. Through a django-redis
    cache (``USE_REDIS_CACHE``) the clients share the cache's connection pool."""
    config = (getattr(settings, "RQ_QUEUES", None) or {}).get(queue)
    if not isinstance(config, dict) or "USE_REDIS_CACHE" in config:
        return []
    return [_warning(56, f"RQ_QUEUES[{queue!r}] is configured without USE_REDIS_CACHE: django-rq "
                         "then opens a new Redis connection for every webhook event it enqueues "
                         "(rq/django-rq#210), which costs more than processing the event inline.",
                     hint="Add a django-redis cache to CACHES and set "
                          f"RQ_QUEUES[{queue!r}] = {{'USE_REDIS_CACHE': '<that cache>'}} "
                          "(see the tasks guide).")]


@register(Tags.database, TAG)
def check_failed_events(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list:
    """Failed webhook events that ``stripe_process_events`` no longer retries."""
    if not databases:
        return []
    from django.db import DatabaseError, router

    from .conf import stripe_settings
    from .models import Event
    from .models.processing import ProcessingStatus

    alias = router.db_for_read(Event)
    if alias not in databases:
        return []
    try:
        limit = int(stripe_settings.EVENT_MAX_ATTEMPTS)
        given_up = (Event._default_manager.using(alias)
                    .filter(processing_status=ProcessingStatus.FAILED, processing_attempts__gte=limit)
                    .count())
    except (DatabaseError, ValueError, TypeError):
        return []  # not migrated yet, or a bad setting reported above
    if not given_up:
        return []
    return [_warning(40, f"{given_up} webhook event(s) failed {limit} times and are no longer "
                     "retried.",
                     hint="See them in the admin (Events, status failed), fix the cause, then "
                          "`manage.py stripe_process_events EVENT_ID ...`.")]


@register(Tags.database, TAG)
def check_verifications(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list:
    """With ``VERIFY_MAX_AGE`` set: synced types whose mirror was never verified, or not
    within that age (``stripe_verify``). Without it, nothing: verifying is optional."""
    if not databases:
        return []
    from django.core.exceptions import ImproperlyConfigured
    from django.db import DatabaseError, router
    from django.utils import timezone

    from .conf import stripe_settings
    from .models.sync_state import SyncCursor
    from .verify.latest import unverified_cursors

    try:
        max_age = stripe_settings.verify_max_age
    except ImproperlyConfigured:
        return []  # reported by check_settings
    alias = router.db_for_read(SyncCursor)
    if max_age is None or alias not in databases:
        return []
    try:
        late = list(unverified_cursors(alias, max_age, timezone.now()).order_by()
                    .values_list("object_type", "verified"))
    except DatabaseError:
        return []  # not migrated yet
    if not late:
        return []
    types = sorted({name for name, _ in late})
    never = sum(1 for _, verified in late if not verified)
    shown = ", ".join(types[:10]) + (f" and {len(types) - 10} more" if len(types) > 10 else "")
    return [_warning(83, f"{len(late)} synced type(s) and account(s) have no verification within "
                     f"VERIFY_MAX_AGE ({max_age}), {never} of them none ever: {shown}.",
                     hint="Run `manage.py stripe_verify` (with --all-accounts for connected "
                          "accounts), e.g. from cron; see the health page.")]


@register(Tags.database, TAG)
def check_events_access(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list:
    """The last sync could not read the Events API with the key (a restricted key
    without that permission, a server that does not serve it), as the ``event`` cursors
    recorded it: no request is made here."""
    if not databases:
        return []
    from django.db import DatabaseError, router

    from .models.sync_state import SyncCursor
    from .sync.events_access import refusals

    alias = router.db_for_read(SyncCursor)
    if alias not in databases:
        return []
    try:
        found = refusals(alias)
    except DatabaseError:
        return []  # not migrated yet
    messages = []
    for refusal in found:
        mode = "live" if refusal.livemode else "test"
        if refusal.http_status == "404":
            hint = ("The server at API_BASE does not serve GET /v1/events; against Stripe "
                    "itself, check the key's account.")
        else:
            hint = ("Give the restricted key the Read permission on Events (the Dashboard's "
                    "API keys page), or use a secret key; until then `stripe_sync --no-events` "
                    "lists every type again, and webhooks bring changes as they happen.")
        messages.append(_warning(84, f"The last sync in {mode} mode could not read the Events "
                                 f"API ({refusal.accounts} account(s)): incremental runs see new "
                                 "objects only, not updates or deletions. "
                                 f"{refusal.message}",
                                 hint=hint))
    return messages
