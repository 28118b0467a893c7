"""Why a row drifted: what the mirror knows about each missing or stale object.

For each, from the mirror's own tables (no API request): the last event received about
the object and how its processing went, or that none was received; whether any webhook
endpoint stored in the mirror has the object's ``.updated`` / ``.created`` event types
enabled; and when the type was last synced. So "3 missing" reads as "3 missing: no event
about it received; no endpoint enables customer.created; customer last synced ...".
"""

from __future__ import annotations

from typing import Iterable

from .compare import EXTRA, Difference

__all__ = ["explain", "MAX_EXPLAINED"]

# Differences explained per (type, account): a few queries each; the rest keep their detail.
MAX_EXPLAINED = 200


def explain(differences: list[Difference], *, list_name: str, cursor_account: str,
            livemode: bool, db: str) -> list[Difference]:
    """``differences`` with what the mirror knows appended to the detail of the missing
    and stale ones (extra rows are explained by the 404 itself)."""
    wanted = [d for d in differences if d.kind != EXTRA][:MAX_EXPLAINED]
    if not wanted:
        return differences
    events = _last_events({d.id for d in wanted}, db)
    synced = _last_synced(list_name, cursor_account, livemode, db)
    enabled = _enabled_events(db)
    reasons: dict[tuple[str, str], str] = {}
    for d in wanted:
        parts = [events.get(d.id, "no event about it received")]
        if enabled is not None:
            missing = [t for t in (f"{d.object_type}.created", f"{d.object_type}.updated")
                       if not _enables(enabled, t)]
            if missing:
                parts.append(f"no webhook endpoint in the mirror enables {' or '.join(missing)}")
        parts.append(synced)
        reasons[(d.kind, d.id)] = "; ".join(parts)
    return [Difference(d.kind, d.object_type, d.id, f"{d.detail} ({reasons[(d.kind, d.id)]})", d.owner)
            if (d.kind, d.id) in reasons else d for d in differences]


def _last_events(ids: set[str], db: str) -> dict[str, str]:
    from ..models import Event

    rows = (Event._default_manager.using(db).filter(data__object__id__in=list(ids))
            .order_by("-created").values_list("id", "type", "created", "processing_status",
                                              "processing_error", "data__object__id"))
    said: dict[str, str] = {}
    for event_id, event_type, created, status, error, object_id in rows:
        if object_id in said:
            continue
        when = f"{created:%Y-%m-%d %H:%M} UTC" if created else "at an unknown time"
        said[object_id] = (f"last event {event_type} ({event_id}, {when}) {status}"
                           + (f": {error.splitlines()[0][:120]}" if error else ""))
    return said


def _last_synced(list_name: str, account: str, livemode: bool, db: str) -> str:
    from ..models import SyncCursor

    cursor = SyncCursor._default_manager.using(db).filter(
        account=account, livemode=livemode, object_type=list_name).first()
    if cursor is None or cursor.last_synced_at is None:
        return f"{list_name} never synced in full"
    return f"{list_name} last synced {cursor.last_synced_at:%Y-%m-%d %H:%M} UTC"


def _enabled_events(db: str) -> list[str] | None:
    """The event types the mirror's webhook endpoints enable (None: no endpoint stored,
    so nothing can be said)."""
    from ..models import WebhookEndpoint

    lists = list(WebhookEndpoint._default_manager.using(db).filter(deleted=False)
                 .values_list("enabled_events", "status"))
    if not lists:
        return None
    return [t for events, status in lists if status != "disabled" for t in (events or [])]


def _enables(enabled: Iterable[str], event_type: str) -> bool:
    return any(t == "*" or t == event_type for t in enabled)
