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
# The test databases are made from these names (test_bench): none of the test suites' own.
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/bench")
MYSQL_URL = os.environ.get("BENCH_MYSQL_URL", "mysql://root@127.0.0.1:3306/bench")


def reachable(url: str) -> bool:
    """Whether a database server listens at ``url`` (SQLite: always)."""
    import socket
    from urllib.parse import urlparse

    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        return True
    port = parsed.port or (3306 if parsed.scheme == "mysql" else 5432)
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((parsed.hostname or "127.0.0.1", port)) == 0


def urls() -> list[str]:
    """The databases to measure on, of ``BENCH_DATABASES`` (``sqlite,postgres,mysql``;
    the quick mode's default: ``sqlite``), where a server listens."""
    from benchmarks.ratios import QUICK

    known = {"sqlite": SQLITE_URL, "postgres": POSTGRES_URL, "mysql": MYSQL_URL}
    names = os.environ.get("BENCH_DATABASES", "sqlite" if QUICK else ",".join(known))
    chosen = [known[name.strip()] for name in names.split(",") if name.strip()]
    for url in chosen:
        if not reachable(url):
            print(f" {url.split(':')[0]}: skipped, nothing listens at {url}")
    return [url for url in chosen if reachable(url)]


def quick_schema() -> None:
    """In the quick mode, test databases get their tables from the models rather than
    by running the migrations (seconds instead of tens of seconds; the full run
    migrates, so its schema is the one users have)."""
    from benchmarks.ratios import QUICK

    if QUICK:
        from django.db import connections

        for alias in connections:
            connections[alias].settings_dict.setdefault("TEST", {})["MIGRATE"] = False


def in_subprocess(module: str, url: str, *args: str) -> None:
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="tests.settings",
               PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", module, url, *args], env=env, cwd=ROOT)
    if done.returncode:
        print(f"  ({module} on {url.split(':')[0]} failed with exit code {done.returncode})")


@contextlib.contextmanager
def database(url: str, *, keep: bool = False):
    """A test database made from ``url``, migrated; dropped after, unless ``keep``
    (then an existing one is used again, its rows as they are)."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.test.utils import setup_databases, teardown_databases

    quick_schema()

    # serialized_aliases=(): no copy of the database's rows is kept for test cases that
    # roll back by reloading it (none here): of a kept database holding a million
    # invoices it took longer than the benchmark
    old = setup_databases(verbosity=0, interactive=False, keepdb=keep, serialized_aliases=())
    try:
        yield
    finally:
        teardown_databases(old, verbosity=0, keepdb=keep)
