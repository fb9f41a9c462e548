"""The export door of the dialer's integration (docs/dialer.md, "Exporting
over the API"): a whole list as one CSV file, written by a background job
(lcm.actions.export_jobs).

- `POST /api/lcm/exports/` `{"list": "accounts"}` (or `"do_not_call"`):
  answers `202` with the job's status and its URL (also `Location`).
- `GET /api/lcm/exports/<id>/`: state and progress.
- `POST /api/lcm/exports/<id>/resume/` (no body): a job whose worker was
  lost (`resumable`) queued again: `202` with its status; it goes on from
  its last committed rows (`409 export_job_state` when it is not resumable).
- `GET /api/lcm/exports/<id>/file/`: the CSV, once the job is done (`409
  export_job_state` before; `410 export_expired` once the file was deleted,
  LCM_EXPORT_KEEP_HOURS after it was written).

Who may: whoever may read the list, and whoever loads lists
(`permissions.require_export`). Errors in the one shape ``{"code", "message"}``.
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from lcm import errors
from lcm import job_render as render
from lcm.actions import export_jobs
from lcm.job_render import ExportStatus
from lcm.models import ExportJob

from . import examples
from .intake import BODY_ERRORS, ERRORS, IntakeView, validated
from .schema import Error


class UnknownExport(errors.NotFound):
    code = "unknown_export"


class Export(serializers.Serializer):  # the component ExportRequest
    list = serializers.ChoiceField(
        choices=ExportJob.List.values, help_text="`accounts` or `do_not_call`: the whole list."
    )


def status_body(request, job: ExportJob) -> dict:
    return render.export_status_body(
        job,
        url=request.build_absolute_uri(reverse("lcm-api:export", args=[job.pk])),
        file_url=request.build_absolute_uri(reverse("lcm-api:export-file", args=[job.pk])),
    )


def _job(request, job_id: str) -> ExportJob:
    job = export_jobs.get(job_id, request.user) if len(job_id) <= 18 else None
    if job is None:
        raise UnknownExport(errors.UNKNOWN_EXPORT.format(job_id=job_id))
    return job


SOME = (401, 403, 429, 500, 503)
EXPORT_ERRORS = {code: r for code, r in ERRORS.items() if code in SOME}
UNKNOWN = OpenApiResponse(Error, description="`unknown_export`")
JOB_ID = OpenApiParameter("job_id", str, OpenApiParameter.PATH, description="The export's id.",
                          pattern=r"^[0-9]{1,18}$")  # fmt: skip


class ExportListView(IntakeView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="export_list",
        tags=["dialer"],
        summary="Export a whole list as CSV, in the background",
        description=(
            "Answers 202 at once with the job's URL; poll it, then download `file_url`. "
            "The columns are those of the console's export (docs/dialer.md)."
        ),
        request=Export,
        responses={
            202: ExportStatus,
            400: ERRORS[400],
            406: ERRORS[406],
            **BODY_ERRORS,
            **EXPORT_ERRORS,
        },
        examples=[
            OpenApiExample("Accounts", value={"list": "accounts"}, request_only=True),
            examples.reply_example("Queued", examples.EXPORT_QUEUED, 202),
        ],
    )
    def post(self, request):
        valid = validated(Export, request.data)
        job = export_jobs.start(valid["list"], request.user)
        body = status_body(request, job)
        return Response(body, status=202, headers={"Location": body["url"]})


class ExportView(IntakeView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="export_status",
        tags=["dialer"],
        summary="An export's state and progress",
        parameters=[JOB_ID],
        responses={200: ExportStatus, 404: UNKNOWN, **EXPORT_ERRORS},
        examples=[
            examples.reply_example("Done", examples.EXPORT_DONE, 200),
            examples.reply_example("Unknown export", examples.UNKNOWN_EXPORT, 404),
        ],
    )
    def get(self, request, job_id):
        return Response(status_body(request, _job(request, job_id)))


class ExportFileView(IntakeView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="export_file",
        tags=["dialer"],
        summary="An export's CSV file, once it is done",
        parameters=[JOB_ID],
        responses={
            (200, "text/csv"): OpenApiResponse({"type": "string"}, description="The list"),
            404: UNKNOWN,
            409: OpenApiResponse(Error, description="Not done yet (`export_job_state`)"),
            410: OpenApiResponse(
                Error, description="Deleted after LCM_EXPORT_KEEP_HOURS (`export_expired`)"
            ),
            **EXPORT_ERRORS,
        },
        examples=[
            OpenApiExample(
                "CSV",
                value=examples.EXPORT_CSV,
                media_type="text/csv",
                response_only=True,
                status_codes=["200"],
            ),
            examples.reply_example("Not done yet", examples.EXPORT_NOT_READY, 409),
            examples.reply_example("Expired", examples.EXPORT_EXPIRED, 410),
        ],
    )
    def get(self, request, job_id):
        return render.export_file_response(_job(request, job_id))


class ExportResumeView(IntakeView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="export_resume",
        tags=["dialer"],
        summary="Resume an export whose worker was lost",
        description=(
            "For a job whose status says `resumable` (it failed, or its worker has been "
            "silent past LCM_IMPORT_JOB_STALE_SECONDS): queues it again, and it goes on "
            "from its last committed rows to the same file. No request body."
        ),
        parameters=[JOB_ID],
        request=None,
        responses={
            202: ExportStatus,
            404: UNKNOWN,
            409: OpenApiResponse(Error, description="Not resumable (`export_job_state`)"),
            **EXPORT_ERRORS,
        },
        examples=[
            examples.reply_example("Queued again", examples.EXPORT_RESUMED, 202),
            examples.reply_example("Not resumable", examples.EXPORT_NOT_RESUMABLE, 409),
        ],
    )
    def post(self, request, job_id):
        job = export_jobs.resume(_job(request, job_id), request.user)
        body = status_body(request, job)
        return Response(body, status=202, headers={"Location": body["url"]})
