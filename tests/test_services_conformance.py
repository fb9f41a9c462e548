"""Issue 31's conformance walk (spec campaign-services.md, sections 2, 6,
7, 8): what hostile input against the demo showed, each through the real
stack: a refusal names the field it is about and changes nothing, "any
case" is any case of the vendor's ASCII words, and a value is stored as
its type writes it."""

from __future__ import annotations

import pytest

from lcm.models import Agent, ModeChange

from .conftest import client_for
from .test_agent_services import DAVID, items, ok, refused, values_of

pytestmark = pytest.mark.django_db

BASE = {"callid": "12345", "AccountNumber": DAVID, "AgentID": "testagent"}
W = "SetContactBusinessFields"


@pytest.mark.parametrize(
    ("item", "key", "words"),
    [
        ({"FieldName": "Email", "DataType": "String", "Format": ""}, "businessField[1].Value",
         "This field is required."),
        ({"FieldName": "Balance", "Value": 12, "DataType": "Number", "Format": ""},
         "businessField[1].Value", "Must be a string."),
        ({"FieldName": "Email", "Value": "x" * 256, "DataType": "String", "Format": ""},
         "businessField[1].Value", "Ensure this field has no more than 255 characters."),
        ({"FieldName": "Email", "Value": "a\x00b", "DataType": "String", "Format": ""},
         "businessField[1].Value", None),
        (None, "businessField[1]", "Each business field must be a JSON object."),
        (["Email"], "businessField[1]", "Each business field must be a JSON object."),
    ],
)  # fmt: skip
def test_a_bad_item_is_named_by_its_index_and_key(agent_client, item, key, words):
    good = items(("DueDate", "31/01/2027", "DateTime"))[0]
    error = refused(agent_client, W, 400, "invalid_fields", **BASE, businessField=[good, item])
    assert list(error["fields"]) == [key], error
    assert error["errorMessage"] == f"Invalid data: {key}."
    if words:
        assert error["fields"][key] == [words]
    assert values_of() == {"CustomerRef": "DB-0001", "Balance": "120.50"}


def test_the_list_itself_is_named_businessfield(agent_client):
    for shape in ([], "Email=x", {"FieldName": "Email"}, items(("Email", "a@b.c", "String")) * 51):
        error = refused(agent_client, W, 400, "invalid_fields", **BASE, businessField=shape)
        assert error["fields"] == {"businessField": ["Must be a list of 1 to 50 business fields."]}


def test_minus_zero_is_stored_as_zero(agent_client):
    before = ModeChange.objects.count()
    ok(agent_client, W, **BASE, businessField=items(("Balance", "-0", "Number")))
    assert values_of()["Balance"] == "0.00"
    entry = ModeChange.objects.get(seq__gt=before)
    assert entry.business_fields == [{"FieldName": "Balance", "before": "120.50", "after": "0.00"}]
    # "-0.00" is the same value again: nothing changes, nothing is written.
    ok(agent_client, W, **BASE, businessField=items(("Balance", "-0.00", "Number")))
    assert ModeChange.objects.count() == before + 1


FULLWIDTH_TALKING = "\uff54\uff41\uff4c\uff4b\uff49\uff4e\uff47"


@pytest.mark.parametrize("spelling", ["talk\u0131ng", "TALK\u0130NG", FULLWIDTH_TALKING])
def test_agent_state_is_any_case_of_the_ascii_words_only(agent_client, spelling):
    # "\u0131" (dotless i).upper() is "I": without the ASCII rule it was TALKING, which
    # the OpenAPI document's pattern ([Tt][Aa]…) refuses.
    refused(agent_client, "SendAgentState", 400, "invalid_fields", agentID="testagent",
            agentState=spelling)  # fmt: skip
    assert Agent.objects.get(agent_id="testagent").state == ""
    ok(agent_client, "SendAgentState", agentID="testagent", agentState="tAlKiNg")
    assert Agent.objects.get(agent_id="testagent").state == "TALKING"


@pytest.mark.parametrize("spelling", ["\u0131nbound", "\uff49\uff4e\uff42\uff4f\uff55\uff4e\uff44"])
def test_call_type_is_any_case_of_the_ascii_words_only(agent_client, spelling):
    error = refused(agent_client, "GetCampaignsForMCDRequest", 400, "invalid_fields",
                    ANI="2025550143", CallType=spelling)  # fmt: skip
    assert error["fields"] == {"CallType": ["Must be INBOUND or OUTBOUND."]}
    reply = ok(client_for("dialer"), "GetCampaignsForMCDRequest", ANI="2025550143",
               CallType="Inbound")  # fmt: skip
    assert [m["Mode"] for m in reply["response"]] == ["Office"]


# --- the OpenAPI document says what the API accepts ---------------------------------


def request_validator(client, subtopic):
    import jsonschema

    document = client.get("/api/schema/?format=json").json()
    return document, jsonschema.Draft202012Validator(
        {"$ref": f"#/components/schemas/{subtopic}Request", "components": document["components"]}
    )


def test_a_value_the_api_takes_blank_is_valid_blank_in_the_document(agent_client):
    """drf-spectacular writes a blank-allowed pattern field as oneOf [the
    pattern, maxLength 0]: "" matches both, so oneOf refused the very ""
    that clears a business field (spec section 6) or leaves AgentComments
    and LCMKey out."""
    import jsonschema

    from .conftest import envelope

    document, fields = request_validator(agent_client, W)
    clear = envelope(W, **BASE, businessField=items(("Email", "", "String")))
    fields.validate(clear)
    ok(agent_client, W, **clear["data"])
    _, inbound = request_validator(agent_client, "GetCampaignsForMCDRequest")
    inbound.validate(envelope("GetCampaignsForMCDRequest", ANI="2025550143", CallType="INBOUND",
                              LCMKey="", BusinessFieldQueryToSearch="", DNIS=""))  # fmt: skip
    _, outcome = request_validator(agent_client, "SetBusinessOutcomeWithComments")
    outcome.validate(envelope("SetBusinessOutcomeWithComments", callid="12345",
                              AccountNumber=DAVID, OutcomeId=101, UserID="testagent",
                              AgentComments=""))  # fmt: skip

    blank_twice = []

    def walk(node, path):
        if isinstance(node, dict):
            branches = node.get("oneOf", [])
            if {"type": "string", "maxLength": 0} in branches and all(
                jsonschema.Draft202012Validator(b).is_valid("") for b in branches
            ):
                blank_twice.append(path)
            for key, value in node.items():
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}/{index}")

    walk(document, "")
    assert not blank_twice, blank_twice


def test_the_business_field_list_is_1_to_50_in_the_document(agent_client):
    import jsonschema

    from .conftest import envelope

    _, fields = request_validator(agent_client, W)
    one = items(("Email", "a@b.c", "String"))
    fields.validate(envelope(W, **BASE, businessField=one * 50))
    for shape in ([], one * 51):
        with pytest.raises(jsonschema.ValidationError):
            fields.validate(envelope(W, **BASE, businessField=shape))
        refused(agent_client, W, 400, "invalid_fields", **BASE, businessField=shape)
