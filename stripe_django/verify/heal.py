"""``stripe_verify --heal``: repair what a comparison found, through ingest.

Stripe's payloads are written with ``upsert_many`` at the time they were fetched, so the
staleness guard applies as everywhere: a row stored meanwhile from a newer state (a
webhook) is left as it is. Each page's repair is one transaction: a run stopped anywhere,
even by ``kill -9``, leaves every row either repaired or as it was.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import transaction

from ..ingest import to_stamp, upsert_many
from .compare import PageCheck

if TYPE_CHECKING:
    from ..models.base import StripeModel

__all__ = ["heal_page", "mark_gone"]


def heal_page(check: PageCheck, stamp: int | dt.datetime, account: str | None, db: str) -> set[str]:
    """Store Stripe's payloads of the objects that differ; returns the ids of those
    stored (an object ingest refuses stays as it was, and is left out)."""
    if not check.to_heal:
        return set()
    when = to_stamp(stamp)
    with transaction.atomic(using=db):
        for model, ids in check.rewrite.items():
            # Rows edited in the database still carry the digest of Stripe's payload, so
            # ingest would take them for unchanged: forget the digest (of rows not newer
            # than the payload) and they are rewritten whole.
            model._default_manager.using(db).filter(
                pk__in=ids, stripe_snapshot_at__lte=when).update(stripe_data_hash="")
        result = upsert_many(list(check.to_heal.values()), stamp=when, account=account, using=db)
    refused = {error.object_id for error in result.errors}
    return {object_id for object_id in check.to_heal if object_id not in refused}


def mark_gone(model: type[StripeModel], object_id: str, stamp: int | dt.datetime,
              account: str | None, db: str) -> bool:
    """Mark a row deleted, as a deletion event would (Stripe answered 404 for it)."""
    stub = {"id": object_id, "object": model.stripe_object, "deleted": True}
    result = upsert_many([stub], stamp=to_stamp(stamp), account=account, using=db)
    return not result.errors
