"""The auditors' read API: `GET /api/lcm/mode-changes/`, JSON or CSV, and
the proofs (an entry's inclusion proof, a consistency proof between two
signed checkpoints).

Newest first, cursor-paginated (no COUNT, no deep OFFSET on a large log);
filtered by `lcm.audit.filters.ModeChangeFilter`. `GET
/api/lcm/mode-changes/export/` streams every matching entry as CSV instead
of a page (its own operation in the schema, so a generated client reads it
as text); `?format=csv` or `Accept: text/csv` on the list does the same.
Errors are JSON ``{"code", "message"[, "fields"]}`` (`failures.json_error`),
whatever format was asked for, on every view (`AuditApi`).
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
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
)
from rest_framework import generics, renderers, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from lcm import errors
from lcm.audit.export import csv_response
from lcm.audit.filters import FILTERS, ModeChangeFilter, newest_first
from lcm.inputs import MAX_BIGINT, OutOfBounds, bounded_int, printable
from lcm.models import ModeChange
from lcm.replica import auditor_db, auditor_reads, check_auditor_db

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


class HHMM(serializers.RegexField):
    def __init__(self, **kwargs):
        super().__init__(r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$", **kwargs)


class ModeStateSerializer(serializers.Serializer):
    """A live mode's state as an audit entry records it (the keys of
    `lcm.actions.modes.STATE_KEYS`)."""

    number = serializers.CharField(help_text="The number, cleaned.")
    e164 = serializers.CharField(allow_blank=True, help_text='E.164 form, or "".')
    pewc = serializers.BooleanField(help_text="Written consent for this number.")
    pewc_source = serializers.CharField(allow_blank=True, help_text="Where the consent came from.")
    pewc_by = serializers.CharField(allow_blank=True, help_text="Who recorded the consent.")
    pewc_at = serializers.DateTimeField(allow_null=True, help_text="When, UTC; null if never.")
    time_zone = serializers.CharField(allow_blank=True, help_text="The callee's zone.")
    window = serializers.ListField(
        child=HHMM(),
        min_length=2,
        max_length=2,
        allow_null=True,
        help_text='The dialing window ["HH:MM", "HH:MM"], local to the callee; null if none.',
    )

    class Meta:
        ref_name = "ModeState"


class TouchedModeSerializer(serializers.Serializer):
    """One mode an entry touched: its state before and after (null: no live mode)."""

    mode_id = serializers.IntegerField()
    before = ModeStateSerializer(allow_null=True)
    after = ModeStateSerializer(allow_null=True)

    class Meta:
        ref_name = "TouchedMode"


class DoNotCallEventSerializer(serializers.Serializer):
    """A do-not-call block added (`block`: SetDNC, the console) or lifted
    (`lift`), as `lcm.actions.do_not_call` records it."""

    event = serializers.ChoiceField(choices=["block", "lift"])
    entry = serializers.IntegerField(help_text="The do-not-call list's row.")
    scope = serializers.ChoiceField(choices=["number", "contact"])
    number = serializers.CharField(allow_blank=True, help_text='The number; "" for a contact.')
    campaign = serializers.CharField(allow_blank=True, help_text='"": every campaign.')
    starts_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Block.")
    expires_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Block.")
    comments = serializers.CharField(required=False, allow_blank=True, help_text="Block.")
    live_modes_flagged = serializers.IntegerField(
        required=False, help_text="Block: live modes it flagged when added."
    )
    blocked_by = serializers.CharField(required=False, allow_blank=True, help_text="Lift.")
    blocked_callid = serializers.CharField(required=False, allow_blank=True, help_text="Lift.")
    reason = serializers.CharField(required=False, allow_blank=True, help_text="Lift: why.")

    class Meta:
        ref_name = "DoNotCallEvent"


class CallbackEventSerializer(serializers.Serializer):
    """A callback scheduled, done, cancelled or reassigned, with the callback
    as it then stood (`lcm.actions.callbacks`)."""

    event = serializers.ChoiceField(choices=["scheduled", "done", "cancelled", "reassigned"])
    id = serializers.IntegerField(help_text="The callback.")
    kind = serializers.ChoiceField(choices=["regular", "personal"])
    number = serializers.CharField(allow_blank=True)
    start = serializers.DateTimeField(allow_null=True, help_text="The window, UTC.")
    end = serializers.DateTimeField(allow_null=True, help_text="The window, UTC.")
    time_zone = serializers.CharField(allow_blank=True)
    agent = serializers.CharField(allow_blank=True, help_text="The callback's agent.")
    comments = serializers.CharField(allow_blank=True)
    # Text, not an enum: a third `state` enum would make drf-spectacular rename
    # the dialer's CallbackState one (StateEnum), breaking generated clients.
    state = serializers.CharField(help_text="After the event: scheduled, done or cancelled.")
    outcome = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(required=False, allow_blank=True, help_text="Cancelled: why.")
    from_agent = serializers.CharField(
        required=False, allow_blank=True, help_text="Reassigned: the agent before."
    )

    class Meta:
        ref_name = "CallbackEvent"


@extend_schema_field({"type": ["object", "null"], "additionalProperties": True})
class SettingsField(serializers.JSONField):
    """A record's settings, as the entry keeps them (null: none, before a
    creation or after a removal)."""


class CampaignDetailsSerializer(serializers.Serializer):
    """A supervisor saved a campaign (`lcm.actions.campaigns`)."""

    campaign = serializers.CharField(help_text="Its CampaignID.")
    before = SettingsField(help_text="Its settings, modes, outcomes and fields; null: created.")
    after = SettingsField(help_text="The same, after the save.")
    reason = serializers.CharField(allow_blank=True, help_text="The supervisor's reason.")

    class Meta:
        ref_name = "CampaignDetails"


class StateLawDetailsSerializer(serializers.Serializer):
    """A supervisor saved or removed a state calling rule (`lcm.actions.compliance`)."""

    state_law = serializers.CharField(help_text="The state, e.g. TX.")
    before = SettingsField(help_text="The rule with its barred dates; null: added.")
    after = SettingsField(help_text="The same, after; null: removed.")

    class Meta:
        ref_name = "StateLawDetails"


class OutcomeChangeSerializer(serializers.Serializer):
    callid = serializers.CharField()
    before = SettingsField(help_text="The call's outcome before; null: the first.")
    after = SettingsField(help_text="The call's outcome after (no comments: personal data).")

    class Meta:
        ref_name = "OutcomeChange"


class OutcomeDetailsSerializer(serializers.Serializer):
    """A call's outcome set or replaced (`lcm.actions.outcomes`)."""

    outcome = OutcomeChangeSerializer()

    class Meta:
        ref_name = "OutcomeDetails"


class AgentStateDetailsSerializer(serializers.Serializer):
    """SendAgentState changed an agent's state, or its logout ended it
    (`lcm.actions.calls`)."""

    agent = serializers.CharField(help_text="The AgentID.")
    before = serializers.CharField(allow_null=True, help_text="null: never sent before.")
    after = serializers.CharField(
        allow_null=True,
        help_text="READY, NOT_READY, TALKING or WORK; null: the agent logged out (its "
        "session, and so its state, ended).",
    )

    class Meta:
        ref_name = "AgentStateDetails"


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="AuditDetails",
        serializers=[
            CampaignDetailsSerializer,
            StateLawDetailsSerializer,
            OutcomeDetailsSerializer,
            AgentStateDetailsSerializer,
        ],
        resource_type_field_name=None,
    )
)
class DetailsField(serializers.JSONField):
    """An entry's `details` as stored: by its action (campaign, state_law,
    outcome, agent_state), null on the others. Not personal data: an
    erasure keeps it (docs/audit.md)."""


class BusinessFieldChangeSerializer(serializers.Serializer):
    """One business field an agent changed (SetContactBusinessFields)."""

    FieldName = serializers.CharField()  # the vendor's name
    before = serializers.CharField(allow_blank=True, help_text='"": it had no value.')
    after = serializers.CharField(allow_blank=True, help_text='"": cleared.')

    class Meta:
        ref_name = "BusinessFieldChange"


class AccountNumberField(serializers.CharField):
    """The account's LCM key; null on an entry that names no account (a
    list-wide do-not-call block added in the console)."""

    def __init__(self, **kwargs):
        super().__init__(allow_null=True, **kwargs)

    def get_attribute(self, instance):
        return instance.account_number if instance.account_id is not None else None


class ModeChangeSerializer(serializers.ModelSerializer):
    account = AccountNumberField(help_text="The account's LCM key; null when none.")
    agent = serializers.CharField(source="agent_code")
    mode = serializers.IntegerField(source="mode_id")
    deleted_modes = DeletedModeSerializer(many=True)
    # Always sent: null unless the entry is a revert.
    reverts_seq = serializers.IntegerField(source="reverts.seq", allow_null=True)
    # The whole entry, always sent: null where the entry has none.
    modes = TouchedModeSerializer(
        many=True,
        allow_null=True,
        help_text="Every mode the change touched, before and after; null on entries "
        "written before it was recorded.",
    )
    do_not_call = DoNotCallEventSerializer(
        allow_null=True, help_text="The block added or lifted; null on other entries."
    )
    callback = CallbackEventSerializer(
        allow_null=True, help_text="The callback event; null on other entries."
    )
    details = DetailsField(
        allow_null=True,
        help_text="A campaign, state calling rule, call outcome or agent state entry's "
        "before and after; null on other entries. Kept by an erasure (not personal data).",
    )
    business_fields = BusinessFieldChangeSerializer(
        many=True,
        allow_null=True,
        help_text="A business fields entry's fields, each before and after: the contact's "
        "personal data, null once erased (as its numbers are emptied) and on other entries.",
    )
    erased = serializers.SerializerMethodField(
        help_text='In place of the personal fields once erased: "erased on <date> by <user> '
        '(entry #<seq>): <reason>"; on an `erase` entry, what it erased and why; else null.'
    )

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
            "erased",
            "prev_hash",
            "hash",
            "modes",
            "do_not_call",
            "callback",
            "details",
            "business_fields",
        ]
        read_only_fields = fields

    def get_erased(self, obj) -> str | None:
        from lcm.actions.erasure import marker

        return marker(obj)


_PARAMETER_TYPES = {"mode": OpenApiTypes.INT}
FILTER_PARAMETERS = [
    OpenApiParameter(name, _PARAMETER_TYPES.get(name, OpenApiTypes.STR), description=spec.help_text)
    for name, spec in FILTERS.items()
]
_ERROR_DESCRIPTIONS = {
    400: "A filter value is invalid (`invalid_fields`, per parameter)",
    401: "No or bad credentials",
    403: "Not an auditor or supervisor (`forbidden`)",
    404: "Not found",
    405: "Any method but GET",
    406: "Accept names neither JSON nor CSV",
    409: "Conflict",
    429: "Token over its rate",
    500: "Internal error (`internal_error`)",
    503: "Database unavailable (`database_unavailable`); see Retry-After",
}


def audit_errors(*codes: int, **described: str) -> dict:
    """The auditors' API's error responses for `codes`: `Error`, as JSON
    whatever was asked for (said per status, or the CSV type is assumed);
    `s404="..."` overrides a status's description."""
    return {
        (code, "application/json"): OpenApiResponse(
            Error, description=described.get(f"s{code}", _ERROR_DESCRIPTIONS[code])
        )
        for code in codes
    }


# A JSON read of the log that answers with proofs (an entry's, an as-of
# answer's): its statuses, 409 `not_checkpointed` while no signed checkpoint
# covers what it proves.
PROOF_READ_CODES = (400, 401, 403, 404, 405, 406, 409, 429, 500, 503)


def proof_read_responses(serializer, **described: str) -> dict:
    """The `responses` of such a read: `serializer` at 200 (JSON only) and
    `audit_errors` of PROOF_READ_CODES, each `s<code>=` describing its own."""
    return {
        (200, "application/json"): serializer,
        **audit_errors(*PROOF_READ_CODES, **{"s406": "Accept does not name JSON", **described}),
    }


class AuditApi(LcmApiPolicy):
    """What every view of the auditors' API shares: auditors and supervisors
    only, errors as `failures.json_error` whatever format was asked for, an
    unknown `format` a 400."""

    permission_classes = [IsAuthenticated, CanViewModeChanges]
    schema = AuditAutoSchema()

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
        check_auditor_db()  # a replica down or too far behind: 503, before any read

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response) and response.status_code >= 400:
            # Errors are JSON even when CSV was asked for.
            response.accepted_renderer = renderers.JSONRenderer()
            response.accepted_media_type = "application/json"
        return response


class ModeChangeList(AuditApi, generics.ListAPIView):
    """The audit log, newest first."""

    renderer_classes = [renderers.JSONRenderer, CSVRenderer]
    serializer_class = ModeChangeSerializer
    pagination_class = NewestFirst
    filter_backends = [DjangoFilterBackend]
    filterset_class = ModeChangeFilter
    queryset = ModeChange.objects.select_related("reverts", "erased_by").order_by("-seq")

    @extend_schema(
        tags=["audit"],
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
            **audit_errors(400, 401, 403, 405, 406, 429, 500, 503),
        },
        examples=[
            # drf-spectacular wraps it in a page
            examples.reply_example("A page", examples.MODE_CHANGE, 200),
            examples.reply_example("Not an auditor", examples.NOT_AN_AUDITOR, 403),
            examples.reply_example("Bad date", examples.BAD_SINCE, 400),
        ],
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


class ModeChangeExport(ModeChangeList):
    """The same entries as one streamed CSV file, whatever `Accept` says."""

    pagination_class = None

    @extend_schema(
        tags=["audit"],
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
            **audit_errors(400, 401, 403, 405, 429, 500, 503),
        },
        examples=[
            OpenApiExample(
                "CSV",
                value=examples.MODE_CHANGES_CSV,
                media_type="text/csv",
                response_only=True,
                status_codes=["200"],
            ),
            examples.reply_example("Not an auditor", examples.NOT_AN_AUDITOR, 403),
        ],
    )
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    def perform_content_negotiation(self, request, force=False):
        return (CSVRenderer(), CSVRenderer.media_type)


# --- Proofs -----------------------------------------------------------------------


class CheckpointSerializer(serializers.Serializer):
    """A signed checkpoint as the witness, the API and tools/verify_proof.py see
    it (`lcm.audit.checkpoints.as_json`)."""

    log = serializers.CharField(help_text="The log's name, signed with the rest.")
    tree_size = serializers.IntegerField(help_text="Entries #1 to #tree_size.")
    root_hash = serializers.CharField(help_text="RFC 6962 Merkle root, hex.")
    head_hash = serializers.CharField(help_text="The `hash` of entry #tree_size.")
    timestamp = serializers.CharField(help_text="When it was signed, UTC.")
    key_id = serializers.CharField(help_text="Which signing key (its public key's digest).")
    signature = serializers.CharField(help_text="Ed25519 over the checkpoint body, base64.")

    class Meta:
        ref_name = "Checkpoint"


@extend_schema_field(
    {
        "description": "Format 1: the value (a string, a list or an object). Format 2: "
        "its salted SHA-256 digest, hex. Absent in formats 3 and 4 (`personal_digest` seals "
        "them)."
    }
)
class SealedField(serializers.JSONField):
    """A personal field in the hashed entry: the value, or its digest."""


class CanonicalEntrySerializer(serializers.Serializer):
    """An entry's chained fields exactly as hashed (`lcm.audit.canonical_bytes`):
    formats 1 and 2, SHA-256 of their canonical JSON is the entry's `hash`
    (`modes`, `do_not_call` and `callback` absent when null: entries sealed
    without them keep their bytes); formats 3 and 4 (`v` 3 or 4), SHA-256 of
    their byte layout (docs/audit.md, "Format 3", "Format 4"), every field
    present, the personal ones sealed together as `personal_digest`."""

    seq = serializers.IntegerField()
    created_at = serializers.CharField(help_text="UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ.")
    action = serializers.CharField()
    account_id = serializers.IntegerField(allow_null=True)
    account_number = serializers.CharField(allow_blank=True)
    call_id = serializers.IntegerField(allow_null=True)
    callid = serializers.CharField(allow_blank=True)
    agent_id = serializers.IntegerField(allow_null=True)
    agent_code = serializers.CharField(allow_blank=True)
    user_id = serializers.IntegerField(allow_null=True)
    username = serializers.CharField(allow_blank=True)
    source = serializers.CharField(allow_blank=True)
    mode_id = serializers.IntegerField()
    # The contact's personal fields: the values in format 1, their salted
    # digests (hex) in format 2 (`v` 2), whatever their type (docs/audit.md);
    # absent in formats 3 and 4, where `personal_digest` seals them together.
    old_number = SealedField(required=False)
    new_number = SealedField(required=False)
    new_number_e164 = SealedField(required=False)
    deleted_modes = SealedField(required=False)
    modes = SealedField(required=False)
    do_not_call = SealedField(required=False)
    reverts_id = serializers.IntegerField(allow_null=True)
    callback = SealedField(required=False)
    business_fields = SealedField(
        required=False,
        help_text="Absent in every format 1 and 2 entry (null there, as before it existed) "
        "and in formats 3 and 4 (format 4 seals it in `personal_digest`).",
    )
    client_ip = serializers.CharField(allow_null=True)
    request_id = serializers.CharField(allow_blank=True)
    erasure = serializers.DictField(
        required=False, allow_null=True, help_text="On an erase entry: its record."
    )
    details = DetailsField(
        required=False,
        allow_null=True,
        help_text="On a campaign, state calling rule, call outcome or agent state entry: its "
        "before and after (as in the list); absent (formats 1, 2) or null (3, 4) on others.",
    )
    personal_digest = serializers.CharField(
        required=False,
        help_text="Formats 3 and 4: HMAC-SHA256 (key: the entry's secret) of its personal "
        "fields' layout, hex.",
    )
    prev_hash = serializers.CharField()
    v = serializers.IntegerField(
        required=False,
        help_text="2: personal fields as digests; 3: byte layouts, one personal digest; 4: "
        "the same with business_fields in the personal digest.",
    )

    class Meta:
        ref_name = "CanonicalEntry"


class PersonalValueSerializer(serializers.Serializer):
    value = SealedField(help_text="The field's value, as the entry holds it.")
    salt = serializers.CharField(
        help_text="Format 2: the field's salt, hex: sha256(salt || value) is its digest. "
        "Formats 3 and 4: the entry's secret, hex, the same for every field: HMAC-SHA256 "
        "keyed with it over the personal layout is `personal_digest`."
    )

    class Meta:
        ref_name = "PersonalValue"


class ModeChangeProofSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    hash = serializers.CharField(help_text="The entry's hash, hex.")
    entry = CanonicalEntrySerializer(
        allow_null=True, help_text="null: a format 1 entry whose values were erased."
    )
    content_erased = serializers.BooleanField(
        required=False, help_text="true when `entry` is null: only the hash is proved."
    )
    personal = serializers.DictField(
        child=PersonalValueSerializer(),
        required=False,
        help_text="Formats 2 to 4: each personal field's value and salt (absent once erased).",
    )
    erased = serializers.CharField(
        required=False, help_text='"erased on <date> by <user> (entry #<seq>): <reason>".'
    )
    leaf_index = serializers.IntegerField(help_text="seq - 1.")
    tree_size = serializers.IntegerField(help_text="The checkpoint's tree size.")
    inclusion_proof = serializers.ListField(
        child=serializers.CharField(), help_text="RFC 6962 audit path, hex, leaf side first."
    )
    checkpoint = CheckpointSerializer()

    class Meta:
        ref_name = "ModeChangeProof"


class ConsistencyProofSerializer(serializers.Serializer):
    first = CheckpointSerializer()
    second = CheckpointSerializer()
    consistency_proof = serializers.ListField(
        child=serializers.CharField(), help_text="RFC 6962 consistency proof, hex."
    )

    class Meta:
        ref_name = "ConsistencyProof"


class _AuditReadView(AuditApi, generics.GenericAPIView):
    """JSON only, auditors and supervisors, errors in this API's shape;
    `get` reads from the auditors' database (lcm.replica)."""

    renderer_classes = [renderers.JSONRenderer]


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
        tags=["audit"],
        operation_id="mode_change_proof",
        summary="An entry with its inclusion proof and signed checkpoint (auditors)",
        description=(
            "The entry's canonical fields (`entry`: SHA-256 of their canonical JSON is `hash`), "
            "its RFC 6962 inclusion proof (`inclusion_proof`, leaf-side first; the leaf is "
            "SHA-256(0x00 ‖ hash bytes), leaf index seq-1) in the tree of the latest signed "
            "`checkpoint`. Check it offline with tools/verify_proof.py and the public key. "
            "409 `not_checkpointed` while no checkpoint covers the entry yet. See docs/audit.md."
        ),
        responses=proof_read_responses(
            ModeChangeProofSerializer,
            s400="`format` names no JSON (`invalid_fields`)",
            s404="No entry with this seq (`unknown_mode_change`)",
            s409="No signed checkpoint covers this entry yet (`not_checkpointed`)",
        ),
        examples=[
            examples.reply_example("A proof", examples.MODE_CHANGE_PROOF, 200),
            examples.reply_example("Unknown entry", examples.UNKNOWN_ENTRY, 404),
            examples.reply_example("Not yet signed", examples.NOT_CHECKPOINTED, 409),
        ],
    )
    @auditor_reads()
    def get(self, request, seq: str):
        from lcm.audit import checkpoints

        number = _seq(seq)
        entry = (
            ModeChange.objects.select_related("erased_by").filter(seq=number).first()
            if number
            else None
        )
        if entry is None:
            raise errors.UnknownModeChange(errors.UNKNOWN_MODE_CHANGE.format(ref=f"#{_shown(seq)}"))
        checkpoint = checkpoints.covering_checkpoint(entry.seq)
        if checkpoint is None:
            raise errors.NotCheckpointed(errors.NOT_CHECKPOINTED.format(seq=entry.seq))
        proof = checkpoints.proved_entry(entry)
        return Response(
            {
                **proof,
                "leaf_index": entry.seq - 1,
                "tree_size": checkpoint.tree_size,
                "inclusion_proof": checkpoints.inclusion_proof(entry.seq, checkpoint),
                "checkpoint": checkpoints.as_json(checkpoint),
            }
        )


class CheckpointConsistency(_AuditReadView):
    """Two signed checkpoints and the proof that the later extends the earlier."""

    @extend_schema(
        tags=["audit"],
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
            (200, "application/json"): ConsistencyProofSerializer,
            **audit_errors(
                400,
                401,
                403,
                404,
                405,
                406,
                429,
                500,
                503,
                s400="A size is missing or not a number, or first > second (`invalid_fields`)",
                s406="Accept does not name JSON",
                s404="No checkpoint of that size (`unknown_checkpoint`)",
            ),
        },
        examples=[
            examples.reply_example("A proof", examples.CONSISTENCY_PROOF, 200),
            examples.reply_example("No first", examples.FIRST_REQUIRED, 400),
            examples.reply_example("Unknown checkpoint", examples.UNKNOWN_CHECKPOINT, 404),
        ],
    )
    @auditor_reads()
    def get(self, request):
        from lcm.audit import checkpoints
        from lcm.models import AuditCheckpoint

        sizes = {}
        for name in ("first", "second"):
            value = request.query_params.get(name)
            if value is None and name == "second":
                continue
            if value is None:
                raise ValidationError({name: [errors.PARAMETER_REQUIRED]})
            sizes[name] = _seq(value)
            if sizes[name] is None:
                raise ValidationError({name: [errors.NOT_A_TREE_SIZE.format(value=_shown(value))]})
        found = {}
        for name in ("first", "second"):
            query = AuditCheckpoint.objects.order_by("-tree_size")
            if name in sizes:
                query = query.filter(tree_size=sizes[name])
            found[name] = query.first()
            if found[name] is None:
                raise errors.UnknownCheckpoint(
                    errors.UNKNOWN_CHECKPOINT.format(size=sizes[name])
                    if name in sizes
                    else errors.NO_CHECKPOINT_YET
                )
        first, second = found["first"], found["second"]
        if first.tree_size > second.tree_size:
            raise ValidationError({"first": [errors.FIRST_AFTER_SECOND]})
        return Response(
            {
                "first": checkpoints.as_json(first),
                "second": checkpoints.as_json(second),
                "consistency_proof": checkpoints.consistency_proof(first, second),
            }
        )
