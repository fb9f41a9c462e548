"""Schemathesis against the OpenAPI schema the server publishes.

Every operation of `/api/schema/` is fuzzed through the real WSGI app (the
whole middleware stack, the real database), authenticated as the demo
agent, with every check Schemathesis has: no 5xx, status codes, content
types, headers and bodies as documented, invalid input refused, valid input
accepted. Fixed seed, bounded examples: the run is the same every time.
"""

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, seed, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from config.wsgi import application

from .conftest import client_for

EXAMPLES = 60
# Refusals that depend on data, not on the request's shape: which ModeIDs are
# defined, a mode type's own digit bounds, a configured region. A request the
# schema calls valid may meet them; it must then get exactly these codes.
DATA_RULE_CODES = {"unknown_mode", "invalid_number"}


# Loaded at import: the schema needs no database, and Schemathesis' lazy
# (fixture) loader relies on a pytest internal that pytest 9 removed. The
# WSGI client calls itself "localhost" (settings_test allows it).
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture
def _keep_the_test_connection():
    """Schemathesis calls the WSGI app directly, so Django's request signals
    would close the test's database connection (and its transaction) on
    PostgreSQL; Django's own test client disconnects them the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def agent_token(demo, settings, _keep_the_test_connection):
    # Fuzzing sends hundreds of requests; throttling is proved elsewhere.
    settings.API_THROTTLE_RATE = "100000/min"
    return client_for("testagent")._credentials["HTTP_AUTHORIZATION"]


@schema.parametrize()
@seed(20261126)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_the_promises_of_its_schema(case, agent_token):
    response = case.call(headers={"Authorization": agent_token})
    refused_by_data = response.status_code == 400 and (
        json.loads(response.content)["message"]["error"]["code"] in DATA_RULE_CODES
    )
    # Every check; positive-data acceptance too, unless a data rule refused.
    case.validate_response(
        response,
        headers={"Authorization": agent_token},
        excluded_checks=[positive_data_acceptance] if refused_by_data else None,
    )
