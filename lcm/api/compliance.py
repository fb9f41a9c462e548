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

from rest_framework import serializers

from lcm import errors
from lcm.actions import RequestContext, compliance

from .serializers import (
    MessageData,
    ModeIdField,
    StrictBooleanField,
    StrictCharField,
    _ModeIdSchema,
    _text,
)

UNIQUE_ID = re.compile(r"uniqueid[1-9][0-9]?")
MAX_UNIQUE_ID = 255
CONTACTS_COUNT = f"Send from 1 to {compliance.MAX_CONTACTS} contacts."
NOT_AN_OBJECT = "Each contact must be a JSON object."
REPEATED_REQUEST_ID = "requestid {requestid!r} is repeated: each contact needs its own."
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
    requests, seen = [], set()
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
            fields[f"{where}.requestid"] = [REPEATED_REQUEST_ID.format(requestid=requestid)]
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


class ContactSchema(serializers.Serializer):
    class Meta:
        ref_name = "ComplianceContact"

    requestid = _text(64, "Unique in the request; echoed.")
    lcmkey = _text(128, "The contact's LCM key (AccountNumber).")
    ModeID = _ModeIdSchema(required=False)
    uniqueid1 = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_UNIQUE_ID,
        help_text="Optional, echoed; so are uniqueid2 … uniqueid99.",
    )


class ComplianceCheckDataSchema(serializers.Serializer):
    class Meta:
        ref_name = "ComplianceCheckData"

    campaignname = _text(100, "A CampaignID, else a CampaignName (demo: Spring).")
    greenzonecheck = serializers.BooleanField(help_text="Judge the calling window.")
    statelawcheck = serializers.BooleanField(help_text="Judge the state's calling rule.")
    voicemailcheck = serializers.BooleanField(
        help_text="Judge whether voicemail may be left; needs statelawcheck."
    )
    contacts = ContactSchema(many=True, min_length=1, max_length=compliance.MAX_CONTACTS)


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
