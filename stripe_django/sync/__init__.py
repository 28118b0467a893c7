"""Public entry points: ingest payloads (``upsert``, ``upsert_many``)."""

from ..ingest import Snapshot, UpsertResult, upsert, upsert_many
from .service import SyncReport, sync

__all__ = ["Snapshot", "UpsertResult", "upsert", "upsert_many", "sync", "SyncReport"]
