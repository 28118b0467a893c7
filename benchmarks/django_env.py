"""Run a benchmark function against a fresh test database named by a DATABASE_URL.

Django settles its settings once per process, so each database gets a process of its
own: ``in_subprocess(module, url)`` re-runs ``python -m <module> <url>``, and that
module calls ``with database(url): ...`` to create, migrate and drop a test database.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SQLITE_URL = "sqlite:///:memory:"
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
MYSQL_URL = os.environ.get("BENCH_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")


def in_subprocess(module: str, url: str, *args: str) -> None:
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="tests.settings",
               PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", module, url, *args], env=env, cwd=ROOT)
    if done.returncode:
        print(f"  ({module} on {url.split(':')[0]} failed with exit code {done.returncode})")


@contextlib.contextmanager
def database(url: str):
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.test.utils import setup_databases, teardown_databases

    old = setup_databases(verbosity=0, interactive=False)
    try:
        yield
    finally:
        teardown_databases(old, verbosity=0)
