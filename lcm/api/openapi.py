"""The AutoSchema every lcm view documents itself with (lcm.api.policy), and
its one correction of drf-spectacular."""

from __future__ import annotations

from django.core.validators import RegexValidator
from drf_spectacular.openapi import AutoSchema

BLANK_BRANCH = {"type": "string", "maxLength": 0}


class BlankSafeAutoSchema(AutoSchema):
    """drf-spectacular writes an allow_blank text with a pattern as `oneOf:
    [<the pattern>, {"maxLength": 0}]`. When the pattern accepts "" too, ""
    matches both branches and oneOf (exactly one) refuses it: the document
    refused the `""` the API takes (a business field's Value that clears it,
    an empty AgentComments or LCMKey). Then the pattern alone says it."""

    def _insert_field_validators(self, field, schema):
        super()._insert_field_validators(field, schema)
        branches = schema.get("oneOf", [])
        patterns = [v.regex for v in field.validators if isinstance(v, RegexValidator)]
        if (
            len(branches) == 2
            and branches[1] == BLANK_BRANCH
            and patterns
            and all(p.search("") is not None for p in patterns)
        ):
            del schema["oneOf"]
            schema.update(branches[0])
