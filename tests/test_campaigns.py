"""Campaigns as records (spec campaign-services.md section 1): the migration
from strings there and back, the kernel asking the campaign (enabled modes,
window, consent), the demo data, and the console's audited saves."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.db.migrations.exceptions import IrreversibleError

from lcm.actions import campaigns
from lcm.models import (
    Account,
    BusinessFieldValue,
    Campaign,
    CampaignMode,
    ContactMode,
    ModeChange,
)

from .conftest import DEMO_PASSWORD, WEBSERVICE, client_for, envelope
from .factories import AccountFactory, ContactModeFactory
from .test_import_accounts import assert_chain_intact

DAVID = "5|3|1|0|0|44|1"
NOW = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)  # 10:00 in New York


def modes_of(client, account=DAVID, callid=""):
    body = envelope("GetContactModes", callid=callid, AccountNumber=account)
    response = client.post(WEBSERVICE, body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["message"]["response"]["Contactmodes"]


def latest_migration() -> str:
    from django.db.migrations.loader import MigrationLoader

    return MigrationLoader(connection).graph.leaf_nodes("lcm")[0][1]


def migrate(target: str) -> None:
    from django.db.migrations.executor import MigrationExecutor

    MigrationExecutor(connection).migrate([("lcm", target)])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_there_and_back_keeps_the_replies_and_campaign_blocks(request):
    """Back to strings (0018) and forward again: each account keeps its
    campaign string, GetContactModes answers the same, and a campaign-specific
    do-not-call block still counts only on its campaign."""
    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())
    elsewhere = ContactModeFactory(
        account=AccountFactory(campaign="Autumn", country="US"), mode_type_id=1,
        number="2025550143",
    )  # fmt: skip
    nowhere = ContactModeFactory(account=AccountFactory(country="US"), mode_type_id=3)
    accounts = [DAVID, elsewhere.account.account_number, nowhere.account.account_number]
    request.addfinalizer(lambda: migrate(latest_migration()))
    with time_machine.travel(NOW, tick=False):
        dnc = envelope(
            "SetDNC", callid="12345", AccountNumber=DAVID, AgentID="testagent",
            isPhoneNoDNC=True, ModeID=2, CampaignSpecificDNC=True,
        )  # fmt: skip
        assert client_for("testagent").post(WEBSERVICE, dnc, format="json").status_code == 200
        dialer = client_for("dialer")
        replies = {key: modes_of(dialer, key) for key in accounts}
    assert [m["DNC"] for m in replies[DAVID]] == [False, True]
    assert replies[elsewhere.account.account_number][0]["DNC"] is False  # other campaign
    assert [m["CampaignID"] for key in accounts for m in replies[key]] == [
        "Spring", "Spring", "Autumn", "",
    ]  # fmt: skip

    # The log now holds format 4 entries (seed_demo's, SetDNC's): going back
    # past 0030_agent_state_and_audit_actions is refused there, the log unchanged.
    entries = list(ModeChange.objects.order_by("seq").values_list("seq", "hash"))
    with pytest.raises(IrreversibleError, match="sealed in format 4"):
        migrate("0018_erasure")
    assert list(ModeChange.objects.order_by("seq").values_list("seq", "hash")) == entries
    assert_chain_intact()
    # The campaigns' own round trip, on a database whose log holds no entry
    # (the audit's round trips are tests/test_audit_format3.py's).
    empty_the_log()
    migrate("0018_erasure")
    with connection.cursor() as cursor:
        cursor.execute("SELECT account_number, campaign FROM lcm_account ORDER BY account_number")
        strings = dict(cursor.fetchall())
    assert strings[DAVID] == "Spring"
    assert strings[elsewhere.account.account_number] == "Autumn"
    assert strings[nowhere.account.account_number] == ""

    migrate(latest_migration())
    assert dict(Campaign.objects.values_list("code", "name")) == {
        "": "Default", "Autumn": "Autumn", "Spring": "Spring",
    }  # fmt: skip
    assert set(Campaign.objects.values_list("every_mode_type", "requires_consent")) == {
        (True, False)
    }
    assert set(Campaign.objects.values_list("dnc_period_type", flat=True)) == {"Permanent"}
    assert not CampaignMode.objects.exists()  # every mode type, as each type defines it
    with time_machine.travel(NOW, tick=False):
        assert {key: modes_of(client_for("dialer"), key) for key in accounts} == replies


def empty_the_log():
    from django.db import transaction

    from lcm.audit import GENESIS_HASH
    from lcm.audit import triggers as audit_triggers

    with transaction.atomic(), connection.cursor() as cursor:
        audit_triggers.uninstall(connection)
        cursor.execute("DELETE FROM lcm_modechange")
        cursor.execute(
            "UPDATE lcm_auditchainhead SET seq = 0, hash = %s WHERE id = 1", [GENESIS_HASH]
        )
        audit_triggers.install(connection)


@pytest.mark.django_db
def test_the_demo_campaign_is_the_specs(demo):
    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())  # idempotent

    spring = Campaign.objects.get(code="Spring")
    assert (spring.name, spring.category, spring.time_zone) == (
        "Spring", "Sales", "America/New_York",
    )  # fmt: skip
    assert (spring.window_start, spring.window_end) == (dt.time(8), dt.time(21))
    assert (spring.requires_consent, spring.disposition_required, spring.dnc_period_type) == (
        False, True, "Permanent",
    )  # fmt: skip
    assert list(
        spring.modes.values_list(
            "mode_type_id", "channel_type", "min_length", "max_length", "callback", "voicemail"
        )
    ) == [(1, "voice", 3, 20, False, True), (2, "voice", 3, 20, True, True),
          (3, "voice", 3, 20, True, True)]  # fmt: skip
    assert list(spring.outcomes.values_list("outcome_id", "description", "implies")) == [
        (101, "Sale", None), (102, "Not interested", None), (103, "Do not call", 5),
    ]  # fmt: skip
    assert list(
        spring.fields.values_list("name", "data_type", "format", "dnc_field", "agent_editable",
                                  "screen_pop")
    ) == [("CustomerRef", "String", "20", True, False, True),
          ("Balance", "Number", "0.00", False, True, True),
          ("DueDate", "DateTime", "DD/MM/YYYY", False, True, True),
          ("Email", "String", "100", False, True, True)]  # fmt: skip
    assert set(Account.objects.values_list("campaign_id", flat=True)) == {"Spring"}
    assert dict(
        BusinessFieldValue.objects.filter(account__account_number=DAVID).values_list(
            "field__name", "value"
        )
    ) == {"CustomerRef": "DB-0001", "Balance": "120.50"}
    assert Campaign.objects.count() == 2  # Spring and the Default of accounts without one


@pytest.mark.django_db
def test_the_window_is_the_modes_then_the_campaign_modes_then_the_campaigns(demo):
    mode = ContactMode.objects.get(account__account_number=DAVID, mode_type=2, deleted_at=None)
    dialer = client_for("dialer")

    def window():
        office = next(m for m in modes_of(dialer) if m["ModeID"] == 2)
        return office["ModeDialingStartTime"], office["ModeDialingEndTime"]

    with time_machine.travel(NOW, tick=False):
        Campaign.objects.filter(code="Spring").update(
            window_start=dt.time(9), window_end=dt.time(20)
        )
        assert window() == ("09:00", "20:00")  # the campaign's
        CampaignMode.objects.filter(campaign_id="Spring", mode_type=2).update(
            window_start=dt.time(10), window_end=dt.time(19)
        )
        assert window() == ("10:00", "19:00")  # the campaign mode's
        ContactMode.objects.filter(pk=mode.pk).update(
            window_start=dt.time(11), window_end=dt.time(18)
        )
        assert window() == ("11:00", "18:00")  # the mode's own
        ContactMode.objects.filter(pk=mode.pk).update(window_start=None, window_end=None)
        CampaignMode.objects.filter(campaign_id="Spring").update(window_start=None, window_end=None)
        Campaign.objects.filter(code="Spring").update(window_start=None, window_end=None)
        assert window() == ("08:00", "21:00")  # the mode type's


@pytest.mark.django_db
def test_the_campaigns_consent_rule_and_enabled_modes_make_a_mode_not_callable(demo):
    dialer = client_for("dialer")
    with time_machine.travel(NOW, tick=False):
        assert [m["Callable"] for m in modes_of(dialer)] == [True, True]

        Campaign.objects.filter(code="Spring").update(requires_consent=True)
        ContactMode.objects.filter(account__account_number=DAVID, mode_type=2).update(
            has_consent=True
        )
        assert [(m["ModeID"], m["Callable"]) for m in modes_of(dialer)] == [(1, False), (2, True)]

        CampaignMode.objects.filter(campaign_id="Spring", mode_type=2).delete()
        assert [(m["ModeID"], m["Callable"]) for m in modes_of(dialer)] == [(1, False), (2, False)]

    rules = campaigns.rules("Spring")
    office = ContactMode.objects.get(account__account_number=DAVID, mode_type=2, deleted_at=None)
    assert rules.refusal(office) == "mode 2 is not enabled by campaign Spring"


def save_form(client, url, **changes):
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {}
    for name, bound in form.fields.items():
        value = form.initial.get(name, bound.initial)
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        if isinstance(value, dt.time):
            value = value.strftime("%H:%M")
        data[name] = "" if value is None else value
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = management.initial.get(name, 0)
        for sub in formset.formset.forms:
            for name, bound in sub.fields.items():
                value = sub.initial.get(name, bound.initial)
                key = f"{sub.prefix}-{name}"
                if isinstance(value, bool):
                    if value:
                        data[key] = "on"
                    continue
                if isinstance(value, dt.time):
                    value = value.strftime("%H:%M")
                data[key] = "" if value is None else value
    data.update(changes)
    return client.post(url, data)


@pytest.mark.django_db
def test_a_supervisor_edits_a_campaign_and_each_save_is_one_audit_entry(demo, client):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="supervisor"))
    spring = Campaign.objects.get(code="Spring")
    url = f"/admin/lcm/campaign/{spring.pk}/change/"
    before = ModeChange.objects.count()

    response = save_form(client, url, category="Retention", **{"modes-1-max_length": "15"})

    assert response.status_code == 302, response.context["errors"] if response.context else ""
    spring.refresh_from_db()
    assert spring.category == "Retention"
    assert CampaignMode.objects.get(campaign_id="Spring", mode_type=2).max_length == 15
    entry = ModeChange.objects.get(seq__gt=before, action="campaign")
    assert ModeChange.objects.count() == before + 1
    assert (entry.username, entry.account_id, entry.details["campaign"]) == (
        "supervisor", None, "Spring",
    )  # fmt: skip
    assert (entry.details["before"]["category"], entry.details["after"]["category"]) == (
        "Sales", "Retention",
    )  # fmt: skip
    assert [m["MaxLength"] for m in entry.details["after"]["modes"]] == [20, 15, 20]

    unchanged = save_form(client, url)
    assert unchanged.status_code == 302
    assert ModeChange.objects.count() == before + 1  # no change, no entry
    page = client.get(url)
    assert b'name="code"' not in page.content  # the CampaignID is the key: read-only
    assert_chain_intact()


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["supervisor", "auditor"])
def test_the_campaign_page_speaks_the_floors_words(demo, client, username):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username=username))
    spring = Campaign.objects.get(code="Spring")
    default = Campaign.objects.get(code="")
    page = client.get(f"/admin/lcm/campaign/{spring.pk}/change/").content.decode()
    listing = client.get("/admin/lcm/campaign/").content.decode()

    for words in ("Campaign ID", "Written consent required", "Outcome required", "Block lasts",
                  "Shortest number", "Longest number", "Outcome ID", "Field name"):  # fmt: skip
        assert words in page
    # The vendor's names appear only as "API: …" hints, never as a label or a heading.
    for vendor in ("CampaignPEWC", "DispositionRequired", "DNCPeriodType", "MinLength",
                   "CampaignCategoryName"):  # fmt: skip
        assert f">{vendor}" not in page and f">{vendor}" not in listing
        assert vendor.upper() not in listing
    # No add/change links beside the mode type choice (edited on its own page).
    assert "related-widget-wrapper-link" not in page
    account = client.get("/admin/lcm/account/?q=5|3|1|0|0|44|1")
    assert account.status_code == 200
    david = Account.objects.get(account_number="5|3|1|0|0|44|1")
    assert (
        "related-widget-wrapper-link"
        not in client.get(f"/admin/lcm/account/{david.pk}/change/").content.decode()
    )  # nor beside the account's campaign
    assert "(none: accounts without a campaign)" in listing
    title = client.get(f"/admin/lcm/campaign/{default.pk}/change/").content.decode()
    assert "<title>Campaign Default, for the accounts without a campaign" in title


@pytest.mark.django_db
def test_erase_contact_removes_the_business_field_values(demo):
    assert BusinessFieldValue.objects.filter(account__account_number=DAVID).count() == 2

    call_command("erase_contact", DAVID, reason="GDPR request 17", stdout=io.StringIO())

    assert not BusinessFieldValue.objects.filter(account__account_number=DAVID).exists()
    assert BusinessFieldValue.objects.count() == 0  # Maria has none
