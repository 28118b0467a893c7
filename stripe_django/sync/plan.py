"""Planning a sync run, for ``sync()`` and for an enqueued run (:mod:`.distributed`)
alike: which lists, with which key's mode and pace, for which accounts, and the shards
that come of them with their cursors.

Each (list, account) pair is a *shard*. A shard's cursor
(:class:`~stripe_django.models.SyncCursor`) says where its list stands; a cursor older
than the Events API keeps gets a full pass. Stripe API reference:
https://docs.stripe.com/rate-limits, https://docs.stripe.com/connect/authentication.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import stripe
from django.db import DatabaseError

from .. import type_table as table
from ..conf import stripe_settings
from ..dberrors import RETRY_DELAYS, retrying
from .fetcher import Fetcher, describe
from .leases import CursorLease
from .report import FAILED, SKIPPED, SyncReport, TypeReport
from .shards import Shard

__all__ = ["list_names", "select_lists", "api_key_of", "key_mode", "pace", "page_size_for",
           "connected_accounts", "account_batches", "PlannedShard", "plan_shards", "open_shards",
           "RETENTION_MARGIN", "CURSOR_CHUNK"]

# Margin kept from the Events API's retention: a cursor this close to the edge is redone.
RETENTION_MARGIN = 3600
# Planned shards whose cursors are read (and the missing ones created) together.
CURSOR_CHUNK = 1000
# Seconds between the tries of reading and creating a chunk's cursors while the database
# is busy (a lock on the cursor table); then the chunk's types fail and the run goes on.
CURSOR_RETRY_DELAYS = RETRY_DELAYS
# The cursor fields of a list that starts over: its next pass is a full one.
START_OVER: dict[str, Any] = {"complete": False, "starting_after": None, "pass_started_at": None,
                              "created_after": None, "created_seen": [], "events_after": None,
                              "slices": None, "found_objects": None}
# The cursor fields a shard's job reads (its state).
CURSOR_STATE = ("complete", "starting_after", "pass_started_at", "created_after",
                "created_seen", "events_after", "slices", "found_objects", "last_synced_at")


def list_names() -> list[str]:
    """Every name ``sync()`` and ``manage.py stripe_sync`` accept."""
    return sorted(table.SYNC_LISTS)


def select_lists(types: Iterable[str] | None) -> list[str]:
    """The list names of ``types`` (list names or object types; all when empty), in the
    table's order; ``ValueError`` names an unknown one."""
    if not types:
        return list(table.SYNC_LISTS)
    names: list[str] = []
    for wanted in types:
        if wanted in table.SYNC_LISTS:
            matches = [wanted]
        else:
            matches = [n for n, s in table.SYNC_LISTS.items() if wanted in s.objects]
        if not matches:
            raise ValueError(f"unknown type {wanted!r}; known: {', '.join(list_names())}")
        names += [m for m in matches if m not in names]
    # (a parent before its nested lists: its own listing is the one they share)
    order = {name: index for index, name in enumerate(table.SYNC_LISTS)}
    return sorted(names, key=order.__getitem__)


def api_key_of(client: stripe.StripeClient | None) -> str:
    """The API key a client was built with ("" when it cannot be read)."""
    options = getattr(getattr(client, "_requestor", None), "_options", None)
    return getattr(options, "api_key", None) or ""


def key_mode(client: stripe.StripeClient | None) -> bool:
    """True for a live-mode key (``client``'s, else the ``API_KEY`` setting)."""
    key = stripe_settings.require("API_KEY") if client is None else api_key_of(client)
    return "_live_" in key


def pace(rate_limit: float | None, livemode: bool) -> float:
    """Requests per second: ``rate_limit``, else ``SYNC_RATE_LIMIT``, else Stripe's
    limit for the key's mode."""
    return rate_limit or stripe_settings.SYNC_RATE_LIMIT or table.RATE_LIMITS["live" if livemode else "test"]


def page_size_for(size: int | None) -> int:
    """Objects per list request: ``size``, else ``SYNC_PAGE_SIZE``, within 1..100."""
    return max(1, min(int(size or stripe_settings.SYNC_PAGE_SIZE), 100))


def connected_accounts(fetcher: Fetcher, report: SyncReport) -> list[str]:
    """The ids of the platform's connected accounts; a failure is noted in ``report``."""
    probe = TypeReport("account", None)
    ids: list[str] = []
    try:
        for objs, _more, _stamp in fetcher.pages("accounts", (), {}, None, probe):
            ids += [o["id"] for o in objs if o.get("id")]
    except stripe.StripeError as error:
        report.notes.append(f"connected accounts could not be listed: {describe(error)}")
    return ids


@dataclass(frozen=True)
class PlannedShard:
    name: str
    account: str | None
    spec: table.ListSpec

    @property
    def listed(self) -> bool:
        """False for a list only the platform has, planned for a connected account."""
        return not (self.spec.platform_only and self.account is not None)


def account_batches(accounts: list[str | None], lists: int) -> Iterator[list[str | None]]:
    """``accounts`` in batches of about ``CURSOR_CHUNK`` shards (at least one account)."""
    size = max(1, CURSOR_CHUNK // max(1, lists))
    for start in range(0, len(accounts), size):
        yield accounts[start:start + size]


def plan_shards(names: list[str], accounts: list[str | None]) -> list[PlannedShard]:
    """Every (list, account) pair, account by account, in the order of ``names``."""
    return [PlannedShard(name, acct, table.SYNC_LISTS[name]) for acct in accounts for name in names]


def open_shards(planned: list[PlannedShard], report: SyncReport, *, db: str, livemode: bool,
                platform: str | None, lease: CursorLease | None, full: bool,
                expire: bool) -> list[Shard]:
    """The shards to run, with their cursors' state; each planned shard gets its line in
    ``report``. The cursors are read and the missing ones created in bulk, a few
    statements per ``CURSOR_CHUNK`` shards (a platform with 10,000 accounts has some
    760,000). ``lease``: a shard whose cursor another worker holds is skipped (in
    ``report.busy``). ``full`` or, with ``expire``, a cursor older than the Events API
    keeps: the cursor starts over."""
    shards: list[Shard] = []
    listed: list[tuple[PlannedShard, TypeReport]] = []
    for item in planned:
        type_report = TypeReport(item.name, item.account)
        report.types.append(type_report)
        if not item.listed:
            type_report.status = SKIPPED
            type_report.note("listed by the platform account only")
            continue
        listed.append((item, type_report))
    horizon = int(time.time()) - table.EVENTS_RETENTION_DAYS * 86400 + RETENTION_MARGIN
    for start in range(0, len(listed), CURSOR_CHUNK):
        chunk = listed[start:start + CURSOR_CHUNK]
        keys = [(item.account or platform or "", item.name) for item, _ in chunk]
        try:
            # The run's first statements: a lock held by another writer is waited out
            # as a page's would be.
            rows = retrying(lambda: _cursor_rows(keys, db=db, livemode=livemode), using=db,
                            delays=CURSOR_RETRY_DELAYS)
        except DatabaseError as error:
            why = f"its sync cursor could not be read or created: {describe(error)}"
            for _, type_report in chunk:
                type_report.status = FAILED
                type_report.errors.append(why)
            continue
        restart: list[int] = []
        for item, type_report in chunk:
            row = rows[(item.account or platform or "", item.name)]
            if lease is not None:
                if not lease.acquire(row.pk, db):
                    type_report.status = SKIPPED
                    type_report.note("another worker is syncing it (its cursor is leased)")
                    report.busy.append(type_report)
                    continue
                row.refresh_from_db(using=db)
            if full or (expire and row.complete and (row.events_after or 0) < horizon):
                if not full:
                    type_report.note(f"the cursor is older than the Events API keeps "
                                     f"({table.EVENTS_RETENTION_DAYS} days): full pass")
                for name, value in START_OVER.items():
                    setattr(row, name, list(value) if isinstance(value, list) else value)
                restart.append(row.pk)
            state = {f: getattr(row, f) for f in CURSOR_STATE}
            shards.append(Shard(item.name, item.spec, item.account, type_report, row.pk, state))
        if restart:
            try:
                retrying(lambda: _cursors(db).filter(pk__in=restart).update(**START_OVER),
                         using=db, delays=CURSOR_RETRY_DELAYS)
            except DatabaseError as error:
                # as when the cursors cannot be read: these types fail, the run goes on
                why = f"its sync cursor could not be reset for a full pass: {describe(error)}"
                failed = set(restart)
                for shard in shards:
                    if shard.cursor_id in failed:
                        shard.report.status = FAILED
                        shard.report.errors.append(why)
                shards = [s for s in shards if s.cursor_id not in failed]
    return shards


def _cursors(db: str) -> Any:
    from ..models import SyncCursor

    return SyncCursor.objects.using(db)


def _cursor_rows(keys: list[tuple[str, str]], *, db: str, livemode: bool) -> dict[tuple[str, str], Any]:
    """The cursors of (account, list name) pairs, those missing created: one query to
    read them, and for the missing ones one bulk insert (a cursor another process made
    meanwhile is left as it is) and one query to read them back."""
    from ..models import SyncCursor

    def read(wanted: set[tuple[str, str]]) -> dict[tuple[str, str], Any]:
        found = _cursors(db).filter(livemode=livemode, account__in={a for a, _ in wanted},
                                    object_type__in={n for _, n in wanted})
        return {key: row for row in found if (key := (row.account, row.object_type)) in wanted}

    wanted = set(keys)
    rows = read(wanted)
    missing = wanted - rows.keys()
    if missing:
        _cursors(db).bulk_create([SyncCursor(account=a, livemode=livemode, object_type=n)
                                  for a, n in sorted(missing)], ignore_conflicts=True)
        rows.update(read(missing))
    return rows
