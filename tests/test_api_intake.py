"""The dialer/CTI API: call lifecycle and agent sessions, over DRF's APIClient."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group

from lcm import errors
from lcm.models import Agent, AgentSessionEvent, Call

from .conftest import client_for
from .factories import UserFactory

pytestmark = pytest.mark.django_db

CALLS = "/api/lcm/calls/"
DAVID = "5|3|1|0|0|44|1"
MARIA = "596|485|587|0|0|44|59"
T0 = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
# Session times after seed_demo's (now): a login must not predate the last change.
LATER = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)


def iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


@pytest.fixture
def dialer(demo):
    return client_for("dialer")


def register(client, **overrides):
    body = {
        "callid": "20001",
        "AccountNumber": DAVID,
        "AgentID": "testagent",
        "StartTime": "2026-11-26T15:00:00Z",
    }
    body.update(overrides)
    return client.post(CALLS, body, format="json")


def calls():
    return list(Call.objects.order_by("pk").values())


def sessions():
    return (
        list(Agent.objects.order_by("pk").values()),
        list(AgentSessionEvent.objects.order_by("pk").values()),
    )


# --- Register ----------------------------------------------------------------


def test_register_a_call(dialer):
    response = register(dialer)

    assert response.status_code == 201
    assert response.json() == {
        "callid": "20001",
        "AccountNumber": DAVID,
        "AgentID": "testagent",
        "State": "active",
        "StartTime": "2026-11-26T15:00:00Z",
        "EndTime": None,
    }
    call = Call.objects.get(callid="20001")
    assert (call.account.account_number, call.agent.agent_id, call.state, call.started_at) == (
        DAVID,
        "testagent",
        "active",
        T0,
    )


def test_registering_the_same_call_again_is_harmless(dialer):
    register(dialer)
    dialer.post(f"{CALLS}20001/wrapup/")
    before = calls()

    response = register(dialer, StartTime="2026-11-26T16:00:00+01:00")  # same instant

    assert response.status_code == 200
    assert response.json()["State"] == "wrapup"
    assert calls() == before


@pytest.mark.parametrize(
    ("overrides", "status", "code", "message"),
    [
        (
            {"AccountNumber": MARIA},
            409,
            "call_account_mismatch",
            errors.CALL_ACCOUNT_TAKEN.format(callid="20001", account_number=DAVID),
        ),
        (
            {"AgentID": "otheragent"},
            409,
            "call_agent_mismatch",
            errors.CALL_AGENT_TAKEN.format(callid="20001", agent_id="testagent"),
        ),
        (
            {"StartTime": "2026-11-26T15:00:01Z"},
            409,
            "call_start_mismatch",
            errors.CALL_START_MISMATCH.format(callid="20001", started_at=T0.isoformat()),
        ),
    ],
)
def test_a_callid_registered_for_another_call_is_a_conflict(
    dialer, overrides, status, code, message
):
    register(dialer)
    before = calls()

    response = register(dialer, **overrides)

    assert response.status_code == status
    assert response.json() == {"code": code, "message": message}
    assert calls() == before


@pytest.mark.parametrize(
    ("overrides", "status", "code", "message"),
    [
        (
            {"AgentID": "nobody"},
            404,
            "unknown_agent",
            errors.UNKNOWN_AGENT.format(agent_id="nobody"),
        ),
        (
            {"AccountNumber": "0|0"},
            404,
            "unknown_account",
            errors.UNKNOWN_ACCOUNT.format(account_number="0|0"),
        ),
    ],
)
def test_unknown_agents_and_accounts_are_404(dialer, overrides, status, code, message):
    response = register(dialer, **overrides)

    assert response.status_code == status
    assert response.json() == {"code": code, "message": message}
    assert not Call.objects.filter(callid="20001").exists()


def test_invalid_fields_are_named(dialer):
    response = dialer.post(
        CALLS, {"callid": 20001, "AgentID": "", "StartTime": "yesterday"}, format="json"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_fields"
    assert set(body["fields"]) == {"callid", "AccountNumber", "AgentID", "StartTime"}
    assert body["fields"]["callid"] == ["Must be a string."]


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"data": "{not json", "content_type": "application/json"}, 400, "malformed_json"),
        (
            {"data": "callid=1", "content_type": "application/x-www-form-urlencoded"},
            415,
            "unsupported_media_type",
        ),
        ({"data": [1, 2], "format": "json"}, 400, "invalid_fields"),
    ],
)
def test_bad_bodies_get_json_errors(dialer, kwargs, status, code):
    response = dialer.post(CALLS, **kwargs)

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == code


def test_get_is_not_allowed(dialer):
    response = dialer.get(CALLS)

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("username", "status", "code"),
    [(None, 401, "not_authenticated"), ("testagent", 403, "forbidden")],
)
def test_only_holders_of_the_permission_may_register_calls(demo, username, status, code):
    response = register(client_for(username))

    assert response.status_code == status
    assert response.json()["code"] == code
    assert not Call.objects.filter(callid="20001").exists()


def test_a_member_of_the_dialer_integration_group_may_use_the_api(demo):
    user = UserFactory(username="cti")
    user.groups.add(Group.objects.get(name="Dialer integration"))

    assert register(client_for("cti")).status_code == 201
    assert client_for("cti").post("/api/lcm/agents/offagent/login/").status_code == 200


# --- Wrap-up and end ------------------------------------------------------------


def test_wrap_up_then_end_a_call(dialer):
    register(dialer)

    wrapped = dialer.post(f"{CALLS}20001/wrapup/")
    again = dialer.post(f"{CALLS}20001/wrapup/")
    ended = dialer.post(f"{CALLS}20001/end/", {"EndTime": "2026-11-26T15:04:30Z"}, format="json")

    assert (wrapped.status_code, wrapped.json()["State"]) == (200, "wrapup")
    assert again.json() == wrapped.json()
    assert ended.status_code == 200
    assert (ended.json()["State"], ended.json()["EndTime"]) == ("ended", "2026-11-26T15:04:30Z")
    call = Call.objects.get(callid="20001")
    assert (call.state, call.ended_at) == ("ended", T0 + timedelta(minutes=4, seconds=30))


def test_end_without_a_time_ends_now_and_repeating_it_is_harmless(dialer):
    register(dialer)

    first = dialer.post(f"{CALLS}20001/end/")
    before = calls()
    again = dialer.post(f"{CALLS}20001/end/")
    same_time = dialer.post(
        f"{CALLS}20001/end/", {"EndTime": first.json()["EndTime"]}, format="json"
    )

    assert first.status_code == again.status_code == same_time.status_code == 200
    assert again.json() == first.json() == same_time.json()
    assert calls() == before
    assert Call.objects.get(callid="20001").ended_at > T0


def test_an_end_before_the_start_is_400_and_changes_nothing(dialer):
    register(dialer)
    before = calls()

    response = dialer.post(f"{CALLS}20001/end/", {"EndTime": "2026-11-26T14:59:59Z"}, format="json")

    assert response.status_code == 400
    message = errors.END_BEFORE_START.format(
        ended_at="2026-11-26T14:59:59+00:00", started_at=T0.isoformat()
    )
    assert response.json() == {
        "code": "end_before_start",
        "message": message,
        "fields": {"EndTime": [message]},
    }
    assert calls() == before


def test_ending_an_ended_call_at_another_time_or_wrapping_it_up_is_409(dialer):
    register(dialer)
    dialer.post(f"{CALLS}20001/end/", {"EndTime": "2026-11-26T15:05:00Z"}, format="json")
    before = calls()
    ended = errors.CALL_ENDED.format(callid="20001", ended_at="2026-11-26T15:05:00+00:00")

    other_end = dialer.post(
        f"{CALLS}20001/end/", {"EndTime": "2026-11-26T15:06:00Z"}, format="json"
    )
    wrap = dialer.post(f"{CALLS}20001/wrapup/")

    assert (other_end.status_code, other_end.json()) == (
        409,
        {"code": "call_ended", "message": ended},
    )
    assert (wrap.status_code, wrap.json()) == (409, {"code": "call_ended", "message": ended})
    assert calls() == before


@pytest.mark.parametrize("action", ["wrapup", "end"])
def test_an_unknown_callid_is_404(dialer, action):
    response = dialer.post(f"{CALLS}99999/{action}/")

    assert response.status_code == 404
    assert response.json() == {
        "code": "unknown_call",
        "message": errors.INVALID_CALL_ID.format(callid="99999"),
    }


def test_end_time_must_be_a_time(dialer):
    register(dialer)

    response = dialer.post(f"{CALLS}20001/end/", {"EndTime": 5}, format="json")

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"EndTime"}
    assert Call.objects.get(callid="20001").state == "active"


# --- Agent sessions -------------------------------------------------------------


def test_log_an_agent_in_and_out_keeping_each_change(dialer):
    login_at, logout_at = LATER, LATER + timedelta(hours=8)

    login = dialer.post("/api/lcm/agents/offagent/login/", {"Time": iso(login_at)}, format="json")
    again = dialer.post("/api/lcm/agents/offagent/login/")
    logout = dialer.post(
        "/api/lcm/agents/offagent/logout/", {"Time": iso(logout_at)}, format="json"
    )

    assert (login.status_code, login.json()) == (
        200,
        {"AgentID": "offagent", "LoggedIn": True, "ChangedAt": iso(login_at)},
    )
    assert again.json() == login.json()
    assert logout.json() == {"AgentID": "offagent", "LoggedIn": False, "ChangedAt": iso(logout_at)}
    agent = Agent.objects.get(agent_id="offagent")
    assert (agent.is_logged_in, agent.logged_in_changed_at) == (False, logout_at)
    assert list(
        AgentSessionEvent.objects.filter(agent=agent)
        .order_by("at")
        .values_list("event", "at", "username", "user__username")
    ) == [
        ("login", login_at, "dialer", "dialer"),
        ("logout", logout_at, "dialer", "dialer"),
    ]


def test_a_login_without_a_time_is_now(dialer):
    response = dialer.post("/api/lcm/agents/offagent/login/")

    assert response.status_code == 200
    event = AgentSessionEvent.objects.get()
    agent = Agent.objects.get(agent_id="offagent")
    assert agent.is_logged_in and agent.logged_in_changed_at == event.at
    assert event.at > datetime(2026, 1, 1, tzinfo=UTC)


def test_an_event_older_than_the_last_change_is_refused(dialer):
    dialer.post("/api/lcm/agents/offagent/login/", {"Time": iso(LATER)}, format="json")
    before = sessions()
    earlier = LATER - timedelta(minutes=30)

    response = dialer.post(
        "/api/lcm/agents/offagent/logout/", {"Time": iso(earlier)}, format="json"
    )

    assert response.status_code == 409
    assert response.json() == {
        "code": "stale_session_event",
        "message": errors.STALE_SESSION_EVENT.format(
            agent_id="offagent",
            changed_at=LATER.isoformat(),
            event="logout",
            at=earlier.isoformat(),
        ),
    }
    assert sessions() == before


@pytest.mark.parametrize("action", ["login", "logout"])
def test_an_unknown_agent_is_404(dialer, action):
    response = dialer.post(f"/api/lcm/agents/nobody/{action}/")

    assert response.status_code == 404
    assert response.json() == {
        "code": "unknown_agent",
        "message": errors.UNKNOWN_AGENT.format(agent_id="nobody"),
    }


def test_agents_cannot_log_themselves_in(demo):
    before = sessions()

    response = client_for("offagent").post("/api/lcm/agents/offagent/login/")

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert sessions() == before


def test_a_bad_time_is_400(dialer):
    response = dialer.post("/api/lcm/agents/offagent/login/", {"Time": "soon"}, format="json")

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"Time"}
    assert not Agent.objects.get(agent_id="offagent").is_logged_in


# --- OpenAPI ---------------------------------------------------------------------


def test_the_dialer_endpoints_are_in_the_openapi_schema_with_examples(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    paths = schema["paths"]
    register_op = paths["/api/lcm/calls/"]["post"]
    example = register_op["requestBody"]["content"]["application/json"]["examples"]["Register"]
    assert example["value"]["AccountNumber"] == DAVID
    assert {"200", "201", "400", "401", "403", "404", "409"} <= set(register_op["responses"])
    for path in [
        "/api/lcm/calls/{callid}/wrapup/",
        "/api/lcm/calls/{callid}/end/",
        "/api/lcm/agents/{agent_id}/login/",
        "/api/lcm/agents/{agent_id}/logout/",
    ]:
        operation = paths[path]["post"]
        assert operation["tags"] == ["dialer"]
        assert operation["responses"]["200"]["content"]["application/json"]["examples"]


# --- Admin -----------------------------------------------------------------------


def test_session_events_are_listed_read_only_in_the_admin(demo_admin):
    client_for("dialer").post("/api/lcm/agents/offagent/login/")

    listing = demo_admin.get("/admin/lcm/agentsessionevent/")

    assert listing.status_code == 200
    assert b"offagent" in listing.content
    assert demo_admin.get("/admin/lcm/agentsessionevent/add/").status_code == 403


def test_a_callid_with_a_slash_can_be_wrapped_up_and_ended(dialer):
    register(dialer, callid="2026/11/26-7")

    wrapped = dialer.post(f"{CALLS}2026/11/26-7/wrapup/")
    ended = dialer.post(f"{CALLS}2026%2F11%2F26-7/end/")

    assert (wrapped.status_code, wrapped.json()["State"]) == (200, "wrapup")
    assert (ended.status_code, ended.json()["State"]) == (200, "ended")
