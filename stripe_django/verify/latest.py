"""The last verification of each listed type in each account and mode, for the health
page and the system check.

"Last" is the newest run that completed its comparison (status ``ok``): a stopped or
failed run counted only part of the objects, so its figures say nothing of the mirror.
The newest run is found with one correlated subquery per (type, account, mode) on the
``stripe_django_verify_last`` index, so one query answers for any number of accounts.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from ..models.sync_state import SyncCursor
from ..models.verification import VerificationRun

__all__ = ["latest_runs", "unverified_cursors"]


def _completed(alias: str) -> QuerySet[VerificationRun]:
    return VerificationRun._default_manager.using(alias).filter(status=VerificationRun.Status.OK)


def latest_runs(alias: str) -> QuerySet[VerificationRun]:
    """The newest completed run per (object_type, account, livemode), one query."""
    newest = (_completed(alias)
              .filter(object_type=OuterRef("object_type"), account=OuterRef("account"),
                      livemode=OuterRef("livemode"))
              .order_by("-started_at", "-id").values("pk")[:1])
    return _completed(alias).filter(pk=Subquery(newest))


def unverified_cursors(alias: str, max_age: dt.timedelta, now: dt.datetime) -> QuerySet[SyncCursor]:
    """The cursors synced at least once whose type (in their account and mode) has no
    completed verification, or none started since ``now - max_age``."""
    runs = _completed(alias).filter(object_type=OuterRef("object_type"), account=OuterRef("account"),
                                    livemode=OuterRef("livemode"))
    recent = runs.filter(started_at__gte=now - max_age)
    return (SyncCursor._default_manager.using(alias)
            .filter(last_synced_at__isnull=False)
            .annotate(verified=Exists(runs), recent=Exists(recent))
            .filter(Q(verified=False) | Q(recent=False)))
