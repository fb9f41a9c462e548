"""Input shapes of the envelope messages: types only, no business rules.

The contract types are strict: a field the spec calls a string must be a
JSON string, a boolean a JSON boolean (DRF's own fields would quietly turn
`1` into `"1"` or `"yes"` into `True`). ModeID alone accepts both a string
of digits and an integer, as the vendor's sample sends a number.
"""

from rest_framework import serializers

MAX_MODE_ID = 32767


class StrictCharField(serializers.CharField):
    default_error_messages = {"not_a_string": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
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
            data = int(text)
        if not isinstance(data, int):
            self.fail("invalid")
        if not 1 <= data <= MAX_MODE_ID:
            self.fail("range")
        return data

    def to_representation(self, value):
        return value


class SetNewModeNumberData(serializers.Serializer):
    callid = StrictCharField(max_length=64, allow_blank=True, trim_whitespace=True)
    AccountNumber = StrictCharField(max_length=128)
    ModeID = ModeIdField()
    ContactNumber = StrictCharField(max_length=64)
    DeleteOtherModes = StrictBooleanField()
    AgentID = StrictCharField(max_length=64)


class GetContactModesData(serializers.Serializer):
    callid = StrictCharField(max_length=64, required=False, allow_blank=True)
    AccountNumber = StrictCharField(max_length=128)


# --- Shapes for the OpenAPI document only ------------------------------------


class EnvelopeRequest(serializers.Serializer):
    channel = serializers.CharField(help_text="Always `LCM`.")
    topic = serializers.CharField(help_text="`WebService` (compared case-insensitively).")
    subtopic = serializers.ChoiceField(choices=["SetNewModeNumber", "GetContactModes"])
    source = serializers.CharField(
        required=False, help_text="Name of the sending app; recorded in the audit log."
    )
    data = serializers.DictField(
        help_text="SetNewModeNumber: callid, AccountNumber, ModeID, ContactNumber, "
        "DeleteOtherModes, AgentID. GetContactModes: AccountNumber, optional callid."
    )


class ErrorDetail(serializers.Serializer):
    errorType = serializers.CharField()
    errorMessage = serializers.CharField()
    msg = serializers.CharField()
    code = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(), required=False)


class EnvelopeMessage(serializers.Serializer):
    callid = serializers.CharField(allow_null=True)
    response = serializers.DictField()
    error = ErrorDetail(required=False)


class EnvelopeResponse(serializers.Serializer):
    channel = serializers.CharField()
    topic = serializers.CharField()
    subtopic = serializers.CharField()
    message = EnvelopeMessage()
