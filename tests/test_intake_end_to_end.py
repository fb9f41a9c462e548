"""The dialer feeds lcm, an agent changes a number, the call ends, the agent
leaves: afterwards the call no longer allows SetNewModeNumber."""

import io

import pytest
from django.core.management import call_command

from lcm.models import ModeChange

from .audit_log import DEMO_LOG, demo_log, new_entries
from .conftest import DEMO_ENTRIES, WEBSERVICE, client_for, live_modes, set_mode_body, snapshot

pytestmark = pytest.mark.django_db

ACCOUNT = "77|1|1|0|0|44|1"


def test_import_register_login_set_end_logout_then_refused(demo, tmp_path):
    dialer, agent = client_for("dialer"), client_for("offagent")
    path = tmp_path / "list.csv"
    path.write_text(
        f"AccountNumber,FirstName,LastName,Home,Office\n{ACCOUNT},Ann,Lee,2025550170,\n"
    )
    call_command("import_accounts", str(path), stdout=io.StringIO())

    registered = dialer.post(
        "/api/lcm/calls/",
        {
            "callid": "E2E-1",
            "AccountNumber": ACCOUNT,
            "AgentID": "offagent",
            "StartTime": "2026-11-26T15:00:00Z",
        },
        format="json",
    )
    login = dialer.post("/api/lcm/agents/offagent/login/")
    body = set_mode_body(
        callid="E2E-1",
        AccountNumber=ACCOUNT,
        AgentID="offagent",
        ModeID=2,
        ContactNumber="202 555 0171",
    )
    changed = agent.post(WEBSERVICE, body, format="json")
    ended = dialer.post("/api/lcm/calls/E2E-1/end/")
    logout = dialer.post("/api/lcm/agents/offagent/logout/")
    before = snapshot()
    refused = agent.post(
        WEBSERVICE, {**body, "data": {**body["data"], "ContactNumber": "2025550172"}}, format="json"
    )

    assert [r.status_code for r in (registered, login, changed, ended, logout)] == [
        201,
        200,
        200,
        200,
        200,
    ]
    assert changed.json()["message"]["response"] == {"success": True}
    assert refused.status_code == 409
    error = refused.json()["message"]["error"]
    assert error["code"] == "prerequisite_failed"
    assert error["msg"] == "The agent must be on an active call or logged in."
    assert snapshot() == before
    assert live_modes(ACCOUNT) == {1: "2025550170", 2: "2025550171"}
    assert ModeChange.objects.count() == DEMO_ENTRIES + 2
    assert demo_log() == DEMO_LOG
    assert list(
        new_entries().values_list(
            "action", "source", "callid", "agent_code", "mode_id", "old_number", "new_number"
        )
    ) == [
        ("import", "import", "", "", 1, "", "2025550170"),
        ("set", "", "E2E-1", "offagent", 2, "", "2025550171"),
    ]
