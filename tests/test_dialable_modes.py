"""A mode is a dialable channel (dialable-modes.md sections 1 and 2), by every door.

- Number identity: a listed number cannot be slipped in by formatting, a
  `+`, a country code or (with a region known) a trunk prefix — through the
  API, the console and the import alike.
- Live do-not-call status: listing a number flags every live mode holding
  it, on any account, at once; an expired entry stops counting.
- Consent with provenance, time zones and calling windows, GetContactModes'
  full element at fixed clock times.
"""

from __future__ import annotations

import datetime as dt
from html import unescape

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from lcm import dialable, errors
from lcm.actions import do_not_call, supervisor
from lcm.models import Account, Call, CallEvent, ContactMode, ModeChange

from .conftest import DEMO_PASSWORD, client_for, envelope, live_modes, set_mode_body, snapshot
from .factories import AgentFactory, CallFactory
from .test_import_accounts import run

pytestmark = pytest.mark.django_db

DAVID = "5|3|1|0|0|44|1"  # Country US, TimeZone America/New_York, ZIP 20500
MARIA = "596|485|587|0|0|44|59"  # Country US
LISTED = "2025550199"  # the demo's do-not-call number, listed with no region
# Every way a person may type the listed number.
SPELLINGS = ["2025550199", "202-555-0199", "(202) 555 0199", "+12025550199",
             "+1 202 555 0199", "12025550199", "1-202-555-0199"]  # fmt: skip


def supervisor_user():
    return get_user_model().objects.get(username="supervisor")


def get_modes(client, account=DAVID, callid="12345"):
    response = client.post(
        "/api/lcm/webservice/",
        envelope("GetContactModes", callid=callid, AccountNumber=account),
        format="json",
    )
    assert response.status_code == 200, response.content
    return {m["ModeID"]: m for m in response.json()["message"]["response"]["Contactmodes"]}


# --- Number identity, by every door ------------------------------------------------


@pytest.mark.parametrize("region", ["", "US"])
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_the_api_refuses_every_spelling_of_a_listed_number(agent_client, settings, region,
                                                           spelling):  # fmt: skip
    settings.LCM_DEFAULT_REGION = region
    before = snapshot()

    response = agent_client.post(
        "/api/lcm/webservice/", set_mode_body(ContactNumber=spelling), format="json"
    )

    assert response.status_code == 409, response.content
    assert response.json()["message"]["error"]["code"] == "do_not_call"
    assert snapshot() == before


@pytest.mark.parametrize("region", ["", "US"])
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_the_console_refuses_every_spelling_of_a_listed_number(demo, client, settings, region,
                                                               spelling):  # fmt: skip
    settings.LCM_DEFAULT_REGION = region
    client.login(username="supervisor", password=DEMO_PASSWORD)
    account = Account.objects.get(account_number=DAVID)
    before = snapshot()

    response = client.post(
        reverse("admin:lcm_account_set_number", args=[account.pk]),
        {"mode_type": 3, "number": spelling, "expected_seq": supervisor.latest_seq(account)},
    )

    assert response.status_code == 200
    assert "is on the do-not-call list" in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize("region", ["", "US"])
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_the_import_rejects_every_spelling_of_a_listed_number(demo, tmp_path, settings, region,
                                                              spelling):  # fmt: skip
    settings.LCM_DEFAULT_REGION = region
    before = snapshot(), Account.objects.count()

    status, _, err = run(tmp_path, f'AccountNumber,Mobile\n8|8|8,"{spelling}"\n')

    assert status == 2
    assert "is on the do-not-call list" in err
    assert (snapshot(), Account.objects.count()) == before


def test_with_a_region_a_trunk_prefix_cannot_slip_a_listed_number_in(agent_client, demo):
    """A London number listed in international form, typed the British way
    on an account in GB: the same number once the country is known."""
    do_not_call.add_number(number="+44 20 7946 0018", actor=supervisor_user())
    Account.objects.filter(account_number=DAVID).update(country="GB")

    response = agent_client.post(
        "/api/lcm/webservice/", set_mode_body(ContactNumber="020 7946 0018"), format="json"
    )

    assert response.status_code == 409
    assert response.json()["message"]["error"]["errorMessage"] == (
        "Number 02079460018 is on the do-not-call list (as +442079460018)."
    )


def test_the_same_national_number_in_another_known_country_is_not_blocked(agent_client, demo):
    """Both countries known: only equal E.164 forms are the same number."""
    do_not_call.add_number(number="+44 20 7946 0018", actor=supervisor_user())

    response = agent_client.post(
        "/api/lcm/webservice/", set_mode_body(ContactNumber="+1 207 946 0018"), format="json"
    )

    assert response.status_code == 200


def test_the_spec_sample_keeps_its_answer_with_no_region(agent_client):
    response = agent_client.post("/api/lcm/webservice/", set_mode_body(), format="json")

    assert response.status_code == 200
    assert live_modes(DAVID)[1] == "961084836"
    assert ContactMode.objects.get(number="961084836").number_e164 == ""  # country unknown


def test_the_do_not_call_list_stores_the_identity_and_refuses_a_second_spelling(demo):
    entry, _ = do_not_call.add_number(number="+1 (206) 555-0100", actor=supervisor_user())

    assert (entry.number, entry.number_e164, entry.number_national) == (
        "+12065550100",
        "+12065550100",
        "2065550100",
    )
    with pytest.raises(errors.AlreadyListed, match=r"as \+12065550100"):
        do_not_call.add_number(number="206 555 0100", actor=supervisor_user())


# --- Live do-not-call status ----------------------------------------------------------


@time_machine.travel("2026-11-30T15:00:00Z", tick=False)
def test_listing_a_number_flags_every_live_mode_holding_it_on_any_account(demo, agent_client):
    # The same number on two accounts, typed two ways.
    CallFactory(callid="c-maria", account=Account.objects.get(account_number=MARIA),
                agent=AgentFactory(agent_id="maria-agent"))  # fmt: skip
    supervisor.set_mode_number_as_supervisor(
        account_id=Account.objects.get(account_number=MARIA).pk, mode_id=3,
        contact_number="+1 202 555 0177", delete_other_modes=False,
        actor=supervisor_user(), expected_seq=None,
    )  # fmt: skip
    agent_client.post(
        "/api/lcm/webservice/",
        set_mode_body(ModeID=3, ContactNumber="202.555.0177"),
        format="json",
    )
    assert get_modes(agent_client)[3]["DNC"] is False

    _, summary = do_not_call.add_number(number="(202) 555-0177", actor=supervisor_user())

    assert summary == (
        "2025550177 is on the do-not-call list. It blocks 2 live modes on 2 accounts, "
        "now shown as do-not-call."
    )
    mode = get_modes(agent_client)[3]
    assert (mode["DNC"], mode["Callable"]) == (True, False)
    dialer = client_for("dialer")
    assert get_modes(dialer, MARIA, callid="")[3]["DNC"] is True


def test_an_expired_block_stops_counting(demo, agent_client):
    with time_machine.travel("2026-11-30T15:00:00Z", tick=False):
        do_not_call.add_number(
            number="2025550143",
            expires_at=timezone.now() + dt.timedelta(days=1),
            actor=supervisor_user(),
        )
        assert get_modes(agent_client)[2]["DNC"] is True
        refused = agent_client.post(
            "/api/lcm/webservice/", set_mode_body(ContactNumber="2025550143"), format="json"
        )
        assert refused.status_code == 409

    with time_machine.travel("2026-12-01T15:00:01Z", tick=False):
        assert get_modes(agent_client)[2]["DNC"] is False
        allowed = agent_client.post(
            "/api/lcm/webservice/", set_mode_body(ContactNumber="2025550143"), format="json"
        )
        assert allowed.status_code == 200


def test_the_console_tells_the_supervisor_how_many_live_modes_a_block_affects(demo, client):
    client.login(username="supervisor", password=DEMO_PASSWORD)

    response = client.post(
        reverse("admin:lcm_donotcallnumber_add"),
        {"number": "+1 202 555 0143", "reason": "asked", "expires_at_0": "", "expires_at_1": ""},
        follow=True,
    )

    assert response.status_code == 200
    assert (
        "(202) 555-0143 is on the do-not-call list. It blocks 1 live mode on 1 account, "
        "now shown as do-not-call." in response.content.decode()
    )
    again = client.post(
        reverse("admin:lcm_donotcallnumber_add"),
        {"number": "202-555-0143", "reason": "", "expires_at_0": "", "expires_at_1": ""},
    )
    # Typed without a country, listed with one: both written the console's way.
    assert "2025550143 is already on the do-not-call list (as (202) 555-0143)." in unescape(
        again.content.decode()
    )


# --- Time zones, windows and Callable at fixed clock times -------------------------------


def _set(number, mode_id=3, account=DAVID):
    return supervisor.set_mode_number_as_supervisor(
        account_id=Account.objects.get(account_number=account).pk,
        mode_id=mode_id,
        contact_number=number,
        delete_other_modes=False,
        actor=supervisor_user(),
        expected_seq=None,
    )


@pytest.mark.parametrize(
    ("instant", "callable_"),
    [
        ("2026-11-30T15:59:59Z", False),  # 07:59:59 in Seattle, 10:59 in New York
        ("2026-11-30T16:00:00Z", True),  # 08:00 in Seattle: the window opens
        ("2026-12-01T04:59:59Z", True),  # 20:59:59 in Seattle
        ("2026-12-01T05:00:00Z", False),  # 21:00 in Seattle: closed (end excluded)
    ],
)
def test_a_number_in_another_zone_is_callable_in_its_own_window(agent_client, instant,
                                                                callable_):  # fmt: skip
    _set("+1 206 555 0100")  # Seattle, on David's account in New York

    with time_machine.travel(instant, tick=False):
        mode = get_modes(agent_client)[3]

    assert mode["TimeZone"] == "America/Los_Angeles"
    assert (mode["ModeDialingStartTime"], mode["ModeDialingEndTime"]) == ("08:00", "21:00")
    assert mode["AreaCode"] == "206"
    assert mode["Callable"] is callable_


@time_machine.travel("2026-11-30T18:30:00Z", tick=False)  # 09:30 Anchorage, 08:30 Adak
def test_a_multi_zone_number_is_callable_only_where_every_zone_allows(agent_client):
    _set("+1 907 555 0100")  # Alaska: Anchorage and Adak

    mode = get_modes(agent_client)[3]

    assert (mode["TimeZone"], mode["TimeZone1"]) == ("America/Anchorage", "America/Adak")
    # The strictest overlap, in Anchorage time: Adak is an hour behind.
    assert (mode["ModeDialingStartTime"], mode["ModeDialingEndTime"]) == ("09:00", "21:00")
    assert mode["Callable"] is True
    with time_machine.travel("2026-11-30T17:30:00Z", tick=False):  # 08:30 Anchorage, 07:30 Adak
        assert get_modes(agent_client)[3]["Callable"] is False


@time_machine.travel("2026-11-30T15:00:00Z", tick=False)
def test_an_unknown_zone_is_never_callable_and_never_silently_utc(agent_client, settings):
    Account.objects.filter(account_number=DAVID).update(country="", time_zone="", zip_code="")
    _set("961084836")  # no country: no zone from the number

    mode = get_modes(agent_client)[3]

    assert (mode["TimeZone"], mode["Callable"]) == ("", False)
    settings.LCM_DEFAULT_TIME_ZONE = "Europe/Madrid"  # 16:00 there
    mode = get_modes(agent_client)[3]
    assert (mode["TimeZone"], mode["Callable"]) == ("Europe/Madrid", True)


@time_machine.travel("2026-11-30T15:00:00Z", tick=False)
def test_a_zip_code_then_the_country_tell_the_zone_when_the_number_does_not(agent_client):
    Account.objects.filter(account_number=DAVID).update(time_zone="", zip_code="98101")
    _set("961084836")

    assert get_modes(agent_client)[3]["TimeZone"] == "America/Los_Angeles"  # Seattle's ZIP
    Account.objects.filter(account_number=DAVID).update(zip_code="", country="ES")
    assert get_modes(agent_client)[3]["TimeZone"] == "Europe/Madrid"


# --- Consent and per-mode settings ----------------------------------------------------


def test_a_supervisor_grants_consent_and_overrides_the_window_audited(demo):
    account = Account.objects.get(account_number=DAVID)
    with time_machine.travel("2026-11-30T15:00:00Z", tick=False):
        entry = supervisor.change_mode_settings(
            account_id=account.pk,
            mode_id=2,
            consent=True,
            time_zone="America/Chicago",
            window=(dt.time(9), dt.time(17)),
            actor=supervisor_user(),
            expected_seq=supervisor.latest_seq(account),
        )

    mode = ContactMode.objects.get(account=account, mode_type_id=2, deleted_at=None)
    assert (mode.has_consent, mode.consent_source, mode.consent_by) == (
        True,
        "supervisor",
        "supervisor",
    )
    assert (entry.action, entry.old_number, entry.new_number) == (
        "settings",
        "2025550143",
        "2025550143",
    )
    [touched] = entry.modes
    assert touched["before"]["pewc"] is False
    assert touched["after"] == {
        "number": "2025550143",
        "e164": "+12025550143",
        "pewc": True,
        "pewc_source": "supervisor",
        "pewc_by": "supervisor",
        "pewc_at": "2026-11-30T15:00:00.000000Z",
        "time_zone": "America/Chicago",
        "window": ["09:00", "17:00"],
    }


def test_a_changed_number_starts_without_consent_or_overrides(demo, agent_client):
    account = Account.objects.get(account_number=DAVID)
    supervisor.change_mode_settings(
        account_id=account.pk, mode_id=1, consent=True, time_zone="America/Chicago",
        window=(dt.time(9), dt.time(17)), actor=supervisor_user(), expected_seq=None,
    )  # fmt: skip

    agent_client.post("/api/lcm/webservice/", set_mode_body(ContactNumber="+1 202 555 0188"),
                      format="json")  # fmt: skip

    mode = ContactMode.objects.get(account=account, mode_type_id=1, deleted_at=None)
    assert (mode.has_consent, mode.time_zone, mode.window_start) == (False, "", None)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone", dialable.TIME_ZONE_UNKNOWN.format(
            name="Mars/Olympus")),
        ({"window_start": "18:00", "window_end": "09:00"}, "window_end",
         dialable.WINDOW_ORDER.format(start="18:00", end="09:00")),
        ({"window_start": "09:00"}, "window_end", "Give both ends of the window, or neither."),
    ],
)  # fmt: skip
def test_bad_mode_settings_are_refused_next_to_their_field(demo, client, fields, field, message):
    client.login(username="supervisor", password=DEMO_PASSWORD)
    account = Account.objects.get(account_number=DAVID)
    before = snapshot()

    response = client.post(
        reverse("admin:lcm_account_mode_settings", args=[account.pk, 2]),
        {"expected_seq": supervisor.latest_seq(account), **fields},
    )

    assert response.status_code == 200
    assert message in response.context["form"].errors[field]
    assert snapshot() == before


def test_the_import_grants_consent_with_its_source_and_refuses_a_bad_value(demo, tmp_path):
    status, _, err = run(
        tmp_path,
        "AccountNumber,Country,TimeZone,Home,Home PEWC\n"
        "8|8|1,US,America/Chicago,2025550101,yes\n"
        "8|8|2,US,,2025550102,maybe\n"
        "8|8|3,XX,Mars/Olympus,2025550103,\n",
    )

    assert status == 1
    mode = ContactMode.objects.get(account__account_number="8|8|1", deleted_at=None)
    assert (mode.has_consent, mode.consent_source, mode.number_e164) == (
        True,
        "import",
        "+12025550101",
    )
    assert "Home PEWC: 'maybe' is not a consent value" in err
    assert "Country:" in err and "TimeZone:" in err
    assert not Account.objects.filter(account_number__in=["8|8|2", "8|8|3"]).exists()


# --- Who changed a call ------------------------------------------------------------------


def test_every_state_change_of_a_call_records_who_made_it(demo):
    dialer = client_for("dialer")
    call = {"callid": "30001", "AccountNumber": DAVID, "AgentID": "testagent",
            "StartTime": "2026-11-30T09:00:00Z"}  # fmt: skip
    dialer.post("/api/lcm/calls/", call, format="json")
    dialer.post("/api/lcm/calls/30001/wrapup/")
    dialer.post("/api/lcm/calls/30001/end/")

    events = CallEvent.objects.filter(call__callid="30001").order_by("pk")
    assert [(e.event, e.username) for e in events] == [
        ("registered", "dialer"),
        ("wrapup", "dialer"),
        ("ended", "dialer"),
    ]
    assert Call.objects.get(callid="30001").state == "ended"


def test_an_audit_entry_records_every_mode_it_touched_before_and_after(agent_client):
    agent_client.post("/api/lcm/webservice/", set_mode_body(DeleteOtherModes=True), format="json")

    entry = ModeChange.objects.latest("seq")
    assert [(m["mode_id"], (m["before"] or {}).get("number"), (m["after"] or {}).get("number"))
            for m in entry.modes] == [(1, "6491462346", "961084836"),
                                      (2, "2025550143", None)]  # fmt: skip


def test_the_audit_entry_page_shows_each_mode_before_and_after(demo, client):
    account = Account.objects.get(account_number=DAVID)
    entry = supervisor.change_mode_settings(
        account_id=account.pk, mode_id=2, consent=True, time_zone="America/Chicago",
        window=(dt.time(9), dt.time(17)), actor=supervisor_user(), expected_seq=None,
    )  # fmt: skip
    client.login(username="auditor", password=DEMO_PASSWORD)

    page = client.get(reverse("admin:lcm_modechange_change", args=[entry.pk])).content.decode()

    assert (
        "<tr><td>2</td><td>(202) 555-0143</td>"
        "<td>(202) 555-0143, consent (supervisor supervisor), America/Chicago, 09:00-17:00"
        "</td></tr>"
    ) in page


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"time_zone": "America/Nowhere"}, "time_zone",
         dialable.TIME_ZONE_UNKNOWN.format(name="America/Nowhere")),
        ({"country": "XX"}, "country",
         "'XX' is not a country code phonenumbers knows (use ISO 3166, e.g. US, ES)."),
    ],
)  # fmt: skip
def test_an_account_with_a_bad_zone_or_country_is_refused_in_the_console(demo, client, fields,
                                                                       field, message):  # fmt: skip
    client.login(username="supervisor", password=DEMO_PASSWORD)
    account = Account.objects.get(account_number=DAVID)
    before = list(Account.objects.values())

    response = client.post(
        reverse("admin:lcm_account_change", args=[account.pk]),
        {"first_name": "David", "last_name": "Berry", "campaign": "Spring", "country": "US",
         "time_zone": "", "zip_code": "", **fields},
    )  # fmt: skip

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [message]
    assert list(Account.objects.values()) == before
