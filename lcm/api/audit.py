"""The auditors' read API: `GET /api/lcm/mode-changes/`, JSON or CSV.

Newest first, cursor-paginated (no COUNT, no deep OFFSET on a large log);
filtered by `lcm.audit_filters.ModeChangeFilter`. `GET
/api/lcm/mode-changes/export/` streams every matching entry as CSV instead
of a page (its own operation in the schema, so a generated client reads it
as text); `?format=csv` or `Accept: text/csv` on the list does the same.
Errors are JSON ``{"code", "message"[, "fields"]}`` (`failures.json_error`),
whatever format was asked for.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import generics, renderers, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from lcm.audit_export import csv_response
from lcm.audit_filters import FILTERS, ModeChangeFilter, newest_first
from lcm.models import ModeChange

from . import examples, failures
from .policy import LcmApiPolicy
from .schema import AuditAutoSchema, Error

VIEW_MODE_CHANGES = "lcm.view_modechange"
UNKNOWN_FORMAT = "Use format=json or format=csv."


class CanViewModeChanges(BasePermission):
    """Auditors and supervisors (their groups hold `lcm.view_modechange`)."""

    message = "Only auditors and supervisors may read the audit log."

    def has_permission(self, request, view):
        return request.user.has_perm(VIEW_MODE_CHANGES)


class CSVRenderer(renderers.BaseRenderer):
    """Chosen by `?format=csv` or `Accept: text/csv`; the view streams the
    body itself, so this renders nothing but what it is handed."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


def _cursor_of(link: str | None) -> str | None:
    return parse_qs(urlsplit(link).query).get("cursor", [None])[0] if link else None


class NewestFirst(CursorPagination):
    """Cursor pages; each carries its cursors (`next_cursor`,
    `previous_cursor`) beside the links, for clients that take the
    `cursor` parameter rather than a URL."""

    ordering = "-seq"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_ordering(self, request, queryset, view):
        return tuple(newest_first(request.query_params))

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:  # a bad parameter, not a missing resource
            raise ValidationError(
                {self.cursor_query_param: [self.invalid_cursor_message]}
            ) from None

    def get_paginated_response(self, data):
        next_link, previous_link = self.get_next_link(), self.get_previous_link()
        return Response(
            {
                "next": next_link,
                "previous": previous_link,
                "next_cursor": _cursor_of(next_link),
                "previous_cursor": _cursor_of(previous_link),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        def link(description):
            return {
                "type": ["string", "null"],
                "format": "uri",
                "description": description,
                "example": None,
            }

        def cursor(description):
            return {"type": ["string", "null"], "description": description, "example": None}

        return {
            "type": "object",
            "required": ["next", "previous", "next_cursor", "previous_cursor", "results"],
            "properties": {
                "next": link("The next (older) page's URL; null on the last page."),
                "previous": link("The previous (newer) page's URL; null on the first."),
                "next_cursor": cursor("The `cursor` parameter of the next page, or null."),
                "previous_cursor": cursor("The `cursor` parameter of the previous page, or null."),
                "results": schema,
            },
        }


class DeletedModeSerializer(serializers.Serializer):
    mode_id = serializers.IntegerField()
    number = serializers.CharField()


class ModeChangeSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account_number")
    agent = serializers.CharField(source="agent_code")
    mode = serializers.IntegerField(source="mode_id")
    deleted_modes = DeletedModeSerializer(many=True)
    # Always sent: null unless the entry is a revert.
    reverts_seq = serializers.IntegerField(source="reverts.seq", allow_null=True)

    class Meta:
        model = ModeChange
        fields = [
            "seq",
            "created_at",
            "action",
            "account",
            "callid",
            "agent",
            "username",
            "source",
            "mode",
            "old_number",
            "new_number",
            "new_number_e164",
            "deleted_modes",
            "reverts_seq",
            "client_ip",
            "request_id",
            "prev_hash",
            "hash",
        ]
        read_only_fields = fields


_PARAMETER_TYPES = {"mode": OpenApiTypes.INT}
FILTER_PARAMETERS = [
    OpenApiParameter(name, _PARAMETER_TYPES.get(name, OpenApiTypes.STR), description=spec.help_text)
    for name, spec in FILTERS.items()
]
AUDIT_ERRORS = {  # JSON whatever was asked for: said per status, or the CSV type is assumed
    code: ((code, "application/json"), OpenApiResponse(Error, description=description))
    for code, description in {
        400: "A filter value is invalid (`invalid_fields`, per parameter)",
        401: "No or bad credentials",
        403: "Not an auditor or supervisor (`forbidden`)",
        405: "Any method but GET",
        406: "Accept names neither JSON nor CSV",
        429: "Token over its rate",
        500: "Internal error (`internal_error`)",
        503: "Database unavailable (`database_unavailable`); see Retry-After",
    }.items()
}


class ModeChangeList(LcmApiPolicy, generics.ListAPIView):
    """The audit log, newest first."""

    permission_classes = [IsAuthenticated, CanViewModeChanges]
    renderer_classes = [renderers.JSONRenderer, CSVRenderer]
    serializer_class = ModeChangeSerializer
    pagination_class = NewestFirst
    filter_backends = [DjangoFilterBackend]
    filterset_class = ModeChangeFilter
    queryset = ModeChange.objects.select_related("reverts").order_by("-seq")
    schema = AuditAutoSchema()

    @extend_schema(
        operation_id="mode_changes_list",
        summary="Read the audit log (auditors and supervisors)",
        description=(
            "Every change of a contact's modes, newest first, with the hash chain fields. "
            "Cursor-paginated: pass a page's `next_cursor` as `cursor` (or follow `next`) "
            "until it is null. Filters combine (AND). The same entries as one CSV file: "
            "`mode_changes_export`. A filter value that does not parse, or names an unknown "
            "account, call or agent, gets a 400 naming the parameter. See docs/audit.md."
        ),
        parameters=FILTER_PARAMETERS,
        responses={
            (200, "application/json"): ModeChangeSerializer(many=True),
            **dict(AUDIT_ERRORS[code] for code in (400, 401, 403, 405, 406, 429, 500, 503)),
        },
        examples=[
            OpenApiExample(
                "A page",
                value=examples.MODE_CHANGE,  # drf-spectacular wraps it in a page
                response_only=True,
                status_codes=["200"],
            ),
            OpenApiExample(
                "Not an auditor",
                value=examples.NOT_AN_AUDITOR,
                response_only=True,
                status_codes=["403"],
            ),
            OpenApiExample(
                "Bad date", value=examples.BAD_SINCE, response_only=True, status_codes=["400"]
            ),
        ],
    )
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        if request.accepted_renderer.format == CSVRenderer.format:
            return csv_response(queryset.order_by(*newest_first(request.query_params)))
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def get_exception_handler(self):
        return failures.json_error

    unknown_format = False

    def perform_content_negotiation(self, request, force=False):
        # DRF answers an unknown ?format= with a 404; it is a bad parameter,
        # refused (400) once the caller is known to be allowed (`initial`).
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:
            self.unknown_format = True
            return (renderers.JSONRenderer(), renderers.JSONRenderer.media_type)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication, permissions
        if self.unknown_format:
            raise ValidationError({"format": [UNKNOWN_FORMAT]})

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response) and response.status_code >= 400:
            # Errors are JSON even when CSV was asked for.
            response.accepted_renderer = renderers.JSONRenderer()
            response.accepted_media_type = "application/json"
        return response


class ModeChangeExport(ModeChangeList):
    """The same entries as one streamed CSV file, whatever `Accept` says."""

    pagination_class = None

    @extend_schema(
        operation_id="mode_changes_export",
        summary="Export the audit log as CSV (auditors and supervisors)",
        description=(
            "Every entry matching the filters, newest first, as one streamed CSV file "
            "(no pagination; the columns are those of `mode_changes_list`). Errors are "
            "JSON. See docs/audit.md, CSV export."
        ),
        parameters=FILTER_PARAMETERS,
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The CSV file"),
            **dict(AUDIT_ERRORS[code] for code in (400, 401, 403, 405, 429, 500, 503)),
        },
        examples=[
            OpenApiExample(
                "CSV",
                value=examples.MODE_CHANGES_CSV,
                media_type="text/csv",
                response_only=True,
                status_codes=["200"],
            ),
            OpenApiExample(
                "Not an auditor",
                value=examples.NOT_AN_AUDITOR,
                response_only=True,
                status_codes=["403"],
            ),
        ],
    )
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    def perform_content_negotiation(self, request, force=False):
        return (CSVRenderer(), CSVRenderer.media_type)
