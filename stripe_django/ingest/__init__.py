"""Ingest: store Stripe payloads as rows, in bulk, safely under disorder.

Public entry points are re-exported by :mod:`stripe_django.sync`:
``upsert(obj)`` and ``upsert_many(objs)``.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from django.db import DatabaseError, router, transaction
from django.utils import timezone

from ..conf import stripe_settings
from ..dberrors import about_the_data
from ..exceptions import IngestError
from . import columns
from .planner import Planner
from .writer import Counts, write_rows

if TYPE_CHECKING:
    from ..models.base import StripeModel

logger = logging.getLogger("stripe_django.ingest")

__all__ = ["Snapshot", "UpsertResult", "PlannedBatch", "upsert", "upsert_many", "plan_many",
           "write_planned", "IngestError"]


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
    keys: list[tuple[type[StripeModel], str]] = field(default_factory=list)

    def merge(self, other: "UpsertResult") -> None:
        """Add ``other``'s counts, errors and keys to this result (batches of one run)."""
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
        try:
            return dt.datetime.fromtimestamp(value, tz=dt.timezone.utc)
        except (OverflowError, ValueError, OSError):
            raise ValueError(f"stamp {value} is out of range") from None
    raise TypeError(f"stamp must be a datetime or a Unix timestamp, not {type(value).__name__}")


def to_plain(obj: Any) -> Any:
    """A StripeObject as plain dicts and lists; dicts pass through."""
    to_dict = getattr(obj, "to_dict", None)
    if to_dict is not None and not isinstance(obj, dict):
        return to_dict(recursive=True)
    return obj


def upsert_many(objs: Iterable[Any], *, stamp: dt.datetime | int | None = None,
                account: str | None = None, using: str | None = None,
                batch_size: int | None = None, savepoint: bool = True) -> UpsertResult:
    """Store many Stripe objects (StripeObjects, dicts or :class:`Snapshot`).

    ``stamp`` is when the snapshot was taken (default: now); a stored row with a newer
    stamp is left as it is. ``account`` tags the rows with a connected account. Each
    batch is one transaction with one statement per model; a payload that fails
    validation is reported in ``errors`` and the rest of the batch is written.

    ``savepoint=False``, inside the caller's transaction: no savepoint around each
    batch (two round trips fewer). A value the database refuses then spoils the
    caller's transaction, which must be rolled back (as ``atomic(savepoint=False)``);
    the refusal is still reported in ``errors``, and a batch is no longer retried
    object by object. The webhook path uses it for its one object per event.
    """
    default_stamp = to_stamp(stamp)
    result = UpsertResult()
    for batch in _batches(objs, batch_size):
        result.merge(_upsert_batch(batch, default_stamp, account, using, savepoint))
    return result


def _batches(objs: Iterable[Any], size: int | None) -> Iterator[list[Any]]:
    """``objs`` in lists of ``size`` (default ``INGEST_BATCH_SIZE``), read as they come."""
    size = size or stripe_settings.INGEST_BATCH_SIZE
    batch: list[Any] = []
    for obj in objs:
        batch.append(obj)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def upsert(obj: Any, *, stamp: dt.datetime | int | None = None, account: str | None = None,
           using: str | None = None) -> StripeModel:
    """Store one Stripe object and return its model instance. Raises IngestError.

    No network: an embedded list the payload cuts off (``has_more``) is stored as far
    as it goes; ``stripe_sync`` and the webhook view complete such lists from the API.
    """
    result = upsert_many([obj], stamp=stamp, account=account, using=using)
    if result.errors:
        raise result.errors[0]
    model, object_id = result.keys[0]
    return model._default_manager.using(using or router.db_for_write(model)).get(pk=object_id)


@dataclass
class PlannedBatch:
    """One batch turned into rows, not yet written (:func:`plan_many`).

    ``planned``: the payloads the planner took (refused ones are in ``result``), kept to
    store them one by one when the database refuses a value of the batch.
    """

    planner: Planner
    planned: list[Any]
    result: UpsertResult
    default_stamp: dt.datetime
    default_account: str | None


def plan_many(objs: Iterable[Any], *, stamp: dt.datetime | int | None = None,
              account: str | None = None, batch_size: int | None = None) -> list[PlannedBatch]:
    """The planning half of :func:`upsert_many` (no database): batches of rows that
    :func:`write_planned` stores. The sync plans pages on its fetching threads while the
    writer stores earlier ones."""
    default_stamp = to_stamp(stamp)
    return [_plan_batch(batch, default_stamp, account) for batch in _batches(objs, batch_size)]


def write_planned(batches: Iterable[PlannedBatch], *, using: str | None = None,
                  savepoint: bool = True) -> UpsertResult:
    """The writing half of :func:`upsert_many`: store batches from :func:`plan_many`."""
    result = UpsertResult()
    for batch in batches:
        result.merge(_write_batch(batch, using, savepoint))
    return result


def _upsert_batch(batch: list[Any], default_stamp: dt.datetime, default_account: str | None,
                  using: str | None, savepoint: bool = True) -> UpsertResult:
    """Plan and write one batch in one transaction."""
    return _write_batch(_plan_batch(batch, default_stamp, default_account), using, savepoint)


def _plan_batch(batch: list[Any], default_stamp: dt.datetime,
                default_account: str | None) -> PlannedBatch:
    """Rows for a batch; a payload that fails validation is refused here, before
    anything is written."""
    result = UpsertResult()
    planner = Planner()
    planned: list[Any] = []
    for item in batch:
        try:
            try:
                payload, stamp, account = _unpack(item, default_stamp, default_account)
            except (TypeError, ValueError) as error:
                raise IngestError(f"bad snapshot stamp: {error}") from None
            result.keys.append(planner.add(payload, stamp, account))
            planned.append(item)
        except IngestError as error:
            result.failed += 1
            result.errors.append(error)
            logger.warning("stripe_django: refused %s", error)
    return PlannedBatch(planner, planned, result, default_stamp, default_account)


def _write_batch(plan: PlannedBatch, using: str | None, savepoint: bool = True) -> UpsertResult:
    """Write one planned batch in one transaction.

    When the database refuses a value (``dberrors.about_the_data``), the batch is stored
    object by object, each in its own transaction, to find and refuse the culprit. Any
    other database error (a lock timeout, "database is locked") propagates with nothing
    of the batch written: the caller retries or fails, but never counts it as stored.
    """
    planner, planned = plan.planner, plan.planned
    default_stamp, default_account = plan.default_stamp, plan.default_account
    result = UpsertResult(failed=plan.result.failed, errors=list(plan.result.errors),
                          keys=list(plan.result.keys))
    if not planner.rows:
        return result
    alias = using or router.db_for_write(next(iter(planner.rows))[0])
    try:
        with transaction.atomic(using=alias, savepoint=savepoint):
            counts = write_rows(planner.rows.values(), alias, planner.memberships.values())
    except DatabaseError as error:
        if not about_the_data(error):
            raise
        if len(planned) > 1 and savepoint:
            logger.warning("stripe_django: the database refused a value in a batch of %d; "
                           "storing them one by one", len(planned))
            retry = UpsertResult(failed=result.failed, errors=result.errors)
            for item in planned:
                retry.merge(_upsert_batch([item], default_stamp, default_account, using))
            return retry
        # One object (or, without a savepoint, the whole batch) refused.
        payload = _unpack(planned[0], default_stamp, default_account)[0] if len(planned) == 1 else None
        where = "" if len(planned) == 1 else f" in a batch of {len(planned)} (no savepoint)"
        refused = IngestError(
            f"the database refused a value{where}: {_first_line(error)}",
            object_type=payload.get("object") if isinstance(payload, dict) else None,
            object_id=payload.get("id") if isinstance(payload, dict) else None,
        )
        logger.warning("stripe_django: refused %s", refused)
        result.keys.clear()
        result.failed += len(planned)
        result.errors.append(refused)
        return result
    for object_type, type_counts in counts.by_type.items():
        result.by_type[object_type] = type_counts
        result.created += type_counts.created
        result.updated += type_counts.updated
        result.unchanged += type_counts.unchanged
    return result


def _first_line(error: BaseException) -> str:
    """The database's message without the DETAIL lines that may quote stored values."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _unpack(item: Any, default_stamp: dt.datetime, default_account: str | None):
    if isinstance(item, Snapshot):
        stamp = to_stamp(item.stamp) if item.stamp is not None else default_stamp
        return to_plain(item.payload), stamp, item.account if item.account is not None else default_account
    return to_plain(item), default_stamp, default_account


def mirrored_types() -> dict[str, type[StripeModel]]:
    """Object name -> model, for every mirrored Stripe type."""
    return columns.mirrored_types()
