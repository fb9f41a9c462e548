"""The dialer's side of callbacks (dialable-modes.md section 4, ours).

`GET /api/lcm/callbacks/due/` lists the scheduled callbacks whose window is
open now and that need no supervisor's attention, oldest first, paged
(`offset`, `limit` ≤ 100). `POST /api/lcm/callbacks/<id>/done/` (with an
`Outcome`) and `…/cancel/` (with an optional `Reason`) close one; both
are safe to repeat. Only holders of `lcm.manage_callbacks` (the "Dialer
integration" group). Errors as every JSON API but the envelope: ``{"code", "message"[,
"fields"]}`` (`lcm.api.schema.Error`).
"""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from lcm import errors, inputs
from lcm.actions import RequestContext, callbacks
from lcm.models import Callback

from . import examples
from .intake import BODY_ERRORS, ERRORS, IntakeView, validated
from .schema import Error
from .serializers import NO_NUL, NON_BLANK, StrictCharField


class DoneRequest(serializers.Serializer):
    Outcome = StrictCharField(max_length=100, help_text="What came of the call, e.g. `sale`.")


class CancelRequest(serializers.Serializer):
    Reason = StrictCharField(max_length=100, required=False, allow_blank=True)


class DoneRequestSchema(serializers.Serializer):
    class Meta:
        ref_name = "CallbackDone"  # the schema adds "Request"

    Outcome = serializers.RegexField(
        NON_BLANK, max_length=100, help_text="What came of the call, e.g. `sale`; not blank."
    )


class CancelRequestSchema(serializers.Serializer):
    class Meta:
        ref_name = "CallbackCancel"

    Reason = serializers.RegexField(NO_NUL, max_length=100, required=False, allow_blank=True)


class CallbackState(serializers.Serializer):
    CallbackID = serializers.IntegerField()
    Kind = serializers.ChoiceField(choices=Callback.Kind.values)
    AccountNumber = serializers.CharField()
    ModeID = serializers.IntegerField()
    CValue = serializers.CharField()
    E164 = serializers.CharField()
    TimeZone = serializers.CharField()
    Start = serializers.DateTimeField()
    End = serializers.DateTimeField()
    AgentID = serializers.CharField()
    AgentComments = serializers.CharField()
    State = serializers.ChoiceField(choices=Callback.State.values)
    Outcome = serializers.CharField()
    ClosedAt = serializers.DateTimeField(allow_null=True)


class DuePage(serializers.Serializer):
    Callbacks = CallbackState(many=True)
    Total = serializers.IntegerField()


def callback_state(callback: Callback) -> dict:
    moment = serializers.DateTimeField().to_representation
    return {
        "CallbackID": callback.pk,
        "Kind": callback.kind,
        "AccountNumber": callback.account.account_number,
        "ModeID": callback.mode_id,
        "CValue": callback.number,
        "E164": callback.number_e164,
        "TimeZone": callback.time_zone,
        "Start": moment(callback.window_start),
        "End": moment(callback.window_end),
        "AgentID": callback.agent.agent_id,
        "AgentComments": callback.comments,
        "State": callback.state,
        "Outcome": callback.outcome,
        "ClosedAt": callback.closed_at and moment(callback.closed_at),
    }


def _query_int(request, name: str, *, default: int, minimum: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return inputs.bounded_int(raw, minimum=minimum, maximum=maximum)
    except inputs.OutOfBounds as exc:
        raise errors.InvalidInput(f"{name} {exc}", fields={name: [str(exc)]}) from None


def _callback_id(raw: str) -> int:
    try:
        return inputs.bounded_int(raw, minimum=1, maximum=inputs.MAX_BIGINT)
    except inputs.OutOfBounds as exc:
        raise errors.InvalidInput(f"CallbackID {exc}", fields={"CallbackID": [str(exc)]}) from None


def _context(request) -> RequestContext:
    return RequestContext(
        source="dialer",
        client_ip=request.META.get("REMOTE_ADDR") or None,
        request_id=getattr(request, "lcm_request_id", ""),
    )


CALLBACK_ID = OpenApiParameter(
    "callback_id", str, OpenApiParameter.PATH, description="The CallbackID.",
    pattern=r"^0*[1-9][0-9]{0,17}$",
)  # fmt: skip
DUE_ERRORS = {
    **{status: response for status, response in ERRORS.items() if status not in (404, 405)},
    400: OpenApiResponse(Error, description="`offset` or `limit` out of range (`invalid_fields`)"),
    405: OpenApiResponse(Error, description="Not a GET"),
}
CLOSE_ERRORS = {
    **ERRORS,
    **BODY_ERRORS,
    400: OpenApiResponse(
        Error, description="Invalid fields or CallbackID (`invalid_fields`), or malformed JSON"
    ),
    404: OpenApiResponse(Error, description="Unknown callback (`unknown_callback`)"),
    409: OpenApiResponse(
        Error,
        description="Already closed otherwise (`callback_closed`): done and cancelled, or "
        "done with another outcome",
    ),
}


class DueCallbacksView(IntakeView):
    permission_classes = [IsAuthenticated]  # the action checks lcm.manage_callbacks

    @extend_schema(
        operation_id="due_callbacks",
        tags=["dialer"],
        summary="Callbacks to dial now",
        description=(
            "Scheduled callbacks whose window is open now, oldest first. A callback whose "
            "mode was deleted, holds another number or went on the do-not-call list after "
            "scheduling is not listed (supervisors see it as needing attention)."
        ),
        parameters=[
            OpenApiParameter(
                "offset",
                {"type": "integer", "minimum": 0, "maximum": inputs.MAX_BIGINT},
                description="Rows to skip (default 0).",
            ),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": callbacks.MAX_PAGE},
                description="Rows to return, 1-100 (default 100).",
            ),
        ],
        responses={200: DuePage, **DUE_ERRORS},
        examples=[
            examples.dated_reply_example("Due", "DUE_CALLBACKS", 200),
        ],
    )
    def get(self, request):
        offset = _query_int(request, "offset", default=0, minimum=0, maximum=inputs.MAX_BIGINT)
        limit = _query_int(request, "limit", default=100, minimum=1, maximum=callbacks.MAX_PAGE)
        page, total = callbacks.due(actor=request.user, offset=offset, limit=limit)
        return Response({"Callbacks": [callback_state(cb) for cb in page], "Total": total})


class DoneCallbackView(IntakeView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="callback_done",
        tags=["dialer"],
        summary="Close a callback as done, with its outcome",
        description="Repeating it with the same outcome answers 200 and changes nothing.",
        parameters=[CALLBACK_ID],
        request=DoneRequestSchema,
        responses={200: CallbackState, **CLOSE_ERRORS},
        examples=[
            OpenApiExample("Done", value={"Outcome": "sale"}, request_only=True),
            examples.dated_reply_example("Closed", "CALLBACK_DONE", 200),
            examples.reply_example("Cancelled before", examples.CALLBACK_CANCELLED_BEFORE, 409),
        ],
    )
    def post(self, request, callback_id: str):
        pk = _callback_id(callback_id)
        valid = validated(DoneRequest, request.data)
        callback, _ = callbacks.close(
            callback_id=pk, state=Callback.State.DONE, outcome=valid["Outcome"].strip(),
            actor=request.user, context=_context(request),
        )  # fmt: skip
        return Response(callback_state(callback), status=status.HTTP_200_OK)


class CancelCallbackView(IntakeView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="callback_cancel",
        tags=["dialer"],
        summary="Cancel a callback",
        description="Repeating it answers 200 and changes nothing.",
        parameters=[CALLBACK_ID],
        request=CancelRequestSchema,
        responses={200: CallbackState, **CLOSE_ERRORS},
        examples=[
            OpenApiExample("Cancel", value={"Reason": "customer unreachable"}, request_only=True),
            examples.dated_reply_example("Cancelled", "CALLBACK_CANCELLED", 200),
            examples.reply_example("Done before", examples.CALLBACK_DONE_BEFORE, 409),
        ],
    )
    def post(self, request, callback_id: str):
        pk = _callback_id(callback_id)
        valid = validated(CancelRequest, request.data)
        callback, _ = callbacks.close(
            callback_id=pk, state=Callback.State.CANCELLED,
            outcome=valid.get("Reason", "").strip(), actor=request.user,
            context=_context(request),
        )  # fmt: skip
        return Response(callback_state(callback), status=status.HTTP_200_OK)
