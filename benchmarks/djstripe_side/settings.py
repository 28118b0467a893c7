"""Django settings of the dj-stripe side of the comparison (``djstripe_compare``)."""

import os
from urllib.parse import urlparse

_db = urlparse(os.environ["DATABASE_URL"])
SECRET_KEY = "djstripe-bench-only"
DEBUG = True  # dj-stripe refuses STRIPE_API_HOST (the stub) otherwise
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "djstripe"]
DATABASES = {"default": {
    "ENGINE": "django.db.backends.postgresql", "NAME": _db.path.lstrip("/"),
    "USER": _db.username or "", "PASSWORD": _db.password or "",
    "HOST": _db.hostname or "", "PORT": str(_db.port or ""),
}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STRIPE_API_HOST = os.environ["STUB_API_BASE"]
STRIPE_TEST_SECRET_KEY = "sk_test_" + "0" * 24 + "bench"  # the form dj-stripe accepts
STRIPE_LIVE_MODE = False
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_WEBHOOK_SECRET = "whsec_bench"
