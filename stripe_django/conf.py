"""The ``STRIPE_DJANGO`` setting: one dict, read lazily so ``override_settings`` works.

Every key has a default here and a property on :data:`stripe_settings`; a key the
code needs and that is empty raises ``ImproperlyConfigured`` naming it.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any, Collection, Literal, overload

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

SETTING_NAME = "STRIPE_DJANGO"

DEFAULTS: dict[str, Any] = {
    # Secret API key (sk_... or rk_...). Falls back to the STRIPE_API_KEY env variable.
    "API_KEY": None,
    # Pin the API version requests are made with. None: the stripe SDK's own version.
    "API_VERSION": None,
    # Base URL of the API, to point the client at a local fake Stripe.
    "API_BASE": None,
    # Signing secrets of the default webhook endpoint, newest first; several allow
    # rotating a secret without downtime. Falls back to STRIPE_WEBHOOK_SECRET.
    "WEBHOOK_SECRETS": [],
    # Named endpoints (stripe/webhook/<name>/), each {"SECRETS": [...]}.
    "WEBHOOK_ENDPOINTS": {},
    # Seconds a signature's timestamp may be old.
    "WEBHOOK_TOLERANCE": 300,
    # Largest request body accepted by the webhook view, in bytes.
    "WEBHOOK_MAX_BODY_SIZE": 1024 * 1024,
    # Object types to fetch from the API on each event rather than trust the payload;
    # True for all types.
    "REFETCH_ON_EVENT": [],
    # Objects per database statement when ingesting.
    "INGEST_BATCH_SIZE": 500,
    # Page size of API list calls (Stripe's maximum is 100).
    "SYNC_PAGE_SIZE": 100,
    # API requests per second the sync may make; None: Stripe's published limits
    # (100/s in live mode, 25/s in test mode).
    "SYNC_RATE_LIMIT": None,
    # Network retries made by stripe-python's own client.
    "MAX_NETWORK_RETRIES": 3,
    # Seconds an API request may take before it fails (and is retried); None:
    # stripe-python's own bound (80 s).
    "HTTP_TIMEOUT": None,
    # Attempts after which ``stripe_process_events`` stops retrying a failed event (it
    # can still be processed by naming its id).
    "EVENT_MAX_ATTEMPTS": 10,
    # What the mirrored client (``stripe_django.mirrored_client()``) does when an API
    # answer cannot be stored: "log" (log it; the call returns the API's answer) or
    # "raise" (raise ``MirrorError``, which carries the API's answer).
    "MIRROR_FAILURES": "log",
    # Seconds the mirrored client may spend storing an answer the API already gave
    # (a database that hangs); then the answer is reported as MIRROR_FAILURES says.
    # None: no bound.
    "MIRROR_STORE_TIMEOUT": 10,
    # Process webhook events on Django Tasks: the view stores the event, enqueues its
    # processing (on commit) and answers 200; a worker processes it. Needs a TASKS backend.
    "EVENTS_ON_TASKS": False,
    # The Django TASKS backend alias and the queue that stripe_django's tasks go to.
    "TASKS_BACKEND": "default",
    "TASKS_QUEUE": "default",
    # Seconds before a task retries an event whose processing failed for a reason that
    # may pass; doubled at each attempt (up to an hour), until EVENT_MAX_ATTEMPTS.
    "EVENT_RETRY_DELAY": 10,
    # Seconds a sync worker holds a cursor without storing a page before another worker
    # may take the shard over (a worker that died).
    "SYNC_LEASE_SECONDS": 300,
    # Where the request pace of ``stripe_sync --enqueue`` workers is shared: None for the
    # database, or a Redis URL (redis://host:6379/0).
    "SYNC_RATE_LIMIT_REDIS": None,
    # Several platform accounts: name -> {"API_KEY": "sk_...", "ACCOUNT": "acct_..."}.
    # The name picks the key (``stripe_sync --key NAME``, a webhook endpoint's "API_KEY");
    # "ACCOUNT" is stored in ``stripe_account`` of that platform's own rows.
    "API_KEYS": {},
    # Remove secrets (client_secret, ...) from what the stripe SDK logs on its "stripe"
    # logger (response bodies at DEBUG); see stripe_django.sdklog.
    "REDACT_SDK_LOGS": True,
    # Revenue metrics (stripe_django.analytics; docs/guide/revenue-metrics.rst): the
    # contested choices of which subscriptions count and what metered prices contribute.
    "REVENUE_COUNT_PAST_DUE": True,
    "REVENUE_COUNT_UNPAID": False,
    "REVENUE_COUNT_PAUSED_COLLECTION": False,
    # "last_period": a metered item adds the amount of its last finished period;
    # "exclude": metered items add nothing.
    "REVENUE_METERED": "last_period",
    # Days of customer.subscription.* events read to rebuild subscriptions' past states
    # (MRR at a date inside them is exact); 0 or None: today's state only.
    "REVENUE_EVENTS_DAYS": 30,
    # How old the last ``stripe_verify`` of a synced type may be before the health page
    # and ``manage.py check --database`` warn: a timedelta or seconds; None: no age warning.
    "VERIFY_MAX_AGE": None,
    # How often an incremental run lists again a list that no event covers and that was
    # empty at its last listing (stripe_django.sync.evented): a timedelta or seconds; 0
    # lists such lists on every run. A new object of such a type reaches the mirror
    # within this time (plus the interval between runs), or at once by its webhook.
    "SYNC_EMPTY_LISTS_EVERY": 86400,
}

MIRROR_FAILURE_MODES = ("log", "raise")

ENV_FALLBACKS = {"API_KEY": "STRIPE_API_KEY", "WEBHOOK_SECRETS": "STRIPE_WEBHOOK_SECRET"}


class StripeSettings:
    """Attribute access to ``settings.STRIPE_DJANGO`` with defaults and env fallbacks."""

    # The value of each key (read by __getattr__; ``manage.py check`` checks them, see
    # docs/ref/settings.rst). Annotations only: no class attribute hides __getattr__.
    API_KEY: str | None
    API_VERSION: str | None
    API_BASE: str | None
    WEBHOOK_SECRETS: list[str]
    WEBHOOK_ENDPOINTS: dict[str, dict[str, Any]]
    WEBHOOK_TOLERANCE: int | None
    WEBHOOK_MAX_BODY_SIZE: int
    REFETCH_ON_EVENT: bool | Collection[str]
    INGEST_BATCH_SIZE: int
    SYNC_PAGE_SIZE: int
    SYNC_RATE_LIMIT: float | None
    MAX_NETWORK_RETRIES: int
    HTTP_TIMEOUT: float | None
    EVENT_MAX_ATTEMPTS: int
    MIRROR_FAILURES: Literal["log", "raise"]
    MIRROR_STORE_TIMEOUT: float | None
    EVENTS_ON_TASKS: bool
    TASKS_BACKEND: str
    TASKS_QUEUE: str
    EVENT_RETRY_DELAY: float
    SYNC_LEASE_SECONDS: int
    SYNC_RATE_LIMIT_REDIS: str | None
    # name -> {"API_KEY": "sk_...", "ACCOUNT": "acct_..."}, or name -> the key alone
    API_KEYS: dict[str, dict[str, str] | str]
    REDACT_SDK_LOGS: bool
    REVENUE_COUNT_PAST_DUE: bool
    REVENUE_COUNT_UNPAID: bool
    REVENUE_COUNT_PAUSED_COLLECTION: bool
    REVENUE_METERED: Literal["last_period", "exclude"]
    REVENUE_EVENTS_DAYS: int | None
    VERIFY_MAX_AGE: dt.timedelta | int | float | None
    SYNC_EMPTY_LISTS_EVERY: dt.timedelta | int | float

    def __init__(self) -> None:
        self._cache: dict[str, Any] | None = None

    def _user_settings(self) -> dict[str, Any]:
        if self._cache is None:
            user = getattr(settings, SETTING_NAME, {}) or {}
            if not isinstance(user, dict):
                raise ImproperlyConfigured(f"{SETTING_NAME} must be a dict, not {type(user).__name__}")
            unknown = set(user) - set(DEFAULTS)
            if unknown:
                raise ImproperlyConfigured(
                    f"{SETTING_NAME} has unknown key(s): {', '.join(sorted(unknown))}"
                )
            self._cache = user
        return self._cache

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(name)
        user = self._user_settings()
        value = user.get(name, DEFAULTS[name])
        if not value and name in ENV_FALLBACKS:
            env = os.environ.get(ENV_FALLBACKS[name])
            if env:
                value = [s.strip() for s in env.split(",") if s.strip()] if name == "WEBHOOK_SECRETS" else env
        return value

    @overload
    def require(self, name: Literal["API_KEY"]) -> str: ...

    @overload
    def require(self, name: Literal["WEBHOOK_SECRETS"]) -> list[str]: ...

    @overload
    def require(self, name: str) -> Any: ...

    def require(self, name: str) -> Any:
        """The value of a key that must be set, or ImproperlyConfigured naming it."""
        value = getattr(self, name)
        if isinstance(value, (list, tuple)):
            value = [v for v in value if v]  # [None] from a missing env variable is unset
        if not value:
            fallback = ENV_FALLBACKS.get(name)
            hint = f" (or the {fallback} environment variable)" if fallback else ""
            raise ImproperlyConfigured(f"{SETTING_NAME}[{name!r}] is not set{hint}")
        return value

    @property
    def verify_max_age(self) -> dt.timedelta | None:
        """``VERIFY_MAX_AGE`` as a timedelta (None: no age warning); a bad value is
        ImproperlyConfigured naming the key (``manage.py check`` reports it too)."""
        value = self.VERIFY_MAX_AGE
        problem = verify_max_age_problem(value)
        if problem:
            raise ImproperlyConfigured(f"{SETTING_NAME}['VERIFY_MAX_AGE'] {problem}")
        if value is None or isinstance(value, dt.timedelta):
            return value
        return dt.timedelta(seconds=value)

    @property
    def empty_lists_every(self) -> dt.timedelta:
        """``SYNC_EMPTY_LISTS_EVERY`` as a timedelta (zero: every run); a bad value is
        ImproperlyConfigured naming the key (``manage.py check`` reports it too)."""
        value = self.SYNC_EMPTY_LISTS_EVERY
        problem = empty_lists_every_problem(value)
        if problem:
            raise ImproperlyConfigured(f"{SETTING_NAME}['SYNC_EMPTY_LISTS_EVERY'] {problem}")
        return value if isinstance(value, dt.timedelta) else dt.timedelta(seconds=value)

    def reload(self) -> None:
        self._cache = None


stripe_settings = StripeSettings()

# Prefixes of the keys that may read an account: secret and restricted keys.
SECRET_KEY_PREFIXES = ("sk_", "rk_")


def verify_max_age_problem(value: Any) -> str | None:
    """What is wrong with a ``VERIFY_MAX_AGE`` value, or None."""
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value
    else:
        return f"must be a timedelta, a number of seconds or None, not {type(value).__name__}"
    if not seconds > 0:
        return "must be a positive duration"
    return None


def empty_lists_every_problem(value: Any) -> str | None:
    """What is wrong with a ``SYNC_EMPTY_LISTS_EVERY`` value, or None."""
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value
    else:
        return f"must be a timedelta or a number of seconds, not {type(value).__name__}"
    if seconds < 0:
        return "must not be negative (0 lists the empty lists on every run)"
    return None


def api_key_problem(key: Any) -> str | None:
    """Why ``key`` cannot be used to read a Stripe account, or None. Never quotes it."""
    if not isinstance(key, str):
        return f"must be a string, not {type(key).__name__}"
    if key.startswith("pk_"):
        return ("is a publishable key (pk_...), which can only create tokens; use a secret "
                "key (sk_...) or a restricted key (rk_...) with read access")
    if not key.startswith(SECRET_KEY_PREFIXES):
        return "does not look like a Stripe secret key (sk_...) or restricted key (rk_...)"
    return None


# The name of API_KEY among the API_KEYS names.
DEFAULT_KEY = "default"


def _key_config(name: str) -> dict[str, Any]:
    keys = stripe_settings.API_KEYS or {}
    config = keys.get(name) if isinstance(keys, dict) else None
    if config is None:
        if name == DEFAULT_KEY:
            return {}
        known = ", ".join(sorted(keys)) if isinstance(keys, dict) else ""
        raise ImproperlyConfigured(f"{SETTING_NAME}['API_KEYS'] has no key named {name!r}"
                                   + (f" (known: {known})" if known else ""))
    if isinstance(config, str):
        return {"API_KEY": config}
    if not isinstance(config, dict):
        raise ImproperlyConfigured(f"{SETTING_NAME}['API_KEYS'][{name!r}] must be a dict with "
                                   "an 'API_KEY'")
    return config


def api_key_for(name: str | None) -> str:
    """The secret key of an ``API_KEYS`` name; None means "default" (``API_KEY``, or
    ``API_KEYS["default"]`` where it is defined)."""
    config = _key_config(name or DEFAULT_KEY)
    if not config:
        return stripe_settings.require("API_KEY")
    key = config.get("API_KEY")
    if not key:
        raise ImproperlyConfigured(f"{SETTING_NAME}['API_KEYS'][{name!r}]['API_KEY'] is not set")
    return key


def platform_account_for(name: str | None) -> str | None:
    """The ``stripe_account`` of the platform's own rows read with the key ``name``: its
    ``ACCOUNT`` (several platforms in one database), else None (the single-key setup).
    None means "default", as everywhere: an ``API_KEYS["default"]`` with an ``ACCOUNT``
    gives it to ``API_KEY``'s rows whether the key is named or not."""
    return _key_config(name or DEFAULT_KEY).get("ACCOUNT") or None


def key_for_platform_account(account: str | None) -> str | None:
    """The ``API_KEYS`` name whose ``ACCOUNT`` is ``account``, or None."""
    keys = stripe_settings.API_KEYS or {}
    if not account or not isinstance(keys, dict):
        return None
    for name, config in keys.items():
        if isinstance(config, dict) and config.get("ACCOUNT") == account:
            return name
    return None


def endpoint_key(endpoint: str | None) -> str | None:
    """The ``API_KEYS`` name a webhook endpoint is bound to (its "API_KEY"), or None for
    ``API_KEY`` (the default endpoint, and named endpoints that name no key)."""
    if not endpoint:
        return None
    endpoints = stripe_settings.WEBHOOK_ENDPOINTS or {}
    config = endpoints.get(endpoint) if isinstance(endpoints, dict) else None
    return config.get("API_KEY") or None if isinstance(config, dict) else None


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING_NAME:
        stripe_settings.reload()


setting_changed.connect(_reload)
