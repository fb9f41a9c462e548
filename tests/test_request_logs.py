"""Structured request logs through the configured logging stack: one JSON
line per API request, the audit entry's request id, no number, no token."""

import json
import logging

import pytest
from rest_framework.authtoken.models import Token

from lcm.logs import mask
from lcm.models import ModeChange

from .audit_log import new_entries
from .conftest import DEMO_ENTRIES, WEBSERVICE, set_mode_body


def console_handler() -> logging.Handler:
    """The handler settings.LOGGING configures (with its filter and formatter)."""
    return next(h for h in logging.getLogger().handlers if h.get_name() == "console")


def as_shipped(record: logging.LogRecord) -> dict:
    """The JSON line the console handler writes for `record`."""
    handler = console_handler()
    assert handler.filter(record)
    return json.loads(handler.format(record))


def request_lines(caplog) -> list[dict]:
    return [as_shipped(r) for r in caplog.records if r.name == "lcm.request"]


def test_one_json_line_per_api_request_with_the_audit_request_id(agent_client, caplog):
    caplog.set_level(logging.INFO)
    user_id = Token.objects.get(user__username="testagent").user_id

    response = agent_client.post(
        WEBSERVICE, set_mode_body(), format="json", HTTP_X_REQUEST_ID="req-7"
    )

    assert response.status_code == 200
    [line] = request_lines(caplog)
    assert line["duration_ms"] >= 0
    del line["time"], line["duration_ms"]
    assert line == {
        "level": "INFO",
        "logger": "lcm.request",
        "message": "api_request",
        "request_id": "req-7",
        "method": "POST",
        "path": "/api/lcm/webservice/",
        "status": 200,
        "user_id": user_id,
        "subtopic": "SetNewModeNumberResult",
    }
    assert ModeChange.objects.count() == DEMO_ENTRIES + 1
    assert new_entries().get().request_id == "req-7"


def test_a_generated_request_id_is_the_same_in_header_log_and_audit(agent_client, caplog):
    caplog.set_level(logging.INFO)

    response = agent_client.post(WEBSERVICE, set_mode_body(), format="json")

    [line] = request_lines(caplog)
    assert len(response["X-Request-ID"]) == 32
    assert ModeChange.objects.count() == DEMO_ENTRIES + 1
    assert line["request_id"] == response["X-Request-ID"] == new_entries().get().request_id


def test_a_refusal_logs_its_code_and_never_the_number_or_the_token(agent_client, caplog):
    caplog.set_level(logging.DEBUG)
    token = Token.objects.get(user__username="testagent").key

    response = agent_client.post(
        WEBSERVICE, set_mode_body(ContactNumber="2025550199"), format="json"
    )

    assert response.status_code == 409
    [line] = request_lines(caplog)
    assert (line["status"], line["code"], line["subtopic"]) == (
        409,
        "do_not_call",
        "SetNewModeNumberResult",
    )
    shipped = "\n".join(json.dumps(as_shipped(r)) for r in caplog.records)
    assert "2025550199" not in shipped
    assert token not in shipped


def test_an_unauthenticated_request_is_logged_without_a_user(demo, client, caplog):
    caplog.set_level(logging.INFO)

    client.post(WEBSERVICE, set_mode_body(), content_type="application/json")

    [line] = request_lines(caplog)
    assert (line["status"], line["user_id"], line["code"]) == (401, None, "not_authenticated")


@pytest.mark.django_db
def test_pages_outside_the_api_are_not_request_logged(client, caplog):
    caplog.set_level(logging.INFO)

    client.get("/healthz")

    assert request_lines(caplog) == []


def test_any_logger_s_numbers_and_tokens_are_masked_on_the_way_out(caplog):
    caplog.set_level(logging.INFO)
    token = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"
    log = logging.getLogger("lcm.anything")

    log.warning("Number %s refused for %s", "+34 961 084 836", f"Token {token}")
    try:
        raise ValueError("duplicate key (number)=(2025550199)")
    except ValueError:
        log.exception("write failed for call 12345")

    warning, error = (as_shipped(r) for r in caplog.records)
    assert warning["message"] == "Number +** *** *** 836 refused for Token [token]"
    assert error["message"] == "write failed for call 12345"  # 5 digits: an id, not a number
    assert "duplicate key (number)=(*******199)" in error["exception"]
    assert "2025550199" not in error["exception"]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("961084836", "******836"),
        ("(202) 555-0199", "(***) ***-*199"),
        ("202.555.0199", "***.***.*199"),
        ("+12025550199", "+********199"),
        ("12345", "12345"),
        ("request 4f3a1234567890bc", "request 4f3a1234567890bc"),  # hex ids stay whole
        ("took 12.5 ms, status 409", "took 12.5 ms, status 409"),
    ],
)
def test_the_masking_rule(text, masked):
    assert mask(text) == masked
