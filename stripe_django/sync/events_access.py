"""Whether the key may read the Events API, as the last sync found it.

Without the Events API an incremental run sees new objects only: updates and deletions
of the types it covers are missed, while every list reads fine. The run says so in its
summary; the refusal is also kept on the cursor of the ``event`` list of the account
(its ``last_error``, starting with :data:`REFUSED`), so the health page and a system
check (``stripe_django.W084``) say it later without a request to Stripe. The next run
whose catch-up reads the Events API clears it.

The key is named by its setting and a masked form (:func:`masked_key`), never in full.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import DatabaseError

from .evented import EVENTS_LIST
from .report import OK, UNAVAILABLE, TypeReport

logger = logging.getLogger("stripe_django.sync")

__all__ = ["REFUSED", "masked_key", "key_label", "record_events_access", "EventsRefusal",
           "refusals"]

# The start of the ``event`` cursor's last_error that records a refusal.
REFUSED = "The Events API was refused"


# The kinds of key whose prefix says nothing secret (Stripe's sk_/rk_ and their modes).
_KEY_PREFIXES = ("sk_test_", "sk_live_", "rk_test_", "rk_live_", "sk_", "rk_")


def masked_key(key: str) -> str:
    """``rk_test_…wxyz``: the key's kind and mode, and its last four characters only. A
    key of another shape shows its last four characters alone (``…wxyz``): nothing
    before them can be told apart from the secret part."""
    if not key:
        return "(no key)"
    prefix = next((p for p in _KEY_PREFIXES if key.startswith(p)), "")
    return f"{prefix}…{key[-4:]}"


def key_label(name: str | None, key: str) -> str:
    """The setting that holds the key, and the key masked: ``API_KEY (rk_test_…wxyz)``."""
    setting = "API_KEY" if name is None else f"API_KEYS[{name!r}]"
    return f"{setting} ({masked_key(key)})"


def record_events_access(lines: list[TypeReport], *, db: str, livemode: bool,
                         platform: str | None, label: str) -> None:
    """Keep on each account's ``event`` cursor whether its catch-up (or the ``event``
    list itself) could read the Events API: a few statements per batch of accounts.
    Bookkeeping only: a database error is logged, and the run's own report stands."""
    try:
        _record(lines, db=db, livemode=livemode, platform=platform, label=label)
    except DatabaseError:
        logger.warning("stripe_django: could not record whether the key may read the Events "
                       "API", exc_info=True)


def _record(lines: list[TypeReport], *, db: str, livemode: bool, platform: str | None,
            label: str) -> None:
    from ..models import SyncCursor
    from .plan import _cursor_rows

    refused: dict[str, TypeReport] = {}
    readable: set[str] = set()
    for line in lines:
        account = line.account or platform or ""
        if line.status == UNAVAILABLE:
            refused[account] = line
        elif line.status == OK:
            readable.add(account)
    readable -= refused.keys()
    cursors = SyncCursor._default_manager.using(db)
    if readable:
        cursors.filter(livemode=livemode, object_type=EVENTS_LIST, account__in=readable,
                       last_error__startswith=REFUSED).update(last_error="")
    if not refused:
        return
    rows = _cursor_rows([(account, EVENTS_LIST) for account in refused], db=db, livemode=livemode)
    by_message: dict[str, list[int]] = {}
    for account, line in refused.items():
        by_message.setdefault(_message(line, label), []).append(rows[(account, EVENTS_LIST)].pk)
    for message, ids in by_message.items():
        cursors.filter(pk__in=ids).update(last_error=message)


def _message(line: TypeReport, label: str) -> str:
    why = "; ".join(line.notes) or "not available"
    return f"{REFUSED} (HTTP {line.http_status or '?'}) to {label}: {why}"


@dataclass(frozen=True)
class EventsRefusal:
    """The accounts of one mode whose last sync could not read the Events API."""

    livemode: bool
    accounts: int
    http_status: str  # "403", "404" or "?"
    message: str  # one of their cursors' last_error


def refusals(using: str) -> list[EventsRefusal]:
    """What the ``event`` cursors recorded, per mode: one query, a few rows."""
    from django.db.models import Count, Max

    from ..models import SyncCursor

    groups = (SyncCursor._default_manager.using(using)
              .filter(object_type=EVENTS_LIST, last_error__startswith=REFUSED)
              .order_by().values("livemode").annotate(n=Count("pk"), message=Max("last_error")))
    found = []
    for group in groups:
        message = group["message"]
        status = message[len(REFUSED):].split(")", 1)[0].removeprefix(" (HTTP ")
        found.append(EventsRefusal(group["livemode"], group["n"], status, message))
    return sorted(found, key=lambda r: r.livemode)
