"""Idempotency-Key: a retried SetNewModeNumber changes nothing twice.

Real HTTP through DRF's APIClient, real database; the concurrent case runs
two requests at once on PostgreSQL.
"""

import io
import json
import logging
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from lcm import errors
from lcm.models import Account, DoNotCallNumber, IdempotencyKey, ModeChange

from .audit_log import new_entries
from .conftest import (
    DEMO_ENTRIES,
    WEBSERVICE,
    client_for,
    envelope,
    live_modes,
    set_mode_body,
    snapshot,
)
from .test_api_set_new_mode_number import DAVID
from .test_request_logs import request_lines

KEY = "0b6a3c1e-6f4e-4d0a-9c1b-2f8d5e7a9b10"
SUCCESS = {
    "channel": "LCM",
    "topic": "WebService",
    "subtopic": "SetNewModeNumberResult",
    "message": {"callid": "12345", "response": {"success": True}},
}


def post(client, body, key=KEY, **extra):
    if key is not None:
        extra["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(WEBSERVICE, body, format="json", **extra)


def error_of(response) -> dict:
    assert response["Content-Type"] == "application/json"
    payload = response.json()
    assert payload["message"]["response"] == {"success": False}
    return payload["message"]["error"]


def test_a_retry_with_the_same_key_gets_the_same_reply_and_changes_nothing(agent_client):
    body = set_mode_body(ModeID=3, ContactNumber="2025550177")

    first = post(agent_client, body, HTTP_X_REQUEST_ID="first")
    after_first = snapshot()
    retry = post(agent_client, body, HTTP_X_REQUEST_ID="retry")

    assert (first.status_code, first.json()) == (200, SUCCESS)
    assert "Idempotent-Replayed" not in first
    assert (retry.status_code, retry.content) == (first.status_code, first.content)
    assert retry["Idempotent-Replayed"] == "true"
    assert retry["X-Request-ID"] == "retry"
    assert snapshot() == after_first
    assert ModeChange.objects.count() == DEMO_ENTRIES + 1
    entry = new_entries().get()
    assert (entry.request_id, entry.new_number) == ("first", "2025550177")
    assert live_modes(DAVID) == {1: "6491462346", 2: "2025550143", 3: "2025550177"}
    stored = IdempotencyKey.objects.get()
    assert (stored.user.username, stored.key, stored.response_status) == ("testagent", KEY, 200)


def test_the_request_log_tells_a_replay_apart(agent_client, caplog):
    caplog.set_level(logging.INFO)

    post(agent_client, set_mode_body())
    post(agent_client, set_mode_body())

    first, retry = request_lines(caplog)
    assert "replayed" not in first
    assert retry["replayed"] is True
    assert retry["status"] == first["status"] == 200
    assert KEY not in json.dumps([first, retry])


def test_the_body_is_compared_as_json_not_as_bytes(agent_client):
    body = set_mode_body()
    first = agent_client.post(
        WEBSERVICE,
        '{"channel": "LCM", "topic": "WebService", "subtopic": "SetNewModeNumber", "data": '
        '{"callid": "12345", "AccountNumber": "5|3|1|0|0|44|1", "ModeID": 1, '
        '"ContactNumber": "961084836", "DeleteOtherModes": false, "AgentID": "testagent"}}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=KEY,
    )
    reordered = dict(reversed(body.items()))  # other key order, no spaces

    retry = post(agent_client, reordered)

    assert first.status_code == retry.status_code == 200
    assert retry["Idempotent-Replayed"] == "true"
    assert ModeChange.objects.count() == DEMO_ENTRIES + 1


def test_the_same_key_with_another_body_is_refused_and_changes_nothing(agent_client):
    post(agent_client, set_mode_body(ContactNumber="2025550100"))
    before = snapshot()

    response = post(agent_client, set_mode_body(ContactNumber="2025550111"))

    assert response.status_code == 422
    assert response.json()["subtopic"] == "SetNewModeNumberResult"
    assert response.json()["message"]["callid"] == "12345"
    assert error_of(response) == {
        "errorType": "WS_Error",
        "errorMessage": errors.IDEMPOTENCY_KEY_REUSED.format(key=KEY),
        "msg": errors.IDEMPOTENCY_KEY_REUSED_MSG,
        "code": "idempotency_key_reused",
    }
    assert "Idempotent-Replayed" not in response
    assert snapshot() == before
    assert live_modes(DAVID)[1] == "2025550100"


def test_keys_belong_to_their_user(demo):
    agent, dialer = client_for("testagent"), client_for("dialer")

    mine = post(agent, set_mode_body(ContactNumber="2025550100"))
    theirs = post(dialer, set_mode_body(ContactNumber="2025550111"))

    assert mine.status_code == theirs.status_code == 200
    assert "Idempotent-Replayed" not in theirs
    assert ModeChange.objects.count() == DEMO_ENTRIES + 2
    assert [e.username for e in new_entries()] == ["testagent", "dialer"]
    assert live_modes(DAVID)[1] == "2025550111"
    assert IdempotencyKey.objects.filter(key=KEY).count() == 2


def test_a_refused_request_leaves_its_key_unused_so_the_retry_runs(agent_client):
    body = set_mode_body(ContactNumber="202-555-0199")  # on the demo do-not-call list
    before = snapshot()

    refused = post(agent_client, body)
    assert refused.status_code == 409
    assert error_of(refused)["code"] == "do_not_call"
    assert snapshot() == before
    assert not IdempotencyKey.objects.exists()

    DoNotCallNumber.objects.filter(number="2025550199").delete()  # the cause, fixed
    retry = post(agent_client, body)

    assert retry.status_code == 200
    assert "Idempotent-Replayed" not in retry
    assert live_modes(DAVID)[1] == "2025550199"
    assert ModeChange.objects.count() == DEMO_ENTRIES + 1


def test_a_key_of_a_refused_request_may_carry_the_corrected_request(agent_client):
    refused = post(agent_client, set_mode_body(callid="99999"))
    corrected = post(agent_client, set_mode_body())

    assert refused.status_code == 404
    assert error_of(refused)["code"] == "unknown_call"
    assert corrected.status_code == 200
    assert "Idempotent-Replayed" not in corrected
    assert ModeChange.objects.count() == DEMO_ENTRIES + 1


@pytest.mark.parametrize(
    "key",
    ["", " ", "a b", "x" * 256, "clé", "tab\tkey", "\x7f"],
    ids=["empty", "space", "inner-space", "256-chars", "non-ascii", "control", "del"],
)
def test_an_invalid_key_is_refused_before_anything_runs(agent_client, key):
    before = snapshot()

    response = post(agent_client, set_mode_body(), key=key)

    assert response.status_code == 400
    assert response.json()["subtopic"] == "SetNewModeNumberResult"
    assert error_of(response)["code"] == "invalid_idempotency_key"
    assert error_of(response)["errorMessage"] == errors.INVALID_IDEMPOTENCY_KEY
    assert snapshot() == before
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("key", ["x", "~" * 255, '"8e03978e-40d5-43e8-bc93-6894a57f9324"'])
def test_keys_of_1_to_255_visible_characters_are_taken(agent_client, key):
    assert post(agent_client, set_mode_body(), key=key).status_code == 200
    assert post(agent_client, set_mode_body(), key=key)["Idempotent-Replayed"] == "true"
    assert IdempotencyKey.objects.get().key == key


@override_settings(LCM_IDEMPOTENCY_KEY_TTL_HOURS=24)
def test_an_expired_key_counts_as_new(agent_client):
    post(agent_client, set_mode_body(ContactNumber="2025550100"))
    old = timezone.now() - timedelta(hours=24, seconds=1)
    IdempotencyKey.objects.update(created_at=old)

    again = post(agent_client, set_mode_body(ContactNumber="2025550111"))

    assert again.status_code == 200
    assert "Idempotent-Replayed" not in again
    assert ModeChange.objects.count() == DEMO_ENTRIES + 2
    assert live_modes(DAVID)[1] == "2025550111"
    stored = IdempotencyKey.objects.get()
    assert stored.created_at > old
    retry = post(agent_client, set_mode_body(ContactNumber="2025550111"))
    assert retry["Idempotent-Replayed"] == "true"


@override_settings(LCM_IDEMPOTENCY_KEY_TTL_HOURS=24)
def test_a_key_just_inside_its_retention_is_still_replayed(agent_client):
    post(agent_client, set_mode_body())
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=23, minutes=59))

    assert post(agent_client, set_mode_body())["Idempotent-Replayed"] == "true"
    assert ModeChange.objects.count() == DEMO_ENTRIES + 1


@override_settings(LCM_IDEMPOTENCY_KEY_TTL_HOURS=2)
def test_purge_deletes_only_expired_keys(agent_client):
    for key in ("old", "fresh"):
        assert post(agent_client, set_mode_body(), key=key).status_code == 200
    IdempotencyKey.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=2, minutes=1)
    )
    out = io.StringIO()

    call_command("purge_idempotency_keys", stdout=out)

    assert out.getvalue() == "Deleted 1 idempotency key(s) older than 2 hour(s).\n"
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]
    assert ModeChange.objects.count() == DEMO_ENTRIES + 2  # the audit log is not touched


def test_get_contact_modes_checks_the_key_but_always_answers_afresh(agent_client):
    body = envelope("GetContactModes", callid="12345", AccountNumber=DAVID)

    first = post(agent_client, body)
    post(agent_client, set_mode_body(ModeID=3, ContactNumber="2025550177"), key="other")
    second = post(agent_client, body)
    invalid = post(agent_client, body, key="")

    assert first.status_code == second.status_code == 200
    assert "Idempotent-Replayed" not in second
    modes = [m["ModeID"] for m in second.json()["message"]["response"]["Contactmodes"]]
    assert modes == [1, 2, 3]
    assert invalid.status_code == 400
    assert error_of(invalid)["code"] == "invalid_idempotency_key"
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["other"]


def test_without_the_header_nothing_is_stored(agent_client):
    assert post(agent_client, set_mode_body(), key=None).status_code == 200
    assert post(agent_client, set_mode_body(), key=None).status_code == 200

    assert ModeChange.objects.count() == DEMO_ENTRIES + 2
    assert not IdempotencyKey.objects.exists()


# --- Concurrency (PostgreSQL: row locks and a waiting unique index) -----------


def _waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_requests_with_one_key_make_one_change():
    """Both requests are in flight at once: the account row is held locked
    here until one has claimed the key and waits for the account, and the
    other waits on the key's unique index. Then both go on."""
    from django.db import connections

    call_command("seed_demo", password="demo-pass-123", stdout=io.StringIO())
    body = set_mode_body(ModeID=3, ContactNumber="2025550177")
    results: dict[str, object] = {}

    def send(name):
        try:
            response = post(client_for("testagent"), body)
            replayed = response.get("Idempotent-Replayed")
            results[name] = (response.status_code, response.content, replayed)
        except Exception as exc:  # reported by the main thread's assertion
            results[name] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(name,)) for name in ("a", "b")]
    with transaction.atomic():
        Account.objects.select_for_update().get(account_number=DAVID)
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while _waiting_on_locks() < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _waiting_on_locks() == 2, "both requests should be waiting"
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive()

    assert all(isinstance(result, tuple) for result in results.values()), results
    (status_a, content_a, replayed_a), (status_b, content_b, replayed_b) = results.values()
    assert status_a == status_b == 200
    assert content_a == content_b
    assert sorted([replayed_a, replayed_b], key=str) == [None, "true"]
    assert ModeChange.objects.count() == DEMO_ENTRIES + 1
    assert live_modes(DAVID) == {1: "6491462346", 2: "2025550143", 3: "2025550177"}
    assert IdempotencyKey.objects.get().response_status == 200
