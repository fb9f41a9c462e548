"""bench/fill.py, the benchmarks' data set, still fills today's schema.

Its INSERTs are raw SQL (set-based, for a million rows in seconds): a column
a migration adds must not break them. Filled small, on both databases, then
driven by one SetNewModeNumber through the real HTTP stack with a filled
agent's token."""

import csv
import importlib.util
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from lcm.models import Account, ContactMode, DoNotCallNumber, ModeChange

from .conftest import WEBSERVICE, set_mode_body

FILL = Path(__file__).resolve().parent.parent / "bench" / "fill.py"


def load_fill():
    spec = importlib.util.spec_from_file_location("bench_fill", FILL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.django_db
def test_fill_makes_a_data_set_the_api_serves(tmp_path):
    calls = tmp_path / "calls.csv"

    load_fill().fill(
        accounts=40, agents=4, calls=8, dnc=5, audit_entries=20, out=calls, dialer_token_out=None
    )

    assert Account.objects.count() == 40
    assert ContactMode.objects.count() == sum(1 + i % 4 for i in range(1, 41))
    assert DoNotCallNumber.objects.count() == 5
    assert ModeChange.objects.count() == 20
    rows = list(csv.reader(calls.open()))
    assert len(rows) == 8
    callid, account_number, agent_id, token = rows[0]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    body = set_mode_body(
        callid=callid, AccountNumber=account_number, AgentID=agent_id, ContactNumber="2025550123"
    )

    response = client.post(WEBSERVICE, body, format="json")

    assert response.status_code == 200, response.content
    assert ModeChange.objects.count() == 21
