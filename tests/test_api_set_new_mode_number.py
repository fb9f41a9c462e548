"""SetNewModeNumber through the real HTTP stack (DRF's APIClient, real DB)."""

import json

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lcm import errors
from lcm.models import (
    AuditChainHead,
    Call,
    Campaign,
    CampaignMode,
    ContactMode,
    ModeChange,
    ModeType,
)
from lcm.numbers import NOT_A_NUMBER

from .conftest import (
    DEMO_ENTRIES,
    WEBSERVICE,
    client_for,
    envelope,
    live_modes,
    set_mode_body,
    snapshot,
)
from .factories import ContactModeFactory, ModeTypeFactory, UserFactory

DAVID = "5|3|1|0|0|44|1"
MARIA = "596|485|587|0|0|44|59"

SAMPLE_REQUEST = {
    "channel": "LCM",
    "topic": "WebService",
    "subtopic": "SetNewModeNumber",
    "data": {
        "callid": "12345",
        "AccountNumber": "5|3|1|0|0|44|1",
        "ModeID": 1,
        "ContactNumber": "961084836",
        "DeleteOtherModes": False,
        "AgentID": "testagent",
    },
}
SAMPLE_RESPONSE = {
    "channel": "LCM",
    "topic": "WebService",
    "subtopic": "SetNewModeNumberResult",
    "message": {"callid": "12345", "response": {"success": True}},
}


# A mode's state in an audit entry, without consent or overrides.
NO_SETTINGS = {"pewc": False, "pewc_source": "", "pewc_by": "", "pewc_at": None,
               "time_zone": "", "window": None}  # fmt: skip


def post(client, body, **extra):
    return client.post(WEBSERVICE, body, format="json", **extra)


def test_the_spec_sample_request_gets_the_spec_sample_response(agent_client):
    response = agent_client.post(
        WEBSERVICE,
        json.dumps(SAMPLE_REQUEST),
        content_type="application/json",
        REMOTE_ADDR="10.1.2.3",
        HTTP_X_REQUEST_ID="req-1",
    )

    assert response.status_code == 200
    assert response.json() == SAMPLE_RESPONSE
    assert response["X-Request-ID"] == "req-1"
    assert live_modes(DAVID) == {1: "961084836", 2: "2025550143"}
    entry = ModeChange.objects.exclude(source="seed_demo").get()
    assert {
        "seq": entry.seq,
        "action": entry.action,
        "account_number": entry.account_number,
        "callid": entry.callid,
        "call": entry.call.callid,
        "agent_code": entry.agent_code,
        "username": entry.username,
        "source": entry.source,
        "mode_id": entry.mode_id,
        "old_number": entry.old_number,
        "new_number": entry.new_number,
        "deleted_modes": entry.deleted_modes,
        "client_ip": entry.client_ip,
        "request_id": entry.request_id,
        "prev_hash": entry.prev_hash,
        "modes": entry.modes,
    } == {
        "seq": DEMO_ENTRIES + 1,  # after the demo's (#1 to #4)
        "action": "set",
        "account_number": DAVID,
        "callid": "12345",
        "call": "12345",
        "agent_code": "testagent",
        "username": "testagent",
        "source": "",
        "mode_id": 1,
        "old_number": "6491462346",
        "new_number": "961084836",
        "deleted_modes": [],
        "client_ip": "10.1.2.3",
        "request_id": "req-1",
        "prev_hash": ModeChange.objects.get(seq=DEMO_ENTRIES).hash,
        # The whole of the change: the mode it touched, before and after. The
        # spec sample's number is not a US number: its country stays unknown.
        "modes": [
            {
                "mode_id": 1,
                "before": {**NO_SETTINGS, "number": "6491462346", "e164": ""},
                "after": {**NO_SETTINGS, "number": "961084836", "e164": ""},
            }
        ],
    }
    assert len(entry.hash) == 64


def test_topic_is_compared_case_insensitively_and_source_is_audited(agent_client):
    body = set_mode_body()
    body["topic"] = "Webservice"
    body["source"] = "AgentDesktop 7"

    response = post(agent_client, body)

    assert response.status_code == 200
    assert ModeChange.objects.exclude(source="seed_demo").get().source == "AgentDesktop 7"


def test_mode_id_may_be_a_string_of_digits(agent_client):
    response = post(agent_client, set_mode_body(ModeID="2", ContactNumber="202-555-0100"))

    assert response.status_code == 200
    assert live_modes(DAVID) == {1: "6491462346", 2: "2025550100"}


def test_a_new_mode_is_added_with_no_old_number(agent_client):
    response = post(agent_client, set_mode_body(ModeID=3, ContactNumber=" (202) 555.0177 "))

    assert response.status_code == 200
    assert live_modes(DAVID) == {1: "6491462346", 2: "2025550143", 3: "2025550177"}
    mode = ContactMode.objects.get(account__account_number=DAVID, mode_type_id=3)
    assert mode.number_as_given == "(202) 555.0177"
    entry = ModeChange.objects.exclude(source="seed_demo").get()
    assert (entry.mode_id, entry.old_number, entry.new_number) == (3, "", "2025550177")


def test_delete_other_modes_soft_deletes_them_and_audits_their_numbers(agent_client):
    response = post(agent_client, set_mode_body(ModeID=3, DeleteOtherModes=True))

    assert response.status_code == 200
    assert live_modes(DAVID) == {3: "961084836"}
    deleted = ContactMode.objects.filter(account__account_number=DAVID).exclude(deleted_at=None)
    assert sorted(deleted.values_list("mode_type_id", "number", "deleted_by")) == [
        (1, "6491462346", "testagent"),
        (2, "2025550143", "testagent"),
    ]
    entry = ModeChange.objects.exclude(source="seed_demo").get()
    assert entry.deleted_modes == [
        {"mode_id": 1, "number": "6491462346"},
        {"mode_id": 2, "number": "2025550143"},
    ]


def test_setting_the_same_number_succeeds_and_is_still_audited(agent_client):
    response = post(agent_client, set_mode_body(ContactNumber="6491462346"))

    assert response.status_code == 200
    entry = ModeChange.objects.exclude(source="seed_demo").get()
    assert (entry.old_number, entry.new_number) == ("6491462346", "6491462346")


def test_a_changed_number_loses_consent_and_an_unchanged_one_keeps_it(agent_client):
    ContactMode.objects.filter(account__account_number=DAVID).update(has_consent=True)

    post(agent_client, set_mode_body(ModeID=1, ContactNumber="961084836"))
    post(agent_client, set_mode_body(ModeID=2, ContactNumber="2025550143"))

    consent = dict(
        ContactMode.objects.filter(account__account_number=DAVID).values_list(
            "mode_type_id", "has_consent"
        )
    )
    assert consent == {1: False, 2: True}


def test_an_ended_call_is_allowed_while_the_agent_is_logged_in(agent_client):
    response = post(agent_client, set_mode_body(callid="12300"))

    assert response.status_code == 200
    assert ModeChange.objects.exclude(source="seed_demo").get().callid == "12300"


def test_an_integration_account_may_act_for_any_agent(demo):
    response = post(
        client_for("dialer"),
        set_mode_body(callid="12346", AccountNumber=MARIA, AgentID="otheragent"),
    )

    assert response.status_code == 200
    entry = ModeChange.objects.exclude(source="seed_demo").get()
    assert (entry.agent_code, entry.username) == ("otheragent", "dialer")


def test_mode_bounds_come_from_the_mode_type(agent_client):
    """Where the campaign's enabled mode sets no bounds of its own."""
    CampaignMode.objects.filter(campaign_id="Spring", mode_type=3).update(
        min_length=None, max_length=None
    )
    ModeType.objects.filter(pk=3).update(min_length=10, max_length=10)

    short = post(agent_client, set_mode_body(ModeID=3, ContactNumber="123456789"))
    right = post(agent_client, set_mode_body(ModeID=3, ContactNumber="1234567890"))

    assert short.status_code == 400
    assert short.json()["message"]["error"]["fields"] == {
        "ContactNumber": ["The number has 9 digits; Mobile numbers need at least 10."]
    }
    assert right.status_code == 200


def test_the_campaigns_bounds_override_the_mode_types(agent_client):
    ModeType.objects.filter(pk=3).update(min_length=3, max_length=20)
    CampaignMode.objects.filter(campaign_id="Spring", mode_type=3).update(
        min_length=10, max_length=10
    )

    short = post(agent_client, set_mode_body(ModeID=3, ContactNumber="123456789"))
    right = post(agent_client, set_mode_body(ModeID=3, ContactNumber="1234567890"))

    assert short.status_code == 400
    assert short.json()["message"]["error"]["fields"] == {
        "ContactNumber": ["The number has 9 digits; Mobile numbers need at least 10."]
    }
    assert right.status_code == 200


def test_a_mode_type_the_campaign_does_not_enable_is_refused(agent_client):
    """Spring enables 1, 2 and 3 (the demo data): a defined mode type 4 is
    still refused for its accounts, and nothing changes."""
    ModeTypeFactory(id=4, name="Fax")
    before = ModeChange.objects.count()

    response = post(agent_client, set_mode_body(ModeID=4, ContactNumber="2025550100"))

    assert response.status_code == 400
    error = response.json()["message"]["error"]
    assert (error["code"], error["errorMessage"]) == (
        "unknown_mode",
        "ModeID 4 is not enabled by campaign Spring.",
    )
    assert error["fields"] == {"ModeID": ["ModeID 4 is not enabled by campaign Spring."]}
    assert not ContactMode.objects.filter(mode_type_id=4).exists()
    assert ModeChange.objects.count() == before

    Campaign.objects.filter(code="Spring").update(every_mode_type=True)
    allowed = post(agent_client, set_mode_body(ModeID=4, ContactNumber="2025550100"))
    assert allowed.status_code == 200


@time_machine.travel("2026-11-30T15:00:00Z", tick=False)  # 10:00 in New York
def test_get_contact_modes_lists_the_live_modes(agent_client):
    body = {
        "channel": "LCM",
        "topic": "WebService",
        "subtopic": "GetContactModes",
        "data": {"callid": "12345", "AccountNumber": DAVID},
    }

    response = post(agent_client, body)

    assert response.status_code == 200
    common = {
        "ModeDesc": "Home",
        "CampaignID": "Spring",
        "ModeDialingStartTime": "08:00",
        "ModeDialingEndTime": "21:00",
        "TimeZone": "America/New_York",
        "TimeZone1": "",
        "TimeZone2": "",
        "TimeZone3": "",
        "PEWC": False,
        "ZipCode": "20500",
        "DNC": False,
        "Callable": True,
        "ChannelType": "voice",
    }
    assert response.json() == {
        "channel": "LCM",
        "topic": "WebService",
        "subtopic": "SetContactModes",
        "message": {
            "callid": "12345",
            "response": {
                "success": True,
                "Contactmodes": [
                    # Not a valid US number (649 is the Turks and Caicos): its
                    # country stays unknown, its zone is the account's.
                    {**common, "ModeID": 1, "CValue": "6491462346", "AreaCode": "", "E164": ""},
                    {
                        **common,
                        "ModeID": 2,
                        "ModeDesc": "Office",
                        "CValue": "2025550143",
                        "AreaCode": "202",
                        "E164": "+12025550143",
                    },
                ],
            },
        },
    }
    # The spec's element, field by field and in its order, then the two extras.
    assert list(response.json()["message"]["response"]["Contactmodes"][0]) == [
        "ModeID", "ModeDesc", "CampaignID", "CValue", "ModeDialingStartTime",
        "ModeDialingEndTime", "TimeZone", "TimeZone1", "TimeZone2", "TimeZone3", "PEWC",
        "AreaCode", "ZipCode", "DNC", "Callable", "E164", "ChannelType",
    ]  # fmt: skip


def test_get_contact_modes_refuses_an_unknown_account(agent_client):
    body = {
        "channel": "LCM",
        "topic": "WebService",
        "subtopic": "GetContactModes",
        "data": {"AccountNumber": "nope"},
    }

    response = post(agent_client, body)

    assert response.status_code == 404
    assert response.json()["subtopic"] == "SetContactModes"
    assert response.json()["message"]["error"]["code"] == "unknown_account"


# --- Refusals: the envelope, the status, and nothing changed -----------------


def assert_refused(client, body, status, code, *, raw=None, content_type="application/json"):
    before = snapshot()
    head = AuditChainHead.objects.values_list("seq", "hash").get()
    if raw is not None:
        response = client.post(WEBSERVICE, raw, content_type=content_type)
    else:
        response = post(client, body)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    payload = response.json()
    assert payload["channel"] == "LCM"
    assert payload["topic"] == "WebService"
    assert payload["message"]["response"] == {"success": False}
    error = payload["message"]["error"]
    assert error["errorType"] == "WS_Error"
    assert error["code"] == code
    assert error["errorMessage"] and error["msg"]
    assert snapshot() == before
    assert AuditChainHead.objects.values_list("seq", "hash").get() == head
    return payload


BAD_DATA = [
    pytest.param({"ModeID": "abc"}, "ModeID", id="mode-id-letters"),
    pytest.param({"ModeID": 1.5}, "ModeID", id="mode-id-float"),
    pytest.param({"ModeID": True}, "ModeID", id="mode-id-bool"),
    pytest.param({"ModeID": 0}, "ModeID", id="mode-id-zero"),
    pytest.param({"ModeID": None}, "ModeID", id="mode-id-null"),
    pytest.param({"DeleteOtherModes": "false"}, "DeleteOtherModes", id="delete-string"),
    pytest.param({"DeleteOtherModes": 0}, "DeleteOtherModes", id="delete-int"),
    pytest.param({"ContactNumber": 961084836}, "ContactNumber", id="number-not-string"),
    pytest.param({"AccountNumber": ""}, "AccountNumber", id="account-blank"),
    pytest.param({"AccountNumber": ["x"]}, "AccountNumber", id="account-list"),
    pytest.param({"AgentID": ""}, "AgentID", id="agent-blank"),
    pytest.param({"callid": 12345}, "callid", id="callid-number"),
]


@pytest.mark.parametrize(("change", "field"), BAD_DATA)
def test_ill_typed_fields_are_refused_with_the_field_named(agent_client, change, field):
    payload = assert_refused(agent_client, set_mode_body(**change), 400, "invalid_fields")

    assert list(_error_of(payload)["fields"]) == [field]


def _error_of(payload):
    return payload["message"]["error"]


@pytest.mark.parametrize(
    "field", ["AccountNumber", "ModeID", "ContactNumber", "DeleteOtherModes", "AgentID"]
)
def test_each_missing_field_is_refused(agent_client, field):
    body = set_mode_body()
    del body["data"][field]

    payload = assert_refused(agent_client, body, 400, "invalid_fields")

    assert _error_of(payload)["fields"] == {field: ["This field is required."]}


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("96108483a", NOT_A_NUMBER),
        ("+", NOT_A_NUMBER),
        ("12", "The number has 2 digits; Home numbers need at least 3."),
        ("1" * 21, "The number has 21 digits; Home numbers allow at most 20."),
        ("++12345", NOT_A_NUMBER),
    ],
)
def test_bad_numbers_are_refused_with_the_reason(agent_client, number, reason):
    payload = assert_refused(
        agent_client, set_mode_body(ContactNumber=number), 400, "invalid_number"
    )

    assert _error_of(payload)["fields"] == {"ContactNumber": [reason]}


def test_an_undefined_mode_id_is_refused(agent_client):
    payload = assert_refused(agent_client, set_mode_body(ModeID=9), 400, "unknown_mode")

    assert _error_of(payload)["fields"] == {"ModeID": ["ModeID 9 is not defined."]}


@pytest.mark.parametrize("callid", ["", "   ", None])
def test_an_empty_callid_gets_the_vendor_error(agent_client, callid):
    body = set_mode_body(callid=callid)
    if callid is None:
        del body["data"]["callid"]

    payload = assert_refused(agent_client, body, 400, "callid_empty")

    error = _error_of(payload)
    assert (error["errorMessage"], error["msg"]) == (
        errors.CALLID_EMPTY,
        errors.INVALID_CALL_ID_MSG,
    )
    assert (error["errorMessage"], error["msg"]) == ("Callid is empty", "Invalid Call ID.")


def test_an_unknown_callid_gets_the_vendor_error(agent_client):
    payload = assert_refused(agent_client, set_mode_body(callid="99999"), 404, "unknown_call")

    error = _error_of(payload)
    assert (error["errorMessage"], error["msg"]) == ("Invalid Call ID:99999", "Invalid Call ID.")
    assert payload["message"]["callid"] == "99999"
    assert payload["subtopic"] == "SetNewModeNumberResult"


def test_an_unknown_account_is_404(agent_client):
    assert_refused(agent_client, set_mode_body(AccountNumber="1|2|3"), 404, "unknown_account")


def test_a_call_of_another_account_is_409(agent_client):
    assert_refused(agent_client, set_mode_body(AccountNumber=MARIA), 409, "call_account_mismatch")


def test_a_call_of_another_agent_is_409(demo):
    body = set_mode_body(callid="12345", AgentID="otheragent")
    assert_refused(client_for("dialer"), body, 409, "call_agent_mismatch")


def test_an_ended_call_of_a_logged_out_agent_fails_the_prerequisite(demo):
    body = set_mode_body(callid="12301", AgentID="offagent")
    payload = assert_refused(client_for("offagent"), body, 409, "prerequisite_failed")
    assert _error_of(payload)["msg"] == "The agent must be on an active call or logged in."


def test_a_do_not_call_number_is_409(agent_client):
    assert_refused(agent_client, set_mode_body(ContactNumber="202-555-0199"), 409, "do_not_call")


def test_an_agent_may_not_act_as_another_agent(demo):
    body = set_mode_body(callid="12346", AccountNumber=MARIA, AgentID="otheragent")
    assert_refused(client_for("testagent"), body, 403, "forbidden")


def test_an_agent_naming_an_unknown_agent_is_403(agent_client):
    assert_refused(agent_client, set_mode_body(AgentID="ghost"), 403, "forbidden")


def test_an_integration_naming_an_unknown_agent_is_404(demo):
    assert_refused(client_for("dialer"), set_mode_body(AgentID="ghost"), 404, "unknown_agent")


def test_a_user_who_is_no_agent_and_holds_no_permission_is_403(demo):
    UserFactory(username="viewer", is_staff=True)
    assert_refused(client_for("viewer"), set_mode_body(), 403, "forbidden")


def test_no_token_is_a_401_envelope(demo):
    payload = assert_refused(client_for(None), set_mode_body(), 401, "not_authenticated")
    assert payload["message"]["callid"] == "12345"


def test_a_bad_token_is_a_401_envelope_with_the_auth_scheme(demo):
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = post(client, set_mode_body())

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["message"]["error"]["code"] == "authentication_failed"
    assert not ModeChange.objects.exclude(source="seed_demo").exists()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ('{"channel": "LCM", ', "malformed_json"),
        ("[1, 2]", "invalid_envelope"),
        ('"just a string"', "invalid_envelope"),
        ("null", "invalid_envelope"),
    ],
)
def test_a_body_that_is_not_an_envelope_is_400(agent_client, raw, code):
    assert_refused(agent_client, None, 400, code, raw=raw)


@pytest.mark.parametrize(
    ("key", "value", "code"),
    [
        ("channel", "XYZ", "wrong_channel"),
        ("channel", None, "wrong_channel"),
        ("topic", "Other", "wrong_topic"),
        ("topic", 5, "wrong_topic"),
        ("subtopic", "DeleteEverything", "unknown_subtopic"),
        ("subtopic", None, "unknown_subtopic"),
        ("data", "x", "invalid_envelope"),
        ("data", None, "invalid_envelope"),
        ("source", 42, "invalid_envelope"),
    ],
)
def test_a_wrong_envelope_key_is_400(agent_client, key, value, code):
    body = set_mode_body()
    if value is None:
        del body[key]
    else:
        body[key] = value
    assert_refused(agent_client, body, 400, code)


def test_a_non_json_content_type_is_415_envelope(agent_client):
    assert_refused(
        agent_client,
        None,
        415,
        "unsupported_media_type",
        raw="a=b",
        content_type="application/x-www-form-urlencoded",
    )


def test_get_is_405_envelope(agent_client):
    response = agent_client.get(WEBSERVICE)

    assert response.status_code == 405
    assert response.json()["message"]["error"]["code"] == "method_not_allowed"


# --- Budgets ------------------------------------------------------------------


def _queries_for(client, body):
    with CaptureQueriesContext(connection) as ctx:
        response = post(client, body)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_the_number_of_modes(agent_client):
    few = _queries_for(agent_client, set_mode_body(DeleteOtherModes=True))
    call = Call.objects.get(callid="12345")
    for mode_id in range(2, 12):
        ContactModeFactory(account=call.account, mode_type=ModeTypeFactory(id=mode_id))

    many = _queries_for(agent_client, set_mode_body(ContactNumber="5550001", DeleteOtherModes=True))

    assert many == few
    assert ContactMode.objects.filter(account=call.account, deleted_at=None).count() == 1


def test_get_contact_modes_is_refused_to_a_user_with_no_role(demo):
    UserFactory(username="viewer", is_staff=True)
    body = {
        "channel": "LCM",
        "topic": "WebService",
        "subtopic": "GetContactModes",
        "data": {"AccountNumber": DAVID},
    }

    response = post(client_for("viewer"), body)

    assert response.status_code == 403
    assert response.json()["message"]["error"]["code"] == "forbidden"


def test_get_contact_modes_is_open_to_an_integration(demo):
    body = {
        "channel": "LCM",
        "topic": "WebService",
        "subtopic": "GetContactModes",
        "data": {"AccountNumber": MARIA},
    }

    response = post(client_for("dialer"), body)

    assert response.status_code == 200
    assert [m["CValue"] for m in response.json()["message"]["response"]["Contactmodes"]] == [
        "2025550111"
    ]


def test_get_contact_modes_keeps_an_agent_to_the_accounts_of_its_own_calls(demo):
    """otheragent may not read David's numbers: not through testagent's
    call, not by naming the account; its own ended call on an account is
    enough (after-call work)."""
    other = client_for("otheragent")
    through_call = envelope("GetContactModes", callid="12345", AccountNumber=DAVID)
    by_account = envelope("GetContactModes", AccountNumber=DAVID)

    refused = [post(other, through_call), post(other, by_account)]

    assert [r.status_code for r in refused] == [403, 403]
    assert [r.json()["message"]["error"]["errorMessage"] for r in refused] == [
        "Call 12345 is not handled by you.",
        "You have no call on account 5|3|1|0|0|44|1.",
    ]
    Call.objects.filter(callid="12346").update(
        account=Call.objects.get(callid="12345").account, state=Call.State.ENDED
    )
    assert post(other, by_account).status_code == 200


def test_get_contact_modes_lets_an_agent_with_view_rights_read_any_account(demo):
    from django.contrib.auth.models import Permission

    user = Call.objects.get(callid="12346").agent.user
    user.user_permissions.add(Permission.objects.get(codename="view_contactmode"))

    response = post(client_for("otheragent"), envelope("GetContactModes", AccountNumber=DAVID))

    assert response.status_code == 200
