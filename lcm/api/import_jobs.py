"""The import door of the dialer's integration (docs/dialer.md, "Importing
over the API"): the import runs as a background job (lcm.actions.import_jobs).

- `POST /api/lcm/imports/`: the CSV or JSON Lines file as the body
  (`Content-Type: application/octet-stream`, the format by the extension of
  `?name=`, default CSV; or `text/csv`, `application/x-ndjson`,
  `application/jsonl`), or as the `file` field of a multipart form.
  Streamed to disk, never whole in memory, up to LCM_IMPORT_UPLOAD_MAX_BYTES
  (not the API's JSON body cap). Answers `202` with the job's status and its
  URL (also `Location`). `Idempotency-Key` honoured (lcm.idempotency): a
  retry of the same file with the same key gets the first reply, and no
  second job.
- `GET /api/lcm/imports/<id>/`: state, counts and progress.
- `GET /api/lcm/imports/<id>/rejected/`: every rejected row as CSV (line,
  LCM key, column, reason).

Only holders of `lcm.import_accounts` (the "Dialer integration" group, the
Supervisors). Errors in the one shape ``{"code", "message"}``.
"""

from __future__ import annotations

import csv

from django.http import StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.parsers import BaseParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from lcm import errors, idempotency
from lcm.actions import import_jobs, permissions
from lcm.models import ImportJob

from .intake import ERRORS, IntakeView
from .schema import Error

RAW_TYPES = {"text/csv": "csv", "application/x-ndjson": "jsonl", "application/jsonl": "jsonl"}
CHUNK = 64 * 1024
NO_FILE = (
    "Send the list as the body (Content-Type text/csv or application/x-ndjson) "
    "or as the `file` field of a multipart/form-data request."
)


class UnknownImport(errors.NotFound):
    code = "unknown_import"


class _Raw(BaseParser):
    """Lets DRF accept the file types; the view reads the stream itself."""

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


class CsvParser(_Raw):
    media_type = "text/csv"


class NdjsonParser(_Raw):
    media_type = "application/x-ndjson"


class JsonlParser(_Raw):
    media_type = "application/jsonl"


class OctetStreamParser(_Raw):
    media_type = "application/octet-stream"


class MultipartPassthrough(_Raw):
    media_type = "multipart/form-data"


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


def status_body(request, job: ImportJob) -> dict:
    url = reverse("lcm-api:import", args=[job.pk])
    return {
        **import_jobs.status(job),
        "url": request.build_absolute_uri(url),
        "rejected_url": request.build_absolute_uri(reverse("lcm-api:import-rejected",
                                                           args=[job.pk])),
    }  # fmt: skip


def _job(request, job_id: str) -> ImportJob:
    permissions.require(request.user, permissions.IMPORT_ACCOUNTS)
    job = ImportJob.objects.filter(pk=int(job_id)).first() if job_id.isdigit() else None
    if job is None or len(job_id) > 18:
        raise UnknownImport(f"There is no import {job_id}.")
    return job


FILE_BODY = {"type": "string", "format": "binary"}
IMPORT_ERRORS = {
    **{code: r for code, r in ERRORS.items() if code in (401, 403, 406, 429, 500, 503)},
    400: OpenApiResponse(
        Error, description="Not a list that can be imported (`bad_file`), or a bad Idempotency-Key"
    ),
    409: OpenApiResponse(Error, description="The same file is being imported (`import_job_state`)"),
    413: OpenApiResponse(Error, description="Over LCM_IMPORT_UPLOAD_MAX_BYTES (`file_too_large`)"),
    415: OpenApiResponse(Error, description="Not CSV, JSON Lines or multipart"),
    422: OpenApiResponse(Error, description="Idempotency-Key reused for another file"),
}
JOB_ID = OpenApiParameter("job_id", str, OpenApiParameter.PATH, description="The import's id.",
                          pattern=r"^[0-9]{1,18}$")  # fmt: skip


class ImportListView(IntakeView):
    permission_classes = [IsAuthenticated]
    parser_classes = [CsvParser, NdjsonParser, JsonlParser, OctetStreamParser,
                      MultipartPassthrough]  # fmt: skip

    @extend_schema(
        operation_id="import_accounts",
        exclude=True,  # not in the document yet: docs/dialer.md, notes/30.md
        tags=["dialer"],
        summary="Import a list of accounts, in the background",
        description=(
            "The columns of `manage.py import_accounts` (docs/dialer.md). Answers 202 at once "
            "with the job's URL; poll it for progress and counts."
        ),
        parameters=[
            OpenApiParameter("name", str, description="The file's name (body uploads)."),
            OpenApiParameter(
                idempotency.HEADER,
                str,
                OpenApiParameter.HEADER,
                pattern=idempotency.KEY_PATTERN,
                description="Retry safely: the same file and key, one job.",
            ),
        ],
        # The document names the types every generated client can send; the
        # door also takes text/csv and application/x-ndjson (docs/dialer.md).
        request={
            "application/octet-stream": FILE_BODY,
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": FILE_BODY},
                "required": ["file"],
            },
        },
        responses={202: ImportStatus, **IMPORT_ERRORS},
    )
    def post(self, request):
        permissions.require(request.user, permissions.IMPORT_ACCOUNTS)
        key = idempotency.parse_key(request.headers.get(idempotency.HEADER))
        media = (request.content_type or "").split(";")[0].strip().lower()
        if media == "multipart/form-data":
            upload = request._request.FILES.get("file")
            if upload is None:
                raise import_jobs.BadFile(NO_FILE)
            name, chunks, fmt = upload.name, upload.chunks(), None
        elif media in RAW_TYPES or media == "application/octet-stream":
            name = request.query_params.get("name") or "upload.csv"
            fmt = RAW_TYPES.get(media) or import_jobs.format_of(name)
            stream = request._request
            chunks = iter(lambda: stream.read(CHUNK), b"")
        else:
            raise exceptions.UnsupportedMediaType(media)
        job = import_jobs.store_upload(
            chunks, file_name=name, actor=request.user, fmt=fmt, idempotency_key=key or ""
        )

        def start():
            started = import_jobs.start(job, request.user)
            return idempotency.Reply(202, status_body(request, started))

        try:
            if key is None:
                reply = start()
            else:
                reply = idempotency.run_once(
                    user=request.user,
                    key=key,
                    fingerprint=idempotency.fingerprint([job.sha256, job.format, job.file_name]),
                    run=start,
                )
        except BaseException:
            import_jobs.discard(job)
            raise
        if reply.replayed:
            import_jobs.discard(job)
        headers = {"Location": reply.body["url"]}
        if reply.replayed:
            headers[idempotency.REPLAYED_HEADER] = "true"
        return Response(reply.body, status=reply.status, headers=headers)


class ImportView(IntakeView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="import_status",
        exclude=True,  # not in the document yet: docs/dialer.md, notes/30.md
        tags=["dialer"],
        summary="An import's state, counts and progress",
        parameters=[JOB_ID],
        responses={200: ImportStatus, 404: OpenApiResponse(Error, description="`unknown_import`"),
                   **{c: r for c, r in IMPORT_ERRORS.items() if c in (401, 403, 429, 500, 503)}},
    )  # fmt: skip
    def get(self, request, job_id):
        return Response(status_body(request, _job(request, job_id)))


class _Echo:
    def write(self, value):
        return value


class ImportRejectedView(IntakeView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="import_rejected",
        exclude=True,  # not in the document yet: docs/dialer.md, notes/30.md
        tags=["dialer"],
        summary="An import's rejected rows, as CSV",
        parameters=[JOB_ID],
        responses={
            (200, "text/csv"): OpenApiResponse(
                {"type": "string"}, description="line, LCM key, column, reason"
            ),
            404: OpenApiResponse(Error, description="`unknown_import`"),
            **{c: r for c, r in IMPORT_ERRORS.items() if c in (401, 403, 429, 500, 503)},
        },
    )
    def get(self, request, job_id):
        job = _job(request, job_id)
        writer = csv.writer(_Echo())
        response = StreamingHttpResponse(
            (writer.writerow(row) for row in import_jobs.rejected_csv_rows(job)),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-rejected.csv"'
        return response
