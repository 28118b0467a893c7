"""The baselines' loader: Stripe objects into the mirror's tables with no project code.

What a competent engineer would write to bulk-load the same objects by hand: per row,
each column's value taken from the payload key of the same name (a timestamp made a
datetime, an expanded object its id, a JSON column encoded by orjson), the whole object
as ``stripe_data`` with its digest; then per page one transaction with, on PostgreSQL,
one psycopg ``COPY`` per table, on SQLite and MariaDB one ``executemany`` INSERT (which
PyMySQL sends as multi-row INSERTs). No look-up of stored rows, no staleness guard, no
redaction: the floor that the project's ingest is measured against.

The columns come from the models' metadata, read once before anything is timed; the
timed part imports nothing from ``stripe_django``. Also here: the CPU time of the
database server process (or thread) serving a connection, for the per-CPU-second figures.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from typing import Any, Callable, Iterable

import orjson

UTC = dt.timezone.utc
BASE_COLUMNS = ("id", "stripe_account", "stripe_data", "stripe_snapshot_at", "stripe_data_hash", "deleted")


def _text(value: Any) -> str:
    return orjson.dumps(value).decode()


class PlainTable:
    """Rows of one model's table, from payloads, by plain code."""

    def __init__(self, model: type, vendor: str, stamp: int, children: dict[str, "PlainTable"] | None = None):
        fields = model._meta.concrete_fields
        self.table = model._meta.db_table
        self.columns = [f.column for f in fields]
        self.keys = [f.name for f in fields]
        kinds = [f.get_internal_type() for f in fields]
        self.json = [i for i, k in enumerate(kinds) if k == "JSONField" and self.keys[i] != "stripe_data"]
        self.times = [i for i, k in enumerate(kinds) if k == "DateTimeField" and self.keys[i] != "stripe_snapshot_at"]
        self.refs = [i for i, k in enumerate(kinds) if k not in ("JSONField", "DateTimeField")
                     and self.keys[i] not in BASE_COLUMNS]
        self.base = [self.keys.index(name) for name in BASE_COLUMNS[2:]]
        self.when = _datetime(vendor)
        self.stamp = self.when(stamp)
        # embedded list key -> the child table its items go to (``invoice.lines``)
        self.children = children or {}

    # How a JSON value is written and the whole object's digest (a subclass may write
    # them as the project does: benchmarks.revenue_seed).
    dump = staticmethod(_text)

    @staticmethod
    def digest(data: str) -> str:
        return hashlib.blake2b(data.encode(), digest_size=16).hexdigest()

    def values(self, obj: dict) -> list:
        """Each column's value as the payload has it, before conversion."""
        get = obj.get
        return [get(key) for key in self.keys]

    def rows(self, obj: dict, out: dict[str, list]) -> None:
        """Append the rows of ``obj`` (and of its embedded lists) to ``out[table]``."""
        get = obj.get
        values = self.values(obj)
        dump = self.dump
        for i in self.json:
            if values[i] is not None:
                values[i] = dump(values[i])
        for i in self.times:
            if values[i] is not None:
                values[i] = self.when(values[i])
        for i in self.refs:
            if type(values[i]) is dict:
                values[i] = values[i]["id"]
        data = dump(obj)
        data_i, stamp_i, hash_i, deleted_i = self.base
        values[data_i] = data
        values[stamp_i] = self.stamp
        values[hash_i] = self.digest(data)
        values[deleted_i] = False
        out.setdefault(self.table, []).append(values)
        for key, child in self.children.items():
            for item in (get(key) or {}).get("data", ()):
                child.rows(item, out)


def _datetime(vendor: str) -> Callable[[int], Any]:
    """Epoch seconds as the driver takes them: aware for psycopg, naive UTC for
    PyMySQL, Django's text for SQLite."""
    if vendor == "postgresql":
        return lambda t: dt.datetime.fromtimestamp(t, UTC)
    if vendor == "mysql":
        return lambda t: dt.datetime.fromtimestamp(t, UTC).replace(tzinfo=None)
    return lambda t: str(dt.datetime.fromtimestamp(t, UTC).replace(tzinfo=None))


def writer(connection, tables: Iterable[PlainTable]) -> Callable[[dict[str, list]], None]:
    """``write(rows by table)``: one transaction on the driver's own connection under
    Django's ``connection`` (``connection.connection``)."""
    connection.ensure_connection()
    raw = connection.connection
    columns = {t.table: t.columns for t in tables}
    vendor = connection.vendor
    quote = "`" if vendor == "mysql" else '"'
    names = {table: ", ".join(quote + c + quote for c in cols) for table, cols in columns.items()}
    if vendor == "postgresql":
        copies = {table: f'COPY "{table}" ({names[table]}) FROM STDIN' for table in columns}

        def write(rows: dict[str, list]) -> None:
            with raw.transaction(), raw.cursor() as cursor:
                for table, values in rows.items():
                    with cursor.copy(copies[table]) as copy:
                        for row in values:
                            copy.write_row(row)
        return write

    mark = "%s" if vendor == "mysql" else "?"
    inserts = {table: f"INSERT INTO {quote}{table}{quote} ({names[table]}) VALUES ({', '.join([mark] * len(cols))})"
               for table, cols in columns.items()}

    def write(rows: dict[str, list]) -> None:
        cursor = raw.cursor()
        try:
            cursor.execute("BEGIN")
            for table, values in rows.items():
                cursor.executemany(inserts[table], values)
            cursor.execute("COMMIT")
        finally:
            cursor.close()
    return write


def empty(connection, tables: list[str]) -> None:
    """Empty the tables (between rounds; not timed)."""
    quoted = [connection.ops.quote_name(t) for t in tables]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE TABLE {', '.join(quoted)}")
        elif connection.vendor == "mysql":
            cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
            for table in quoted:
                cursor.execute(f"TRUNCATE TABLE {table}")
            cursor.execute("SET FOREIGN_KEY_CHECKS = 1")
        else:
            for table in quoted:
                cursor.execute(f"DELETE FROM {table}")


def count(connection, table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
        return cursor.fetchone()[0]


# --- the database server's CPU --------------------------------------------------------

def _ticks(stat_path: str) -> float:
    with open(stat_path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(connection) -> Callable[[], float] | None:
    """A function giving the CPU-seconds used so far by the server side of
    ``connection``: on PostgreSQL every backend process connected to its database (read
    from /proc: the server must run on this machine); on MariaDB (one thread per
    connection) the server thread of this connection, found by making it busy. None on
    SQLite (in this process, so in its CPU time already) or when it cannot be read."""
    connection.ensure_connection()
    try:
        if connection.vendor == "postgresql":
            return _postgres_backends(connection.settings_dict["NAME"])
        if connection.vendor == "mysql":
            return _mariadb_thread(connection)
    except OSError:
        pass
    return None


def _postgres_backends(database: str) -> Callable[[], float] | None:
    """Backends are processes named ``postgres: ... <user> <database> <client> ...``; a
    backend that ends between two readings takes its CPU time with it."""
    pids = [p for p in os.listdir("/proc") if p.isdigit()]
    if not any(_is_backend(p, database) for p in pids):
        return None
    seen: dict[str, float] = {}

    def cpu() -> float:
        for pid in os.listdir("/proc"):
            if pid.isdigit() and _is_backend(pid, database):
                try:
                    seen[pid] = _ticks(f"/proc/{pid}/stat")
                except OSError:
                    pass
        return sum(seen.values())
    return cpu


def _is_backend(pid: str, database: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f" {database} ".encode() in f.read()
    except OSError:
        return False


def _mariadb_thread(connection) -> Callable[[], float] | None:
    server = next((p for p in os.listdir("/proc") if p.isdigit() and _comm(p) in ("mariadbd", "mysqld")), None)
    if server is None:
        return None
    tasks = f"/proc/{server}/task"

    def snapshot() -> dict[str, float]:
        found = {}
        for tid in os.listdir(tasks):
            try:
                found[tid] = _ticks(f"{tasks}/{tid}/stat")
            except OSError:
                pass
        return found

    before = snapshot()
    with connection.cursor() as cursor:
        cursor.execute("SELECT BENCHMARK(3000000, MD5('which thread serves this connection'))")
    after = snapshot()
    tid = max(after, key=lambda t: after[t] - before.get(t, after[t]))
    return lambda: _ticks(f"{tasks}/{tid}/stat")


def _comm(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""
