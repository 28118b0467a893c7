"""Whether an ``updated`` event changed what MRR reads of a subscription's items,
decided in the database (:class:`ItemsChanged`): no event row is read into Python for it.

Since API 2025-03-31 the items carry the billing period, so every renewal's
``previous_attributes`` names ``items``, whole. Telling a renewal (only the periods
moved) from a change of price or quantity by comparing the two lists in Python read
both lists of every renewal: most of the time of ``mrr(at)`` inside the events window.

The rule (:data:`ITEM_TERMS` says what is compared): ``previous_attributes.items``
(before) against ``object.items.data`` (after), item by item in order. The event
changed the items when

- ``previous_attributes.items`` is not an object, or ``object.items.data`` (when
  ``previous_attributes.items.data`` is there) is not a list;
- the lists differ in length, or an element of either is not an object;
- an item differs in a term of :data:`ITEM_TERMS`.

``previous_attributes.items`` without ``data`` changed the list's other keys only: no
change. Anything unreadable counts as a change: the subscription is then rebuilt from
the event, which is always exact, only slower; a term that is JSON ``null`` on one side
and absent on the other is the same (``None`` to what MRR reads).

Each vendor reads JSON with its own functions, so the SQL is written once, from
:data:`ITEM_TERMS`, over a few primitives each vendor spells (:class:`Dialect`).
"""

from __future__ import annotations

from typing import Any

from django.db import NotSupportedError
from django.db.models import BooleanField, F, Func

# What MRR reads of an item (events.item_rows, events.discount_ids), as compared here:
# VALUE as it is, REF an id or an expanded object's id, REFS a list of those (a missing
# or null list is empty)
VALUE, REF, REFS = "value", "ref", "refs"
ITEM_TERMS: tuple[tuple[str, str], ...] = (
    ("id", VALUE), ("created", VALUE), ("price", REF), ("plan", REF), ("quantity", VALUE), ("discounts", REFS))

# A place in a JSON document: the SQL of a JSON value (a column of the subquery that
# read it once), then keys (str) and array indexes (Index: SQL of a 0-based integer).
Path = tuple[Any, ...]


class Index(str):
    """SQL of a 0-based array index, in a :data:`Path` (a plain ``str`` is a key)."""


class Dialect:
    """The vendor's spelling of the few JSON reads the rule needs. ``root`` is SQL of a
    JSON document (an object or list read from the event once, see :meth:`wrap`)."""

    def wrap(self, column: str, body: str) -> str:
        """``body`` (SQL over ``x.p``, ``previous_attributes.items``, and ``x.n``,
        ``object.items.data``, each of any JSON type or NULL: the rule checks) evaluated
        once per event on ``column``: each list is read out of the (large) event
        document once, not at each use."""
        raise NotImplementedError

    def is_type(self, root: str, path: Path, kind: str) -> str:
        """Whether the value at ``path`` is a JSON ``kind``: object, array, string or null
        (a missing value is none of them)."""
        raise NotImplementedError

    def value(self, root: str, path: Path) -> str:
        """The value at ``path``, comparable with :meth:`differ` (NULL: missing or null)."""
        raise NotImplementedError

    def length(self, root: str, path: Path) -> str:
        """The length of the array at ``path``."""
        raise NotImplementedError

    def has_key(self, root: str, path: Path, key: str) -> str:
        raise NotImplementedError

    def indexes(self, root: str, path: Path, alias: str) -> tuple[str, str]:
        """A FROM item with a row for each element of the array at ``path`` (none if it
        is not an array), and the SQL of its 0-based index."""
        raise NotImplementedError

    def differ(self, a: str, b: str) -> str:
        """Whether two :meth:`value` results differ, NULL equal to NULL."""
        return f"({a} IS DISTINCT FROM {b})"


def _lit(text: str) -> str:
    assert "'" not in text and "%" not in text, text  # keys and kinds are fixed names
    return f"'{text}'"


class Postgres(Dialect):
    TYPES = {"object": "object", "array": "array", "string": "string", "null": "null"}

    def wrap(self, column: str, body: str) -> str:
        # OFFSET 0 keeps the inner SELECT a subquery of its own: pulled up into the outer
        # one, each use of p and n would extract them (and decompress the event) again
        return (f"(SELECT {body} FROM (SELECT {column}->'previous_attributes'->'items' AS p, "
                f"{column}->'object'->'items'->'data' AS n OFFSET 0) AS x)")

    def _at(self, root: str, path: Path) -> str:
        if not any(isinstance(part, Index) for part in path):
            return root + "".join(f"->{_lit(part)}" for part in path)
        # one #> for the whole path: each -> copies the value it returns (the whole list
        # for list -> index -> key)
        parts = ", ".join(f"({part})::text" if isinstance(part, Index) else _lit(part) for part in path)
        return f"({root} #> ARRAY[{parts}])"

    def is_type(self, root: str, path: Path, kind: str) -> str:
        return f"(jsonb_typeof({self._at(root, path)}) = {_lit(self.TYPES[kind])})"

    def value(self, root: str, path: Path) -> str:
        return f"NULLIF({self._at(root, path)}, 'null'::jsonb)"

    def length(self, root: str, path: Path) -> str:
        return f"jsonb_array_length({self._at(root, path)})"

    def has_key(self, root: str, path: Path, key: str) -> str:
        return f"({self._at(root, path)} ? {_lit(key)})"

    def indexes(self, root: str, path: Path, alias: str) -> tuple[str, str]:
        at = self._at(root, path)
        return (f"generate_series(0, CASE WHEN jsonb_typeof({at}) = 'array' THEN jsonb_array_length({at}) "
                f"ELSE 0 END - 1) AS {alias}(i)", f"{alias}.i")


class SQLite(Dialect):
    TYPES = {"object": "object", "array": "array", "string": "text", "null": "null"}

    def wrap(self, column: str, body: str) -> str:
        # the item lists are then parsed from their small texts, not from the whole
        # event at each use. json_quote: json_extract gives a string's value unquoted,
        # not JSON (json_quote leaves JSON it is given as it is, an absent value is null)
        p, n = "'$.previous_attributes.items'", "'$.object.items.data'"
        return (f"(SELECT {body} FROM (SELECT json_quote(json_extract({column}, {p})) AS p, "
                f"json_quote(json_extract({column}, {n})) AS n) AS x)")

    @staticmethod
    def _path(path: Path) -> str:
        parts = ["'$'"]
        for part in path:
            parts.append(f"'[' || ({part}) || ']'" if isinstance(part, Index) else _lit(f".{part}"))
        return " || ".join(parts)

    def is_type(self, root: str, path: Path, kind: str) -> str:
        return f"(json_type({root}, {self._path(path)}) = {_lit(self.TYPES[kind])})"

    def value(self, root: str, path: Path) -> str:
        # json_extract gives SQL values: a string as text, a number as a number (text
        # and numbers never compare equal), null and missing as NULL
        return f"json_extract({root}, {self._path(path)})"

    def length(self, root: str, path: Path) -> str:
        return f"json_array_length({root}, {self._path(path)})"

    def has_key(self, root: str, path: Path, key: str) -> str:
        return f"(json_type({root}, {self._path(path + (key,))}) IS NOT NULL)"

    def indexes(self, root: str, path: Path, alias: str) -> tuple[str, str]:
        # json_each over an array: ``key`` is the index; the callers reach it for arrays
        # only (an object's keys would be names)
        return f"json_each({root}, {self._path(path)}) AS {alias}", f"{alias}.key"

    def differ(self, a: str, b: str) -> str:
        return f"({a} IS NOT {b})"


class MariaDB(Dialect):
    TYPES = {"object": "OBJECT", "array": "ARRAY", "string": "STRING", "null": "NULL"}

    def wrap(self, column: str, body: str) -> str:
        # MariaDB has no LATERAL derived table; JSON_TABLE may read the outer row
        # (a value of another type than asked is left to the rule, which checks them)
        return (f"(SELECT {body} FROM JSON_TABLE({column}, '$' COLUMNS (p JSON PATH '$.previous_attributes.items', "
                f"n JSON PATH '$.object.items.data')) AS x)")

    @staticmethod
    def _path(path: Path) -> str:
        parts = ["'$'"]
        for part in path:
            parts.append(f"'[', ({part}), ']'" if isinstance(part, Index) else _lit(f".{part}"))
        return parts[0] if len(parts) == 1 else f"CONCAT({', '.join(parts)})"

    def _at(self, root: str, path: Path) -> str:
        return f"JSON_EXTRACT({root}, {self._path(path)})"

    def is_type(self, root: str, path: Path, kind: str) -> str:
        return f"(JSON_TYPE({self._at(root, path)}) = {_lit(self.TYPES[kind])})"

    def value(self, root: str, path: Path) -> str:
        # compared as bytes: MariaDB compares two JSON_EXTRACT results as unequal even
        # when their texts are the same, and a text column's collation may ignore case
        return f"NULLIF(BINARY {self._at(root, path)}, BINARY 'null')"

    def length(self, root: str, path: Path) -> str:
        return f"JSON_LENGTH({root}, {self._path(path)})"

    def has_key(self, root: str, path: Path, key: str) -> str:
        return f"JSON_CONTAINS_PATH({root}, 'one', {self._path(path + (key,))})"

    def indexes(self, root: str, path: Path, alias: str) -> tuple[str, str]:
        return (f"JSON_TABLE({self._at(root, path)}, '$[*]' COLUMNS (o FOR ORDINALITY)) AS {alias}",
                f"({alias}.o - 1)")

    def differ(self, a: str, b: str) -> str:
        return f"(NOT ({a} <=> {b}))"


DIALECTS: dict[str, Dialect] = {"postgresql": Postgres(), "sqlite": SQLite(), "mysql": MariaDB()}


def _refs_differ(d: Dialect, before: Path, after: Path, alias: str) -> str:
    """Whether two lists of ids (or expanded objects) differ (a missing or null list is
    empty; anything else but a list is unreadable: a difference)."""
    p, n = "x.p", "x.n"

    def count(root: str, path: Path) -> str:
        return (f"(CASE WHEN {d.is_type(root, path, 'array')} THEN {d.length(root, path)} "
                f"WHEN {d.value(root, path)} IS NULL THEN 0 END)")

    source, j = d.indexes(p, before, alias)
    one, other = before + (Index(j),), after + (Index(j),)
    return (f"({count(p, before)} IS NULL OR {count(n, after)} IS NULL OR {count(p, before)} <> {count(n, after)} "
            f"OR EXISTS (SELECT 1 FROM {source} WHERE {d.differ(_ref(d, p, one), _ref(d, n, other))}))")


def _ref(d: Dialect, root: str, path: Path) -> str:
    """An id, or an expanded object's id (NULL: neither)."""
    return (f"(CASE WHEN {d.is_type(root, path, 'object')} THEN {d.value(root, path + ('id',))} "
            f"WHEN {d.is_type(root, path, 'string')} THEN {d.value(root, path)} END)")


def changed_sql(vendor: str, column: str) -> str:
    """SQL true when the ``updated`` event in ``column`` changed what MRR reads of the
    subscription's items (the module's rule)."""
    d = DIALECTS.get(vendor)
    if d is None:
        raise NotSupportedError(f"MRR inside the events window compares the events' item lists with the JSON "
                                f"functions of {', '.join(sorted(DIALECTS))}; the database vendor {vendor!r} "
                                f"is none of them")
    p, n = "x.p", "x.n"
    before: Path = ("data",)
    source, i = d.indexes(p, before, "e")
    terms = []
    for key, kind in ITEM_TERMS:
        one, other = before + (Index(i), key), (Index(i), key)
        if kind == VALUE:
            terms.append(d.differ(d.value(p, one), d.value(n, other)))
        elif kind == REF:
            terms.append(d.differ(_ref(d, p, one), _ref(d, n, other)))
        else:
            terms.append(_refs_differ(d, one, other, f"e_{key}"))
    item_differs = " OR ".join([f"NOT {d.is_type(p, before + (Index(i),), 'object')}",
                                f"NOT {d.is_type(n, (Index(i),), 'object')}", *terms])
    body = (f"CASE WHEN {p} IS NULL OR NOT {d.is_type(p, (), 'object')} THEN 1 "
            f"WHEN NOT {d.has_key(p, (), 'data')} THEN 0 "
            f"WHEN {n} IS NULL OR NOT {d.is_type(n, (), 'array')} OR NOT {d.is_type(p, before, 'array')} THEN 1 "
            f"WHEN {d.length(p, before)} <> {d.length(n, ())} THEN 1 "
            f"WHEN EXISTS (SELECT 1 FROM {source} WHERE {item_differs}) THEN 1 ELSE 0 END")
    return f"({d.wrap(column, body)} = 1)"


class ItemsChanged(Func):
    """True for an ``updated`` event that changed what MRR reads of the subscription's
    items (the module's rule), on an :class:`~stripe_django.models.Event` queryset."""

    output_field = BooleanField()

    def __init__(self) -> None:
        super().__init__(F("data"))

    def as_sql(self, compiler: Any, connection: Any, *args: Any, **kwargs: Any) -> tuple[str, Any]:
        column, params = compiler.compile(self.source_expressions[0])
        return changed_sql(connection.vendor, column), params
