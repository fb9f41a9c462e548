"""Input shapes of the envelope messages: types only, no business rules.

The contract types are strict: a field the spec calls a string must be a
JSON string, a boolean a JSON boolean (DRF's own fields would quietly turn
`1` into `"1"` or `"yes"` into `True`). ModeID alone accepts both a string
of digits and an integer, as the vendor's sample sends a number.
"""

import copy

from django.core.validators import ProhibitNullCharactersValidator
from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.utils.serializer_helpers import BindingDict
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from lcm import errors, inputs

MAX_MODE_ID = 32767
HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
MAX_CALLBACK_PAGE = 100


class StrictCharField(serializers.CharField):
    """A JSON string that the database and the audit hash can store
    (`lcm.inputs.text_problem`: no NUL, no unpaired surrogate).

    That check refuses such a string before any validator runs, so DRF's
    own NUL and surrogate validators (the latter a Python loop over every
    character) could never fail: they are left out."""

    default_error_messages = {"not_a_string": "Must be a string."}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators = [
            v
            for v in self.validators
            if not isinstance(
                v, ProhibitNullCharactersValidator | ProhibitSurrogateCharactersValidator
            )
        ]

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        problem = inputs.text_problem(data)
        if problem:
            raise serializers.ValidationError(f"This field {problem}", code="invalid_text")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "Must be a JSON boolean: true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class ModeIdField(serializers.Field):
    default_error_messages = {
        "invalid": "Must be a positive integer or a string of digits.",
        "range": f"Must be between 1 and {MAX_MODE_ID}.",
    }

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, str):
            text = data.strip()
            if not text.isascii() or not text.isdigit():
                self.fail("invalid")
            try:  # digits counted before int(): no length reaches Python's limit
                return inputs.bounded_int(text, minimum=1, maximum=MAX_MODE_ID)
            except inputs.OutOfBounds:
                self.fail("range")
        if isinstance(data, float) and data.is_integer():
            data = int(data)  # 1.0 is an integer to JSON Schema, hence to the OpenAPI 3.1 document
        if not isinstance(data, int):
            self.fail("invalid")
        if not 1 <= data <= MAX_MODE_ID:
            self.fail("range")
        return data

    def to_representation(self, value):
        return value


class MessageData(serializers.Serializer):
    """An envelope message's `data`: flat, stateless scalar fields.

    DRF gives every serializer instance fields of its own: a deep copy of the
    declared fields (`Field.__deepcopy__` runs each field's `__init__`
    again), each bound to the instance. On SetNewModeNumber, the hot path,
    building and binding them was about a twentieth of a request's
    instructions (bench/request_instructions.py, docs/benchmarks.md). These
    fields hold no state beyond construction, and of their parent they read
    only `root.partial` and `context`, which no message sets; so each class
    binds one copy of its fields, once, to an instance of its own made for
    that, and every instance validates with them. A nested serializer or a
    list field must not use this base.
    """

    @cached_property
    def fields(self):
        return type(self).bound_fields()

    @classmethod
    def bound_fields(cls) -> BindingDict:
        fields = cls.__dict__.get("_bound_fields")
        if fields is None:
            fields = BindingDict(cls())
            for name, field in copy.deepcopy(cls._declared_fields).items():
                fields[name] = field
            cls._bound_fields = fields
        return fields


class SetNewModeNumberData(MessageData):
    callid = StrictCharField(max_length=64, allow_blank=True, trim_whitespace=True)
    AccountNumber = StrictCharField(max_length=128)
    ModeID = ModeIdField()
    ContactNumber = StrictCharField(max_length=64)
    DeleteOtherModes = StrictBooleanField()
    AgentID = StrictCharField(max_length=64)


class VendorDateField(StrictCharField):
    """The vendor's `DD/MM/YYYY` (`lcm.inputs.vendor_date`), as a date."""

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        try:
            return inputs.vendor_date(text)
        except inputs.NoSuchDay as exc:  # the calendar's rule, not the shape's: its own code
            message = f"{self.field_name} {exc}"
            raise errors.InvalidDate(message, fields={self.field_name: [message]}) from None
        except ValueError as exc:
            raise serializers.ValidationError(f"This field {exc}", code="invalid_date") from None


MAX_DNC_COMMENTS = 500


class SetDNCData(MessageData):
    """SetDNC (dialable-modes.md section 3). `BlockedBy` is the vendor's
    name of `AgentID`: either is accepted, one is required."""

    callid = StrictCharField(max_length=64, allow_blank=True, trim_whitespace=True)
    AccountNumber = StrictCharField(max_length=128)
    AgentID = StrictCharField(max_length=64, required=False)
    BlockedBy = StrictCharField(max_length=64, required=False)
    isPhoneNoDNC = StrictBooleanField()
    ModeID = ModeIdField(required=False)
    DNCBlockStartDate = VendorDateField(required=False, allow_null=True)
    DNCBlockEndDate = VendorDateField(required=False, allow_null=True)
    CampaignSpecificDNC = StrictBooleanField(required=False, default=False)
    AgentComments = StrictCharField(
        max_length=MAX_DNC_COMMENTS, required=False, allow_blank=True, default=""
    )

    def validate(self, attrs):
        agent, blocked_by = attrs.get("AgentID"), attrs.get("BlockedBy")
        if agent is None and blocked_by is None:
            raise serializers.ValidationError(
                {"AgentID": ["This field is required (or its alias BlockedBy)."]}
            )
        if agent is not None and blocked_by is not None:
            raise serializers.ValidationError(
                {"BlockedBy": ["BlockedBy is the alias of AgentID: send one of them, not both."]}
            )
        if attrs["isPhoneNoDNC"] and attrs.get("ModeID") is None:
            raise serializers.ValidationError({"ModeID": [errors.DNC_MODE_ID_REQUIRED]})
        attrs["AgentID"] = agent if agent is not None else blocked_by
        return attrs


class GetContactModesData(MessageData):
    callid = StrictCharField(max_length=64, required=False, allow_blank=True)
    AccountNumber = StrictCharField(max_length=128)


# --- Shapes for the OpenAPI document only ------------------------------------
# What the API accepts, as exactly as a schema can say it (Schemathesis holds
# the API to it: tests/test_schema_fuzz.py). What a schema cannot know is
# data: which ModeIDs are defined, a mode type's own digit bounds, a
# configured region; those refusals are 400 `unknown_mode`/`invalid_number`.

# A non-blank string: the fields are trimmed, and a NUL is refused.
NON_BLANK = r"^[^\x00]*[^\s\x00][^\x00]*$"
NO_NUL = r"^[^\x00]*$"
# The number rules of lcm.numbers with the default bounds: separators
# (whitespace . - ( )) anywhere, one optional + before the digits, 3-20 digits.
CONTACT_NUMBER = r"^[\s().-]*\+?[\s().-]*(?:[0-9][\s().-]*){3,20}$"
# 1..MAX_MODE_ID as a string of ASCII digits, surrounding whitespace allowed.
MODE_ID_STRING = (
    r"^\s*0*(?:[1-9][0-9]{0,3}|[12][0-9]{4}|3[01][0-9]{3}|32[0-6][0-9]{2}"
    r"|327[0-5][0-9]|3276[0-7])\s*$"
)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "minimum": 1, "maximum": MAX_MODE_ID},
            {"type": "string", "pattern": MODE_ID_STRING},
        ],
        "description": "A defined mode type (1 Home, 2 Office, 3 Mobile in the demo data).",
    }
)
class _ModeIdSchema(serializers.Field):
    pass


# "string" only: the field is declared `allow_null=True` where it is used
# (lcm.api.schema), and drf-spectacular adds the "null" of OpenAPI 3.1 itself;
# saying it here too made ["string", "null", "null"], which JSON Schema refuses.
@extend_schema_field(
    {
        "type": "string",
        "maxLength": 100,
        "pattern": NO_NUL,
        "description": "Name of the sending app; recorded in the audit log. No NUL character.",
    }
)
class SourceSchema(serializers.Field):
    pass


def _text(max_length: int, help_text: str, *, pattern: str = NON_BLANK, **kwargs):
    return serializers.RegexField(
        pattern, max_length=max_length, help_text=help_text, trim_whitespace=False, **kwargs
    )


class SetNewModeNumberDataSchema(serializers.Serializer):
    class Meta:
        ref_name = "SetNewModeNumberData"

    callid = _text(64, "The dialer's call ID; must not be blank.")
    AccountNumber = _text(128, "The LCM key of the contact, e.g. 5|3|1|0|0|44|1.")
    ModeID = _ModeIdSchema()
    ContactNumber = _text(
        64,
        "Digits, an optional leading +, separators (space . - ( )) allowed; 3-20 digits "
        "unless the mode type sets other bounds.",
        pattern=CONTACT_NUMBER,
    )
    DeleteOtherModes = serializers.BooleanField(help_text="A JSON boolean.")
    AgentID = _text(64, "The agent making the change (an agent's token: itself).")


class GetContactModesDataSchema(serializers.Serializer):
    class Meta:
        ref_name = "GetContactModesData"

    callid = _text(
        64,
        "Optional; when given, the call must be on that account.",
        pattern=NO_NUL,
        required=False,
        allow_blank=True,
    )
    AccountNumber = _text(128, "The LCM key of the contact.")


def _string(
    max_length: int, description: str, pattern: str = NON_BLANK, *, nullable: bool = False
) -> dict:
    kind = ["string", "null"] if nullable else "string"  # OpenAPI 3.1: null is a type
    return {"type": kind, "maxLength": max_length, "pattern": pattern, "description": description}


# SetDNC's data as one JSON schema: its cross-field rules (AgentID or its
# alias BlockedBy, exactly one; ModeID when isPhoneNoDNC is true) are part
# of the contract, so the schema says them too.
SET_DNC_DATA = {
    "type": "object",
    "properties": {
        "callid": _string(64, "The dialer's call ID; must not be blank."),
        "AccountNumber": _string(128, "The LCM key of the contact."),
        "AgentID": _string(64, "The agent making the change (an agent's token: itself)."),
        "BlockedBy": _string(64, "The vendor's alias of AgentID: send one of them, not both."),
        "isPhoneNoDNC": {
            "type": "boolean",
            "description": "true: block the number of ModeID; false: the whole contact.",
        },
        "ModeID": {
            "oneOf": [
                {"type": "integer", "minimum": 1, "maximum": MAX_MODE_ID},
                {"type": "string", "pattern": MODE_ID_STRING},
            ],
            "description": "A live mode of the account; required when isPhoneNoDNC is true.",
        },
        "DNCBlockStartDate": _string(
            40, "DD/MM/YYYY, not before today (server time zone). Absent or null: from now.",
            inputs.VENDOR_DATE_PATTERN, nullable=True,
        ),
        "DNCBlockEndDate": _string(
            40, "DD/MM/YYYY, not before today nor the start; blocked to the end of that day. "
            "Absent or null: permanent.", inputs.VENDOR_DATE_PATTERN, nullable=True,
        ),
        "CampaignSpecificDNC": {
            "type": "boolean",
            "default": False,
            "description": "true: only on accounts of the contact's campaign.",
        },
        "AgentComments": _string(
            MAX_DNC_COMMENTS, "Optional, at most 500 characters.", NO_NUL
        ),
    },
    "required": ["callid", "AccountNumber", "isPhoneNoDNC"],
    "allOf": [
        {
            "oneOf": [
                {"required": ["AgentID"], "not": {"required": ["BlockedBy"]}},
                {"required": ["BlockedBy"], "not": {"required": ["AgentID"]}},
            ]
        },
        {
            "oneOf": [
                {"properties": {"isPhoneNoDNC": {"enum": [True]}}, "required": ["ModeID"]},
                {"properties": {"isPhoneNoDNC": {"enum": [False]}}},
            ]
        },
    ],
    "description": "Keys the message does not define are ignored.",
}  # fmt: skip


@extend_schema_field(SET_DNC_DATA)
class SetDNCDataSchema(serializers.Field):
    pass


# The vendor's dates: the very pattern `lcm.inputs.vendor_date` checks.
DATE_SCHEMA = inputs.VENDOR_DATE_PATTERN


def _date(help_text: str, **kwargs):
    return serializers.RegexField(
        DATE_SCHEMA, help_text=help_text + " DD/MM/YYYY.", trim_whitespace=False, **kwargs
    )


def _time(help_text: str):
    return serializers.RegexField(HHMM, help_text=help_text + " HH:mm, 24 h.")


class SetCallbackDataSchema(serializers.Serializer):
    class Meta:
        ref_name = "SetCallbackData"

    callid = _text(64, "The dialer's call ID; must not be blank.")
    AccountNumber = _text(128, "The LCM key of the contact.")
    StartDate = _date("First day of the window, callee's local date.")
    EndDate = _date("Last day of the window.")
    StartTime = _time("Start, in the callee's local time (the mode's TimeZone).")
    EndTime = _time("End, callee's local time; at most 8 hours after the start.")
    CallbackModeId = _ModeIdSchema()
    UserID = _text(64, "The agent (personal: the agent it is reserved for).")
    AgentComments = _text(500, "Optional.", pattern=NO_NUL, required=False, allow_blank=True)


class ScheduledCallBackOverlapDataSchema(serializers.Serializer):
    class Meta:
        ref_name = "ScheduledCallBackOverlapData"

    callid = _text(64, "The dialer's call ID; must not be blank.")
    AccountNumber = _text(128, "The LCM key of the contact.")
    StartFromDate = _date("Window start, the account's local date.")
    StartToDate = _date("Window end date.")
    StartFromTime = _time("Window start time.")
    StartToTime = _time("Window end time.")
    UserID = _text(64, "The agent whose personal callbacks are checked.")


class GetPersonalCallbackListDataSchema(serializers.Serializer):
    class Meta:
        ref_name = "GetPersonalCallbackListData"

    UserID = _text(64, "The agent (an agent's token: itself).")
    FromDate = _date("First start date listed.")
    ToDate = _date("Last start date listed.")
    StartingNoOfRecord = serializers.IntegerField(
        min_value=1, max_value=inputs.MAX_BIGINT, required=False, help_text="1-based; default 1."
    )
    NoofRecords = serializers.IntegerField(
        min_value=1, max_value=MAX_CALLBACK_PAGE, required=False, help_text="Default 100."
    )


# --- Callbacks (dialable-modes.md section 4) -----------------------------------


class VendorTimeField(serializers.Field):
    """`HH:mm`, 24 h, two digits each."""

    default_error_messages = {"invalid": "Must be a time as HH:mm (24 h), e.g. 09:30."}

    def to_internal_value(self, data):
        from lcm import dialable

        try:
            return dialable.parse_hhmm(data.strip() if isinstance(data, str) else data)
        except ValueError:
            self.fail("invalid")

    def to_representation(self, value):
        return value.strftime("%H:%M")


class VendorIntegerField(serializers.Field):
    """A vendor "Number", in bounds: a JSON integer (``20`` or ``20.0``, both
    JSON Schema's integer, which the schema fuzzer sends) or a string of digits."""

    default_error_messages = {"invalid": "Must be a whole number between {min} and {max}."}

    def __init__(self, *, minimum: int, maximum: int, **kwargs):
        self.minimum, self.maximum = minimum, maximum
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                return inputs.bounded_int(data, minimum=self.minimum, maximum=self.maximum)
            except inputs.OutOfBounds:
                pass
        elif (
            not isinstance(data, bool)
            and isinstance(data, int | float)
            and (isinstance(data, int) or data.is_integer())
            and self.minimum <= data <= self.maximum
        ):
            return int(data)
        self.fail("invalid", min=self.minimum, max=self.maximum)

    def to_representation(self, value):
        return value


class PageField(VendorIntegerField):
    """A positive integer (a page's start or size)."""

    def __init__(self, *, maximum: int, **kwargs):
        super().__init__(minimum=1, maximum=maximum, **kwargs)


class SetCallbackData(MessageData):
    callid = StrictCharField(max_length=64, allow_blank=True, trim_whitespace=True)
    AccountNumber = StrictCharField(max_length=128)
    StartDate = VendorDateField()
    EndDate = VendorDateField()
    StartTime = VendorTimeField()
    EndTime = VendorTimeField()
    CallbackModeId = ModeIdField()
    UserID = StrictCharField(max_length=64)
    AgentComments = StrictCharField(max_length=500, required=False, allow_blank=True)


class ScheduledCallBackOverlapData(MessageData):
    callid = StrictCharField(max_length=64, allow_blank=True, trim_whitespace=True)
    AccountNumber = StrictCharField(max_length=128)
    StartFromDate = VendorDateField()
    StartToDate = VendorDateField()
    StartFromTime = VendorTimeField()
    StartToTime = VendorTimeField()
    UserID = StrictCharField(max_length=64)


class GetPersonalCallbackListData(MessageData):
    UserID = StrictCharField(max_length=64)
    FromDate = VendorDateField()
    ToDate = VendorDateField()
    StartingNoOfRecord = PageField(maximum=inputs.MAX_BIGINT, required=False, default=1)
    NoofRecords = PageField(maximum=MAX_CALLBACK_PAGE, required=False, default=MAX_CALLBACK_PAGE)
