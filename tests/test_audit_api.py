"""The auditors' API: GET /api/lcm/mode-changes/ (JSON pages or streamed CSV)."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission

from lcm.api.audit import UNKNOWN_FORMAT
from lcm.audit_filters import NOT_A_DATE, UNKNOWN_AGENT
from lcm.models import ModeChange

from .audit_log import DAVID, MARIA, make_log, seq
from .conftest import client_for
from .factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/lcm/mode-changes/"


@pytest.fixture
def auditor_api(demo):
    return client_for("auditor")


def seqs(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [entry["seq"] for entry in response.json()["results"]]


def test_an_auditor_reads_the_log_newest_first_with_every_field(auditor_api):
    entries = make_log()

    response = auditor_api.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert [e["seq"] for e in body["results"]] == [seq(3), seq(2), seq(1), 3, 2, 1]  # 3..1: demo
    assert body["next"] is None
    assert body["results"][0] == {
        "seq": seq(3),
        "created_at": body["results"][0]["created_at"],
        "action": "set",
        "account": DAVID,
        "callid": "12345",
        "agent": "testagent",
        "username": "testagent",
        "source": "agentapp",
        "mode": 2,
        "old_number": "2025550143",
        "new_number": "3005550303",
        "new_number_e164": "",
        "deleted_modes": [{"mode_id": 1, "number": "3005550101"}],
        "reverts_seq": None,
        "client_ip": "10.0.0.7",
        "request_id": "r1",
        "erased": None,
        "prev_hash": entries[1].hash,
        "hash": entries[2].hash,
    }


def test_pages_follow_the_cursor(auditor_api):
    make_log()

    first = auditor_api.get(URL, {"page_size": 2})
    second = auditor_api.get(first.json()["next"])
    third = auditor_api.get(second.json()["next"])

    assert seqs(first) == [seq(3), seq(2)]
    assert seqs(second) == [seq(1), 3]
    assert seqs(third) == [2, 1]
    assert third.json()["next"] is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # seq 1 to 3 are the demo's imports: David's Home and Office, Maria's Home.
        ({"account": DAVID}, [seq(3), seq(1), 2, 1]),
        ({"account": MARIA}, [seq(2), 3]),
        ({"callid": "12346"}, [seq(2)]),
        ({"agent": "testagent"}, [seq(3), seq(1)]),
        ({"mode": "1"}, [seq(2), seq(1), 3, 1]),
        ({"source": "crm"}, [seq(2)]),
        ({"source": "seed_demo"}, [3, 2, 1]),
        ({"since": "2000-01-01", "until": "2999-12-31"}, [seq(3), seq(2), seq(1), 3, 2, 1]),
        ({"since": "2999-01-01T00:00:00+02:00"}, []),
        ({"until": "2000-01-01"}, []),
        ({"agent": "testagent", "mode": "2"}, [seq(3)]),
    ],
)
def test_each_filter(auditor_api, query, expected):
    make_log()

    assert seqs(auditor_api.get(URL, query)) == expected


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ({"since": "2026-02-30"}, {"since": [NOT_A_DATE % {"value": "'2026-02-30'"}]}),
        ({"until": "soon"}, {"until": [NOT_A_DATE % {"value": "'soon'"}]}),
        ({"agent": "nobody"}, {"agent": [UNKNOWN_AGENT % {"value": "nobody"}]}),
        ({"mode": "x"}, {"mode": ["ModeID must be a whole number, e.g. 1."]}),
    ],
)
def test_a_bad_filter_value_is_a_400_naming_the_parameter(auditor_api, query, errors):
    for accept in ["application/json", "text/csv"]:
        response = auditor_api.get(URL, query, HTTP_ACCEPT=accept)

        assert response.status_code == 400
        assert response["Content-Type"] == "application/json"
        assert response.json() == errors


def test_an_unknown_format_or_accept_is_refused_in_json(auditor_api):
    bad_format = auditor_api.get(URL, {"format": "xml"})
    bad_accept = auditor_api.get(URL, HTTP_ACCEPT="text/html")

    assert bad_format.status_code == 400
    assert bad_format.json() == {"format": [UNKNOWN_FORMAT]}
    assert bad_accept.status_code == 406
    assert bad_accept["Content-Type"] == "application/json"


def test_the_account_and_call_filters_refuse_unknown_values(auditor_api):
    bad_account = auditor_api.get(URL, {"account": "1|2|3"})
    bad_call = auditor_api.get(URL, {"callid": "99999"})

    assert bad_account.status_code == bad_call.status_code == 400
    assert list(bad_account.json()) == ["account"]
    assert list(bad_call.json()) == ["callid"]


def read_csv(response) -> list[dict]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_csv_by_format_parameter_or_accept_header_carries_the_filters(auditor_api):
    entries = make_log()

    by_format = read_csv(auditor_api.get(URL, {"format": "csv", "agent": "testagent"}))
    by_accept = read_csv(auditor_api.get(URL, {"agent": "testagent"}, HTTP_ACCEPT="text/csv"))

    assert by_format == by_accept
    assert [row["seq"] for row in by_format] == [str(seq(3)), str(seq(1))]
    assert by_format[1]["hash"] == entries[0].hash
    assert by_format[1]["new_number"] == "3005550101"


def test_csv_is_not_paginated(auditor_api):
    make_log()

    rows = read_csv(auditor_api.get(URL, {"format": "csv", "page_size": 1}))

    assert [row["seq"] for row in rows] == [str(n) for n in (seq(3), seq(2), seq(1), 3, 2, 1)]


@pytest.mark.parametrize("username", ["testagent", "dialer"])
@pytest.mark.parametrize("query", [{}, {"format": "xml"}, {"since": "never"}])
def test_users_without_view_permission_get_a_json_403(demo, username, query):
    make_log()

    response = client_for(username).get(URL, query)

    assert response.status_code == 403
    assert response.json() == {"detail": "Only auditors and supervisors may read the audit log."}


def test_anonymous_callers_get_a_json_401(demo):
    response = client_for(None).get(URL, {"format": "csv"})

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"


def test_a_holder_of_view_modechange_reads_it_as_does_a_superuser(demo):
    make_log()
    supervisor = UserFactory(username="supervisor")
    supervisor.user_permissions.add(Permission.objects.get(codename="view_modechange"))

    everything = [seq(3), seq(2), seq(1), 3, 2, 1]
    assert seqs(client_for("supervisor").get(URL)) == everything
    assert seqs(client_for("admin").get(URL)) == everything


def test_session_auth_works_for_a_logged_in_auditor(demo, client):
    from django.contrib.auth import get_user_model

    make_log()
    client.force_login(get_user_model().objects.get(username="auditor"))

    assert seqs(client.get(URL)) == [seq(3), seq(2), seq(1), 3, 2, 1]


def test_the_read_api_refuses_writes(auditor_api):
    entry = make_log()[0]

    for method in ["post", "put", "patch", "delete"]:
        response = getattr(auditor_api, method)(URL, {"seq": 1}, format="json")
        assert response.status_code == 405, method
        assert response["Content-Type"] == "application/json"
    assert ModeChange.objects.get(pk=entry.pk).hash == entry.hash


def test_the_openapi_schema_documents_the_filters_and_csv(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    operation = schema["paths"]["/api/lcm/mode-changes/"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert {"account", "callid", "agent", "mode", "since", "until", "cursor", "format"} <= set(
        params
    )
    assert params["mode"]["schema"]["type"] == "integer"
    assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    assert {"400", "403"} <= set(operation["responses"])


def test_pages_follow_the_cursor_within_a_date_range(auditor_api):
    make_log()
    query = {"since": "2000-01-01", "until": "2999-12-31", "page_size": 2}

    first = auditor_api.get(URL, query)
    second = auditor_api.get(first.json()["next"])
    third = auditor_api.get(second.json()["next"])

    assert seqs(first) == [seq(3), seq(2)]
    assert seqs(second) == [seq(1), 3]
    assert seqs(third) == [2, 1]
    assert third.json()["next"] is None
