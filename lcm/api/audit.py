"""The auditors' read API: `GET /api/lcm/mode-changes/`, JSON or CSV.

Newest first, cursor-paginated (no COUNT, no deep OFFSET on a large log);
filtered by `lcm.audit_filters.ModeChangeFilter`. `?format=csv` or
`Accept: text/csv` streams every matching entry instead of a page.
Errors are plain DRF JSON (`{"detail": …}` or `{"<parameter>": […]}`),
whatever format was asked for.
"""

from __future__ import annotations

import json

from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, renderers, serializers
from rest_framework.exceptions import ErrorDetail, NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import exception_handler

from lcm.audit_export import csv_response
from lcm.audit_filters import FILTERS, ModeChangeFilter, newest_first
from lcm.inputs import MAX_BIGINT, OutOfBounds, bounded_int, printable
from lcm.models import ModeChange
from lcm.replica import auditor_db, auditor_reads

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

    def get_queryset(self):
        # The auditors' read replica, when there is one (lcm.replica): the
        # streamed CSV reads after this view returns, so the queryset itself
        # names its database.
        return super().get_queryset().using(auditor_db())

    def list(self, request, *args, **kwargs):
        with auditor_reads():
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


# --- Proofs -----------------------------------------------------------------------


class _AuditReadView(LcmApiPolicy, generics.GenericAPIView):
    """JSON only, auditors and supervisors, errors in this API's shape;
    `get` reads from the auditors' database (lcm.replica)."""

    permission_classes = [IsAuthenticated, CanViewModeChanges]
    renderer_classes = [renderers.JSONRenderer]
    get_exception_handler = ModeChangeList.get_exception_handler
    _render_exception = ModeChangeList._render_exception


_READ_ERRORS = {
    401: OpenApiResponse(description="No or bad credentials"),
    403: OpenApiResponse(description="Not an auditor or supervisor"),
    406: OpenApiResponse(description="Accept does not name JSON"),
    500: OpenApiResponse(description="Internal error (`internal_error`)"),
    503: OpenApiResponse(description="Database unavailable; see Retry-After"),
}


def _not_checkpointed(message: str) -> Response:
    return Response({"detail": message, "code": "not_checkpointed"}, 409)


def _seq(value: str) -> int | None:
    """A positive 64-bit number, or None: never a database error or a 500
    (lcm.inputs counts the digits before converting)."""
    try:
        return bounded_int(value, minimum=1, maximum=MAX_BIGINT)
    except OutOfBounds:
        return None


def _shown(value: str) -> str:
    """A client's value, safe and short enough to echo in an error."""
    shown = printable(value)
    return shown if len(shown) <= 40 else shown[:40] + "…"


class ModeChangeProof(_AuditReadView):
    """One entry, its inclusion proof and the signed checkpoint it is in."""

    @extend_schema(
        operation_id="mode_change_proof",
        summary="An entry with its inclusion proof and signed checkpoint (auditors)",
        description=(
            "The entry's canonical fields (`entry`: SHA-256 of their canonical JSON is `hash`), "
            "its RFC 6962 inclusion proof (`inclusion_proof`, leaf-side first; the leaf is "
            "SHA-256(0x00 ‖ hash bytes), leaf index seq-1) in the tree of the latest signed "
            "`checkpoint`. Check it offline with tools/verify_proof.py and the public key. "
            "409 `not_checkpointed` while no checkpoint covers the entry yet. See docs/audit.md."
        ),
        responses={
            **_READ_ERRORS,
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="Entry, proof, checkpoint"),
            404: OpenApiResponse(description="No entry with this seq"),
            409: OpenApiResponse(description="No signed checkpoint covers this entry yet"),
        },
    )
    @auditor_reads()
    def get(self, request, seq: str):
        from lcm import checkpoints
        from lcm.audit import canonical_bytes

        number = _seq(seq)
        entry = ModeChange.objects.filter(seq=number).first() if number else None
        if entry is None:
            raise NotFound(f"There is no audit entry #{_shown(seq)}.")
        checkpoint = checkpoints.covering_checkpoint(entry.seq)
        if checkpoint is None:
            return _not_checkpointed(
                f"No signed checkpoint covers entry #{entry.seq} yet: one is made every "
                "LCM_AUDIT_CHECKPOINT_EVERY entries or LCM_AUDIT_CHECKPOINT_MINUTES minutes."
            )
        return Response(
            {
                "seq": entry.seq,
                "hash": entry.hash,
                "entry": json.loads(canonical_bytes(entry)),
                "leaf_index": entry.seq - 1,
                "tree_size": checkpoint.tree_size,
                "inclusion_proof": checkpoints.inclusion_proof(entry.seq, checkpoint),
                "checkpoint": checkpoints.as_json(checkpoint),
            }
        )


class CheckpointConsistency(_AuditReadView):
    """Two signed checkpoints and the proof that the later extends the earlier."""

    @extend_schema(
        operation_id="audit_checkpoint_consistency",
        summary="Consistency proof between two signed checkpoints (auditors)",
        description=(
            "`first` and `second` are the tree sizes of two checkpoints (`second` defaults to "
            "the latest). The RFC 6962 consistency proof shows that the first `first` entries "
            "are unchanged in the later tree. Check it with tools/verify_proof.py."
        ),
        parameters=[
            OpenApiParameter("first", OpenApiTypes.INT, required=True),
            OpenApiParameter("second", OpenApiTypes.INT),
        ],
        responses={
            **_READ_ERRORS,
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="Both checkpoints, proof"),
            400: OpenApiResponse(description="A size is not a number, or first > second"),
            404: OpenApiResponse(description="No checkpoint of that size"),
        },
    )
    @auditor_reads()
    def get(self, request):
        from lcm import checkpoints
        from lcm.models import AuditCheckpoint

        sizes = {}
        for name in ("first", "second"):
            value = request.query_params.get(name)
            if value is None and name == "second":
                continue
            if value is None:
                raise ValidationError({name: ["This parameter is required."]})
            sizes[name] = _seq(value)
            if sizes[name] is None:
                raise ValidationError(
                    {name: [f"'{_shown(value)}' is not a checkpoint's tree size."]}
                )
        found = {}
        for name in ("first", "second"):
            query = AuditCheckpoint.objects.order_by("-tree_size")
            if name in sizes:
                query = query.filter(tree_size=sizes[name])
            found[name] = query.first()
            if found[name] is None:
                raise NotFound(f"There is no signed checkpoint #{sizes.get(name, '')}.")
        first, second = found["first"], found["second"]
        if first.tree_size > second.tree_size:
            raise ValidationError({"first": ["The first checkpoint must not be the later one."]})
        return Response(
            {
                "first": checkpoints.as_json(first),
                "second": checkpoints.as_json(second),
                "consistency_proof": checkpoints.consistency_proof(first, second),
            }
        )
