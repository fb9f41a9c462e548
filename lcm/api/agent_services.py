"""The agent desktop's other services (spec campaign-services.md sections 3,
6, 7 and 8): the mode catalogue (GetCampaignModes, GetCallBackModes,
GetModeInformation), the business fields (GetDNCBussField,
SetContactBusinessFields, GetScreenPopData), the inbound lookup
(GetCampaignsForMCDRequest) and SendAgentState.

Each subtopic is one line in `lcm.api.handlers.HANDLERS` (its handler and
`data` serializer, here) and one in `lcm.api.schema.MESSAGES` (its schema
shapes, here). The rules are the domain's: `lcm.actions.catalogue`,
`business_fields`, `inbound`, `calls.set_agent_state`; who may call,
`lcm.actions.call_access` and `permissions`.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from lcm import errors
from lcm.actions import RequestContext, business_fields, calls, catalogue, inbound
from lcm.models import AgentState, BusinessField, Campaign, ModeType

from .serializers import (
    CONTACT_NUMBER,
    NO_NUL,
    MessageData,
    StrictCharField,
    _text,
)


def _validated(serializer_class, data):
    from .handlers import _validated as validated  # handlers imports this module

    return validated(serializer_class, data)


# --- data: what each message accepts --------------------------------------------


class CallAccountData(MessageData):
    """`callid` and `AccountNumber`, both mandatory strings (section 3, 6)."""

    callid = StrictCharField(max_length=64)
    AccountNumber = StrictCharField(max_length=128)


class BusinessFieldItem(serializers.Serializer):
    FieldName = StrictCharField(max_length=100, trim_whitespace=False)
    Value = StrictCharField(max_length=255, allow_blank=True, trim_whitespace=False)
    DataType = StrictCharField(max_length=20, trim_whitespace=False)
    Format = StrictCharField(max_length=20, allow_blank=True, trim_whitespace=False)


BUSINESS_FIELDS_COUNT = f"Must be a list of 1 to {business_fields.MAX_ITEMS} business fields."
NOT_AN_OBJECT = "Each business field must be a JSON object."


class BusinessFieldsField(serializers.Field):
    """The list itself (1 to 50); its items are checked one by one in
    `_business_field_items`, so that a bad one is named
    `businessField[<index>].<key>`, as ComplianceCheck names its contacts."""

    default_error_messages = {"invalid": BUSINESS_FIELDS_COUNT}

    def to_internal_value(self, data):
        if not isinstance(data, list) or not 1 <= len(data) <= business_fields.MAX_ITEMS:
            self.fail("invalid")
        return data


class SetContactBusinessFieldsData(MessageData):
    callid = StrictCharField(max_length=64)
    AccountNumber = StrictCharField(max_length=128)
    AgentID = StrictCharField(max_length=64)
    businessField = BusinessFieldsField()


def _business_field_items(raw: list) -> list[business_fields.Item]:
    fields: dict[str, list[str]] = {}
    items = []
    for index, item in enumerate(raw):
        where = f"businessField[{index}]"
        if not isinstance(item, dict):
            fields[where] = [NOT_AN_OBJECT]
            continue
        serializer = BusinessFieldItem(data=item)
        if not serializer.is_valid():
            for name, problems in serializer.errors.items():
                fields[f"{where}.{name}"] = [str(p) for p in problems]
            continue
        valid = serializer.validated_data
        name, kind = valid["FieldName"].strip(), valid["DataType"].strip()
        items.append(business_fields.Item(name, valid["Value"], kind))
    if fields:
        raise errors.InvalidInput("Invalid data: " + ", ".join(sorted(fields)) + ".", fields=fields)
    return items


MAX_JSON_NUMBER = 99999999999999999999  # the schema's maximum (20 digits)


class NumberOrStringField(serializers.Field):
    """The vendor's ANI or DNIS: a JSON number (an integer) or a string."""

    default_error_messages = {"invalid": "Must be a phone number: an integer or a string."}

    def __init__(self, *, allow_blank: bool = False, **kwargs):
        self.allow_blank = allow_blank
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int) and data >= 0:
            return str(data)
        # JSON has one number type: 2025550143.0 is the integer the schema
        # allows (JSON Schema's "integer" takes a number without a fraction).
        if isinstance(data, float) and data.is_integer() and 0 <= data <= MAX_JSON_NUMBER:
            return str(int(data))
        if isinstance(data, str):
            text = StrictCharField(
                max_length=64, allow_blank=self.allow_blank, trim_whitespace=False
            )
            return text.run_validation(data)
        self.fail("invalid")
        return None  # not reached

    def to_representation(self, value):
        return value


class CallTypeField(StrictCharField):
    default_error_messages = {"call_type": "Must be INBOUND or OUTBOUND."}

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        # Any case of the ASCII words: str.upper() also turns a dotless i into "I".
        text = text.upper() if text.isascii() else ""
        if text not in inbound.CALL_TYPES:
            self.fail("call_type")
        return text


class GetCampaignsForMCDData(MessageData):
    ANI = NumberOrStringField()
    CallType = CallTypeField(max_length=8, trim_whitespace=False)
    DNIS = NumberOrStringField(required=False, allow_blank=True)
    LCMKey = StrictCharField(max_length=128, required=False, allow_blank=True)
    BusinessFieldQueryToSearch = StrictCharField(max_length=400, required=False, allow_blank=True)


class AgentStateField(StrictCharField):
    default_error_messages = {"state": "Must be READY, NOT_READY, TALKING or WORK."}

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        text = text.upper() if text.isascii() else ""  # as CallTypeField
        if text not in AgentState.values:
            self.fail("state")
        return text


class SendAgentStateData(MessageData):
    agentID = StrictCharField(max_length=64)
    agentState = AgentStateField(max_length=20, trim_whitespace=False)


# --- handlers --------------------------------------------------------------------


def get_campaign_modes(data: dict, *, user, context: RequestContext) -> list:
    valid = _validated(CallAccountData, data)
    return catalogue.campaign_modes(
        callid=valid["callid"], account_number=valid["AccountNumber"], actor=user
    )


def get_callback_modes(data: dict, *, user, context: RequestContext) -> list:
    valid = _validated(CallAccountData, data)
    return catalogue.campaign_modes(
        callid=valid["callid"],
        account_number=valid["AccountNumber"],
        actor=user,
        callbacks_only=True,
    )


def get_mode_information(data: dict, *, user, context: RequestContext) -> list:
    valid = _validated(CallAccountData, data)
    return catalogue.mode_information(
        callid=valid["callid"], account_number=valid["AccountNumber"], actor=user
    )


def get_dnc_business_fields(data: dict, *, user, context: RequestContext) -> list:
    valid = _validated(CallAccountData, data)
    return business_fields.dnc_fields(
        callid=valid["callid"], account_number=valid["AccountNumber"], actor=user
    )


def get_screen_pop_data(data: dict, *, user, context: RequestContext) -> dict:
    valid = _validated(CallAccountData, data)
    return business_fields.screen_pop(
        callid=valid["callid"], account_number=valid["AccountNumber"], actor=user
    )


def set_contact_business_fields(data: dict, *, user, context: RequestContext) -> dict:
    valid = _validated(SetContactBusinessFieldsData, data)
    business_fields.set_values(
        callid=valid["callid"],
        account_number=valid["AccountNumber"],
        agent_id=valid["AgentID"],
        items=_business_field_items(valid["businessField"]),
        actor=user,
        context=context,
    )
    return {"success": True}


def get_campaigns_for_mcd(data: dict, *, user, context: RequestContext) -> list:
    valid = _validated(GetCampaignsForMCDData, data)
    query = valid.get("BusinessFieldQueryToSearch", "").strip()
    return inbound.lookup(
        ani=valid["ANI"],
        actor=user,
        lcm_key=valid.get("LCMKey", "").strip(),
        business_field=inbound.business_query(query) if query else None,
    )


def send_agent_state(data: dict, *, user, context: RequestContext) -> dict:
    valid = _validated(SendAgentStateData, data)
    calls.set_agent_state(
        agent_id=valid["agentID"], state=valid["agentState"], actor=user, context=context
    )
    return {"success": True}


# --- the OpenAPI document's shapes ---------------------------------------------------


def _any_case(words) -> str:
    """A pattern of `words`, each in any case (JSON Schema has no flags)."""
    spelt = ("".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in w) for w in words)
    return "^(?:" + "|".join(spelt) + ")$"


class CallAccountDataSchema(serializers.Serializer):
    class Meta:
        ref_name = "CallAccountData"

    callid = _text(64, "The dialer's call ID; must not be blank.")
    AccountNumber = _text(128, "The LCM key of the contact, e.g. 5|3|1|0|0|44|1.")


class BusinessFieldItemSchema(serializers.Serializer):
    class Meta:
        ref_name = "BusinessFieldItem"

    FieldName = _text(100, "A business field of the contact's campaign.")
    Value = _text(
        255,
        'The value, as its DataType and Format say (`""` clears it).',
        pattern=NO_NUL,
        allow_blank=True,
    )
    DataType = serializers.ChoiceField(
        choices=BusinessField.DataType.values,
        help_text="The field's DataType: another one is 400 `field_type_mismatch`.",
    )
    Format = _text(20, "The field's format (informative: the campaign's is applied).",
                   pattern=NO_NUL, allow_blank=True)  # fmt: skip


class SetContactBusinessFieldsDataSchema(serializers.Serializer):
    class Meta:
        ref_name = "SetContactBusinessFieldsData"

    callid = _text(64, "The dialer's call ID; must not be blank.")
    AccountNumber = _text(128, "The LCM key of the contact.")
    AgentID = _text(64, "The agent making the change (an agent's token: itself).")
    # A ListField, not many=True: drf-spectacular writes minItems/maxItems
    # only for the former (the deep fuzz sent [] to the many=True version).
    businessField = serializers.ListField(
        child=BusinessFieldItemSchema(), min_length=1, max_length=business_fields.MAX_ITEMS,
        help_text="1 to 50 fields; all are stored or none.",
    )  # fmt: skip


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "minimum": 100, "maximum": MAX_JSON_NUMBER},
            {"type": "string", "maxLength": 64, "pattern": CONTACT_NUMBER},
        ],
        "description": "The caller's number, in any spelling (3-20 digits).",
    }
)
class _NumberSchema(serializers.Field):
    pass


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "minimum": 0},
            {"type": "string", "maxLength": 64, "pattern": NO_NUL},
        ],
        "description": "Optional: the number the caller dialled (accepted, not used).",
    }
)
class _DnisSchema(serializers.Field):
    pass


class GetCampaignsForMCDDataSchema(serializers.Serializer):
    class Meta:
        ref_name = "GetCampaignsForMCDData"

    ANI = _NumberSchema()
    CallType = serializers.RegexField(
        _any_case(inbound.CALL_TYPES), help_text="INBOUND or OUTBOUND, any case."
    )
    DNIS = _DnisSchema(required=False)
    LCMKey = _text(128, "Optional: that contact's modes first.", pattern=NO_NUL,
                   required=False, allow_blank=True)  # fmt: skip
    BusinessFieldQueryToSearch = _text(
        400, "Optional `FieldName=Value`: that field's contacts match too.",
        pattern=r"^(?:[^\x00=]*[^\s\x00=][^\x00=]*=[^\x00]*)?$", required=False, allow_blank=True,
    )  # fmt: skip


class SendAgentStateDataSchema(serializers.Serializer):
    class Meta:
        ref_name = "SendAgentStateData"

    agentID = _text(64, "The agent (an agent's token: itself); must be logged in.")
    agentState = serializers.RegexField(
        _any_case(AgentState.values),
        help_text="READY, NOT_READY, TALKING or WORK, any case.",
    )


# --- replies ---------------------------------------------------------------------


class CampaignModeElement(serializers.Serializer):
    class Meta:
        ref_name = "CampaignMode"

    ModeID = serializers.RegexField(r"^[0-9]+$", help_text="A string (the vendor's sample).")
    Description = serializers.CharField(help_text="The mode type's name.")
    ChannelType = serializers.ChoiceField(choices=ModeType.Channel.values)
    MinLength = serializers.RegexField(r"^[0-9]+$", help_text="Fewest digits, a string.")
    MaxLength = serializers.RegexField(r"^[0-9]+$", help_text="Most digits, a string.")
    Cvalue = serializers.CharField(allow_null=True, help_text="The live number, null when none.")
    PEWC = serializers.BooleanField(help_text="That number's written consent.")
    CampaignPEWC = serializers.BooleanField(help_text="The campaign dials only consented numbers.")


class ModeInformationElement(serializers.Serializer):
    class Meta:
        ref_name = "ModeInformation"

    ModeID = serializers.IntegerField()
    CampaignId = serializers.CharField(allow_blank=True)
    ModeName = serializers.CharField()
    ContactID = serializers.RegexField(r"^[0-9]+$", help_text="The account's internal id.")
    Timezone = serializers.CharField(allow_blank=True, help_text="The campaign's zone (IANA).")
    ContactNumber = serializers.CharField()
    CampaignCategoryName = serializers.CharField(allow_blank=True)
    CallId = serializers.CharField()
    GMTDeviation = serializers.FloatField(help_text="The zone's UTC offset now, in hours.")
    DispositionRequired = serializers.BooleanField()
    DNCPeriodType = serializers.ChoiceField(choices=Campaign.DncPeriod.values)
    DNCDays = serializers.IntegerField()
    DNCEOD = serializers.BooleanField()
    CustomerDNCTZEnabled = serializers.BooleanField()


class DNCBusinessFieldElement(serializers.Serializer):
    class Meta:
        ref_name = "DNCBusinessField"

    FieldName = serializers.CharField()
    Value = serializers.CharField(allow_blank=True, help_text='"" when unset.')
    DataType = serializers.ChoiceField(choices=BusinessField.DataType.values)
    Format = serializers.CharField(allow_blank=True)


@extend_schema_field(
    {
        "type": "object",
        "required": ["FName", "LName"],
        "properties": {"FName": {"type": "string"}, "LName": {"type": "string"}},
        "additionalProperties": {"type": "string"},
        "description": "The contact's names, each screen-pop field by FieldName, each enabled "
        'mode by Description with its live number ("" when unset).',
    }
)
class ScreenPopDataResponse(serializers.Field):
    pass


class InboundElement(serializers.Serializer):
    class Meta:
        ref_name = "InboundMatch"

    CampaignId = serializers.CharField(allow_blank=True)
    CampaignName = serializers.CharField()
    ContactID = serializers.IntegerField()
    CallType = serializers.ChoiceField(choices=["Regular", "Callback", "PersonalCallback"])
    AgentID = serializers.CharField(allow_blank=True, help_text="A personal callback's agent.")
    Mode = serializers.CharField(help_text="The mode type's name.")
    PhoneNo = serializers.CharField()
    AccountNumber = serializers.CharField()


class SuccessResponse(serializers.Serializer):
    success = serializers.BooleanField(help_text="Always true in a 200.")


class SetContactBusinessFieldsResponse(SuccessResponse):
    pass


class SendAgentStateResponse(SuccessResponse):
    pass


def schema_examples() -> list:
    """The OpenAPI document's examples of these subtopics (lcm.api.examples),
    each request and its reply on the demo data."""
    from drf_spectacular.utils import OpenApiExample

    from . import examples

    shown = []
    for name, (request, reply) in examples.AGENT_SERVICE_EXAMPLES.items():
        shown.append(OpenApiExample(name, value=request, request_only=True))
        shown.append(examples.reply_example(reply["subtopic"], reply, 200))
    return shown
