"""Settings of the worker processes the worker tests start: the test project's, on the
test's database, with the TASKS, RQ_QUEUES and STRIPE_DJANGO the test hands over in the
STRIPE_DJANGO_TEST_WORKER environment variable (JSON)."""

import json
import os

from tests.settings import *  # noqa: F401,F403
from tests.settings import DATABASES

_config = json.loads(os.environ["STRIPE_DJANGO_TEST_WORKER"])
DATABASES["default"]["NAME"] = _config["DATABASE_NAME"]
TASKS = _config["TASKS"]
RQ_QUEUES = _config.get("RQ_QUEUES", {})
STRIPE_DJANGO = _config["STRIPE_DJANGO"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
