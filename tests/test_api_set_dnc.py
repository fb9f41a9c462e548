"""SetDNC (dialable-modes.md section 3) through the real HTTP stack, and
the supervisors' lift of a block (admin console), on both databases."""

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse

from lcm import errors
from lcm.actions import do_not_call, supervisor
from lcm.audit import verify_chain
from lcm.models import Account, DoNotCallNumber, ModeChange

from .audit_log import new_entries
from .conftest import WEBSERVICE, client_for, envelope, live_modes, set_mode_body, snapshot
from .factories import AccountFactory, ContactModeFactory

DAVID = "5|3|1|0|0|44|1"  # testagent's active call 12345; modes 1 6491462346, 2 2025550143
MARIA = "596|485|587|0|0|44|59"  # otheragent's active call 12346; mode 1 2025550111
NOW = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)  # 10:00 in New York: inside the window


def dnc_body(**overrides):
    data = {
        "callid": "12345",
        "AccountNumber": DAVID,
        "AgentID": "testagent",
        "isPhoneNoDNC": True,
        "ModeID": 2,
    }
    data.update(overrides)
    return envelope("SetDNC", **{k: v for k, v in data.items() if v is not ...})


def post(client, body):
    return client.post(WEBSERVICE, body, format="json")


def modes_of(client, account=DAVID, callid="12345"):
    response = post(client, envelope("GetContactModes", callid=callid, AccountNumber=account))
    assert response.status_code == 200, response.content
    return {m["ModeID"]: m for m in response.json()["message"]["response"]["Contactmodes"]}


def everything():
    """What a refused SetDNC must leave as it was: modes, log, chain, the list."""
    return snapshot(), list(DoNotCallNumber.objects.order_by("pk").values())


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def agent(demo, clock):
    return client_for("testagent")


# --- Success ----------------------------------------------------------------------


@pytest.mark.django_db
def test_opting_out_of_one_number_blocks_it_at_once_and_is_audited(agent):
    before = modes_of(agent)
    assert before[2]["DNC"] is False and before[2]["Callable"] is True

    response = post(
        agent,
        dnc_body(
            DNCBlockEndDate="31/12/2026",
            AgentComments="  Customer asked: not on the office line.  ",
        )
        | {"source": "AgentDesktop"},
    )

    assert response.status_code == 200, response.content
    assert response.json() == {
        "channel": "LCM",
        "topic": "WebService",
        "subtopic": "SetDNCResult",
        "message": {"callid": "12345", "response": {"success": True}},
    }
    after = modes_of(agent)
    assert after[2]["DNC"] is True and after[2]["Callable"] is False
    assert after[1]["DNC"] is False and after[1]["Callable"] is True  # only that number
    entry = DoNotCallNumber.objects.get(account__account_number=DAVID)
    assert (entry.scope, entry.number, entry.mode_id, entry.campaign) == (
        "number",
        "2025550143",
        2,
        "",
    )
    assert (entry.agent_code, entry.callid, entry.added_by) == ("testagent", "12345", "testagent")
    assert entry.comments == "Customer asked: not on the office line."
    assert entry.starts_at is None
    assert entry.expires_at == dt.datetime(2027, 1, 1, tzinfo=dt.UTC)  # the whole 31st
    [audit] = new_entries()
    assert audit.action == ModeChange.Action.DO_NOT_CALL
    assert (audit.account_number, audit.callid, audit.agent_code, audit.username) == (
        DAVID,
        "12345",
        "testagent",
        "testagent",
    )
    assert (audit.mode_id, audit.old_number, audit.new_number, audit.source) == (
        2,
        "2025550143",
        "2025550143",
        "AgentDesktop",
    )
    assert audit.modes == []
    assert audit.do_not_call == {
        "event": "block",
        "entry": entry.pk,
        "scope": "number",
        "number": "2025550143",
        "campaign": "",
        "starts_at": None,
        "expires_at": "2027-01-01T00:00:00.000000Z",
        "comments": "Customer asked: not on the office line.",
        "live_modes_flagged": 1,
    }
    assert verify_chain().ok


@pytest.mark.django_db
def test_a_number_block_flags_the_same_number_on_every_account_and_is_refused_there(agent):
    other = client_for("otheragent")
    assert post(agent, dnc_body()).status_code == 200

    # Maria's agent tries to store David's office number, spelt otherwise.
    response = post(
        other,
        set_mode_body(
            callid="12346",
            AccountNumber=MARIA,
            AgentID="otheragent",
            ContactNumber="(202) 555-0143",
        ),
    )

    assert response.status_code == 409, response.content
    assert response.json()["message"]["error"]["code"] == "do_not_call"
    assert live_modes(MARIA) == {1: "2025550111"}


@pytest.mark.django_db
def test_blocked_by_is_the_alias_of_agent_id(agent):
    body = dnc_body(AgentID=..., BlockedBy="testagent")

    assert post(agent, body).status_code == 200
    assert DoNotCallNumber.objects.get(account__account_number=DAVID).agent_code == "testagent"


@pytest.mark.django_db
def test_blocking_the_whole_contact_flags_every_mode_and_refuses_any_new_number(agent):
    response = post(agent, dnc_body(isPhoneNoDNC=False, ModeID=..., AgentComments="No calls."))

    assert response.status_code == 200, response.content
    shown = modes_of(agent)
    assert [(m["DNC"], m["Callable"]) for m in shown.values()] == [(True, False), (True, False)]
    entry = DoNotCallNumber.objects.get(account__account_number=DAVID)
    assert (entry.scope, entry.number, entry.mode_id) == ("contact", "", None)
    [audit] = new_entries()
    assert audit.mode_id == 0 and audit.do_not_call["scope"] == "contact"
    assert audit.do_not_call["live_modes_flagged"] == 2

    refused = post(agent, set_mode_body(ModeID=3, ContactNumber="2025550177"))
    assert refused.status_code == 409
    error = refused.json()["message"]["error"]
    assert error["code"] == "do_not_call"
    assert error["errorMessage"] == do_not_call.CONTACT_ON_THE_LIST.format(number="2025550177")
    # Another contact may still hold that number: the block is David's, not the number's.
    other = client_for("otheragent")
    allowed = post(
        other,
        set_mode_body(
            callid="12346", AccountNumber=MARIA, AgentID="otheragent", ContactNumber="2025550177"
        ),
    )
    assert allowed.status_code == 200, allowed.content


@pytest.mark.django_db
def test_a_campaign_specific_block_counts_only_on_that_campaign(agent):
    elsewhere = ContactModeFactory(
        account=AccountFactory(campaign="Autumn", country="US"),
        mode_type_id=1,
        number="2025550143",
    )
    response = post(agent, dnc_body(CampaignSpecificDNC=True))

    assert response.status_code == 200, response.content
    assert DoNotCallNumber.objects.get(account__account_number=DAVID).campaign == "Spring"
    assert modes_of(agent)[2]["DNC"] is True
    integration = client_for("dialer")
    autumn = modes_of(integration, elsewhere.account.account_number, callid="")
    assert autumn[1]["DNC"] is False  # same number, other campaign: still callable
    # Maria is in Spring too: the number is refused there.
    refused = post(
        client_for("otheragent"),
        set_mode_body(
            callid="12346", AccountNumber=MARIA, AgentID="otheragent", ContactNumber="2025550143"
        ),
    )
    assert refused.status_code == 409


@pytest.mark.django_db
def test_a_period_starts_and_ends_on_its_days(agent, clock):
    response = post(agent, dnc_body(DNCBlockStartDate="03/12/2026", DNCBlockEndDate="04/12/2026"))
    assert response.status_code == 200, response.content

    assert modes_of(agent)[2]["DNC"] is False  # 1 December: not yet
    clock.move_to(dt.datetime(2026, 12, 3, 15, 0, tzinfo=dt.UTC))
    assert modes_of(agent)[2]["DNC"] is True
    clock.move_to(dt.datetime(2026, 12, 4, 23, 59, tzinfo=dt.UTC))
    assert modes_of(agent)[2]["DNC"] is True  # the end day is blocked to its last moment
    clock.move_to(dt.datetime(2026, 12, 5, 15, 0, tzinfo=dt.UTC))
    assert modes_of(agent)[2]["DNC"] is False


@pytest.mark.django_db
def test_a_leap_day_is_a_day(agent):
    response = post(agent, dnc_body(DNCBlockEndDate="29/02/2028"))

    assert response.status_code == 200, response.content
    entry = DoNotCallNumber.objects.get(account__account_number=DAVID)
    assert entry.expires_at == dt.datetime(2028, 3, 1, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_after_a_lift_the_same_opt_out_is_a_new_block(agent):
    assert post(agent, dnc_body()).status_code == 200
    first = DoNotCallNumber.objects.get(account__account_number=DAVID)
    supervisor = get_user_model().objects.get(username="supervisor")
    do_not_call.lift(entry_pk=first.pk, reason="Entered by mistake.", actor=supervisor)

    assert post(agent, dnc_body()).status_code == 200

    entries = DoNotCallNumber.objects.filter(account__account_number=DAVID).order_by("pk")
    assert [e.lifted_at is None for e in entries] == [False, True]
    assert modes_of(agent)[2]["DNC"] is True
    assert [e.action for e in new_entries()] == ["dnc", "dnc_lift", "dnc"]


@pytest.mark.django_db
def test_an_import_refuses_numbers_of_a_blocked_contact_and_of_a_campaign_block(agent, tmp_path):
    """The import applies the same blocks as the kernel: a whole-contact
    block refuses any number on that contact; a campaign's block refuses the
    number on that campaign's accounts only."""
    from .test_import_accounts import run

    assert post(agent, dnc_body(isPhoneNoDNC=False, ModeID=...)).status_code == 200
    other = client_for("otheragent")
    maria = dnc_body(callid="12346", AccountNumber=MARIA, AgentID="otheragent", ModeID=1)
    assert (
        post(other, maria | {"data": maria["data"] | {"CampaignSpecificDNC": True}}).status_code
        == 200
    )
    content = (
        "AccountNumber,FirstName,LastName,Campaign,Mode1,Mode2,Mode3\n"
        f"{DAVID},David,Berry,Spring,,,2025550166\n"
        "8|8|1|0|0|44|1,Sam,Spring,Spring,2025550111,,\n"
        "8|8|2|0|0|44|1,Kim,Autumn,Autumn,2025550111,,\n"
    )
    before = live_modes(DAVID)

    status, out, err = run(tmp_path, content)

    assert status == 1, (out, err)
    lines = err.splitlines()
    assert lines[0] == (
        f"line 2 (AccountNumber {DAVID}): Mode3: "
        + do_not_call.CONTACT_ON_THE_LIST.format(number="2025550166")
    )
    assert lines[1] == (
        "line 3 (AccountNumber 8|8|1|0|0|44|1): Mode1: "
        "Number 2025550111 is on the do-not-call list."
    )
    assert live_modes(DAVID) == before
    assert live_modes("8|8|2|0|0|44|1") == {1: "2025550111"}  # Autumn: not blocked there
    assert not Account.objects.filter(account_number="8|8|1|0|0|44|1").exists()


# --- Idempotent ---------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"DNCBlockEndDate": "31/12/2026", "CampaignSpecificDNC": True},
        {"isPhoneNoDNC": False, "ModeID": ...},
    ],
    ids=["permanent number", "campaign period", "whole contact"],
)
def test_repeating_the_same_request_changes_nothing_and_answers_success(agent, fields):
    assert post(agent, dnc_body(**fields)).status_code == 200
    once = everything()

    again = post(agent, dnc_body(**fields))

    assert again.status_code == 200, again.content
    assert again.json()["message"]["response"] == {"success": True}
    assert everything() == once
    assert new_entries().count() == 1


# --- Refusals -------------------------------------------------------------------------

REFUSALS = {
    "mode not defined": (
        {"ModeID": 99},
        400,
        "unknown_mode",
        "ModeID",
    ),
    "no live mode of that ModeID": ({"ModeID": 3}, 400, "unknown_mode", "ModeID"),
    "ModeID missing for one number": ({"ModeID": ...}, 400, "invalid_fields", "ModeID"),
    "end before start": (
        {"DNCBlockStartDate": "10/12/2026", "DNCBlockEndDate": "09/12/2026"},
        400,
        "end_before_start",
        "DNCBlockEndDate",
    ),
    "end in the past": (
        {"DNCBlockEndDate": "30/11/2026"},
        400,
        "period_in_the_past",
        "DNCBlockEndDate",
    ),
    "start in the past": (
        {"DNCBlockStartDate": "30/11/2026"},
        400,
        "period_in_the_past",
        "DNCBlockStartDate",
    ),
    "ISO date": ({"DNCBlockEndDate": "2026-12-31"}, 400, "invalid_fields", "DNCBlockEndDate"),
    "no 31 February": (
        {"DNCBlockStartDate": "31/02/2027"},
        400,
        "invalid_fields",
        "DNCBlockStartDate",
    ),
    "29 February of a common year": (
        {"DNCBlockStartDate": "29/02/2027"},
        400,
        "invalid_date",
        "DNCBlockStartDate",
    ),
    "ModeID null for one number": ({"ModeID": None}, 400, "invalid_fields", "ModeID"),
    "one-digit day": ({"DNCBlockEndDate": "1/1/2027"}, 400, "invalid_fields", "DNCBlockEndDate"),
    "month 13": ({"DNCBlockEndDate": "01/13/2027"}, 400, "invalid_fields", "DNCBlockEndDate"),
    "date not a string": ({"DNCBlockEndDate": 20261231}, 400, "invalid_fields", "DNCBlockEndDate"),
    "comments too long": ({"AgentComments": "x" * 501}, 400, "invalid_fields", "AgentComments"),
    "isPhoneNoDNC not a boolean": ({"isPhoneNoDNC": "true"}, 400, "invalid_fields", "isPhoneNoDNC"),
    "campaign flag not a boolean": (
        {"CampaignSpecificDNC": 1},
        400,
        "invalid_fields",
        "CampaignSpecificDNC",
    ),
    "no AgentID nor BlockedBy": ({"AgentID": ...}, 400, "invalid_fields", "AgentID"),
    "both AgentID and BlockedBy": (
        {"BlockedBy": "testagent"},
        400,
        "invalid_fields",
        "BlockedBy",
    ),
    "blank callid": ({"callid": " "}, 400, "callid_empty", "callid"),
    "unknown call": ({"callid": "99999"}, 404, "unknown_call", None),
    "another agent's call": ({"AgentID": "otheragent"}, 403, "forbidden", None),
    "call on another account": ({"AccountNumber": MARIA}, 409, "call_account_mismatch", None),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(REFUSALS))
def test_each_refusal_names_its_field_and_changes_nothing(agent, case):
    fields, status, code, field = REFUSALS[case]
    before = everything()

    response = post(agent, dnc_body(**fields))

    assert response.status_code == status, response.content
    body = response.json()
    assert body["subtopic"] == "SetDNCResult"
    assert body["message"]["response"] == {"success": False}
    error = body["message"]["error"]
    assert error["errorType"] == "WS_Error" and error["code"] == code
    if field is not None:
        assert field in error["fields"], error
    assert everything() == before


@pytest.mark.django_db
def test_an_ended_call_of_a_logged_out_agent_is_refused(agent):
    from lcm.models import Agent, Call

    Call.objects.filter(callid="12345").update(state=Call.State.ENDED)
    Agent.objects.filter(agent_id="testagent").update(is_logged_in=False)
    before = everything()

    response = post(agent, dnc_body())

    assert response.status_code == 409
    assert response.json()["message"]["error"]["code"] == "prerequisite_failed"
    assert everything() == before


# --- The supervisors' list: lifting a block ---------------------------------------------


def supervisor_session(client):
    client.force_login(get_user_model().objects.get(username="supervisor"))
    return client


@pytest.mark.django_db
def test_the_list_shows_who_blocked_what_from_which_call(agent, client):
    post(agent, dnc_body(DNCBlockEndDate="31/12/2026", AgentComments="Office: never."))
    supervisor_session(client)

    page = client.get(reverse("admin:lcm_donotcallnumber_changelist"))

    assert page.status_code == 200
    html = re.sub(r"<[^>]+>", "", page.content.decode())  # the text, as a supervisor reads it
    for shown in ("(202) 555-0143 (mode 2 of 5|3|1|0|0|44|1)", "testagent", "12345",
                  "Office: never.", "every campaign", "active", "permanent", "Lift…"):  # fmt: skip
        assert shown in html, shown


@pytest.mark.django_db
def test_lifting_asks_for_a_reason_keeps_the_evidence_and_is_audited(agent, client):
    post(agent, dnc_body())
    entry = DoNotCallNumber.objects.get(account__account_number=DAVID)
    supervisor_session(client)
    url = reverse("admin:lcm_donotcallnumber_lift", args=[entry.pk])
    before = everything()

    blank = client.post(url, {"reason": "   "})

    assert blank.status_code == 200  # the form again, with the error
    assert "This field is required." in blank.content.decode()
    assert everything() == before

    done = client.post(url, {"reason": "Consent given in writing."})

    assert done.status_code == 302
    entry.refresh_from_db()
    assert entry.lifted_at is not None
    assert (entry.lifted_by, entry.lift_reason) == ("supervisor", "Consent given in writing.")
    assert modes_of(agent)[2]["DNC"] is False
    lift = new_entries().last()
    assert lift.action == ModeChange.Action.LIFT_DO_NOT_CALL
    assert (lift.username, lift.source, lift.account_number) == ("supervisor", "admin", DAVID)
    assert lift.do_not_call["reason"] == "Consent given in writing."
    assert lift.do_not_call["blocked_by"] == "testagent"
    assert lift.do_not_call["blocked_callid"] == "12345"
    # Lifting again changes nothing; nothing is ever deleted.
    count = new_entries().count()
    assert client.post(url, {"reason": "again"}).status_code == 302
    assert new_entries().count() == count
    assert DoNotCallNumber.objects.filter(pk=entry.pk).exists()
    assert verify_chain().ok


@pytest.mark.django_db
def test_lifting_is_refused_to_an_auditor_and_changes_nothing(agent, client):
    post(agent, dnc_body())
    entry = DoNotCallNumber.objects.get(account__account_number=DAVID)
    client.force_login(get_user_model().objects.get(username="auditor"))
    before = everything()

    response = client.post(
        reverse("admin:lcm_donotcallnumber_lift", args=[entry.pk]), {"reason": "x"}
    )

    assert response.status_code == 403
    assert everything() == before
    listed = client.get(reverse("admin:lcm_donotcallnumber_changelist"))
    assert listed.status_code == 200 and "2025550143" in listed.content.decode()
    assert "Lift…" not in listed.content.decode()  # no link to what the auditor may not do
    with pytest.raises(errors.NotAllowed):
        do_not_call.lift(
            entry_pk=entry.pk,
            reason="x",
            actor=get_user_model().objects.get(username="auditor"),
        )


@pytest.mark.django_db
def test_the_action_refuses_a_lift_without_a_reason(agent):
    post(agent, dnc_body())
    entry = DoNotCallNumber.objects.get(account__account_number=DAVID)
    supervisor = get_user_model().objects.get(username="supervisor")

    with pytest.raises(errors.InvalidInput) as refused:
        do_not_call.lift(entry_pk=entry.pk, reason=" ", actor=supervisor)

    assert refused.value.fields == {"reason": [errors.LIFT_REASON_REQUIRED]}
    entry.refresh_from_db()
    assert entry.lifted_at is None


# --- End to end -----------------------------------------------------------------------


@pytest.mark.django_db
def test_end_to_end_opt_out_of_the_mobile_refused_elsewhere_lifted_all_in_the_log(agent, client):
    other = client_for("otheragent")
    # The agent stores the customer's mobile, then the customer opts out of it.
    assert post(agent, set_mode_body(ModeID=3, ContactNumber="2025550177")).status_code == 200
    opted = post(agent, dnc_body(ModeID=3, AgentComments="Not on my mobile, please."))
    assert opted.status_code == 200, opted.content

    mobile = modes_of(agent)[3]
    assert (mobile["CValue"], mobile["DNC"], mobile["Callable"]) == ("2025550177", True, False)

    maria_mobile = set_mode_body(
        callid="12346", AccountNumber=MARIA, AgentID="otheragent", ModeID=3,
        ContactNumber="+1 202 555 0177",
    )  # fmt: skip
    refused = post(other, maria_mobile)
    assert refused.status_code == 409
    assert refused.json()["message"]["error"]["code"] == "do_not_call"
    assert live_modes(MARIA) == {1: "2025550111"}

    entry = DoNotCallNumber.objects.get(number="2025550177")
    supervisor_session(client)
    lifted = client.post(
        reverse("admin:lcm_donotcallnumber_lift", args=[entry.pk]),
        {"reason": "Opt-out entered on the wrong number."},
    )
    assert lifted.status_code == 302

    assert modes_of(agent)[3]["DNC"] is False
    assert post(other, maria_mobile).status_code == 200
    log = [(e.action, e.account_number, e.mode_id, e.new_number) for e in new_entries()]
    assert log == [
        ("set", DAVID, 3, "2025550177"),
        ("dnc", DAVID, 3, "2025550177"),
        ("dnc_lift", DAVID, 3, "2025550177"),
        ("set", MARIA, 3, "+12025550177"),  # as typed, with its +
    ]
    dnc, lift = new_entries()[1], new_entries()[2]
    assert dnc.do_not_call["comments"] == "Not on my mobile, please."
    assert (dnc.callid, dnc.agent_code) == ("12345", "testagent")
    assert lift.do_not_call["reason"] == "Opt-out entered on the wrong number."
    report = verify_chain()
    assert report.ok, report.problem
    assert Account.objects.get(account_number=DAVID).do_not_call_entries.count() == 1
    # An auditor reads both in the admin's audit log.
    client.force_login(get_user_model().objects.get(username="auditor"))
    for audit_entry, shown in ((dnc, "Not on my mobile, please."),
                               (lift, "Opt-out entered on the wrong number.")):  # fmt: skip
        page = client.get(reverse("admin:lcm_modechange_change", args=[audit_entry.pk]))
        assert page.status_code == 200
        assert shown in page.content.decode()


# --- Concurrency (PostgreSQL, real HTTP) ------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_agents_opting_out_on_one_contact_at_once_lose_nothing(live_server):
    """Two agents, each on its own call of one contact, send SetDNC at the
    same moment (one number, and the whole contact), many times over: every
    block is stored once, each has its one audit entry, and the chain
    verifies."""
    import io
    from concurrent.futures import ThreadPoolExecutor

    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from lcm.models import Agent, Call
    from lcm.numbers import identify

    from .conftest import DEMO_PASSWORD
    from .test_concurrency import _post

    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())
    david = Account.objects.get(account_number=DAVID)
    # otheragent takes a second call on David's account.
    Call.objects.create(
        callid="22222",
        account=david,
        agent=Agent.objects.get(agent_id="otheragent"),
        started_at=dt.datetime.now(dt.UTC),
    )
    users = get_user_model().objects
    tokens = {
        name: Token.objects.get_or_create(user=users.get(username=name))[0].key
        for name in ("testagent", "otheragent")
    }
    first = ("testagent", dnc_body(AgentComments="office line"))
    second = (
        "otheragent",
        dnc_body(
            callid="22222",
            AgentID="otheragent",
            isPhoneNoDNC=False,
            ModeID=...,
            AgentComments="all",
        ),
    )
    url = f"{live_server.url}{WEBSERVICE}"
    before = ModeChange.objects.count()

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(
            pool.map(lambda job: _post(url, tokens[job[0]], job[1]), [first, second] * 6)
        )

    assert [status for status, _ in results] == [200] * 12, results
    blocks = list(DoNotCallNumber.objects.filter(account=david).order_by("scope"))
    assert [(b.scope, b.number, b.agent_code, b.comments) for b in blocks] == [
        ("contact", "", "otheragent", "all"),
        ("number", identify("2025550143").number, "testagent", "office line"),
    ]
    entries = list(ModeChange.objects.filter(seq__gt=before).order_by("seq"))
    assert sorted(e.do_not_call["entry"] for e in entries) == sorted(b.pk for b in blocks)
    assert {e.agent_code for e in entries} == {"testagent", "otheragent"}
    report = verify_chain()
    assert report.ok, report.problem


@pytest.mark.django_db
def test_a_list_wide_block_is_added_changed_and_lifted_in_the_chain(agent, client):
    """A number blocked for every account from the console belongs to no
    account: adding it, changing it and lifting it are audit entries all the
    same, on no account, and the chain verifies."""
    supervisor_session(client)
    add_url = reverse("admin:lcm_donotcallnumber_add")

    added = client.post(add_url, {"number": "+1 202 555 0143", "reason": "Complaint by letter"})

    assert added.status_code == 302
    row = DoNotCallNumber.objects.get(number_e164="+12025550143")
    block = new_entries().get()
    assert block.action == ModeChange.Action.DO_NOT_CALL
    assert (block.account_id, block.account_number, block.mode_id) == (None, "", 0)
    assert (block.username, block.source) == ("supervisor", "admin")
    assert block.request_id and block.client_ip == "127.0.0.1"
    assert block.do_not_call == {
        "event": "block",
        "entry": row.pk,
        "scope": "number",
        "number": row.number,
        "campaign": "",
        "starts_at": None,
        "expires_at": None,
        "comments": "Complaint by letter",
        "live_modes_flagged": 1,  # David's mode 2
    }
    assert modes_of(agent)[2]["DNC"] is True

    change_url = reverse("admin:lcm_donotcallnumber_change", args=[row.pk])
    form = {"reason": "Complaint by letter, ref 42", "expires_at_0": "", "expires_at_1": ""}
    assert client.post(change_url, form).status_code == 302
    assert client.post(change_url, form).status_code == 302  # the same again: no entry
    change = new_entries().last()
    assert change.action == ModeChange.Action.CHANGE_DO_NOT_CALL
    assert change.account_id is None
    assert change.do_not_call["before"] == {"reason": "Complaint by letter", "expires_at": None}
    assert change.do_not_call["after"] == {
        "reason": "Complaint by letter, ref 42",
        "expires_at": None,
    }

    lift_url = reverse("admin:lcm_donotcallnumber_lift", args=[row.pk])
    assert client.post(lift_url, {"reason": "Wrong number reported"}).status_code == 302
    lift = new_entries().last()
    assert lift.action == ModeChange.Action.LIFT_DO_NOT_CALL
    assert (lift.account_id, lift.username) == (None, "supervisor")
    assert lift.do_not_call["reason"] == "Wrong number reported"
    assert modes_of(agent)[2]["DNC"] is False
    assert [e.action for e in new_entries()] == ["dnc", "dnc_change", "dnc_lift"]
    assert verify_chain().ok

    # The auditors read them as the list's, and no revert is offered or done.
    listed = client.get(reverse("admin:lcm_modechange_changelist")).content.decode()
    assert "every account" in listed
    page = client.get(reverse("admin:lcm_modechange_change", args=[block.pk]))
    assert page.status_code == 200
    assert "Revert this change" not in page.content.decode()
    with pytest.raises(errors.NothingToRevert) as refused:
        supervisor.revert_mode_change(
            change_id=block.pk,
            actor=get_user_model().objects.get(username="supervisor"),
            expected_seq=None,
        )
    assert str(refused.value.msg) == errors.NOT_A_MODE_CHANGE.format(
        seq=block.seq, action="Do-not-call"
    )


@pytest.mark.django_db
def test_a_refused_list_wide_block_writes_nothing(agent, client):
    supervisor_session(client)
    before = everything()

    response = client.post(
        reverse("admin:lcm_donotcallnumber_add"), {"number": "202.555.0199", "reason": ""}
    )

    assert response.status_code == 200  # already listed (the demo's number)
    assert everything() == before
