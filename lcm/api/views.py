"""The envelope endpoint: authenticate, parse, dispatch, render."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from lcm import cursors, idempotency
from lcm.actions import RequestContext
from lcm.logs import request_id_of

from . import agent_services, compliance, envelope, examples, failures, outcomes
from .handlers import HANDLERS
from .policy import LcmApiPolicy
from .schema import EnvelopeAutoSchema, EnvelopeError, EnvelopeReply, EnvelopeRequest

# The spec's sample and its reply (lcm.api.examples), where tests/test_install.py
# and host projects import them.
SAMPLE_REQUEST = examples.SET_NEW_MODE_NUMBER
SAMPLE_RESPONSE = examples.SET_NEW_MODE_NUMBER_RESULT

ENVELOPE_ERRORS = {
    400: "Malformed envelope or data",
    401: "No or bad token",
    403: "May not act for that agent",
    404: "Unknown callid or account",
    405: "Not a POST",
    406: "Accept names no JSON type",
    409: "Conflict with the call/DNC",
    413: "Body over LCM_API_MAX_BODY_BYTES",
    415: "Not application/json",
    422: "Idempotency-Key already used for another request",
    429: "Token over its rate",
    500: "Internal error (`internal_error`, the request id)",
    503: "Database unavailable (`database_unavailable`); see Retry-After",
}


class WebServiceView(LcmApiPolicy, APIView):
    """POST an envelope; get an envelope back, errors included."""

    permission_classes = [IsAuthenticated]
    schema = EnvelopeAutoSchema()

    def get_exception_handler(self):
        return self._render_exception

    def _render_exception(self, exc, context):
        request = context["request"]
        try:  # echo the callid even when refusing before the handler ran
            body = request.data
        except exceptions.APIException:
            body = None
        error, headers = failures.error_of(exc, request)  # a bug too: 500, logged
        subtopic = getattr(request, "lcm_reply_subtopic", envelope.ERROR_SUBTOPIC)
        return envelope.failure(
            error,
            reply_subtopic=subtopic,
            callid=envelope.echoed_callid(body),
            headers=headers,
        )

    def dispatch(self, request, *args, **kwargs):
        # One cursor for the request's hand-written statements (lcm.cursors):
        # the token lookup, the action's, the Idempotency-Key's.
        with cursors.shared():
            return super().dispatch(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["X-Request-ID"] = getattr(request, "lcm_request_id", "") or request_id_of(request)
        return response

    @extend_schema(
        operation_id="webservice",
        tags=["webservice"],
        summary="Send an envelope message (any of the agent-desktop services)",
        description=(
            "The dialer's agent-desktop envelope, unchanged. Dispatches on `subtopic`: "
            + ", ".join(f"`{name}`" for name in HANDLERS)
            + ". "
            "Every answer, errors included, is an envelope; the HTTP status carries the "
            "class of failure (400 bad input, 401 credentials, 403 identity, 404 unknown "
            "callid/AccountNumber, 409 call/agent/account conflict, pre-requisite or "
            "do-not-call, 422 Idempotency-Key reused, 500 a bug, 503 database unavailable). "
            "See docs/api.md for every error code."
        ),
        request=EnvelopeRequest,
        responses={
            200: EnvelopeReply,
            **{
                status: OpenApiResponse(EnvelopeError, description=description)
                for status, description in ENVELOPE_ERRORS.items()
            },
        },
        parameters=[
            OpenApiParameter(
                "X-Request-ID",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Optional; echoed (and stored in the audit entry) when it is "
                "1-64 characters of A-Z a-z 0-9 . _ -, else a new id is made.",
            ),
            OpenApiParameter(
                "X-Request-ID",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                response=True,
                description="The request id, as stored in the audit entry.",
            ),
            OpenApiParameter(
                idempotency.HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                pattern=idempotency.KEY_PATTERN,
                description="Optional; 1-255 visible ASCII characters (a UUID is a good key). "
                "A SetNewModeNumber retried with the same key and the same body within "
                "IDEMPOTENCY_KEY_TTL_HOURS (24 by default) gets the first success's reply "
                "again, without a second change; the same key with another body is refused "
                "(422 idempotency_key_reused). Keys are per user; refusals are not stored. "
                "GetContactModes checks the key but always answers afresh. "
                "See docs/api.md, Retries and Idempotency-Key.",
            ),
            OpenApiParameter(
                idempotency.REPLAYED_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                enum=["true"],
                response=[200],
                description="Present (true) when the reply is the one stored for this "
                "Idempotency-Key, replayed: nothing was changed by this request.",
            ),
        ],
        examples=[
            OpenApiExample(
                "SetNewModeNumber", value=examples.SET_NEW_MODE_NUMBER, request_only=True
            ),
            OpenApiExample("GetContactModes", value=examples.GET_CONTACT_MODES, request_only=True),
            examples.reply_example(
                "SetNewModeNumberResult", examples.SET_NEW_MODE_NUMBER_RESULT, 200
            ),
            examples.reply_example("SetContactModes", examples.SET_CONTACT_MODES, 200),
            examples.DatedExample(
                "SetDNC",
                "SET_DNC",
                summary="The customer opts out of the home number (mode 1) for 30 days",
                request_only=True,
            ),
            OpenApiExample(
                "SetDNCResult",
                value={
                    "channel": "LCM",
                    "topic": "WebService",
                    "subtopic": "SetDNCResult",
                    "message": {"callid": "12345", "response": {"success": True}},
                },
                response_only=True,
                status_codes=["200"],
            ),
            examples.reply_example("Invalid Call ID", examples.INVALID_CALL_ID, 404),
            *(
                examples.DatedExample(name, constant, request_only=True)
                for name, constant in examples.CALLBACK_REQUEST_NAMES.items()
            ),
            *(
                examples.dated_reply_example(name, constant, 200)
                for name, constant in examples.CALLBACK_REPLY_NAMES.items()
            ),
            examples.dated_reply_example("Callback window too long", "CALLBACK_TOO_LONG", 400),
            *outcomes.openapi_examples(),
            *compliance.openapi_examples(),
            *agent_services.schema_examples(),
        ],
    )
    def post(self, request):
        request.lcm_request_id = request_id_of(request)
        try:
            body = request.data
        except exceptions.ParseError as exc:
            raise envelope.MalformedJson(f"Malformed JSON: {exc.detail}") from None
        message = envelope.parse(body, list(HANDLERS))
        handler = HANDLERS[message.subtopic]
        request.lcm_reply_subtopic = handler.reply_subtopic
        context = RequestContext(
            source=message.source,
            client_ip=request.META.get("REMOTE_ADDR") or None,
            request_id=request.lcm_request_id,
        )
        key = idempotency.parse_key(request.headers.get(idempotency.HEADER))

        def run() -> Response:
            response = handler.run(message.data, user=request.user, context=context)
            return envelope.success(handler.reply_subtopic, envelope.echoed_callid(body), response)

        if key is None or not handler.changes:
            return run()

        def run_keyed() -> idempotency.Reply:
            response = run()
            return idempotency.Reply(response.status_code, response.data)

        reply = idempotency.run_once(
            user=request.user, key=key, fingerprint=idempotency.fingerprint(body), run=run_keyed
        )
        headers = {idempotency.REPLAYED_HEADER: "true"} if reply.replayed else None
        return Response(reply.body, status=reply.status, headers=headers)
