"""The one query that counts a date's items: grouped by price, quantity and the
breakdown asked for, and by what their subscription's discount does to them at the
date (guide, "MRR").

The items' query and the discounts' (one row per discounted subscription) are both
compiled by the ORM; they are joined here in plain SQL, which every supported database
runs the same: Django cannot join two querysets on a column that is not a foreign key
(``Discount.subscription`` holds the id as text). A join, not a correlated subquery
per item: the database reads the discounts once, and PostgreSQL's estimate stays below
``jit_above_cost`` (a subquery per row made it compile the plan first, which cost more
than the query).

An item the database cannot price alone comes out as a group of its own (with its
``pk``, ``subscription_id`` and ``created``), to be priced one subscription at a time.
"""

from __future__ import annotations

from typing import Any

from django.db import connections
from django.db.models import QuerySet

from ..models import SubscriptionItem
from . import discounts as disc

# the columns added to each group
EFFECT, COUPON, COUNT, ALONE = "discount_effect", "discount_coupon", "n", ("pk", "subscription_id", "created")


def grouped_items(items: QuerySet[SubscriptionItem], columns: list[str], at: Any, *,
                  group: bool = True) -> list[dict[str, Any]]:
    """``items`` grouped by ``columns`` and by their discount's effect at ``at``
    (:data:`.discounts.NOT_IN_FORCE` ... :data:`.discounts.ONE_BY_ONE`; None without a
    discount) and coupon, each group with its count ``n``; an item of effect
    ``ONE_BY_ONE`` is a group of one, with its ``pk``, ``subscription_id`` and
    ``created``.

    ``group=False`` for ``columns`` that set nearly every item apart (a customer, a
    subscription): each item is then a row of its own (``n`` 1), without the sort
    that grouping them would cost the database for nothing."""
    connection = connections[items.db]
    quote = connection.ops.quote_name
    # (compiled for the items' database: ``sql_with_params`` would compile for the default one)
    item_sql, item_params = (items.values(*dict.fromkeys(["pk", "subscription_id", "created", *columns]))
                             .order_by().query.get_compiler(using=items.db).as_sql())
    summary = disc.subscription_discounts(at).using(items.db)
    summary_sql, summary_params = summary.query.get_compiler(using=items.db).as_sql()
    i, d = quote("i"), quote("d")

    def col(table: str, name: str) -> str:
        return f"{table}.{quote(name)}"

    effect = (f"CASE WHEN {col(d, 'subscription')} IS NULL THEN NULL "
              f"WHEN {col(d, 'n')} > 1 THEN {disc.ONE_BY_ONE} "
              f"WHEN {col(d, 'effect')} = {disc.ON_ANOTHER_ITEM} AND {col(d, 'item')} = {col(i, 'pk')} "
              f"THEN {disc.ON_THIS_ITEM} ELSE {col(d, 'effect')} END")
    alone = f"{col(d, 'n')} > 1 OR {col(d, 'effect')} = {disc.ONE_BY_ONE}"
    # (an item alone keeps its own id, subscription and creation; the others group)
    keys = [col(i, c) for c in columns] + [f"({effect})", col(d, "coupon")]
    own = [c for c in ALONE if c not in columns]  # (the breakdown by subscription groups by it already)
    keys += [f"CASE WHEN {alone} THEN {col(i, c)} END" for c in own]
    names = [*columns, EFFECT, COUPON, *own]
    selected = ", ".join(f"{k} AS {quote(n)}" for k, n in zip(keys, names))
    sql = (f"SELECT {selected}, {'COUNT(*)' if group else '1'} AS {quote(COUNT)} "
           f"FROM ({item_sql}) {i} LEFT JOIN ({summary_sql}) {d} "
           f"ON {col(d, 'subscription')} = {col(i, 'subscription_id')}"
           + (f" GROUP BY {', '.join(keys)}" if group else ""))
    with connection.cursor() as cursor:
        cursor.execute(sql, (*item_params, *summary_params))
        rows = [dict(zip([*names, COUNT], row)) for row in cursor.fetchall()]
    for row in rows:
        row[COUPON] = row[COUPON] or ""
    return rows
