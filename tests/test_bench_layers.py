"""bench/layers.py's views (the floor's statements in plain Django and in a
minimal DRF view) still do what the product does: the same change and an
audit entry the chain accepts. PostgreSQL only, as the floor's SQL is."""

import csv

import pytest
from rest_framework.test import APIClient

from lcm.audit import compute_hash
from lcm.models import AuditChainHead, ContactMode, ModeChange

from .conftest import set_mode_body
from .test_bench_fill import load_fill

pytestmark = pytest.mark.postgres


@pytest.mark.django_db
@pytest.mark.urls("bench.layers")
@pytest.mark.parametrize("path", ["/api/bench/django/", "/api/bench/drf/"])
def test_a_layer_view_changes_the_mode_and_chains_its_entry(tmp_path, path):
    calls = tmp_path / "calls.csv"
    load_fill().fill(
        accounts=40, agents=4, calls=8, dnc=5, audit_entries=0, out=calls, dialer_token_out=None
    )
    callid, account_number, agent_id, token = next(csv.reader(calls.open()))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    body = set_mode_body(
        callid=callid, AccountNumber=account_number, AgentID=agent_id, ContactNumber="3025550123"
    )

    response = client.post(path, body, format="json")
    refused = client.post(path, {**body, "channel": "X"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["message"] == {"callid": callid, "response": {"success": True}}
    assert refused.status_code == 400
    live = ContactMode.objects.get(account__account_number=account_number, mode_type_id=1,
                                   deleted_at=None)  # fmt: skip
    assert live.number == "3025550123"
    entry = ModeChange.objects.get()
    assert (entry.username, entry.new_number, entry.source) == (agent_id, "3025550123", "")
    assert compute_hash(entry) == entry.hash
    assert AuditChainHead.objects.get().hash == entry.hash
