"""Callbacks bound to a mode (dialable-modes.md section 4), through the envelope.

The clock is fixed at Tuesday 1 December 2026, 14:00 UTC: 09:00 in
New York, the zone of David's Office mode (2025550143, a Washington DC
number; the demo's mode 2), whose window is the default 08:00-21:00.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine

from lcm import audit
from lcm.actions import callbacks, do_not_call
from lcm.models import Callback, ContactMode, ModeChange

from .conftest import DEMO_ENTRIES, client_for, envelope, snapshot

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 1, 14, 0, tzinfo=dt.UTC)
DAVID = "5|3|1|0|0|44|1"
OFFICE = 2  # 2025550143, America/New_York
SET = "SetCallbackWithComments"
PERSONAL = "SetPersonalCallbackWithComments"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def callback_body(subtopic=SET, **overrides):
    data = {
        "callid": "12345",
        "AccountNumber": DAVID,
        "StartDate": "02/12/2026",
        "EndDate": "02/12/2026",
        "StartTime": "10:00",
        "EndTime": "12:00",
        "CallbackModeId": OFFICE,
        "UserID": "testagent",
        "AgentComments": "Call back about the renewal",
    }
    data.update(overrides)
    return envelope(subtopic, **{k: v for k, v in data.items() if v is not None})


def post(client, body, status=200):
    response = client.post("/api/lcm/webservice/", body, format="json")
    assert response.status_code == status, response.content
    return response.json()


def state():
    return snapshot(), list(Callback.objects.order_by("pk").values())


# --- Success -----------------------------------------------------------------------


@pytest.mark.parametrize("subtopic,kind", [(SET, "regular"), (PERSONAL, "personal")])
def test_a_callback_is_scheduled_in_the_callees_time_and_audited(agent_client, subtopic, kind):
    reply = post(agent_client, callback_body(subtopic))
    assert reply["subtopic"] == f"{subtopic}Result"
    assert reply["message"]["callid"] == "12345"
    response = reply["message"]["response"]
    assert response["success"] is True
    callback = Callback.objects.get(pk=response["CallbackID"])
    assert callback.kind == kind
    assert callback.time_zone == "America/New_York"
    # 10:00-12:00 in New York on 2 December (EST, UTC-5).
    assert callback.window_start == dt.datetime(2026, 12, 2, 15, 0, tzinfo=dt.UTC)
    assert callback.window_end == dt.datetime(2026, 12, 2, 17, 0, tzinfo=dt.UTC)
    assert (callback.mode_id, callback.number, callback.number_e164) == (
        OFFICE, "2025550143", "+12025550143",
    )  # fmt: skip
    assert callback.agent.agent_id == "testagent"
    assert callback.comments == "Call back about the renewal"
    assert callback.state == Callback.State.SCHEDULED

    entry = ModeChange.objects.get(seq=DEMO_ENTRIES + 1)
    assert entry.action == ModeChange.Action.CALLBACK
    assert entry.modes == []
    assert (entry.callid, entry.agent_code, entry.username) == ("12345", "testagent", "testagent")
    assert entry.old_number == entry.new_number == "2025550143"
    assert entry.callback["event"] == "scheduled"
    assert entry.callback["id"] == callback.pk
    assert entry.callback["kind"] == kind
    assert entry.callback["start"] == "2026-12-02T15:00:00Z"
    assert audit.verify_chain().ok


def test_entries_without_a_callback_are_hashed_without_the_key(agent_client):
    """Old entries keep their hashes: the key is left out when null."""
    entry = ModeChange.objects.get(seq=1)
    assert entry.callback is None
    assert b'"callback"' not in audit.canonical_bytes(entry)
    post(agent_client, callback_body())
    # Format 3 (docs/audit.md): the callback is sealed in the personal digest.
    entry = ModeChange.objects.get(seq=DEMO_ENTRIES + 1)
    assert entry.callback is not None and b'"callback"' not in audit.canonical_bytes(entry)
    assert audit.seal.json_text(entry.callback).encode() in audit.seal.entry_personal(entry)
    assert audit.verify_chain().ok


def test_repeating_the_same_callback_answers_the_same_id_and_writes_nothing(agent_client):
    first = post(agent_client, callback_body(PERSONAL))["message"]["response"]["CallbackID"]
    before = state()
    again = post(agent_client, callback_body(PERSONAL))["message"]["response"]["CallbackID"]
    assert again == first
    assert state() == before


def test_the_integration_account_reserves_a_personal_callback_for_another_agent(demo):
    reply = post(client_for("dialer"), callback_body(PERSONAL, UserID="otheragent"))
    callback = Callback.objects.get(pk=reply["message"]["response"]["CallbackID"])
    assert callback.agent.agent_id == "otheragent"
    assert callback.call.callid == "12345"


def test_a_window_across_midnight_utc_that_meets_the_calling_window(agent_client):
    """20:00-22:00 in New York is 01:00-03:00 UTC the next day; 20:00-21:00 is callable."""
    body = callback_body(StartTime="20:00", EndTime="22:00")
    reply = post(agent_client, body)
    callback = Callback.objects.get(pk=reply["message"]["response"]["CallbackID"])
    assert callback.window_start == dt.datetime(2026, 12, 3, 1, 0, tzinfo=dt.UTC)


# --- Refusals ----------------------------------------------------------------------


REFUSALS = [
    # (overrides, status, code, field)
    ({"StartDate": "2026-12-02"}, 400, "invalid_fields", "StartDate"),
    ({"StartDate": "31/02/2026"}, 400, "invalid_fields", "StartDate"),
    ({"StartDate": "29/02/2027"}, 400, "invalid_date", "StartDate"),
    ({"EndDate": 20261202}, 400, "invalid_fields", "EndDate"),
    ({"StartTime": "9:00"}, 400, "invalid_fields", "StartTime"),
    ({"EndTime": "24:00"}, 400, "invalid_fields", "EndTime"),
    ({"StartDate": None}, 400, "invalid_fields", "StartDate"),
    ({"CallbackModeId": "x"}, 400, "invalid_fields", "CallbackModeId"),
    ({"AgentComments": "x" * 501}, 400, "invalid_fields", "AgentComments"),
    ({"StartDate": "30/11/2026"}, 400, "callback_in_past", "StartDate"),
    ({"StartDate": "01/12/2026", "EndDate": "01/12/2026", "StartTime": "08:59"},
     400, "callback_in_past", "StartTime"),
    ({"StartDate": "02/01/2027", "EndDate": "02/01/2027"}, 400, "callback_too_far", "StartDate"),
    ({"EndTime": "09:00"}, 400, "end_before_start", "EndTime"),
    ({"EndDate": "01/12/2026"}, 400, "end_before_start", "EndDate"),
    ({"StartTime": "09:00", "EndTime": "17:01"}, 400, "callback_too_long", "EndTime"),
    ({"CallbackModeId": 3}, 409, "no_live_mode", "CallbackModeId"),
    ({"CallbackModeId": 99}, 409, "no_live_mode", "CallbackModeId"),
    ({"StartTime": "21:00", "EndTime": "23:00"}, 409, "outside_calling_window", "StartTime"),
    ({"StartTime": "05:00", "EndTime": "08:00"}, 409, "outside_calling_window", "StartTime"),
]  # fmt: skip


@pytest.mark.parametrize("subtopic", [SET, PERSONAL])
@pytest.mark.parametrize("overrides,status,code,field", REFUSALS)
def test_refusals_name_the_field_and_change_nothing(
    agent_client, subtopic, overrides, status, code, field
):
    before = state()
    reply = post(agent_client, callback_body(subtopic, **overrides), status=status)
    assert reply["subtopic"] == f"{subtopic}Result"
    assert reply["message"]["response"] == {"success": False}
    error = reply["message"]["error"]
    assert error["errorType"] == "WS_Error"
    assert error["code"] == code
    assert field in error["fields"]
    assert state() == before


def test_the_window_in_the_current_minute_is_not_past(agent_client):
    body = callback_body(StartDate="01/12/2026", EndDate="01/12/2026", StartTime="09:00")
    post(agent_client, body)


def test_a_mode_on_the_do_not_call_list_is_refused(agent_client):
    do_not_call.add_number(number="+1 202 555 0143", reason="asked")
    before = state()
    reply = post(agent_client, callback_body(), status=409)
    error = reply["message"]["error"]
    assert error["code"] == "do_not_call"
    assert "CallbackModeId" in error["fields"]
    assert state() == before


def test_a_personal_callback_for_another_agent_is_refused_to_an_agent(agent_client):
    before = state()
    reply = post(agent_client, callback_body(PERSONAL, UserID="otheragent"), status=403)
    assert reply["message"]["error"]["code"] == "forbidden"
    assert state() == before


@pytest.mark.parametrize(
    "overrides,status,code",
    [
        ({"callid": ""}, 400, "callid_empty"),
        ({"callid": "nope"}, 404, "unknown_call"),
        ({"AccountNumber": "596|485|587|0|0|44|59"}, 409, "call_account_mismatch"),
        ({"callid": "12301"}, 409, "call_agent_mismatch"),  # offagent's call
    ],
)
def test_the_call_and_identity_rules_of_set_new_mode_number_apply(
    agent_client, overrides, status, code
):
    before = state()
    reply = post(agent_client, callback_body(**overrides), status=status)
    assert reply["message"]["error"]["code"] == code
    assert state() == before


def test_an_overlapping_personal_callback_is_refused(agent_client):
    post(agent_client, callback_body(PERSONAL))
    before = state()
    body = callback_body(PERSONAL, StartTime="11:59", EndTime="13:00", AgentComments="other")
    reply = post(agent_client, body, status=409)
    error = reply["message"]["error"]
    assert error["code"] == "callback_overlap"
    assert "StartTime" in error["fields"]
    assert state() == before
    # Touching windows do not overlap; a regular callback never does.
    post(agent_client, callback_body(PERSONAL, StartTime="12:00", EndTime="13:00"))
    post(agent_client, callback_body(SET, StartTime="11:00", EndTime="13:00"))


# --- ScheduledCallBackOverlap ----------------------------------------------------


def overlap_body(**overrides):
    data = {
        "callid": "12345",
        "AccountNumber": DAVID,
        "StartFromDate": "02/12/2026",
        "StartToDate": "02/12/2026",
        "StartFromTime": "11:00",
        "StartToTime": "11:30",
        "UserID": "testagent",
    }
    data.update(overrides)
    return envelope("ScheduledCallBackOverlap", **data)


def test_scheduled_callback_overlap(agent_client):
    reply = post(agent_client, overlap_body())
    assert reply["subtopic"] == "ScheduledCallBackOverlapResult"
    assert reply["message"]["response"] == {"RequestResult": True, "IsOverlap": False}
    post(agent_client, callback_body(PERSONAL))
    assert post(agent_client, overlap_body())["message"]["response"]["IsOverlap"] is True
    later = overlap_body(StartFromTime="12:00", StartToTime="13:00")
    assert post(agent_client, later)["message"]["response"]["IsOverlap"] is False


@pytest.mark.parametrize(
    "overrides,status,code,field",
    [
        ({"StartFromDate": "2/12/2026"}, 400, "invalid_fields", "StartFromDate"),
        ({"StartToTime": "11h"}, 400, "invalid_fields", "StartToTime"),
        ({"StartToTime": "10:00"}, 400, "end_before_start", "StartToTime"),
    ],
)
def test_scheduled_callback_overlap_refusals(agent_client, overrides, status, code, field):
    reply = post(agent_client, overlap_body(**overrides), status=status)
    error = reply["message"]["error"]
    assert (error["code"], field in error["fields"]) == (code, True)


def test_scheduled_callback_overlap_for_another_agent_is_refused_to_an_agent(agent_client):
    reply = post(agent_client, overlap_body(UserID="otheragent"), status=403)
    assert reply["message"]["error"]["code"] == "forbidden"


# --- GetPersonalCallbackList -----------------------------------------------------


def list_body(**overrides):
    data = {"UserID": "testagent", "FromDate": "01/12/2026", "ToDate": "31/12/2026"}
    data.update(overrides)
    return envelope("GetPersonalCallbackList", **data)


def test_the_personal_callback_list_pages_soonest_first(agent_client):
    ids = [
        post(agent_client, callback_body(PERSONAL, StartDate=day, EndDate=day))["message"][
            "response"
        ]["CallbackID"]
        for day in ("04/12/2026", "02/12/2026", "03/12/2026")
    ]
    post(agent_client, callback_body(SET, StartDate="05/12/2026", EndDate="05/12/2026"))
    reply = post(agent_client, list_body())
    assert reply["subtopic"] == "GetPersonalCallbackListResult"
    response = reply["message"]["response"]
    assert response["Total"] == 3
    assert [c["CallbackID"] for c in response["Callbacks"]] == [ids[1], ids[2], ids[0]]
    assert response["Callbacks"][0] == {
        "RowNumber": 1,
        "CallbackID": ids[1],
        "AccountNumber": DAVID,
        "ModeID": 2,
        "ModeDescription": "Office",
        "CValue": "2025550143",
        "CallStartDate": "02/12/2026",
        "CallEndDate": "02/12/2026",
        "CallStartTime": "10:00",
        "CallEndTime": "12:00",
        "AgentComments": "Call back about the renewal",
    }
    page = post(agent_client, list_body(StartingNoOfRecord=2, NoofRecords=1))["message"]
    assert [(c["RowNumber"], c["CallbackID"]) for c in page["response"]["Callbacks"]] == [
        (2, ids[2])
    ]
    # 1.0 is JSON Schema's integer too (the schema fuzzer sent 75.0): the same page.
    same = post(agent_client, list_body(StartingNoOfRecord=2.0, NoofRecords=1.0))["message"]
    assert same["response"] == page["response"]
    assert page["response"]["Total"] == 3
    narrow = post(agent_client, list_body(FromDate="03/12/2026", ToDate="03/12/2026"))
    assert [c["CallbackID"] for c in narrow["message"]["response"]["Callbacks"]] == [ids[2]]
    assert post(client_for("otheragent"), list_body(UserID="otheragent"))["message"][
        "response"
    ] == {"Callbacks": [], "Total": 0}


@pytest.mark.parametrize(
    "overrides,status,code,field",
    [
        ({"NoofRecords": 101}, 400, "invalid_fields", "NoofRecords"),
        ({"NoofRecords": 0}, 400, "invalid_fields", "NoofRecords"),
        ({"StartingNoOfRecord": 0}, 400, "invalid_fields", "StartingNoOfRecord"),
        ({"StartingNoOfRecord": True}, 400, "invalid_fields", "StartingNoOfRecord"),
        ({"FromDate": "1/12/2026"}, 400, "invalid_fields", "FromDate"),
        ({"ToDate": "30/11/2026"}, 400, "end_before_start", "ToDate"),
    ],
)
def test_personal_callback_list_refusals(agent_client, overrides, status, code, field):
    reply = post(agent_client, list_body(**overrides), status=status)
    error = reply["message"]["error"]
    assert (error["code"], field in error["fields"]) == (code, True)


def test_the_personal_callback_list_of_another_agent_is_refused_to_an_agent(agent_client):
    reply = post(agent_client, list_body(UserID="otheragent"), status=403)
    assert reply["message"]["error"]["code"] == "forbidden"


def test_the_integration_account_lists_any_agents_callbacks(demo):
    dialer = client_for("dialer")
    post(dialer, callback_body(PERSONAL, UserID="otheragent"))
    response = post(dialer, list_body(UserID="otheragent"))["message"]["response"]
    assert response["Total"] == 1
    assert post(dialer, list_body(UserID="ghost"), status=404)["message"]["error"]["code"] == (
        "unknown_agent"
    )


# --- Status ------------------------------------------------------------------------


def test_a_callback_whose_number_changed_needs_attention(agent_client):
    reply = post(agent_client, callback_body())
    callback = Callback.objects.get(pk=reply["message"]["response"]["CallbackID"])
    assert callbacks.attention([callback], now=NOW) == {}
    body = envelope(
        "SetNewModeNumber", callid="12345", AccountNumber=DAVID, ModeID=OFFICE,
        ContactNumber="2025550188", DeleteOtherModes=False, AgentID="testagent",
    )  # fmt: skip
    post(agent_client, body)
    assert callbacks.attention([callback], now=NOW) == {
        callback.pk: "mode 2 now holds 2025550188, not 2025550143"
    }
    assert not ContactMode.objects.filter(number="2025550143", deleted_at=None).exists()


def test_a_callback_whose_mode_was_deleted_or_blocked_needs_attention(agent_client):
    reply = post(agent_client, callback_body())
    callback = Callback.objects.get(pk=reply["message"]["response"]["CallbackID"])
    do_not_call.add_number(number="(202) 555-0143", reason="asked")
    assert callbacks.attention([callback], now=NOW) == {
        callback.pk: "2025550143 is on the do-not-call list"
    }
    body = envelope(
        "SetNewModeNumber", callid="12345", AccountNumber=DAVID, ModeID=1,
        ContactNumber="6491462346", DeleteOtherModes=True, AgentID="testagent",
    )  # fmt: skip
    post(agent_client, body)
    assert callbacks.attention([callback], now=NOW) == {callback.pk: "mode 2 was deleted"}
    assert audit.verify_chain().ok


# --- The dialer's side -------------------------------------------------------------

DUE = "/api/lcm/callbacks/due/"


def schedule(client, subtopic=SET, **overrides) -> int:
    return post(client, callback_body(subtopic, **overrides))["message"]["response"]["CallbackID"]


def due_ids(client, query=""):
    response = client.get(DUE + query)
    assert response.status_code == 200, response.content
    body = response.json()
    return [c["CallbackID"] for c in body["Callbacks"]], body["Total"]


def test_due_callbacks_are_those_open_now_oldest_first(agent_client):
    dialer = client_for("dialer")
    early = schedule(agent_client, StartDate="01/12/2026", EndDate="01/12/2026", StartTime="09:00",
                     EndTime="10:00")  # fmt: skip
    later = schedule(agent_client, StartDate="02/12/2026", EndDate="02/12/2026")
    personal = schedule(agent_client, PERSONAL, StartTime="11:00", EndTime="13:00")
    assert due_ids(dialer) == ([early], 1)
    with time_machine.travel(dt.datetime(2026, 12, 2, 16, 30, tzinfo=dt.UTC), tick=False):
        assert due_ids(dialer) == ([later, personal], 2)
        assert due_ids(dialer, "?offset=1&limit=1") == ([personal], 2)
        element = dialer.get(DUE).json()["Callbacks"][0]
    assert element == {
        "CallbackID": later, "Kind": "regular", "AccountNumber": DAVID, "ModeID": 2,
        "CValue": "2025550143", "E164": "+12025550143", "TimeZone": "America/New_York",
        "Start": "2026-12-02T15:00:00Z", "End": "2026-12-02T17:00:00Z", "AgentID": "testagent",
        "AgentComments": "Call back about the renewal", "State": "scheduled", "Outcome": "",
        "ClosedAt": None,
    }  # fmt: skip


def test_a_callback_needing_attention_is_not_due(agent_client):
    dialer = client_for("dialer")
    schedule(agent_client, StartDate="01/12/2026", EndDate="01/12/2026", StartTime="09:00",
             EndTime="10:00")  # fmt: skip
    do_not_call.add_number(number="+12025550143", reason="asked")
    assert due_ids(dialer) == ([], 0)


@pytest.mark.parametrize("query,field", [("?limit=101", "limit"), ("?offset=x", "offset")])
def test_due_paging_is_checked(demo, query, field):
    response = client_for("dialer").get(DUE + query)
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_only_the_dialer_lists_or_closes_callbacks(agent_client):
    pk = schedule(agent_client)
    before = state()
    for client in (agent_client, client_for("supervisor")):
        assert client.get(DUE).json()["code"] == "forbidden"
        response = client.post(f"/api/lcm/callbacks/{pk}/done/", {"Outcome": "x"}, format="json")
        assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    assert state() == before


def test_done_is_idempotent_and_audited(agent_client):
    dialer = client_for("dialer")
    pk = schedule(agent_client)
    url = f"/api/lcm/callbacks/{pk}/done/"
    response = dialer.post(url, {"Outcome": "sale"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["State"], response.json()["Outcome"]) == ("done", "sale")
    entry = ModeChange.objects.order_by("-seq").first()
    assert entry.callback["event"] == "done"
    assert entry.callback["outcome"] == "sale"
    assert entry.username == "dialer"
    before = state()
    again = dialer.post(url, {"Outcome": "sale"}, format="json")
    assert again.status_code == 200
    assert again.json() == response.json()
    assert state() == before
    other = dialer.post(url, {"Outcome": "no answer"}, format="json")
    assert (other.status_code, other.json()["code"]) == (409, "callback_closed")
    cancel = dialer.post(f"/api/lcm/callbacks/{pk}/cancel/", {}, format="json")
    assert (cancel.status_code, cancel.json()["code"]) == (409, "callback_closed")
    assert state() == before
    assert audit.verify_chain().ok


def test_cancel_is_idempotent(agent_client):
    dialer = client_for("dialer")
    pk = schedule(agent_client)
    url = f"/api/lcm/callbacks/{pk}/cancel/"
    assert dialer.post(url, {"Reason": "wrong person"}, format="json").json()["State"] == (
        "cancelled"
    )
    before = state()
    assert dialer.post(url, {}, format="json").status_code == 200
    assert state() == before
    done = dialer.post(f"/api/lcm/callbacks/{pk}/done/", {"Outcome": "sale"}, format="json")
    assert done.status_code == 409


@pytest.mark.parametrize(
    "path,body,status,code,field",
    [
        ("/api/lcm/callbacks/999999/done/", {"Outcome": "x"}, 404, "unknown_callback", None),
        ("/api/lcm/callbacks/abc/done/", {"Outcome": "x"}, 400, "invalid_fields", "CallbackID"),
        ("/api/lcm/callbacks/99999999999999999999/cancel/", {}, 400, "invalid_fields",
         "CallbackID"),
        ("/api/lcm/callbacks/{pk}/done/", {}, 400, "invalid_fields", "Outcome"),
        ("/api/lcm/callbacks/{pk}/done/", {"Outcome": "x" * 101}, 400, "invalid_fields",
         "Outcome"),
        ("/api/lcm/callbacks/{pk}/cancel/", {"Reason": 5}, 400, "invalid_fields", "Reason"),
    ],
)  # fmt: skip
def test_closing_refusals(agent_client, path, body, status, code, field):
    pk = schedule(agent_client)
    before = state()
    response = client_for("dialer").post(path.format(pk=pk), body, format="json")
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    if field:
        assert field in response.json()["fields"]
    assert state() == before


# --- Supervisors -------------------------------------------------------------------


def browser(username):
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def test_supervisors_see_due_overdue_and_needing_attention(agent_client):
    overdue = schedule(agent_client, StartDate="01/12/2026", EndDate="01/12/2026",
                       StartTime="09:00", EndTime="10:00")  # fmt: skip
    flagged = schedule(agent_client, PERSONAL)
    upcoming = schedule(agent_client, StartDate="03/12/2026", EndDate="03/12/2026")
    body = envelope(
        "SetNewModeNumber", callid="12345", AccountNumber=DAVID, ModeID=OFFICE,
        ContactNumber="2025550188", DeleteOtherModes=False, AgentID="testagent",
    )  # fmt: skip
    post(agent_client, body)  # every callback on mode 2 now needs attention
    client = browser("supervisor")
    url = "/admin/lcm/callback/"
    page = client.get(url)
    assert page.status_code == 200
    assert "Needs attention: mode 2 now holds 2025550188, not 2025550143" in page.text
    attention = client.get(url + "?status=attention")
    assert {flagged, overdue, upcoming} == set(attention.context["cl"].result_list.values_list(
        "pk", flat=True))  # fmt: skip
    with time_machine.travel(dt.datetime(2026, 12, 2, 16, 0, tzinfo=dt.UTC), tick=False):
        assert list(client.get(url + "?status=overdue").context["cl"].result_list) == [
            Callback.objects.get(pk=overdue)
        ]
        assert list(client.get(url + "?status=due").context["cl"].result_list) == []
    detail = client.get(f"{url}{flagged}/change/")
    assert detail.status_code == 200
    assert f"/admin/lcm/callback/{flagged}/reassign/" in detail.text


def test_the_dashboard_counts_callbacks_due_and_overdue_linking_to_the_lists(agent_client):
    """Issue 14, point 6: the figures are the lists' own counts."""
    import re
    from html import unescape

    overdue = schedule(agent_client, StartDate="01/12/2026", EndDate="01/12/2026",
                       StartTime="09:00", EndTime="10:00")  # fmt: skip
    due = schedule(agent_client)  # 02/12 10:00-12:00 in New York
    schedule(agent_client, StartDate="03/12/2026", EndDate="03/12/2026")  # upcoming
    client = browser("supervisor")

    def figures():
        page = client.get("/admin/").text
        return {
            key: (int(count), unescape(url))
            for key, url, count in re.findall(
                r'<tr id="figure-(callbacks-[\w-]+)"><th scope="row"><a href="([^"]+)">.*?'
                r'<td class="figure"><a href="[^"]*">(\d+)</a>',
                page,
            )
        }

    with time_machine.travel(dt.datetime(2026, 12, 2, 16, 0, tzinfo=dt.UTC), tick=False):
        shown = figures()
        assert {key: count for key, (count, _) in shown.items()} == {
            "callbacks-due": 1,
            "callbacks-overdue": 1,
        }
        for key, pk in (("callbacks-due", due), ("callbacks-overdue", overdue)):
            listing = client.get(shown[key][1]).context["cl"].result_list
            assert list(listing.values_list("pk", flat=True)) == [pk], key

        # A due callback whose number changed needs attention: no longer "due".
        body = envelope(
            "SetNewModeNumber", callid="12345", AccountNumber=DAVID, ModeID=OFFICE,
            ContactNumber="2025550188", DeleteOtherModes=False, AgentID="testagent",
        )  # fmt: skip
        post(agent_client, body)
        assert figures()["callbacks-due"][0] == 0
        # Auditors do not view callbacks: no such figure for them.
        assert "figure-callbacks" not in browser("auditor").get("/admin/").text


def test_a_supervisor_reassigns_and_cancels_audited(agent_client):
    pk = schedule(agent_client, PERSONAL)
    client = browser("supervisor")
    response = client.post(f"/admin/lcm/callback/{pk}/reassign/", {"agent": "otheragent"})
    assert response.status_code == 302
    assert Callback.objects.get(pk=pk).agent.agent_id == "otheragent"
    entry = ModeChange.objects.order_by("-seq").first()
    assert entry.callback["event"] == "reassigned"
    assert (entry.callback["from_agent"], entry.callback["agent"]) == ("testagent", "otheragent")
    assert entry.username == "supervisor"
    before = state()
    unknown = client.post(f"/admin/lcm/callback/{pk}/reassign/", {"agent": "ghost"})
    assert unknown.status_code == 200
    assert "Unknown AgentID: ghost" in unknown.text
    assert state() == before
    response = client.post(f"/admin/lcm/callback/{pk}/cancel/", {"reason": "left the company"})
    assert response.status_code == 302
    callback = Callback.objects.get(pk=pk)
    assert (callback.state, callback.outcome, callback.closed_by) == (
        "cancelled", "left the company", "supervisor",
    )  # fmt: skip
    assert ModeChange.objects.order_by("-seq").first().callback["event"] == "cancelled"
    before = state()
    again = client.post(f"/admin/lcm/callback/{pk}/cancel/", {"reason": "again"})
    assert again.status_code == 200
    assert "only a scheduled callback can be changed" in again.text
    assert state() == before
    assert audit.verify_chain().ok


def test_reassigning_a_personal_callback_onto_an_overlap_is_refused(agent_client):
    mine = schedule(agent_client, PERSONAL)
    post(client_for("dialer"), callback_body(PERSONAL, UserID="otheragent", AgentComments="x"))
    before = state()
    response = browser("supervisor").post(
        f"/admin/lcm/callback/{mine}/reassign/", {"agent": "otheragent"}
    )
    assert response.status_code == 200
    assert "already has personal callback" in response.text
    assert state() == before


def test_auditors_read_callbacks_but_may_not_change_them(agent_client):
    pk = schedule(agent_client)
    client = browser("auditor")
    before = state()
    assert client.post(f"/admin/lcm/callback/{pk}/cancel/", {"reason": "x"}).status_code == 403
    assert state() == before


def test_auditors_see_callback_entries_in_the_audit_log(agent_client):
    schedule(agent_client)
    entry = ModeChange.objects.get(seq=DEMO_ENTRIES + 1)
    page = browser("auditor").get(f"/admin/lcm/modechange/{entry.pk}/change/")
    assert page.status_code == 200
    assert "Callback" in page.text
    assert "event: scheduled" in page.text  # the event, in words (lcm.admin.audit)


def test_an_idempotency_key_replays_the_first_reply(agent_client):
    def send(body):
        return agent_client.post(
            "/api/lcm/webservice/", body, format="json", HTTP_IDEMPOTENCY_KEY="cb-1"
        )

    first = send(callback_body())
    before = state()
    again = send(callback_body())
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert state() == before
    other = send(callback_body(AgentComments="another"))
    assert (other.status_code, other.json()["message"]["error"]["code"]) == (
        422, "idempotency_key_reused",
    )  # fmt: skip
    assert state() == before


def test_the_pre_requisite_of_set_new_mode_number_applies(agent_client):
    from lcm.models import Agent

    Agent.objects.filter(agent_id="testagent").update(is_logged_in=False)
    before = state()
    reply = post(agent_client, callback_body(callid="12300"), status=409)  # an ended call
    assert reply["message"]["error"]["code"] == "prerequisite_failed"
    assert state() == before


# --- Hostile input: a 400 naming the field, never a 500 ----------------------------

HOSTILE = ["\x00", "ok\ud800", 10**30, "9" * 5000, None, [], {}, True, 1.5, "  "]
MESSAGES = {
    SET: callback_body(SET)["data"],
    PERSONAL: callback_body(PERSONAL)["data"],
    "ScheduledCallBackOverlap": overlap_body()["data"],
    "GetPersonalCallbackList": {**list_body()["data"], "StartingNoOfRecord": 1, "NoofRecords": 5},
}
OPTIONAL_BLANK = {"AgentComments"}  # "  " is a blank comment: accepted


@pytest.mark.parametrize(
    "subtopic,field",
    [(subtopic, field) for subtopic, data in MESSAGES.items() for field in data],
)
def test_every_hostile_field_is_a_400_naming_it(demo, subtopic, field):
    dialer = client_for("dialer")
    before = state()
    for value in HOSTILE:
        if value == "  " and field in OPTIONAL_BLANK:
            continue
        data = {**MESSAGES[subtopic], field: value}
        body = json.dumps(envelope(subtopic, **data))  # a lone surrogate, escaped
        response = dialer.post("/api/lcm/webservice/", body, content_type="application/json")
        assert response.status_code == 400, (value, response.content)
        error = response.json()["message"]["error"]
        assert field in error["fields"], (value, error)
    assert state() == before


def test_a_whole_contact_opt_out_stops_its_callbacks(agent_client):
    """SetDNC on the whole contact (part A): a callback scheduled before needs
    attention and is not due; a new one is refused."""
    callback = Callback.objects.get(pk=schedule(agent_client, StartDate="01/12/2026",
                                                EndDate="01/12/2026", StartTime="09:00",
                                                EndTime="10:00"))  # fmt: skip
    assert due_ids(client_for("dialer")) == ([callback.pk], 1)
    dnc = envelope("SetDNC", callid="12345", AccountNumber=DAVID, AgentID="testagent",
                   isPhoneNoDNC=False)  # fmt: skip
    post(agent_client, dnc)
    assert callbacks.attention([callback], now=NOW) == {
        callback.pk: "the whole contact is on the do-not-call list"
    }
    assert due_ids(client_for("dialer")) == ([], 0)
    before = state()
    reply = post(agent_client, callback_body(StartDate="02/12/2026"), status=409)
    assert reply["message"]["error"]["code"] == "do_not_call"
    assert state() == before
    assert audit.verify_chain().ok
