"""The OpenAPI document's shapes, for what the serializers that validate input
cannot say: every reply, every error, and the envelope around each message.

Adding an envelope message (a subtopic) is one entry in `MESSAGES` below,
beside its handler in `lcm.api.handlers.HANDLERS`: the serializer of its
`data` (what a schema can say of the input, `lcm.api.serializers`) and of its
success reply's `message.response`. The request envelope, the typed reply
(named after the reply subtopic), the error envelope's `subtopic` enum and
the 200's discriminated oneOf are all built from that entry;
`tests/test_client.py` fails while a subtopic has a handler but no entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from lcm.models import ModeType

from . import agent_services as services
from . import compliance, envelope, outcomes
from .handlers import HANDLERS
from .openapi import BlankSafeAutoSchema
from .serializers import (
    GetContactModesDataSchema,
    GetPersonalCallbackListDataSchema,
    ScheduledCallBackOverlapDataSchema,
    SetCallbackDataSchema,
    SetDNCDataSchema,
    SetNewModeNumberDataSchema,
    SourceSchema,
)


class EnvelopeAutoSchema(BlankSafeAutoSchema):
    """The envelope endpoint needs a body: say so (`requestBody.required`).

    drf-spectacular infers it from a serializer's required fields, which a
    one-of-the-messages request shape (PolymorphicProxySerializer) has none of.
    """

    def _get_request_body(self, direction="request"):
        body = super()._get_request_body(direction)
        if body:
            body["required"] = True
        return body


class AuditAutoSchema(BlankSafeAutoSchema):
    """No `format` parameter: the list's schema answers JSON only, and its CSV
    is an operation of its own (`mode_changes_export`), so a generated client
    never parses CSV as JSON. `?format=csv` still works; it is not advertised."""

    def _get_format_parameters(self):
        return []


class TokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Token <key>`, said where a client generator reads it."""

    target_class = "lcm.api.authentication.TokenAuthentication"
    name = "tokenAuth"
    priority = 1

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "A DRF token with the prefix `Token` (not `Bearer`): "
                "`Authorization: Token <key>`. With openapi-python-client: "
                '`AuthenticatedClient(base_url=..., token=KEY, prefix="Token")`. '
                "See docs/api.md, Authentication."
            ),
        }


# --- Fields the request needs on the wire, with a default for generated clients -


def _constant(value: str, description: str, *, pattern: str | None = None):
    """A required string whose only (or usual) value is `value`: declared with
    that value as its default, so a generated client fills it in, and still
    required, so the wire always carries it."""
    schema = {"type": "string", "default": value, "description": description}
    if pattern:
        schema["pattern"] = pattern
    else:
        schema["enum"] = [value]

    @extend_schema_field(schema)
    class Constant(serializers.Field):
        pass

    return Constant()


TOPIC_PATTERN = r"^[Ww][Ee][Bb][Ss][Ee][Rr][Vv][Ii][Cc][Ee]$"


def _reply_constant(value: str):
    return serializers.ChoiceField(choices=[value])


# --- Replies: one per subtopic ----------------------------------------------------


class SetNewModeNumberResponse(serializers.Serializer):
    success = serializers.BooleanField(help_text="Always true in a 200.")


class SetDNCResponse(serializers.Serializer):
    success = serializers.BooleanField(help_text="Always true in a 200.")


class HHMM(serializers.RegexField):
    def __init__(self, **kwargs):
        super().__init__(r"^(?:(?:[01][0-9]|2[0-3]):[0-5][0-9])?$", **kwargs)


class ContactModeElement(serializers.Serializer):
    """One live mode (dialable-modes.md section 2), then our two extras."""

    ModeID = serializers.IntegerField()
    ModeDesc = serializers.CharField(help_text="The mode type's name.")
    CampaignID = serializers.CharField(allow_blank=True)
    CValue = serializers.CharField(help_text="The number, as stored (cleaned).")
    ModeDialingStartTime = HHMM(help_text='"HH:MM", local to the callee; "" when unknown.')
    ModeDialingEndTime = HHMM(help_text='"HH:MM", local to the callee; "" when unknown.')
    TimeZone = serializers.CharField(allow_blank=True, help_text="The window's zone.")
    TimeZone1 = serializers.CharField(allow_blank=True, help_text='Another candidate zone, or "".')
    TimeZone2 = serializers.CharField(allow_blank=True, help_text='Another candidate zone, or "".')
    TimeZone3 = serializers.CharField(allow_blank=True, help_text='Another candidate zone, or "".')
    PEWC = serializers.BooleanField(help_text="Written consent for this number.")
    AreaCode = serializers.CharField(allow_blank=True)
    ZipCode = serializers.CharField(allow_blank=True)
    DNC = serializers.BooleanField(help_text="On the do-not-call list now.")
    Callable = serializers.BooleanField(help_text="Not DNC and inside the window now.")
    E164 = serializers.CharField(allow_blank=True, help_text='E.164 form, or "" when unknown.')
    ChannelType = serializers.ChoiceField(choices=ModeType.Channel.values)

    class Meta:
        ref_name = "ContactMode"


class SetContactModesResponse(serializers.Serializer):
    success = serializers.BooleanField(help_text="Always true in a 200.")
    Contactmodes = ContactModeElement(many=True, help_text="One element per live mode.")


class SetCallbackResponse(serializers.Serializer):
    success = serializers.BooleanField(help_text="Always true in a 200.")
    CallbackID = serializers.IntegerField(help_text="The callback scheduled.")


class ScheduledCallBackOverlapResponse(serializers.Serializer):
    RequestResult = serializers.BooleanField(help_text="Always true in a 200.")
    IsOverlap = serializers.BooleanField(
        help_text="The agent has a personal callback overlapping the window."
    )


class CallbackElement(serializers.Serializer):
    """One personal callback (dialable-modes.md section 4)."""

    RowNumber = serializers.IntegerField(help_text="1-based, across the pages.")
    CallbackID = serializers.IntegerField()
    AccountNumber = serializers.CharField()
    ModeID = serializers.IntegerField()
    ModeDescription = serializers.CharField(allow_blank=True, help_text="The mode type's name.")
    CValue = serializers.CharField(help_text="The number when scheduled.")
    CallStartDate = serializers.CharField(help_text="DD/MM/YYYY, the callee's local date.")
    CallEndDate = serializers.CharField(help_text="DD/MM/YYYY, the callee's local date.")
    CallStartTime = HHMM(help_text="HH:mm, the callee's local time.")
    CallEndTime = HHMM(help_text="HH:mm, the callee's local time.")
    AgentComments = serializers.CharField(allow_blank=True)

    class Meta:
        ref_name = "PersonalCallback"


class GetPersonalCallbackListResponse(serializers.Serializer):
    Callbacks = CallbackElement(many=True, help_text="This page's callbacks.")
    Total = serializers.IntegerField(help_text="How many callbacks match, all pages.")


@dataclass(frozen=True)
class Message:
    """What the schema says of one subtopic: its `data` and its reply's
    `message.response`. The reply subtopic is the handler's."""

    data: type[serializers.Serializer]
    response: type[serializers.Serializer]
    many: bool = False  # the vendor's reply is an array of `response` (campaign-services.md §2)


MESSAGES: dict[str, Message] = {
    "SetNewModeNumber": Message(SetNewModeNumberDataSchema, SetNewModeNumberResponse),
    "SetDNC": Message(SetDNCDataSchema, SetDNCResponse),
    "GetContactModes": Message(GetContactModesDataSchema, SetContactModesResponse),
    "SetCallbackWithComments": Message(SetCallbackDataSchema, SetCallbackResponse),
    "SetPersonalCallbackWithComments": Message(SetCallbackDataSchema, SetCallbackResponse),
    "ScheduledCallBackOverlap": Message(
        ScheduledCallBackOverlapDataSchema, ScheduledCallBackOverlapResponse
    ),
    "GetPersonalCallbackList": Message(
        GetPersonalCallbackListDataSchema, GetPersonalCallbackListResponse
    ),
    "SetCallOutComeOffline": Message(
        outcomes.SetCallOutComeOfflineDataSchema, outcomes.SetCallOutComeOfflineResponse
    ),
    "SetBusinessOutcomeWithComments": Message(
        outcomes.SetBusinessOutcomeWithCommentsDataSchema, outcomes.OutcomeResponse
    ),
    "SetBusinessOutcomeWithCallOutcome": Message(
        outcomes.SetBusinessOutcomeWithCallOutcomeDataSchema, outcomes.OutcomeResponse
    ),
    "ComplianceCheck": Message(
        compliance.ComplianceCheckDataSchema, compliance.ComplianceCheckResponse
    ),
    "GetCampaignModes": Message(
        services.CallAccountDataSchema, services.CampaignModeElement, many=True
    ),
    "GetCallBackModes": Message(
        services.CallAccountDataSchema, services.CampaignModeElement, many=True
    ),
    "GetModeInformation": Message(
        services.CallAccountDataSchema, services.ModeInformationElement, many=True
    ),
    "GetDNCBussField": Message(
        services.CallAccountDataSchema, services.DNCBusinessFieldElement, many=True
    ),
    "SetContactBusinessFields": Message(
        services.SetContactBusinessFieldsDataSchema, services.SetContactBusinessFieldsResponse
    ),
    "GetScreenPopData": Message(services.CallAccountDataSchema, services.ScreenPopDataResponse),
    "GetCampaignsForMCDRequest": Message(
        services.GetCampaignsForMCDDataSchema, services.InboundElement, many=True
    ),
    "SendAgentState": Message(services.SendAgentStateDataSchema, services.SendAgentStateResponse),
}


# --- The envelopes, built from MESSAGES ------------------------------------------


class _RequestEnvelope(serializers.Serializer):
    channel = _constant(envelope.CHANNEL, "Always `LCM`.")
    topic = _constant(
        envelope.TOPIC, "`WebService`, compared case-insensitively.", pattern=TOPIC_PATTERN
    )
    source = SourceSchema(required=False, allow_null=True)


class _ReplyEnvelope(serializers.Serializer):
    channel = _reply_constant(envelope.CHANNEL)
    topic = _reply_constant(envelope.TOPIC)


def _named(name: str, base: type, fields: dict) -> type[serializers.Serializer]:
    """A serializer class named `name`: drf-spectacular names the component
    after the class (adding `Request` on the request side)."""
    return type(name, (base,), {**fields, "__module__": __name__})


def _request_envelope(subtopic: str, message: Message):
    return _named(
        subtopic,
        _RequestEnvelope,
        {
            "subtopic": _constant(subtopic, f"`{subtopic}`."),
            "data": message.data(
                help_text="Every key is required unless marked optional; keys the message "
                "does not define are ignored."
            ),
        },
    )


def _reply_envelope(reply_subtopic: str, message: Message):
    reply_message = _named(
        f"{reply_subtopic}Message",
        serializers.Serializer,
        {
            "callid": serializers.CharField(
                allow_null=True, help_text="The request's callid, when it was a string."
            ),
            "response": message.response(many=True) if message.many else message.response(),
        },
    )
    return _named(
        reply_subtopic,
        _ReplyEnvelope,
        {"subtopic": _reply_constant(reply_subtopic), "message": reply_message()},
    )


REQUESTS = {name: _request_envelope(name, message) for name, message in MESSAGES.items()}
REPLIES = {
    HANDLERS[name].reply_subtopic: _reply_envelope(HANDLERS[name].reply_subtopic, message)
    for name, message in MESSAGES.items()
}

EnvelopeRequest = PolymorphicProxySerializer(
    component_name="Envelope",
    serializers=REQUESTS,
    resource_type_field_name="subtopic",
)
EnvelopeReply = PolymorphicProxySerializer(
    component_name="EnvelopeReply",
    serializers=REPLIES,
    resource_type_field_name="subtopic",
)


# --- Errors ---------------------------------------------------------------------


class FieldErrors(serializers.DictField):
    def __init__(self, **kwargs):
        super().__init__(
            child=serializers.ListField(child=serializers.CharField()),
            required=False,
            help_text="For invalid fields (or parameters): each name with its reasons.",
            **kwargs,
        )


class EnvelopeErrorDetail(serializers.Serializer):
    errorType = serializers.ChoiceField(choices=["WS_Error"])
    errorMessage = serializers.CharField(help_text="The actual error.")
    msg = serializers.CharField(help_text="The user-facing message.")
    code = serializers.CharField(help_text="Stable snake_case code; docs/api.md lists them.")
    fields = FieldErrors()


class FailureResponse(serializers.Serializer):
    success = serializers.BooleanField(help_text="Always false in an error.")


class EnvelopeErrorMessage(serializers.Serializer):
    callid = serializers.CharField(
        allow_null=True, help_text="The request's callid, when it was a string."
    )
    response = FailureResponse()
    error = EnvelopeErrorDetail()


class EnvelopeError(_ReplyEnvelope):
    """Every refusal of the envelope endpoint: the reply subtopic of the
    message when it was known, else `Error`."""

    subtopic = serializers.ChoiceField(choices=[*REPLIES, envelope.ERROR_SUBTOPIC])
    message = EnvelopeErrorMessage()


class Error(serializers.Serializer):
    """Every error of the dialer's doors, the auditors' API and any other
    JSON API but the envelope."""

    code = serializers.CharField(help_text="Stable snake_case code; the docs list them.")
    message = serializers.CharField()
    fields = FieldErrors()
