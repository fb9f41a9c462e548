"""Outcomes through the envelope (spec campaign-services.md section 4):
SetCallOutComeOffline (reads the telephony catalogue),
SetBusinessOutcomeWithComments and SetBusinessOutcomeWithCallOutcome.

Their data shapes (types only), handlers and OpenAPI shapes; the rules are
`lcm.actions.outcomes`. Registered in `lcm.api.handlers.HANDLERS` and
`lcm.api.schema.MESSAGES`, one line each.
"""

from __future__ import annotations

import decimal
import re

from rest_framework import serializers

from lcm.actions import RequestContext, outcomes

from .serializers import (
    NO_NUL,
    NON_BLANK,
    MessageData,
    ModeIdField,
    StrictCharField,
    VendorDateField,
    VendorIntegerField,
    _date,
    _ModeIdSchema,
    _text,
)

MAX_OUTCOME_ID = 999_999_999  # nine digits: a pattern can say it
MAX_COMMENTS = 500
MAX_TARGET_AMOUNT = decimal.Decimal("999999999999.99")
_AMOUNT = re.compile(r"\s*([0-9]{1,12})(?:\.([0-9]{1,2}))?\s*", re.ASCII)


class AmountField(serializers.Field):
    """A number ≥ 0: a JSON number (rounded to the cent) or a string of digits
    with at most two decimals (`120.50`)."""

    default_error_messages = {
        "invalid": "Must be a number from 0 to 999999999999.99 (a string: at most two decimals)."
    }

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int | float):  # a JSON number: to the cent (ours)
            value = decimal.Decimal(repr(data)) if isinstance(data, float) else None
            if value is None:
                value = decimal.Decimal(data) if abs(data) < 10**13 else MAX_TARGET_AMOUNT * 2
            if not value.is_finite() or not 0 <= value <= MAX_TARGET_AMOUNT:
                self.fail("invalid")
            return value.quantize(decimal.Decimal("0.01"), rounding=decimal.ROUND_HALF_UP)
        if not isinstance(data, str) or _AMOUNT.fullmatch(data) is None:
            self.fail("invalid")
        return decimal.Decimal(data.strip()).quantize(decimal.Decimal("0.01"))

    def to_representation(self, value):
        return value


class SetCallOutComeOfflineData(MessageData):
    AccountNumber = StrictCharField(max_length=128)


class _BusinessOutcomeData(MessageData):
    callid = StrictCharField(max_length=64, allow_blank=True, trim_whitespace=True)
    AccountNumber = StrictCharField(max_length=128)
    UserID = StrictCharField(max_length=64)
    AgentComments = StrictCharField(
        max_length=MAX_COMMENTS, required=False, allow_blank=True, default=""
    )
    LeadScore = VendorIntegerField(minimum=0, maximum=100, required=False, default=0)
    TargetAmount = AmountField(required=False, default=decimal.Decimal("0.00"))


class SetBusinessOutcomeWithCommentsData(_BusinessOutcomeData):
    OutcomeId = VendorIntegerField(minimum=0, maximum=MAX_OUTCOME_ID)


class SetBusinessOutcomeWithCallOutcomeData(_BusinessOutcomeData):
    BusinessOutcome = VendorIntegerField(minimum=0, maximum=MAX_OUTCOME_ID)
    CallOutcome = StrictCharField(max_length=100)
    ModeID = ModeIdField(required=False)
    DNCBlockEndDate = VendorDateField(required=False, allow_null=True)


# --- Handlers -----------------------------------------------------------------


def _validated(serializer_class, data):
    from .handlers import _validated as validated

    return validated(serializer_class, data)


def set_call_outcome_offline(data: dict, *, user, context: RequestContext) -> list:
    valid = _validated(SetCallOutComeOfflineData, data)
    rows = outcomes.catalogue(account_number=valid["AccountNumber"], actor=user)
    return [{"OutComeID": str(row.pk), "Description": row.description} for row in rows]


def set_business_outcome_with_comments(data: dict, *, user, context: RequestContext) -> dict:
    valid = _validated(SetBusinessOutcomeWithCommentsData, data)
    outcomes.set_outcome(
        callid=valid["callid"],
        account_number=valid["AccountNumber"],
        agent_id=valid["UserID"],
        business_outcome=valid["OutcomeId"],
        outcome_field="OutcomeId",
        comments=valid["AgentComments"].strip(),
        lead_score=valid["LeadScore"],
        target_amount=valid["TargetAmount"],
        actor=user,
        context=context,
    )
    return {"success": True}


def set_business_outcome_with_call_outcome(data: dict, *, user, context: RequestContext) -> dict:
    valid = _validated(SetBusinessOutcomeWithCallOutcomeData, data)
    outcomes.set_outcome(
        callid=valid["callid"],
        account_number=valid["AccountNumber"],
        agent_id=valid["UserID"],
        business_outcome=valid["BusinessOutcome"],
        outcome_field="BusinessOutcome",
        call_outcome=valid["CallOutcome"],
        mode_id=valid.get("ModeID"),
        dnc_end=valid.get("DNCBlockEndDate"),
        comments=valid["AgentComments"].strip(),
        lead_score=valid["LeadScore"],
        target_amount=valid["TargetAmount"],
        actor=user,
        context=context,
    )
    return {"success": True}


# --- OpenAPI shapes -------------------------------------------------------------

# The strings `inputs.bounded_int` takes within each bound: spaces, an optional +,
# leading zeros, then the digits.
NUMBER_STRINGS = {
    100: r"^\s*\+?0*(?:[0-9]|[1-9][0-9]|100)\s*$",
    MAX_OUTCOME_ID: r"^\s*\+?0*[0-9]{1,9}\s*$",
}


def _vendor_integer(minimum: int, maximum: int, description: str, **kwargs):
    from drf_spectacular.utils import extend_schema_field

    @extend_schema_field(
        {
            "oneOf": [
                {"type": "integer", "minimum": minimum, "maximum": maximum},
                {"type": "string", "pattern": NUMBER_STRINGS[maximum]},
            ],
            "description": description,
        }
    )
    class VendorInteger(serializers.Field):
        pass

    return VendorInteger(**kwargs)


def _amount(**kwargs):
    from drf_spectacular.utils import extend_schema_field

    @extend_schema_field(
        {
            "oneOf": [
                {"type": "number", "minimum": 0, "maximum": 999999999999.99},  # to the cent
                {"type": "string", "pattern": r"^\s*[0-9]{1,12}(\.[0-9]{1,2})?\s*$"},
            ],
            "description": "Optional, default 0: a number ≥ 0 (rounded to the cent), or a "
            "string of digits with at most two decimals.",
        }
    )
    class Amount(serializers.Field):
        pass

    return Amount(**kwargs)


class SetCallOutComeOfflineDataSchema(serializers.Serializer):
    class Meta:
        ref_name = "SetCallOutComeOfflineData"

    AccountNumber = _text(128, "The LCM key of the contact (an agent: of its own calls).")


def _business_fields(outcome_name: str) -> dict:
    return {
        "callid": _text(64, "The dialer's call ID; must not be blank."),
        "AccountNumber": _text(128, "The LCM key of the contact."),
        outcome_name: _vendor_integer(
            0, MAX_OUTCOME_ID, "An OutcomeID of the contact's campaign (demo: 101, 102, 103)."
        ),
        "UserID": _text(64, "The agent (an agent's token: itself)."),
        "AgentComments": _text(
            MAX_COMMENTS, "Optional, at most 500 characters.", pattern=NO_NUL,
            required=False, allow_blank=True,
        ),
        "LeadScore": _vendor_integer(0, 100, "Optional, default 0: 0-100.", required=False),
        "TargetAmount": _amount(required=False),
    }  # fmt: skip


SetBusinessOutcomeWithCommentsDataSchema = type(
    "SetBusinessOutcomeWithCommentsDataSchema",
    (serializers.Serializer,),
    {
        **_business_fields("OutcomeId"),
        "Meta": type("Meta", (), {"ref_name": "SetBusinessOutcomeWithCommentsData"}),
        "__module__": __name__,
    },
)
SetBusinessOutcomeWithCallOutcomeDataSchema = type(
    "SetBusinessOutcomeWithCallOutcomeDataSchema",
    (serializers.Serializer,),
    {
        **_business_fields("BusinessOutcome"),
        "CallOutcome": _text(
            100,
            'A telephony OutComeID ("5") or its Description ("DNC", any case); '
            "SetCallOutComeOffline lists them.",
            pattern=NON_BLANK,
        ),
        "ModeID": _ModeIdSchema(required=False),
        "DNCBlockEndDate": _date(
            "Optional; needed for a DNC outcome when the campaign's DNCPeriodType is "
            "Agent Selection: blocked to the end of that day.",
            required=False,
            allow_null=True,
        ),
        "Meta": type("Meta", (), {"ref_name": "SetBusinessOutcomeWithCallOutcomeData"}),
        "__module__": __name__,
    },
)


class TelephonyOutcomeElement(serializers.Serializer):
    OutComeID = serializers.RegexField(r"^[0-9]+$", help_text="The telephony outcome, a string.")
    Description = serializers.CharField()

    class Meta:
        ref_name = "TelephonyOutcome"


class SetCallOutComeOfflineResponse(serializers.ListSerializer):
    """The vendor's reply is the array itself."""

    child = TelephonyOutcomeElement()


class OutcomeResponse(serializers.Serializer):
    success = serializers.BooleanField(help_text="Always true in a 200.")

    class Meta:
        ref_name = "SetBusinessOutcomeResponse"


# --- The OpenAPI document's examples (tests/test_api_outcomes.py sends them) ---------

_DAVID = "5|3|1|0|0|44|1"
SET_CALL_OUTCOME_OFFLINE = {
    "channel": "LCM",
    "topic": "WebService",
    "subtopic": "SetCallOutComeOffline",
    "data": {"AccountNumber": _DAVID},
}
SET_CALL_OUTCOME_OFFLINE_RESPONSE = {
    "channel": "LCM",
    "topic": "WebService",
    "subtopic": "SetCallOutComeOfflineResponse",
    "message": {
        "callid": None,
        "response": [{"OutComeID": str(i), "Description": d} for i, d in outcomes.SYSTEM_OUTCOMES],
    },
}
SET_BUSINESS_OUTCOME_WITH_COMMENTS = {
    "channel": "LCM",
    "topic": "WebService",
    "subtopic": "SetBusinessOutcomeWithComments",
    "source": "AgentDesktop",
    "data": {
        "callid": "12345",
        "AccountNumber": _DAVID,
        "OutcomeId": 101,
        "UserID": "testagent",
        "AgentComments": "Took the annual plan",
        "LeadScore": 80,
        "TargetAmount": 120.5,
    },
}
SET_BUSINESS_OUTCOME_WITH_CALL_OUTCOME = {
    "channel": "LCM",
    "topic": "WebService",
    "subtopic": "SetBusinessOutcomeWithCallOutcome",
    "source": "AgentDesktop",
    "data": {
        "callid": "12345",
        "AccountNumber": _DAVID,
        "BusinessOutcome": 103,
        "CallOutcome": "DNC",
        "ModeID": 2,
        "UserID": "testagent",
        "AgentComments": "Never on the office line again",
    },
}


def _result(subtopic: str) -> dict:
    return {
        "channel": "LCM",
        "topic": "WebService",
        "subtopic": subtopic,
        "message": {"callid": "12345", "response": {"success": True}},
    }


SET_BUSINESS_OUTCOME_WITH_COMMENTS_RESULT = _result("SetBusinessOutcomeWithCommentsResult")
SET_BUSINESS_OUTCOME_WITH_CALL_OUTCOME_RESULT = _result("SetBusinessOutcomeWithCallOutcomeResult")


def openapi_examples() -> list:
    from drf_spectacular.utils import OpenApiExample

    from .examples import reply_example

    return [
        OpenApiExample("SetCallOutComeOffline", value=SET_CALL_OUTCOME_OFFLINE, request_only=True),
        OpenApiExample(
            "SetBusinessOutcomeWithComments",
            value=SET_BUSINESS_OUTCOME_WITH_COMMENTS,
            request_only=True,
        ),
        OpenApiExample(
            "SetBusinessOutcomeWithCallOutcome (do not call the office again)",
            value=SET_BUSINESS_OUTCOME_WITH_CALL_OUTCOME,
            request_only=True,
        ),
        reply_example("SetCallOutComeOfflineResponse", SET_CALL_OUTCOME_OFFLINE_RESPONSE, 200),
        reply_example(
            "SetBusinessOutcomeWithCommentsResult", SET_BUSINESS_OUTCOME_WITH_COMMENTS_RESULT, 200
        ),
        reply_example(
            "SetBusinessOutcomeWithCallOutcomeResult",
            SET_BUSINESS_OUTCOME_WITH_CALL_OUTCOME_RESULT,
            200,
        ),
    ]
