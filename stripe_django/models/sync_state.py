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
      parent, the id of the last parent whose children are stored). Once the pass is
      complete, ``pass_started_at`` is when the last whole listing began: a nested list
      walks all its parents again when ``SYNC_EMPTY_LISTS_EVERY`` has passed since (see
      :func:`stripe_django.sync.evented.whole_walk_due`).
    * ``created_after`` / ``created_seen``: high-water mark of the ``created`` filter:
      the newest ``created`` (Unix seconds) listed, and the ids listed at that second,
      which the next ``created >= created_after`` listing skips.
    * ``slices``: a full pass listed by several threads at once (``workers`` > 1), one
      ``created`` window each: every window's bounds and the id after which it
      continues; null otherwise, and again once the pass is complete.
    * ``events_after``: Unix time from which the Events API still has changes of this
      type to apply.
    * ``found_objects``: whether the list's last complete listing found any object (null:
      not known). A list no event covers that was empty is listed again only every
      ``SYNC_EMPTY_LISTS_EVERY`` (see :mod:`stripe_django.sync.evented`), reckoned
      from ``last_synced_at``.
    * ``leased_by`` / ``lease_expires``: the ``stripe_sync --enqueue`` worker running this
      shard, until when (renewed with each stored page). Another worker takes the shard
      only once the lease has expired.

    * ``failing``: whether ``last_error`` is set, computed by the database. It exists for
      the health page's index (below): an error's text may be too long for an index
      entry, a flag is not.

    ``account`` is the connected account, or for the platform itself "" (or, with
    several ``API_KEYS``, the platform's ``ACCOUNT`` id).
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
    slices = models.JSONField(null=True, blank=True)
    events_after = models.BigIntegerField(null=True, blank=True)
    found_objects = models.BooleanField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    leased_by = models.CharField(max_length=255, blank=True, default="",
                                 help_text="The sync worker running this shard (host:pid:run).")
    lease_expires = models.DateTimeField(null=True, blank=True)
    failing = models.GeneratedField(
        expression=models.ExpressionWrapper(~models.Q(last_error=""), output_field=models.BooleanField()),
        output_field=models.BooleanField(), db_persist=True)

    class Meta:
        app_label = "stripe_django"
        constraints = [
            models.UniqueConstraint(fields=["account", "livemode", "object_type"],
                                    name="stripe_django_sync_cursor_unique"),
        ]
        indexes = [
            # Every column the health page's one GROUP BY of the connected accounts'
            # cursors reads, in its grouping order: SQLite walks this index instead of
            # sorting all the rows (1.2 s at 760,000 cursors). The text of an error is
            # read from the table for the failing cursors only (``failing``).
            models.Index(fields=["object_type", "livemode", "account", "complete", "last_synced_at",
                                 "failing"], name="stripe_django_cursor_health"),
        ]
        verbose_name = "sync cursor"

    def __str__(self) -> str:
        mode = "live" if self.livemode else "test"
        return f"{self.account or 'platform'}:{mode}:{self.object_type}"


class SyncRun(models.Model):
    """One ``stripe_sync --enqueue``: its shards (:class:`SyncShard`) run as tasks, on any
    number of workers; ``manage.py stripe_sync --run ID`` prints its summary."""

    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True,
                                       help_text="When the last shard finished.")
    key = models.CharField(max_length=100, blank=True, default="",
                           help_text="The API_KEYS name the run reads with; empty: API_KEY.")
    livemode = models.BooleanField(default=False)
    types = models.JSONField(default=list, help_text="The list names synced.")
    options = models.JSONField(default=dict, blank=True,
                               help_text="full, events, rate_limit, page_size.")

    class Meta:
        app_label = "stripe_django"
        verbose_name = "sync run"
        ordering = ["-id"]
        # The one permission of the admin's support operations (admin/support_actions.py);
        # kept on this model of the app's own so that it needs no model of its own.
        permissions = [("change_at_stripe", "Can change at Stripe")]

    def __str__(self) -> str:
        return f"{self.kind} run {self.pk}"

    @property
    def kind(self) -> str:
        """"sync", or "verification": ``stripe_verify --enqueue`` runs its shards as a
        run of this model too (``options["verify"]``)."""
        return "verification" if isinstance(self.options, dict) and "verify" in self.options else "sync"

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


class SyncShard(models.Model):
    """One (listed type, account) of a :class:`SyncRun`, or the Events API catch-up of
    one account (``name`` "changes", queued once the account's lists are done), with
    what its worker reported."""

    class Status(models.TextChoices):
        WAITING = "waiting"  # the changes of an account: waits for the account's lists
        QUEUED = "queued"
        RUNNING = "running"
        OK = "ok"
        FAILED = "failed"
        UNAVAILABLE = "unavailable"
        SKIPPED = "skipped"

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="shards")
    account = models.CharField(max_length=255, blank=True, default="",
                               help_text="Connected account id; empty for the platform account.")
    name = models.CharField(max_length=100, help_text="The list name, or 'changes'.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    mode = models.CharField(max_length=20, blank=True, default="")
    fetched = models.IntegerField(default=0)
    created = models.IntegerField(default=0)
    updated = models.IntegerField(default=0)
    unchanged = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)
    requests = models.IntegerField(default=0)
    http_status = models.IntegerField(null=True, blank=True)
    notes = models.JSONField(default=list, blank=True)
    errors = models.JSONField(default=list, blank=True)
    worker = models.CharField(max_length=255, blank=True, default="")
    attempts = models.IntegerField(default=0, help_text="Times a worker started it.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    alive_at = models.DateTimeField(
        null=True, blank=True,
        help_text="The running worker's last sign of life (verification shards, which "
                  "hold no cursor lease to renew).")

    class Meta:
        app_label = "stripe_django"
        verbose_name = "sync shard"
        constraints = [
            models.UniqueConstraint(fields=["run", "account", "name"],
                                    name="stripe_django_sync_shard_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} [{self.account or 'platform'}] of run {self.run_id}"


class SyncRateLimit(models.Model):
    """The next free request slot of one API key, shared by every sync worker that uses
    the key (``SYNC_RATE_LIMIT_REDIS`` unset): microseconds since the Unix epoch."""

    key = models.CharField(max_length=64, primary_key=True)
    next_at = models.BigIntegerField(default=0)

    class Meta:
        app_label = "stripe_django"
        verbose_name = "sync rate limit"
