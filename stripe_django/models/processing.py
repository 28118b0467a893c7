"""Columns the app adds to the ``Event`` model to track the processing of each event."""

from __future__ import annotations

from django.db import models


class ProcessingStatus(models.TextChoices):
    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"
    # Stored from the Events API by a sync (or by ``upsert``), not delivered: the sync
    # read its object itself. A delivery of the same event still processes it.
    STORED = "stored", "stored by a sync"


class EventProcessing(models.Model):
    """Where an event came from and how far its processing got.

    An event received by the webhook view is stored with ``pending`` before anything is
    done with it; processing then marks it ``processed`` or ``failed`` (with the error),
    and a failed event can be processed again (``manage.py stripe_process_events``).
    """

    processing_status = models.CharField(
        max_length=16, choices=ProcessingStatus.choices, default=ProcessingStatus.PENDING,
        db_default=ProcessingStatus.PENDING, db_index=True,
    )
    # Database defaults too: ingest writes events with raw SQL that leaves these out.
    processing_attempts = models.PositiveIntegerField(default=0, db_default=0)
    processing_error = models.TextField(blank=True, default="", db_default="")
    # Whether the last failure may pass on a retry (False: the payload itself was refused;
    # null: not failed, or failed before this was recorded). The health page counts the
    # events refused for good apart from those waiting for a retry.
    processing_retryable = models.BooleanField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # The named webhook endpoint that received it ("" for the default endpoint; null when
    # the event came from the Events API rather than a delivery).
    webhook_endpoint = models.CharField(max_length=100, null=True, blank=True)

    class Meta:
        abstract = True
