"""Webhook endpoint throughput and latency under a real WSGI server.

``run()``: for SQLite (a file, WAL, immediate transactions) and PostgreSQL, first the
server's own work per event, in a process calling Django's WSGI handler directly, one
delivery after another (no HTTP, no senders beside it). Then start the
project under Django's threaded WSGI server (the one ``runserver`` uses: HTTP/1.1,
keep-alive, a thread per connection) on 127.0.0.1 in a child process, with persistent
database connections. Then 32 concurrent senders POST signed events to
``stripe/webhook/`` and wait for each answer: the figures are events per second of wall
time, events per CPU-second of the server process (throughput per core), and p50/p99
latency of a delivery as the sender sees it. Each event is verified, stored and
processed (a customer created or updated) before the 200 comes back.

When gunicorn is installed (it is no dependency of the project), the same runs again
under gunicorn: one worker process per core, gthread workers with 8 threads each
(``WEBHOOK_BENCH_THREADS``). ``WEBHOOK_BENCH_TASKS=db`` or ``=rq`` measures the tasks
path instead, on django-tasks-db or django-tasks-rq (see ``_tasks_path``).

Before the events, the floor: the same server, middleware and senders, posting the same
bodies to an empty view that reads the body and answers 200 (``bench/empty/``, no
database, no project code). No webhook endpoint of any project can cost its server less
per request than that; the figures of the events are to be read against it.

Bounded: 3,000 events per database (``WEBHOOK_BENCH_EVENTS``), at most 60 s of load;
loopback only; the server is stopped, and its database dropped, at the end. The senders
run in this process, on the same cores as the server, so the wall-clock rate is lower
than the server alone could do. The per-CPU-second figure under load includes what
sharing two cores with 32 connections costs the server (switching, cold caches); the
in-process figure leaves it out.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET = "whsec_bench"
SENDERS = 32
EVENTS = int(os.environ.get("WEBHOOK_BENCH_EVENTS", "3000"))
WARMUP = 200
MAX_SECONDS = 60.0
# Threads of each gunicorn worker process (one process per core): a request spends most
# of its time waiting for the database, so more threads than cores keep the cores busy.
THREADS = int(os.environ.get("WEBHOOK_BENCH_THREADS", "8"))
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/bench_webhooks")


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

    class Quiet(WSGIRequestHandler):
        # wsgiref writes the headers and the body of a response separately; with Nagle's
        # algorithm on, the body then waits for the client's delayed ACK (~40 ms).
        disable_nagle_algorithm = True

        def log_message(self, format, *args):  # noqa: A002
            pass

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


def measure(url: str, *, server: str = "django", events: int = EVENTS, senders: int = SENDERS,
            path: str = WEBHOOK_PATH) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("DJANGO_SETTINGS_MODULE", None)
    child = subprocess.Popen([sys.executable, "-m", "benchmarks.webhook_bench", "serve", url, server],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, env=env, text=True)
    try:
        line = child.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the server did not start (exit code {child.wait()})")
        port = int(line.split()[1])
        _send(port, _events(WARMUP, 10_000_000), min(senders, 8), time.monotonic() + MAX_SECONDS, path)
        load = _events(events, 0)
        cpu_before, started = _cpu_seconds(child.pid), time.perf_counter()
        latencies, statuses = _send(port, load, senders, time.monotonic() + MAX_SECONDS, path)
        wall, cpu = time.perf_counter() - started, _cpu_seconds(child.pid) - cpu_before
    finally:
        child.stdin.close()  # the server's lifeline: it stops, reports and drops its database
        timer = threading.Timer(120, child.kill)  # never wait forever for it
        timer.start()
        rest = child.stdout.read()
        child.wait()
        timer.cancel()
    done = len(latencies)
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(done - 1, int(done * 0.99))] * 1000
    what = f"{url.split(':')[0]}, {server} server" if path == WEBHOOK_PATH else \
        f"floor (empty view, no database), {server} server"
    print(f" {what}: {done:,} deliveries from {senders} senders in {wall:.2f} s; answers {dict(sorted(statuses.items()))}")
    print(f"   {done / wall:>8,.0f} events/s (wall, {os.cpu_count()} cores shared with the senders)")
    print(f"   {done / cpu:>8,.0f} events per CPU-second of the server ({cpu:.2f} CPU-s)")
    print(f"   latency p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    for line in rest.splitlines():
        if line.startswith("STORED ") and path == WEBHOOK_PATH:
            stored, processed, customers = line.split()[1:]
            print(f"   stored {stored} events ({processed} processed), {customers} customers")


# A queue of its own on the local Redis, emptied after each run of the RQ tasks path.
RQ_BENCH_QUEUE = "stripe-django-webhook-bench"


def _tasks_path() -> dict:
    """The tasks path (EVENTS_ON_TASKS), where the view only stores each event and
    enqueues its processing; no worker runs here. WEBHOOK_BENCH_TASKS=db: on
    django-tasks-db (a row in the same database); =rq: on django-tasks-rq (the Redis at
    REDIS_URL, default 127.0.0.1:6379)."""
    chosen = os.environ.get("WEBHOOK_BENCH_TASKS")
    if chosen not in ("db", "rq"):
        return {}
    import importlib.util

    backport = ["django_tasks"] if importlib.util.find_spec("django.tasks") is None else []
    if chosen == "db":
        return {"apps": [*backport, "django_tasks_db"],
                "settings": {"TASKS": {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}},
                "stripe": {"EVENTS_ON_TASKS": True}}
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
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


def _postgres_reachable() -> bool:
    import socket
    from urllib.parse import urlparse

    parsed = urlparse(POSTGRES_URL)
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((parsed.hostname or "127.0.0.1", parsed.port or 5432)) == 0


def _servers() -> list[str]:
    import importlib.util

    return ["django"] + (["gunicorn"] if importlib.util.find_spec("gunicorn") else [])


def run() -> None:
    urls = ["sqlite://"]
    if _postgres_reachable():
        urls.append(POSTGRES_URL)
    else:
        print(f" postgresql: skipped, nothing listens at {POSTGRES_URL}")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run([sys.executable, "-m", "benchmarks.webhook_bench", "in-process", urls[0], EMPTY_PATH],
                   cwd=ROOT, env=env)
    for server in _servers():
        try:
            measure(urls[0], server=server, path=EMPTY_PATH)
        except Exception as error:  # one setup failing must not hide the other figures
            print(f" floor, {server} server: failed: {error}")
    for url in urls:
        subprocess.run([sys.executable, "-m", "benchmarks.webhook_bench", "in-process", url],
                       cwd=ROOT, env=env)
        for server in _servers():
            try:
                measure(url, server=server)
            except Exception as error:  # one setup failing must not hide the other figures
                print(f" {url.split(':')[0]}, {server} server: failed: {error}")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "in-process":
        in_process(sys.argv[2], path=(sys.argv[3:4] or [WEBHOOK_PATH])[0])
    elif len(sys.argv) >= 3 and sys.argv[1] == "serve":
        serve(sys.argv[2], *sys.argv[3:4])
    elif len(sys.argv) >= 2:
        measure(sys.argv[1], server=(sys.argv[2:3] or ["django"])[0])
    else:
        run()
