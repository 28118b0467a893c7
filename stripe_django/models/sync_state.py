"""Where ``stripe_sync`` stands, per account and listed type. Hand-written, not generated.

One row per (account, mode, list name). The sync service reads the rows at the start of
a run and writes a row only after the rows of the page it describes are committed, so
an interrupted run resumes after the last stored page and never skips one.
"""

from __future__ import annotations

from django.db import models


class SyncCursor(models.Model):
    """The sync position of one listed type (``customer``) in one account.

    * ``complete``: a full pass of the type has finished; later runs are incremental.
    * ``pass_started_at`` / ``starting_after``: the running (or interrupted) full pass:
      when it began and the id after which it continues (for a list nested under a
      parent, the id of the last parent whose children are stored).
    * ``created_after`` / ``created_seen``: high-water mark of the ``created`` filter:
      the newest ``created`` (Unix seconds) listed, and the ids listed at that second,
      which the next ``created >= created_after`` listing skips.
    * ``events_after``: Unix time from which the Events API still has changes of this
      type to apply.
    """

    account = models.CharField(max_length=255, blank=True, default="",
                               help_text="Connected account id; empty for the platform account.")
    livemode = models.BooleanField(default=False)
    object_type = models.CharField(max_length=100, help_text="The list name in the sync table.")
    complete = models.BooleanField(default=False)
    pass_started_at = models.DateTimeField(null=True, blank=True)
    starting_after = models.CharField(max_length=255, null=True, blank=True)
    created_after = models.BigIntegerField(null=True, blank=True)
    created_seen = models.JSONField(default=list, blank=True)
    events_after = models.BigIntegerField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        app_label = "stripe_django"
        constraints = [
            models.UniqueConstraint(fields=["account", "livemode", "object_type"],
                                    name="stripe_django_sync_cursor_unique"),
        ]
        verbose_name = "sync cursor"

    def __str__(self) -> str:
        mode = "live" if self.livemode else "test"
        return f"{self.account or 'platform'}:{mode}:{self.object_type}"
