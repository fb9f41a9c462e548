"""ComplianceCheck through the envelope (spec campaign-services.md section 5):
its data shape (types only), handler and OpenAPI shapes; the rules are
`lcm.actions.compliance`. Registered in `lcm.api.handlers.HANDLERS` and
`lcm.api.schema.MESSAGES`, one line each.

`contacts` is a list of objects, so its items are checked here one by one
(the flat `MessageData` base binds fields once per class, which a nested
list cannot share): a bad item is 400 `invalid_fields` naming
`contacts[<index>].<key>`.
"""

from __future__ import annotations

import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from lcm import errors
from lcm.actions import RequestContext, compliance

from .serializers import (
    MAX_MODE_ID,
    MODE_ID_STRING,
    NO_NUL,
    NON_BLANK,
    MessageData,
    ModeIdField,
    StrictBooleanField,
    StrictCharField,
)

UNIQUE_ID = re.compile(r"uniqueid[1-9][0-9]?")
MAX_UNIQUE_ID = 255
CONTACTS_COUNT = f"Send from 1 to {compliance.MAX_CONTACTS} contacts."
NOT_AN_OBJECT = "Each contact must be a JSON object."
REPEATED_REQUEST_ID = "This requestid is already used by an earlier contact: each needs its own."


class RepeatedRequestId(errors.InvalidInput):
    """Two contacts with one requestid: a rule no JSON schema can say."""

    code = "repeated_requestid"


VOICEMAIL_NEEDS_STATE_LAW = "voicemailcheck needs statelawcheck: voicemail is judged on state law."


class ContactsField(serializers.Field):
    default_error_messages = {"invalid": CONTACTS_COUNT}

    def to_internal_value(self, data):
        if not isinstance(data, list) or not 1 <= len(data) <= compliance.MAX_CONTACTS:
            self.fail("invalid")
        return data


class ComplianceCheckData(MessageData):
    campaignname = StrictCharField(max_length=100)
    greenzonecheck = StrictBooleanField()
    statelawcheck = StrictBooleanField()
    voicemailcheck = StrictBooleanField()
    contacts = ContactsField()


class ContactData(MessageData):
    requestid = StrictCharField(max_length=64)
    lcmkey = StrictCharField(max_length=128)
    ModeID = ModeIdField(required=False)


_UNIQUE_ID_VALUE = StrictCharField(
    max_length=MAX_UNIQUE_ID, allow_blank=True, trim_whitespace=False
)


def _contacts(raw: list) -> list[compliance.ContactRequest]:
    fields: dict[str, list[str]] = {}
    requests, seen, repeated = [], set(), []
    for index, item in enumerate(raw):
        where = f"contacts[{index}]"
        if not isinstance(item, dict):
            fields[where] = [NOT_AN_OBJECT]
            continue
        serializer = ContactData(data=item)
        if not serializer.is_valid():
            for name, problems in serializer.errors.items():
                fields[f"{where}.{name}"] = [str(p) for p in problems]
            continue
        valid = serializer.validated_data
        echoed = {}
        for key in sorted((k for k in item if UNIQUE_ID.fullmatch(k)), key=lambda k: int(k[8:])):
            try:
                echoed[key] = _UNIQUE_ID_VALUE.run_validation(item[key])
            except serializers.ValidationError as exc:
                fields[f"{where}.{key}"] = [str(p) for p in exc.detail]
        requestid = valid["requestid"]
        if requestid in seen:
            repeated.append(f"{where}.requestid")
        seen.add(requestid)
        requests.append(
            compliance.ContactRequest(
                requestid=requestid,
                lcmkey=valid["lcmkey"],
                mode_id=valid.get("ModeID"),
                echoed=echoed,
            )
        )
    if fields:
        raise errors.InvalidInput("Invalid data: " + ", ".join(sorted(fields)) + ".", fields=fields)
    if repeated:
        raise RepeatedRequestId(
            "Each contact needs its own requestid: " + ", ".join(repeated) + " repeat one.",
            fields={where: [REPEATED_REQUEST_ID] for where in repeated},
        )
    return requests


def compliance_check(data: dict, *, user, context: RequestContext) -> dict:
    from .handlers import _validated

    valid = _validated(ComplianceCheckData, data)
    if valid["voicemailcheck"] and not valid["statelawcheck"]:
        raise errors.InvalidInput(
            VOICEMAIL_NEEDS_STATE_LAW, fields={"voicemailcheck": [VOICEMAIL_NEEDS_STATE_LAW]}
        )
    contacts = _contacts(valid["contacts"])
    results = compliance.check(
        campaign_name=valid["campaignname"],
        checks=compliance.Checks(
            greenzone=valid["greenzonecheck"],
            statelaw=valid["statelawcheck"],
            voicemail=valid["voicemailcheck"],
        ),
        contacts=contacts,
        actor=user,
    )
    return {"success": True, "contacts": results}


# --- OpenAPI shapes -------------------------------------------------------------


def _string(max_length: int, description: str, pattern: str = NON_BLANK) -> dict:
    return {
        "type": "string",
        "maxLength": max_length,
        "pattern": pattern,
        "description": description,
    }


# ComplianceCheck's data as one JSON schema: its cross-field rule (voicemail
# needs state law) is part of the contract, so the schema says it too. What
# it cannot say: `requestid` unique in the request (400
# `repeated_requestid`, tests/test_schema_fuzz.py knows it).
COMPLIANCE_CHECK_DATA = {
    "type": "object",
    "properties": {
        "campaignname": _string(100, "A CampaignID, else a CampaignName (demo: Spring)."),
        "greenzonecheck": {"type": "boolean", "description": "Judge the calling window."},
        "statelawcheck": {"type": "boolean", "description": "Judge the state's calling rule."},
        "voicemailcheck": {
            "type": "boolean",
            "description": "Judge whether voicemail may be left; needs statelawcheck.",
        },
        "contacts": {
            "type": "array",
            "minItems": 1,
            "maxItems": compliance.MAX_CONTACTS,
            "items": {
                "type": "object",
                "properties": {
                    "requestid": _string(64, "Unique in the request; echoed."),
                    "lcmkey": _string(128, "The contact's LCM key (AccountNumber)."),
                    "ModeID": {
                        "oneOf": [
                            {"type": "integer", "minimum": 1, "maximum": MAX_MODE_ID},
                            {"type": "string", "pattern": MODE_ID_STRING},
                        ],
                        "description": "Optional: the mode to judge (default: the lowest live).",
                    },
                    "uniqueid1": _string(
                        MAX_UNIQUE_ID, "Optional, echoed; so are uniqueid2 … uniqueid99.", NO_NUL
                    ),
                },
                "required": ["requestid", "lcmkey"],
            },
            "description": f"1 to {compliance.MAX_CONTACTS} contacts, judged in this order.",
        },
    },
    "required": ["campaignname", "greenzonecheck", "statelawcheck", "voicemailcheck", "contacts"],
    "allOf": [
        {
            "oneOf": [
                {"properties": {"voicemailcheck": {"enum": [False]}}},
                {
                    "properties": {
                        "voicemailcheck": {"enum": [True]},
                        "statelawcheck": {"enum": [True]},
                    }
                },
            ]
        }
    ],
    "description": "Keys the message does not define are ignored.",
}


@extend_schema_field(COMPLIANCE_CHECK_DATA)
class ComplianceCheckDataSchema(serializers.Field):
    pass


class ContactError(serializers.Serializer):
    code = serializers.ChoiceField(choices=sorted(compliance.NOT_JUDGED))
    msg = serializers.CharField()

    class Meta:
        ref_name = "ComplianceContactError"


class ContactResult(serializers.Serializer):
    class Meta:
        ref_name = "ComplianceContactResult"

    requestid = serializers.CharField()
    lcmkey = serializers.CharField()
    uniqueid1 = serializers.CharField(required=False, help_text="Echoed when sent (and so on).")
    ModeID = serializers.IntegerField(allow_null=True, help_text="The mode judged.")
    CValue = serializers.CharField(allow_blank=True)
    TimeZone = serializers.CharField(allow_blank=True)
    TimeZone1 = serializers.CharField(allow_blank=True)
    TimeZone2 = serializers.CharField(allow_blank=True)
    TimeZone3 = serializers.CharField(allow_blank=True)
    ModeDialingStartTime = serializers.CharField(
        allow_blank=True, help_text="HH:MM, the strictest overlap, in TimeZone's local time."
    )
    ModeDialingEndTime = serializers.CharField(allow_blank=True)
    State = serializers.CharField(allow_blank=True, help_text='US state; "": no rule.')
    greenzone = serializers.BooleanField(allow_null=True, help_text="null: not asked.")
    statelaw = serializers.BooleanField(allow_null=True)
    voicemail = serializers.BooleanField(allow_null=True)
    DNC = serializers.BooleanField(allow_null=True)
    compliant = serializers.BooleanField()
    reasons = serializers.ListField(
        child=serializers.ChoiceField(
            choices=[
                compliance.OUTSIDE_WINDOW,
                compliance.STATE_LAW,
                compliance.VOICEMAIL_NOT_ALLOWED,
                compliance.DO_NOT_CALL,
            ]
        )
    )
    error = ContactError(required=False, help_text="A contact not judged.")


class ComplianceCheckResponse(serializers.Serializer):
    success = serializers.BooleanField(help_text="Always true in a 200.")
    contacts = ContactResult(many=True, help_text="In request order.")


# --- The OpenAPI document's examples (tests/test_api_compliance.py sends them) -------

COMPLIANCE_CHECK = {
    "channel": "LCM",
    "topic": "WebService",
    "subtopic": "ComplianceCheck",
    "data": {
        "campaignname": "Spring",
        "greenzonecheck": True,
        "statelawcheck": True,
        "voicemailcheck": True,
        "contacts": [
            {"requestid": "r1", "lcmkey": "5|3|1|0|0|44|1", "uniqueid1": "u-1", "ModeID": 2}
        ],
    },
}
# At 10:00 in New York on a weekday (the spec's sample).
COMPLIANCE_CHECK_RESULT = {
    "channel": "LCM",
    "topic": "WebService",
    "subtopic": "ComplianceCheckResult",
    "message": {
        "callid": None,
        "response": {
            "success": True,
            "contacts": [
                {
                    "requestid": "r1",
                    "lcmkey": "5|3|1|0|0|44|1",
                    "uniqueid1": "u-1",
                    "ModeID": 2,
                    "CValue": "2025550143",
                    "TimeZone": "America/New_York",
                    "TimeZone1": "",
                    "TimeZone2": "",
                    "TimeZone3": "",
                    "ModeDialingStartTime": "08:00",
                    "ModeDialingEndTime": "21:00",
                    "State": "DC",
                    "greenzone": True,
                    "statelaw": True,
                    "voicemail": True,
                    "DNC": False,
                    "compliant": True,
                    "reasons": [],
                }
            ],
        },
    },
}


def openapi_examples() -> list:
    from drf_spectacular.utils import OpenApiExample

    from .examples import reply_example

    return [
        OpenApiExample("ComplianceCheck", value=COMPLIANCE_CHECK, request_only=True),
        reply_example("ComplianceCheckResult", COMPLIANCE_CHECK_RESULT, 200),
    ]
