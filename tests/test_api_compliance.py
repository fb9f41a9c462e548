"""ComplianceCheck (campaign-services.md section 5) through the real HTTP
stack, on the demo data, on both databases, with a frozen clock: green zone
(the kernel's callable rule), state law by day and hour, voicemail,
do-not-call, per-contact errors, request errors, and the query count that
does not grow with the contacts."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lcm.models import Agent, Campaign, ModeChange, StateLaw, StateLawBarredDate
from lcm.numbers import identify

from .conftest import WEBSERVICE, client_for, envelope
from .factories import AccountFactory, ContactModeFactory

DAVID = "5|3|1|0|0|44|1"  # ZIP 20500 (DC); mode 2 2025550143
MARIA = "596|485|587|0|0|44|59"  # no ZIP; mode 1 2025550111 (Washington D.C.)
TUESDAY_10_NY = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)
SUNDAY = dt.date(2026, 12, 6)


def at(day: dt.date, hour: int, minute: int = 0, zone: str = "America/Chicago") -> dt.datetime:
    import zoneinfo

    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zoneinfo.ZoneInfo(zone))


def body(contacts, **overrides):
    data = {
        "campaignname": "Spring",
        "greenzonecheck": True,
        "statelawcheck": True,
        "voicemailcheck": True,
        "contacts": contacts,
    }
    data.update(overrides)
    return envelope("ComplianceCheck", **{k: v for k, v in data.items() if v is not ...})


def check(client, contacts, **overrides):
    response = client.post(WEBSERVICE, body(contacts, **overrides), format="json")
    assert response.status_code == 200, response.content
    reply = response.json()
    assert reply["subtopic"] == "ComplianceCheckResult"
    assert reply["message"]["response"]["success"] is True
    return reply["message"]["response"]["contacts"]


def error_of(response, status, code):
    assert response.status_code == status, response.content
    error = response.json()["message"]["error"]
    assert error["code"] == code, error
    return error


@pytest.fixture
def dialer(demo):
    return client_for("dialer")


def texan(number="2145550100", **account):
    """A Spring contact in Dallas (by the number's geography: no ZIP)."""
    clean = identify(number, region="US")  # as the kernel stores it for a US account
    mode = ContactModeFactory(
        account=AccountFactory(campaign="Spring", country="US", **account),
        mode_type_id=2,
        number=clean.number,
        number_e164=clean.e164,
        number_national=clean.national,
    )
    return mode.account.account_number


# --- The reply on the demo data ------------------------------------------------------


@pytest.mark.django_db
def test_the_specs_sample_on_the_demo(dialer):
    entries = ModeChange.objects.count()
    with time_machine.travel(TUESDAY_10_NY, tick=False):
        [result] = check(
            dialer, [{"requestid": "r1", "lcmkey": DAVID, "uniqueid1": "u-1", "ModeID": 2}]
        )
    assert result == {
        "requestid": "r1",
        "lcmkey": DAVID,
        "uniqueid1": "u-1",
        "ModeID": 2,
        "CValue": "2025550143",
        "TimeZone": "America/New_York",
        "TimeZone1": "",
        "TimeZone2": "",
        "TimeZone3": "",
        "ModeDialingStartTime": "08:00",
        "ModeDialingEndTime": "21:00",
        "State": "DC",
        "greenzone": True,
        "statelaw": True,
        "voicemail": True,
        "DNC": False,
        "compliant": True,
        "reasons": [],
    }
    assert ModeChange.objects.count() == entries  # a read: not audited


@pytest.mark.django_db
def test_the_lowest_live_mode_by_default_and_the_state_by_the_numbers_geography(dialer):
    with time_machine.travel(TUESDAY_10_NY, tick=False):
        maria, david = check(
            dialer, [{"requestid": "m", "lcmkey": MARIA}, {"requestid": "d", "lcmkey": DAVID}]
        )
    assert (maria["requestid"], maria["ModeID"], maria["CValue"], maria["State"]) == (
        "m",
        1,
        "2025550111",
        "DC",
    )
    assert (david["requestid"], david["ModeID"]) == ("d", 1)  # David's lowest live mode
    assert "uniqueid1" not in maria


@pytest.mark.django_db
def test_a_check_not_asked_for_is_null_and_does_not_count(dialer):
    with time_machine.travel(at(SUNDAY, 22), tick=False):  # outside every window
        [result] = check(
            dialer,
            [{"requestid": "r", "lcmkey": texan()}],
            greenzonecheck=False,
            statelawcheck=False,
            voicemailcheck=False,
        )
    assert (result["greenzone"], result["statelaw"], result["voicemail"]) == (None, None, None)
    assert (result["compliant"], result["reasons"], result["DNC"]) == (True, [], False)


# --- Green zone ----------------------------------------------------------------------


@pytest.mark.django_db
def test_green_zone_is_the_kernels_window_start_included_end_excluded(dialer):
    key = texan()
    for moment, green in [
        (at(dt.date(2026, 12, 1), 7, 59), False),
        (at(dt.date(2026, 12, 1), 8, 0), True),
        (at(dt.date(2026, 12, 1), 20, 59), True),
        (at(dt.date(2026, 12, 1), 21, 0), False),
    ]:
        with time_machine.travel(moment, tick=False):
            [result] = check(dialer, [{"requestid": "r", "lcmkey": key}], statelawcheck=False,
                             voicemailcheck=False)  # fmt: skip
        assert result["greenzone"] is green, moment
        assert result["reasons"] == ([] if green else ["outside_window"])
        assert (result["TimeZone"], result["ModeDialingStartTime"]) == ("America/Chicago", "08:00")


@pytest.mark.django_db
def test_green_zone_is_the_strictest_overlap_of_the_candidate_zones(dialer):
    # A mode whose number spans zones (+1 605: South Dakota, Central and Mountain).
    key = texan(number="6055550100")
    with time_machine.travel(at(dt.date(2026, 12, 1), 20, 30), tick=False):  # 19:30 in Denver
        [result] = check(dialer, [{"requestid": "r", "lcmkey": key}], statelawcheck=False,
                         voicemailcheck=False)  # fmt: skip
    assert result["TimeZone1"] != ""  # more than one candidate zone
    assert result["greenzone"] is True
    assert (result["ModeDialingStartTime"], result["ModeDialingEndTime"]) == ("09:00", "21:00")
    with time_machine.travel(at(dt.date(2026, 12, 1), 8, 30), tick=False):  # 07:30 in Denver
        [result] = check(dialer, [{"requestid": "r", "lcmkey": key}], statelawcheck=False,
                         voicemailcheck=False)  # fmt: skip
    assert result["greenzone"] is False and result["reasons"] == ["outside_window"]


# --- State law -----------------------------------------------------------------------


@pytest.mark.django_db
def test_texas_days_and_hours(dialer):
    key = texan()
    cases = [
        (at(SUNDAY, 11, 59), False),  # Sunday from 12:00
        (at(SUNDAY, 12, 0), True),
        (at(SUNDAY - dt.timedelta(days=1), 8, 30), False),  # Saturday from 09:00
        (at(SUNDAY - dt.timedelta(days=1), 9, 0), True),
        (at(SUNDAY - dt.timedelta(days=1), 20, 59), True),
    ]
    for moment, allowed in cases:
        with time_machine.travel(moment, tick=False):
            [result] = check(dialer, [{"requestid": "r", "lcmkey": key}])
        assert result["State"] == "TX"
        assert result["statelaw"] is allowed, moment
        assert result["greenzone"] is True  # 08:00-21:00 holds in every case
        assert result["voicemail"] is allowed  # voicemail needs state law
        expected = [] if allowed else ["state_law", "voicemail_not_allowed"]
        assert (result["compliant"], result["reasons"]) == (allowed, expected)


@pytest.mark.django_db
def test_oklahoma_has_no_sunday_and_a_state_without_a_row_has_no_rule(dialer):
    okie = texan(number="4055550100")  # Oklahoma City
    dc = texan(number="2025550177")
    with time_machine.travel(at(SUNDAY, 14), tick=False):
        oklahoma, washington = check(
            dialer, [{"requestid": "ok", "lcmkey": okie}, {"requestid": "dc", "lcmkey": dc}]
        )
    assert (oklahoma["State"], oklahoma["statelaw"]) == ("OK", False)
    assert (washington["State"], washington["statelaw"]) == ("DC", True)
    with time_machine.travel(at(SUNDAY + dt.timedelta(days=1), 14), tick=False):  # Monday
        [oklahoma] = check(dialer, [{"requestid": "ok", "lcmkey": okie}])
    assert oklahoma["statelaw"] is True


@pytest.mark.django_db
def test_the_zip_code_names_the_state_before_the_number(dialer):
    key = texan(zip_code="33101")  # a Miami ZIP, a Dallas number
    with time_machine.travel(at(dt.date(2026, 12, 1), 19, 30, "America/New_York"), tick=False):
        [result] = check(dialer, [{"requestid": "r", "lcmkey": key}])
    # Florida's 08:00-20:00 in the callee's zones: Dallas' 18:30 holds, the ZIP's state rules.
    assert result["State"] == "FL"
    assert result["statelaw"] is True


@pytest.mark.django_db
def test_a_barred_date_and_a_row_without_voicemail(dialer):
    key = texan(number="3055550100")  # Miami
    florida = StateLaw.objects.get(state="FL")
    moment = at(dt.date(2026, 12, 1), 10, 0, "America/New_York")
    StateLawBarredDate.objects.create(state_law=florida, date=moment.date(), note="storm")
    with time_machine.travel(moment, tick=False):
        [result] = check(dialer, [{"requestid": "r", "lcmkey": key}])
    assert (result["State"], result["statelaw"], result["reasons"]) == (
        "FL",
        False,
        ["state_law", "voicemail_not_allowed"],
    )
    StateLawBarredDate.objects.all().delete()
    StateLaw.objects.filter(state="FL").update(voicemail_allowed=False)
    with time_machine.travel(moment, tick=False):
        [result] = check(dialer, [{"requestid": "r", "lcmkey": key}])
    assert (result["statelaw"], result["voicemail"], result["reasons"]) == (
        True,
        False,
        ["voicemail_not_allowed"],
    )


@pytest.mark.django_db
def test_voicemail_needs_the_campaign_mode_to_allow_it(dialer):
    Campaign.objects.get(code="Spring").modes.filter(mode_type_id=2).update(voicemail=False)
    with time_machine.travel(TUESDAY_10_NY, tick=False):
        [result] = check(dialer, [{"requestid": "r", "lcmkey": DAVID, "ModeID": 2}])
    assert (result["statelaw"], result["voicemail"]) == (True, False)


# --- Do-not-call ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_number_on_the_list_is_not_compliant(dialer):
    key = texan(number="(202) 555-0199")  # the demo's listed number, another spelling
    with time_machine.travel(TUESDAY_10_NY, tick=False):
        [result] = check(dialer, [{"requestid": "r", "lcmkey": key}])
    assert (result["DNC"], result["compliant"], result["reasons"]) == (
        True,
        False,
        ["do_not_call"],
    )


# --- Contacts not judged, and request errors -------------------------------------------


@pytest.mark.django_db
def test_contacts_not_judged_answer_with_their_error_in_order(dialer):
    elsewhere = AccountFactory(campaign="Autumn")
    ContactModeFactory(account=elsewhere, mode_type_id=1)
    empty = AccountFactory(campaign="Spring")
    with time_machine.travel(TUESDAY_10_NY, tick=False):
        results = check(
            dialer,
            [
                {"requestid": "a", "lcmkey": "1|2|3", "uniqueid2": "x"},
                {"requestid": "b", "lcmkey": elsewhere.account_number},
                {"requestid": "c", "lcmkey": empty.account_number},
                {"requestid": "d", "lcmkey": DAVID, "ModeID": 3},
                {"requestid": "e", "lcmkey": DAVID, "ModeID": 2},
            ],
        )
    assert [r["requestid"] for r in results] == ["a", "b", "c", "d", "e"]
    assert [r.get("error", {}).get("code") for r in results] == [
        "unknown_account",
        "other_campaign",
        "no_live_mode",
        "unknown_mode",
        None,
    ]
    first = results[0]
    assert first["error"]["msg"] == "Unknown lcmkey: 1|2|3"
    assert first["uniqueid2"] == "x"
    for result in results[:4]:
        assert result["compliant"] is False
        assert (result["greenzone"], result["statelaw"], result["voicemail"]) == (None,) * 3
    assert results[4]["compliant"] is True


@pytest.mark.django_db
def test_an_agent_checks_its_own_calls_contacts_only(demo):
    agent = client_for("testagent")  # logged in; its calls are on David
    with time_machine.travel(TUESDAY_10_NY, tick=False):
        david, maria = check(
            agent, [{"requestid": "d", "lcmkey": DAVID}, {"requestid": "m", "lcmkey": MARIA}]
        )
    assert "error" not in david
    assert maria["error"]["code"] == "forbidden" and maria["compliant"] is False
    # Logged out, with no active call: the vendor's pre-requisite.
    error = error_of(
        client_for("offagent").post(WEBSERVICE, body([{"requestid": "d", "lcmkey": DAVID}]),
                                    format="json"),
        409,
        "prerequisite_failed",
    )  # fmt: skip
    assert error["msg"] == "The agent must be on an active call or logged in."
    Agent.objects.filter(agent_id="testagent").update(is_logged_in=False)  # on call 12345 still
    assert check(agent, [{"requestid": "d", "lcmkey": DAVID}])[0]["requestid"] == "d"


@pytest.mark.django_db
def test_a_campaign_by_its_name(dialer):
    Campaign.objects.filter(code="Spring").update(name="Spring sale")
    with time_machine.travel(TUESDAY_10_NY, tick=False):
        [result] = check(dialer, [{"requestid": "r", "lcmkey": DAVID}], campaignname="Spring sale")
    assert "error" not in result
    error = error_of(
        dialer.post(WEBSERVICE, body([{"requestid": "r", "lcmkey": DAVID}],
                                     campaignname="Winter"), format="json"),
        404,
        "unknown_campaign",
    )  # fmt: skip
    assert error["errorMessage"] == "Unknown campaign: Winter"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"statelawcheck": False}, "voicemailcheck"),  # voicemail without state law
        ({"greenzonecheck": "yes"}, "greenzonecheck"),
        ({"greenzonecheck": ...}, "greenzonecheck"),
        ({"campaignname": 7}, "campaignname"),
        ({"contacts": []}, "contacts"),
        ({"contacts": [{"requestid": str(n), "lcmkey": DAVID} for n in range(101)]}, "contacts"),
        ({"contacts": {"requestid": "r"}}, "contacts"),
        ({"contacts": ["r"]}, "contacts[0]"),
        ({"contacts": [{"requestid": "r"}]}, "contacts[0].lcmkey"),
        ({"contacts": [{"requestid": 1, "lcmkey": DAVID}]}, "contacts[0].requestid"),
        ({"contacts": [{"requestid": "r", "lcmkey": DAVID, "ModeID": 0}]}, "contacts[0].ModeID"),
        ({"contacts": [{"requestid": "r", "lcmkey": DAVID, "uniqueid1": 5}]},
         "contacts[0].uniqueid1"),
    ],
)  # fmt: skip
@pytest.mark.django_db
def test_bad_requests_are_400_naming_the_field(dialer, overrides, field):
    contacts = overrides.pop("contacts", [{"requestid": "r", "lcmkey": DAVID}])
    response = dialer.post(WEBSERVICE, body(contacts, **overrides), format="json")
    error = error_of(response, 400, "invalid_fields")
    assert field in error["fields"], error
    assert response.json()["subtopic"] == "ComplianceCheckResult"


# --- Batch reads -----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_queries_do_not_grow_with_the_contacts(dialer):
    StateLawBarredDate.objects.create(
        state_law=StateLaw.objects.get(state="TX"), date=dt.date(2026, 12, 25)
    )
    keys = [texan(number=f"21455501{n:02d}") for n in range(99)]
    contacts = [{"requestid": f"r{n}", "lcmkey": key} for n, key in enumerate([DAVID, *keys])]

    def queries(sent):
        with (
            time_machine.travel(TUESDAY_10_NY, tick=False),
            CaptureQueriesContext(connection) as captured,
        ):
            results = check(dialer, sent)
        assert len(results) == len(sent)
        return len(captured.captured_queries), results

    one, _ = queries(contacts[:2])
    hundred, results = queries(contacts)
    assert hundred == one
    # The token and the caller's permissions (3), then one each: the campaign, its
    # rules, the accounts, their live modes, the do-not-call entries, the state rows,
    # their barred dates.
    assert hundred == 10, hundred
    assert {r["State"] for r in results} == {"DC", "TX"}


@pytest.mark.django_db
def test_a_repeated_requestid_is_refused_naming_the_later_contact(dialer):
    contacts = [{"requestid": "r", "lcmkey": DAVID}, {"requestid": "r", "lcmkey": MARIA}]
    error = error_of(dialer.post(WEBSERVICE, body(contacts), format="json"), 400,
                     "repeated_requestid")  # fmt: skip
    assert list(error["fields"]) == ["contacts[1].requestid"]


@pytest.mark.django_db
def test_the_openapi_example_is_the_demos_reply(dialer):
    from lcm.api import compliance as api

    with time_machine.travel(TUESDAY_10_NY, tick=False):
        reply = dialer.post(WEBSERVICE, api.COMPLIANCE_CHECK, format="json")
    assert reply.json() == api.COMPLIANCE_CHECK_RESULT
