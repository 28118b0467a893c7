"""Store planned rows: per model, one look-up of the stored stamps and one bulk upsert.

The upsert carries the staleness guard itself (the stored row is overwritten only by a
snapshot at least as new), so a concurrent writer that got in between the look-up and
the write cannot be overwritten by an older state. The look-up serves the counts
(created / updated / unchanged) and lets unchanged rows skip the rewrite of their data.

Statements are built per database vendor: PostgreSQL and SQLite share ``ON CONFLICT``;
MySQL and MariaDB use ``ON DUPLICATE KEY UPDATE`` with the guard in each assignment.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable, Iterable

from django.db import IntegrityError, connections, transaction

from .. import type_table as table
from ..caching import model_cache
from . import columns as c
from .jsontext import Fragment, dumps, dumps_bytes
from .planner import Membership, Row

if TYPE_CHECKING:
    from ..models.base import StripeModel

STAMP = "stripe_snapshot_at"

# PostgreSQL: from this many rows of one model to write, none of them stored at the
# look-up, they go in by COPY (see _copy_new). Below it, the savepoint around the COPY
# costs more round trips than the COPY saves the server.
COPY_MIN_ROWS = 20


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0

    def add(self, other: "Counts") -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.failed += other.failed


@dataclass
class WriteCounts:
    by_type: dict[str, Counts] = field(default_factory=dict)

    def of(self, object_type: str) -> Counts:
        return self.by_type.setdefault(object_type, Counts())


def write_rows(rows: Iterable[Row], using: str,
               memberships: Iterable[Membership] = ()) -> WriteCounts:
    """Write rows (callers wrap this in a transaction). Models in a fixed order and ids
    sorted within each statement, so that concurrent writers take the locks of a
    model's rows in the same order (the separate statements for unchanged rows'
    stamps, deletions and removals can still meet another writer's in the other order:
    the database then fails one of the two batches, with nothing of it written, as any
    lock error; see ``_upsert_batch``). ``memberships``: complete embedded lists,
    whose stored children no longer listed are marked deleted."""
    connection = connections[using]
    by_model: dict[type[StripeModel], list[Row]] = {}
    for row in rows:
        by_model.setdefault(row.model, []).append(row)
    lists: dict[type[StripeModel], list[Membership]] = {}
    for membership in memberships:
        lists.setdefault(membership.model, []).append(membership)
    counts = WriteCounts()
    # One cursor for every statement of the batch (on the per-event webhook path, making
    # cursors cost more than some of the statements).
    with _cursor(connection) as cursor:
        for model in sorted(by_model.keys() | lists.keys(), key=lambda m: m._meta.db_table):
            model_rows = sorted(by_model.get(model, ()), key=lambda r: r.id)
            _write_model(model, model_rows, lists.get(model, []), connection, cursor,
                         counts.of(model.stripe_object))
    return counts


def upsert_rows(rows: Iterable[Row], using: str) -> None:
    """Write rows under the staleness guard alone, without the look-up of their stored
    state (callers wrap this in a transaction). For the webhook path, which writes one
    event's object and needs no counts: the guard keeps the newer state either way, and
    an unchanged row is written again as it is. Not for rows with complete embedded
    lists (memberships): telling which stored children a list no longer names takes
    the look-up of :func:`write_rows`."""
    connection = connections[using]
    with _cursor(connection) as cursor:
        for model, model_rows in _in_lock_order(rows):
            statements = _statements(model, connection.vendor)
            _upsert_in_chunks(model, [row for row in model_rows if not row.is_stub],
                              [row for row in model_rows if row.is_stub], statements,
                              _adapters(model, connection), connection, cursor)


def guarded_upserts(rows: Iterable[Row], connection, gate: str) -> list[tuple[str, list[Any]]]:
    """PostgreSQL: for each row, an ``INSERT ... SELECT`` to run as the body of a
    common table expression of a larger statement, and its parameters. The row is
    written only if the expression named ``gate`` returns a row, and under the same
    staleness guard as :func:`write_rows` (models in lock order, ids sorted). The
    parameters' types come from the target columns, as in a plain ``INSERT``."""
    parts = []
    for model, model_rows in _in_lock_order(rows):
        adapt = _adapters(model, connection)
        app_values = list(_app_values(model).values())
        full_sql, stub_sql = _guarded_statements(model, gate)
        for row in model_rows:
            if row.is_stub:
                parts.append((stub_sql, _base_values(row, adapt)))
            else:
                parts.append((full_sql, _row_params(row, adapt, app_values)))
    return parts


def _in_lock_order(rows: Iterable[Row]) -> list[tuple[type[StripeModel], list[Row]]]:
    by_model: dict[type[StripeModel], list[Row]] = {}
    for row in rows:
        by_model.setdefault(row.model, []).append(row)
    return [(model, sorted(by_model[model], key=lambda r: r.id))
            for model in sorted(by_model, key=lambda m: m._meta.db_table)]


@model_cache
def _guarded_statements(model: type[StripeModel], gate: str) -> tuple[str, str]:
    """(upsert of a full row, upsert of a deletion stub) for :func:`guarded_upserts`."""
    statements = _statements(model, "postgresql")
    if_stored = f"WHERE EXISTS (SELECT 1 FROM {gate})"

    def guarded(insert: str) -> str:
        # "INSERT INTO t (cols) VALUES (%s, ...) ON CONFLICT ..." -> "... SELECT %s, ... WHERE ..."
        head, rest = insert.split(" VALUES (", 1)
        marks, tail = rest.split(") ", 1)
        return f"{head} SELECT {marks} {if_stored} {tail}"

    return guarded(statements.upsert(1)), guarded(statements.mark_deleted(1))


def _write_model(model: type[StripeModel], rows: list[Row], memberships: list[Membership], connection,
                 cursor, counts: Counts) -> None:
    stored, linked = _stored_state(model, [r.id for r in rows], memberships, connection, cursor)
    full: list[Row] = []
    stubs: list[Row] = []
    touched: list[Row] = []
    for row in rows:
        old = stored.get(row.id)
        if old is not None and old[0] > row.stamp:
            counts.unchanged += 1  # stale: a newer state is already stored
        elif old is not None and old[1] == row.data_hash:
            counts.unchanged += 1
            if old[0] < row.stamp:
                touched.append(row)
        else:
            if old is None:
                counts.created += 1
            else:
                counts.updated += 1
            (stubs if row.is_stub else full).append(row)
    removed = _removed_children(memberships, linked, {r.id for r in rows})
    counts.updated += sum(len(ids) for ids in removed.values())
    statements = _statements(model, connection.vendor)
    adapt = _adapters(model, connection)
    if statements.upsert_recordset is not None:
        # Only when every row to write is new: a COPY of the new ids, then an upsert of the
        # stored ones, would lock rows out of id order, and could deadlock with a writer
        # that locks the same ids in one sorted statement.
        if len(full) >= COPY_MIN_ROWS and not any(row.id in stored for row in full) and \
                _copy_new(model, full, statements, adapt, connection, cursor):
            full = []
        # PostgreSQL: the whole chunk as one JSON parameter, expanded to rows by the
        # server; thousands of placeholders would cost more to bind than to write.
        for chunk in _chunks(full, 2000):
            cursor.execute(statements.upsert_recordset, [_recordset(chunk, model)])
        full = []
    _upsert_in_chunks(model, full, stubs, statements, adapt, connection, cursor)
    for stamp, ids in _by_stamp((row.stamp, row.id) for row in touched).items():
        for chunk in _chunks(ids, 1000):
            value = adapt.stamp(stamp)
            cursor.execute(statements.touch(len(chunk)), [value, *chunk, value])
    for stamp, ids in removed.items():
        for chunk in _chunks(ids, 1000):
            value = adapt.stamp(stamp)
            cursor.execute(statements.mark_removed(len(chunk)), [value, *chunk, value])


def _upsert_in_chunks(model: type[StripeModel], full: list[Row], stubs: list[Row],
                      statements: "_Statements", adapt: "_Adapters", connection, cursor) -> None:
    """Write ``full`` rows with the multi-row upsert and mark ``stubs`` deleted, in as
    few statements as the database's parameter limit allows."""
    max_rows = max(1, _max_params(connection) // len(statements.columns))
    app_values = list(_app_values(model).values())
    for chunk in _chunks(full, max_rows):
        params: list[Any] = []
        for row in chunk:
            params.extend(_row_params(row, adapt, app_values))
        cursor.execute(statements.upsert(len(chunk)), params)
    for chunk in _chunks(stubs, max_rows):
        params = []
        for row in chunk:
            params.extend(_base_values(row, adapt))
        cursor.execute(statements.mark_deleted(len(chunk)), params)


def _row_params(row: Row, adapt: "_Adapters", app_values: list[Any]) -> list[Any]:
    """One row's values in the order of ``_Statements.columns``: built as one list, the
    adapters then applied in place (no copy of the planner's values)."""
    params = [row.id, row.account, row.data_json, adapt.stamp(row.stamp), row.data_hash,
              row.deleted, *_values_of(row), *app_values]
    for index, func in adapt.in_params:
        value = params[index]
        if value is not None:
            params[index] = func(value)
    return params


def _values_of(row: Row) -> list[Any]:
    """The column values of a row that is not a deletion stub (stubs are written apart)."""
    if row.values is None:
        raise ValueError(f"{row.model.stripe_object} {row.id}: a deletion stub has no column values")
    return row.values


def _copy_new(model: type[StripeModel], rows: list[Row], statements: "_Statements", adapt: "_Adapters",
              connection, cursor) -> bool:
    """PostgreSQL with psycopg 3: insert ``rows`` (all of the model's rows to write,
    none of them stored at the look-up) with one COPY. The server then parses only
    ``stripe_data`` as JSON, not a recordset holding every column besides; that halves
    its work for a page of new objects (measured in ``make bench``). Returns False, with nothing written, when
    the COPY is not available or another writer stored one of the rows since the
    look-up: the savepoint is rolled back and the caller upserts the rows with the
    others, under the staleness guard. The COPY goes through the connection's execute
    wrappers and query log like any statement (without its rows, as data)."""
    copy = getattr(getattr(cursor, "cursor", None), "copy", None)
    if copy is None or statements.copy_new is None:
        return False
    app_values = list(_app_values(model).values())

    def write(sql: str, params: Any, many: bool, context: dict) -> None:
        with connection.wrap_database_errors, copy(sql) as out:
            for row in rows:
                out.write_row(_row_params(row, adapt, app_values))

    executor: Callable[..., None] = write
    for wrapper in reversed(connection.execute_wrappers):
        executor = functools.partial(wrapper, executor)
    logged = (cursor.debug_sql(statements.copy_new) if hasattr(cursor, "debug_sql")
              else contextlib.nullcontext())
    try:
        with transaction.atomic(using=connection.alias), logged:
            executor(statements.copy_new, None, False, {"connection": connection, "cursor": cursor})
    except IntegrityError as error:
        if getattr(error.__cause__, "sqlstate", None) != "23505":  # unique_violation
            raise
        return False
    return True


def _by_stamp(pairs: Iterable[tuple[dt.datetime, str]]) -> dict[dt.datetime, list[str]]:
    grouped: dict[dt.datetime, list[str]] = {}
    for stamp, object_id in pairs:
        grouped.setdefault(stamp, []).append(object_id)
    return grouped


def _removed_children(memberships: Iterable[Membership],
                      linked: list[tuple[str, dt.datetime, dict[str, str | None]]],
                      written: set[str]) -> dict[dt.datetime, list[str]]:
    """Stored children, linked to a parent whose complete list does not name them, and
    not newer than that list: stamp of the list -> ids to mark deleted."""
    lists: dict[tuple[str, str | None], Membership] = {(m.link, m.parent_id): m for m in memberships}
    removed = []
    for object_id, stamp, links in linked:
        if object_id in written:
            continue
        for column, parent_id in links.items():
            membership = lists.get((column, parent_id))
            if membership is not None and object_id not in membership.kept and stamp <= membership.stamp:
                removed.append((membership.stamp, object_id))
                break
    return _by_stamp(sorted(removed))


def _stored_state(model: type[StripeModel], ids: list[str], memberships: Iterable[Membership], connection,
                  cursor) -> tuple[dict[str, tuple[dt.datetime, str]],
                             list[tuple[str, dt.datetime, dict[str, str | None]]]]:
    """id -> (stamp, data hash) of the stored rows among ``ids``; and the rows not
    deleted that are linked to the parents of ``memberships``: (id, stamp, links).

    One query for both in the common case. Raw SQL: on the per-event webhook path the
    ORM's query building cost ten times the query itself."""
    quote = _quote_for(connection.vendor)
    table_name = quote(model._meta.db_table)
    parents: dict[str, list[str]] = {}
    for membership in memberships:
        parents.setdefault(membership.link, []).append(membership.parent_id)
    link_columns = sorted(parents)
    select = ", ".join(quote(n) for n in ("id", STAMP, "stripe_data_hash", "deleted", *link_columns))
    wanted = set(ids)
    stored: dict[str, tuple[dt.datetime, str]] = {}
    linked: dict[str, tuple[str, dt.datetime, dict[str, str | None]]] = {}
    if connection.vendor == "postgresql":
        # One array parameter per column, bound apart from the statement: no list of
        # hundreds of placeholders to quote and parse.
        conditions = [f"{quote(n)} = ANY(%s::text[])" for n in ("id", *link_columns)]
        params = [_text_array(ids), *(_text_array(sorted(set(parents[col]))) for col in link_columns)]
        queries: list[tuple[str, list[Any]]] = [(" OR ".join(conditions), params)]
    else:
        queries = _in_lists(quote, ids, link_columns, parents)
    for where, params in queries:
        cursor.execute(f"SELECT {select} FROM {table_name} WHERE {where}", params)
        for pk, stamp, digest, deleted, *link_values in cursor.fetchall():
            stamp = _aware(stamp)
            if pk in wanted:
                stored[pk] = (stamp, digest)
            if link_columns and not deleted:
                linked[pk] = (pk, stamp, dict(zip(link_columns, link_values)))
    return stored, list(linked.values())


def _text_array(values: list[str]) -> str:
    """A PostgreSQL array literal of ``values``, every element quoted: what psycopg
    would send for the list, made in a fifth of the time (its list adapter is Python
    code visiting each element; this was over a microsecond per object)."""
    return "{" + ",".join(['"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
                           for v in values]) + "}"


def _in_lists(quote, ids: list[str], link_columns: list[str], parents: dict[str, list[str]]
              ) -> list[tuple[str, list[str]]]:
    """WHERE clauses of ``IN`` lists of at most 1,000 ids each, and their parameters."""
    id_chunks = list(_chunks(ids, 1000))
    parent_chunks = {col: list(_chunks(sorted(set(p)), 1000)) for col, p in parents.items()}
    rounds = max([len(id_chunks), *(len(chunks) for chunks in parent_chunks.values())])
    queries = []
    for i in range(rounds):
        conditions, params = [], []
        if i < len(id_chunks):
            conditions.append(f"{quote('id')} IN ({', '.join(['%s'] * len(id_chunks[i]))})")
            params += id_chunks[i]
        for col in link_columns:
            chunks = parent_chunks[col]
            if i < len(chunks):
                conditions.append(f"{quote(col)} IN ({', '.join(['%s'] * len(chunks[i]))})")
                params += chunks[i]
        queries.append((" OR ".join(conditions), params))
    return queries


def _aware(value: Any) -> dt.datetime:
    """A stamp as read back: SQLite gives text, MySQL a naive UTC datetime."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value


def _base_values(row: Row, adapt: "_Adapters") -> list[Any]:
    return [row.id, row.account, row.data_json, adapt.stamp(row.stamp),
            row.data_hash, row.deleted]


def cursor_for(connection):
    """The cursor ingest writes with (see ``_cursor``): for statements run on every
    webhook event, which PostgreSQL then prepares once per connection (psycopg's
    ``prepare_threshold``)."""
    return _cursor(connection)


def _cursor(connection):
    """The cursor ingest writes with. On PostgreSQL with psycopg 3, one that sends the
    parameters apart from the statement (server-side binding): a JSON parameter of a few
    hundred kilobytes then needs no quoting by the driver nor parsing as a literal by the
    server, which halves the statement's cost. Wrapped as Django wraps its cursors, so
    query logging and execute wrappers see it. Django's own cursor elsewhere, where it
    binds on the server already, or with psycopg2."""
    connection.ensure_connection()
    raw = connection.connection
    # psycopg 3.1 names its connection class's module "psycopg.connection"; 3.2 and
    # later "psycopg" (missed before: every statement was bound on the client).
    module = type(raw).__module__
    if module.partition(".")[0] != "psycopg" or connection.settings_dict.get(
            "OPTIONS", {}).get("server_side_binding") is True:
        return connection.cursor()
    import psycopg

    cursor = psycopg.Cursor(raw)
    if connection.queries_logged:
        return connection.make_debug_cursor(cursor)
    return connection.make_cursor(cursor)


def _recordset(rows: list[Row], model: type[StripeModel]) -> str:
    """Rows as a JSON array of objects keyed by column, for jsonb_populate_recordset.

    ``stripe_data`` goes in as the JSON text ingest already made of it (no second
    encoding); the other values are encoded in one call for the whole chunk."""
    names = [col.column for col in c.columns_of(model)]
    app_values = _app_values(model)
    records = []
    for row in rows:
        # Absent keys read as NULL: nulls (most columns of most objects) are left out.
        record = {name: value for name, value in zip(names, _values_of(row)) if value is not None}
        record.update(app_values)
        record["id"] = row.id
        record["stripe_account"] = row.account
        record["stripe_snapshot_at"] = row.stamp
        record["stripe_data_hash"] = row.data_hash
        record["deleted"] = row.deleted
        record["stripe_data"] = Fragment(row.data_json)
        records.append(record)
    try:
        return dumps_bytes(records, default=_recordset_value).decode()
    except TypeError:
        # What orjson refuses in a column (an integer beyond 64 bits in a JSON column):
        # the standard library writes it, row by row, with stripe_data spliced in.
        parts = []
        for row, record in zip(rows, records):
            del record["stripe_data"]
            parts.append('{"stripe_data":' + row.data_json + "," +
                         dumps({k: _plain(v) for k, v in record.items()})[1:])
        return "[" + ",".join(parts) + "]"


def _recordset_value(value: Any) -> Any:
    """What JSON has no type for, as PostgreSQL reads it: decimals as their text."""
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _max_params(connection) -> int:
    # SQLite allows 32766 bound parameters since 3.32; PostgreSQL and MySQL 65535.
    return 30000 if connection.vendor == "sqlite" else 60000


# --- value adaptation per backend ----------------------------------------------------

@dataclass
class _Adapters:
    # (index in a row's values, adapter of a value that is not None)
    adapted: list[tuple[int, Callable[[Any], Any]]]
    stamp: Callable[[dt.datetime], Any]
    # The same, indexed in a row's parameters (after the base columns).
    in_params: list[tuple[int, Callable[[Any], Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.in_params = [(index + len(c.BASE_COLUMNS), func) for index, func in self.adapted]


def _adapters(model: type[StripeModel], connection) -> _Adapters:
    timezone = connection.timezone if connection.vendor != "postgresql" else None
    return _cached_adapters(model, connection.vendor, timezone)


@model_cache
def _cached_adapters(model: type[StripeModel], vendor: str, timezone: dt.tzinfo | None) -> _Adapters:
    """Python values -> driver parameters. PostgreSQL's driver takes aware datetimes;
    SQLite and MySQL take Django's text form of a time in the connection's time zone
    (what ``adapt_datetimefield_value`` makes, without its per-call settings look-ups).
    JSON goes as text in all three (psycopg sends it untyped, so PostgreSQL casts it to
    jsonb on insert)."""
    if vendor == "postgresql":
        stamp: Callable[[dt.datetime], Any] = _identity
    else:
        def stamp(value: dt.datetime) -> str:
            return str(value.astimezone(timezone).replace(tzinfo=None))
    adapted: list[tuple[int, Callable[[Any], Any]]] = []
    for index, col in enumerate(c.columns_of(model)):
        if col.kind == c.TIMESTAMP and vendor != "postgresql":
            adapted.append((index, stamp))
        elif col.kind in (c.JSON, c.REF_LIST, c.EMBEDDED):
            adapted.append((index, _json_text))
        elif col.kind == c.DECIMAL and vendor in ("sqlite", "postgresql"):
            # PostgreSQL: as text, as in its recordset, so that COPY and the upsert
            # accept and refuse the same values (psycopg would send Decimal("sNaN") as
            # NaN, which the upsert's text "sNaN" is refused as).
            adapted.append((index, str))
    return _Adapters(adapted, stamp)


# Empty objects and lists (``metadata``, most embedded lists of a new object) are the
# most common JSON column values: their text without an encoder call.
_EMPTY_JSON: dict[type, str] = {dict: "{}", list: "[]"}


def _json_text(value: Any) -> str:
    """A JSON column's value as the text :func:`dumps` makes."""
    if not value:
        text = _EMPTY_JSON.get(type(value))
        if text is not None:
            return text
    return dumps(value)


def _identity(value: Any) -> Any:
    return value


# --- SQL ------------------------------------------------------------------------------

@dataclass
class _Statements:
    columns: list[str]
    upsert_recordset: str | None
    copy_new: str | None
    upsert: Callable[[int], str]
    mark_deleted: Callable[[int], str]
    touch: Callable[[int], str]
    mark_removed: Callable[[int], str]


@model_cache
def _statements(model: type[StripeModel], vendor: str) -> _Statements:
    quote = _quote_for(vendor)
    table_name = quote(model._meta.db_table)
    base = list(c.BASE_COLUMNS)
    names = base + [col.column for col in c.columns_of(model)]
    stamp = quote(STAMP)
    updatable = [n for n in names if n != "id"]
    # App columns set on insert only (type_table.INGESTED_APP_COLUMNS): after the
    # payload's columns, in both the statement and each row's parameters.
    names += list(_app_values(model))
    cols = ", ".join(quote(n) for n in names)
    keep = {col.column for col in c.columns_of(model) if col.keep_when_null}

    def values(n_rows: int, n_cols: int) -> str:
        one = "(" + ", ".join(["%s"] * n_cols) + ")"
        return ", ".join([one] * n_rows)

    if vendor == "mysql":
        def assign(targets: list[str]) -> str:
            # MySQL evaluates assignments left to right: the stamp is compared before it
            # is itself updated, so it goes last.
            def new(n: str) -> str:
                value = f"VALUES({quote(n)})"
                return f"COALESCE({value}, {quote(n)})" if n in keep else value

            parts = [f"{quote(n)} = IF({stamp} <= VALUES({stamp}), {new(n)}, {quote(n)})"
                     for n in targets if n != STAMP]
            parts.append(f"{stamp} = GREATEST({stamp}, VALUES({stamp}))")
            return "ON DUPLICATE KEY UPDATE " + ", ".join(parts)
    else:
        def assign(targets: list[str]) -> str:
            def new(n: str) -> str:
                value = f"excluded.{quote(n)}"
                return f"COALESCE({value}, {table_name}.{quote(n)})" if n in keep else value

            sets = ", ".join(f"{quote(n)} = {new(n)}" for n in targets)
            return (f"ON CONFLICT ({quote('id')}) DO UPDATE SET {sets} "
                    f"WHERE {table_name}.{stamp} <= excluded.{stamp}")

    upsert_tail = assign(updatable)
    deleted_tail = assign(["deleted", "stripe_data_hash", STAMP])

    @lru_cache(maxsize=64)
    def upsert(n_rows: int) -> str:
        return f"INSERT INTO {table_name} ({cols}) VALUES {values(n_rows, len(names))} {upsert_tail}"

    base_cols = ", ".join(quote(n) for n in base)  # the model's columns are nullable

    @lru_cache(maxsize=64)
    def mark_deleted(n_rows: int) -> str:
        return (f"INSERT INTO {table_name} ({base_cols}) "
                f"VALUES {values(n_rows, len(base))} {deleted_tail}")

    @lru_cache(maxsize=64)
    def touch(n_ids: int) -> str:
        marks = ", ".join(["%s"] * n_ids)
        return (f"UPDATE {table_name} SET {stamp} = %s "
                f"WHERE {quote('id')} IN ({marks}) AND {stamp} < %s")

    @lru_cache(maxsize=64)
    def mark_removed(n_ids: int) -> str:
        # The hash is cleared so that the child, should it come back, is written again.
        marks = ", ".join(["%s"] * n_ids)
        true = "1" if vendor == "mysql" else "TRUE"
        return (f"UPDATE {table_name} SET {quote('deleted')} = {true}, "
                f"{quote('stripe_data_hash')} = '', {stamp} = %s "
                f"WHERE {quote('id')} IN ({marks}) AND {stamp} <= %s")

    recordset = copy_new = None
    if vendor == "postgresql":
        recordset = (f"INSERT INTO {table_name} ({cols}) SELECT {cols} "
                     f"FROM jsonb_populate_recordset(NULL::{table_name}, %s::jsonb) {upsert_tail}")
        copy_new = f"COPY {table_name} ({cols}) FROM STDIN"
    return _Statements(names, recordset, copy_new, upsert, mark_deleted, touch, mark_removed)


@model_cache
def _app_values(model: type[StripeModel]) -> dict[str, Any]:
    """Column -> value of the app's own columns written when ingest inserts a row."""
    values = table.INGESTED_APP_COLUMNS.get(model.stripe_object, {})
    return {model._meta.get_field(name).column: value for name, value in values.items()}


def _quote_for(vendor: str) -> Callable[[str], str]:
    if vendor == "mysql":
        return lambda name: f"`{name}`"
    return lambda name: f'"{name}"'
