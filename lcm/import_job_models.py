"""The tables of an import run as a background job (lcm.actions.import_jobs
writes them; lcm.models re-exports the classes, so they are lcm's models).

An `ImportJob` is one uploaded file (kept on disk, `LCM_IMPORT_DIR`, with its
SHA-256) and how far its import got: `through` items of the file are
committed (rows and rejected rows alike, in file order), with the counts so
far. Its `ImportJobEvent`s say who uploaded, started, cancelled and resumed
it, and how each run ended; its `ImportJobRejected` rows are the rejected
rows, each recorded in the transaction that records the progress covering
it, so a resumed job neither loses nor repeats one.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ImportJob(models.Model):
    class State(models.TextChoices):
        NEW = "new", "uploaded"  # previewed, not started
        QUEUED = "queued", "waiting for a worker"
        RUNNING = "running", "importing"
        CANCELLING = "cancelling", "stopping after the current batch"
        CANCELLED = "cancelled", "cancelled"
        FAILED = "failed", "stopped on an error"
        DONE = "done", "done"

    ACTIVE = (State.QUEUED, State.RUNNING, State.CANCELLING)

    file_name = models.CharField(max_length=255)
    format = models.CharField(max_length=8)  # "csv" or "jsonl"
    path = models.CharField(max_length=500, help_text="The stored upload, until the job is done.")
    size = models.BigIntegerField(help_text="Bytes.")
    sha256 = models.CharField("SHA-256", max_length=64)
    lines = models.BigIntegerField(default=0, help_text="Lines of the file (its rows, about).")
    state = models.CharField(max_length=10, choices=State, default=State.NEW)
    attempt = models.PositiveIntegerField(default=0, help_text="Runs started (resumes + 1).")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # This run's start (for rows per second): when, and from which item.
    run_started_at = models.DateTimeField(null=True, blank=True)
    run_started_through = models.BigIntegerField(default=0)
    # Progress: items of the file committed, and the counts of those items.
    through = models.BigIntegerField(default=0)
    rows = models.BigIntegerField(default=0)
    accounts_created = models.BigIntegerField(default=0)
    accounts_updated = models.BigIntegerField(default=0)
    rows_changed = models.BigIntegerField(default=0)
    modes_added = models.BigIntegerField(default=0)
    modes_changed = models.BigIntegerField(default=0)
    rejected = models.BigIntegerField(default=0)
    broken = models.CharField(max_length=500, blank=True, help_text="Why reading stopped early.")
    error = models.CharField(max_length=500, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name = "import job"
        constraints = [
            # One running import per uploaded file: a second upload of the
            # same bytes waits until the first is done or cancelled.
            models.UniqueConstraint(
                fields=["sha256"],
                condition=models.Q(state__in=["queued", "running", "cancelling"]),
                name="lcm_one_active_import_per_file",
            )
        ]

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.file_name})"

    @property
    def source(self) -> str:
        """The audit entries' source app: the entries name their job."""
        return f"import job {self.pk}"


class ImportJobEvent(models.Model):
    class Action(models.TextChoices):
        UPLOADED = "uploaded"
        STARTED = "started"
        CANCELLED = "cancelled"  # asked to stop
        STOPPED = "stopped"  # a run stopped, as asked
        RESUMED = "resumed"
        FAILED = "failed"
        FINISHED = "finished"

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=10, choices=Action)
    at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True, help_text="'' for the worker.")
    through = models.BigIntegerField(default=0, help_text="Items committed at that moment.")
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.action} by {self.username or 'the worker'}"


class ImportJobRejected(models.Model):
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rejected_rows")
    line = models.BigIntegerField()
    account_number = models.CharField("LCM key", max_length=128, blank=True)
    column = models.CharField(max_length=200, blank=True)
    reason = models.TextField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"
