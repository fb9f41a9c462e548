"""Outcomes (campaign-services.md section 4) through the real HTTP stack, on
the demo data, on both databases: the telephony catalogue, a call's one
outcome (a later one replaces it), every error of the spec, audit entry
counts, and a DNC outcome made by SetDNC's own write."""

import datetime as dt
import decimal
import io

import pytest
import time_machine

from lcm.audit import verify_chain
from lcm.models import Call, CallOutcome, Campaign, DoNotCallNumber, ModeChange

from .audit_log import new_entries
from .conftest import WEBSERVICE, client_for, envelope, set_mode_body, snapshot
from .factories import AccountFactory, ContactModeFactory

DAVID = "5|3|1|0|0|44|1"  # testagent's active call 12345; modes 1 6491462346, 2 2025550143
MARIA = "596|485|587|0|0|44|59"  # otheragent's active call 12346; mode 1 2025550111
NOW = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)  # 10:00 in New York
CATALOGUE = [
    {"OutComeID": "0", "Description": "Success"},
    {"OutComeID": "2", "Description": "Invalid"},
    {"OutComeID": "3", "Description": "Busy"},
    {"OutComeID": "4", "Description": "CallBack"},
    {"OutComeID": "5", "Description": "DNC"},
    {"OutComeID": "6", "Description": "Fax"},
    {"OutComeID": "7", "Description": "Answering Machine"},
    {"OutComeID": "8", "Description": "No Answer"},
    {"OutComeID": "9", "Description": "Reject"},
]


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def agent(demo, clock):
    return client_for("testagent")


def post(client, body):
    return client.post(WEBSERVICE, body, format="json")


def comments_body(**overrides):
    data = {"callid": "12345", "AccountNumber": DAVID, "OutcomeId": 101, "UserID": "testagent"}
    data.update(overrides)
    return envelope(
        "SetBusinessOutcomeWithComments", **{k: v for k, v in data.items() if v is not ...}
    )


def call_outcome_body(**overrides):
    data = {
        "callid": "12345",
        "AccountNumber": DAVID,
        "BusinessOutcome": 102,
        "CallOutcome": "Busy",
        "UserID": "testagent",
    }
    data.update(overrides)
    return envelope(
        "SetBusinessOutcomeWithCallOutcome", **{k: v for k, v in data.items() if v is not ...}
    )


def error_of(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["message"]["response"] == {"success": False}
    error = body["message"]["error"]
    assert error["errorType"] == "WS_Error" and error["code"] == code, error
    return error


def everything():
    return (
        snapshot(),
        list(DoNotCallNumber.objects.order_by("pk").values()),
        list(CallOutcome.objects.order_by("pk").values()),
    )


def modes_of(client, account=DAVID, callid="12345"):
    response = post(client, envelope("GetContactModes", callid=callid, AccountNumber=account))
    assert response.status_code == 200, response.content
    return {m["ModeID"]: m for m in response.json()["message"]["response"]["Contactmodes"]}


# --- SetCallOutComeOffline ---------------------------------------------------------


@pytest.mark.django_db
def test_the_telephony_catalogue_is_the_vendors_array_and_no_entry(agent):
    before = ModeChange.objects.count()
    response = post(agent, envelope("SetCallOutComeOffline", AccountNumber=DAVID))
    assert response.status_code == 200, response.content
    assert response.json() == {
        "channel": "LCM",
        "topic": "WebService",
        "subtopic": "SetCallOutComeOfflineResponse",
        "message": {"callid": None, "response": CATALOGUE},
    }
    assert ModeChange.objects.count() == before  # a read


@pytest.mark.django_db
def test_the_catalogue_for_the_integration_and_its_refusals(demo, clock):
    dialer = client_for("dialer")
    response = post(dialer, envelope("SetCallOutComeOffline", AccountNumber=MARIA))
    assert response.json()["message"]["response"] == CATALOGUE
    # An agent reads only its own calls' accounts.
    other = client_for("otheragent")
    error_of(post(other, envelope("SetCallOutComeOffline", AccountNumber=DAVID)), 403, "forbidden")
    error = error_of(
        post(dialer, envelope("SetCallOutComeOffline", AccountNumber="1|2|3")),
        404,
        "unknown_account",
    )
    assert error["errorMessage"] == "Unknown AccountNumber: 1|2|3"
    error = error_of(post(dialer, envelope("SetCallOutComeOffline")), 400, "invalid_fields")
    assert list(error["fields"]) == ["AccountNumber"]
    error = error_of(
        post(dialer, envelope("SetCallOutComeOffline", AccountNumber=5)), 400, "invalid_fields"
    )
    assert list(error["fields"]) == ["AccountNumber"]


@pytest.mark.django_db
def test_an_agent_neither_logged_in_nor_on_a_call_fails_the_prerequisite(demo, clock):
    # offagent: logged out, its only call (12301, on David) ended.
    offagent = client_for("offagent")
    error = error_of(
        post(offagent, envelope("SetCallOutComeOffline", AccountNumber=DAVID)),
        409,
        "prerequisite_failed",
    )
    assert error["msg"] == "The agent must be on an active call or logged in."


# --- SetBusinessOutcomeWithComments ---------------------------------------------------


@pytest.mark.django_db
def test_an_outcome_is_held_by_the_call_and_audited_once(agent):
    response = post(
        agent,
        comments_body(AgentComments="  Bought the plan. ", LeadScore="80", TargetAmount=120.5)
        | {"source": "AgentDesktop"},
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "channel": "LCM",
        "topic": "WebService",
        "subtopic": "SetBusinessOutcomeWithCommentsResult",
        "message": {"callid": "12345", "response": {"success": True}},
    }
    outcome = CallOutcome.objects.get(call__callid="12345")
    assert (outcome.business_outcome, outcome.description, outcome.call_outcome_id) == (
        101,
        "Sale",
        None,
    )
    assert outcome.comments == "Bought the plan."
    assert (outcome.lead_score, outcome.target_amount) == (80, decimal.Decimal("120.50"))
    assert (outcome.agent_code, outcome.username) == ("testagent", "testagent")
    [entry] = new_entries()
    assert entry.action == ModeChange.Action.OUTCOME == "outcome"
    assert (entry.account_number, entry.callid, entry.agent_code, entry.source) == (
        DAVID,
        "12345",
        "testagent",
        "AgentDesktop",
    )
    assert entry.do_not_call is None
    assert entry.details == {
        "outcome": {
            "callid": "12345",
            "before": None,
            "after": {
                "BusinessOutcome": 101,
                "Description": "Sale",
                "CallOutcome": None,
                "ModeID": None,
                "LeadScore": 80,
                "TargetAmount": "120.50",
                "do_not_call": None,
            },
        }
    }
    assert "Bought" not in str(entry.details)  # comments are personal: not in the chain
    assert verify_chain().ok


@pytest.mark.django_db
def test_a_later_outcome_replaces_it_and_the_entry_keeps_the_old(agent):
    assert post(agent, comments_body()).status_code == 200
    response = post(agent, comments_body(OutcomeId="102"))  # a vendor Number as a string
    assert response.status_code == 200, response.content
    [outcome] = CallOutcome.objects.filter(call__callid="12345")
    assert (outcome.business_outcome, outcome.description) == (102, "Not interested")
    first, second = new_entries()
    assert second.details["outcome"]["before"]["BusinessOutcome"] == 101
    assert second.details["outcome"]["after"]["BusinessOutcome"] == 102
    assert first.details["outcome"]["after"]["BusinessOutcome"] == 101


@pytest.mark.django_db
def test_the_same_outcome_again_changes_nothing_and_writes_no_entry(agent):
    assert post(agent, comments_body(AgentComments="x")).status_code == 200
    before = everything()
    response = post(agent, comments_body(AgentComments="x"))
    assert response.status_code == 200, response.content
    assert everything() == before


@pytest.mark.django_db
def test_the_integration_sets_an_outcome_for_the_calls_agent(demo, clock):
    response = post(client_for("dialer"), comments_body(callid="12346", AccountNumber=MARIA,
                                                        UserID="otheragent"))  # fmt: skip
    assert response.status_code == 200, response.content
    [entry] = new_entries()
    assert (entry.agent_code, entry.username) == ("otheragent", "dialer")


@pytest.mark.parametrize(
    ("overrides", "status", "code", "field"),
    [
        ({"callid": ""}, 400, "callid_empty", "callid"),
        ({"callid": ...}, 400, "callid_empty", "callid"),
        ({"callid": "999"}, 404, "unknown_call", None),
        ({"AccountNumber": "1|2|3"}, 404, "unknown_account", None),
        ({"AccountNumber": MARIA}, 409, "call_account_mismatch", None),
        ({"callid": "12346", "AccountNumber": MARIA}, 403, "forbidden", None),  # otheragent's
        ({"UserID": "otheragent"}, 403, "forbidden", None),
        ({"OutcomeId": 999}, 400, "unknown_outcome", "OutcomeId"),
        ({"OutcomeId": "abc"}, 400, "invalid_fields", "OutcomeId"),
        ({"OutcomeId": True}, 400, "invalid_fields", "OutcomeId"),
        ({"OutcomeId": ...}, 400, "invalid_fields", "OutcomeId"),
        ({"UserID": ...}, 400, "invalid_fields", "UserID"),
        ({"LeadScore": 101}, 400, "invalid_fields", "LeadScore"),
        ({"LeadScore": -1}, 400, "invalid_fields", "LeadScore"),
        ({"TargetAmount": -1}, 400, "invalid_fields", "TargetAmount"),
        ({"TargetAmount": "1.234"}, 400, "invalid_fields", "TargetAmount"),
        ({"AgentComments": "x" * 501}, 400, "invalid_fields", "AgentComments"),
        ({"AgentComments": 7}, 400, "invalid_fields", "AgentComments"),
    ],
)
@pytest.mark.django_db
def test_every_refusal_changes_nothing(agent, overrides, status, code, field):
    before = everything()
    error = error_of(post(agent, comments_body(**overrides)), status, code)
    if field:
        assert field in error["fields"], error
    if code == "callid_empty":
        assert (error["errorMessage"], error["msg"]) == ("Callid is empty", "Invalid Call ID.")
    if code == "unknown_call":
        assert (error["errorMessage"], error["msg"]) == ("Invalid Call ID:999", "Invalid Call ID.")
    if code == "unknown_outcome":
        assert error["errorMessage"] == "OutcomeId 999 is not an outcome of campaign Spring."
    assert everything() == before


@pytest.mark.django_db
def test_an_agent_off_its_ended_call_and_logged_out_is_refused(demo, clock):
    before = everything()
    body = comments_body(callid="12301", UserID="offagent")
    error_of(post(client_for("offagent"), body), 409, "prerequisite_failed")
    assert everything() == before


@pytest.mark.django_db
def test_supervisors_and_auditors_do_not_write_through_the_envelope(demo, clock):
    before = everything()
    for who in ("supervisor", "auditor"):
        error_of(post(client_for(who), comments_body()), 403, "forbidden")
    assert everything() == before


# --- SetBusinessOutcomeWithCallOutcome --------------------------------------------------


@pytest.mark.django_db
def test_a_call_outcome_by_description_any_case_or_by_id(agent):
    response = post(agent, call_outcome_body(CallOutcome="no answer"))
    assert response.status_code == 200, response.content
    assert response.json()["subtopic"] == "SetBusinessOutcomeWithCallOutcomeResult"
    assert response.json()["message"]["response"] == {"success": True}
    assert CallOutcome.objects.get(call__callid="12345").call_outcome_id == 8
    assert post(agent, call_outcome_body(CallOutcome="3")).status_code == 200
    assert CallOutcome.objects.get(call__callid="12345").call_outcome_id == 3
    assert new_entries().count() == 2
    assert not DoNotCallNumber.objects.filter(account__account_number=DAVID).exists()


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"CallOutcome": "Nope"}, "unknown_outcome", "CallOutcome"),
        ({"CallOutcome": "1"}, "unknown_outcome", "CallOutcome"),
        ({"CallOutcome": 5}, "invalid_fields", "CallOutcome"),
        ({"CallOutcome": ...}, "invalid_fields", "CallOutcome"),
        ({"BusinessOutcome": 7}, "unknown_outcome", "BusinessOutcome"),
        ({"BusinessOutcome": ...}, "invalid_fields", "BusinessOutcome"),
        ({"ModeID": 3}, "unknown_mode", "ModeID"),  # David has no live mode 3
        ({"ModeID": "x"}, "invalid_fields", "ModeID"),
        ({"DNCBlockEndDate": "2026-12-31"}, "invalid_fields", "DNCBlockEndDate"),
    ],
)
@pytest.mark.django_db
def test_every_refusal_of_the_call_outcome_changes_nothing(agent, overrides, code, field):
    before = everything()
    error = error_of(post(agent, call_outcome_body(**overrides)), 400, code)
    assert field in error["fields"], error
    assert everything() == before


# --- A DNC outcome is SetDNC ----------------------------------------------------------


@pytest.mark.django_db
def test_a_dnc_call_outcome_blocks_the_number_on_every_account_in_one_entry(agent):
    # Another account of another campaign holds David's office number too.
    other = ContactModeFactory(
        account=AccountFactory(campaign="Autumn"), mode_type_id=2, number="2025550143"
    )
    assert modes_of(agent)[2]["DNC"] is False
    response = post(agent, call_outcome_body(CallOutcome="DNC", ModeID=2, AgentComments="stop"))
    assert response.status_code == 200, response.content

    block = DoNotCallNumber.objects.get(account__account_number=DAVID)
    assert (block.scope, block.number, block.mode_id, block.campaign) == (
        "number",
        "2025550143",
        2,
        "",
    )
    assert (block.starts_at, block.expires_at) == (None, None)  # Spring: Permanent
    assert (block.agent_code, block.callid, block.comments) == ("testagent", "12345", "stop")
    [entry] = new_entries()  # one entry for the request
    assert entry.action == "outcome"
    assert (entry.mode_id, entry.new_number) == (2, "2025550143")
    assert entry.do_not_call == {
        "event": "block",
        "entry": block.pk,
        "scope": "number",
        "number": "2025550143",
        "campaign": "",
        "starts_at": None,
        "expires_at": None,
        "comments": "stop",
        "live_modes_flagged": 2,
    }
    assert entry.details["outcome"]["after"]["do_not_call"] == block.pk
    assert entry.details["outcome"]["after"]["CallOutcome"] == 5
    modes = modes_of(agent)
    assert modes[2]["DNC"] is True and modes[2]["Callable"] is False
    assert modes[1]["DNC"] is False  # only that number
    dialer = client_for("dialer")
    assert modes_of(dialer, other.account.account_number, callid="")[2]["DNC"] is True
    # SetNewModeNumber refuses the number now, on any account.
    refused = post(
        client_for("otheragent"),
        set_mode_body(
            callid="12346", AccountNumber=MARIA, ModeID=1, ContactNumber="(202) 555-0143",
            AgentID="otheragent",
        ),
    )  # fmt: skip
    error_of(refused, 409, "do_not_call")
    assert verify_chain().ok


@pytest.mark.django_db
def test_a_business_outcome_implying_dnc_blocks_the_whole_contact(agent):
    response = post(agent, comments_body(OutcomeId=103))  # Do not call, implies 5
    assert response.status_code == 200, response.content
    block = DoNotCallNumber.objects.get(account__account_number=DAVID)
    assert (block.scope, block.number) == ("contact", "")
    [entry] = new_entries()
    assert entry.action == "outcome" and entry.do_not_call["scope"] == "contact"
    assert entry.do_not_call["live_modes_flagged"] == 2
    modes = modes_of(agent)
    assert modes[1]["DNC"] is True and modes[2]["DNC"] is True
    # Again: the block stands, the outcome is the same: nothing more.
    before = everything()
    assert post(agent, comments_body(OutcomeId=103)).status_code == 200
    assert everything() == before


@pytest.mark.django_db
def test_a_dnc_outcome_after_setdnc_records_the_standing_block(agent):
    dnc = envelope("SetDNC", callid="12345", AccountNumber=DAVID, AgentID="testagent",
                   isPhoneNoDNC=True, ModeID=2)  # fmt: skip
    assert post(agent, dnc).status_code == 200
    response = post(agent, call_outcome_body(CallOutcome="5", ModeID=2))
    assert response.status_code == 200, response.content
    assert DoNotCallNumber.objects.filter(account__account_number=DAVID).count() == 1
    setdnc_entry, entry = new_entries()
    assert entry.action == "outcome" and entry.do_not_call["event"] == "unchanged"
    assert entry.do_not_call["entry"] == setdnc_entry.do_not_call["entry"]


def _spring(**values):
    Campaign.objects.filter(code="Spring").update(**values)


@pytest.mark.django_db
def test_agent_selection_needs_the_agents_end_date(agent):
    _spring(dnc_period_type=Campaign.DncPeriod.AGENT_SELECTION)
    before = everything()
    error = error_of(post(agent, call_outcome_body(CallOutcome="5", ModeID=2)), 400,
                     "invalid_fields")  # fmt: skip
    assert error["fields"] == {
        "DNCBlockEndDate": [
            "DNCBlockEndDate is required: campaign Spring lets the agent choose how long a "
            "do-not-call outcome blocks (Agent Selection)."
        ]
    }
    assert everything() == before
    # Not a DNC outcome: no date needed.
    assert post(agent, call_outcome_body(CallOutcome="Busy")).status_code == 200
    response = post(
        agent, call_outcome_body(CallOutcome="5", ModeID=2, DNCBlockEndDate="31/12/2026")
    )
    assert response.status_code == 200, response.content
    block = DoNotCallNumber.objects.get(account__account_number=DAVID)
    assert block.expires_at == dt.datetime(2027, 1, 1, tzinfo=dt.UTC)  # the whole 31st
    error_of(
        post(agent, call_outcome_body(CallOutcome="5", ModeID=1, DNCBlockEndDate="30/11/2026")),
        400,
        "period_in_the_past",
    )


@pytest.mark.django_db
def test_specific_days_block_for_that_long_or_to_the_end_of_the_day(agent):
    _spring(dnc_period_type=Campaign.DncPeriod.SPECIFIC_DAYS, dnc_days=3)
    assert post(agent, call_outcome_body(CallOutcome="5", ModeID=2)).status_code == 200
    block = DoNotCallNumber.objects.get(account__account_number=DAVID, mode_id=2)
    assert block.expires_at == NOW + dt.timedelta(days=3)
    # DNCEOD in the callee's zone: to the end of 4 December in New York.
    _spring(dnc_end_of_day=True, customer_dnc_time_zone=True)
    assert post(agent, call_outcome_body(CallOutcome="5", ModeID=1)).status_code == 200
    block = DoNotCallNumber.objects.get(account__account_number=DAVID, mode_id=1)
    assert block.expires_at == dt.datetime(2026, 12, 5, 5, 0, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_erasure_blanks_the_outcomes_comments(agent):
    from django.core.management import call_command

    assert post(agent, comments_body(AgentComments="Call me Dave")).status_code == 200
    call_command("erase_contact", DAVID, "--reason", "GDPR request", stdout=io.StringIO())
    assert CallOutcome.objects.get(call__callid="12345").comments == ""
    assert Call.objects.filter(callid="12345").exists()


# --- The OpenAPI document's examples are what the demo answers -------------------------


@pytest.mark.django_db
def test_the_openapi_examples_are_the_demos_replies(agent):
    from lcm.api import outcomes as api

    reply = post(agent, api.SET_CALL_OUTCOME_OFFLINE)
    assert reply.json() == api.SET_CALL_OUTCOME_OFFLINE_RESPONSE
    reply = post(agent, api.SET_BUSINESS_OUTCOME_WITH_COMMENTS)
    assert reply.json() == api.SET_BUSINESS_OUTCOME_WITH_COMMENTS_RESULT
    reply = post(agent, api.SET_BUSINESS_OUTCOME_WITH_CALL_OUTCOME)
    assert reply.json() == api.SET_BUSINESS_OUTCOME_WITH_CALL_OUTCOME_RESULT
    assert modes_of(agent)[2]["DNC"] is True  # the example's do-not-call outcome
    assert [e.action for e in new_entries()] == ["outcome", "outcome"]


def test_the_auditor_reads_an_outcome_and_its_replacement_on_the_entry_page(agent):
    """The entry page of a call outcome says which outcome was set and what
    it replaced, in words, and shows no number rows that do not apply."""
    from django.test import Client

    from .conftest import DEMO_PASSWORD

    assert post(agent, call_outcome_body()).status_code == 200
    assert (
        post(agent, call_outcome_body(BusinessOutcome=103, CallOutcome="DNC", ModeID=2)).status_code
        == 200
    )
    first, second = ModeChange.objects.filter(action="outcome").order_by("seq")
    auditor = Client()
    assert auditor.login(username="auditor", password=DEMO_PASSWORD)

    def page_of(entry):
        response = auditor.get(f"/admin/lcm/modechange/{entry.pk}/change/")
        assert response.status_code == 200
        return response.content.decode()

    page = page_of(first)
    assert "business outcome: — → 102 Not interested<br>telephony outcome: — → 3 Busy" in page
    for row in ("Old number", "Also deleted", "Every mode it touched", "Callback:", "Reverts"):
        assert row not in page, row
    page = page_of(second)
    assert "business outcome: 102 Not interested → 103 Do not call" in page
    assert (
        "telephony outcome: 3 Busy → 5 DNC<br>mode: — → 2<br>do-not-call block: — → block" in page
    )
    assert "Do-not-call block:" in page  # the block the DNC outcome added, as SetDNC's entry
