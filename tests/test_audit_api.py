"""The auditors' API: GET /api/lcm/mode-changes/ (JSON pages or streamed CSV)."""

import csv
import io
import json

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from lcm.api import examples
from lcm.api.audit import UNKNOWN_FORMAT
from lcm.audit.filters import NOT_A_DATE, UNKNOWN_AGENT
from lcm.models import ModeChange

from .audit_log import DAVID, DEMO, MARIA, make_log, seq
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
    assert [e["seq"] for e in body["results"]] == [seq(3), seq(2), seq(1), *DEMO]  # then the demo's
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
        # The whole entry: Office set, Home deleted with it (before/after of each).
        "modes": ModeChange.objects.get(seq=seq(3)).modes,
        "do_not_call": None,
        "callback": None,
        "details": None,
        "business_fields": None,
    }
    modes = {m["mode_id"]: m for m in body["results"][0]["modes"]}
    assert (modes[2]["before"]["number"], modes[2]["after"]["number"]) == (
        "2025550143",
        "3005550303",
    )
    assert (modes[1]["before"]["number"], modes[1]["after"]) == ("3005550101", None)


def test_pages_follow_the_cursor(auditor_api):
    make_log()

    first = auditor_api.get(URL, {"page_size": 2})
    second = auditor_api.get(first.json()["next"])
    third = auditor_api.get(second.json()["next"])

    assert seqs(first) == [seq(3), seq(2)]
    assert seqs(second) == [seq(1), DEMO[0]]
    assert seqs(third) == DEMO[1:3]
    fourth = auditor_api.get(third.json()["next"])
    assert seqs(fourth) == DEMO[3:]
    assert fourth.json()["next"] is None


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
        ({"source": "seed_demo"}, DEMO),
        ({"since": "2000-01-01", "until": "2999-12-31"}, [seq(3), seq(2), seq(1), *DEMO]),
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
        assert response.json() == {
            "code": "invalid_fields",
            "message": f"Invalid parameters: {', '.join(errors)}.",
            "fields": errors,
        }


def test_an_unknown_format_or_accept_is_refused_in_json(auditor_api):
    bad_format = auditor_api.get(URL, {"format": "xml"})
    bad_accept = auditor_api.get(URL, HTTP_ACCEPT="text/html")

    assert bad_format.status_code == 400
    assert bad_format.json() == {
        "code": "invalid_fields",
        "message": "Invalid parameters: format.",
        "fields": {"format": [UNKNOWN_FORMAT]},
    }
    assert bad_accept.status_code == 406
    assert bad_accept["Content-Type"] == "application/json"
    assert bad_accept.json()["code"] == "not_acceptable"


def test_the_account_and_call_filters_refuse_unknown_values(auditor_api):
    bad_account = auditor_api.get(URL, {"account": "1|2|3"})
    bad_call = auditor_api.get(URL, {"callid": "99999"})

    assert bad_account.status_code == bad_call.status_code == 400
    assert list(bad_account.json()["fields"]) == ["account"]
    assert list(bad_call.json()["fields"]) == ["callid"]


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

    assert [row["seq"] for row in rows] == [str(n) for n in (seq(3), seq(2), seq(1), *DEMO)]


@pytest.mark.parametrize("username", ["testagent", "dialer"])
@pytest.mark.parametrize("query", [{}, {"format": "xml"}, {"since": "never"}])
def test_users_without_view_permission_get_a_json_403(demo, username, query):
    make_log()

    response = client_for(username).get(URL, query)

    assert response.status_code == 403
    assert response.json() == examples.NOT_AN_AUDITOR


def test_anonymous_callers_get_a_json_401(demo):
    response = client_for(None).get(URL, {"format": "csv"})

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"


def test_a_holder_of_view_modechange_reads_it_as_does_a_superuser(demo):
    make_log()
    supervisor = UserFactory(username="supervisor")
    supervisor.user_permissions.add(Permission.objects.get(codename="view_modechange"))

    everything = [seq(3), seq(2), seq(1), *DEMO]
    assert seqs(client_for("supervisor").get(URL)) == everything
    assert seqs(client_for("admin").get(URL)) == everything


def test_session_auth_works_for_a_logged_in_auditor(demo, client):
    from django.contrib.auth import get_user_model

    make_log()
    client.force_login(get_user_model().objects.get(username="auditor"))

    assert seqs(client.get(URL)) == [seq(3), seq(2), seq(1), *DEMO]


def test_the_read_api_refuses_writes(auditor_api):
    entry = make_log()[0]

    for method in ["post", "put", "patch", "delete"]:
        response = getattr(auditor_api, method)(URL, {"seq": 1}, format="json")
        assert response.status_code == 405, method
        assert response["Content-Type"] == "application/json"
    assert ModeChange.objects.get(pk=entry.pk).hash == entry.hash


def test_the_openapi_schema_documents_the_filters_and_the_csv_export_apart(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    listing = schema["paths"]["/api/lcm/mode-changes/"]["get"]
    export = schema["paths"]["/api/lcm/mode-changes/export/"]["get"]
    params = {p["name"]: p for p in listing["parameters"]}
    assert {"account", "callid", "agent", "mode", "since", "until", "cursor"} <= set(params)
    assert params["mode"]["schema"]["type"] == "integer"
    assert set(listing["responses"]["200"]["content"]) == {"application/json"}
    assert set(export["responses"]["200"]["content"]) == {"text/csv"}
    assert {p["name"] for p in export["parameters"]} == set(params) - {"cursor", "page_size"}
    for operation in (listing, export):
        assert {"400", "401", "403"} <= set(operation["responses"])
        for status, response in operation["responses"].items():
            if status != "200":
                assert set(response["content"]) == {"application/json"}, status


def test_the_export_is_csv_whatever_accept_says(auditor_api):
    entries = make_log()
    url = URL + "export/"

    as_listed = read_csv(auditor_api.get(URL, {"format": "csv", "agent": "testagent"}))
    exported = read_csv(auditor_api.get(url, {"agent": "testagent"}))
    exported_json_asked = read_csv(
        auditor_api.get(url, {"agent": "testagent"}, HTTP_ACCEPT="application/json")
    )

    assert exported == exported_json_asked == as_listed
    assert [row["seq"] for row in exported] == [str(e.seq) for e in reversed(entries[::2])]


def test_the_export_refuses_in_json(demo):
    refused = client_for("testagent").get(URL + "export/")

    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/json"
    assert refused.json() == examples.NOT_AN_AUDITOR


def test_a_page_names_its_cursors_for_the_cursor_parameter(auditor_api):
    make_log()

    seqs = list(ModeChange.objects.order_by("-seq").values_list("seq", flat=True))

    first = auditor_api.get(URL, {"page_size": 2}).json()
    second = auditor_api.get(URL, {"page_size": 2, "cursor": first["next_cursor"]}).json()
    bad = auditor_api.get(URL, {"cursor": "not-a-cursor"})

    assert [entry["seq"] for entry in first["results"]] == seqs[:2]
    assert first["previous"] is first["previous_cursor"] is None
    assert auditor_api.get(first["next"]).json() == second
    assert [entry["seq"] for entry in second["results"]] == seqs[2:4]
    assert second["previous_cursor"] is not None
    assert bad.status_code == 400
    assert bad.json() == {
        "code": "invalid_fields",
        "message": "Invalid parameters: cursor.",
        "fields": {"cursor": ["Invalid cursor"]},
    }


def test_pages_follow_the_cursor_within_a_date_range(auditor_api):
    make_log()
    query = {"since": "2000-01-01", "until": "2999-12-31", "page_size": 2}

    first = auditor_api.get(URL, query)
    second = auditor_api.get(first.json()["next"])
    third = auditor_api.get(second.json()["next"])

    assert seqs(first) == [seq(3), seq(2)]
    assert seqs(second) == [seq(1), DEMO[0]]
    assert seqs(third) == DEMO[1:3]
    fourth = auditor_api.get(third.json()["next"])
    assert seqs(fourth) == DEMO[3:]
    assert fourth.json()["next"] is None


# --- The whole entry: modes, do_not_call, callback ------------------------------------


def _whole_entries() -> dict[str, ModeChange]:
    """A set, its revert, a SetDNC and a callback, each through its real path
    (the envelope over HTTP, the supervisors' revert action)."""
    from django.contrib.auth import get_user_model

    from lcm.actions.supervisor import revert_mode_change

    from .conftest import WEBSERVICE, envelope

    agent = client_for("testagent")
    agent_set = envelope(
        callid="12345",
        AccountNumber=DAVID,
        ModeID=3,
        ContactNumber="2025550177",
        DeleteOtherModes=False,
        AgentID="testagent",
    )
    assert agent.post(WEBSERVICE, agent_set, format="json").status_code == 200
    set_entry = ModeChange.objects.latest("seq")
    revert = revert_mode_change(
        change_id=set_entry.pk,
        actor=get_user_model().objects.get(username="supervisor"),
        expected_seq=set_entry.seq,
    )
    dnc = envelope(
        "SetDNC",
        callid="12345",
        AccountNumber=DAVID,
        AgentID="testagent",
        isPhoneNoDNC=True,
        ModeID=1,
        AgentComments="Asked not to be called on this number.",
    )
    assert agent.post(WEBSERVICE, dnc, format="json").status_code == 200, "SetDNC"
    dnc_entry = ModeChange.objects.latest("seq")
    reply = agent.post(WEBSERVICE, examples.SET_CALLBACK_WITH_COMMENTS, format="json")
    assert reply.status_code == 200, reply.content
    return {
        "set": set_entry,
        "revert": ModeChange.objects.get(pk=revert.pk),
        "dnc": dnc_entry,
        "callback": ModeChange.objects.latest("seq"),
    }


def test_the_api_and_the_csv_give_the_whole_entry(auditor_api):
    entries = _whole_entries()
    assert [e.action for e in entries.values()] == ["set", "revert", "dnc", "callback"]

    listed = {e["seq"]: e for e in auditor_api.get(URL).json()["results"]}
    export = auditor_api.get("/api/lcm/mode-changes/export/")
    assert export.status_code == 200
    rows = {
        int(row["seq"]): row
        for row in csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode()))
    }

    set_entry, revert = listed[entries["set"].seq], listed[entries["revert"].seq]
    assert set_entry["modes"] == [
        {"mode_id": 3, "before": None, "after": set_entry["modes"][0]["after"]}
    ]
    assert set_entry["modes"][0]["after"]["number"] == "2025550177"
    assert revert["reverts_seq"] == entries["set"].seq
    assert revert["modes"] == [
        {"mode_id": 3, "before": set_entry["modes"][0]["after"], "after": None}
    ]
    dnc = listed[entries["dnc"].seq]["do_not_call"]
    assert (dnc["event"], dnc["scope"], dnc["comments"]) == (
        "block",
        "number",
        "Asked not to be called on this number.",
    )
    callback = listed[entries["callback"].seq]["callback"]
    assert (callback["event"], callback["kind"], callback["comments"]) == (
        "scheduled",
        "regular",
        examples.CALLBACK_DATA["AgentComments"],
    )
    for name, entry in entries.items():
        shown, row = listed[entry.seq], rows[entry.seq]
        for field in ("modes", "do_not_call", "callback", "details", "business_fields"):
            stored = getattr(entry, field)
            assert shown[field] == stored, (name, field)
            assert (json.loads(row[field]) if row[field] else None) == stored, (name, field)
        assert shown["do_not_call"] is None or name == "dnc"
        assert shown["callback"] is None or name == "callback"
    # Appended: the columns before keep their positions.
    assert list(rows[entries["set"].seq])[-7:] == [
        "hash",
        "modes",
        "do_not_call",
        "callback",
        "erased",
        "details",
        "business_fields",
    ]


def test_an_entry_without_an_account_is_null_in_the_api(db):
    """A list-wide do-not-call block names no account: the serializer says
    null, and the schema declares it."""
    from lcm.api.audit import ModeChangeSerializer

    entry = ModeChange(
        seq=1,
        action="dnc",
        account=None,
        account_number="",
        mode_id=0,
        new_number="2025550199",
        do_not_call={"event": "block", "entry": 1, "scope": "number", "number": "2025550199",
                     "campaign": ""},
    )  # fmt: skip
    entry.created_at = timezone.now()
    data = ModeChangeSerializer(entry).data
    assert data["account"] is None
    assert data["do_not_call"]["number"] == "2025550199"
    schema = client_for(None).get("/api/schema/?format=json").json()
    account = schema["components"]["schemas"]["ModeChange"]["properties"]["account"]
    assert account["type"] == ["string", "null"]


def test_an_entry_without_an_account_reads_and_exports(auditor_api):
    from lcm.audit import append_entry

    entry = append_entry(
        ModeChange(
            action="dnc",
            account=None,
            account_number="",
            mode_id=0,
            new_number="2025550199",
            deleted_modes=[],
            modes=[],
            do_not_call={"event": "block", "entry": 1, "scope": "number",
                         "number": "2025550199", "campaign": ""},
        )
    )  # fmt: skip

    listed = auditor_api.get(URL).json()["results"]
    assert (listed[0]["seq"], listed[0]["account"]) == (entry.seq, None)
    export = auditor_api.get("/api/lcm/mode-changes/export/")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert (rows[0]["seq"], rows[0]["account"]) == (str(entry.seq), "")
