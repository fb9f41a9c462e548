"""Two agents scheduling callbacks on one contact at once, on PostgreSQL,
over real HTTP (live server): nothing lost, no double booking, the chain
verifies."""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from lcm import audit
from lcm.models import Account, Agent, Call, Callback, ModeChange

from .conftest import DEMO_ENTRIES, DEMO_PASSWORD, envelope
from .test_concurrency import _post

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

DAVID = "5|3|1|0|0|44|1"


def _body(subtopic, callid, user_id, day, start, end, comments):
    return envelope(
        subtopic, callid=callid, AccountNumber=DAVID, StartDate=day, EndDate=day,
        StartTime=start, EndTime=end, CallbackModeId=2, UserID=user_id, AgentComments=comments,
    )  # fmt: skip


def test_two_agents_scheduling_on_one_contact_at_once(live_server):
    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())
    david = Account.objects.get(account_number=DAVID)
    other = Agent.objects.get(agent_id="otheragent")
    Call.objects.create(
        callid="40001", account=david, agent=other, started_at=dt.datetime.now(dt.UTC)
    )
    tokens = {
        name: Token.objects.get_or_create(user=Agent.objects.get(agent_id=name).user)[0].key
        for name in ("testagent", "otheragent")
    }
    tomorrow = dt.datetime.now(zoneinfo.ZoneInfo("America/New_York")).date() + dt.timedelta(1)
    day = tomorrow.strftime("%d/%m/%Y")
    requests = []
    for i in range(6):  # each agent: 6 personal callbacks at separate hours, all accepted
        hour = f"{10 + i:02d}"
        requests.append(("testagent", _body("SetPersonalCallbackWithComments", "12345",
                         "testagent", day, f"{hour}:00", f"{hour}:30", f"t{i}")))  # fmt: skip
        requests.append(("otheragent", _body("SetPersonalCallbackWithComments", "40001",
                         "otheragent", day, f"{hour}:00", f"{hour}:30", f"o{i}")))  # fmt: skip
    for i in range(4):  # the same slot four times for one agent: exactly one wins
        requests.append(("otheragent", _body("SetPersonalCallbackWithComments", "40001",
                         "otheragent", day, "17:00", "18:00", f"race{i}")))  # fmt: skip
        requests.append(("testagent", _body("SetCallbackWithComments", "12345", "testagent",
                         day, "17:00", "18:00", f"regular{i}")))  # fmt: skip

    url = f"{live_server.url}/api/lcm/webservice/"
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda r: _post(url, tokens[r[0]], r[1]), requests))

    statuses = [status for status, _ in results]
    race = [results[i][0] for i, (_, b) in enumerate(requests) if b["data"]["AgentComments"]
            .startswith("race")]  # fmt: skip
    assert sorted(race) == [200, 409, 409, 409], results
    assert statuses.count(200) == len(requests) - 3, results
    ids = [r["message"]["response"]["CallbackID"] for s, r in results if s == 200]
    assert len(set(ids)) == len(ids)
    assert Callback.objects.count() == len(ids)
    assert Callback.objects.filter(agent=other, kind="personal").count() == 7
    assert Callback.objects.filter(agent__agent_id="testagent").count() == 10
    entries = ModeChange.objects.filter(action=ModeChange.Action.CALLBACK)
    assert sorted(e.callback["id"] for e in entries) == sorted(ids)
    assert ModeChange.objects.count() == DEMO_ENTRIES + len(ids)
    report = audit.verify_chain()
    assert report.ok, report.problem
