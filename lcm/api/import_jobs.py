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

from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.parsers import BaseParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from lcm import errors, idempotency
from lcm import job_render as render
from lcm.actions import import_jobs, permissions
from lcm.job_render import ImportStatus
from lcm.models import ImportJob

from . import examples
from .intake import ERRORS, IntakeView
from .schema import EnvelopeAutoSchema, Error

RAW_TYPES = {"text/csv": "csv", "application/x-ndjson": "jsonl", "application/jsonl": "jsonl"}
CHUNK = 64 * 1024
NO_FILE = (
    "Send the list as the body (Content-Type text/csv or application/x-ndjson) "
    "or as the `file` field of a multipart/form-data request."
)


BAD_FORM = "The multipart/form-data body cannot be read"


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


def status_body(request, job: ImportJob) -> dict:
    return render.status_body(
        job,
        url=request.build_absolute_uri(reverse("lcm-api:import", args=[job.pk])),
        rejected_url=request.build_absolute_uri(reverse("lcm-api:import-rejected", args=[job.pk])),
    )


def _job(request, job_id: str) -> ImportJob:
    permissions.require(request.user, permissions.IMPORT_ACCOUNTS)
    job = ImportJob.objects.filter(pk=int(job_id)).first() if job_id.isdigit() else None
    if job is None or len(job_id) > 18:
        raise UnknownImport(errors.UNKNOWN_IMPORT.format(job_id=job_id))
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
    schema = EnvelopeAutoSchema()  # the file is required: `requestBody.required`
    permission_classes = [IsAuthenticated]
    parser_classes = [CsvParser, NdjsonParser, JsonlParser, OctetStreamParser,
                      MultipartPassthrough]  # fmt: skip

    @extend_schema(
        operation_id="import_accounts",
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
        examples=[
            OpenApiExample(
                "A list", value=examples.IMPORT_CSV, media_type="application/octet-stream",
                request_only=True,
            ),
            OpenApiExample(
                "A form", value={"file": examples.IMPORT_CSV},
                media_type="multipart/form-data", request_only=True,
            ),
            examples.reply_example("Queued", examples.IMPORT_QUEUED, 202),
        ],
    )  # fmt: skip
    def post(self, request):
        permissions.require(request.user, permissions.IMPORT_ACCOUNTS)
        key = idempotency.parse_key(request.headers.get(idempotency.HEADER))
        media = (request.content_type or "").split(";")[0].strip().lower()
        if media == "multipart/form-data":
            try:
                upload = request._request.FILES.get("file")
            except MultiPartParserError as exc:  # no boundary, a broken form
                raise import_jobs.BadFile(f"{BAD_FORM} ({exc})") from None
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
        tags=["dialer"],
        summary="An import's state, counts and progress",
        parameters=[JOB_ID],
        responses={200: ImportStatus, 404: OpenApiResponse(Error, description="`unknown_import`"),
                   **{c: r for c, r in IMPORT_ERRORS.items() if c in (401, 403, 429, 500, 503)}},
        examples=[
            examples.reply_example("Done", examples.IMPORT_DONE, 200),
            examples.reply_example("Unknown import", examples.UNKNOWN_IMPORT, 404),
        ],
    )  # fmt: skip
    def get(self, request, job_id):
        return Response(status_body(request, _job(request, job_id)))


class ImportRejectedView(IntakeView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="import_rejected",
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
        examples=[
            OpenApiExample(
                "CSV",
                value=examples.IMPORT_REJECTED_CSV,
                media_type="text/csv",
                response_only=True,
                status_codes=["200"],
            ),
            examples.reply_example("Unknown import", examples.UNKNOWN_IMPORT, 404),
        ],
    )
    def get(self, request, job_id):
        return render.rejected_csv_response(_job(request, job_id))
