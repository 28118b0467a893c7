"""Webhook endpoint: events per server CPU-second and p99, as ratios to an empty view.

``run()``: on SQLite (a file, WAL, immediate transactions), PostgreSQL and MariaDB, two
servers on 127.0.0.1, each in a child process with a test database of its own and
persistent connections: gunicorn (one worker process per core, gthread workers with 8
threads each, ``WEBHOOK_BENCH_THREADS``) when it is installed (the ``bench`` extra),
else Django's threaded WSGI server. The first serves the project's ``stripe/webhook/``
with events processed inline, and the floor: ``bench/empty/``, an empty view that
reads the body and answers 200 (same server, middleware and senders; no database, no
project code: no webhook endpoint can cost its server less per request). The second
serves the tasks path (``EVENTS_ON_TASKS``: the view stores the event and enqueues its
processing, on django-tasks-db, or django-tasks-rq with ``WEBHOOK_BENCH_TASKS=rq`` and
the Redis at ``REDIS_URL``, default database 6; no worker runs).

Rounds interleaved: floor, inline, tasks, floor, ... In each, 32 concurrent senders
(this process, on the same cores) POST signed events (mostly new customers, some
updates of a few hot ones, some redeliveries) and wait for each answer. Figures: events
per CPU-second of the server process and its workers, and p99 latency as the senders
see it; each as a ratio to the floor's of the same round.

``python -m benchmarks.webhook_bench in-process URL [PATH]``: the server's own CPU per
event without HTTP (the WSGI handler called directly, one delivery after another).

Bounded: 3,000 events per run (``WEBHOOK_BENCH_EVENTS``; 300 in the quick mode), at
most 60 s of load each; the servers are stopped, and their databases dropped, at the end.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.ratios import QUICK, ROUNDS, compare, spread

ROOT = Path(__file__).resolve().parent.parent
SECRET = "whsec_bench"
SENDERS = 32
EVENTS = int(os.environ.get("WEBHOOK_BENCH_EVENTS", "300" if QUICK else "3000"))
WARMUP = 50 if QUICK else 200
MAX_SECONDS = 60.0
# Threads of each gunicorn worker process (one process per core): a request spends most
# of its time waiting for the database, so more threads than cores keep the cores busy.
THREADS = int(os.environ.get("WEBHOOK_BENCH_THREADS", "8"))


def __getattr__(name: str):
    """``urlpatterns``, made on demand: the child's URLconf is this module, and the
    parent imports it without configuring Django."""
    if name == "urlpatterns":
        from django.urls import include, path

        return [path("stripe/", include("stripe_django.urls")), path("bench/empty/", _empty_view())]
    raise AttributeError(name)


WEBHOOK_PATH = "/stripe/webhook/"
EMPTY_PATH = "/bench/empty/"


def _empty_view():
    """The floor's view: reads the body and answers 200, with nothing else to do."""
    from django.http import HttpResponse
    from django.views.decorators.csrf import csrf_exempt

    @csrf_exempt
    def empty(request):
        request.body  # noqa: B018 - read as the webhook view reads it
        return HttpResponse(b"")

    return empty


# --- the server (child process) ---------------------------------------------------------

def _database(url: str, sqlite_file: str) -> dict:
    from urllib.parse import urlparse

    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": sqlite_file,
                "TEST": {"NAME": sqlite_file},
                "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 30,
                            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}}
    if parsed.scheme.startswith("postgres"):
        engine = "django.db.backends.postgresql"
    elif parsed.scheme == "mysql":
        import pymysql

        pymysql.version_info = (2, 2, 7, "final", 0)
        pymysql.install_as_MySQLdb()
        engine = "django.db.backends.mysql"
    else:
        raise ValueError(f"unsupported database URL {url}")
    return {"ENGINE": engine, "NAME": parsed.path.lstrip("/"), "USER": parsed.username or "",
            "PASSWORD": parsed.password or "", "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""), "CONN_MAX_AGE": None}


def _configure(url: str) -> None:
    """Settle Django's settings for the server child: the project's webhook URL, the
    database of ``url``, and the tasks path when asked (``WEBHOOK_BENCH_TASKS``)."""
    import django
    from django.conf import settings

    sqlite_file = os.path.join(tempfile.mkdtemp(prefix="webhook-bench-"), "bench.sqlite3")
    database = _database(url, sqlite_file)
    database.setdefault("CONN_MAX_AGE", None)
    tasks = _tasks_path()
    settings.configure(
        **tasks.get("settings", {}),
        DEBUG=False, SECRET_KEY="webhook-bench", USE_TZ=True, ALLOWED_HOSTS=["127.0.0.1"],
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "stripe_django",
                        *tasks.get("apps", [])],
        MIDDLEWARE=["django.middleware.security.SecurityMiddleware",
                    "django.middleware.common.CommonMiddleware",
                    "django.middleware.csrf.CsrfViewMiddleware"],
        ROOT_URLCONF="benchmarks.webhook_bench",
        DATABASES={"default": database},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        STRIPE_DJANGO={"API_KEY": "sk_test_bench", "WEBHOOK_SECRETS": [SECRET], **tasks.get("stripe", {})},
    )
    django.setup()


def serve(url: str, server: str = "django") -> None:
    """Child: create a test database, serve until stdin closes, report, drop it."""
    _configure(url)
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.test.utils import setup_databases, teardown_databases

    from benchmarks.django_env import quick_schema

    class Quiet(WSGIRequestHandler):
        # wsgiref writes the headers and the body of a response separately; with Nagle's
        # algorithm on, the body then waits for the client's delayed ACK (~40 ms).
        disable_nagle_algorithm = True

        def log_message(self, format, *args):  # noqa: A002
            pass

    quick_schema()
    old = setup_databases(verbosity=0, interactive=False)
    try:
        if server == "gunicorn":
            _run_gunicorn(WSGIHandler())
        else:
            class Server(ThreadedWSGIServer):
                request_queue_size = 128  # socketserver's default of 5 drops a burst of connects

            httpd = Server(("127.0.0.1", 0), Quiet, allow_reuse_address=False)
            httpd.set_app(WSGIHandler())
            thread = threading.Thread(target=httpd.serve_forever, daemon=True)
            thread.start()
            print(f"PORT {httpd.server_address[1]}", flush=True)
            sys.stdin.read()  # the parent closes it (or dies): stop
            httpd.shutdown()
            httpd.server_close()
        from stripe_django.models import Customer, Event

        print(f"STORED {Event.objects.count()} {Event.objects.filter(processing_status='processed').count()} "
              f"{Customer.objects.count()}", flush=True)
    finally:
        from django.db import connections

        connections.close_all()
        teardown_databases(old, verbosity=0)
        _empty_rq_queue()


def _run_gunicorn(app) -> None:
    """Serve ``app`` with gunicorn (one worker process per core, threads in each) until
    stdin closes. Only when gunicorn is installed: it is no dependency of the project."""
    import signal
    import socket

    from django.db import connections
    from gunicorn.app.base import BaseApplication
    from gunicorn.arbiter import Arbiter

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    connections.close_all()  # no connection may cross the fork

    class Application(BaseApplication):
        def load_config(self):
            for key, value in {
                "bind": f"127.0.0.1:{port}", "workers": os.cpu_count() or 1,
                "worker_class": "gthread", "threads": THREADS, "keepalive": 30, "backlog": 128,
                "loglevel": "warning", "accesslog": None,
            }.items():
                self.cfg.set(key, value)

        def load(self):
            return app

    master = os.getpid()

    def stop_when_stdin_closes():
        sys.stdin.read()
        os.kill(master, signal.SIGTERM)

    def announce(arbiter):
        print(f"PORT {port}", flush=True)
        threading.Thread(target=stop_when_stdin_closes, daemon=True).start()

    application = Application()
    application.cfg.set("when_ready", announce)
    try:
        Arbiter(application).run()
    except SystemExit as exit_:
        if os.getpid() != master:
            # a worker process leaving: not through the master's clean-up below
            os._exit(exit_.code if isinstance(exit_.code, int) else 0)


def in_process(url: str, events: int = 2000, path: str = WEBHOOK_PATH) -> None:
    """Child: the server's own work per event, without HTTP and without senders beside
    it: the WSGI handler called directly, one signed delivery after another. What the
    project's code and Django cost, apart from the HTTP server and the scheduling of 32
    connections on shared cores (which the figures under load include)."""
    import io

    _configure(url)
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection, connections
    from django.test.utils import CaptureQueriesContext, setup_databases, teardown_databases

    from benchmarks.django_env import quick_schema

    quick_schema()
    old = setup_databases(verbosity=0, interactive=False)
    try:
        app = WSGIHandler()

        def deliver(body: bytes, signature: str) -> None:
            environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path,
                       "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1",
                       "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
                       "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json",
                       "HTTP_STRIPE_SIGNATURE": signature}
            statuses: list[str] = []
            b"".join(app(environ, lambda status, headers, exc_info=None: statuses.append(status)))
            if not statuses[0].startswith("200"):
                raise RuntimeError(f"a delivery was answered {statuses[0]}")

        for body, signature in _events(WARMUP, 10_000_000):
            deliver(body, signature)
        load = _events(events, 0)
        cpu, started = time.process_time(), time.perf_counter()
        for body, signature in load:
            deliver(body, signature)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        # Statements counted apart: Django's query log would slow the timed deliveries.
        sample = _events(200, 20_000_000)
        with CaptureQueriesContext(connection) as queries:
            for body, signature in sample:
                deliver(body, signature)
        what = "in process" if path == WEBHOOK_PATH else "floor (empty view) in process"
        print(f" {connection.vendor}, {what} (no HTTP, one delivery at a time): "
              f"{cpu / events * 1000:.2f} ms of CPU per event ({events / cpu:,.0f} per CPU-second), "
              f"{wall / events * 1000:.2f} ms wall, {len(queries) / len(sample):.1f} statements "
              f"per event with BEGIN and COMMIT", flush=True)
    finally:
        connections.close_all()
        teardown_databases(old, verbosity=0)
        _empty_rq_queue()


# --- the senders (this process) ---------------------------------------------------------

def _events(count: int, start: int) -> list[tuple[bytes, str]]:
    """Signed bodies: mostly new customers, some updates of a few hot ones, some
    redeliveries (the same event again)."""
    rng = random.Random(start)
    now = int(time.time())
    made: list[tuple[bytes, str]] = []
    for i in range(count):
        roll = rng.random()
        if roll < 0.1 and made:
            made.append(rng.choice(made))
            continue
        if roll < 0.3:
            customer_id, event_type = f"cus_hot{rng.randrange(50):03d}", "customer.updated"
        else:
            customer_id, event_type = f"cus_bench{start + i:07d}", "customer.created"
        event = {
            "id": f"evt_bench{start + i:08d}", "object": "event", "api_version": "2026-10-28.endive",
            "created": now - rng.randrange(100), "livemode": False, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "type": event_type,
            "data": {"object": {
                "id": customer_id, "object": "customer", "created": 1_700_000_000, "livemode": False,
                "email": f"{customer_id}@example.com", "name": f"Customer {i}", "balance": 0,
                "currency": "usd", "delinquent": False, "description": None,
                "metadata": {"order": str(i)}, "address": {"city": "Berlin", "country": "DE",
                                                           "line1": "Str. 1", "postal_code": "10115"},
                "invoice_settings": {"custom_fields": None, "default_payment_method": None,
                                     "footer": None, "rendering_options": None},
                "preferred_locales": ["de"], "tax_exempt": "none", "test_clock": None,
            }},
        }
        body = json.dumps(event, indent=2).encode()
        t = int(time.time())
        signature = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        made.append((body, f"t={t},v1={signature}"))
    return made


def _send(port: int, events: list[tuple[bytes, str]], senders: int, deadline: float,
          path: str = WEBHOOK_PATH) -> tuple[list[float], dict[int, int]]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    start = threading.Barrier(senders)

    def sender(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, codes = [], {}
        start.wait()
        for body, signature in events[index::senders]:
            if time.monotonic() > deadline:
                break
            began = time.perf_counter()
            try:
                conn.request("POST", path, body, {
                    "Content-Type": "application/json", "Stripe-Signature": signature})
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                status = 0
            mine.append(time.perf_counter() - began)
            codes[status] = codes.get(status, 0) + 1
        conn.close()
        with lock:
            latencies.extend(mine)
            for code, n in codes.items():
                statuses[code] = statuses.get(code, 0) + n

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, statuses


def _cpu_seconds(pid: int) -> float:
    """CPU time of a process and its live child processes (gunicorn's workers)."""
    total = 0.0
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = [int(c) for c in f.read().split()]
    except OSError:
        return total
    return total + sum(_cpu_seconds(child) for child in children)


@contextlib.contextmanager
def server_process(url: str, server: str, tasks: str | None = None):
    """A server child (``serve``) for ``url``, on the tasks path when ``tasks`` is given;
    yields ``(port, pid)``. Closing its stdin stops it; it drops its database."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("WEBHOOK_BENCH_TASKS", None)
    if tasks:
        env["WEBHOOK_BENCH_TASKS"] = tasks
    child = subprocess.Popen([sys.executable, "-m", "benchmarks.webhook_bench", "serve", url, server],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, env=env, text=True)
    try:
        line = child.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the server did not start (exit code {child.wait()})")
        yield int(line.split()[1]), child.pid
    finally:
        child.stdin.close()  # the server's lifeline: it stops, reports and drops its database
        timer = threading.Timer(120, child.kill)  # never wait forever for it
        timer.start()
        child.stdout.read()
        child.wait()
        timer.cancel()


def load(port: int, pid: int, path: str, start: int, events: int = EVENTS,
         senders: int = SENDERS) -> dict:
    """One run of the senders against a server: events per server CPU-second, p99 (ms)."""
    bodies = _events(events, start)
    cpu_before, started = _cpu_seconds(pid), time.perf_counter()
    latencies, statuses = _send(port, bodies, senders, time.monotonic() + MAX_SECONDS, path)
    wall, cpu = time.perf_counter() - started, _cpu_seconds(pid) - cpu_before
    if set(statuses) != {200}:
        print(f"   ({path}: answers {dict(sorted(statuses.items()))})")
    latencies.sort()
    done = len(latencies)
    return {"per_cpu": done / cpu, "per_wall": done / wall,
            "p99": latencies[min(done - 1, int(done * 0.99))] * 1000}


def _renamed(url: str, suffix: str) -> str:
    """The same server, another database name (two servers' test databases at once)."""
    return url if url.startswith("sqlite") else url + suffix


def measure_ratios(url: str, server: str) -> None:
    vendor = {"postgres": "postgresql", "postgresql": "postgresql"}.get(url.split(":")[0], url.split(":")[0])
    tasks = os.environ.get("WEBHOOK_BENCH_TASKS", "db")
    runs: dict[str, list[dict]] = {"floor": [], "inline": [], "tasks": []}
    with server_process(url, server) as inline, server_process(_renamed(url, "_tasks"), server, tasks) as queued:
        for (port, pid), path in ((inline, EMPTY_PATH), (inline, WEBHOOK_PATH), (queued, WEBHOOK_PATH)):
            _send(port, _events(WARMUP, 10_000_000), min(SENDERS, 8), time.monotonic() + MAX_SECONDS, path)
        for r in range(ROUNDS):
            start = 1_000_000 * (r + 1)
            runs["floor"].append(load(*inline, EMPTY_PATH, start))
            runs["inline"].append(load(*inline, WEBHOOK_PATH, start))
            runs["tasks"].append(load(*queued, WEBHOOK_PATH, start))
    figure = lambda name, key: [run[key] for run in runs[name]]  # noqa: E731
    print(f" {vendor}, {server} server, {EVENTS:,} events per run from {SENDERS} senders:")
    compare("inline: events per server CPU-second", "empty view (floor)", figure("floor", "per_cpu"),
            figure("inline", "per_cpu"), "events per CPU-s", key=f"webhooks.inline.cpu.{vendor}")
    compare("inline: p99 latency", "empty view (floor)", figure("floor", "p99"), figure("inline", "p99"),
            "ms", key=f"webhooks.inline.p99.{vendor}", lower_is_better=True, digits=1)
    compare(f"tasks ({tasks}, store + enqueue): events per server CPU-second", "empty view (floor)",
            figure("floor", "per_cpu"), figure("tasks", "per_cpu"), "events per CPU-s",
            key=f"webhooks.tasks.cpu.{vendor}")
    compare(f"tasks ({tasks}): p99 latency", "empty view (floor)", figure("floor", "p99"),
            figure("tasks", "p99"), "ms", key=f"webhooks.tasks.p99.{vendor}", lower_is_better=True, digits=1)
    print(f"    (events per second of wall time, {os.cpu_count()} cores shared with the senders: floor "
          f"{spread(figure('floor', 'per_wall'), 0)}, inline {spread(figure('inline', 'per_wall'), 0)}, "
          f"tasks {spread(figure('tasks', 'per_wall'), 0)})", flush=True)


# A queue of its own on the local Redis, emptied after each run of the RQ tasks path.
RQ_BENCH_QUEUE = "stripe-django-webhook-bench"


def _tasks_path() -> dict:
    """The tasks path (EVENTS_ON_TASKS), where the view only stores each event and
    enqueues its processing; no worker runs here. WEBHOOK_BENCH_TASKS=db: on
    django-tasks-db (a row in the same database); =rq: on django-tasks-rq (the Redis at
    REDIS_URL, default 127.0.0.1:6379/6)."""
    chosen = os.environ.get("WEBHOOK_BENCH_TASKS")
    if chosen not in ("db", "rq"):
        return {}
    import importlib.util

    backport = ["django_tasks"] if importlib.util.find_spec("django.tasks") is None else []
    if chosen == "db":
        return {"apps": [*backport, "django_tasks_db"],
                "settings": {"TASKS": {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}},
                "stripe": {"EVENTS_ON_TASKS": True}}
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/6")
    queue: dict = {"URL": redis_url}
    caches: dict = {}
    if importlib.util.find_spec("django_redis") is not None:
        # django-rq makes a new Redis client, so a new connection, for every enqueue of a
        # queue configured by URL (rq/django-rq#210); through a django-redis cache, the
        # clients share one connection pool per process.
        caches = {"CACHES": {"rq": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis_url}}}
        queue = {"USE_REDIS_CACHE": "rq"}
    return {"apps": [*backport, "django_rq", "django_tasks_rq"],
            "settings": {"TASKS": {"default": {"BACKEND": "django_tasks_rq.RQBackend",
                                               "QUEUES": [RQ_BENCH_QUEUE]}},
                         "RQ_QUEUES": {RQ_BENCH_QUEUE: queue}, **caches},
            "stripe": {"EVENTS_ON_TASKS": True, "TASKS_QUEUE": RQ_BENCH_QUEUE}}


def _empty_rq_queue() -> None:
    """Drop the jobs the RQ tasks path enqueued (no worker ran them)."""
    if os.environ.get("WEBHOOK_BENCH_TASKS") == "rq":
        import django_rq

        django_rq.get_queue(RQ_BENCH_QUEUE).empty()


def run() -> None:
    import importlib.util

    from benchmarks.django_env import SQLITE_URL, urls

    server = "gunicorn" if importlib.util.find_spec("gunicorn") else "django"
    for url in urls():
        url = "sqlite://" if url == SQLITE_URL else url  # a file: two processes share it
        try:
            measure_ratios(url, server)
        except Exception as error:  # one setup failing must not hide the other figures
            print(f" {url.split(':')[0]}, {server} server: failed: {error}")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "in-process":
        in_process(sys.argv[2], path=(sys.argv[3:4] or [WEBHOOK_PATH])[0])
    elif len(sys.argv) >= 3 and sys.argv[1] == "serve":
        serve(sys.argv[2], *sys.argv[3:4])
    else:
        run()
