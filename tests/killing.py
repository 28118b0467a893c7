"""Helpers of the ``kill -9`` tests: a child process on the tests' database, run to its
end or killed with SIGKILL after a delay, and the seeded choices of when.

A child is a module run with ``python -m`` (``tests.sync.kill_child``,
``tests.verify.kill_child``) that prints a ready line (``SYNCING``) before the work a
test kills, and JSON lines for the test to read. It uses the tests' database: on SQLite
a file copy of it (a process cannot see another's in-memory database), elsewhere the
test database by name. The ``child_env`` fixture (``tests/conftest.py``) gives its
environment. The delays come from a seeded RNG; a failure names its seed, and
``STRIPE_DJANGO_KILL_SEED=<seed>`` replays its choices.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = ["ROOT", "child_environment", "seeded", "start_child", "run_child", "kill_after"]

ROOT = Path(__file__).resolve().parents[1]


def child_environment(tmp_path: Path) -> dict[str, str]:
    """The environment of a child process using the tests' database."""
    from django.db import connection

    env = dict(os.environ, DJANGO_SETTINGS_MODULE="tests.settings",
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH"))
                                          if p))
    if connection.vendor == "sqlite":
        # A copy of the tests' (migrated, in-memory) database: migrating a file takes long.
        import sqlite3

        path = tmp_path / "kill.sqlite3"
        connection.ensure_connection()
        copy = sqlite3.connect(path)
        try:
            connection.connection.backup(copy)
        finally:
            copy.close()
        env["DATABASE_URL"] = f"sqlite:///{path}"
    else:
        parts = urlsplit(os.environ["DATABASE_URL"])
        name = connection.settings_dict["NAME"]
        env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
    return env


def seeded() -> tuple[random.Random, str]:
    """The RNG of a test's kills, and the sentence that says how to replay them."""
    seed = int(os.environ.get("STRIPE_DJANGO_KILL_SEED") or random.SystemRandom().randrange(10**6))
    return random.Random(seed), f"(seed {seed}: STRIPE_DJANGO_KILL_SEED={seed} replays these choices)"


def start_child(module: str, env: dict[str, str], log: Path, *args: str) -> subprocess.Popen:
    """``python -m module args``, its stdout piped, its stderr appended to ``log``."""
    with open(log, "a") as err:  # the child has its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", module, *args], stdout=subprocess.PIPE,
                                stderr=err, text=True, env=env, cwd=ROOT)


def run_child(module: str, env: dict[str, str], log: Path, *args: str,
              timeout: float = 180) -> tuple[Any, float]:
    """Run a child to its end: what it printed last, as JSON (None: nothing), and the
    seconds from its first line (its ready line) to its end. It must exit with 0."""
    proc = start_child(module, env, log, *args)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        started = time.monotonic()
        out, _ = proc.communicate(timeout=timeout)
        seconds = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, log.read_text()[-3000:]
    lines = [line for line in (first + out).splitlines() if line.startswith("{")]
    return (json.loads(lines[-1]) if lines else None), seconds


def kill_after(module: str, env: dict[str, str], log: Path, ready: str, delay: float,
               *args: str) -> bool:
    """Start a child, SIGKILL it ``delay`` seconds after its ``ready`` line; whether the
    kill came while it was still working (it had not printed its ``"ok"`` report)."""
    proc = start_child(module, env, log, *args)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == ready, log.read_text()
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(60)
        ended = proc.stdout.read()  # the report, when the work ended before the kill
        return proc.returncode == -signal.SIGKILL and '"ok"' not in ended
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
