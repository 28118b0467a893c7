"""Comparing what Stripe returned with what the mirror holds, row by row.

The comparison is made on the rows ingest would store: a page goes through ingest's
planner (the same redaction of secrets, the same normalization, embedded lists split into
child rows), and each planned row is compared with the stored one: its payload digest,
its ``stripe_data`` and its typed columns. So a mirror that ingest wrote and nobody
touched compares equal, and a column edited in the database by hand does not.

Only the rows of the listed types and of their embedded lists' children are compared;
expanded objects of other types (a price inside a line) are checked by their own list.
A stored row newer than the page (a webhook wrote it meanwhile) is not a difference.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterable, NamedTuple

import orjson
from django.db import connections

from .. import type_table as table
from ..caching import model_cache
from ..exceptions import IngestError
from ..ingest import columns as c
from ..ingest import to_stamp
from ..ingest.jsontext import dumps
from ..ingest.planner import Membership, Planner, Row

if TYPE_CHECKING:
    from ..models.base import StripeModel

__all__ = ["MISSING", "EXTRA", "STALE", "Difference", "PageCheck", "PlannedPage", "Comparer",
           "watched_models"]

MISSING = "missing"  # at Stripe, not in the mirror (or marked deleted there)
EXTRA = "extra"  # in the mirror, not deleted, but not at Stripe
STALE = "stale"  # in both, but the stored row differs from Stripe's object

BASE = ("id", "stripe_snapshot_at", "stripe_data_hash", "deleted", "stripe_data")


@dataclass(frozen=True)
class Difference:
    kind: str
    object_type: str
    id: str
    detail: str = ""
    # The top-level object whose payload repairs it (its own id, or its parent's).
    owner: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "type": self.object_type, "id": self.id, "detail": self.detail}


@dataclass
class PageCheck:
    """What comparing one page (or one retrieved object) found.

    ``to_heal``: Stripe's payloads that would repair the differences (the top-level
    object a differing child belongs to), by id; ``rewrite``: (model, ids) of differing
    rows whose digest matches the payload (edited in the database), which ingest would
    otherwise take for unchanged."""

    compared: int = 0
    differences: list[Difference] = field(default_factory=list)
    to_heal: dict[str, Any] = field(default_factory=dict)
    rewrite: dict[type[StripeModel], list[str]] = field(default_factory=dict)
    listed: set[str] = field(default_factory=set)  # top-level ids Stripe returned
    refused: list[str] = field(default_factory=list)  # payloads ingest refuses


class PlannedPage(NamedTuple):
    """A page as :meth:`Comparer.plan` made it: the check so far (listed ids, refused
    payloads), the rows to compare, the top-level payload of each, complete lists."""

    check: PageCheck
    rows: dict[tuple[type[StripeModel], str], Row]
    owner: dict[tuple[type[StripeModel], str], dict]
    memberships: list[Membership]


def watched_models(objects: Iterable[str]) -> set[type[StripeModel]]:
    """The models of ``objects`` and of the children of their embedded lists."""
    models = {m for m in (c.model_for(o) for o in objects) if m is not None}
    for (parent, _field), (child, _meaning) in table.EMBEDDED_LIST_CHILDREN.items():
        if parent in objects:
            model = c.model_for(child)
            if model is not None:
                models.add(model)
    return models


class Comparer:
    """Compares pages of one (list, account) with the mirror on database ``db``.

    ``account``: the ``stripe_account`` of the rows (the connected account, or the
    platform's ``ACCOUNT``, or None)."""

    def __init__(self, objects: Iterable[str], account: str | None, db: str) -> None:
        self.objects = tuple(objects)
        self.models = watched_models(self.objects)
        # The models of the listed objects themselves (not of their children).
        self.top_models = {m for m in (c.model_for(o) for o in self.objects) if m is not None}
        self.primary_model = c.model_for(self.objects[0]) if self.objects else None
        self.account = account
        self.db = db

    def check(self, objs: list[dict], stamp: int | dt.datetime | None) -> PageCheck:
        """Compare a page of Stripe's objects, fetched at ``stamp``, with the mirror."""
        return self.compare(self.plan(objs, stamp))

    def plan(self, objs: list[dict], stamp: int | dt.datetime | None) -> PlannedPage:
        """The rows ingest would store for a page (no database: a fetching thread may
        plan while the comparing thread reads the previous page's rows)."""
        result = PageCheck()
        when = to_stamp(stamp)
        rows: dict[tuple[type[StripeModel], str], Row] = {}
        owner: dict[tuple[type[StripeModel], str], dict] = {}
        memberships: list[Membership] = []
        for obj in objs:
            planner = Planner()
            try:
                planner.add(obj, when, self.account)
            except IngestError as error:
                result.refused.append(str(error))
                continue
            if isinstance(obj.get("id"), str):
                result.listed.add(obj["id"])
            for key, row in planner.rows.items():
                if row.model in self.models and key not in rows:
                    rows[key] = row
                    owner[key] = obj
            memberships += [m for m in planner.memberships.values() if m.model in self.models]
        return PlannedPage(result, rows, owner, memberships)

    def compare(self, planned: PlannedPage) -> PageCheck:
        """Compare planned rows with the stored ones: one query per model, and one per
        child model for the children no longer listed."""
        result, rows, owner, memberships = planned
        by_model: dict[type[StripeModel], list[Row]] = {}
        for row in rows.values():
            by_model.setdefault(row.model, []).append(row)
        for model, model_rows in by_model.items():
            stored = self._stored(model, [r.id for r in model_rows])
            for row in model_rows:
                result.compared += 1
                found = self._compare(row, stored.get(row.id))
                if found is None:
                    continue
                kind, detail, rewrite = found
                top = owner[(model, row.id)]
                result.differences.append(Difference(kind, model.stripe_object, row.id, detail,
                                                     top["id"]))
                result.to_heal[top["id"]] = top
                if rewrite:
                    result.rewrite.setdefault(model, []).append(row.id)
        tops = {obj.get("id"): obj for obj in owner.values()}
        for extra, parent_id in self._removed_children(memberships, rows):
            result.differences.append(extra)
            if parent_id in tops:
                # Healed by storing the parent's complete list again.
                result.to_heal[parent_id] = tops[parent_id]
        return result

    # --- one row ----------------------------------------------------------------------

    def _compare(self, row: Row, stored: tuple | None) -> tuple[str, str, bool] | None:
        """(kind, detail, needs a rewrite) of a differing row; None when it is equal."""
        if stored is None:
            return (MISSING, "not in the mirror", False) if not row.deleted else None
        _id, stamp, digest, deleted, data, *values = stored
        if _aware(stamp) > row.stamp:
            return None  # a newer state was stored meanwhile (a webhook)
        if deleted and not row.deleted:
            # (marked by hand, its digest may still be that of the object: rewrite it)
            return MISSING, "marked deleted in the mirror", True
        if row.is_stub:
            return None if deleted else (EXTRA, "deleted at Stripe", False)
        fields = _differing_data(data, row.data_json)
        if digest != row.data_hash:
            return STALE, _say("differs from Stripe", fields or ["stripe_account or parent"]), False
        columns = _differing_columns(row, values)
        if fields or columns:
            return STALE, _say("edited in the database", fields + columns), True
        return None

    def _stored(self, model: type[StripeModel], ids: list[str]) -> dict[str, tuple]:
        """id -> (id, stamp, digest, deleted, stripe_data, *columns) of the stored rows.

        One raw query per model and page, built once per model: JSON columns are read as
        text, not decoded (on SQLite and MariaDB it is the text ingest wrote, so an
        unchanged value is one string comparison), and the other values are brought to
        what ingest planned by kind (:func:`_held`). Building the query through the ORM
        and decoding every JSON column cost more than the rest of the comparison."""
        connection = connections[self.db]
        sql, kinds = _select_of(model, connection.vendor)
        found: dict[str, tuple] = {}
        with connection.cursor() as cursor:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                cursor.execute(sql.replace(IDS, ", ".join(["%s"] * len(chunk))), chunk)
                for pk, stamp, digest, deleted, data, *values in cursor.fetchall():
                    held = [_held(kind, value) for kind, value in zip(kinds, values)]
                    found[pk] = (pk, stamp, digest, bool(deleted), data, *held)
        return found

    # --- embedded lists ---------------------------------------------------------------

    def _removed_children(self, memberships: list[Membership],
                          rows: dict[tuple[type[StripeModel], str], Row]
                          ) -> list[tuple[Difference, str]]:
        """Stored children linked to a parent whose complete list no longer names them,
        with the parent's id."""
        out: list[tuple[Difference, str]] = []
        by_model: dict[tuple[type[StripeModel], str], list[Membership]] = {}
        for membership in memberships:
            by_model.setdefault((membership.model, membership.link), []).append(membership)
        for (model, link), lists in by_model.items():
            attname = _attname(model, link)
            of_parent = {m.parent_id: m for m in lists}
            stored = model._default_manager.using(self.db).filter(
                **{f"{attname}__in": list(of_parent)}, deleted=False).values_list(
                "id", attname, "stripe_snapshot_at")
            for child_id, parent_id, stamp in stored:
                membership = of_parent[parent_id]
                if child_id in membership.kept or (model, child_id) in rows:
                    continue
                if _aware(stamp) > membership.stamp:
                    continue  # added after the page was fetched
                out.append((Difference(EXTRA, model.stripe_object, child_id,
                                       f"no longer in the list of {parent_id}", parent_id),
                            parent_id))
        return out


def _say(what: str, names: list[str]) -> str:
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    return f"{what}: {shown}"


@model_cache
def _select_of(model: type[StripeModel], vendor: str) -> tuple[str, tuple[str, ...]]:
    """The SELECT of :meth:`Comparer._stored` (``IDS`` where the ids' placeholders go)
    and the kinds of its ingested columns."""
    def quote(name: str) -> str:
        return f"`{name}`" if vendor == "mysql" else f'"{name}"'

    def text(column: str) -> str:
        # jsonb comes back decoded unless cast; SQLite and MariaDB keep JSON as text
        return f"{quote(column)}::text" if vendor == "postgresql" else quote(column)

    columns = c.columns_of(model)
    select = [quote("id"), quote("stripe_snapshot_at"), quote("stripe_data_hash"), quote("deleted"),
              text("stripe_data")]
    select += [text(col.column) if col.kind in JSON_KINDS else quote(col.column) for col in columns]
    sql = (f"SELECT {', '.join(select)} FROM {quote(model._meta.db_table)} "
           f"WHERE {quote('id')} IN ({IDS})")
    return sql, tuple(col.kind for col in columns)


IDS = "<ids>"  # where _stored puts the placeholders of a chunk's ids


def _held(kind: str, value: Any) -> Any:
    """A stored value as read raw, brought to the Python value ingest plans (JSON stays
    text: see :func:`_same_json`)."""
    if value is None or kind in JSON_KINDS:
        return value
    if kind == c.TIMESTAMP:
        return _aware(value)
    if kind == c.BOOLEAN:
        return bool(value)
    if kind == c.DECIMAL:
        return Decimal(str(value))
    if kind == c.FLOAT:
        return float(value)
    return value


# Kinds stored in JSON columns (as ingest.jsontext.dumps writes them).
JSON_KINDS = frozenset({c.JSON, c.REF_LIST, c.EMBEDDED})


def _differing_data(stored_text: str | None, data_json: str) -> list[str]:
    """The top-level fields whose values differ between the stored ``stripe_data`` and
    the payload ingest would store."""
    if stored_text == data_json:
        return []
    wanted = _loads(data_json)
    stored = _loads(stored_text) if stored_text is not None else None
    if not isinstance(stored, dict):
        return ["stripe_data"]
    if stored == wanted:
        return []
    return sorted(k for k in stored.keys() | wanted.keys() if stored.get(k) != wanted.get(k))


def _differing_columns(row: Row, stored: list[Any]) -> list[str]:
    out = []
    for col, planned, held in zip(c.columns_of(row.model), row.values or (), stored):
        if planned is None and col.keep_when_null:
            continue  # the link of a child stored on its own: kept by ingest
        if col.kind in JSON_KINDS:
            if not _same_json(planned, held):
                out.append(col.name)
        elif not _same(planned, held):
            out.append(col.name)
    return out


def _same_json(planned: Any, held_text: str | None) -> bool:
    if planned is None or held_text is None:
        return planned is None and held_text is None
    return held_text == dumps(planned) or _loads(held_text) == planned


def _loads(text: str) -> Any:
    """JSON text decoded by orjson (PostgreSQL's jsonb text never equals the text ingest
    wrote, so there every stored JSON value is decoded); the standard module for what
    orjson refuses (integers beyond 64 bits)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _same(planned: Any, held: Any) -> bool:
    if planned == held:
        return True
    if isinstance(planned, float) or isinstance(held, float):
        try:
            return float(planned) == float(held)
        except (TypeError, ValueError):
            return False
    return False


def _attname(model: type[StripeModel], column: str) -> str:
    for f in model._meta.concrete_fields:
        if f.column == column:
            return f.attname
    raise LookupError(f"{model.__name__} has no column {column!r}")


def _aware(value: Any) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value
