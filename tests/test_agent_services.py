"""The agent desktop's other services through the envelope (spec
campaign-services.md sections 3, 6, 7, 8), on the demo data of section 1:
each reply, every error of the spec, who may call (agent tokens, the
integration user, supervisors and auditors), and the audit count (one entry
per write, none for reads, refusals and no-ops)."""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo

import pytest
import time_machine

from lcm.models import (
    Account,
    Agent,
    BusinessField,
    BusinessFieldValue,
    Call,
    ModeChange,
)

from .conftest import WEBSERVICE, client_for, envelope, snapshot
from .test_import_accounts import assert_chain_intact

DAVID = "5|3|1|0|0|44|1"
MARIA = "596|485|587|0|0|44|59"
WINTER = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)  # 10:00 in New York, EST
SUMMER = dt.datetime(2027, 7, 1, 15, 0, tzinfo=dt.UTC)  # EDT
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def send(client, subtopic, **data):
    return client.post(WEBSERVICE, envelope(subtopic, **data), format="json")


def ok(client, subtopic, **data):
    response = send(client, subtopic, **data)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["subtopic"] == REPLY[subtopic]
    return body["message"]


def refused(client, subtopic, status, code, **data):
    before = snapshot()
    response = send(client, subtopic, **data)
    assert response.status_code == status, response.content
    body = response.json()
    assert body["message"]["response"] == {"success": False}
    error = body["message"]["error"]
    assert error["errorType"] == "WS_Error"
    assert error["code"] == code, error
    assert snapshot() == before  # a refusal changes nothing, audits nothing
    return error


REPLY = {
    "GetCampaignModes": "CampaignModes",
    "GetCallBackModes": "CallbackModes",
    "GetModeInformation": "GetModeInformationResult",
    "GetDNCBussField": "GetDNCBussFieldResult",
    "SetContactBusinessFields": "SetContactBusinessFieldsResult",
    "GetScreenPopData": "ScreenPopData",
    "GetCampaignsForMCDRequest": "SetCampaignsForMCDResponse",
    "SendAgentState": "SendAgentStateResult",
}
CALL_READS = [
    "GetCampaignModes",
    "GetCallBackModes",
    "GetModeInformation",
    "GetDNCBussField",
    "GetScreenPopData",
]


def mode(mode_id, description, cvalue):
    return {
        "ModeID": str(mode_id),
        "Description": description,
        "ChannelType": "voice",
        "MinLength": "3",
        "MaxLength": "20",
        "Cvalue": cvalue,
        "PEWC": False,
        "CampaignPEWC": False,
    }


# --- section 3: the mode catalogue -------------------------------------------------


@pytest.mark.django_db
def test_campaign_modes_lists_every_enabled_mode_with_its_live_number(agent_client):
    entries = ModeChange.objects.count()
    message = ok(agent_client, "GetCampaignModes", callid="12345", AccountNumber=DAVID)
    assert message["callid"] == "12345"
    assert message["response"] == [
        mode(1, "Home", "6491462346"),
        mode(2, "Office", "2025550143"),
        mode(3, "Mobile", None),
    ]
    assert ModeChange.objects.count() == entries  # a read


@pytest.mark.django_db
def test_campaign_modes_follow_the_campaign_and_the_numbers_consent(agent_client):
    from lcm.models import Campaign, CampaignMode, ContactMode

    Campaign.objects.filter(code="Spring").update(requires_consent=True)
    CampaignMode.objects.filter(campaign_id="Spring", mode_type_id=3).delete()
    CampaignMode.objects.filter(campaign_id="Spring", mode_type_id=2).update(
        min_length=7, max_length=12, channel_type="sms"
    )
    ContactMode.objects.filter(account__account_number=DAVID, mode_type_id=2).update(
        has_consent=True
    )
    modes = ok(agent_client, "GetCampaignModes", callid="12345", AccountNumber=DAVID)["response"]
    assert [m["ModeID"] for m in modes] == ["1", "2"]
    assert modes[1] == {
        **mode(2, "Office", "2025550143"),
        "ChannelType": "sms",
        "MinLength": "7",
        "MaxLength": "12",
        "PEWC": True,
        "CampaignPEWC": True,
    }


@pytest.mark.django_db
def test_callback_modes_are_the_campaigns_callback_modes_holding_a_number(agent_client):
    message = ok(agent_client, "GetCallBackModes", callid="12345", AccountNumber=DAVID)
    assert message["response"] == [mode(2, "Office", "2025550143")]


@pytest.mark.django_db
@pytest.mark.parametrize(("now", "offset"), [(WINTER, -5), (SUMMER, -4)])
def test_mode_information_one_element_per_live_mode(agent_client, now, offset):
    david = Account.objects.get(account_number=DAVID)
    with time_machine.travel(now, tick=False):
        message = ok(agent_client, "GetModeInformation", callid="12345", AccountNumber=DAVID)
    common = {
        "CampaignId": "Spring",
        "ContactID": str(david.pk),
        "Timezone": "America/New_York",
        "CampaignCategoryName": "Sales",
        "CallId": "12345",
        "GMTDeviation": offset,
        "DispositionRequired": True,
        "DNCPeriodType": "Permanent",
        "DNCDays": 0,
        "DNCEOD": False,
        "CustomerDNCTZEnabled": False,
    }
    assert message["response"] == [
        {"ModeID": 1, "ModeName": "Home", "ContactNumber": "6491462346", **common},
        {"ModeID": 2, "ModeName": "Office", "ContactNumber": "2025550143", **common},
    ]


@pytest.mark.django_db
def test_gmt_deviation_of_a_half_hour_zone_and_of_none():
    from lcm.actions.catalogue import gmt_deviation

    assert gmt_deviation("Asia/Kolkata", WINTER) == 5.5
    assert gmt_deviation("", WINTER) == 0
    assert gmt_deviation("Not/AZone", WINTER) == 0


# --- section 2 on every call read ---------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("subtopic", CALL_READS)
def test_call_reads_refuse_as_the_spec_says(agent_client, subtopic):
    for callid in ("", "   "):
        error = refused(agent_client, subtopic, 400, "callid_empty", callid=callid,
                        AccountNumber=DAVID)  # fmt: skip
        assert error["errorMessage"] == "Callid is empty"
        assert error["msg"] == "Invalid Call ID."
    error = refused(agent_client, subtopic, 400, "callid_empty", AccountNumber=DAVID)
    error = refused(agent_client, subtopic, 404, "unknown_call", callid="99999",
                    AccountNumber=DAVID)  # fmt: skip
    assert error["errorMessage"] == "Invalid Call ID:99999"
    assert error["msg"] == "Invalid Call ID."
    refused(agent_client, subtopic, 400, "invalid_fields", callid=12345, AccountNumber=DAVID)
    error = refused(agent_client, subtopic, 400, "invalid_fields", callid="12345")
    assert "AccountNumber" in error["fields"]
    refused(agent_client, subtopic, 404, "unknown_account", callid="12345", AccountNumber="1|2")
    refused(agent_client, subtopic, 409, "call_account_mismatch", callid="12345",
            AccountNumber=MARIA)  # fmt: skip
    # Another agent's call: forbidden to an agent's token.
    refused(agent_client, subtopic, 403, "forbidden", callid="12346", AccountNumber=MARIA)
    # offagent: its own call, ended, and not logged in.
    refused(client_for("offagent"), subtopic, 409, "prerequisite_failed", callid="12301",
            AccountNumber=DAVID)  # fmt: skip
    # An ended call of a logged-in agent still reads.
    assert send(agent_client, subtopic, callid="12300", AccountNumber=DAVID).status_code == 200
    # The integration user, a supervisor and an auditor read any call's contact.
    for reader in ("dialer", "supervisor", "auditor"):
        response = send(client_for(reader), subtopic, callid="12346", AccountNumber=MARIA)
        assert response.status_code == 200, (reader, response.content)
    refused(client_for(None), subtopic, 401, "not_authenticated", callid="12345",
            AccountNumber=DAVID)  # fmt: skip


# --- section 6: business fields -------------------------------------------------


def items(*triples):
    return [
        {"FieldName": name, "Value": value, "DataType": kind, "Format": ""}
        for name, value, kind in triples
    ]


def values_of(account=DAVID) -> dict[str, str]:
    return dict(
        BusinessFieldValue.objects.filter(account__account_number=account).values_list(
            "field__name", "value"
        )
    )


@pytest.mark.django_db
def test_dnc_business_fields_are_the_campaigns_dnc_fields(agent_client):
    message = ok(agent_client, "GetDNCBussField", callid="12345", AccountNumber=DAVID)
    assert message["response"] == [
        {"FieldName": "CustomerRef", "Value": "DB-0001", "DataType": "String", "Format": "20"}
    ]
    maria = ok(client_for("otheragent"), "GetDNCBussField", callid="12346", AccountNumber=MARIA)
    assert maria["response"] == [
        {"FieldName": "CustomerRef", "Value": "", "DataType": "String", "Format": "20"}
    ]


@pytest.mark.django_db
def test_screen_pop_data(agent_client):
    message = ok(agent_client, "GetScreenPopData", callid="12345", AccountNumber=DAVID)
    assert message["response"] == {
        "FName": "David",
        "LName": "Berry",
        "CustomerRef": "DB-0001",
        "Balance": "120.50",
        "DueDate": "",
        "Email": "",
        "Home": "6491462346",
        "Office": "2025550143",
        "Mobile": "",
    }


@pytest.mark.django_db
def test_set_business_fields_stores_all_and_audits_once(agent_client):
    entries = ModeChange.objects.count()
    message = ok(
        agent_client, "SetContactBusinessFields", callid="12345", AccountNumber=DAVID,
        AgentID="testagent",
        businessField=items(("Balance", "99.5", "Number"), ("DueDate", "31/01/2027", "DateTime"),
                            ("Email", "david@example.com", "String")),
    )  # fmt: skip
    assert message == {"callid": "12345", "response": {"success": True}}
    assert values_of() == {
        "CustomerRef": "DB-0001",
        "Balance": "99.50",
        "DueDate": "31/01/2027",
        "Email": "david@example.com",
    }
    assert ModeChange.objects.count() == entries + 1
    entry = ModeChange.objects.order_by("-seq").first()
    assert entry.action == "business_fields"
    assert entry.account.account_number == DAVID
    assert (entry.callid, entry.agent_code, entry.username) == ("12345", "testagent", "testagent")
    assert entry.business_fields == [
        {"FieldName": "Balance", "before": "120.50", "after": "99.50"},
        {"FieldName": "DueDate", "before": "", "after": "31/01/2027"},
        {"FieldName": "Email", "before": "", "after": "david@example.com"},
    ]
    assert entry.details is None  # personal data: in the sealed column only
    pop = ok(agent_client, "GetScreenPopData", callid="12345", AccountNumber=DAVID)["response"]
    assert (pop["Balance"], pop["DueDate"]) == ("99.50", "31/01/2027")
    # The same values again: a no-op, no entry. "" clears, one entry.
    ok(agent_client, "SetContactBusinessFields", callid="12345", AccountNumber=DAVID,
       AgentID="testagent", businessField=items(("Balance", "99.50", "Number")))  # fmt: skip
    assert ModeChange.objects.count() == entries + 1
    ok(agent_client, "SetContactBusinessFields", callid="12345", AccountNumber=DAVID,
       AgentID="testagent", businessField=items(("Email", "", "String")))  # fmt: skip
    assert "Email" not in values_of()
    assert ModeChange.objects.count() == entries + 2
    assert_chain_intact()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("triple", "status", "code"),
    [
        (("Nickname", "Dave", "String"), 400, "unknown_business_field"),
        (("CustomerRef", "DB-0002", "String"), 403, "forbidden"),
        (("Balance", "10", "String"), 400, "field_type_mismatch"),
        (("Balance", "12.345", "Number"), 400, "invalid_business_field"),
        (("Balance", "ten", "Number"), 400, "invalid_business_field"),
        (("DueDate", "2027-01-31", "DateTime"), 400, "invalid_business_field"),
        (("DueDate", "31/02/2027", "DateTime"), 400, "invalid_business_field"),
        (("DueDate", "1/1/2027", "DateTime"), 400, "invalid_business_field"),
        (("Email", "x" * 101, "String"), 400, "invalid_business_field"),
    ],
)
def test_a_bad_business_field_refuses_the_whole_request(agent_client, triple, status, code):
    name = triple[0]
    good = ("Balance", "1", "Number") if name == "Email" else ("Email", "ok@example.com", "String")
    error = refused(
        agent_client, "SetContactBusinessFields", status, code, callid="12345",
        AccountNumber=DAVID, AgentID="testagent", businessField=items(good, triple),
    )  # fmt: skip
    assert list(error["fields"]) == [f"businessField.{name}"]
    assert name in error["errorMessage"]


@pytest.mark.django_db
def test_business_field_types_and_formats():
    from lcm.actions.business_fields import BadValue, parse

    def field(kind, fmt):
        return BusinessField(name="F", data_type=kind, format=fmt)

    assert parse(field("Number", ""), "-42") == "-42"
    assert parse(field("Number", "0.00"), "7") == "7.00"
    assert parse(field("DateTime", "DD/MM/YYYY HH:mm"), "31/01/2027 09:30") == "31/01/2027 09:30"
    assert parse(field("DateTime", "YYYY-MM-DD"), "2027-01-31") == "2027-01-31"
    assert parse(field("Boolean", ""), "TRUE") == "true"
    assert parse(field("String", ""), "x" * 255) == "x" * 255
    for kind, fmt, value in [
        ("Number", "", "1.5"),
        ("Number", "", "1e3"),
        ("DateTime", "DD/MM/YYYY HH:mm", "31/01/2027 24:00"),
        ("DateTime", "YYYY-MM-DD", "2027-02-29"),
        ("Boolean", "", "yes"),
        ("String", "", "x" * 256),
        ("String", "5", "abcdef"),
    ]:
        with pytest.raises(BadValue):
            parse(field(kind, fmt), value)


@pytest.mark.django_db
def test_set_business_fields_who_may_and_the_shape(agent_client):
    good = items(("Email", "a@example.com", "String"))
    base = {"callid": "12345", "AccountNumber": DAVID, "AgentID": "testagent"}
    w = "SetContactBusinessFields"
    refused(agent_client, w, 400, "callid_empty", **{**base, "callid": ""}, businessField=good)
    refused(agent_client, w, 404, "unknown_call", **{**base, "callid": "9"}, businessField=good)
    refused(agent_client, w, 403, "forbidden", **{**base, "AgentID": "otheragent"},
            businessField=good)  # fmt: skip
    refused(agent_client, w, 403, "forbidden", callid="12346", AccountNumber=MARIA,
            AgentID="testagent", businessField=good)  # fmt: skip
    refused(agent_client, w, 409, "call_account_mismatch", **{**base, "AccountNumber": MARIA},
            businessField=good)  # fmt: skip
    refused(agent_client, w, 404, "unknown_account", **{**base, "AccountNumber": "1|2"},
            businessField=good)  # fmt: skip
    refused(client_for("offagent"), w, 409, "prerequisite_failed", callid="12301",
            AccountNumber=DAVID, AgentID="offagent", businessField=good)  # fmt: skip
    for reader in ("supervisor", "auditor"):
        refused(client_for(reader), w, 403, "forbidden", **base, businessField=good)
    for shape in ([], "Email=x", [{"FieldName": "Email", "Value": 5, "DataType": "String",
                                   "Format": ""}], good * 51):  # fmt: skip
        error = refused(agent_client, w, 400, "invalid_fields", **base, businessField=shape)
        # the list itself, or the item by its index and key (test_services_conformance.py)
        assert list(error["fields"]) in (["businessField"], ["businessField[0].Value"])
    twice = items(("Email", "a@example.com", "String"), ("Email", "b@example.com", "String"))
    refused(agent_client, w, 400, "invalid_fields", **base, businessField=twice)
    # The integration user writes as any agent, on that agent's call.
    dialer = client_for("dialer")
    ok(dialer, w, callid="12346", AccountNumber=MARIA, AgentID="otheragent", businessField=good)
    assert values_of(MARIA) == {"Email": "a@example.com"}
    refused(dialer, w, 409, "call_agent_mismatch", callid="12346", AccountNumber=MARIA,
            AgentID="testagent", businessField=good)  # fmt: skip
    refused(dialer, w, 404, "unknown_agent", **{**base, "AgentID": "nobody"}, businessField=good)


class _Undo(Exception):
    """Rolls a test's savepoint back."""


@pytest.mark.django_db
def test_business_fields_are_sealed_in_the_personal_digest(agent_client):
    """Format 4: the entry's `business_fields` is the last field of its
    personal layout, so the personal digest (and the hash) seals it; the
    offline verifier checks the disclosed value and refuses another one."""
    from lcm import audit

    from .test_audit_proofs import verifier

    ok(agent_client, "SetContactBusinessFields", callid="12345", AccountNumber=DAVID,
       AgentID="testagent", businessField=items(("Email", "d@example.com", "String")))  # fmt: skip
    entry = ModeChange.objects.get(action="business_fields")
    assert entry.version == audit.FORMAT4 and audit.content_matches(entry)
    assert entry.business_fields == [{"FieldName": "Email", "before": "", "after": "d@example.com"}]
    fields = audit.canonical_payload(entry)
    assert "business_fields" not in fields  # personal: only inside the digest
    disclosed = {n: {"value": getattr(entry, n), "salt": entry.salt} for n in audit.PERSONAL_FIELDS}
    assert verifier.check_personal(fields, disclosed) == len(audit.PERSONAL_FIELDS) == 8
    other = [{"FieldName": "Email", "before": "", "after": "x@example.com"}]
    with pytest.raises(verifier.Failed, match="not those entry"):
        verifier.check_personal(
            fields, dict(disclosed, business_fields={"value": other, "salt": entry.salt})
        )
    entry.business_fields = other
    assert not audit.content_matches(entry)


@pytest.mark.django_db
def test_erase_contact_removes_the_values_and_their_audit_record(agent_client):
    """The values are the contact's personal data: erase_contact deletes them
    and empties the entry's sealed `business_fields`; the chain still verifies
    (the personal digest stays), and the triggers allow exactly that change:
    an erasure that keeps `business_fields` is refused."""
    from django.core.management import call_command
    from django.db import IntegrityError, transaction
    from django.utils import timezone

    from lcm import audit

    ok(agent_client, "SetContactBusinessFields", callid="12345", AccountNumber=DAVID,
       AgentID="testagent", businessField=items(("Email", "d@example.com", "String")))  # fmt: skip
    entry = ModeChange.objects.get(action="business_fields")
    sealed = audit.personal_digests(entry)
    with pytest.raises(IntegrityError), transaction.atomic():  # append-only, whoever asks
        ModeChange.objects.filter(pk=entry.pk).update(business_fields=[])
    with pytest.raises(_Undo), transaction.atomic():
        record = audit.append_entry(
            ModeChange(action=ModeChange.Action.ERASE, account=entry.account,
                       account_number=DAVID, mode_id=0, new_number="", username="admin",
                       erasure={"reason": "t", "entries": [entry.seq]},
                       created_at=timezone.now())
        )  # fmt: skip
        erased = dict(audit.ERASED_VALUES, salt=None, digests=sealed, erased_by=record)
        with pytest.raises(IntegrityError), transaction.atomic():
            ModeChange.objects.filter(pk=entry.pk).update(
                **dict(erased, business_fields=entry.business_fields)
            )
        assert ModeChange.objects.filter(pk=entry.pk).update(**erased) == 1  # without: let through
        raise _Undo
    call_command("erase_contact", DAVID, reason="The customer asked", stdout=io.StringIO())
    assert values_of() == {}
    entry.refresh_from_db()
    assert entry.business_fields is None and entry.erased_by_id is not None
    assert entry.salt is None and entry.digests == sealed and set(sealed) == {"personal_digest"}
    assert audit.content_matches(entry) is True
    assert_chain_intact()
    call_command("verify_audit", stdout=io.StringIO())


def audit_entries(client, **query) -> dict[int, dict]:
    """The auditors' API list (JSON, and the CSV export of the same) by seq,
    each JSON entry validated against the OpenAPI document's ModeChange."""
    import csv

    import jsonschema

    document = client.get("/api/schema/?format=json").json()
    validator = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/ModeChange", "components": document["components"]}
    )
    page = client.get("/api/lcm/mode-changes/", query)
    assert page.status_code == 200, page.content
    listed = {}
    for entry in page.json()["results"]:
        validator.validate(entry)
        listed[entry["seq"]] = entry
    export = client.get("/api/lcm/mode-changes/", {**query, "format": "csv"})
    text = b"".join(export.streaming_content).decode()
    rows = {int(row["seq"]): row for row in csv.DictReader(io.StringIO(text))}
    assert set(rows) == set(listed)
    return listed, rows


@pytest.mark.django_db
def test_the_audit_api_and_csv_show_details_and_business_fields(agent_client):
    """The auditors' list and CSV export carry `details` and `business_fields`
    (typed in the OpenAPI document); once the contact is erased, its entry
    shows business_fields empty as it shows its numbers, and `details` (not
    personal data) stays."""
    import json

    from django.core.management import call_command

    ok(agent_client, "SetContactBusinessFields", callid="12345", AccountNumber=DAVID,
       AgentID="testagent", businessField=items(("Email", "d@example.com", "String")))  # fmt: skip
    ok(agent_client, "SendAgentState", agentID="testagent", agentState="READY")
    fields = ModeChange.objects.get(action="business_fields")
    state = ModeChange.objects.get(action="agent_state")
    changed = [{"FieldName": "Email", "before": "", "after": "d@example.com"}]
    auditor = client_for("auditor")

    listed, rows = audit_entries(auditor)
    assert listed[fields.seq]["business_fields"] == changed
    assert listed[fields.seq]["details"] is None
    assert listed[state.seq]["details"] == {"agent": "testagent", "before": None, "after": "READY"}
    assert listed[state.seq]["business_fields"] is None
    assert json.loads(rows[fields.seq]["business_fields"]) == changed
    assert rows[fields.seq]["details"] == ""
    assert json.loads(rows[state.seq]["details"]) == listed[state.seq]["details"]
    assert rows[state.seq]["business_fields"] == ""
    others = [e for seq, e in listed.items() if seq not in (fields.seq, state.seq)]
    assert others and all(e["business_fields"] is None for e in others)
    assert list(rows[fields.seq])[-3:] == ["erased", "details", "business_fields"]

    call_command("erase_contact", DAVID, reason="The customer asked", stdout=io.StringIO())
    listed, rows = audit_entries(auditor)
    erased = listed[fields.seq]
    assert erased["erased"] and erased["business_fields"] is None
    assert (erased["old_number"], erased["new_number"], erased["modes"]) == ("", "", [])
    assert rows[fields.seq]["business_fields"] == "" and rows[fields.seq]["erased"]
    assert listed[state.seq]["details"]["after"] == "READY"  # no contact's: kept


@pytest.mark.django_db
def test_the_canonical_entry_of_a_proof_is_typed_for_format_4(agent_client):
    """The proof's `entry` (CanonicalEntry) of a business fields entry, in
    format 4, validates against the OpenAPI document, with its details and
    without business_fields (sealed in the personal digest, disclosed with
    the rest under `personal`)."""
    import jsonschema

    from lcm.audit.checkpoints import proved_entry

    ok(agent_client, "SetContactBusinessFields", callid="12345", AccountNumber=DAVID,
       AgentID="testagent", businessField=items(("Email", "d@example.com", "String")))  # fmt: skip
    ok(agent_client, "SendAgentState", agentID="testagent", agentState="WORK")
    document = agent_client.get("/api/schema/?format=json").json()
    validator = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/CanonicalEntry", "components": document["components"]}
    )
    for action in ("business_fields", "agent_state"):
        proof = proved_entry(ModeChange.objects.get(action=action))
        validator.validate(proof["entry"])
        assert proof["entry"]["v"] == 4 and "business_fields" not in proof["entry"]
    with pytest.raises(jsonschema.ValidationError):  # the details are typed, not any object
        validator.validate(dict(proof["entry"], details={"agent": "testagent"}))
    assert proof["entry"]["details"] == {"agent": "testagent", "before": None, "after": "WORK"}
    fields = proved_entry(ModeChange.objects.get(action="business_fields"))
    assert fields["personal"]["business_fields"]["value"] == [
        {"FieldName": "Email", "before": "", "after": "d@example.com"}
    ]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_going_back_past_0030_is_refused_while_format_4_entries_exist(request, demo):
    from django.db import connection
    from django.db.migrations.exceptions import IrreversibleError
    from django.db.migrations.executor import MigrationExecutor

    from .test_audit_proofs import latest_migration

    def migrate(target):
        MigrationExecutor(connection).migrate([("lcm", target)])

    request.addfinalizer(lambda: migrate(latest_migration()))
    ok(client_for("testagent"), "SetContactBusinessFields", callid="12345", AccountNumber=DAVID,
       AgentID="testagent", businessField=items(("Email", "d@example.com", "String")))  # fmt: skip

    def log():
        rows = ModeChange.objects.order_by("seq")
        return list(rows.values_list("seq", "hash", "business_fields"))

    entries = log()
    with pytest.raises(IrreversibleError, match=r"format 4 \(1 hold business fields\)"):
        migrate("0029_drop_account_upload")
    assert log() == entries
    assert_chain_intact()


# --- section 7: the inbound lookup ---------------------------------------------


def element(account_number, mode_name, number, **changes):
    account = Account.objects.get(account_number=account_number)
    return {
        "CampaignId": "Spring",
        "CampaignName": "Spring",
        "ContactID": account.pk,
        "CallType": "Regular",
        "AgentID": "",
        "Mode": mode_name,
        "PhoneNo": number,
        "AccountNumber": account_number,
        **changes,
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "ani", ["+1 202 555 0143", "(202) 555-0143", "2025550143", 2025550143, 2025550143.0]
)
def test_inbound_lookup_by_number_identity(agent_client, ani):
    entries = ModeChange.objects.count()
    message = ok(agent_client, "GetCampaignsForMCDRequest", ANI=ani, CallType="inbound")
    assert message == {
        "callid": None,
        "response": [element(DAVID, "Office", "2025550143")],
    }
    assert ModeChange.objects.count() == entries


@pytest.mark.django_db
def test_inbound_lookup_callbacks_lcm_key_and_business_field(agent_client):
    dialer = client_for("dialer")
    assert (
        ok(dialer, "GetCampaignsForMCDRequest", ANI="2025550100", CallType="INBOUND")["response"]
        == []
    )
    # Maria also holds David's office number, on mode 2 (spelt otherwise), and
    # otheragent schedules a personal callback on it.
    other = client_for("otheragent")
    ok_set = send(
        other,
        "SetNewModeNumber",
        callid="12346",
        AccountNumber=MARIA,
        ModeID=2,
        ContactNumber="(202) 555-0143",
        DeleteOtherModes=False,
        AgentID="otheragent",
    )
    assert ok_set.status_code == 200, ok_set.content
    day = (dt.datetime.now(NEW_YORK) + dt.timedelta(days=1)).strftime("%d/%m/%Y")
    scheduled = send(
        other,
        "SetPersonalCallbackWithComments",
        callid="12346",
        AccountNumber=MARIA,
        StartDate=day,
        EndDate=day,
        StartTime="10:00",
        EndTime="12:00",
        CallbackModeId=2,
        UserID="otheragent",
    )
    assert scheduled.status_code == 200, scheduled.content
    found = ok(dialer, "GetCampaignsForMCDRequest", ANI="2025550143", CallType="Outbound")
    assert found["response"] == [
        element(DAVID, "Office", "2025550143"),
        element(MARIA, "Office", "2025550143", CallType="PersonalCallback", AgentID="otheragent"),
    ]
    first = ok(dialer, "GetCampaignsForMCDRequest", ANI="2025550143", CallType="INBOUND",
               LCMKey=MARIA)  # fmt: skip
    assert [e["AccountNumber"] for e in first["response"]] == [MARIA, DAVID]
    by_field = ok(dialer, "GetCampaignsForMCDRequest", ANI="2025550100", CallType="INBOUND",
                  BusinessFieldQueryToSearch="CustomerRef=DB-0001")  # fmt: skip
    assert by_field["response"] == [
        element(DAVID, "Home", "6491462346"),
        element(DAVID, "Office", "2025550143"),
    ]
    # The value is read through the field's type, as SetContactBusinessFields
    # stores it: the Number 120.5 is the stored "120.50".
    for query, found in [
        ("Balance=120.5", [DAVID, DAVID]),
        ("Balance= 120.50 ", [DAVID, DAVID]),
        ("Balance=120.51", []),
        ("Balance=abc", []),  # not a number: no Balance holds it
        ("Balance=", []),
        ("NoSuchField=120.50", []),
        ("customerref=DB-0001", []),  # a field's name is matched as spelt
    ]:
        answer = ok(dialer, "GetCampaignsForMCDRequest", ANI="2025550100", CallType="INBOUND",
                    BusinessFieldQueryToSearch=query)  # fmt: skip
        assert [e["AccountNumber"] for e in answer["response"]] == found, query


@pytest.mark.django_db
def test_inbound_lookup_refusals(agent_client):
    r = "GetCampaignsForMCDRequest"
    for data, field in [
        ({"CallType": "INBOUND"}, "ANI"),
        ({"ANI": True, "CallType": "INBOUND"}, "ANI"),
        ({"ANI": "abc", "CallType": "INBOUND"}, "ANI"),
        ({"ANI": 2025550143.5, "CallType": "INBOUND"}, "ANI"),  # a fraction: no number
        ({"ANI": 1e21, "CallType": "INBOUND"}, "ANI"),  # beyond the schema's 20 digits
        ({"ANI": "2025550143"}, "CallType"),
        ({"ANI": "2025550143", "CallType": "SIDEWAYS"}, "CallType"),
        ({"ANI": "2025550143", "CallType": "INBOUND", "BusinessFieldQueryToSearch": "x"},
         "BusinessFieldQueryToSearch"),
    ]:  # fmt: skip
        error = refused(agent_client, r, 400, "invalid_fields", **data)
        assert field in error["fields"], (data, error)
    Agent.objects.filter(agent_id="testagent").update(is_logged_in=False)
    Call.objects.filter(callid="12345").update(state=Call.State.ACTIVE)
    refused(agent_client, r, 409, "prerequisite_failed", ANI="2025550143", CallType="INBOUND")
    for reader in ("supervisor", "auditor"):
        assert send(client_for(reader), r, ANI="2025550143", CallType="INBOUND").status_code == 200


# --- section 8: SendAgentState ---------------------------------------------------


@pytest.mark.django_db
def test_send_agent_state_records_each_change_once(agent_client):
    entries = ModeChange.objects.count()
    message = ok(agent_client, "SendAgentState", agentID="testagent", agentState="ready")
    assert message == {"callid": None, "response": {"success": True}}
    agent = Agent.objects.get(agent_id="testagent")
    assert agent.state == "READY" and agent.state_changed_at is not None
    ok(agent_client, "SendAgentState", agentID="testagent", agentState="READY")  # the same
    assert ModeChange.objects.count() == entries + 1
    ok(agent_client, "SendAgentState", agentID="testagent", agentState="Talking")
    assert ModeChange.objects.count() == entries + 2
    first, second = ModeChange.objects.filter(action="agent_state").order_by("seq")
    assert first.details == {"agent": "testagent", "before": None, "after": "READY"}
    assert second.details == {"agent": "testagent", "before": "READY", "after": "TALKING"}
    assert second.account_id is None and second.agent_code == "testagent"
    assert Agent.objects.get(agent_id="testagent").state == "TALKING"
    assert_chain_intact()


@pytest.mark.django_db
def test_send_agent_state_refusals(agent_client):
    s = "SendAgentState"
    refused(agent_client, s, 400, "invalid_fields", agentID="testagent", agentState="LUNCH")
    refused(agent_client, s, 400, "invalid_fields", agentID="testagent", agentState=1)
    refused(agent_client, s, 400, "invalid_fields", agentState="READY")
    refused(agent_client, s, 403, "forbidden", agentID="otheragent", agentState="READY")
    refused(agent_client, s, 403, "forbidden", agentID="nobody", agentState="READY")
    refused(client_for("offagent"), s, 409, "prerequisite_failed", agentID="offagent",
            agentState="READY")  # fmt: skip
    for reader in ("supervisor", "auditor"):
        refused(client_for(reader), s, 403, "forbidden", agentID="testagent", agentState="WORK")
    dialer = client_for("dialer")
    refused(dialer, s, 404, "unknown_agent", agentID="nobody", agentState="READY")
    ok(dialer, s, agentID="otheragent", agentState="NOT_READY")
    assert Agent.objects.get(agent_id="otheragent").state == "NOT_READY"


def agents_page(client) -> dict[str, str]:
    """The console's agents list, each agent's row (its HTML) by AgentID."""
    import re

    from django.urls import reverse

    page = client.get(reverse("admin:lcm_agent_changelist"))
    assert page.status_code == 200
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page.content.decode(), re.S)
    return {
        agent: row
        for row in rows
        for agent in ("testagent", "otheragent", "offagent")
        if f">{agent}<" in row
    }


@pytest.mark.django_db
def test_the_dialers_logout_ends_the_agents_state(agent_client, client):
    """The agent's session ends through the dialer's intake (POST
    /api/lcm/agents/<AgentID>/logout/): the state SendAgentState recorded is
    cleared with the logout's time, one audit entry says so (`after` null),
    and the console's agents page no longer shows the agent as Ready."""
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    client.force_login(get_user_model().objects.get(username="supervisor"))
    ok(agent_client, "SendAgentState", agentID="testagent", agentState="READY")
    assert "Ready (since" in agents_page(client)["testagent"]
    entries = ModeChange.objects.count()

    dialer = client_for("dialer")
    logout_at = "2030-01-01T09:00:00Z"  # after the login, whenever the test runs
    reply = dialer.post("/api/lcm/agents/testagent/logout/", {"Time": logout_at}, format="json")
    assert reply.status_code == 200, reply.content
    assert reply.json()["LoggedIn"] is False

    agent = Agent.objects.get(agent_id="testagent")
    assert (agent.is_logged_in, agent.state) == (False, "")
    assert agent.state_changed_at == agent.logged_in_changed_at
    assert agent.state_changed_at.isoformat() == "2030-01-01T09:00:00+00:00"
    assert ModeChange.objects.count() == entries + 1
    ended = ModeChange.objects.latest("seq")
    assert (ended.action, ended.agent_code, ended.source) == ("agent_state", "testagent", "dialer")
    assert ended.details == {"agent": "testagent", "before": "READY", "after": None}
    assert ended.username == "dialer" and ended.account_id is None
    row = agents_page(client)["testagent"]
    assert "Ready" not in row and ">no<" in row
    shown = client.get(reverse("admin:lcm_modechange_change", args=[ended.pk]))
    assert "testagent: READY → — (logged out)" in shown.content.decode()
    listed, _ = audit_entries(client_for("auditor"))  # typed: after null
    assert listed[ended.seq]["details"]["after"] is None
    assert_chain_intact()

    # Logged out already: nothing more; logged in again, the state starts anew.
    again = dialer.post("/api/lcm/agents/testagent/logout/", {}, format="json")
    assert again.status_code == 200 and ModeChange.objects.count() == entries + 1
    login = dialer.post(
        "/api/lcm/agents/testagent/login/", {"Time": "2030-01-01T10:00:00Z"}, format="json"
    )
    assert login.status_code == 200, login.content
    assert Agent.objects.get(agent_id="testagent").state == ""
    assert "Ready" not in agents_page(client)["testagent"]
    ok(agent_client, "SendAgentState", agentID="testagent", agentState="WORK")
    latest = ModeChange.objects.latest("seq")
    assert latest.details == {"agent": "testagent", "before": None, "after": "WORK"}


@pytest.mark.django_db
def test_a_logout_without_a_state_and_the_consoles_logout(agent_client, client):
    """An agent that never sent a state logs out with no audit entry (the
    session event only); the console's "Log out…" (a logout that never
    arrived) ends the state as the dialer's does."""
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    entries = ModeChange.objects.count()
    dialer = client_for("dialer")
    assert dialer.post("/api/lcm/agents/otheragent/logout/", {}, format="json").status_code == 200
    assert Agent.objects.get(agent_id="otheragent").is_logged_in is False
    assert ModeChange.objects.count() == entries

    ok(agent_client, "SendAgentState", agentID="testagent", agentState="TALKING")
    client.force_login(get_user_model().objects.get(username="supervisor"))
    agent = Agent.objects.get(agent_id="testagent")
    assert "Talking (since" in agents_page(client)["testagent"]
    done = client.post(
        reverse("admin:lcm_agent_log_out", args=[agent.pk]), {"reason": "Went home"}, follow=True
    )
    assert done.status_code == 200
    agent.refresh_from_db()
    assert (agent.is_logged_in, agent.state) == (False, "")
    ended = ModeChange.objects.latest("seq")
    assert ended.details == {"agent": "testagent", "before": "TALKING", "after": None}
    assert (ended.username, ended.source) == ("supervisor", "console")
    assert "Talking" not in agents_page(client)["testagent"]
    assert_chain_intact()


# --- the console: business values on the account page, the state on the agents page


@pytest.mark.django_db
def test_the_console_shows_business_values_agent_states_and_their_entries(agent_client, client):
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    ok(agent_client, "SetContactBusinessFields", callid="12345", AccountNumber=DAVID,
       AgentID="testagent", businessField=items(("DueDate", "31/01/2027", "DateTime")))  # fmt: skip
    ok(agent_client, "SendAgentState", agentID="testagent", agentState="WORK")
    client.force_login(get_user_model().objects.get(username="supervisor"))
    david = Account.objects.get(account_number=DAVID)
    page = client.get(reverse("admin:lcm_account_change", args=[david.pk])).content.decode()
    section = page[page.index('id="business-fields"') : page.index('id="account-details"')]
    for shown in ("CustomerRef", "DB-0001", "Balance", "120.50", "DueDate", "31/01/2027",
                  "Email", "String", "(20)", "(0.00)", "DD/MM/YYYY"):  # fmt: skip
        assert shown in section, shown
    assert "Business fields" in page[page.index('id="history"') :]  # the entry, in the history
    agents = client.get(reverse("admin:lcm_agent_changelist")).content.decode()
    assert "Wrap-up work (since" in agents
    for action, words in [
        ("business_fields", "DueDate: — → 31/01/2027"),
        ("agent_state", "testagent: — → WORK"),
    ]:
        entry = ModeChange.objects.get(action=action)
        shown = client.get(reverse("admin:lcm_modechange_change", args=[entry.pk]))
        assert shown.status_code == 200
        assert words in shown.content.decode(), action
    state = ModeChange.objects.get(action="agent_state")
    assert str(state) == f"#{state.seq} agent testagent's state"  # not "do-not-call list"
    log = client.get(reverse("admin:lcm_modechange_changelist")).content.decode()
    assert log.count(">every account<") == 1  # the demo's list-wide block only


# --- the OpenAPI document's examples are these replies -----------------------------


@pytest.mark.django_db
def test_the_schema_examples_answer_as_shown(agent_client):
    from lcm.api import examples

    david = Account.objects.get(account_number=DAVID)
    schema = agent_client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/lcm/webservice/"]["post"]
    requests_shown = [
        e["value"]
        for e in operation["requestBody"]["content"]["application/json"]["examples"].values()
    ]
    replies_shown = [
        e["value"]
        for e in operation["responses"]["200"]["content"]["application/json"]["examples"].values()
    ]
    for request, reply in examples.AGENT_SERVICE_EXAMPLES.values():
        assert request in requests_shown and reply in replies_shown
        response = agent_client.post(WEBSERVICE, request, format="json")
        assert response.status_code == 200, response.content
        expected = reply
        if reply["subtopic"] == "SetCampaignsForMCDResponse":  # ContactID: the database's id
            element = {**reply["message"]["response"][0], "ContactID": david.pk}
            expected = {**reply, "message": {**reply["message"], "response": [element]}}
        assert response.json() == expected


@pytest.mark.django_db
def test_the_inbound_lookup_is_one_statement(demo):
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from lcm.actions import inbound

    dialer = get_user_model().objects.get(username="dialer")
    inbound.lookup(ani="2025550143", actor=dialer)  # the permission, read once and cached
    for ani in ("+1 202 555 0143", "2025550100"):
        with CaptureQueriesContext(connection) as ctx:
            inbound.lookup(ani=ani, actor=dialer)
        assert len(ctx.captured_queries) == 1, ctx.captured_queries
    # With a business field: its fields of that name (to read the value
    # through their types), then the one statement.
    with CaptureQueriesContext(connection) as ctx:
        inbound.lookup(ani="2025550100", actor=dialer, business_field=("Balance", "120.5"))
    assert len(ctx.captured_queries) == 2, ctx.captured_queries
