"""What ``stripe_verify`` found, per listed type and account. Hand-written, not generated.

One row per (run, list name, account): the verification of that list in that account,
written when its comparison starts and completed when it ends (a row left without
``finished_at`` is a verification that was stopped).
"""

from __future__ import annotations

from django.db import models


class VerificationRun(models.Model):
    """The verification of one listed type (``customer``) in one account.

    ``differences`` holds the differing objects (up to ``MAX_RECORDED`` of them), each
    ``{"kind": "missing" | "extra" | "stale", "type": "customer", "id": "cus_...",
    "detail": "..."}``; the counts are complete.
    """

    # The differing objects kept on a row: enough for a support person to open them,
    # while a badly drifted mirror does not make one huge row.
    MAX_RECORDED = 1000

    class Mode(models.TextChoices):
        FULL = "full"
        SAMPLE = "sample"

    class Status(models.TextChoices):
        RUNNING = "running"
        OK = "ok"
        FAILED = "failed"
        UNAVAILABLE = "unavailable"

    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    run = models.CharField(max_length=64, db_index=True,
                           help_text="The id shared by the rows of one stripe_verify run.")
    object_type = models.CharField(max_length=100, help_text="The list name in the sync table.")
    account = models.CharField(max_length=255, blank=True, default="",
                               help_text="Connected account id; empty for the platform account.")
    key = models.CharField(max_length=100, blank=True, default="",
                           help_text="The API_KEYS name read with; empty: API_KEY.")
    livemode = models.BooleanField(default=False)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.FULL)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    healing = models.BooleanField(default=False, help_text="Run with --heal.")
    compared = models.IntegerField(default=0, help_text="Objects compared (children included).")
    missing = models.IntegerField(default=0)
    extra = models.IntegerField(default=0)
    stale = models.IntegerField(default=0)
    healed = models.IntegerField(default=0)
    requests = models.IntegerField(default=0, help_text="API requests made.")
    upper_bound = models.FloatField(
        null=True, blank=True,
        help_text="--sample: the share of differing objects is below this, at 95% confidence.")
    differences = models.JSONField(default=list, blank=True)
    notes = models.JSONField(default=list, blank=True)

    class Meta:
        app_label = "stripe_django"
        verbose_name = "verification"
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["object_type", "account", "-started_at"],
                                name="stripe_django_verify_last")]

    def __str__(self) -> str:
        return f"verification of {self.object_type} [{self.account or 'platform'}] {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def differing(self) -> int:
        return self.missing + self.extra + self.stale
