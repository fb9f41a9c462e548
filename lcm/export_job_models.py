"""The table of an export run as a background job (lcm.actions.export_jobs
writes it; lcm.models re-exports the class, so it is one of lcm's models).

An `ExportJob` is one CSV file of a whole list (the accounts, or the
do-not-call list) that a worker writes to `LCM_IMPORT_DIR/exports/`, page by
page in constant memory, recording how many rows it wrote so far; when it is
done the file is downloaded from the console or the API.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ExportJob(models.Model):
    class List(models.TextChoices):
        ACCOUNTS = "accounts", "accounts"
        DO_NOT_CALL = "do_not_call", "do-not-call list"

    class State(models.TextChoices):
        QUEUED = "queued", "waiting for a worker"
        RUNNING = "running", "exporting"
        FAILED = "failed", "stopped on an error"
        DONE = "done", "done"
        EXPIRED = "expired", "expired (its file was deleted)"

    ACTIVE = (State.QUEUED, State.RUNNING)

    list = models.CharField(max_length=16, choices=List)
    state = models.CharField(max_length=10, choices=State, default=State.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    total = models.BigIntegerField(default=0, help_text="Rows of the list when the run started.")
    rows = models.BigIntegerField(default=0, help_text="Rows written so far.")
    path = models.CharField(max_length=500, blank=True, help_text="The finished file.")
    size = models.BigIntegerField(default=0, help_text="Bytes of the finished file.")
    sha256 = models.CharField("SHA-256", max_length=64, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # What was exported: the console's changelist querystring ('' for the
    # whole list), validated by the changelist's own filters, and its words.
    query = models.TextField(blank=True, help_text="The list's filters and search, as a query.")
    description = models.CharField(max_length=500, blank=True)
    # Resuming (lcm.actions.export_jobs.run): one run per attempt, and how
    # far the partial file is committed (its rows, last pk, bytes, SHA-256).
    attempt = models.PositiveIntegerField(default=0)
    after_pk = models.BigIntegerField(null=True, blank=True)
    part_path = models.CharField(max_length=500, blank=True)
    part_size = models.BigIntegerField(default=0)
    part_sha256 = models.CharField(max_length=64, blank=True)
    resumed_from = models.BigIntegerField(
        null=True, blank=True, help_text="Rows the last resumed run kept (0: it started over)."
    )
    expired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name = "export job"

    def __str__(self) -> str:
        return f"Export {self.pk} ({self.get_list_display()})"

    @property
    def file_name(self) -> str:
        stamp = self.created_at.strftime("%Y%m%dT%H%M%SZ") if self.created_at else ""
        return f"{self.list.replace('_', '-')}-{stamp}.csv"
