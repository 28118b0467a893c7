"""Leases on sync cursors: two ``stripe_sync --enqueue`` workers never run one shard.

A worker takes a shard's :class:`~stripe_django.models.SyncCursor` row before reading
where the shard stands, and keeps it while it works:

* **take**: where the database has ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL,
  MariaDB 10.6+, MySQL 8), the row is locked without waiting (a row another worker is
  taking right now is skipped, not waited for) and taken if its lease is free or expired;
  elsewhere (SQLite) one conditional ``UPDATE ... WHERE lease_expires < now`` does the
  same, and its row count says who won.
* **renew**: each page's transaction extends the lease with ``UPDATE ... WHERE leased_by
  = me``; if another worker took the row over (this one stalled longer than
  ``SYNC_LEASE_SECONDS``), the update finds nothing, the page is rolled back and the
  shard stops: its cursor only ever moves under the lease that read it.
* **release** at the end of the shard.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid

from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone

from ..conf import stripe_settings

__all__ = ["CursorLease", "LeaseLost"]


class LeaseLost(Exception):
    """Another worker took over a cursor this one held (its lease had expired)."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class CursorLease:
    """The cursors one worker holds for one shard (see the module docstring)."""

    def __init__(self, owner: str | None = None, seconds: float | None = None) -> None:
        self.owner = owner or f"{worker_name()}:{uuid.uuid4().hex[:8]}"
        self.seconds = float(seconds if seconds is not None else stripe_settings.SYNC_LEASE_SECONDS)
        self.held: set[int] = set()

    def _until(self) -> dt.datetime:
        return timezone.now() + dt.timedelta(seconds=self.seconds)

    @staticmethod
    def _cursors(using: str):
        from ..models import SyncCursor

        return SyncCursor._default_manager.using(using)

    def acquire(self, cursor_id: int, using: str) -> bool:
        """Take the cursor; False when another worker holds it."""
        now = timezone.now()
        free = Q(lease_expires__isnull=True) | Q(lease_expires__lt=now) | Q(leased_by=self.owner)
        cursors = self._cursors(using)
        take = {"leased_by": self.owner, "lease_expires": self._until()}
        if connections[using].features.has_select_for_update_skip_locked:
            with transaction.atomic(using=using):
                row = (cursors.select_for_update(skip_locked=True).filter(free, pk=cursor_id)
                       .values_list("pk", flat=True).first())
                if row is None:
                    return False
                cursors.filter(pk=cursor_id).update(**take)
        elif cursors.filter(free, pk=cursor_id).update(**take) != 1:
            return False
        self.held.add(cursor_id)
        return True

    def renew(self, using: str) -> None:
        """Extend every held lease (inside the page's transaction); :class:`LeaseLost`
        if another worker has taken one over."""
        if not self.held:
            return
        count = (self._cursors(using).filter(pk__in=self.held, leased_by=self.owner)
                 .update(lease_expires=self._until()))
        if count != len(self.held):
            raise LeaseLost(f"another worker took over this shard's cursor (lease of "
                            f"{self.seconds:g} s expired)")

    def release(self, using: str) -> None:
        if self.held:
            self._cursors(using).filter(pk__in=self.held, leased_by=self.owner).update(
                leased_by="", lease_expires=None)
            self.held.clear()
