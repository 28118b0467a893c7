"""Ingest: store Stripe payloads as rows, in bulk, safely under disorder.

Public entry points are re-exported by :mod:`stripe_django.sync`:
``upsert(obj)`` and ``upsert_many(objs)``.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Iterable

from django.db import DatabaseError, router, transaction
from django.utils import timezone

from ..conf import stripe_settings
from ..exceptions import IngestError
from . import columns
from .planner import Planner
from .writer import Counts, write_rows

logger = logging.getLogger("stripe_django.ingest")

__all__ = ["Snapshot", "UpsertResult", "upsert", "upsert_many", "IngestError"]


@dataclass(frozen=True)
class Snapshot:
    """A payload with its own stamp and account, for batches that mix them (events)."""

    payload: Any
    stamp: dt.datetime | int | None = None
    account: str | None = None


@dataclass
class UpsertResult:
    """What ``upsert_many`` did. Counts are of rows: nested objects count too.

    ``unchanged`` includes rows skipped because a newer state was already stored.
    ``failed`` counts top-level payloads that were refused; ``errors`` says why.
    """

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[IngestError] = field(default_factory=list)
    by_type: dict[str, Counts] = field(default_factory=dict)
    # (model, id) of each top-level payload written, in input order
    keys: list[tuple[type, str]] = field(default_factory=list)

    def merge(self, other: "UpsertResult") -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.failed += other.failed
        self.errors += other.errors
        self.keys += other.keys
        for object_type, counts in other.by_type.items():
            self.by_type.setdefault(object_type, Counts()).add(counts)

    def as_tuple(self) -> tuple[int, int, int, int]:
        return self.created, self.updated, self.unchanged, self.failed


def to_stamp(value: dt.datetime | int | float | None) -> dt.datetime:
    if value is None:
        return timezone.now()
    if isinstance(value, dt.datetime):
        if timezone.is_naive(value):
            raise ValueError("stamp must be an aware datetime or a Unix timestamp")
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, tz=dt.timezone.utc)
    raise TypeError(f"stamp must be a datetime or a Unix timestamp, not {type(value).__name__}")


def to_plain(obj: Any) -> Any:
    """A StripeObject as plain dicts and lists; dicts pass through."""
    to_dict = getattr(obj, "to_dict", None)
    if to_dict is not None and not isinstance(obj, dict):
        return to_dict(recursive=True)
    return obj


def upsert_many(objs: Iterable[Any], *, stamp: dt.datetime | int | None = None,
                account: str | None = None, using: str | None = None,
                batch_size: int | None = None) -> UpsertResult:
    """Store many Stripe objects (StripeObjects, dicts or :class:`Snapshot`).

    ``stamp`` is when the snapshot was taken (default: now); a stored row with a newer
    stamp is left as it is. ``account`` tags the rows with a connected account. Each
    batch is one transaction with one statement per model; a payload that fails
    validation is reported in ``errors`` and the rest of the batch is written.
    """
    default_stamp = to_stamp(stamp)
    size = batch_size or stripe_settings.INGEST_BATCH_SIZE
    result = UpsertResult()
    batch: list[Any] = []
    for obj in objs:
        batch.append(obj)
        if len(batch) >= size:
            result.merge(_upsert_batch(batch, default_stamp, account, using))
            batch = []
    if batch:
        result.merge(_upsert_batch(batch, default_stamp, account, using))
    return result


def upsert(obj: Any, *, stamp: dt.datetime | int | None = None, account: str | None = None,
           using: str | None = None):
    """Store one Stripe object and return its model instance. Raises IngestError."""
    result = upsert_many([obj], stamp=stamp, account=account, using=using)
    if result.errors:
        raise result.errors[0]
    model, object_id = result.keys[0]
    return model._default_manager.using(using or router.db_for_write(model)).get(pk=object_id)


def _upsert_batch(batch: list[Any], default_stamp: dt.datetime, default_account: str | None,
                  using: str | None) -> UpsertResult:
    result = UpsertResult()
    planner = Planner()
    planned: list[Any] = []
    for item in batch:
        payload, stamp, account = _unpack(item, default_stamp, default_account)
        try:
            result.keys.append(planner.add(payload, stamp, account))
            planned.append(item)
        except IngestError as error:
            result.failed += 1
            result.errors.append(error)
            logger.warning("stripe_django: refused %s", error)
    if not planner.rows:
        return result
    alias = using or router.db_for_write(next(iter(planner.rows))[0])
    try:
        with transaction.atomic(using=alias):
            counts = write_rows(planner.rows.values(), alias)
    except DatabaseError:
        if len(planned) == 1:
            raise
        # One payload the database refuses must not sink the batch: store them one by
        # one (each in its own transaction) to find and report it.
        logger.exception("stripe_django: a batch failed; storing its %d objects one by one", len(planned))
        retry = UpsertResult(failed=result.failed, errors=result.errors)
        for item in planned:
            try:
                retry.merge(_upsert_batch([item], default_stamp, default_account, using))
            except DatabaseError as error:
                payload = _unpack(item, default_stamp, default_account)[0]
                retry.failed += 1
                retry.errors.append(IngestError(
                    f"the database refused it: {error}",
                    object_type=payload.get("object") if isinstance(payload, dict) else None,
                    object_id=payload.get("id") if isinstance(payload, dict) else None,
                ))
        return retry
    for object_type, type_counts in counts.by_type.items():
        result.by_type[object_type] = type_counts
        result.created += type_counts.created
        result.updated += type_counts.updated
        result.unchanged += type_counts.unchanged
    return result


def _unpack(item: Any, default_stamp: dt.datetime, default_account: str | None):
    if isinstance(item, Snapshot):
        stamp = to_stamp(item.stamp) if item.stamp is not None else default_stamp
        return to_plain(item.payload), stamp, item.account if item.account is not None else default_account
    return to_plain(item), default_stamp, default_account


def mirrored_types() -> dict[str, type]:
    """Object name -> model, for every mirrored Stripe type."""
    return columns.mirrored_types()
