"""A shard of a sync run (one list of one account, or one account's Events API
catch-up), and what its worker sends the writer: pages to store, then that it is done.

The worker threads of a run only fetch; the writer (:class:`~.pipeline.Pipeline`) alone
touches the database. A shard's job puts its pages in an :class:`Outbox`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .. import type_table as table
from .report import TypeReport

if TYPE_CHECKING:
    from ..ingest import PlannedBatch

__all__ = ["Shard", "Page", "Done", "Outbox", "Job", "list_spec"]


@dataclass
class Shard:
    name: str
    spec: table.ListSpec | None  # None: the Events API catch-up of an account
    account: str | None
    report: TypeReport
    cursor_id: int | None = None
    state: dict[str, Any] = field(default_factory=dict)
    # Why the writer gave up on this shard's pages (its worker stops at the next page).
    abandoned: str | None = None


@dataclass
class Page:
    shard: Shard
    objects: list[Any]
    stamp: int | None
    cursor: dict[str, Any] | None = None  # cursor fields to store once the rows are
    events_cursor: tuple[list[int], int] | None = None  # (cursor ids, events_after)
    fetched: int = 0
    errors: list[str] = field(default_factory=list)  # payloads refused before ingest
    # ``objects`` as rows (ingest's planner), made on the fetching thread so that the
    # writer only writes; None: not planned yet (the writer plans it).
    planned: list[PlannedBatch] | None = None


@dataclass
class Done:
    shard: Shard
    status: str
    error: str | None = None
    http_status: int | None = None


class Outbox(Protocol):
    """Where a shard's job puts its pages, in order: the run's
    :meth:`.pipeline.Pipeline.put`, or a list in a test. It raises
    :class:`~.fetcher.Stopped` when the run is stopping or the shard was given up."""

    def put(self, page: Page) -> None: ...


class Job(Protocol):
    """What a worker thread runs for a shard: :class:`.listing.ShardListing` or
    :class:`.events.EventsCatchUp`."""

    shard: Shard

    def run(self) -> None: ...


def list_spec(shard: Shard) -> table.ListSpec:
    """The list a list shard reads (only the Events API catch-up has none)."""
    if shard.spec is None:
        raise TypeError(f"shard {shard.name!r} lists nothing: it is an Events API catch-up")
    return shard.spec
