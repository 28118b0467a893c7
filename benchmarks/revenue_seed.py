"""The revenue benchmark's account in the database: built, stored, checked, kept.

The prices, coupons and subscriptions go through ``upsert_many`` (the public ingest
path). The invoices (a paid invoice per billing period of every subscription, one line
per item, the last ``months`` months before the date) are about a million rows of each
table at full size: through ``upsert_many`` they took most of an hour, so they are
written by the plain loader of :mod:`benchmarks.baseline` (``COPY`` on PostgreSQL).
Before the bulk, :func:`check_fast_path` stores a sample both ways into the same
database and compares every column of both tables: the analytics must read what the
public path would have stored, or the benchmark stops.

``REVENUE_BENCH_KEEP=1``: the test database is kept after the run, with a marker table
naming what it holds (:data:`SEED_VERSION`, the counts, the seed); the next run with the
same parameters measures it again without storing anything.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import time
from typing import Any, Callable, Iterator

UTC = dt.timezone.utc
# Bumped whenever the stored account changes shape: a kept database of another
# version is emptied and stored again.
SEED_VERSION = 2  # 2: the repeating discounts store their end, as Stripe does
MARKER = "revenue_bench_seed"
SAMPLE = 200
STEP = 2000  # subscriptions whose invoices are built and written at a time


def _add_months(anchor: dt.datetime, months: int) -> dt.datetime:
    """``anchor`` moved ``months`` months on, its day kept where the month has it (as
    Stripe bills a subscription anchored on the 31st on the 30th of a short month)."""
    year, month = divmod(anchor.month - 1 + months, 12)
    year += anchor.year
    day = min(anchor.day, calendar.monthrange(year, month + 1)[1])
    return anchor.replace(year=year, month=month + 1, day=day)


def periods(sub: dict, price: dict, first: dt.datetime,
            last: dt.datetime) -> Iterator[tuple[int, dt.datetime, dt.datetime]]:
    """(number, start, end) of the billing periods of ``sub`` that start in [first,
    last] while it runs: each ``interval_count`` intervals of the price from the
    subscription's start."""
    anchor = dt.datetime.fromtimestamp(sub["start_date"], UTC)
    if sub["ended_at"]:
        last = min(last, dt.datetime.fromtimestamp(sub["ended_at"] - 1, UTC))
    recurring = price["recurring"]
    count = recurring["interval_count"]
    if recurring["interval"] in ("day", "week"):
        step = dt.timedelta(days=(7 if recurring["interval"] == "week" else 1) * count)
        n = max(0, -(-(first - anchor) // step))  # the first period starting at or after first
        while (start := anchor + n * step) <= last:
            yield n, start, start + step
            n += 1
        return
    months = count * (12 if recurring["interval"] == "year" else 1)
    n = 0
    while (start := _add_months(anchor, n * months)) <= last:
        if start >= first:
            yield n, start, _add_months(anchor, (n + 1) * months)
        n += 1


def billed(price: dict, quantity: int) -> int:
    """What ``quantity`` units of ``price`` bill a period: per unit, by package (rounded
    up or down to whole packages) or by graduated tiers, the shapes random_account draws."""
    if price.get("tiers"):
        total, below = 0, 0
        for tier in price["tiers"]:
            top = tier["up_to"]
            units = (quantity if top is None else min(quantity, top)) - below
            if units <= 0:
                break
            total += units * (tier["unit_amount"] or 0) + (tier["flat_amount"] or 0)
            below = top or 0
        return total
    units = quantity
    transform = price.get("transform_quantity")
    if transform:
        units, rest = divmod(quantity, transform["divide_by"])
        units += 1 if rest and transform["round"] == "up" else 0
    return int(price["unit_amount"] or 0) * units


def invoices(subscriptions: list[dict], payloads, first: dt.datetime, last: dt.datetime) -> list[dict]:
    """A paid invoice per billing period of each subscription starting in [first,
    last], a line per item billing it for the period (what the analytics read: parent
    ``subscription_item_details``, no proration)."""
    out = []
    for sub in subscriptions:
        items = sub["items"]["data"]
        # a subscription's items share an interval (Stripe refuses mixed ones)
        for n, start, end in periods(sub, items[0]["price"], first, last):
            iid = f"in_{sub['id'][4:]}_{n}"
            begin, until = start.isoformat()[:19], end.isoformat()[:19]
            lines = [payloads.line(f"il_{item['id'][3:]}_{n}", subscription=sub["id"], item=item["id"],
                                   price=item["price"]["id"], amount=billed(item["price"], item["quantity"]),
                                   quantity=item["quantity"], currency=item["price"]["currency"],
                                   start=begin, end=until)
                     for item in items]
            out.append(payloads.invoice(iid, sub["customer"], lines, subscription=sub["id"], created=begin,
                                        currency=sub["currency"]))
    return out


# --- the fast path and its check -----------------------------------------------------

def _tables(connection, stamp: int):
    """The fast path's writers of the invoice table and of its lines' table."""
    from stripe_django.models import Invoice, InvoiceLineItem

    ExactTable = _exact_table()
    lines = ExactTable(InvoiceLineItem, connection.vendor, stamp)
    return ExactTable(Invoice, connection.vendor, stamp, children={"lines": lines}), lines


def _exact_table():
    """:class:`benchmarks.baseline.PlainTable` made to write what ``upsert_many`` writes
    (the ingest baseline itself stays the plain floor it is measured against)."""
    import hashlib

    import orjson

    from stripe_django.ingest.columns import columns_of

    from .baseline import PlainTable

    SORTED = orjson.OPT_SORT_KEYS

    class Exact(PlainTable):
        def __init__(self, model: type, vendor: str, stamp: int, children: dict | None = None):
            super().__init__(model, vendor, stamp, children)
            # legacy columns (invoice.date, .paid, ...): derived from the current fields,
            # by the model's own derivations, read once here
            self.derived = [(self.keys.index(col.name), col.name, col.derive)
                            for col in columns_of(model) if col.derive is not None]

        @staticmethod
        def dump(value: Any) -> str:
            # as the planner writes JSON: keys sorted
            return orjson.dumps(value, option=SORTED).decode()

        @staticmethod
        def digest(data: str) -> str:
            # with the account (none), the deletion mark (0) and a parent link the
            # payload lacks (none: a line names its invoice)
            digest = hashlib.blake2b(data.encode(), digest_size=16)
            digest.update(b"||0|")
            return digest.hexdigest()

        def values(self, obj: dict) -> list:
            values = super().values(obj)
            for i, name, derive in self.derived:
                if name not in obj:
                    try:
                        values[i] = derive(obj)
                    except (AttributeError, TypeError, KeyError, IndexError):
                        values[i] = None
            # an embedded list's column holds its items' ids (the items are rows of
            # the child table)
            for key in self.children:
                values[self.keys.index(key)] = [item["id"] for item in (obj.get(key) or {}).get("data", ())]
            return values

    return Exact


def _rows(connection, table: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Every column of the rows of ``ids``, as the driver returns them (JSON columns
    parsed: PostgreSQL's jsonb and the text of the others compare alike)."""
    import json

    quoted = connection.ops.quote_name(table)
    out = {}
    with connection.cursor() as cursor:
        for offset in range(0, len(ids), 500):
            chunk = ids[offset:offset + 500]
            cursor.execute(f"SELECT * FROM {quoted} WHERE id IN ({', '.join(['%s'] * len(chunk))})", chunk)
            names = [d[0] for d in cursor.description]
            for row in cursor.fetchall():
                out[row[0]] = dict(zip(names, row))
    json_columns = _json_columns(table)
    for row in out.values():
        for name in json_columns:
            if isinstance(row[name], str):
                row[name] = json.loads(row[name])
    return out


def _json_columns(table: str) -> list[str]:
    from django.apps import apps

    model = next(m for m in apps.get_app_config("stripe_django").get_models() if m._meta.db_table == table)
    return [f.column for f in model._meta.concrete_fields if f.get_internal_type() == "JSONField"]


def _delete(connection, table: str, ids: list[str]) -> None:
    quoted = connection.ops.quote_name(table)
    with connection.cursor() as cursor:
        for offset in range(0, len(ids), 500):
            chunk = ids[offset:offset + 500]
            cursor.execute(f"DELETE FROM {quoted} WHERE id IN ({', '.join(['%s'] * len(chunk))})", chunk)


def _counts(connection) -> dict[str, int]:
    out = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            out[table] = cursor.fetchone()[0]
    return out


def check_fast_path(connection, sample: list[dict], stamp: int) -> str:
    """Store ``sample`` through ``upsert_many``, then by the plain loader, into the same
    database, and compare every column of every row both wrote (the rows are deleted
    after each). Raises SystemExit naming the differences; returns what was compared."""
    from stripe_django.sync import upsert_many

    from .baseline import writer

    invoice_table, line_table = _tables(connection, stamp)
    ids = {invoice_table.table: [i["id"] for i in sample],
           line_table.table: [line["id"] for i in sample for line in i["lines"]["data"]]}
    before = _counts(connection)
    result = upsert_many(sample, stamp=stamp)
    if result.errors:
        raise SystemExit(f"the sample's upsert_many refused: {result.errors[:3]}")
    grown = {t: n - before.get(t, 0) for t, n in _counts(connection).items() if n != before.get(t, 0)}
    if set(grown) != set(ids):
        raise SystemExit(f"upsert_many of the sample wrote to {sorted(grown)}; the fast path writes only "
                         f"{sorted(ids)}")
    public = {table: _rows(connection, table, keys) for table, keys in ids.items()}
    for table, keys in ids.items():
        _delete(connection, table, keys)
    rows: dict[str, list] = {}
    for invoice in sample:
        invoice_table.rows(invoice, rows)
    writer(connection, [invoice_table, line_table])(rows)
    plain = {table: _rows(connection, table, keys) for table, keys in ids.items()}
    for table, keys in ids.items():
        _delete(connection, table, keys)
    differences = []
    for table, keys in ids.items():
        for key in keys:
            ours, theirs = plain[table].get(key), public[table].get(key)
            if ours is None or theirs is None:
                only = "upsert_many" if ours is None else "the fast path"
                differences.append(f"{table} {key}: stored by {only} only")
                continue
            for column, value in theirs.items():
                if ours.get(column) != value:
                    differences.append(f"{table} {key} {column}: upsert_many {str(value)[:80]!r}, "
                                       f"fast path {str(ours.get(column))[:80]!r}")
    if differences:
        shown = "\n    ".join(differences[:20])
        raise SystemExit(f"THE FAST PATH DIFFERS from upsert_many ({len(differences)} values):\n    {shown}")
    columns = sum(len(next(iter(public[t].values()))) for t in ids)
    return (f"{len(ids[invoice_table.table])} invoices and {len(ids[line_table.table])} lines stored both ways: "
            f"all {columns} columns of both tables equal")


def store_invoices(connection, subscriptions: list[dict], payloads, first: dt.datetime, last: dt.datetime,
                   stamp: int) -> tuple[int, int, str]:
    """Check the fast path on the first invoices, then write them all by it, a slice of
    subscriptions at a time (a million invoices' payloads at once would hold
    gigabytes): (invoices, lines, the check's verdict)."""
    verdict = check_fast_path(connection, invoices(subscriptions[:SAMPLE], payloads, first, last)[:SAMPLE], stamp)
    invoice_table, line_table = _tables(connection, stamp)
    count = lines = 0
    tables = [invoice_table.table, line_table.table]
    with _indexes_after(connection, tables), _writing(invoice_table, line_table) as put:
        for offset in range(0, len(subscriptions), STEP):
            rows: dict[str, list] = {}
            for invoice in invoices(subscriptions[offset:offset + STEP], payloads, first, last):
                invoice_table.rows(invoice, rows)
            count += len(rows.get(invoice_table.table, ()))
            lines += len(rows.get(line_table.table, ()))
            put(rows)
    return count, lines, verdict


@contextlib.contextmanager
def _writing(*tables) -> Iterator[Callable[[dict[str, list]], None]]:
    """``put(rows)``: the rows written by a thread of their own (its own connection),
    while this one builds the next slice: the database server parses what the client
    has sent meanwhile (alone, each waits for the other half of the time). One slice
    waits at most (the memory of two slices)."""
    import queue
    import threading

    from .baseline import writer

    pending: queue.Queue = queue.Queue(maxsize=1)
    failed: list[BaseException] = []

    def work() -> None:
        from django.db import connection  # this thread's

        try:
            write = writer(connection, tables)
            while (rows := pending.get()) is not None:
                write(rows)
        except BaseException as error:  # raised again in the caller's thread
            failed.append(error)
            while pending.get() is not None:
                pass
        finally:
            connection.close()

    thread = threading.Thread(target=work, name="revenue-seed-writer")
    thread.start()

    def put(rows: dict[str, list]) -> None:
        if failed:
            raise failed[0]
        pending.put(rows)
    try:
        yield put
    finally:
        pending.put(None)
        thread.join()
    if failed:
        raise failed[0]


@contextlib.contextmanager
def _indexes_after(connection, tables: list[str]) -> Iterator[None]:
    """On PostgreSQL, the tables' secondary indexes dropped during the bulk and made
    again after it, from their own definitions: one sorted build per index instead of
    a million insertions into each (the invoice table has 17). The primary keys stay."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(%s) "
                       "AND i.indexname NOT IN (SELECT conname FROM pg_constraint)", [tables])
        found = cursor.fetchall()
        for name, _ in found:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for _, definition in found:
                cursor.execute(definition)


# --- the kept database ---------------------------------------------------------------

def seeded(connection, parameters: dict[str, Any]) -> bool:
    """Whether the database holds the account of ``parameters`` (the marker names them)."""
    if MARKER not in connection.introspection.table_names():
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT parameters FROM {MARKER}")
        found = [row[0] for row in cursor.fetchall()]
    return found == [_marker_text(parameters)]


def mark(connection, parameters: dict[str, Any]) -> None:
    """Name what the database holds (written last: a run cut short leaves no marker)."""
    with connection.cursor() as cursor:
        if MARKER not in connection.introspection.table_names():
            cursor.execute(f"CREATE TABLE {MARKER} (parameters VARCHAR(500) NOT NULL)")
        cursor.execute(f"DELETE FROM {MARKER}")
        cursor.execute(f"INSERT INTO {MARKER} (parameters) VALUES (%s)", [_marker_text(parameters)])


def _marker_text(parameters: dict[str, Any]) -> str:
    return ";".join(f"{k}={v}" for k, v in sorted(dict(parameters, version=SEED_VERSION).items()))


def empty(connection) -> None:
    """A kept database holding another account (or a run cut short) made new: on
    PostgreSQL its schema dropped and migrated again (a run killed during the bulk
    leaves the invoice tables without their indexes, which emptying would not restore);
    elsewhere flushed."""
    from django.core.management import call_command

    started = time.perf_counter()
    # the marker first: a run cut short after this must not find the old account's
    # parameters over what it half stored (flush leaves tables it does not know)
    if MARKER in connection.introspection.table_names():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {MARKER}")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE")
            cursor.execute("CREATE SCHEMA public")
        call_command("migrate", interactive=False, verbosity=0)
    else:
        call_command("flush", interactive=False, verbosity=0)
    print(f"  the kept database held another account or an unfinished one: made new in "
          f"{time.perf_counter() - started:.0f} s")
