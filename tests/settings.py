"""Settings of the test project. The database comes from DATABASE_URL (default SQLite)."""

import os

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.admin",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",  # the admin's CSS and JS in the browser tests (live_server)
    "stripe_django",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "/static/"


def database_from_url(url: str) -> dict:
    """A DATABASES entry from sqlite:///path, postgres://..., mysql://... URLs."""
    from urllib.parse import urlparse

    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": parsed.path[1:] or ":memory:"}
    engine = {
        "postgres": "django.db.backends.postgresql",
        "postgresql": "django.db.backends.postgresql",
        "mysql": "django.db.backends.mysql",
    }[parsed.scheme]
    config = {
        "ENGINE": engine,
        "NAME": parsed.path.lstrip("/"),
        "USER": parsed.username or "",
        "PASSWORD": parsed.password or "",
        "HOST": parsed.hostname or "",
        "PORT": str(parsed.port or ""),
    }
    if engine.endswith("mysql"):
        config["OPTIONS"] = {"charset": "utf8mb4"}
        config["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_bin"}
    return config


DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite:///:memory:")
if DATABASE_URL.startswith("mysql"):
    # PyMySQL stands in for mysqlclient, which needs C headers a fresh machine lacks.
    import pymysql

    pymysql.version_info = (2, 2, 7, "final", 0)
    pymysql.install_as_MySQLdb()
DATABASES = {"default": database_from_url(DATABASE_URL)}

STRIPE_DJANGO = {
    "API_KEY": "sk_test_stripe_django_tests",
    "WEBHOOK_SECRETS": ["whsec_tests_primary"],
}

# Django Tasks: Django 6's django.tasks, or the django-tasks backport on Django 5.2, with
# the database and RQ worker backends when they are installed (the "tasks" extra).
# Without a TASKS setting the backend is the immediate one (tasks run when enqueued).
import importlib.util  # noqa: E402

if importlib.util.find_spec("django.tasks") is None and importlib.util.find_spec("django_tasks"):
    INSTALLED_APPS.append("django_tasks")
for _app in ("django_tasks_db", "django_rq", "django_tasks_rq"):
    if importlib.util.find_spec(_app):
        INSTALLED_APPS.append(_app)

# RQ's queues (django-rq), for the RQ worker tests: a Redis database of the tests' own.
REDIS_URL = os.environ.get("STRIPE_DJANGO_TEST_REDIS", "redis://127.0.0.1:6379/3")
# As the tasks guide advises: RQ's queues through a django-redis cache, whose clients
# share one connection pool (configured by URL, django-rq connects anew for each enqueue).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
          "rq": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": REDIS_URL}}
RQ_QUEUES = {os.environ.get("STRIPE_DJANGO_TEST_RQ_QUEUE", "default"): {"USE_REDIS_CACHE": "rq"}}
