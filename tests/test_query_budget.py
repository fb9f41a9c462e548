"""The query budget of one SetNewModeNumber: a regression shows in CI.

Speed itself is measured in bench/ (docs/benchmarks.md), never in a test;
the statements one request issues are exact and the same on every run, on
both databases.
"""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from lcm.models import ContactMode, ModeChange

from .conftest import WEBSERVICE, client_for, live_modes, set_mode_body
from .test_api_set_new_mode_number import DAVID, MARIA

# One SetNewModeNumber on the agent's own path, as (verb, table). Inside a
# test the service's transaction is a savepoint; in production the same
# places hold BEGIN and COMMIT.
BUDGET = [
    ("SELECT", "authtoken_token"),  # the token and its user (lcm.api.authentication)
    ("SAVEPOINT", None),  # transaction.atomic: BEGIN
    ("SELECT", "lcm_call"),  # call + agent + account (locked) + the ModeID's type
    # The live modes, under the lock, and the number's identity on the
    # do-not-call list (a subquery: one round trip).
    ("SELECT", "lcm_contactmode"),
    ("INSERT", "lcm_contactmode"),  # add or change the mode: one upsert
    ("UPDATE", "lcm_auditchainhead"),  # the next sequence number (locks the chain head)
    # The audit entry and the head's new hash: one statement on PostgreSQL
    # (a data-modifying CTE), two on SQLite (see `budget`).
    ("INSERT", "lcm_modechange"),
    ("UPDATE", "lcm_auditchainhead"),
    ("RELEASE", None),  # COMMIT
]
# DeleteOtherModes adds one UPDATE for all the deleted modes, whatever their count.
BUDGET_DELETING = [*BUDGET[:4], ("UPDATE", "lcm_contactmode"), *BUDGET[4:]]
# PostgreSQL's one statement for the entry and the head: WITH entry AS (INSERT …) UPDATE ….
APPEND_AS_ONE = ("WITH", "lcm_auditchainhead")


def budget(statements: list) -> list:
    """A budget above as the database in use spends it."""
    if connection.vendor != "postgresql":
        return statements
    out = []
    for shape_ in statements:
        if out and (out[-1], shape_) == (
            ("INSERT", "lcm_modechange"),
            ("UPDATE", "lcm_auditchainhead"),
        ):
            out[-1] = APPEND_AS_ONE
        else:
            out.append(shape_)
    return out


_TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE)\s+"?(\w+)', re.IGNORECASE)
_PARENTHESES = re.compile(r"\([^()]*\)")


def shape(sql: str) -> tuple[str, str | None]:
    """(verb, main table) of a statement, subqueries left out."""
    verb = sql.split(None, 1)[0].upper()
    while _PARENTHESES.search(sql):
        sql = _PARENTHESES.sub("", sql)
    table = _TABLE.search(sql)
    return verb, table.group(1) if table and verb not in ("SAVEPOINT", "RELEASE") else None


def statements(client, body) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(WEBSERVICE, body, format="json")
    assert response.status_code == 200, response.content
    return [q["sql"] for q in ctx.captured_queries]


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_set_new_mode_number_spends_exactly_its_budget(agent_client):
    sql = statements(agent_client, set_mode_body(ModeID=3, ContactNumber="2025550177"))

    assert [shape(s) for s in sql] == budget(BUDGET), "\n".join(sql)
    assert len(sql) == (8 if connection.vendor == "postgresql" else 9)
    locking_read = sql[2]
    assert ("FOR UPDATE OF ac" in locking_read) == (connection.vendor == "postgresql")
    assert "lcm_modetype" in locking_read
    assert "lcm_donotcallnumber" in sql[3]
    assert "d.number_e164" in sql[3]  # matched by identity, not by the typed text
    assert live_modes(DAVID) == {1: "6491462346", 2: "2025550143", 3: "2025550177"}


def test_delete_other_modes_adds_one_update_for_all_of_them(agent_client):
    sql = statements(agent_client, set_mode_body(DeleteOtherModes=True))

    assert [shape(s) for s in sql] == budget(BUDGET_DELETING), "\n".join(sql)
    assert len(sql) == (9 if connection.vendor == "postgresql" else 10)
    assert live_modes(DAVID) == {1: "961084836"}
    assert ModeChange.objects.latest("seq").deleted_modes == [
        {"mode_id": 2, "number": "2025550143"}
    ]


@override_settings(LCM_PERMISSION_CACHE_SECONDS=60)
def test_an_integration_account_pays_for_its_permission_once(demo):
    dialer = client_for("dialer")
    body = set_mode_body(callid="12346", AccountNumber=MARIA, AgentID="otheragent")

    first = statements(dialer, body)
    second = statements(dialer, set_mode_body(**{**body["data"], "ContactNumber": "2025550100"}))

    # The first request asks the auth backend (user and group permissions).
    assert [shape(s) for s in first] == budget(
        [*BUDGET[:3], ("SELECT", "auth_permission"), ("SELECT", "auth_permission"), *BUDGET[3:]]
    ), "\n".join(first)
    assert [shape(s) for s in second] == budget(BUDGET), "\n".join(second)
    assert live_modes(MARIA) == {1: "2025550100"}


# With an Idempotency-Key (lcm.idempotency): the key is claimed first, the
# change runs in its own savepoint, the reply is stored; all one transaction.
BUDGET_KEYED = [
    BUDGET[0],
    ("SAVEPOINT", None),  # idempotency.run_once: BEGIN
    ("INSERT", "lcm_idempotencykey"),  # claim the key (ON CONFLICT: a live key inserts nothing)
    *BUDGET[1:],  # the change, unchanged, in a savepoint
    ("UPDATE", "lcm_idempotencykey"),  # store the reply
    ("RELEASE", None),  # COMMIT
]
# A retry: the claim inserts nothing, the stored reply is read; no change.
BUDGET_REPLAYED = [
    BUDGET[0],
    ("SAVEPOINT", None),
    ("INSERT", "lcm_idempotencykey"),
    ("SELECT", "lcm_idempotencykey"),
    ("RELEASE", None),
]


def test_an_account_without_live_modes_asks_the_do_not_call_list_apart(agent_client):
    """No live mode, no row to carry the answer: the kernel asks on its own."""
    ContactMode.objects.filter(account__account_number=DAVID).delete()

    sql = statements(agent_client, set_mode_body(ModeID=3, ContactNumber="2025550177"))

    expected = [*BUDGET[:4], ("SELECT", "lcm_donotcallnumber"), *BUDGET[4:]]
    assert [shape(s) for s in sql] == budget(expected), "\n".join(sql)
    assert live_modes(DAVID) == {3: "2025550177"}


def test_an_idempotency_key_adds_four_statements_and_a_retry_spends_five(agent_client):
    body = set_mode_body(ModeID=3, ContactNumber="2025550177")
    agent_client.credentials(
        HTTP_AUTHORIZATION=agent_client._credentials["HTTP_AUTHORIZATION"],
        HTTP_IDEMPOTENCY_KEY="budget-1",
    )

    first = statements(agent_client, body)
    retry = statements(agent_client, body)

    assert [shape(s) for s in first] == budget(BUDGET_KEYED), "\n".join(first)
    assert len(first) == (12 if connection.vendor == "postgresql" else 13)
    assert [shape(s) for s in retry] == budget(BUDGET_REPLAYED), "\n".join(retry)
    assert ModeChange.objects.filter(source="").count() == 1  # the demo's are seed_demo's
