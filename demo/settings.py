"""Django settings of the demo (``python -m demo``). Not for production use.

The demo's ``__main__`` sets the environment variables read here before Django starts:
``STRIPE_DJANGO_DEMO_DB`` (the SQLite file) and, when it runs a local fake Stripe,
``STRIPE_DJANGO_DEMO_API_BASE``. ``STRIPE_API_KEY`` (a test-mode key) syncs a real
Stripe test account instead.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "demo-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "stripe_django",
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("STRIPE_DJANGO_DEMO_DB", str(BASE_DIR / "demo.sqlite3")),
    }
}

_api_base = os.environ.get("STRIPE_DJANGO_DEMO_API_BASE")
if _api_base:
    # The local fake Stripe started by the demo: any sk_ key works; it is fast and
    # has no rate limit worth pacing for, and retrying its 500s only adds delay.
    STRIPE_DJANGO = {
        "API_KEY": "sk_test_demo_localstripe",
        "API_BASE": _api_base,
        "SYNC_RATE_LIMIT": 500,
        "MAX_NETWORK_RETRIES": 0,
    }
else:
    # API_KEY falls back to the STRIPE_API_KEY environment variable.
    STRIPE_DJANGO = {}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"stripe_django": {"handlers": ["console"], "level": "ERROR"}},
}
