"""How import and export jobs are shown, the same through both doors: the
console's job pages (lcm.admin.import_jobs, the import's JSON status polled
by lcm/static/lcm/import_job.js, its rejected-rows download; the export's
page and file) and the API (lcm.api.import_jobs, lcm.api.export_jobs). One
serializer per job renders its status (dates as the rest of the API writes
them); one function streams the rejected rows as CSV, one the export's file.
"""

from __future__ import annotations

import csv

from django.http import FileResponse, StreamingHttpResponse
from rest_framework import serializers

from lcm.actions import export_jobs, import_jobs
from lcm.models import ExportJob, ImportJob


class ImportStatus(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField(help_text="This job's status URL.")
    rejected_url = serializers.CharField(help_text="Its rejected rows, as CSV.")
    state = serializers.ChoiceField(choices=ImportJob.State.values)
    state_text = serializers.CharField()
    file_name = serializers.CharField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    total = serializers.IntegerField(help_text="Rows of the file (its lines, about).")
    through = serializers.IntegerField(help_text="Rows read and committed (or rejected).")
    percent = serializers.FloatField()
    rows_per_second = serializers.FloatField(allow_null=True)
    seconds_left = serializers.IntegerField(allow_null=True)
    rows = serializers.IntegerField(help_text="Rows imported (written or already up to date).")
    accounts_created = serializers.IntegerField()
    accounts_updated = serializers.IntegerField()
    rows_changed = serializers.IntegerField()
    rows_unchanged = serializers.IntegerField()
    modes_added = serializers.IntegerField()
    modes_changed = serializers.IntegerField()
    rejected = serializers.IntegerField()
    broken = serializers.CharField(help_text="Why reading stopped early ('' when it did not).")
    error = serializers.CharField()
    resumable = serializers.BooleanField()
    stale = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField()
    finished_at = serializers.DateTimeField(allow_null=True)


def status_body(job: ImportJob, *, url: str, rejected_url: str) -> dict:
    """The job's status as JSON-ready values, with the door's own URLs."""
    body = {**import_jobs.status(job), "url": url, "rejected_url": rejected_url}
    return dict(ImportStatus(body).data)


class _Echo:
    def write(self, value):
        return value


def rejected_csv_response(job: ImportJob) -> StreamingHttpResponse:
    """Every rejected row (line, LCM key, column, reason), streamed."""
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in import_jobs.rejected_csv_rows(job)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-rejected.csv"'
    return response


class ExportStatus(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField(help_text="This job's status URL.")
    file_url = serializers.CharField(help_text="Its CSV file, once `state` is done.")
    list = serializers.ChoiceField(choices=ExportJob.List.values)
    description = serializers.CharField(
        help_text="What is exported: the list, whole or as the console filtered it."
    )
    state = serializers.ChoiceField(choices=ExportJob.State.values)
    state_text = serializers.CharField()
    total = serializers.IntegerField(help_text="Rows of the list when the export started.")
    rows = serializers.IntegerField(help_text="Rows written so far.")
    percent = serializers.FloatField()
    size = serializers.IntegerField(help_text="Bytes of the finished file (0 before).")
    sha256 = serializers.CharField(help_text="SHA-256 of the finished file ('' before).")
    file_name = serializers.CharField()
    error = serializers.CharField()
    resumable = serializers.BooleanField(
        help_text="Its worker was lost or it failed: Resume goes on from the last rows written."
    )
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField()
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When the finished file is deleted (LCM_EXPORT_KEEP_HOURS); then `expired`.",
    )


def export_status_body(job: ExportJob, *, url: str, file_url: str) -> dict:
    body = {**export_jobs.status(job), "url": url, "file_url": file_url}
    return dict(ExportStatus(body).data)


def export_file_response(job: ExportJob) -> FileResponse:
    """The finished CSV, streamed from disk (ExportNotReady before,
    ExportExpired once it was deleted)."""
    return FileResponse(
        export_jobs.open_file(job),
        as_attachment=True,
        filename=job.file_name,
        content_type="text/csv; charset=utf-8",
    )
