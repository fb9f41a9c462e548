"""Schemathesis against the OpenAPI schema the running server publishes.

Every operation of `/api/schema/` is fuzzed over real HTTP against a live
server (the whole middleware stack, the real database), authenticated as
the demo agent, and as the demo dialer integration (which may use the call
and agent-session doors that refuse an agent), with every check
Schemathesis has: no 5xx, status codes, content types, headers and bodies
as documented, invalid input refused, valid input accepted. Fixed seed,
bounded examples (more of them in CI: tests/conftest.py, DEPTH): the run is
the same every time at a given depth.
"""

import json

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, seed, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from config.wsgi import application

from .conftest import client_for, examples

# Per operation and user: 20 in `make test`, 60 in CI (tests/conftest.py, DEPTH).
EXAMPLES = examples(quick=20, deep=60)
# It fuzzes the HTTP layer against its schema: in `make test` once, in the
# SQLite pass; in CI (deep) on both databases.
pytestmark = pytest.mark.deep_every_pass
SCHEMA_PATH = "/api/schema/?format=json"
# Refusals that depend on data, not on the request's shape: which ModeIDs are
# defined, a mode type's own digit bounds, a configured region, SetDNC's
# dates against today and each other, a day the calendar lacks (29/02 of a
# common year), an uploaded list that is not a CSV or JSON Lines file with an
# account column (`bad_file`: a file's bytes and name, which `format: binary`
# cannot describe) (400), and an
# Idempotency-Key that an earlier case sent with another body (422). A request
# the schema calls valid may meet them; it must then get exactly these codes.
DATA_RULE_CODES = {
    400: {
        "unknown_mode",
        "invalid_number",
        "period_in_the_past",
        "end_before_start",
        "invalid_date",
        # Which outcomes a campaign and the telephony catalogue hold (outcomes), and
        # ComplianceCheck's requestids unique in a request, which no JSON schema can say.
        "unknown_outcome",
        "repeated_requestid",
        "bad_file",
    },
    422: {"idempotency_key_reused"},
}


# The cases are generated at import, from the schema the app serves (no
# database needed; Schemathesis' lazy fixture loader relies on a pytest
# internal that pytest 9 removed). The test then checks that the live
# server publishes this very schema, and sends every case to it over HTTP.
PUBLISHED = schemathesis.openapi.from_wsgi(SCHEMA_PATH, application).raw_schema
schema = schemathesis.openapi.from_dict(PUBLISHED)


def error_code(response) -> str | None:
    """The code of an envelope error or of a dialer door's JSON error."""
    body = json.loads(response.content)
    if "channel" in body:
        return body["message"]["error"]["code"]
    return body.get("code")


@pytest.fixture(params=["testagent", "dialer"])
def token(request, demo, settings, tmp_path):
    # Fuzzing sends hundreds of requests; throttling is proved elsewhere.
    settings.LCM_API_THROTTLE_RATE = "100000/min"
    settings.LCM_IMPORT_DIR = str(tmp_path / "imports")  # the import door's uploads
    return client_for(request.param)._credentials["HTTP_AUTHORIZATION"]


@pytest.fixture
def server(live_server):
    """The live server, once it is shown to publish the schema fuzzed here."""
    published = requests.get(live_server.url + SCHEMA_PATH, timeout=30)
    assert published.status_code == 200
    assert published.json() == PUBLISHED
    with requests.Session() as session:
        yield live_server.url, session


@schema.parametrize()
@seed(20261126)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_api_keeps_the_promises_of_its_schema(case, token, server):
    base_url, session = server
    response = case.call(base_url=base_url, session=session, headers={"Authorization": token})
    refused_by_data = response.status_code in DATA_RULE_CODES and (
        error_code(response) in DATA_RULE_CODES[response.status_code]
    )
    # Every check; positive-data acceptance too, unless a data rule refused.
    case.validate_response(
        response,
        headers={"Authorization": token},
        excluded_checks=[positive_data_acceptance] if refused_by_data else None,
    )
