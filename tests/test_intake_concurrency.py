"""The dialer's doors under concurrency, on PostgreSQL over real HTTP."""

import io
import itertools
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from rest_framework.authtoken.models import Token

from lcm.audit import compute_hash
from lcm.models import Call, ModeChange

from .conftest import DEMO_PASSWORD, live_modes, set_mode_body
from .test_api_set_new_mode_number import DAVID
from .test_concurrency import _post, _user_id, replay

# serialized_rollback: start from what migrations wrote (the audit chain
# head, the groups), even after another transactional test flushed them.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _token(username):
    return Token.objects.create(user_id=_user_id(username)).key


def test_concurrent_registrations_of_one_callid_make_one_call(live_server):
    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())
    token = _token("dialer")
    body = {
        "callid": "RACE-1",
        "AccountNumber": DAVID,
        "AgentID": "testagent",
        "StartTime": "2026-11-26T15:00:00Z",
    }

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(
            pool.map(lambda _: _post(f"{live_server.url}/api/lcm/calls/", token, body), range(6))
        )

    assert sorted(status for status, _ in results) == [200] * 5 + [201]
    assert {answer["callid"] for _, answer in results} == {"RACE-1"}
    assert Call.objects.filter(callid="RACE-1").count() == 1


def test_an_import_and_an_agent_changing_one_contact_lose_no_update(live_server, tmp_path):
    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())
    token = _token("testagent")
    assert live_modes(DAVID) == {1: "6491462346", 2: "2025550143"}  # the demo's import
    path = tmp_path / "david.csv"
    # The same account on every line: each line is its own transaction.
    path.write_text(
        "AccountNumber,Mode1,Mode2\n"
        + "".join(f"{DAVID},40055500{i:02d},40055510{i:02d}\n" for i in range(20))
    )
    bodies = [set_mode_body(ModeID=1 + i % 3, ContactNumber=f"30055500{i:02d}") for i in range(20)]

    def run_import():
        try:
            call_command("import_accounts", str(path), stdout=io.StringIO())
        finally:
            connection.close()
        return "imported"

    with ThreadPoolExecutor(max_workers=5) as pool:
        imported = pool.submit(run_import)
        posted = list(
            pool.map(lambda b: _post(f"{live_server.url}/api/lcm/webservice/", token, b), bodies)
        )

    assert imported.result() == "imported"
    assert [status for status, _ in posted] == [200] * 20
    entries = list(ModeChange.objects.order_by("seq"))
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert sum(e.action == "import" for e in entries) >= 20
    for prev, entry in itertools.pairwise(entries):
        assert entry.prev_hash == prev.hash
    for entry in entries:
        assert compute_hash(entry) == entry.hash
    assert replay(DAVID, {}) == live_modes(DAVID)  # from the demo's import on


def test_a_re_import_racing_itself_creates_each_account_once(tmp_path):
    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())
    path = tmp_path / "list.csv"
    path.write_text(
        "AccountNumber,Home\n" + "".join(f"50|{i},40055520{i:02d}\n" for i in range(50))
    )

    def run_import(_):
        try:
            call_command("import_accounts", str(path), "--batch-size", "7", stdout=io.StringIO())
        except CommandError as exc:
            return exc.returncode
        finally:
            connection.close()
        return 0

    with ThreadPoolExecutor(max_workers=3) as pool:
        statuses = list(pool.map(run_import, range(3)))

    assert statuses == [0, 0, 0]
    assert ModeChange.objects.filter(action="import").exclude(source="seed_demo").count() == 50
    assert [live_modes(f"50|{i}") for i in (0, 49)] == [{1: "4005552000"}, {1: "4005552049"}]
