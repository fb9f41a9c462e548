"""The auditors' read API: `GET /api/lcm/mode-changes/`, JSON or CSV.

Newest first, cursor-paginated (no COUNT, no deep OFFSET on a large log);
filtered by `lcm.audit_filters.ModeChangeFilter`. `?format=csv` or
`Accept: text/csv` streams every matching entry instead of a page.
Errors are plain DRF JSON (`{"detail": …}` or `{"<parameter>": […]}`),
whatever format was asked for.
"""

from __future__ import annotations

from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, renderers, serializers
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import exception_handler

from lcm.audit_export import csv_response
from lcm.audit_filters import FILTERS, ModeChangeFilter, newest_first
from lcm.models import ModeChange

from . import failures
from .policy import LcmApiPolicy

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


class NewestFirst(CursorPagination):
    ordering = "-seq"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_ordering(self, request, queryset, view):
        return tuple(newest_first(request.query_params))


class DeletedModeSerializer(serializers.Serializer):
    mode_id = serializers.IntegerField()
    number = serializers.CharField()


class ModeChangeSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account_number")
    agent = serializers.CharField(source="agent_code")
    mode = serializers.IntegerField(source="mode_id")
    deleted_modes = DeletedModeSerializer(many=True)
    reverts_seq = serializers.IntegerField(source="reverts.seq", allow_null=True, default=None)

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


class ModeChangeList(LcmApiPolicy, generics.ListAPIView):
    """The audit log, newest first."""

    permission_classes = [IsAuthenticated, CanViewModeChanges]
    renderer_classes = [renderers.JSONRenderer, CSVRenderer]
    serializer_class = ModeChangeSerializer
    pagination_class = NewestFirst
    filter_backends = [DjangoFilterBackend]
    filterset_class = ModeChangeFilter
    queryset = ModeChange.objects.select_related("reverts").order_by("-seq")

    @extend_schema(
        operation_id="mode_changes_list",
        summary="Read the audit log (auditors and supervisors)",
        description=(
            "Every change of a contact's modes, newest first, with the hash chain fields. "
            "Cursor-paginated: follow `next`. Filters combine (AND). With `?format=csv` or "
            "`Accept: text/csv` the answer is every matching entry as one streamed CSV file "
            "instead of a page. A filter value that does not parse, or names an unknown "
            "account, call or agent, gets a 400 naming the parameter. See docs/audit.md."
        ),
        parameters=[
            OpenApiParameter(
                name, _PARAMETER_TYPES.get(name, OpenApiTypes.STR), description=spec.help_text
            )
            for name, spec in FILTERS.items()
        ]
        + [
            OpenApiParameter(
                "format", OpenApiTypes.STR, enum=["json", "csv"], description="csv: stream a CSV."
            ),
        ],
        responses={
            (200, "application/json"): ModeChangeSerializer(many=True),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="Streamed CSV"),
            400: OpenApiResponse(description="A filter value is invalid (JSON, per parameter)"),
            401: OpenApiResponse(description="No or bad credentials"),
            403: OpenApiResponse(description="Not an auditor or supervisor"),
            406: OpenApiResponse(description="Accept names neither JSON nor CSV"),
            500: OpenApiResponse(description="Internal error (`internal_error`)"),
            503: OpenApiResponse(description="Database unavailable; see Retry-After"),
        },
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
        return self._render_exception

    def _render_exception(self, exc, context):
        response = exception_handler(exc, context)  # DRF's own errors, DRF's shape
        if response is not None:
            return response
        error, headers = failures.error_of(exc, context["request"])  # database, bug
        detail = ErrorDetail(error.message, code=error.code)
        return Response({"detail": detail, "code": error.code}, error.status, headers=headers)

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
