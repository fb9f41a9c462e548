"""Hostile bodies and floods through the real API stack: size, depth,
unknown keys, per-token throttling. Every refusal is an envelope and
changes nothing."""

import hashlib
import json

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.authtoken.models import Token

from lcm.api.parsers import MAX_DEPTH
from lcm.models import ModeChange

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


def post_raw(client, text: str, **extra):
    return client.post(WEBSERVICE, text, content_type="application/json", **extra)


def error_of(response) -> dict:
    return response.json()["message"]["error"]


# --- Body size ----------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_with_a_413_envelope(agent_client, settings):
    settings.LCM_API_MAX_BODY_BYTES = 1024
    body = set_mode_body(padding="x" * 2000)
    before = snapshot()

    response = post_raw(agent_client, json.dumps(body), HTTP_X_REQUEST_ID="big-1")

    assert response.status_code == 413
    assert response.json() == {
        "channel": "LCM",
        "topic": "WebService",
        "subtopic": "Error",
        "message": {
            "callid": None,  # the body was never read
            "response": {"success": False},
            "error": {
                "errorType": "WS_Error",
                "errorMessage": "The request body is larger than 1024 bytes.",
                "msg": "The request is too large.",
                "code": "payload_too_large",
            },
        },
    }
    assert response["X-Request-ID"] == "big-1"
    assert snapshot() == before


def test_a_body_of_exactly_the_limit_is_accepted(agent_client, settings):
    text = json.dumps(set_mode_body())
    settings.LCM_API_MAX_BODY_BYTES = len(text.encode())

    response = post_raw(agent_client, text)

    assert response.status_code == 200
    assert live_modes(DAVID)[1] == "961084836"
    assert ModeChange.objects.count() == DEMO_ENTRIES + 1


def test_the_default_limit_is_64_kib(agent_client, settings):
    assert settings.LCM_API_MAX_BODY_BYTES == 65536
    text = json.dumps(set_mode_body(padding="x" * 65536))

    assert post_raw(agent_client, text).status_code == 413


def test_a_declared_length_over_the_limit_is_refused_whatever_the_body(agent_client):
    text = json.dumps(set_mode_body())

    response = post_raw(agent_client, text, CONTENT_LENGTH=str(10**9))

    # Had anything read the body, Django would have refused it first with an
    # HTML 400 (DATA_UPLOAD_MAX_MEMORY_SIZE): the envelope proves it unread.
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


def test_a_short_declared_length_reads_no_further(agent_client, settings):
    settings.LCM_API_MAX_BODY_BYTES = 1024
    text = json.dumps(set_mode_body(padding="x" * 5000))
    before = snapshot()

    response = post_raw(agent_client, text, CONTENT_LENGTH="10")

    assert response.status_code == 400  # only '{"channel"' was read
    assert error_of(response)["code"] == "malformed_json"
    assert snapshot() == before


def test_an_anonymous_huge_body_is_refused_before_it_is_read(demo, client):
    response = post_raw(client, json.dumps(set_mode_body(padding="x" * 200_000)))

    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


# --- Depth ------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 30_000])
def test_deeply_nested_json_is_refused_cleanly(agent_client, depth):
    before = snapshot()
    text = '{"channel": "LCM", "topic": "WebService", "subtopic": "SetNewModeNumber", '
    text += '"data": {"callid": ' + "[" * depth + "]" * depth + "}}"

    response = post_raw(agent_client, text)

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "malformed_json"
    assert f"JSON nested deeper than {MAX_DEPTH} levels." in error["errorMessage"]
    assert snapshot() == before


def test_json_within_the_depth_limit_reaches_the_field_checks(agent_client):
    body = set_mode_body(callid=[[["12345"]]])

    response = post_raw(agent_client, json.dumps(body))

    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_fields"
    assert error_of(response)["fields"] == {"callid": ["Must be a string."]}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("[1, 2", "malformed_json"),
        ('{"channel": NaN}', "malformed_json"),
        ("1" * 5000, "malformed_json"),  # past Python's int-parsing limit
        ("[" + "0," * 20000 + "0]", "invalid_envelope"),
        # Overflows to inf in Python's decoder: still just a wrong ModeID.
        (json.dumps(set_mode_body()).replace('"ModeID": 1', '"ModeID": 1e99999'), "invalid_fields"),
    ],
)
def test_malformed_or_absurd_json_is_a_400_envelope(agent_client, text, code):
    before = snapshot()

    response = post_raw(agent_client, text)

    assert response.status_code == 400
    assert error_of(response)["code"] == code
    assert snapshot() == before


# --- Unknown keys (docs/api.md: ignored; every defined key required) -----------


def test_unknown_keys_in_data_are_ignored_and_the_defined_ones_still_apply(agent_client):
    body = set_mode_body(ContactNumber="961084836", contactnumber="111111111", Extra=True)

    response = post_raw(agent_client, json.dumps(body))

    assert response.status_code == 200
    assert live_modes(DAVID)[1] == "961084836"
    assert ModeChange.objects.count() == DEMO_ENTRIES + 1
    assert new_entries().get().new_number == "961084836"


def test_a_misspelt_key_is_a_missing_field_not_a_silent_misread(agent_client):
    body = set_mode_body()
    body["data"]["Contactnumber"] = body["data"].pop("ContactNumber")
    before = snapshot()

    response = post_raw(agent_client, json.dumps(body))

    assert response.status_code == 400
    assert error_of(response)["fields"] == {"ContactNumber": ["This field is required."]}
    assert snapshot() == before


# --- Throttling ---------------------------------------------------------------------

READ = envelope("GetContactModes", callid="12345", AccountNumber=DAVID)


def test_a_token_over_its_rate_gets_a_429_envelope_with_retry_after(agent_client, settings):
    settings.LCM_API_THROTTLE_RATE = "3/min"
    for _ in range(3):
        assert agent_client.post(WEBSERVICE, READ, format="json").status_code == 200
    before = snapshot()

    response = agent_client.post(WEBSERVICE, set_mode_body(), format="json")

    assert response.status_code == 429
    error = error_of(response)
    assert error["code"] == "throttled"
    assert error["msg"] == "Too many requests; slow down."
    assert error["errorMessage"].startswith("Request was throttled.")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.json()["subtopic"] == "Error"
    assert snapshot() == before


def test_the_limit_is_per_token(agent_client, settings):
    settings.LCM_API_THROTTLE_RATE = "2/min"
    other = client_for("otheragent")
    for _ in range(2):
        assert agent_client.post(WEBSERVICE, READ, format="json").status_code == 200

    assert agent_client.post(WEBSERVICE, READ, format="json").status_code == 429
    own_read = envelope("GetContactModes", callid="12346", AccountNumber="596|485|587|0|0|44|59")
    assert other.post(WEBSERVICE, own_read, format="json").status_code == 200


def test_the_default_rate_is_600_a_minute(settings):
    from lcm.api.throttling import TokenRateThrottle

    assert settings.LCM_API_THROTTLE_RATE == "600/min"
    assert (TokenRateThrottle().num_requests, TokenRateThrottle().duration) == (600, 60)


def test_throttle_counters_live_in_the_shared_database_cache(agent_client, settings):
    """With CACHE_URL=dbcache://lcm_cache every worker reads the same counters."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "lcm_cache",
        }
    }
    call_command("createcachetable", verbosity=0)
    settings.LCM_API_THROTTLE_RATE = "2/min"
    for _ in range(2):
        assert agent_client.post(WEBSERVICE, READ, format="json").status_code == 200

    assert agent_client.post(WEBSERVICE, READ, format="json").status_code == 429
    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM lcm_cache")
        keys = [row[0] for row in cursor.fetchall()]
    token = Token.objects.get(user__username="testagent").key
    # Keyed by a digest: the cache (a table anyone with the database can read)
    # never holds the token itself.
    assert keys == [":1:throttle_token_t" + hashlib.sha256(token.encode()).hexdigest()[:32]]


# --- URLs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/lcm/nothing-here/", "/api/lcm/calls/12345/", "/api/lcm/webservice/extra"]
)
def test_an_unknown_api_url_is_a_json_404_not_a_page(demo, path):
    response = client_for("dialer").post(path, {}, format="json")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "code": "unknown_endpoint",
        "message": f"No API endpoint at {path}. The endpoints are listed at /api/docs/.",
    }


def test_a_callid_holding_a_newline_reaches_the_endpoint(demo):
    """Django's `path` converter stops at a newline: such a callid used to
    fall through to the HTML 404 page (found by Schemathesis over HTTP)."""
    before = snapshot()

    response = client_for("dialer").post("/api/lcm/calls/123%0A45/wrapup/", {}, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "unknown_call"
    assert response.json()["message"] == "Invalid Call ID:123\n45"
    assert snapshot() == before
